/* resource.c — the `resource` processor: the Collector's resource processor for metrics. Its actions (insert,
 * update, upsert, delete, hash, extract, convert; see attr_actions_run.h) run once per resource of a batch, never
 * per data point, e.g. service.instance.id from k8s.pod.name:
 *
 *   processors:
 *     resource:
 *       attributes:
 *         - {key: service.instance.id, from_attribute: k8s.pod.name, action: insert}
 *
 * Copy on write: a batch that other consumers also hold is first run dry; it is copied (metrics_make_writable)
 * only when some action would change it, and forwarded untouched otherwise. */
#include "receiver/processors/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attr_actions_run.h"

typedef struct resource_processor {
  char *id;
  attr_engine *engine;
  component_consumer next;
} resource_processor;

static int resource_create(const component_create_args *args, void **state, wire_err *err) {
  const resource_processor_config *cfg = args->config;
  resource_processor *p = calloc(1, sizeof *p);
  if (!p) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  char what[160];
  snprintf(what, sizeof what, "%s: attributes", args->id);
  p->engine = attr_engine_create(&cfg->attributes, what, err);
  if (!p->engine) {
    free(p);
    return -1;
  }
  if (!(p->id = strdup(args->id))) {
    attr_engine_destroy(p->engine);
    free(p);
    return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  }
  p->next = args->next;
  *state = p;
  return 0;
}

/* Runs the actions on every resource: 1 when something changed (with !commit: stops there), 0, or -1. */
static int run(resource_processor *p, component_metrics *batch, bool commit, wire_err *err) {
  otlp_request *req = batch->req;
  int changed = 0;
  for (size_t i = 0; i < req->n_resource_metrics; i++) {
    otlp_resource_metrics *rm = req->resource_metrics[i];
    if (!rm) continue;
    otlp_resource *res = rm->resource;
    otlp_kv **attrs = res ? res->attributes : NULL;
    size_t n = res ? res->n_attributes : 0;
    int rc = attr_engine_apply(p->engine, &attrs, &n, commit, err);
    if (rc <= 0) {
      if (rc < 0) return -1;
      continue;
    }
    if (!commit) return 1;
    changed = 1;
    if (!res) {
      if (!n) continue;
      res = otlp_arena_alloc(&batch->arena, sizeof *res);
      if (!res) return wire_err_set(err, WIRE_E_LIMIT, "the batch's memory limit was reached adding a resource");
      otlp_resource init = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
      *res = init;
      rm->resource = res;
    }
    res->attributes = attrs;
    res->n_attributes = n;
  }
  return changed;
}

static int pass(void *processor, component_metrics *batch, bool commit, wire_err *err) {
  return run(processor, batch, commit, err);
}

static int resource_consume(void *state, component_metrics *batch, wire_err *err) {
  resource_processor *p = state;
  return attr_engine_consume(p->engine, p->id, batch, pass, p, &p->next, err);
}

static int resource_start(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

static int resource_shutdown(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

static void resource_destroy(void *state) {
  resource_processor *p = state;
  if (!p) return;
  attr_engine_destroy(p->engine);
  free(p->id);
  free(p);
}

const component_hooks resource_processor_hooks = {
    .create = resource_create,
    .start = resource_start,
    .consume_metrics = resource_consume,
    .shutdown = resource_shutdown,
    .destroy = resource_destroy,
};
