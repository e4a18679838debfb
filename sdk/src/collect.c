/* collect.c — one collection: run observable callbacks, read every series, and build the OTLP
 * ExportMetricsServiceRequest as protobuf-c structs in the provider's per-collection arena.
 *
 * Reading is lock-free except for exponential histograms (their per-series spinlock, held for one copy).
 * Sums never reset their cells: a delta point is `total - prev` and `prev` moves on; a cumulative point is
 * `total - prev` where `prev` is the fork base (zero unless this process is a forked child). Explicit
 * histograms do the same per bucket; their min/max are swapped out for delta. Strings (names, attribute keys
 * and values) are referenced, not copied: they live as long as the provider. */
#include <math.h>
#include <string.h>

#include "sdk/src/internal.h"
#include "sdk/src/log.h"
#include "wire/clock.h"

static inline uint64_t d2u(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
static inline double u2d(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

typedef struct collect_ctx {
  otelc_meter_provider *p;
  otelc_arena *a;
  uint64_t now, delta_start;
  bool oom;
} collect_ctx;

static void *alloc(collect_ctx *c, size_t n) {
  void *p = otelc_arena_alloc(c->a, n);
  if (!p) c->oom = true;
  return p;
}

/* The attributes of a series as KeyValues (one arena block for the pointers, pairs and values). */
static otlp_kv **series_attrs(collect_ctx *c, const otelc_instrument *in, const otelc_srec *s) {
  if (s->n_attrs == 0) return NULL;
  size_t n = s->n_attrs;
  char *block = alloc(c, n * (sizeof(otlp_kv *) + sizeof(otlp_kv) + sizeof(otlp_any)));
  if (!block) return NULL;
  otlp_kv **ptrs = (otlp_kv **)block;
  otlp_kv *kvs = (otlp_kv *)(block + n * sizeof(otlp_kv *));
  otlp_any *vals = (otlp_any *)(kvs + n);
  static const otlp_kv kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
  static const otlp_any any_init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  for (size_t i = 0; i < n; i++) {
    const otelc_sattr *a = &otelc_srec_attrs(in, s)[i];
    kvs[i] = kv_init;
    vals[i] = any_init;
    kvs[i].key = (char *)a->key;
    kvs[i].value = &vals[i];
    switch (a->type) {
    case OTELC_ATTR_STRING:
      vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
      vals[i].string_value = (char *)a->v.s;
      break;
    case OTELC_ATTR_INT:
      vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
      vals[i].int_value = a->v.i;
      break;
    case OTELC_ATTR_DOUBLE:
      vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
      vals[i].double_value = a->v.d;
      break;
    default:
      vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
      vals[i].bool_value = a->v.b;
      break;
    }
    ptrs[i] = &kvs[i];
  }
  return ptrs;
}

/* ---- sums and gauges ---------------------------------------------------------------------------------- */

static otlp_number_point *number_point(collect_ctx *c, const otelc_instrument *in, const otelc_srec *s,
                                       bool is_double, uint64_t bits,
                                       uint64_t start) {
  otlp_number_point *pt = alloc(c, sizeof *pt);
  if (!pt) return NULL;
  static const otlp_number_point init = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
  *pt = init;
  pt->attributes = series_attrs(c, in, s);
  pt->n_attributes = pt->attributes ? s->n_attrs : 0;
  pt->start_time_unix_nano = start;
  pt->time_unix_nano = c->now;
  if (is_double) {
    pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    pt->as_double = u2d(bits);
  } else {
    pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    pt->as_int = (int64_t)bits;
  }
  return pt;
}

/* Returns the point for one sum/gauge series, or NULL when it has nothing to report. */
static otlp_number_point *sum_or_gauge_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  bool is_double = in->agg == OTELC_AGG_SUM_F64 || in->agg == OTELC_AGG_GAUGE_F64;
  uint32_t epoch = c->p->epoch;
  if (in->agg == OTELC_AGG_GAUGE_I64 || in->agg == OTELC_AGG_GAUGE_F64) {
    uint32_t t = atomic_load_explicit(&s->touched, memory_order_acquire);
    if (in->observable ? t != epoch : t == 0) return NULL;
    return number_point(c, in, s, is_double, atomic_load_explicit(&s->value, memory_order_relaxed), 0);
  }
  uint64_t total;
  if (in->observable) {
    if (atomic_load_explicit(&s->touched, memory_order_relaxed) != epoch) return NULL;
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
    if (!in->observable && out == 0) return NULL; /* no measurement in this interval */
    s->prev = total;
    return number_point(c, in, s, is_double, out, c->delta_start);
  }
  return number_point(c, in, s, is_double, out, c->p->start_ns);
}

/* ---- explicit-bucket histograms ------------------------------------------------------------------------ */

static otlp_histogram_point *hist_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  otelc_hist_cells *cells = otelc_hist_area(s);
  size_t nb = in->n_bounds + 1;
  uint64_t *prev = otelc_hist_prev(in, s);
  double prev_sum;
  memcpy(&prev_sum, &prev[nb], sizeof prev_sum);
  uint64_t *counts = alloc(c, nb * sizeof(uint64_t));
  if (!counts) return NULL;
  uint64_t count = 0;
  for (size_t i = 0; i < nb; i++) {
    uint64_t cur = atomic_load_explicit(&cells->buckets[i], memory_order_relaxed);
    counts[i] = cur - prev[i];
    count += counts[i];
    if (in->delta) prev[i] = cur;
  }
  double sum_total = u2d(atomic_load_explicit(&cells->sum_bits, memory_order_relaxed));
  double sum = sum_total - prev_sum;
  if (in->delta) memcpy(&prev[nb], &sum_total, sizeof sum_total);
  if (count == 0) {
    if (in->delta) return NULL;
    /* a cumulative series with nothing recorded since the fork base: still report it */
  }
  double mn, mx;
  if (in->delta) {
    mn = u2d(atomic_exchange_explicit(&cells->min_bits, d2u(INFINITY), memory_order_relaxed));
    mx = u2d(atomic_exchange_explicit(&cells->max_bits, d2u(-INFINITY), memory_order_relaxed));
  } else {
    mn = u2d(atomic_load_explicit(&cells->min_bits, memory_order_relaxed));
    mx = u2d(atomic_load_explicit(&cells->max_bits, memory_order_relaxed));
  }
  otlp_histogram_point *pt = alloc(c, sizeof *pt);
  if (!pt) return NULL;
  static const otlp_histogram_point init = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
  *pt = init;
  pt->attributes = series_attrs(c, in, s);
  pt->n_attributes = pt->attributes ? s->n_attrs : 0;
  pt->start_time_unix_nano = in->delta ? c->delta_start : c->p->start_ns;
  pt->time_unix_nano = c->now;
  pt->count = count;
  pt->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  pt->sum = sum;
  pt->n_bucket_counts = nb;
  pt->bucket_counts = counts;
  pt->n_explicit_bounds = in->n_bounds;
  pt->explicit_bounds = in->bounds;
  if (count > 0 && mn <= mx) {
    pt->min_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
    pt->min = mn;
    pt->max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
    pt->max = mx;
  }
  return pt;
}

/* ---- exponential histograms ---------------------------------------------------------------------------- */

static otlp_exp_buckets *exp_buckets(collect_ctx *c, const otelc_exphist *h, const otelc_exp_buckets *b) {
  otlp_exp_buckets *out = alloc(c, sizeof *out);
  if (!out) return NULL;
  opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(out);
  if (!b->used) return out;
  uint64_t *counts = alloc(c, (size_t)h->max_size * sizeof(uint64_t));
  if (!counts) return NULL;
  int32_t offset;
  out->n_bucket_counts = otelc_exp_buckets_export(h, b, &offset, counts);
  out->bucket_counts = counts;
  out->offset = offset;
  return out;
}

static otlp_exp_histogram_point *exp_point(collect_ctx *c, otelc_instrument *in, otelc_srec *s) {
  otelc_exp_cells *cells = otelc_exp_area(s);
  /* Move the live histogram out under its lock (one copy + reset), then work on the copy. */
  otelc_exphist snap;
  uint64_t *storage = alloc(c, otelc_exphist_storage(in->exp_max_size));
  if (!storage) return NULL;
  otelc_exphist_init(&snap, in->exp_max_size, in->exp_max_scale, storage);
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
  if (h->count == 0) return NULL;
  otlp_exp_histogram_point *pt = alloc(c, sizeof *pt);
  if (!pt) return NULL;
  static const otlp_exp_histogram_point init = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT;
  *pt = init;
  pt->attributes = series_attrs(c, in, s);
  pt->n_attributes = pt->attributes ? s->n_attrs : 0;
  pt->start_time_unix_nano = in->delta ? c->delta_start : c->p->start_ns;
  pt->time_unix_nano = c->now;
  pt->count = h->count;
  pt->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  pt->sum = h->sum;
  pt->scale = h->scale;
  pt->zero_count = h->zero_count;
  pt->zero_threshold = 0;
  pt->positive = exp_buckets(c, h, &h->pos);
  pt->negative = exp_buckets(c, h, &h->neg);
  if (!pt->positive || !pt->negative) return NULL;
  pt->min_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
  pt->min = h->min;
  pt->max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
  pt->max = h->max;
  return pt;
}

/* ---- metrics ------------------------------------------------------------------------------------------- */

static otlp_metric *collect_instrument(collect_ctx *c, otelc_instrument *in, size_t *n_points) {
  if (in->agg == OTELC_AGG_DROP) return NULL;
  if (in->observable) {
    otelc_observer obs = {.inst = in, .epoch = c->p->epoch};
    in->cb(&obs, in->cb_user);
  }
  /* Series created while we walk are picked up next time (their cells start at zero). */
  size_t cap = atomic_load_explicit(&in->n_series, memory_order_acquire) + 1;
  void **points = alloc(c, cap * sizeof(void *));
  if (!points) return NULL;
  size_t n = 0;
  for (otelc_srec *s = atomic_load_explicit(&in->head, memory_order_acquire); s && n < cap;
       s = atomic_load_explicit(&s->next, memory_order_acquire)) {
    void *pt;
    switch (in->agg) {
    case OTELC_AGG_HISTOGRAM: pt = hist_point(c, in, s); break;
    case OTELC_AGG_EXP_HISTOGRAM: pt = exp_point(c, in, s); break;
    default: pt = sum_or_gauge_point(c, in, s); break;
    }
    if (pt) points[n++] = pt;
    if (c->oom) return NULL;
  }
  if (n == 0) return NULL;
  otlp_metric *m = alloc(c, sizeof *m);
  if (!m) return NULL;
  static const otlp_metric minit = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
  *m = minit;
  m->name = in->name;
  m->description = in->description;
  m->unit = in->unit;
  Opentelemetry__Proto__Metrics__V1__AggregationTemporality temp =
      in->delta ? OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
                : OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  switch (in->agg) {
  case OTELC_AGG_SUM_I64:
  case OTELC_AGG_SUM_F64: {
    otlp_sum *sum = alloc(c, sizeof *sum);
    if (!sum) return NULL;
    opentelemetry__proto__metrics__v1__sum__init(sum);
    sum->aggregation_temporality = temp;
    sum->is_monotonic = in->monotonic;
    sum->n_data_points = n;
    sum->data_points = (otlp_number_point **)points;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum = sum;
    break;
  }
  case OTELC_AGG_GAUGE_I64:
  case OTELC_AGG_GAUGE_F64: {
    otlp_gauge *g = alloc(c, sizeof *g);
    if (!g) return NULL;
    opentelemetry__proto__metrics__v1__gauge__init(g);
    g->n_data_points = n;
    g->data_points = (otlp_number_point **)points;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = g;
    break;
  }
  case OTELC_AGG_HISTOGRAM: {
    otlp_histogram *h = alloc(c, sizeof *h);
    if (!h) return NULL;
    opentelemetry__proto__metrics__v1__histogram__init(h);
    h->aggregation_temporality = temp;
    h->n_data_points = n;
    h->data_points = (otlp_histogram_point **)points;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m->histogram = h;
    break;
  }
  case OTELC_AGG_EXP_HISTOGRAM: {
    otlp_exp_histogram *h = alloc(c, sizeof *h);
    if (!h) return NULL;
    opentelemetry__proto__metrics__v1__exponential_histogram__init(h);
    h->aggregation_temporality = temp;
    h->n_data_points = n;
    h->data_points = (otlp_exp_histogram_point **)points;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    m->exponential_histogram = h;
    break;
  }
  default:
    return NULL;
  }
  *n_points += n;
  return m;
}

otlp_request *otelc_collect(otelc_meter_provider *p, size_t *n_metrics, size_t *n_points) {
  *n_metrics = *n_points = 0;
  otelc_arena_reset(&p->arena);
  collect_ctx c = {.p = p, .a = &p->arena, .now = wire_wall_ns(), .delta_start = p->last_collect_ns};
  if (++p->epoch == 0) p->epoch = 1;

  size_t n_meters = 0;
  for (otelc_meter *m = atomic_load_explicit(&p->meters, memory_order_acquire); m;
       m = atomic_load_explicit(&m->next, memory_order_acquire))
    n_meters++;
  otlp_scope_metrics **scopes = alloc(&c, (n_meters + 1) * sizeof *scopes);
  if (!scopes) goto oom;
  size_t n_scopes = 0;
  for (otelc_meter *m = atomic_load_explicit(&p->meters, memory_order_acquire); m && n_scopes < n_meters;
       m = atomic_load_explicit(&m->next, memory_order_acquire)) {
    size_t n_inst = 0;
    for (otelc_instrument *in = atomic_load_explicit(&m->instruments, memory_order_acquire); in;
         in = atomic_load_explicit(&in->next, memory_order_acquire))
      n_inst++;
    if (n_inst == 0) continue;
    otlp_metric **metrics = alloc(&c, n_inst * sizeof *metrics);
    if (!metrics) goto oom;
    size_t nm = 0;
    for (otelc_instrument *in = atomic_load_explicit(&m->instruments, memory_order_acquire); in && nm < n_inst;
         in = atomic_load_explicit(&in->next, memory_order_acquire)) {
      otlp_metric *mt = collect_instrument(&c, in, n_points);
      if (c.oom) goto oom;
      if (mt) metrics[nm++] = mt;
    }
    if (nm == 0) continue;
    otlp_scope_metrics *sm = alloc(&c, sizeof *sm);
    otlp_scope *scope = alloc(&c, sizeof *scope);
    if (!sm || !scope) goto oom;
    opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
    opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
    scope->name = m->name;
    scope->version = m->version;
    sm->scope = scope;
    sm->schema_url = m->schema_url;
    sm->n_metrics = nm;
    sm->metrics = metrics;
    scopes[n_scopes++] = sm;
    *n_metrics += nm;
  }
  otlp_resource_metrics *rm = alloc(&c, sizeof *rm);
  otlp_resource_metrics **rms = alloc(&c, sizeof *rms);
  otlp_request *req = alloc(&c, sizeof *req);
  if (!rm || !rms || !req) goto oom;
  opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
  rm->resource = p->resource_pb;
  rm->n_scope_metrics = n_scopes;
  rm->scope_metrics = scopes;
  opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(req);
  req->n_resource_metrics = 1;
  req->resource_metrics = rms;
  rms[0] = rm;
  p->last_collect_ns = c.now;
  return req;
oom:
  OTELC_ERROR("out of memory during collection; this export is skipped");
  p->last_collect_ns = c.now;
  return NULL;
}
