/* collect.c — one collection: run observable callbacks, read every series, and encode the OTLP
 * ExportMetricsServiceRequest straight into a byte buffer with the streaming protobuf writer (wire/pbwrite.h),
 * in field-number order and with proto3's default-omission rules, so the bytes are exactly what protobuf-c
 * would pack for the same request (tests/unit/wire/test_pbwrite.c checks the writer against protobuf-c).
 *
 * Reading is lock-free except for exponential histograms (their per-series spinlock, held for one copy).
 * Sums never reset their cells: a delta point is `total - prev` and `prev` moves on; a cumulative point is
 * `total - prev` where `prev` is the fork base (zero unless this process is a forked child). Explicit
 * histograms do the same per bucket; their min/max are swapped out for delta. A metric without points (and a
 * scope without metrics) is written, then dropped again (pbw_truncate). The provider's arena only holds
 * scratch space (exponential-histogram snapshots). */
#include <math.h>
#include <string.h>

#include "sdk/src/double_bits.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"
#include "wire/clock.h"
#include "wire/pbwrite.h"

/* OTLP field numbers (opentelemetry/proto/metrics/v1/metrics.proto, common/v1/common.proto). */
enum {
  F_REQUEST_RESOURCE_METRICS = 1,
  F_RM_RESOURCE = 1, F_RM_SCOPE_METRICS = 2,
  F_SM_SCOPE = 1, F_SM_METRICS = 2, F_SM_SCHEMA_URL = 3,
  F_SCOPE_NAME = 1, F_SCOPE_VERSION = 2,
  F_METRIC_NAME = 1, F_METRIC_DESCRIPTION = 2, F_METRIC_UNIT = 3, F_METRIC_GAUGE = 5, F_METRIC_SUM = 7,
  F_METRIC_HISTOGRAM = 9, F_METRIC_EXP_HISTOGRAM = 10,
  F_DATA_POINTS = 1, F_AGG_TEMPORALITY = 2, F_SUM_IS_MONOTONIC = 3,
  F_NDP_START = 2, F_NDP_TIME = 3, F_NDP_AS_DOUBLE = 4, F_NDP_AS_INT = 6, F_NDP_ATTRIBUTES = 7,
  F_HDP_START = 2, F_HDP_TIME = 3, F_HDP_COUNT = 4, F_HDP_SUM = 5, F_HDP_BUCKET_COUNTS = 6,
  F_HDP_EXPLICIT_BOUNDS = 7, F_HDP_ATTRIBUTES = 9, F_HDP_MIN = 11, F_HDP_MAX = 12,
  F_EDP_ATTRIBUTES = 1, F_EDP_START = 2, F_EDP_TIME = 3, F_EDP_COUNT = 4, F_EDP_SUM = 5, F_EDP_SCALE = 6,
  F_EDP_ZERO_COUNT = 7, F_EDP_POSITIVE = 8, F_EDP_NEGATIVE = 9, F_EDP_MIN = 12, F_EDP_MAX = 13,
  F_BUCKETS_OFFSET = 1, F_BUCKETS_COUNTS = 2,
  F_KV_KEY = 1, F_KV_VALUE = 2,
  F_ANY_STRING = 1, F_ANY_BOOL = 2, F_ANY_INT = 3, F_ANY_DOUBLE = 4,
};

/* Length reservations (pbw_begin): points and attributes are short; containers run to megabytes. */
#define SMALL 1
#define LARGE 3

typedef struct collect_ctx {
  otelc_meter_provider *p;
  otelc_arena *a;
  pbw *w;
  uint64_t *scratch, *exp_storage; /* per instrument: bucket counts / an exponential-histogram snapshot */
  uint64_t now, delta_start;
  bool oom;
} collect_ctx;

static void *alloc(collect_ctx *c, size_t n) {
  void *p = otelc_arena_alloc(c->a, n);
  if (!p) c->oom = true;
  return p;
}

/* The attributes of a series as repeated KeyValue field `field` (stored strings: lengths known). */
static void write_attrs(collect_ctx *c, uint32_t field, const otelc_instrument *in, const otelc_srec *s) {
  pbw *w = c->w;
  const otelc_sattr *a = otelc_srec_attrs(in, s);
  for (uint32_t i = 0; i < s->n_attrs; i++) {
    pbw_mark kv = pbw_begin(w, field, SMALL);
    pbw_bytes(w, F_KV_KEY, a[i].key, a[i].klen);
    pbw_mark any = pbw_begin(w, F_KV_VALUE, SMALL);
    switch (a[i].type) { /* AnyValue is a oneof: written even when the value is the default */
    case OTELC_ATTR_STRING: pbw_bytes(w, F_ANY_STRING, a[i].v.s, a[i].vlen); break;
    case OTELC_ATTR_INT: pbw_varint(w, F_ANY_INT, (uint64_t)a[i].v.i); break;
    case OTELC_ATTR_DOUBLE: pbw_double(w, F_ANY_DOUBLE, a[i].v.d); break;
    default: pbw_varint(w, F_ANY_BOOL, a[i].v.b ? 1 : 0); break;
    }
    pbw_end(w, any);
    pbw_end(w, kv);
  }
}

/* ---- sums and gauges ---------------------------------------------------------------------------------- */

static void number_point(collect_ctx *c, const otelc_instrument *in, const otelc_srec *s, bool is_double,
                         uint64_t bits, uint64_t start) {
  pbw *w = c->w;
  pbw_mark pt = pbw_begin(w, F_DATA_POINTS, SMALL);
  pbw_fixed64_nz(w, F_NDP_START, start);
  pbw_fixed64_nz(w, F_NDP_TIME, c->now);
  if (is_double) pbw_fixed64(w, F_NDP_AS_DOUBLE, bits); /* the value is a oneof: always written */
  else pbw_fixed64(w, F_NDP_AS_INT, bits);               /* sfixed64 */
  write_attrs(c, F_NDP_ATTRIBUTES, in, s);
  pbw_end(w, pt);
}

/* Writes the point of one sum/gauge series; false when it has nothing to report. */
static bool sum_or_gauge_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  bool is_double = in->agg == OTELC_AGG_SUM_F64 || in->agg == OTELC_AGG_GAUGE_F64;
  uint32_t epoch = c->p->epoch;
  if (in->agg == OTELC_AGG_GAUGE_I64 || in->agg == OTELC_AGG_GAUGE_F64) {
    uint32_t t = atomic_load_explicit(&s->touched, memory_order_acquire);
    if (in->observable ? t != epoch : t == 0) return false;
    number_point(c, in, s, is_double, atomic_load_explicit(&s->value, memory_order_relaxed), 0);
    return true;
  }
  uint64_t total;
  if (in->observable) {
    if (atomic_load_explicit(&s->touched, memory_order_relaxed) != epoch) return false;
    total = atomic_load_explicit(&s->value, memory_order_relaxed);
  } else {
    total = otelc_series_total(in, s);
  }
  uint64_t out;
  if (is_double) {
    out = d2u(in->delta || !in->observable ? u2d(total) - u2d(s->prev) : u2d(total));
  } else {
    out = in->delta || !in->observable ? total - s->prev : total;
  }
  if (in->delta) {
    if (!in->observable && out == 0) return false; /* no measurement in this interval */
    s->prev = total;
    number_point(c, in, s, is_double, out, c->delta_start);
    return true;
  }
  number_point(c, in, s, is_double, out, c->p->start_ns);
  return true;
}

/* ---- explicit-bucket histograms ------------------------------------------------------------------------ */

static bool hist_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  otelc_hist_cells *cells = otelc_hist_area(s);
  size_t nb = in->n_bounds + 1;
  uint64_t *prev = otelc_hist_prev(in, s);
  double prev_sum;
  memcpy(&prev_sum, &prev[nb], sizeof prev_sum);
  uint64_t *counts = c->scratch;
  uint64_t count = 0;
  double sum_total;
  otelc_hist_totals(in, s, counts, &sum_total); /* the shared cells and exclusive handles' own cells */
  for (size_t i = 0; i < nb; i++) {
    uint64_t cur = counts[i];
    counts[i] = cur - prev[i];
    count += counts[i];
    if (in->delta) prev[i] = cur;
  }
  double sum = sum_total - prev_sum;
  if (in->delta) memcpy(&prev[nb], &sum_total, sizeof sum_total);
  if (count == 0 && in->delta) return false;
  /* (a cumulative series with nothing recorded since the fork base is still reported) */
  double mn, mx;
  if (in->delta) {
    mn = u2d(atomic_exchange_explicit(&cells->min_bits, d2u(INFINITY), memory_order_relaxed));
    mx = u2d(atomic_exchange_explicit(&cells->max_bits, d2u(-INFINITY), memory_order_relaxed));
  } else {
    mn = u2d(atomic_load_explicit(&cells->min_bits, memory_order_relaxed));
    mx = u2d(atomic_load_explicit(&cells->max_bits, memory_order_relaxed));
  }
  pbw *w = c->w;
  pbw_mark pt = pbw_begin(w, F_DATA_POINTS, nb > 8 ? 2 : SMALL);
  pbw_fixed64_nz(w, F_HDP_START, in->delta ? c->delta_start : c->p->start_ns);
  pbw_fixed64_nz(w, F_HDP_TIME, c->now);
  pbw_fixed64_nz(w, F_HDP_COUNT, count);
  pbw_double(w, F_HDP_SUM, sum); /* optional: present */
  pbw_packed_fixed64(w, F_HDP_BUCKET_COUNTS, counts, nb);
  pbw_packed_double(w, F_HDP_EXPLICIT_BOUNDS, in->bounds, in->n_bounds);
  write_attrs(c, F_HDP_ATTRIBUTES, in, s);
  if (count > 0 && mn <= mx) {
    pbw_double(w, F_HDP_MIN, mn);
    pbw_double(w, F_HDP_MAX, mx);
  }
  pbw_end(w, pt);
  return true;
}

/* ---- exponential histograms ---------------------------------------------------------------------------- */

static void exp_buckets(collect_ctx *c, uint32_t field, const otelc_exphist *h, const otelc_exp_buckets *b,
                        uint64_t *scratch) {
  pbw_mark m = pbw_begin(c->w, field, h->max_size > 16 ? 2 : SMALL); /* always present, possibly empty */
  if (b->used) {
    int32_t offset;
    size_t n = otelc_exp_buckets_export(h, b, &offset, scratch);
    pbw_sint32_nz(c->w, F_BUCKETS_OFFSET, offset);
    pbw_packed_varint(c->w, F_BUCKETS_COUNTS, scratch, n);
  }
  pbw_end(c->w, m);
}

static bool exp_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  otelc_exp_cells *cells = otelc_exp_area(s);
  /* Move the live histogram out under its lock (one copy + reset), then work on the copy. */
  otelc_exphist snap;
  uint64_t *scratch = c->scratch;
  otelc_exphist_init(&snap, in->exp_max_size, in->exp_max_scale, c->exp_storage);
  while (atomic_exchange_explicit(&cells->lock, 1, memory_order_acquire)) {
  }
  otelc_exphist_copy(&snap, &cells->live);
  otelc_exphist_reset(&cells->live, in->exp_max_scale);
  atomic_store_explicit(&cells->lock, 0, memory_order_release);

  const otelc_exphist *h = &snap;
  if (!in->delta) {
    otelc_exphist_merge(&cells->cum, &snap);
    h = &cells->cum;
  }
  if (h->count == 0) return false;
  pbw *w = c->w;
  pbw_mark pt = pbw_begin(w, F_DATA_POINTS, 2);
  write_attrs(c, F_EDP_ATTRIBUTES, in, s);
  pbw_fixed64_nz(w, F_EDP_START, in->delta ? c->delta_start : c->p->start_ns);
  pbw_fixed64_nz(w, F_EDP_TIME, c->now);
  pbw_fixed64_nz(w, F_EDP_COUNT, h->count);
  pbw_double(w, F_EDP_SUM, h->sum); /* optional: present */
  pbw_sint32_nz(w, F_EDP_SCALE, h->scale);
  pbw_fixed64_nz(w, F_EDP_ZERO_COUNT, h->zero_count);
  exp_buckets(c, F_EDP_POSITIVE, h, &h->pos, scratch);
  exp_buckets(c, F_EDP_NEGATIVE, h, &h->neg, scratch);
  pbw_double(w, F_EDP_MIN, h->min);
  pbw_double(w, F_EDP_MAX, h->max);
  /* zero_threshold is 0: omitted */
  pbw_end(w, pt);
  return true;
}

/* ---- metrics ------------------------------------------------------------------------------------------- */

/* Writes one Metric (field 2 of ScopeMetrics); writes nothing when no series has a point. */
static void collect_instrument(collect_ctx *c, otelc_instrument *in, size_t *n_metrics, size_t *n_points) {
  if (in->agg == OTELC_AGG_DROP) return;
  if (in->observable) {
    otelc_observer obs = {.inst = in, .epoch = c->p->epoch};
    in->cb(&obs, in->cb_user);
  }
  if (in->agg == OTELC_AGG_HISTOGRAM) {
    c->scratch = alloc(c, (in->n_bounds + 1) * sizeof(uint64_t));
  } else if (in->agg == OTELC_AGG_EXP_HISTOGRAM) {
    c->scratch = alloc(c, (size_t)in->exp_max_size * sizeof(uint64_t));
    c->exp_storage = alloc(c, otelc_exphist_storage(in->exp_max_size));
  }
  if (c->oom) return;
  pbw *w = c->w;
  size_t start = pbw_pos(w);
  pbw_mark metric = pbw_begin(w, F_SM_METRICS, LARGE);
  pbw_string_nz(w, F_METRIC_NAME, in->name);
  pbw_string_nz(w, F_METRIC_DESCRIPTION, in->description);
  pbw_string_nz(w, F_METRIC_UNIT, in->unit);
  uint32_t data_field;
  switch (in->agg) {
  case OTELC_AGG_SUM_I64:
  case OTELC_AGG_SUM_F64: data_field = F_METRIC_SUM; break;
  case OTELC_AGG_GAUGE_I64:
  case OTELC_AGG_GAUGE_F64: data_field = F_METRIC_GAUGE; break;
  case OTELC_AGG_HISTOGRAM: data_field = F_METRIC_HISTOGRAM; break;
  default: data_field = F_METRIC_EXP_HISTOGRAM; break;
  }
  pbw_mark data = pbw_begin(w, data_field, LARGE);
  /* Series created while we walk are picked up next time (their cells start at zero). */
  size_t cap = atomic_load_explicit(&in->n_series, memory_order_acquire) + 1;
  size_t n = 0, seen = 0;
  for (otelc_srec *s = atomic_load_explicit(&in->head, memory_order_acquire); s && seen < cap;
       s = atomic_load_explicit(&s->next, memory_order_acquire), seen++) {
    bool wrote;
    switch (in->agg) {
    case OTELC_AGG_HISTOGRAM: wrote = hist_point(c, in, s); break;
    case OTELC_AGG_EXP_HISTOGRAM: wrote = exp_point(c, in, s); break;
    default: wrote = sum_or_gauge_point(c, in, s); break;
    }
    if (wrote) n++;
    if (c->oom) return;
  }
  if (n == 0) {
    pbw_truncate(w, start);
    return;
  }
  uint64_t temp = in->delta ? OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
                            : OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  if (data_field != F_METRIC_GAUGE) pbw_varint_nz(w, F_AGG_TEMPORALITY, temp);
  if (data_field == F_METRIC_SUM) pbw_varint_nz(w, F_SUM_IS_MONOTONIC, in->monotonic);
  pbw_end(w, data);
  pbw_end(w, metric);
  *n_points += n;
  ++*n_metrics;
}

/* Appends the resource (field 1 of ResourceMetrics), packed by protobuf-c: small, and built elsewhere. */
static void write_resource(pbw *w, const otlp_resource *r) {
  size_t n = opentelemetry__proto__resource__v1__resource__get_packed_size(r);
  if (!pbw_room(w, 20 + n)) return;
  pbw_put_varint(w, pbw_tag(F_RM_RESOURCE, PBW_LEN));
  pbw_put_varint(w, n);
  w->b->len += opentelemetry__proto__resource__v1__resource__pack(r, w->b->data + w->b->len);
}

int otelc_collect(otelc_meter_provider *p, wire_buf *out, size_t *n_metrics, size_t *n_points) {
  *n_metrics = *n_points = 0;
  otelc_arena_reset(&p->arena);
  wire_err err;
  wire_err_clear(&err);
  pbw w;
  pbw_init(&w, out, &err);
  collect_ctx c = {.p = p, .a = &p->arena, .w = &w, .now = wire_wall_ns(), .delta_start = p->last_collect_ns};
  if (++p->epoch == 0) p->epoch = 1;

  size_t start = pbw_pos(&w);
  pbw_mark rm = pbw_begin(&w, F_REQUEST_RESOURCE_METRICS, LARGE);
  if (p->resource_pb) write_resource(&w, p->resource_pb);
  for (otelc_meter *m = atomic_load_explicit(&p->meters, memory_order_acquire); m;
       m = atomic_load_explicit(&m->next, memory_order_acquire)) {
    size_t scope_start = pbw_pos(&w);
    size_t metrics_before = *n_metrics;
    pbw_mark sm = pbw_begin(&w, F_RM_SCOPE_METRICS, LARGE);
    pbw_mark scope = pbw_begin(&w, F_SM_SCOPE, SMALL);
    pbw_string_nz(&w, F_SCOPE_NAME, m->name);
    pbw_string_nz(&w, F_SCOPE_VERSION, m->version);
    pbw_end(&w, scope);
    for (otelc_instrument *in = atomic_load_explicit(&m->instruments, memory_order_acquire); in;
         in = atomic_load_explicit(&in->next, memory_order_acquire)) {
      collect_instrument(&c, in, n_metrics, n_points);
      if (c.oom) goto oom;
    }
    if (*n_metrics == metrics_before) {
      pbw_truncate(&w, scope_start);
      continue;
    }
    pbw_string_nz(&w, F_SM_SCHEMA_URL, m->schema_url);
    pbw_end(&w, sm);
  }
  pbw_end(&w, rm);
  if (!pbw_ok(&w)) goto oom;
  p->last_collect_ns = c.now;
  return 0;
oom:
  OTELC_ERROR("out of memory during collection; this export is skipped");
  pbw_truncate(&w, start);
  p->last_collect_ns = c.now;
  return -1;
}
