/* runtime.c — executes one configuration graph (see runtime.h): component instances, consumer wiring with
 * fan-out, ordered start, staged asynchronous shutdown, and the host interface handed to components.
 *
 * Processor self-telemetry, as the Collector's processorhelper reports it: every processor instance is wrapped
 * on both sides — otelcol_processor_incoming_items counts the points of each batch handed to it, and
 * otelcol_processor_outgoing_items those of each batch it hands on (whenever it does: the batch processor
 * emits from its timer) — with the labels processor="<id>" and otel_signal="metrics". Histograms: a component
 * reports one observation of a histogram metric with host->count(metric, id, value); the metrics that are
 * histograms and their buckets are in `histograms` below (otelcol_processor_batch_batch_send_size, the
 * Collector's buckets). */
#include "receiver/runtime/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct instance {
  runtime *rt;
  const service_component *sc;
  const component_hooks *hooks;
  void *state;
  size_t pipeline; /* processors: the pipeline this instance belongs to */
  component_consumer next; /* processors: where their output goes (wrapped to count outgoing items) */
  bool created, started, shut;
} instance;

/* One consumer feeding several (a receiver in several pipelines, a pipeline with several exporters). */
typedef struct fanout {
  component_consumer *to;
  size_t n;
} fanout;

enum { STAGE_RECEIVERS, STAGE_PROCESSORS, STAGE_EXPORTERS, STAGE_EXTENSIONS, STAGE_DONE };

struct runtime {
  uv_loop_t *loop;
  const service_graph *g;
  component_host host;
  runtime_options opts;
  rt_logger *log;
  bool own_log;
  telemetry *tel;
  bool own_tel;
  service_state state;

  instance *ext, *exp, *proc, *recv;
  size_t next, nexp, nproc, nrecv;
  size_t *proc_first;   /* per pipeline: index of its first processor in proc[] */
  fanout *pipe_exporters; /* per pipeline */
  component_consumer *pipe_entry; /* per pipeline: first processor, or the exporters */
  fanout *recv_fanout;  /* per receiver */

  _Atomic int holds;
  uv_async_t wake;
  bool wake_init;
  int next_stage;
  bool shutting, done_called;
  void (*done)(void *);
  void *done_arg;
};

/* ---- host interface ---- */

static runtime *rt_of(component_host *h) { return h->runtime; }

static void host_log(component_host *h, log_level level, const char *component, const char *msg, ...) {
  va_list ap;
  va_start(ap, msg);
  rt_logv(rt_of(h)->log, level, component, msg, ap);
  va_end(ap);
}

static bool host_log_enabled(component_host *h, log_level level) { return rt_log_enabled(rt_of(h)->log, level); }

static instance *find_extension(runtime *rt, const char *id) {
  for (size_t i = 0; i < rt->next; i++)
    if (rt->ext[i].created && !strcmp(rt->ext[i].sc->id, id)) return &rt->ext[i];
  return NULL;
}

static void *host_extension(component_host *h, const char *id) {
  instance *in = id ? find_extension(rt_of(h), id) : NULL;
  return in ? in->state : NULL;
}

static component_auth *host_auth(component_host *h, const char *id) {
  instance *in = id ? find_extension(rt_of(h), id) : NULL;
  if (!in || !(in->sc->factory->caps & (COMPONENT_CAP_SERVER_AUTH | COMPONENT_CAP_CLIENT_AUTH))) return NULL;
  return in->state; /* an authenticator's state starts with component_auth (pipeline.h) */
}

/* Metrics reported as histograms (one observation per host->count call), with the Collector's buckets. */
static const double batch_send_size_bounds[] = {10,   25,   50,   75,   100,  250,   500,   750,   1000,   2000, 3000,
                                                4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000};
static const struct {
  const char *metric;
  const double *bounds;
  size_t nbounds;
} histograms[] = {
    {"otelcol_processor_batch_batch_send_size", batch_send_size_bounds,
     sizeof batch_send_size_bounds / sizeof batch_send_size_bounds[0]},
};

static void host_count(component_host *h, const char *metric, const char *component_id, uint64_t n) {
  for (size_t i = 0; i < sizeof histograms / sizeof histograms[0]; i++)
    if (!strcmp(metric, histograms[i].metric)) {
      telemetry_observe(rt_of(h)->tel, metric, component_id, histograms[i].bounds, histograms[i].nbounds, (double)n);
      return;
    }
  telemetry_add(rt_of(h)->tel, metric, component_id, NULL, n);
}

static void host_count_transport(component_host *h, const char *metric, const char *component_id,
                                 const char *transport, uint64_t n) {
  telemetry_add(rt_of(h)->tel, metric, component_id, transport, n);
}

static void host_gauge(component_host *h, const char *metric, const char *component_id, int64_t value) {
  telemetry_set(rt_of(h)->tel, metric, component_id, value);
}

static void host_hold(component_host *h) { atomic_fetch_add(&rt_of(h)->holds, 1); }

static void host_release(component_host *h) {
  runtime *rt = rt_of(h);
  if (atomic_fetch_sub(&rt->holds, 1) == 1) uv_async_send(&rt->wake);
}

static service_state host_state(component_host *h) { return rt_of(h)->state; }

/* ---- consumers ---- */

static bool is_permanent(wire_err_code c) {
  return c != WIRE_E_LIMIT && c != WIRE_E_NOMEM && c != WIRE_E_CLOSED && c != WIRE_E_IO && c != WIRE_E_TIMEOUT;
}

static int fanout_consume(void *ctx, component_metrics *batch, wire_err *err) {
  fanout *f = ctx;
  int rc = 0;
  bool have_err = false, have_permanent = false;
  for (size_t i = 0; i < f->n; i++) {
    component_metrics *mine = i + 1 < f->n ? metrics_ref(batch) : batch;
    wire_err e = {0};
    if (f->to[i].consume_metrics(f->to[i].ctx, mine, &e) < 0) {
      rc = -1;
      bool perm = is_permanent(e.code);
      /* The first error is reported, unless a permanent one comes after retryable ones. */
      if (!have_err || (perm && !have_permanent)) {
        if (err) *err = e;
        have_permanent = perm;
      }
      have_err = true;
    }
  }
  return rc;
}

static int exporter_consume(void *ctx, component_metrics *batch, wire_err *err) {
  instance *in = ctx;
  if (!in->started || in->shut || !in->hooks->consume_metrics) {
    metrics_unref(batch);
    return wire_err_set(err, WIRE_E_CLOSED, "exporter %s: not running", in->sc->id);
  }
  return in->hooks->consume_metrics(in->state, batch, err);
}

static component_consumer consumer_of_exporter(instance *in) {
  return (component_consumer){.consume_metrics = exporter_consume, .ctx = in};
}

#define SIGNAL_LABEL "otel_signal=metrics" /* telemetry.h: a label in place of transport= */

/* A batch handed to processor `in`: counted, then processed. */
static int processor_consume(void *ctx, component_metrics *batch, wire_err *err) {
  instance *in = ctx;
  telemetry_add(in->rt->tel, "otelcol_processor_incoming_items", in->sc->id, SIGNAL_LABEL, batch->points);
  return in->hooks->consume_metrics(in->state, batch, err);
}

/* A batch processor `in` hands on: counted, then passed to its successor. */
static int processor_emit(void *ctx, component_metrics *batch, wire_err *err) {
  instance *in = ctx;
  telemetry_add(in->rt->tel, "otelcol_processor_outgoing_items", in->sc->id, SIGNAL_LABEL, batch->points);
  return in->next.consume_metrics(in->next.ctx, batch, err);
}

static component_consumer consumer_of_processor(instance *in) {
  return (component_consumer){.consume_metrics = processor_consume, .ctx = in};
}

/* A consumer over `f`: f's only target when it has one, else the fan-out itself. */
static component_consumer consumer_of_fanout(fanout *f) {
  if (f->n == 1) return f->to[0];
  return (component_consumer){.consume_metrics = fanout_consume, .ctx = f};
}

/* ---- building ---- */

static const component_hooks *hooks_of(runtime *rt, const service_component *sc, wire_err *err) {
  const component_hooks *h = rt->opts.hooks_for ? rt->opts.hooks_for(sc, rt->opts.hooks_ud) : NULL;
  if (!h) h = sc->factory->hooks;
  if (!h || !h->create) {
    wire_err_set(err, WIRE_E_UNSUPPORTED, "%s \"%s\": this build knows its configuration but cannot run it yet",
                 component_kind_name(sc->kind), sc->id);
    return NULL;
  }
  return h;
}

/* Creates one instance. A component whose factory is marked pending (configuration accepted, runtime not in
 * this release: the prometheus receiver, k8sattributes) is skipped with a warning instead — a processor then
 * passes data through — so that a Collector configuration carrying it still runs. Returns 1 when skipped. */
static int create_instance(runtime *rt, instance *in, const service_component *sc, size_t pipeline,
                           component_consumer next, wire_err *err) {
  in->rt = rt;
  in->sc = sc;
  in->pipeline = pipeline;
  in->hooks = hooks_of(rt, sc, err);
  if (!in->hooks && sc->factory->pending && !sc->factory->hooks && sc->kind != COMPONENT_EXPORTER) {
    rt_log(rt->log, LOG_WARN, sc->id,
           sc->kind == COMPONENT_PROCESSOR ? "Not implemented in this release: the processor passes data through"
                                           : "Not implemented in this release: the component is not started",
           "kind", component_kind_name(sc->kind), NULL);
    wire_err_clear(err);
    return 1;
  }
  if (!in->hooks) return -1;
  component_create_args args = {
      .id = sc->id, .kind = sc->kind, .config = sc->config, .host = &rt->host, .next = next};
  if (in->hooks->create(&args, &in->state, err) < 0) {
    wire_err_prefix(err, "%s \"%s\": ", component_kind_name(sc->kind), sc->id);
    return -1;
  }
  in->created = true;
  return 0;
}

static size_t index_of(const instance *v, size_t n, const service_component *sc) {
  for (size_t i = 0; i < n; i++)
    if (v[i].sc == sc) return i;
  return n;
}

static int build(runtime *rt, wire_err *err) {
  const service_graph *g = rt->g;
  /* Count instances: shared receivers/exporters once, processors once per pipeline. */
  for (size_t i = 0; i < g->ncomponents; i++) {
    const service_component *c = &g->components[i];
    if (c->ignored || !c->npipelines) continue;
    if (c->kind == COMPONENT_RECEIVER) rt->nrecv++;
    if (c->kind == COMPONENT_EXPORTER) rt->nexp++;
  }
  for (size_t p = 0; p < g->npipelines; p++) rt->nproc += g->pipelines[p].nprocessors;
  rt->ext = calloc(g->nextensions + 1, sizeof *rt->ext);
  rt->exp = calloc(rt->nexp + 1, sizeof *rt->exp);
  rt->proc = calloc(rt->nproc + 1, sizeof *rt->proc);
  rt->recv = calloc(rt->nrecv + 1, sizeof *rt->recv);
  rt->proc_first = calloc(g->npipelines + 1, sizeof *rt->proc_first);
  rt->pipe_exporters = calloc(g->npipelines + 1, sizeof *rt->pipe_exporters);
  rt->pipe_entry = calloc(g->npipelines + 1, sizeof *rt->pipe_entry);
  rt->recv_fanout = calloc(rt->nrecv + 1, sizeof *rt->recv_fanout);
  if (!rt->ext || !rt->exp || !rt->proc || !rt->recv || !rt->proc_first || !rt->pipe_exporters ||
      !rt->pipe_entry || !rt->recv_fanout)
    return wire_err_set(err, WIRE_E_NOMEM, "runtime: out of memory");

  /* Extensions, in service::extensions order. */
  for (size_t i = 0; i < g->nextensions; i++) {
    if (create_instance(rt, &rt->ext[i], g->extensions[i], 0, (component_consumer){0}, err) < 0) return -1;
    rt->next = i + 1;
  }
  /* Exporters. */
  size_t k = 0;
  for (size_t i = 0; i < g->ncomponents; i++) {
    const service_component *c = &g->components[i];
    if (c->ignored || !c->npipelines || c->kind != COMPONENT_EXPORTER) continue;
    if (create_instance(rt, &rt->exp[k], c, 0, (component_consumer){0}, err) < 0) return -1;
    k++;
  }
  /* Per pipeline: the exporters' fan-out, then the processors from last to first. */
  size_t first = 0;
  for (size_t p = 0; p < g->npipelines; p++) {
    const service_pipeline *pl = &g->pipelines[p];
    fanout *f = &rt->pipe_exporters[p];
    f->to = calloc(pl->nexporters + 1, sizeof *f->to);
    if (!f->to) return wire_err_set(err, WIRE_E_NOMEM, "runtime: out of memory");
    for (size_t e = 0; e < pl->nexporters; e++) {
      size_t idx = index_of(rt->exp, rt->nexp, pl->exporters[e]);
      if (idx == rt->nexp) return wire_err_set(err, WIRE_E_INVALID, "runtime: exporter %s not built", pl->exporters[e]->id);
      f->to[f->n++] = consumer_of_exporter(&rt->exp[idx]);
    }
    component_consumer next = consumer_of_fanout(f);
    rt->proc_first[p] = first;
    for (size_t j = pl->nprocessors; j-- > 0;) {
      instance *in = &rt->proc[first + j];
      in->next = next;
      int rc = create_instance(rt, in, pl->processors[j], p,
                               (component_consumer){.consume_metrics = processor_emit, .ctx = in}, err);
      if (rc < 0) return -1;
      if (rc > 0) continue; /* skipped: passes through */
      if (!in->hooks->consume_metrics)
        return wire_err_set(err, WIRE_E_INVALID, "processor \"%s\": has no consume hook", in->sc->id);
      next = consumer_of_processor(in);
    }
    rt->pipe_entry[p] = next;
    first += pl->nprocessors;
  }
  /* Receivers: each feeds the entries of its pipelines. */
  k = 0;
  for (size_t i = 0; i < g->ncomponents; i++) {
    const service_component *c = &g->components[i];
    if (c->ignored || !c->npipelines || c->kind != COMPONENT_RECEIVER) continue;
    fanout *f = &rt->recv_fanout[k];
    f->to = calloc(c->npipelines + 1, sizeof *f->to);
    if (!f->to) return wire_err_set(err, WIRE_E_NOMEM, "runtime: out of memory");
    for (size_t j = 0; j < c->npipelines; j++) f->to[f->n++] = rt->pipe_entry[c->pipelines[j]];
    if (create_instance(rt, &rt->recv[k], c, 0, consumer_of_fanout(f), err) < 0) return -1;
    k++;
  }
  return 0;
}

static void destroy_all(runtime *rt) {
  instance *groups[] = {rt->recv, rt->proc, rt->exp, rt->ext};
  size_t counts[] = {rt->nrecv, rt->nproc, rt->nexp, rt->next};
  for (size_t gi = 0; gi < 4; gi++) {
    if (!groups[gi]) continue;
    for (size_t i = counts[gi]; i-- > 0;) {
      instance *in = &groups[gi][i];
      if (in->created && in->hooks->destroy) in->hooks->destroy(in->state);
      in->created = false;
    }
  }
}

static void wake_cb(uv_async_t *a);

runtime *runtime_new(uv_loop_t *loop, const service_graph *g, const runtime_options *opts, wire_err *err) {
  runtime *rt = calloc(1, sizeof *rt);
  if (!rt) {
    wire_err_set(err, WIRE_E_NOMEM, "runtime: out of memory");
    return NULL;
  }
  rt->loop = loop;
  rt->g = g;
  if (opts) rt->opts = *opts;
  rt->log = rt->opts.log;
  if (!rt->log) {
    rt->log = rt_logger_new(&g->service.telemetry.logs, NULL);
    if (!rt->log) rt->log = rt_logger_new(NULL, NULL);
    rt->own_log = true;
  }
  rt->tel = rt->opts.tel;
  if (!rt->tel) {
    rt->tel = telemetry_new(NULL);
    rt->own_tel = true;
  }
  rt->state = SERVICE_STARTING;
  rt->host = (component_host){
      .loop = loop,
      .log = host_log,
      .log_enabled = host_log_enabled,
      .extension = host_extension,
      .auth = host_auth,
      .count = host_count,
      .count_transport = host_count_transport,
      .gauge = host_gauge,
      .hold = host_hold,
      .release = host_release,
      .state = host_state,
      .runtime = rt,
  };
  atomic_init(&rt->holds, 0);
  if (!rt->log || !rt->tel || uv_async_init(loop, &rt->wake, wake_cb) < 0) {
    wire_err_set(err, WIRE_E_NOMEM, "runtime: out of memory");
    runtime_free(rt);
    return NULL;
  }
  rt->wake.data = rt;
  rt->wake_init = true;
  if (build(rt, err) < 0) {
    runtime_free(rt);
    return NULL;
  }
  return rt;
}

static int start_group(runtime *rt, instance *v, size_t n, const char *what, wire_err *err) {
  if (n) rt_log(rt->log, LOG_INFO, NULL, what, NULL);
  for (size_t i = 0; i < n; i++) {
    instance *in = &v[i];
    if (in->started || !in->created) continue; /* (never twice; skipped components never) */
    rt_log(rt->log, LOG_DEBUG, in->sc->id, "Starting component", "kind", component_kind_name(in->sc->kind), NULL);
    if (in->hooks->start && in->hooks->start(in->state, err) < 0) {
      wire_err_prefix(err, "%s \"%s\": ", component_kind_name(in->sc->kind), in->sc->id);
      return -1;
    }
    in->started = true;
  }
  return 0;
}

int runtime_start(runtime *rt, wire_err *err) {
  if (start_group(rt, rt->ext, rt->next, "Starting extensions...", err) < 0) return -1;
  if (start_group(rt, rt->exp, rt->nexp, "Starting exporters...", err) < 0) return -1;
  if (start_group(rt, rt->proc, rt->nproc, "Starting processors...", err) < 0) return -1;
  if (start_group(rt, rt->recv, rt->nrecv, "Starting receivers...", err) < 0) return -1;
  rt->state = SERVICE_RUNNING;
  return 0;
}

static void shutdown_instance(runtime *rt, instance *in) {
  if (!in->created || !in->started || in->shut) return;
  in->shut = true;
  wire_err e = {0};
  if (in->hooks->shutdown && in->hooks->shutdown(in->state, &e) < 0)
    rt_log(rt->log, LOG_WARN, in->sc->id, "Shutdown failed", "kind", component_kind_name(in->sc->kind), "error",
           e.msg, NULL);
}

static void run_stage(runtime *rt, int stage) {
  switch (stage) {
  case STAGE_RECEIVERS:
    for (size_t i = rt->nrecv; i-- > 0;) shutdown_instance(rt, &rt->recv[i]);
    break;
  case STAGE_PROCESSORS:
    /* First to last within each pipeline: each flushes into a successor still running. */
    for (size_t i = 0; i < rt->nproc; i++) shutdown_instance(rt, &rt->proc[i]);
    break;
  case STAGE_EXPORTERS:
    for (size_t i = rt->nexp; i-- > 0;) shutdown_instance(rt, &rt->exp[i]);
    break;
  case STAGE_EXTENSIONS:
    for (size_t i = rt->next; i-- > 0;) shutdown_instance(rt, &rt->ext[i]);
    break;
  }
}

static void advance(runtime *rt) {
  while (atomic_load(&rt->holds) == 0) {
    if (rt->next_stage == STAGE_DONE) {
      if (!rt->done_called) {
        rt->done_called = true;
        rt_log(rt->log, LOG_DEBUG, NULL, "Every component is shut down", NULL);
        if (rt->done) rt->done(rt->done_arg);
      }
      return;
    }
    run_stage(rt, rt->next_stage++);
  }
}

static void wake_cb(uv_async_t *a) {
  runtime *rt = a->data;
  if (rt->shutting) advance(rt);
}

void runtime_shutdown(runtime *rt, void (*done)(void *arg), void *arg) {
  if (rt->shutting) return;
  rt->shutting = true;
  rt->state = SERVICE_STOPPING;
  rt->done = done;
  rt->done_arg = arg;
  rt->next_stage = STAGE_RECEIVERS;
  advance(rt);
}

static void free_cb(uv_handle_t *h) { free(h->data); }

void runtime_free(runtime *rt) {
  if (!rt) return;
  destroy_all(rt);
  for (size_t p = 0; rt->pipe_exporters && p < rt->g->npipelines; p++) free(rt->pipe_exporters[p].to);
  for (size_t r = 0; rt->recv_fanout && r < rt->nrecv; r++) free(rt->recv_fanout[r].to);
  free(rt->pipe_exporters);
  free(rt->recv_fanout);
  free(rt->pipe_entry);
  free(rt->proc_first);
  free(rt->ext);
  free(rt->exp);
  free(rt->proc);
  free(rt->recv);
  if (rt->own_tel) telemetry_free(rt->tel);
  if (rt->own_log) rt_logger_free(rt->log);
  if (rt->wake_init) {
    uv_close((uv_handle_t *)&rt->wake, free_cb);
  } else {
    free(rt);
  }
}

service_state runtime_state(const runtime *rt) { return rt->state; }

component_host *runtime_host(runtime *rt) { return &rt->host; }

void *runtime_component_state(runtime *rt, component_kind kind, const char *id, size_t pipeline) {
  instance *v;
  size_t n;
  switch (kind) {
  case COMPONENT_RECEIVER: v = rt->recv, n = rt->nrecv; break;
  case COMPONENT_PROCESSOR: v = rt->proc, n = rt->nproc; break;
  case COMPONENT_EXPORTER: v = rt->exp, n = rt->nexp; break;
  default: v = rt->ext, n = rt->next; break;
  }
  for (size_t i = 0; i < n; i++)
    if (v[i].created && !strcmp(v[i].sc->id, id) && (kind != COMPONENT_PROCESSOR || v[i].pipeline == pipeline))
      return v[i].state;
  return NULL;
}
