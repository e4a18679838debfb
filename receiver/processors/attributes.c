/* attributes.c — the `attributes` processor: the Collector's attributes processor for metrics. Its actions (see
 * attr_actions_run.h) run on the attributes of every data point (number, histogram, exponential histogram and
 * summary points; not on exemplars) of the metrics that include/exclude select:
 *
 *   processors:
 *     attributes:
 *       include: {match_type: regexp, metric_names: ["^http\\."], attributes: [{key: route}]}
 *       exclude: {match_type: strict, resources: [{key: env, value: dev}]}
 *       actions:
 *         - {key: user.email, action: hash}
 *
 * A data point is processed when it matches `include` (if given) and does not match `exclude` (if given). A
 * match property list matches when each category it sets matches: metric_names (any name or regexp),
 * resources (every resource attribute rule), libraries (any scope name [and version]), attributes (every data
 * point attribute rule). The Collector's metrics path today applies only metric_names and resources; otelc also
 * applies attributes (per data point, as the Collector did before its OTTL bridge) and libraries. match_type expr
 * and the services/span/log properties are rejected by the config layer.
 *
 * Copy on write as in resource.c: a shared batch is run dry first and copied only when something would change. */
#include "receiver/processors/attributes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attr_actions_run.h"

typedef struct library_rule {
  proc_name_matcher name;
  bool has_version;
  const char *version; /* strict */
  proc_regex *version_re; /* regexp */
} library_rule;

typedef struct match_props {
  bool has_names;
  proc_name_matcher names;
  proc_attr_matcher resources;
  proc_attr_matcher attributes;
  library_rule *libs;
  size_t nlibs;
  bool regexp;
} match_props;

typedef struct attributes_processor {
  char *id;
  attr_engine *engine;
  match_props *include, *exclude;
  component_consumer next;
} attributes_processor;

static void match_props_free(match_props *m) {
  if (!m) return;
  proc_name_matcher_free(&m->names);
  proc_attr_matcher_free(&m->resources);
  proc_attr_matcher_free(&m->attributes);
  for (size_t i = 0; i < m->nlibs; i++) {
    proc_name_matcher_free(&m->libs[i].name);
    proc_regex_free(m->libs[i].version_re);
  }
  free(m->libs);
  free(m);
}

static match_props *match_props_new(const attr_match_config *c, const char *id, const char *section, wire_err *err) {
  match_props *m = calloc(1, sizeof *m);
  if (!m) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", id);
    return NULL;
  }
  m->regexp = c->match_type == MATCH_REGEXP;
  if (c->match_type != MATCH_STRICT && c->match_type != MATCH_REGEXP) {
    wire_err_set(err, WIRE_E_INVALID, "%s: %s.match_type must be strict or regexp", id, section);
    goto fail;
  }
  char what[200];
  snprintf(what, sizeof what, "%s: %s.metric_names", id, section);
  m->has_names = c->metric_names.n > 0;
  if (proc_name_matcher_init(&m->names, &c->metric_names, m->regexp, what, err) < 0) goto fail;
  snprintf(what, sizeof what, "%s: %s.resources", id, section);
  if (proc_attr_matcher_init(&m->resources, &c->resources, m->regexp, what, err) < 0) goto fail;
  snprintf(what, sizeof what, "%s: %s.attributes", id, section);
  if (proc_attr_matcher_init(&m->attributes, &c->attributes, m->regexp, what, err) < 0) goto fail;
  if (c->libraries.n) {
    if (!(m->libs = calloc(c->libraries.n, sizeof *m->libs))) {
      wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", id);
      goto fail;
    }
    const match_library_config *libs = c->libraries.v;
    for (size_t i = 0; i < c->libraries.n; i++) {
      library_rule *r = &m->libs[m->nlibs++];
      char *name = libs[i].name ? libs[i].name : "";
      cfg_strlist one = {.v = &name, .n = 1};
      snprintf(what, sizeof what, "%s: %s.libraries[%zu].name", id, section, i);
      /* `one` lives on the stack: strict matchers keep a pointer to the list, so point them at the config. */
      if (proc_name_matcher_init(&r->name, &one, m->regexp, what, err) < 0) goto fail;
      r->name.names = &libs[i].name;
      if (libs[i].version) {
        r->has_version = true;
        r->version = libs[i].version;
        snprintf(what, sizeof what, "%s: %s.libraries[%zu].version", id, section, i);
        if (m->regexp && !(r->version_re = proc_regex_compile(libs[i].version, what, err))) goto fail;
      }
    }
  }
  return m;
fail:
  match_props_free(m);
  return NULL;
}

static bool library_matches(const match_props *m, const otlp_scope *scope) {
  const char *name = scope && scope->name ? scope->name : "";
  const char *version = scope && scope->version ? scope->version : "";
  for (size_t i = 0; i < m->nlibs; i++) {
    const library_rule *r = &m->libs[i];
    if (!proc_name_matcher_match(&r->name, name)) continue;
    if (!r->has_version) return true;
    if (r->version_re ? proc_regex_match(r->version_re, version, strlen(version)) : !strcmp(r->version, version))
      return true;
  }
  return false;
}

static void attributes_destroy(void *state) {
  attributes_processor *p = state;
  if (!p) return;
  attr_engine_destroy(p->engine);
  match_props_free(p->include);
  match_props_free(p->exclude);
  free(p->id);
  free(p);
}

static int attributes_create(const component_create_args *args, void **state, wire_err *err) {
  const attributes_processor_config *cfg = args->config;
  attributes_processor *p = calloc(1, sizeof *p);
  if (!p || !(p->id = strdup(args->id))) {
    free(p);
    return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  }
  char what[160];
  snprintf(what, sizeof what, "%s: actions", args->id);
  if (!(p->engine = attr_engine_create(&cfg->actions, what, err)) ||
      (cfg->include && !(p->include = match_props_new(cfg->include, args->id, "include", err))) ||
      (cfg->exclude && !(p->exclude = match_props_new(cfg->exclude, args->id, "exclude", err)))) {
    attributes_destroy(p);
    return -1;
  }
  p->next = args->next;
  *state = p;
  return 0;
}

/* The attribute slots of data point i of metric m (NULL past the end or for a metric without data). */
static bool point_attrs(otlp_metric *m, size_t i, size_t **n, otlp_kv ****kv) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    if (!m->gauge || i >= m->gauge->n_data_points || !m->gauge->data_points[i]) return false;
    *n = &m->gauge->data_points[i]->n_attributes;
    *kv = &m->gauge->data_points[i]->attributes;
    return true;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    if (!m->sum || i >= m->sum->n_data_points || !m->sum->data_points[i]) return false;
    *n = &m->sum->data_points[i]->n_attributes;
    *kv = &m->sum->data_points[i]->attributes;
    return true;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    if (!m->histogram || i >= m->histogram->n_data_points || !m->histogram->data_points[i]) return false;
    *n = &m->histogram->data_points[i]->n_attributes;
    *kv = &m->histogram->data_points[i]->attributes;
    return true;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    if (!m->exponential_histogram || i >= m->exponential_histogram->n_data_points ||
        !m->exponential_histogram->data_points[i])
      return false;
    *n = &m->exponential_histogram->data_points[i]->n_attributes;
    *kv = &m->exponential_histogram->data_points[i]->attributes;
    return true;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
    if (!m->summary || i >= m->summary->n_data_points || !m->summary->data_points[i]) return false;
    *n = &m->summary->data_points[i]->n_attributes;
    *kv = &m->summary->data_points[i]->attributes;
    return true;
  default: return false;
  }
}

/* Runs the actions on the selected data points: 1 when something changed (with !commit: stops there), 0, -1. */
static int run(attributes_processor *p, component_metrics *batch, bool commit, wire_err *err) {
  const match_props *inc = p->include, *exc = p->exclude;
  otlp_request *req = batch->req;
  int changed = 0;
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    otlp_resource_metrics *rm = req->resource_metrics[r];
    if (!rm) continue;
    otlp_kv **rattrs = rm->resource ? rm->resource->attributes : NULL;
    size_t nrattrs = rm->resource ? rm->resource->n_attributes : 0;
    bool inc_res = !inc || proc_attr_matcher_match(&inc->resources, rattrs, nrattrs);
    if (!inc_res) continue;
    bool exc_res = exc && proc_attr_matcher_match(&exc->resources, rattrs, nrattrs);
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      otlp_scope_metrics *sm = rm->scope_metrics[s];
      if (!sm) continue;
      if (inc && inc->nlibs && !library_matches(inc, sm->scope)) continue;
      bool exc_scope = exc_res && (!exc->nlibs || library_matches(exc, sm->scope));
      for (size_t k = 0; k < sm->n_metrics; k++) {
        otlp_metric *m = sm->metrics[k];
        if (!m) continue;
        if (inc && inc->has_names && !proc_name_matcher_match(&inc->names, m->name)) continue;
        /* exclude: the metric-level categories matched; its attributes (if any) decide per data point */
        bool exc_metric = exc_scope && (!exc->has_names || proc_name_matcher_match(&exc->names, m->name));
        if (exc_metric && !exc->attributes.n) continue;
        size_t npoints = (size_t)wire_otlp_metric_points(m);
        for (size_t i = 0; i < npoints; i++) {
          size_t *n;
          otlp_kv ***kv;
          if (!point_attrs(m, i, &n, &kv)) continue;
          if (inc && inc->attributes.n && !proc_attr_matcher_match(&inc->attributes, *kv, *n)) continue;
          if (exc_metric && proc_attr_matcher_match(&exc->attributes, *kv, *n)) continue;
          int rc = attr_engine_apply(p->engine, kv, n, commit, err);
          if (rc < 0) return -1;
          if (rc > 0) {
            if (!commit) return 1;
            changed = 1;
          }
        }
      }
    }
  }
  return changed;
}

static int pass(void *processor, component_metrics *batch, bool commit, wire_err *err) {
  return run(processor, batch, commit, err);
}

static int attributes_consume(void *state, component_metrics *batch, wire_err *err) {
  attributes_processor *p = state;
  return attr_engine_consume(p->engine, p->id, batch, pass, p, &p->next, err);
}

static int attributes_start(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

static int attributes_shutdown(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

const component_hooks attributes_processor_hooks = {
    .create = attributes_create,
    .start = attributes_start,
    .consume_metrics = attributes_consume,
    .shutdown = attributes_shutdown,
    .destroy = attributes_destroy,
};
