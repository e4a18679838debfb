/* batch.c — the batch processor (see batch.h).
 *
 * Each batcher keeps a queue of input batches (one reference each) and a cursor into the first one, which may
 * be partly sent already. take() builds an output of at most `room` points from the front of the queue, in one
 * of two ways:
 *  - raw (the inputs still have their serialized form, pipeline.h): the output's raw form is a list of byte
 *    ranges of the inputs — a whole input, or the run of its top-level fields (resource_metrics) that fits —
 *    because concatenated requests are one request. Nothing is decoded or encoded; an output may stop short of
 *    the maximum at a resource_metrics boundary. Only when one resource_metrics alone is over the maximum is
 *    that input decoded and split the second way.
 *  - structs: a resource_metrics, scope_metrics or metric that fits whole is linked as it is; one that does not
 *    is shallow-copied into the output's arena with only the part that fits (for a metric: a window of its data
 *    point array). Only pointer arrays and a few small structs are allocated per output.
 * An output is made one way only: it stops where the queue switches from raw inputs to decoded ones or back
 * (a decoded input is one a processor changed, or one received as JSON). */
#include "receiver/processors/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/batch.h"
#include "wire/clock.h"
#include "wire/grow.h"

/* Where the unsent part of the first queued batch begins. */
typedef struct cursor {
  size_t rm, sm, metric, point; /* structs: position in the decoded request */
  size_t off;                   /* raw: bytes of the raw form already taken (a top-level field boundary) */
  bool structs;                 /* the first batch is being taken through its structs (even if it has raw) */
} cursor;

typedef struct batcher {
  char *key;            /* metadata values joined (NULL for the single default batcher) */
  wire_headers *meta;   /* the metadata_keys values given to sent batches, NULL when none */
  component_metrics **q;
  size_t head, n, cap;  /* queue: q[head .. head+n) */
  cursor cur;
  size_t points;        /* unsent data points queued */
} batcher;

typedef struct batch_proc {
  component_host *host;
  const batch_config *cfg;
  char *id;
  component_consumer next;
  batcher *b;
  size_t nb, capb;
  uv_timer_t timer;
  bool timer_init, shut;
  /* drops, reported at most once per second */
  uint64_t dropped_points;
  int64_t next_drop_log_ns;
} batch_proc;

/* ---- point counting over the structures ---- */

static size_t metric_points(const otlp_metric *m) { return (size_t)wire_otlp_metric_points(m); }

static size_t sm_points(const otlp_scope_metrics *sm, size_t from_metric) {
  size_t n = 0;
  for (size_t i = from_metric; i < sm->n_metrics; i++) n += metric_points(sm->metrics[i]);
  return n;
}

static size_t rm_points(const otlp_resource_metrics *rm) {
  size_t n = 0;
  for (size_t i = 0; i < rm->n_scope_metrics; i++) n += sm_points(rm->scope_metrics[i], 0);
  return n;
}

/* The data point array of a metric as (count, void** array). */
static void **metric_point_array(const otlp_metric *m, size_t *n) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    if (m->gauge) { *n = m->gauge->n_data_points; return (void **)m->gauge->data_points; }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    if (m->sum) { *n = m->sum->n_data_points; return (void **)m->sum->data_points; }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    if (m->histogram) { *n = m->histogram->n_data_points; return (void **)m->histogram->data_points; }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    if (m->exponential_histogram) {
      *n = m->exponential_histogram->n_data_points;
      return (void **)m->exponential_histogram->data_points;
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
    if (m->summary) { *n = m->summary->n_data_points; return (void **)m->summary->data_points; }
    break;
  default: break;
  }
  *n = 0;
  return NULL;
}

/* A shallow copy of metric m (in arena a) whose data holds points [from, from+count). */
static otlp_metric *metric_window(otlp_arena *a, const otlp_metric *m, size_t from, size_t count) {
  otlp_metric *c = otlp_arena_alloc(a, sizeof *c);
  if (!c) return NULL;
  *c = *m;
#define WINDOW(field, T)                                                                                            \
  do {                                                                                                              \
    T *d = otlp_arena_alloc(a, sizeof *d);                                                                          \
    if (!d) return NULL;                                                                                            \
    *d = *m->field;                                                                                                 \
    d->data_points = m->field->data_points + from;                                                                  \
    d->n_data_points = count;                                                                                       \
    c->field = d;                                                                                                   \
  } while (0)
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: WINDOW(gauge, otlp_gauge); break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: WINDOW(sum, otlp_sum); break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: WINDOW(histogram, otlp_histogram); break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    WINDOW(exponential_histogram, otlp_exp_histogram);
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: WINDOW(summary, otlp_summary); break;
  default: break;
  }
#undef WINDOW
  return c;
}

/* ---- taking points out of a batcher ---- */

static component_metrics *bq_at(batcher *b, size_t i) { return b->q[(b->head + i) % b->cap]; }

static void bq_pop(batcher *b) {
  metrics_unref(b->q[b->head]);
  b->head = (b->head + 1) % b->cap;
  b->n--;
  memset(&b->cur, 0, sizeof b->cur);
}

static int bq_push(batcher *b, component_metrics *m) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    component_metrics **q = malloc(cap * sizeof *q);
    if (!q) return -1;
    for (size_t i = 0; i < b->n; i++) q[i] = bq_at(b, i);
    free(b->q);
    b->q = q;
    b->cap = cap;
    b->head = 0;
  }
  b->q[(b->head + b->n) % b->cap] = m;
  b->n++;
  return 0;
}

/* Appends to `out` (whose arrays were sized for the whole queue) up to *room points of the first queued batch,
 * from the cursor on; advances the cursor and pops the batch when it is all taken. Returns -1 when out of
 * memory. */
static int take_from_first(batcher *b, component_metrics *out, size_t *room, wire_err *err) {
  component_metrics *in = bq_at(b, 0);
  if (!in->req) {
    bq_pop(b);
    return 0;
  }
  if (metrics_hold(out, in, err) < 0) return -1;
  otlp_request *req = in->req, *oreq = out->req;
  otlp_arena *a = &out->arena;
  cursor *c = &b->cur;
  for (; c->rm < req->n_resource_metrics; c->rm++, c->sm = 0, c->metric = 0, c->point = 0) {
    if (*room == 0) return 0;
    otlp_resource_metrics *rm = req->resource_metrics[c->rm];
    bool at_start = c->sm == 0 && c->metric == 0 && c->point == 0;
    size_t pts = at_start ? rm_points(rm) : 0;
    if (at_start && pts <= *room) {
      oreq->resource_metrics[oreq->n_resource_metrics++] = rm;
      *room -= pts;
      b->points -= pts;
      continue;
    }
    /* Part of this resource: a shallow copy with its own scope array. */
    otlp_resource_metrics *orm = otlp_arena_alloc(a, sizeof *orm);
    otlp_scope_metrics **scopes = otlp_arena_alloc(a, (rm->n_scope_metrics - c->sm) * sizeof *scopes);
    if (!orm || !scopes) goto nomem;
    *orm = *rm;
    orm->scope_metrics = scopes;
    orm->n_scope_metrics = 0;
    oreq->resource_metrics[oreq->n_resource_metrics++] = orm;
    for (; c->sm < rm->n_scope_metrics; c->sm++, c->metric = 0, c->point = 0) {
      if (*room == 0) return 0;
      otlp_scope_metrics *sm = rm->scope_metrics[c->sm];
      bool sm_start = c->metric == 0 && c->point == 0;
      size_t spts = sm_start ? sm_points(sm, 0) : 0;
      if (sm_start && spts <= *room) {
        scopes[orm->n_scope_metrics++] = sm;
        *room -= spts;
        b->points -= spts;
        continue;
      }
      otlp_scope_metrics *osm = otlp_arena_alloc(a, sizeof *osm);
      otlp_metric **metrics = otlp_arena_alloc(a, (sm->n_metrics - c->metric) * sizeof *metrics);
      if (!osm || !metrics) goto nomem;
      *osm = *sm;
      osm->metrics = metrics;
      osm->n_metrics = 0;
      scopes[orm->n_scope_metrics++] = osm;
      for (; c->metric < sm->n_metrics; c->metric++, c->point = 0) {
        if (*room == 0) return 0;
        otlp_metric *m = sm->metrics[c->metric];
        size_t npts;
        metric_point_array(m, &npts);
        size_t left = npts - c->point;
        if (c->point == 0 && left <= *room) {
          metrics[osm->n_metrics++] = m;
        } else {
          size_t k = left <= *room ? left : *room;
          otlp_metric *w = metric_window(a, m, c->point, k);
          if (!w) goto nomem;
          metrics[osm->n_metrics++] = w;
          c->point += k;
          *room -= k;
          b->points -= k;
          if (c->point < npts) return 0; /* room is exhausted inside this metric */
          continue;
        }
        *room -= left;
        b->points -= left;
      }
    }
  }
  bq_pop(b);
  return 0;
nomem:
  return wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory splitting a batch");
}

/* Is the first queued batch taken through its structs? (Any later one is when it has no raw form.) */
static bool first_takes_structs(const batcher *b) {
  return b->cur.structs || !metrics_has_raw(b->q[b->head]);
}

/* Builds a struct output of at most `max` points (0: all) from the front of the queue, up to the first input
 * that is to be taken raw. */
static component_metrics *take_structs(batcher *b, size_t max, wire_err *err) {
  component_metrics *out = metrics_new(0);
  if (!out) {
    wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
    return NULL;
  }
  size_t nrm = 0;
  for (size_t i = 0; i < b->n && (i == 0 ? first_takes_structs(b) : !metrics_has_raw(bq_at(b, i))); i++)
    if (bq_at(b, i)->req) nrm += bq_at(b, i)->req->n_resource_metrics;
  out->req = otlp_arena_alloc(&out->arena, sizeof *out->req);
  otlp_resource_metrics **rms = otlp_arena_alloc(&out->arena, (nrm ? nrm : 1) * sizeof *rms);
  if (!out->req || !rms) {
    metrics_unref(out);
    wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
    return NULL;
  }
  *out->req = (otlp_request)OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
  out->req->resource_metrics = rms;
  size_t room = max ? max : SIZE_MAX;
  while (b->n > 0 && room > 0 && first_takes_structs(b)) {
    if (take_from_first(b, out, &room, err) < 0) {
      metrics_unref(out);
      return NULL;
    }
  }
  metrics_update(out);
  return out;
}

/* Raw: appends to `out` the first queued batch whole when it fits in *room, else the run of its top-level fields
 * (from the cursor) that fits; pops it when it is all taken. *too_big: the next field alone is over `max`.
 * Returns 1 when it should be called again for the next batch, 0 when the output is full, -1 on error. */
static int take_raw_from_first(batcher *b, component_metrics *out, size_t *room, size_t max, bool *too_big,
                               wire_err *err) {
  component_metrics *in = bq_at(b, 0);
  cursor *c = &b->cur;
  if (c->off == 0 && in->points <= *room) {
    if (metrics_raw_append(out, in, 0, in->raw_len, err) < 0) return -1;
    *room -= in->points;
    b->points -= in->points;
    out->points += in->points;
    bq_pop(b);
    return 1;
  }
  size_t start = c->off, at = 0;
  bool full = false;
  for (size_t i = 0; i < in->nraw && !full; at += in->raw[i].iov_len, i++) {
    size_t plen = in->raw[i].iov_len;
    if (c->off >= at + plen) continue;
    const uint8_t *p = in->raw[i].iov_base;
    size_t pos = c->off - at;
    while (pos < plen) {
      uint32_t number = 0;
      size_t end = pbwalk_next_field(p, plen, pos, &number);
      if (!end) return wire_err_set(err, WIRE_E_INVALID, "batch: a kept request is malformed at byte %zu", c->off);
      size_t pts = 0;
      if (number == 1) { /* a resource_metrics (anything else carries no points) */
        pbwalk_scan scan;
        if (pbwalk_scan_request(p + pos, end - pos, PBWALK_DEFAULT_DEPTH, &scan, err) < 0) return -1;
        pts = (size_t)scan.points;
      }
      if (pts > *room) {
        if (*room == (max ? max : SIZE_MAX)) *too_big = true;
        full = true;
        break;
      }
      *room -= pts;
      b->points -= pts;
      out->points += pts;
      pos = end;
      c->off = at + pos;
    }
  }
  if (c->off > start && metrics_raw_append(out, in, start, c->off - start, err) < 0) return -1;
  if (c->off == in->raw_len) {
    bq_pop(b);
    return 1;
  }
  return 0;
}

/* Builds a raw output of at most `max` points (0: all) from the front of the queue, up to the first input that
 * is to be taken through structs. *too_big as above (the output is then empty). */
static component_metrics *take_raw(batcher *b, size_t max, bool *too_big, wire_err *err) {
  component_metrics *out = metrics_new(0);
  if (!out) {
    wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
    return NULL;
  }
  size_t room = max ? max : SIZE_MAX;
  while (b->n > 0 && room > 0 && !first_takes_structs(b)) {
    int rc = take_raw_from_first(b, out, &room, max, too_big, err);
    if (rc < 0) {
      metrics_unref(out);
      return NULL;
    }
    if (rc == 0) break;
  }
  return out;
}

/* Switches the first batch to struct taking from where its raw cursor is (one resource_metrics is over the
 * maximum: it is split inside). Decodes it if nobody did yet. */
static int first_to_structs(batcher *b, wire_err *err) {
  component_metrics *in = bq_at(b, 0);
  if (!metrics_request(in, err)) return -1;
  size_t rm = 0, at = 0;
  for (size_t i = 0; i < in->nraw && at < b->cur.off; at += in->raw[i].iov_len, i++) {
    const uint8_t *p = in->raw[i].iov_base;
    size_t plen = in->raw[i].iov_len, pos = 0;
    while (pos < plen && at + pos < b->cur.off) {
      uint32_t number = 0;
      size_t end = pbwalk_next_field(p, plen, pos, &number);
      if (!end) return wire_err_set(err, WIRE_E_INVALID, "batch: a kept request is malformed");
      if (number == 1) rm++;
      pos = end;
    }
  }
  memset(&b->cur, 0, sizeof b->cur);
  b->cur.structs = true;
  b->cur.rm = rm;
  return 0;
}

/* Builds one output batch of at most `max` points (0: all) from the front of the queue. */
static component_metrics *take(batcher *b, size_t max, wire_err *err) {
  /* The common case: the first batch alone is exactly what goes out — pass it on as it is. */
  component_metrics *first = bq_at(b, 0);
  bool whole_first = b->cur.rm == 0 && b->cur.sm == 0 && b->cur.metric == 0 && b->cur.point == 0 &&
                     b->cur.off == 0 && !b->cur.structs;
  if (whole_first && (b->n == 1 ? (max == 0 || first->points <= max) : (max && first->points == max))) {
    b->q[b->head] = NULL;
    b->head = (b->head + 1) % b->cap;
    b->n--;
    b->points -= first->points;
    return first;
  }
  if (!first_takes_structs(b)) {
    bool too_big = false;
    component_metrics *out = take_raw(b, max, &too_big, err);
    if (!out || !too_big || out->nraw) return out;
    metrics_unref(out);
    if (first_to_structs(b, err) < 0) return NULL;
  }
  return take_structs(b, max, err);
}

/* Sends one batch downstream; a refusal drops it (logged at most once a second). */
static void send_out(batch_proc *p, batcher *b, component_metrics *out) {
  if (b->meta && !out->metadata) {
    out->metadata = calloc(1, sizeof *out->metadata);
    if (out->metadata) {
      wire_headers_init(out->metadata, 0, 0);
      wire_headers_copy(out->metadata, b->meta, NULL);
    }
  }
  size_t points = out->points;
  if (p->host->count) p->host->count(p->host, "otelcol_processor_batch_batch_send_size", p->id, points);
  wire_err err = {0};
  if (p->next.consume_metrics(p->next.ctx, out, &err) < 0) {
    p->dropped_points += points;
    int64_t now = wire_now_ns();
    if (now >= p->next_drop_log_ns) {
      char n[32];
      snprintf(n, sizeof n, "%llu", (unsigned long long)p->dropped_points);
      p->host->log(p->host, LOG_WARN, p->id, "Sender failed; data dropped", "error", err.msg, "dropped_points", n,
                   NULL);
      p->dropped_points = 0;
      p->next_drop_log_ns = now + 1000000000LL;
    }
  }
}

/* Sends from b while it holds at least `threshold` points (0: until empty). */
static void flush(batch_proc *p, batcher *b, size_t threshold) {
  size_t max = (size_t)(p->cfg->send_batch_max_size > 0 ? p->cfg->send_batch_max_size : 0);
  while (b->n > 0 && (threshold == 0 || b->points >= threshold)) {
    wire_err err = {0};
    component_metrics *out = take(b, max, &err);
    if (!out) {
      p->host->log(p->host, LOG_ERROR, p->id, "Cannot build a batch; data dropped", "error", err.msg, NULL);
      while (b->n) bq_pop(b);
      b->points = 0;
      return;
    }
    if (threshold && p->host->count)
      p->host->count(p->host, "otelcol_processor_batch_batch_size_trigger_send", p->id, 1);
    send_out(p, b, out);
  }
}

static bool anything_pending(const batch_proc *p) {
  for (size_t i = 0; i < p->nb; i++)
    if (p->b[i].n) return true;
  return false;
}

static void timer_cb(uv_timer_t *t) {
  batch_proc *p = t->data;
  for (size_t i = 0; i < p->nb; i++) {
    if (p->b[i].n && p->host->count) p->host->count(p->host, "otelcol_processor_batch_timeout_trigger_send", p->id, 1);
    flush(p, &p->b[i], 0);
  }
}

/* ---- metadata batchers ---- */

/* The batcher for m's values of metadata_keys (created when new); NULL past the cardinality limit. */
static batcher *batcher_for(batch_proc *p, const component_metrics *m, wire_err *err) {
  const cfg_strlist *keys = &p->cfg->metadata_keys;
  if (keys->n == 0) return &p->b[0];
  wire_buf key;
  wire_buf_init(&key, 0);
  for (size_t i = 0; i < keys->n; i++) {
    const char *v = m->metadata ? wire_headers_get(m->metadata, keys->v[i]) : NULL;
    wire_buf_append_str(&key, v ? v : "", NULL);
    wire_buf_append(&key, "\x1f", 1, NULL); /* unit separator: not in header values */
  }
  wire_buf_append(&key, "", 1, NULL);
  const char *k = key.data ? (const char *)key.data : "";
  for (size_t i = 0; i < p->nb; i++)
    if (p->b[i].key && !strcmp(p->b[i].key, k)) {
      wire_buf_free(&key);
      return &p->b[i];
    }
  /* (b[0], the batcher without metadata, is unused when metadata_keys are set) */
  if ((int64_t)p->nb - 1 >= p->cfg->metadata_cardinality_limit && p->cfg->metadata_cardinality_limit > 0) {
    wire_buf_free(&key);
    wire_err_set(err, WIRE_E_LIMIT, "batch: too many batcher metadata-value combinations (limit %lld)",
                 (long long)p->cfg->metadata_cardinality_limit);
    return NULL;
  }
  if (p->nb == p->capb) {
    batcher *v = wire_grow_array(p->b, &p->capb, sizeof *v, 4);
    if (!v) goto nomem;
    p->b = v;
  }
  batcher *b = &p->b[p->nb];
  memset(b, 0, sizeof *b);
  b->key = strdup(k);
  b->meta = calloc(1, sizeof *b->meta);
  if (!b->key || !b->meta) {
    free(b->key);
    free(b->meta);
    goto nomem;
  }
  wire_headers_init(b->meta, 0, 0);
  for (size_t i = 0; i < keys->n; i++) {
    const char *v = m->metadata ? wire_headers_get(m->metadata, keys->v[i]) : NULL;
    if (v) wire_headers_add_cstr(b->meta, keys->v[i], v, NULL);
  }
  p->nb++;
  wire_buf_free(&key);
  return b;
nomem:
  wire_buf_free(&key);
  wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
  return NULL;
}

/* ---- hooks ---- */

static int consume(void *state, component_metrics *m, wire_err *err) {
  batch_proc *p = state;
  size_t max = (size_t)(p->cfg->send_batch_max_size > 0 ? p->cfg->send_batch_max_size : 0);
  if (p->shut || p->cfg->timeout <= 0 || (!m->req && !metrics_has_raw(m))) {
    /* No buffering (timeout 0, or after shutdown): send now, split to the max size. */
    if (max == 0 || m->points <= max) return p->next.consume_metrics(p->next.ctx, m, err);
    batcher tmp = {0};
    if (bq_push(&tmp, m) < 0) {
      metrics_unref(m);
      return wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
    }
    tmp.points = m->points;
    flush(p, &tmp, 0);
    free(tmp.q);
    return 0;
  }
  batcher *b = batcher_for(p, m, err);
  if (!b) {
    metrics_unref(m);
    return -1;
  }
  if (bq_push(b, m) < 0) {
    metrics_unref(m);
    return wire_err_set(err, WIRE_E_NOMEM, "batch: out of memory");
  }
  b->points += m->points;
  size_t threshold = (size_t)(p->cfg->send_batch_size > 0 ? p->cfg->send_batch_size : 1);
  if (b->points >= threshold) flush(p, b, threshold);
  if (b->n && !uv_is_active((uv_handle_t *)&p->timer)) {
    uint64_t ms = (uint64_t)((p->cfg->timeout + 999999) / 1000000);
    uv_timer_start(&p->timer, timer_cb, ms ? ms : 1, 0);
  } else if (!anything_pending(p)) {
    uv_timer_stop(&p->timer);
  }
  return 0;
}

static int create(const component_create_args *args, void **state, wire_err *err) {
  batch_proc *p = calloc(1, sizeof *p);
  if (!p || !(p->id = strdup(args->id)) || !(p->b = calloc(1, sizeof *p->b))) {
    if (p) free(p->id);
    free(p);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  }
  p->nb = p->capb = 1;
  p->host = args->host;
  p->cfg = args->config;
  p->next = args->next;
  *state = p;
  return 0;
}

static int start(void *state, wire_err *err) {
  batch_proc *p = state;
  if (uv_timer_init(p->host->loop, &p->timer) < 0) return wire_err_set(err, WIRE_E_NOMEM, "batch: no timer");
  p->timer.data = p;
  p->timer_init = true;
  return 0;
}

static void timer_closed(uv_handle_t *h) {
  batch_proc *p = h->data;
  p->host->release(p->host);
}

static int shutdown_(void *state, wire_err *err) {
  (void)err;
  batch_proc *p = state;
  for (size_t i = 0; i < p->nb; i++) flush(p, &p->b[i], 0);
  p->shut = true;
  if (p->timer_init) {
    uv_timer_stop(&p->timer);
    p->host->hold(p->host);
    uv_close((uv_handle_t *)&p->timer, timer_closed);
    p->timer_init = false;
  }
  return 0;
}

static void destroy(void *state) {
  batch_proc *p = state;
  if (!p) return;
  for (size_t i = 0; i < p->nb; i++) {
    batcher *b = &p->b[i];
    while (b->n) bq_pop(b);
    free(b->q);
    free(b->key);
    if (b->meta) {
      wire_headers_free(b->meta);
      free(b->meta);
    }
  }
  free(p->b);
  free(p->id);
  free(p);
}

const component_hooks batch_processor_hooks = {
    .create = create,
    .start = start,
    .consume_metrics = consume,
    .shutdown = shutdown_,
    .destroy = destroy,
};
