/* filter.c — the `filter` processor for metrics: the Collector's filter processor in its two configuration forms.
 *
 * Classic form (include/exclude, match_type strict|regexp):
 *   - a resource is dropped when include.resource_attributes are set and do not all match its attributes, or
 *     exclude.resource_attributes are set and all match;
 *   - a metric is dropped when include.metric_names are set and none matches its name, or exclude.metric_names
 *     are set and one matches. Regexps match anywhere in the name (Go's MatchString): anchor them with ^...$.
 * OTTL form (metrics.metric: [conditions]): a metric is dropped when any condition is true. The config layer
 * (receiver/config/components/filter.c) accepts only metric name comparisons — name == "x", name != "x",
 * IsMatch(name, "re") — and hands them over parsed (drop_rules); data point conditions are refused there.
 *
 * What is dropped is removed from the batch, and so are the scopes and resources left empty (as the Collector
 * removes them). A batch that ends up empty is released and nothing is forwarded; a batch where nothing is dropped
 * is forwarded untouched (no copy even when it is shared: the drop decisions are made before any write). */
#include "receiver/processors/filter.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/filter.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attr_actions_run.h"

typedef struct drop_rule {
  bool negate;         /* name != "x" */
  const char *name;    /* exact name (owned by the config) */
  proc_regex *re;      /* IsMatch(name, "re") */
} drop_rule;

typedef struct filter_processor {
  char *id;
  /* resource rules (classic form) */
  bool inc_res_on, exc_res_on;
  proc_attr_matcher inc_res, exc_res;
  /* metric rules */
  bool inc_names_on, exc_names_on;
  proc_name_matcher inc_names, exc_names;
  drop_rule *drops;
  size_t ndrops;
  bool metric_rules; /* any of the above three */
  bool any_rules;
  component_consumer next;
} filter_processor;

static void filter_destroy(void *state) {
  filter_processor *p = state;
  if (!p) return;
  proc_attr_matcher_free(&p->inc_res);
  proc_attr_matcher_free(&p->exc_res);
  proc_name_matcher_free(&p->inc_names);
  proc_name_matcher_free(&p->exc_names);
  for (size_t i = 0; i < p->ndrops; i++) proc_regex_free(p->drops[i].re);
  free(p->drops);
  free(p->id);
  free(p);
}

static int setup_match(filter_processor *p, const filter_match_config *m, bool include, wire_err *err) {
  const char *section = include ? "metrics.include" : "metrics.exclude";
  if (m->match_type != MATCH_STRICT && m->match_type != MATCH_REGEXP)
    return wire_err_set(err, WIRE_E_INVALID, "%s: %s.match_type must be strict or regexp", p->id, section);
  bool regexp = m->match_type == MATCH_REGEXP;
  char what[200];
  if (m->metric_names.n) {
    snprintf(what, sizeof what, "%s: %s.metric_names", p->id, section);
    if (proc_name_matcher_init(include ? &p->inc_names : &p->exc_names, &m->metric_names, regexp, what, err) < 0)
      return -1;
    *(include ? &p->inc_names_on : &p->exc_names_on) = true;
  }
  if (m->resource_attributes.n) {
    snprintf(what, sizeof what, "%s: %s.resource_attributes", p->id, section);
    if (proc_attr_matcher_init(include ? &p->inc_res : &p->exc_res, &m->resource_attributes, regexp, what, err) < 0)
      return -1;
    *(include ? &p->inc_res_on : &p->exc_res_on) = true;
  }
  return 0;
}

static int filter_create(const component_create_args *args, void **state, wire_err *err) {
  const filter_processor_config *cfg = args->config;
  const filter_metrics_config *mc = &cfg->metrics;
  filter_processor *p = calloc(1, sizeof *p);
  if (!p || !(p->id = strdup(args->id))) {
    free(p);
    return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  }
  if (mc->datapoint.n) {
    wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: metrics.datapoint conditions are not supported", p->id);
    goto fail;
  }
  if (mc->metric.n && mc->ndrop_rules != mc->metric.n) {
    wire_err_set(err, WIRE_E_INVALID, "%s: metrics.metric: some conditions were not understood", p->id);
    goto fail;
  }
  if ((mc->include && setup_match(p, mc->include, true, err) < 0) ||
      (mc->exclude && setup_match(p, mc->exclude, false, err) < 0))
    goto fail;
  if (mc->ndrop_rules) {
    if (!(p->drops = calloc(mc->ndrop_rules, sizeof *p->drops))) {
      wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", p->id);
      goto fail;
    }
    for (size_t i = 0; i < mc->ndrop_rules; i++) {
      const filter_name_rule *r = &mc->drop_rules[i];
      drop_rule *d = &p->drops[p->ndrops++];
      d->negate = r->negate;
      d->name = r->pattern ? r->pattern : "";
      if (r->regexp) {
        char what[200];
        snprintf(what, sizeof what, "%s: metrics.metric[%zu]", p->id, i);
        if (!(d->re = proc_regex_compile(d->name, what, err))) goto fail;
      }
    }
  }
  p->metric_rules = p->inc_names_on || p->exc_names_on || p->ndrops;
  p->any_rules = p->metric_rules || p->inc_res_on || p->exc_res_on;
  p->next = args->next;
  *state = p;
  return 0;
fail:
  filter_destroy(p);
  return -1;
}

static bool skip_resource(const filter_processor *p, const otlp_resource_metrics *rm) {
  otlp_kv **attrs = rm->resource ? rm->resource->attributes : NULL;
  size_t n = rm->resource ? rm->resource->n_attributes : 0;
  if (p->inc_res_on && !proc_attr_matcher_match(&p->inc_res, attrs, n)) return true;
  return p->exc_res_on && proc_attr_matcher_match(&p->exc_res, attrs, n);
}

static bool skip_metric(const filter_processor *p, const otlp_metric *m) {
  const char *name = m->name ? m->name : "";
  if (p->inc_names_on && !proc_name_matcher_match(&p->inc_names, name)) return true;
  if (p->exc_names_on && proc_name_matcher_match(&p->exc_names, name)) return true;
  for (size_t i = 0; i < p->ndrops; i++) {
    const drop_rule *d = &p->drops[i];
    bool hit = d->re ? proc_regex_match(d->re, name, strlen(name)) : !strcmp(d->name, name);
    if (hit != d->negate) return true;
  }
  return false;
}

/* Index of the first resource that filtering would change, or SIZE_MAX when the batch stays as it is. */
static size_t first_change(const filter_processor *p, const otlp_request *req) {
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    const otlp_resource_metrics *rm = req->resource_metrics[r];
    if (!rm || skip_resource(p, rm) || !rm->n_scope_metrics) return r;
    if (!p->metric_rules) continue;
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[s];
      if (!sm || !sm->n_metrics) return r;
      for (size_t k = 0; k < sm->n_metrics; k++)
        if (!sm->metrics[k] || skip_metric(p, sm->metrics[k])) return r;
    }
  }
  return SIZE_MAX;
}

/* Removes what is dropped, from resource `from` on (the ones before it stay as they are). */
static void apply(const filter_processor *p, otlp_request *req, size_t from) {
  size_t wr = from;
  for (size_t r = from; r < req->n_resource_metrics; r++) {
    otlp_resource_metrics *rm = req->resource_metrics[r];
    if (!rm || skip_resource(p, rm)) continue;
    if (p->metric_rules) {
      size_t ws = 0;
      for (size_t s = 0; s < rm->n_scope_metrics; s++) {
        otlp_scope_metrics *sm = rm->scope_metrics[s];
        if (!sm) continue;
        size_t wm = 0;
        for (size_t k = 0; k < sm->n_metrics; k++)
          if (sm->metrics[k] && !skip_metric(p, sm->metrics[k])) sm->metrics[wm++] = sm->metrics[k];
        sm->n_metrics = wm;
        if (wm) rm->scope_metrics[ws++] = sm;
      }
      rm->n_scope_metrics = ws;
    }
    if (rm->n_scope_metrics) req->resource_metrics[wr++] = rm;
  }
  req->n_resource_metrics = wr;
}

static int filter_consume(void *state, component_metrics *batch, wire_err *err) {
  filter_processor *p = state;
  if (p->any_rules && !metrics_request(batch, err) && metrics_has_raw(batch)) {
    metrics_unref(batch); /* the lazy decode failed (err says why) */
    return -1;
  }
  if (p->any_rules && batch->req) {
    size_t from = first_change(p, batch->req);
    if (from != SIZE_MAX) {
      if (!(batch = metrics_make_writable(batch, err))) return -1;
      apply(p, batch->req, from);
      metrics_update(batch);
    }
    if (!batch->req->n_resource_metrics) {
      metrics_unref(batch); /* everything was filtered out: nothing goes further */
      return 0;
    }
  }
  if (!p->next.consume_metrics) {
    metrics_unref(batch);
    return 0;
  }
  return p->next.consume_metrics(p->next.ctx, batch, err);
}

static int filter_start(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

static int filter_shutdown(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

const component_hooks filter_processor_hooks = {
    .create = filter_create,
    .start = filter_start,
    .consume_metrics = filter_consume,
    .shutdown = filter_shutdown,
    .destroy = filter_destroy,
};
