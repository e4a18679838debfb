/* test_processor_filter.c — the `filter` processor: include/exclude by metric names (strict, regexp) and by
 * resource attributes, the OTTL name conditions, removal of emptied scopes and resources, a batch filtered to
 * nothing (released, not forwarded), copy on write, and regexp errors at create. */
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/filter.h"
#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "receiver/pipeline.h"
#include "receiver/processors/filter.h"
#include "sample_otlp.h"
#include "testlib.h"

/* ---- helpers (the shared harness: proc_harness.h) ---- */

#include "proc_harness.h"

_Static_assert(sizeof(filter_processor_config) <= sizeof(((proc *)0)->cfg), "proc_harness cfg too small");

static int proc_open_cfg(proc *p, const char *yaml, bool cfg_ok) {
  return proc_harness_open(p, &filter_processor_schema, &filter_processor_hooks, "filter/test", yaml, cfg_ok);
}

static int proc_open(proc *p, const char *yaml) { return proc_open_cfg(p, yaml, true); }

static otlp_metric *gauge(const char *name, int points) {
  otlp_metric *m = sample_otlp_metric_new(name, "1");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
  m->gauge = sample_otlp_xcalloc(1, sizeof *m->gauge);
  opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
  for (int i = 0; i < points; i++) {
    otlp_number_point *pt = sample_otlp_xcalloc(1, sizeof *pt);
    opentelemetry__proto__metrics__v1__number_data_point__init(pt);
    pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    pt->as_int = i;
    SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, pt);
  }
  return m;
}

static otlp_scope_metrics *scope(const char *name) {
  otlp_scope_metrics *sm = sample_otlp_xcalloc(1, sizeof *sm);
  opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
  sm->scope = sample_otlp_xcalloc(1, sizeof *sm->scope);
  opentelemetry__proto__common__v1__instrumentation_scope__init(sm->scope);
  sm->scope->name = sample_otlp_xstrdup(name);
  return sm;
}

static otlp_resource_metrics *resource(const char *service, const char *env) {
  otlp_resource_metrics *rm = sample_otlp_xcalloc(1, sizeof *rm);
  opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
  rm->resource = sample_otlp_xcalloc(1, sizeof *rm->resource);
  opentelemetry__proto__resource__v1__resource__init(rm->resource);
  SAMPLE_PUSH(rm->resource->n_attributes, rm->resource->attributes, sample_otlp_kv_string("service.name", service));
  if (env) SAMPLE_PUSH(rm->resource->n_attributes, rm->resource->attributes, sample_otlp_kv_string("env", env));
  return rm;
}

/* Three resources:
 *   a:          scope s: keep.me (1 point), drop.me (2 points)
 *   b (env=dev): scope s: drop.me (2 points)
 *   c:          scope s1: keep.me (1 point); scope s2: drop.me (2 points), drop.too (3 points)
 * 11 points in all. */
static otlp_request *three_resources(void) {
  otlp_request *req = sample_otlp_xcalloc(1, sizeof *req);
  opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(req);
  otlp_resource_metrics *a = resource("a", NULL), *b = resource("b", "dev"), *c = resource("c", "prod");
  otlp_scope_metrics *s = scope("s");
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("keep.me", 1));
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("drop.me", 2));
  SAMPLE_PUSH(a->n_scope_metrics, a->scope_metrics, s);
  s = scope("s");
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("drop.me", 2));
  SAMPLE_PUSH(b->n_scope_metrics, b->scope_metrics, s);
  s = scope("s1");
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("keep.me", 1));
  SAMPLE_PUSH(c->n_scope_metrics, c->scope_metrics, s);
  s = scope("s2");
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("drop.me", 2));
  SAMPLE_PUSH(s->n_metrics, s->metrics, gauge("drop.too", 3));
  SAMPLE_PUSH(c->n_scope_metrics, c->scope_metrics, s);
  SAMPLE_PUSH(req->n_resource_metrics, req->resource_metrics, a);
  SAMPLE_PUSH(req->n_resource_metrics, req->resource_metrics, b);
  SAMPLE_PUSH(req->n_resource_metrics, req->resource_metrics, c);
  return req;
}

/* "a:keep.me|c:keep.me" — what a batch holds, resource by resource (scopes separated by '/'). */
static const char *shape(component_metrics *m) {
  static char buf[512];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t r = 0; r < m->req->n_resource_metrics; r++) {
    otlp_resource_metrics *rm = m->req->resource_metrics[r];
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s:", r ? "|" : "", rm->resource->attributes[0]->value->string_value);
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      otlp_scope_metrics *sm = rm->scope_metrics[s];
      if (s) o += (size_t)snprintf(buf + o, sizeof buf - o, "/");
      for (size_t k = 0; k < sm->n_metrics; k++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", k ? "," : "", sm->metrics[k]->name);
    }
  }
  return buf;
}

/* ---- classic form ---- */

static void test_exclude_strict(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [drop.me, drop.too]\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(three_resources()));
  CHECK(out != NULL);
  if (out) {
    CHECK_STR(shape(out), "a:keep.me|c:keep.me"); /* b and c's second scope were emptied: removed */
    CHECK_EQ(out->points, 2);
  }
  proc_close(&p);
}

static void test_include_regexp(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  include:\n    match_type: regexp\n    metric_names: ['^keep\\.', 'too$']\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(three_resources()));
  CHECK(out != NULL);
  if (out) {
    CHECK_STR(shape(out), "a:keep.me|c:keep.me/drop.too");
    CHECK_EQ(out->points, 5);
  }
  proc_close(&p);

  /* unanchored, as the Collector's regexp filterset: "me" matches keep.me and drop.me */
  CHECK(proc_open(&p, "metrics:\n  include:\n    match_type: regexp\n    metric_names: [me]\n") == 0);
  out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me,drop.me|b:drop.me|c:keep.me/drop.me"));
  proc_close(&p);
}

static void test_include_and_exclude(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n"
                      "  include: {match_type: regexp, metric_names: ['^drop']}\n"
                      "  exclude: {match_type: strict, metric_names: [drop.too]}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:drop.me|b:drop.me|c:drop.me"));
  if (out) CHECK_EQ(out->points, 6);
  proc_close(&p);
}

static void test_resource_attributes(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  include:\n    match_type: strict\n    resource_attributes: [{key: service.name, value: a}]\n") ==
        0);
  component_metrics *out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me,drop.me"));
  if (out) CHECK_EQ(out->points, 3);
  proc_close(&p);

  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: regexp\n    resource_attributes: [{key: env, value: '^de'}]\n") ==
        0);
  out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me,drop.me|c:keep.me/drop.me,drop.too"));
  proc_close(&p);

  /* resource and names together: b's resource goes, and drop.me everywhere */
  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [drop.me]\n"
                      "    resource_attributes: [{key: env, value: dev}]\n") == 0);
  out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me|c:keep.me/drop.too"));
  proc_close(&p);
}

/* ---- OTTL form ---- */

static void test_ottl_conditions(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  metric:\n    - 'name == \"drop.me\"'\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me|c:keep.me/drop.too"));
  proc_close(&p);

  CHECK(proc_open(&p, "metrics:\n  metric:\n    - 'IsMatch(name, \"^drop\\\\.\")'\n") == 0);
  out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me|c:keep.me"));
  proc_close(&p);

  CHECK(proc_open(&p, "metrics:\n  metric:\n    - 'metric.name != \"keep.me\"'\n    - 'name == \"nothing\"'\n") == 0);
  out = proc_run(&p, batch_of(three_resources()));
  CHECK(out && !strcmp(shape(out), "a:keep.me|c:keep.me"));
  if (out) CHECK_EQ(out->points, 2);
  proc_close(&p);
}

/* ---- batches ---- */

static void test_everything_dropped(void) {
  size_t live = pipeline_batches_live();
  proc p;
  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: regexp\n    metric_names: ['.*']\n") == 0);
  CHECK(proc_run(&p, batch_of(three_resources())) == NULL);
  CHECK_EQ(p.out.n, 0);
  CHECK_EQ(pipeline_batches_live(), live); /* released */
  /* an empty request goes no further either */
  otlp_request *req = sample_otlp_xcalloc(1, sizeof *req);
  opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(req);
  CHECK(proc_run(&p, batch_of(req)) == NULL);
  CHECK_EQ(pipeline_batches_live(), live);
  proc_close(&p);
}

static void test_nothing_dropped(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [absent]\n") == 0);
  component_metrics *in = batch_of(three_resources());
  metrics_ref(in);
  component_metrics *out = proc_run(&p, in);
  CHECK(out == in); /* shared and unchanged: not copied */
  if (out) CHECK_EQ(out->points, 11);
  metrics_unref(in);
  proc_close(&p);

  /* no metrics section at all: a pass-through */
  CHECK(proc_open(&p, "error_mode: ignore\n") == 0);
  in = batch_of(three_resources());
  CHECK(proc_run(&p, in) == in);
  proc_close(&p);
}

static void test_copy_on_write(void) {
  proc p;
  CHECK(proc_open(&p, "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [drop.too]\n") == 0);
  component_metrics *in = batch_of(three_resources());
  metrics_ref(in); /* another consumer's reference */
  component_metrics *out = proc_run(&p, in);
  CHECK(out != NULL && out != in);
  if (out) {
    CHECK_STR(shape(out), "a:keep.me,drop.me|b:drop.me|c:keep.me/drop.me");
    CHECK_EQ(out->points, 8);
  }
  CHECK_STR(shape(in), "a:keep.me,drop.me|b:drop.me|c:keep.me/drop.me,drop.too");
  CHECK_EQ(in->points, 11);
  metrics_unref(in);
  proc_close(&p);
  CHECK_EQ(pipeline_batches_live(), 0);
}

/* ---- errors at create ---- */

static void test_bad_regexps(void) {
  proc p;
  CHECK(proc_open_cfg(&p, "metrics:\n  include:\n    match_type: regexp\n    metric_names: ['ok', '(open']\n", false) < 0);
  CHECK_CONTAINS(p.err.msg, "filter/test: metrics.include.metric_names[1]");
  CHECK_CONTAINS(p.err.msg, "(open");
  proc_close(&p);

  /* a condition whose regexp does not compile (built by hand: the config layer may refuse it first) */
  char *cond = "IsMatch(name, \"(open\")";
  filter_name_rule rule = {.regexp = true, .pattern = "(open"};
  filter_processor_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.metrics.metric.v = &cond;
  cfg.metrics.metric.n = 1;
  cfg.metrics.drop_rules = &rule;
  cfg.metrics.ndrop_rules = 1;
  void *state = NULL;
  wire_err err;
  component_create_args args = {.id = "filter/x", .kind = COMPONENT_PROCESSOR, .config = &cfg};
  CHECK(filter_processor_hooks.create(&args, &state, &err) < 0);
  CHECK_CONTAINS(err.msg, "filter/x: metrics.metric[0]");
  CHECK_CONTAINS(err.msg, "(open");
  CHECK(state == NULL);
}

int main(void) {
  RUN(test_exclude_strict);
  RUN(test_include_regexp);
  RUN(test_include_and_exclude);
  RUN(test_resource_attributes);
  RUN(test_ottl_conditions);
  RUN(test_everything_dropped);
  RUN(test_nothing_dropped);
  RUN(test_copy_on_write);
  RUN(test_bad_regexps);
  return test_finish();
}
