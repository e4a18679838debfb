/* test_processor_attributes.c — the `attributes` processor: actions on the attributes of every data point type
 * (not exemplars), include/exclude by metric names, data point attributes, resources and libraries (strict and
 * regexp), copy on write, a large batch that survives re-encoding, and errors at create. */
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attributes.h"
#include "sample_otlp.h"
#include "testlib.h"

/* ---- helpers (the shared harness: proc_harness.h) ---- */

#include "proc_harness.h"

_Static_assert(sizeof(attributes_processor_config) <= sizeof(((proc *)0)->cfg), "proc_harness cfg too small");

static int proc_open_cfg(proc *p, const char *yaml, bool cfg_ok) {
  return proc_harness_open(p, &attributes_processor_schema, &attributes_processor_hooks, "attributes/test", yaml, cfg_ok);
}

static int proc_open(proc *p, const char *yaml) { return proc_open_cfg(p, yaml, true); }

/* The attribute list of data point i of m, or false past the end. */
static bool point_kv(const otlp_metric *m, size_t i, otlp_kv ***kv, size_t *n) {
#define POINT(field)                                                         \
  if (!m->field || i >= m->field->n_data_points) return false;               \
  *kv = m->field->data_points[i]->attributes;                                \
  *n = m->field->data_points[i]->n_attributes;                               \
  return true
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: POINT(gauge);
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: POINT(sum);
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: POINT(histogram);
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM: POINT(exponential_histogram);
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: POINT(summary);
  default: return false;
  }
#undef POINT
}

static const otlp_any *find(otlp_kv **kv, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kv[i]->key, key)) return kv[i]->value;
  return NULL;
}

/* How many data points (of metric `metric`, or of all metrics when NULL) have attribute `key`. */
static int points_with(component_metrics *b, const char *metric, const char *key) {
  int count = 0;
  for (size_t r = 0; r < b->req->n_resource_metrics; r++)
    for (size_t s = 0; s < b->req->resource_metrics[r]->n_scope_metrics; s++) {
      otlp_scope_metrics *sm = b->req->resource_metrics[r]->scope_metrics[s];
      for (size_t k = 0; k < sm->n_metrics; k++) {
        if (metric && strcmp(sm->metrics[k]->name, metric)) continue;
        otlp_kv **kv;
        size_t n;
        for (size_t i = 0; point_kv(sm->metrics[k], i, &kv, &n); i++) count += find(kv, n, key) != NULL;
      }
    }
  return count;
}

static otlp_metric *metric_named(component_metrics *b, const char *name) {
  otlp_scope_metrics *sm = b->req->resource_metrics[0]->scope_metrics[0];
  for (size_t k = 0; k < sm->n_metrics; k++)
    if (!strcmp(sm->metrics[k]->name, name)) return sm->metrics[k];
  return NULL;
}

static const char *point_str(component_metrics *b, const char *metric, size_t i, const char *key) {
  otlp_kv **kv;
  size_t n;
  otlp_metric *m = metric_named(b, metric);
  if (!m || !point_kv(m, i, &kv, &n)) return NULL;
  const otlp_any *v = find(kv, n, key);
  return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ? v->string_value
                                                                                                : NULL;
}

/* ---- every data point type ---- */

static void test_all_point_types_not_exemplars(void) {
  proc p;
  CHECK(proc_open(&p, "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), SAMPLE_FULL_POINTS);
  CHECK_EQ(points_with(out, "latency", "env"), 2);
  CHECK_EQ(points_with(out, "latency.exp", "env"), 1);
  CHECK_EQ(points_with(out, "rpc.duration", "env"), 1);
  CHECK_STR(point_str(out, "requests", 0, "method"), "GET");
  CHECK_STR(point_str(out, "requests", 0, "env"), "prod");
  otlp_number_point *pt = metric_named(out, "requests")->sum->data_points[0];
  CHECK_EQ(pt->n_exemplars, 1);
  CHECK_EQ(pt->exemplars[0]->n_filtered_attributes, 1); /* exemplars are left alone */
  CHECK_EQ(out->req->resource_metrics[0]->resource->n_attributes, 7);
  CHECK_EQ(out->points, SAMPLE_FULL_POINTS);
  proc_close(&p);
}

static void test_actions_on_points(void) {
  proc p;
  CHECK(proc_open(&p, "actions:\n"
                      "  - {key: method, action: hash}\n"
                      "  - {key: route, value: /api, action: upsert}\n"
                      "  - {key: route, pattern: '^/(?P<area>\\w+)$', action: extract}\n"
                      "  - {key: route, action: delete}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_STR(point_str(out, "requests", 0, "method"), "14e30cd163c732912e048c4c837e15c4e90c062ebb795ab947d57706e2d10dd8");
  CHECK_STR(point_str(out, "temperature", 1, "area"), "api");
  CHECK_EQ(points_with(out, NULL, "route"), 0);
  CHECK_EQ(points_with(out, NULL, "area"), SAMPLE_FULL_POINTS);
  proc_close(&p);
}

/* ---- include / exclude ---- */

static void test_include_metric_names(void) {
  proc p;
  CHECK(proc_open(&p, "include: {match_type: strict, metric_names: [requests, temperature]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 4);
  CHECK_EQ(points_with(out, "requests", "env"), 2);
  CHECK_EQ(points_with(out, "temperature", "env"), 2);
  proc_close(&p);

  CHECK(proc_open(&p, "include: {match_type: regexp, metric_names: ['^lat']}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 3);
  CHECK_EQ(points_with(out, "latency.exp", "env"), 1);
  proc_close(&p);
}

static void test_exclude_metric_names(void) {
  proc p;
  CHECK(proc_open(&p, "exclude: {match_type: regexp, metric_names: ['latency', '^rpc\\.']}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 6);
  CHECK_EQ(points_with(out, "latency", "env"), 0);
  CHECK_EQ(points_with(out, "rpc.duration", "env"), 0);
  proc_close(&p);
}

static void test_point_attributes(void) {
  proc p;
  CHECK(proc_open(&p, "include: {match_type: strict, attributes: [{key: method, value: GET}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 1);
  CHECK_STR(point_str(out, "requests", 0, "env"), "prod");
  proc_close(&p);

  /* exclude: names and attributes must both match for a point to be left alone */
  CHECK(proc_open(&p, "exclude: {match_type: regexp, metric_names: [requests], attributes: [{key: method, value: '^P'}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), SAMPLE_FULL_POINTS - 1);
  CHECK(point_str(out, "requests", 1, "env") == NULL);
  proc_close(&p);

  /* presence only */
  CHECK(proc_open(&p, "include: {match_type: strict, attributes: [{key: method}]}\n"
                      "actions:\n  - {key: method, action: delete}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "method"), 0);
  proc_close(&p);
}

static void test_resources_and_libraries(void) {
  proc p;
  CHECK(proc_open(&p, "include: {match_type: strict, resources: [{key: service.name, value: checkout}, {key: host.cores, value: 8}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), SAMPLE_FULL_POINTS);
  proc_close(&p);

  /* 8 is an int: "8" does not equal it in strict mode, but a regexp matches its text */
  CHECK(proc_open(&p, "include: {match_type: strict, resources: [{key: host.cores, value: \"8\"}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 0);
  proc_close(&p);
  CHECK(proc_open(&p, "include: {match_type: regexp, resources: [{key: host.cores, value: '^8$'}, {key: ratio, value: '^0\\.25$'}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), SAMPLE_FULL_POINTS);
  proc_close(&p);

  CHECK(proc_open(&p, "include: {match_type: strict, libraries: [{name: otelc.test, version: 1.2.3}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), SAMPLE_FULL_POINTS);
  proc_close(&p);
  CHECK(proc_open(&p, "exclude: {match_type: regexp, libraries: [{name: '^otelc\\.', version: '^1\\.'}]}\n"
                      "actions:\n  - {key: env, value: prod, action: insert}\n") == 0);
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_EQ(points_with(out, NULL, "env"), 0);
  proc_close(&p);
}

/* ---- batches ---- */

static void test_copy_on_write(void) {
  proc p;
  CHECK(proc_open(&p, "include: {match_type: strict, metric_names: [requests]}\n"
                      "actions:\n  - {key: method, value: X, action: update}\n") == 0);
  component_metrics *in = batch_of(sample_otlp_full());
  metrics_ref(in);
  component_metrics *out = proc_run(&p, in);
  CHECK(out != in);
  CHECK_STR(point_str(out, "requests", 0, "method"), "X");
  CHECK_STR(point_str(in, "requests", 0, "method"), "GET");
  CHECK_STR(point_str(in, "requests", 1, "method"), "POST");
  metrics_unref(in);
  sink_clear(&p.out);
  /* nothing selected: the shared batch goes on as it is */
  otlp_request *req = sample_otlp_full();
  otlp_metric *m = req->resource_metrics[0]->scope_metrics[0]->metrics[0];
  free(m->name);
  m->name = sample_otlp_xstrdup("other");
  in = batch_of(req);
  metrics_ref(in);
  out = proc_run(&p, in);
  CHECK(out == in);
  metrics_unref(in);
  proc_close(&p);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void test_large_batch_reencodes(void) {
  proc p;
  CHECK(proc_open(&p, "actions:\n"
                      "  - {key: env, value: prod, action: insert}\n"
                      "  - {key: attr.1, action: delete}\n"
                      "  - {key: copy, from_attribute: attr.0, action: insert}\n"
                      "  - {key: attr.2, action: hash}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_parametric(100, 10, 4)));
  CHECK_EQ(out->points, 1000);
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err e;
  CHECK(wire_otlp_encode_request(out->req, &b, &e) == 0);
  component_metrics *again = metrics_decode(b.data, b.len, 0, 0, &e);
  CHECK(again != NULL);
  if (again) {
    CHECK_EQ(points_with(again, NULL, "env"), 1000);
    CHECK_EQ(points_with(again, NULL, "attr.1"), 0);
    CHECK_EQ(points_with(again, NULL, "copy"), 1000);
    CHECK_STR(point_str(again, "metric.0", 3, "copy"), "value-0-3");
    CHECK_STR(point_str(again, "metric.0", 3, "attr.3"), "value-3-3");
    const char *h = point_str(again, "metric.5", 0, "attr.2");
    CHECK(h && strlen(h) == 64);
  }
  metrics_unref(again);
  wire_buf_free(&b);
  proc_close(&p);
}

/* ---- errors at create ---- */

static void test_errors_at_create(void) {
  proc p;
  CHECK(proc_open_cfg(&p, "include: {match_type: regexp, metric_names: ['ok', '[z-a]']}\n"
                          "actions:\n  - {key: env, value: prod, action: insert}\n", false) < 0);
  CHECK_CONTAINS(p.err.msg, "attributes/test: include.metric_names[1]");
  CHECK_CONTAINS(p.err.msg, "[z-a]");
  proc_close(&p);

  CHECK(proc_open_cfg(&p, "exclude: {match_type: regexp, attributes: [{key: n, value: 5}]}\n"
                          "actions:\n  - {key: env, value: prod, action: insert}\n", true) < 0);
  CHECK_CONTAINS(p.err.msg, "exclude.attributes[0]");
  CHECK_CONTAINS(p.err.msg, "needs a string value");
  proc_close(&p);

  CHECK(proc_open_cfg(&p, "exclude: {match_type: regexp, attributes: [{key: n, value: '(x'}]}\n"
                          "actions:\n  - {key: env, value: prod, action: insert}\n", true) < 0);
  CHECK_CONTAINS(p.err.msg, "(x");
  proc_close(&p);
}

int main(void) {
  RUN(test_all_point_types_not_exemplars);
  RUN(test_actions_on_points);
  RUN(test_include_metric_names);
  RUN(test_exclude_metric_names);
  RUN(test_point_attributes);
  RUN(test_resources_and_libraries);
  RUN(test_copy_on_write);
  RUN(test_large_batch_reencodes);
  RUN(test_errors_at_create);
  return test_finish();
}
