/* test_prom_store.c — the Prometheus exporter's series store (receiver/exporters/prom_store.h): every translation
 * rule checked against exact exposition text, delta→cumulative accumulation, expiration, target_info, exponential →
 * explicit buckets, escaping, name collisions, OpenMetrics, and an end-to-end `promtool check metrics` run. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "receiver/exporters/prom_store.h"
#include "testlib.h"

/* ---- a small OTLP builder: everything allocated here is freed by arena_reset() ---------------------------------- */

typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AV;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDP;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistDP;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint ExpDP;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint SummaryDP;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics RM;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics SM;

#define DELTA OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
#define CUMULATIVE OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define UNSPECIFIED OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_UNSPECIFIED

static void **arena;
static size_t arena_n, arena_cap;

static void *A(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (arena_n == arena_cap) {
    arena_cap = arena_cap ? arena_cap * 2 : 256;
    arena = realloc(arena, arena_cap * sizeof *arena);
  }
  arena[arena_n++] = p;
  return p;
}

static void arena_reset(void) {
  for (size_t i = 0; i < arena_n; i++) free(arena[i]);
  arena_n = 0;
}

/* NULL-terminated varargs → array */
static void **vec(size_t *n, va_list ap) {
  void *items[64];
  size_t k = 0;
  for (void *p; (p = va_arg(ap, void *)) != NULL && k < 64;) items[k++] = p;
  void **out = A(k * sizeof *out);
  memcpy(out, items, k * sizeof *out);
  *n = k;
  return out;
}

/* An AnyValue of the given case; the caller sets its value. */
static AV *av(Opentelemetry__Proto__Common__V1__AnyValue__ValueCase value_case) {
  AV *v = A(sizeof *v);
  opentelemetry__proto__common__v1__any_value__init(v);
  v->value_case = value_case;
  return v;
}

static KV *kv(const char *k, AV *v) {
  KV *p = A(sizeof *p);
  opentelemetry__proto__common__v1__key_value__init(p);
  p->key = (char *)k;
  p->value = v;
  return p;
}

static KV *S(const char *k, const char *s) {
  AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
  v->string_value = (char *)s;
  return kv(k, v);
}

static KV *I(const char *k, int64_t i) {
  AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
  v->int_value = i;
  return kv(k, v);
}

static KV *D(const char *k, double d) {
  AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
  v->double_value = d;
  return kv(k, v);
}

static KV *B(const char *k, bool b) {
  AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
  v->bool_value = b;
  return kv(k, v);
}

/* attrs(k1, k2, ..., NULL) */
typedef struct attrs {
  KV **kv;
  size_t n;
} attrs;

static attrs AT(KV *first, ...) {
  attrs a = {NULL, 0};
  if (!first) return a;
  va_list ap;
  va_start(ap, first);
  void *items[64];
  size_t k = 0;
  items[k++] = first;
  for (void *p; (p = va_arg(ap, void *)) != NULL && k < 64;) items[k++] = p;
  va_end(ap);
  a.kv = A(k * sizeof *a.kv);
  memcpy(a.kv, items, k * sizeof *a.kv);
  a.n = k;
  return a;
}

static const attrs NOATTRS = {NULL, 0};

static NumberDP *num_i(int64_t v, uint64_t start, uint64_t t, attrs at) {
  NumberDP *p = A(sizeof *p);
  opentelemetry__proto__metrics__v1__number_data_point__init(p);
  p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
  p->as_int = v;
  p->start_time_unix_nano = start;
  p->time_unix_nano = t;
  p->attributes = at.kv;
  p->n_attributes = at.n;
  return p;
}

static NumberDP *num_d(double v, uint64_t start, uint64_t t, attrs at) {
  NumberDP *p = num_i(0, start, t, at);
  p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
  p->as_double = v;
  return p;
}

static Metric *metric(const char *name, const char *unit, const char *desc, Opentelemetry__Proto__Metrics__V1__Metric__DataCase data) {
  Metric *m = A(sizeof *m);
  opentelemetry__proto__metrics__v1__metric__init(m);
  m->name = (char *)name;
  m->unit = (char *)unit;
  m->description = (char *)desc;
  m->data_case = data;
  return m;
}

/* Sets holder->data_points from the NULL-terminated arguments that follow `last` in the enclosing function. */
#define TAKE_POINTS(last, holder)                                           \
  do {                                                                      \
    va_list ap_;                                                            \
    va_start(ap_, last);                                                    \
    (holder)->data_points = (void *)vec(&(holder)->n_data_points, ap_);     \
    va_end(ap_);                                                            \
  } while (0)

static Metric *gauge(const char *name, const char *unit, const char *desc, ...) {
  Metric *m = metric(name, unit, desc, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
  m->gauge = A(sizeof *m->gauge);
  opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
  TAKE_POINTS(desc, m->gauge);
  return m;
}

static Metric *sum(const char *name, const char *unit, const char *desc, bool monotonic, int temporality, ...) {
  Metric *m = metric(name, unit, desc, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
  m->sum = A(sizeof *m->sum);
  opentelemetry__proto__metrics__v1__sum__init(m->sum);
  m->sum->is_monotonic = monotonic;
  m->sum->aggregation_temporality = temporality;
  TAKE_POINTS(temporality, m->sum);
  return m;
}

static HistDP *hist_dp(uint64_t start, uint64_t t, attrs at, uint64_t count, double s, size_t nb, const double *bounds,
                       const uint64_t *counts) {
  HistDP *p = A(sizeof *p);
  opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
  p->start_time_unix_nano = start;
  p->time_unix_nano = t;
  p->attributes = at.kv;
  p->n_attributes = at.n;
  p->count = count;
  p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p->sum = s;
  p->n_explicit_bounds = nb;
  p->explicit_bounds = A(nb * sizeof(double));
  memcpy(p->explicit_bounds, bounds, nb * sizeof(double));
  p->n_bucket_counts = nb + 1;
  p->bucket_counts = A((nb + 1) * sizeof(uint64_t));
  memcpy(p->bucket_counts, counts, (nb + 1) * sizeof(uint64_t));
  return p;
}

static Metric *histogram(const char *name, const char *unit, const char *desc, int temporality, ...) {
  Metric *m = metric(name, unit, desc, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
  m->histogram = A(sizeof *m->histogram);
  opentelemetry__proto__metrics__v1__histogram__init(m->histogram);
  m->histogram->aggregation_temporality = temporality;
  TAKE_POINTS(temporality, m->histogram);
  return m;
}

static Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *buckets(int32_t off, size_t n,
                                                                                         const uint64_t *c) {
  Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b = A(sizeof *b);
  opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(b);
  b->offset = off;
  b->n_bucket_counts = n;
  b->bucket_counts = A(n * sizeof(uint64_t));
  memcpy(b->bucket_counts, c, n * sizeof(uint64_t));
  return b;
}

static ExpDP *exp_dp(uint64_t start, uint64_t t, attrs at, int32_t scale, uint64_t count, double s,
                     uint64_t zero_count, double zt) {
  ExpDP *p = A(sizeof *p);
  opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(p);
  p->start_time_unix_nano = start;
  p->time_unix_nano = t;
  p->attributes = at.kv;
  p->n_attributes = at.n;
  p->scale = scale;
  p->count = count;
  p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p->sum = s;
  p->zero_count = zero_count;
  p->zero_threshold = zt;
  return p;
}

static Metric *exphist(const char *name, const char *unit, const char *desc, int temporality, ...) {
  Metric *m = metric(name, unit, desc, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM);
  Opentelemetry__Proto__Metrics__V1__ExponentialHistogram *h = m->exponential_histogram = A(sizeof *h);
  opentelemetry__proto__metrics__v1__exponential_histogram__init(h);
  h->aggregation_temporality = temporality;
  TAKE_POINTS(temporality, h);
  return m;
}

static SummaryDP *summary_dp(uint64_t t, attrs at, uint64_t count, double s, size_t nq, const double *qv) {
  SummaryDP *p = A(sizeof *p);
  opentelemetry__proto__metrics__v1__summary_data_point__init(p);
  p->time_unix_nano = t;
  p->attributes = at.kv;
  p->n_attributes = at.n;
  p->count = count;
  p->sum = s;
  p->n_quantile_values = nq;
  p->quantile_values = A(nq * sizeof *p->quantile_values);
  for (size_t i = 0; i < nq; i++) {
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q = A(sizeof *q);
    opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__init(q);
    q->quantile = qv[2 * i];
    q->value = qv[2 * i + 1];
    p->quantile_values[i] = q;
  }
  return p;
}

static Metric *summary(const char *name, const char *unit, const char *desc, ...) {
  Metric *m = metric(name, unit, desc, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY);
  m->summary = A(sizeof *m->summary);
  opentelemetry__proto__metrics__v1__summary__init(m->summary);
  TAKE_POINTS(desc, m->summary);
  return m;
}

static SM *scope(const char *name, const char *version, attrs at, ...) {
  SM *sm = A(sizeof *sm);
  opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
  if (name) {
    sm->scope = A(sizeof *sm->scope);
    opentelemetry__proto__common__v1__instrumentation_scope__init(sm->scope);
    sm->scope->name = (char *)name;
    sm->scope->version = (char *)(version ? version : "");
    sm->scope->attributes = at.kv;
    sm->scope->n_attributes = at.n;
  }
  va_list ap;
  va_start(ap, at);
  sm->metrics = (Metric **)vec(&sm->n_metrics, ap);
  va_end(ap);
  return sm;
}

static RM *resource(attrs at, ...) {
  RM *rm = A(sizeof *rm);
  opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
  rm->resource = A(sizeof *rm->resource);
  opentelemetry__proto__resource__v1__resource__init(rm->resource);
  rm->resource->attributes = at.kv;
  rm->resource->n_attributes = at.n;
  va_list ap;
  va_start(ap, at);
  rm->scope_metrics = (SM **)vec(&rm->n_scope_metrics, ap);
  va_end(ap);
  return rm;
}

/* ---- helpers ------------------------------------------------------------------------------------------------------- */

static int64_t fake_now;
static int64_t fake_clock(void *ud) {
  (void)ud;
  return fake_now;
}

static prom_store *store_with(void (*tweak)(prom_store_config *)) {
  prom_store_config c;
  prom_store_config_init(&c);
  if (tweak) tweak(&c);
  wire_err err = {0};
  prom_store *s = prom_store_new(&c, &err);
  CHECK_MSG(s != NULL, "prom_store_new: %s", err.msg);
  fake_now = 1000;
  prom_store_set_clock(s, fake_clock, NULL);
  return s;
}

static prom_consume_result feed(prom_store *s, RM *rm) {
  prom_consume_result r;
  prom_store_consume(s, &rm, 1, &r);
  return r;
}

/* Feeds one metric with no resource and no scope. */
static prom_consume_result feed_metric(prom_store *s, Metric *m) {
  return feed(s, resource(NOATTRS, scope(NULL, NULL, NOATTRS, m, NULL), NULL));
}

static char *render(prom_store *s, prom_format f) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err = {0};
  int rc = prom_store_render(s, f, &b, &err);
  CHECK_MSG(rc == 0, "render: %s", err.msg);
  wire_buf_append(&b, "", 1, NULL);
  return (char *)b.data;
}

#define CHECK_RENDER(s, fmt, want)                                                                       \
  do {                                                                                                   \
    char *got_ = render((s), (fmt));                                                                     \
    if (strcmp(got_, (want)) != 0)                                                                       \
      test_fail(__FILE__, __LINE__, "exposition differs.\n--- got:\n%s--- want:\n%s---", got_, (want)); \
    free(got_);                                                                                          \
  } while (0)

static attrs svc_resource(void) {
  return AT(S("service.name", "checkout"), S("service.namespace", "shop"), S("service.instance.id", "pod-1"),
            S("host.name", "node-a"), NULL);
}

#define CTX "instance=\"pod-1\",job=\"shop/checkout\",otel_scope_name=\"io.test\",otel_scope_version=\"1.0\""

/* ---- tests ----------------------------------------------------------------------------------------------------------- */

static void test_gauge_counter_and_target_info(void) {
  prom_store *s = store_with(NULL);
  RM *rm = resource(svc_resource(),
                    scope("io.test", "1.0", NOATTRS,
                          gauge("system.memory.usage", "By", "Memory in use", num_i(1024, 0, 5, AT(S("state", "used"), NULL)),
                                NULL),
                          sum("http.requests", "{request}", "Requests", true, CUMULATIVE,
                              num_i(7, 1, 5, AT(S("http.method", "GET"), I("http.status_code", 200), NULL)), NULL),
                          sum("queue.length", "{item}", "", false, CUMULATIVE, num_d(2.5, 1, 5, NOATTRS), NULL), NULL),
                    NULL);
  prom_consume_result r = feed(s, rm);
  CHECK_EQ(r.accepted, 3);
  CHECK_EQ(r.dropped, 0);
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# HELP http_requests_total Requests\n"
               "# TYPE http_requests_total counter\n"
               "http_requests_total{http_method=\"GET\",http_status_code=\"200\"," CTX "} 7\n"
               "# TYPE queue_length gauge\n"
               "queue_length{" CTX "} 2.5\n"
               "# HELP system_memory_usage_bytes Memory in use\n"
               "# TYPE system_memory_usage_bytes gauge\n"
               "system_memory_usage_bytes{state=\"used\"," CTX "} 1024\n"
               "# HELP target_info Target metadata\n"
               "# TYPE target_info gauge\n"
               "target_info{host_name=\"node-a\",instance=\"pod-1\",job=\"shop/checkout\"} 1\n");
  prom_store_free(s);
  arena_reset();
}

static void open_metrics_on(prom_store_config *c) { c->enable_open_metrics = true; }

static void test_openmetrics_with_exemplars(void) {
  prom_store *s = store_with(open_metrics_on);
  NumberDP *p = num_i(7, 1, 1700000000123000000ULL, AT(S("http.method", "GET"), NULL));
  Opentelemetry__Proto__Metrics__V1__Exemplar *ex = A(sizeof *ex);
  opentelemetry__proto__metrics__v1__exemplar__init(ex);
  static uint8_t trace[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  static uint8_t span[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  ex->trace_id.data = trace, ex->trace_id.len = 16;
  ex->span_id.data = span, ex->span_id.len = 8;
  ex->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
  ex->as_double = 0.25;
  ex->time_unix_nano = 1700000000500000000ULL;
  p->exemplars = A(sizeof *p->exemplars);
  p->exemplars[0] = ex;
  p->n_exemplars = 1;
  double bounds[] = {0.1, 1};
  uint64_t counts[] = {1, 1, 1};
  HistDP *h = hist_dp(1, 1700000000123000000ULL, NOATTRS, 3, 2.6, 2, bounds, counts);
  h->exemplars = p->exemplars;
  h->n_exemplars = 1;
  RM *rm = resource(AT(S("service.name", "svc"), NULL),
                    scope("io.test", "1.0", NOATTRS, sum("http.requests", "", "Requests \"all\"", true, CUMULATIVE, p, NULL),
                          gauge("cpu.utilization", "1", "", num_d(0.5, 0, 1, NOATTRS), NULL),
                          histogram("rpc.duration", "s", "", CUMULATIVE, h, NULL), NULL),
                    NULL);
  feed(s, rm);
  const char *ctx = "job=\"svc\",otel_scope_name=\"io.test\",otel_scope_version=\"1.0\"";
  char want[4096];
  snprintf(want, sizeof want,
           "# TYPE cpu_utilization_ratio gauge\n"
           "# UNIT cpu_utilization_ratio ratio\n"
           "cpu_utilization_ratio{%s} 0.5\n"
           "# HELP http_requests Requests \\\"all\\\"\n"
           "# TYPE http_requests counter\n"
           "http_requests_total{http_method=\"GET\",%s} 7 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
           "span_id=\"00f067aa0ba902b7\"} 0.25 1700000000.500\n"
           "# TYPE rpc_duration_seconds histogram\n"
           "# UNIT rpc_duration_seconds seconds\n"
           "rpc_duration_seconds_bucket{%s,le=\"0.1\"} 1\n"
           "rpc_duration_seconds_bucket{%s,le=\"1.0\"} 2 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
           "span_id=\"00f067aa0ba902b7\"} 0.25 1700000000.500\n"
           "rpc_duration_seconds_bucket{%s,le=\"+Inf\"} 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
           "span_id=\"00f067aa0ba902b7\"} 0.25 1700000000.500\n"
           "rpc_duration_seconds_sum{%s} 2.6\n"
           "rpc_duration_seconds_count{%s} 3\n"
           "# HELP target_info Target metadata\n"
           "# TYPE target_info gauge\n"
           "target_info{job=\"svc\"} 1\n"
           "# EOF\n",
           ctx, ctx, ctx, ctx, ctx, ctx, ctx);
  CHECK_RENDER(s, PROM_FORMAT_OPENMETRICS, want);
  /* the text format never carries exemplars, and HELP keeps its quotes */
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK(strstr(text, "trace_id") == NULL);
  CHECK_CONTAINS(text, "# HELP http_requests_total Requests \"all\"\n");
  CHECK_CONTAINS(text, "rpc_duration_seconds_bucket{job=\"svc\",otel_scope_name=\"io.test\",otel_scope_version=\"1.0\",le=\"1\"} 2\n");
  CHECK(strstr(text, "# EOF") == NULL);
  free(text);
  prom_store_free(s);
  arena_reset();
}

static void test_delta_sum_accumulates(void) {
  prom_store *s = store_with(NULL);
  attrs a = AT(S("k", "v"), NULL);
  feed_metric(s, sum("jobs", "", "", true, DELTA, num_i(5, 100, 200, a), NULL));
  feed_metric(s, sum("jobs", "", "", true, DELTA, num_i(3, 200, 300, a), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE jobs_total counter\njobs_total{k=\"v\"} 8\n");
  /* a zero start time cannot be checked for alignment: it adds */
  feed_metric(s, sum("jobs", "", "", true, DELTA, num_i(2, 0, 400, a), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE jobs_total counter\njobs_total{k=\"v\"} 10\n");
  /* a later start time (a gap or a restart): the counter starts again */
  feed_metric(s, sum("jobs", "", "", true, DELTA, num_i(1, 500, 600, a), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE jobs_total counter\njobs_total{k=\"v\"} 1\n");
  /* overlapping what was counted: dropped */
  prom_consume_result r = feed_metric(s, sum("jobs", "", "", true, DELTA, num_i(9, 550, 700, a), NULL));
  CHECK_EQ(r.dropped, 1);
  /* doubles add as doubles; an int + double mix turns double */
  feed_metric(s, sum("jobs", "", "", true, DELTA, num_d(0.5, 600, 800, a), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE jobs_total counter\njobs_total{k=\"v\"} 1.5\n");
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.dropped_stale, 1);
  prom_store_free(s);
  arena_reset();
}

static void test_cumulative_out_of_order_and_unsupported(void) {
  prom_store *s = store_with(NULL);
  feed_metric(s, sum("c", "", "", true, CUMULATIVE, num_i(10, 1, 200, NOATTRS), NULL));
  prom_consume_result r = feed_metric(s, sum("c", "", "", true, CUMULATIVE, num_i(5, 1, 100, NOATTRS), NULL));
  CHECK_EQ(r.dropped, 1); /* older than what is stored */
  /* delta non-monotonic sums and unspecified temporality are dropped, as in the Collector */
  r = feed(s, resource(NOATTRS, scope(NULL, NULL, NOATTRS, sum("updown", "", "", false, DELTA, num_i(1, 1, 2, NOATTRS), NULL),
                                      sum("weird", "", "", true, UNSPECIFIED, num_i(1, 1, 2, NOATTRS), NULL), NULL),
                   NULL));
  CHECK_EQ(r.accepted, 0);
  CHECK_EQ(r.dropped, 2);
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE c_total counter\nc_total 10\n");
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.dropped_unsupported, 2);
  CHECK_EQ(st.dropped_stale, 1);
  prom_store_free(s);
  arena_reset();
}

static void test_histograms(void) {
  prom_store *s = store_with(NULL);
  double b[] = {0.1, 1, 10};
  uint64_t c1[] = {1, 2, 3, 4}, c2[] = {1, 0, 0, 1};
  feed_metric(s, histogram("latency", "s", "Latency", CUMULATIVE, hist_dp(1, 2, NOATTRS, 10, 55.5, 3, b, c1), NULL));
  const char *want1 = "# HELP latency_seconds Latency\n"
                      "# TYPE latency_seconds histogram\n"
                      "latency_seconds_bucket{le=\"0.1\"} 1\n"
                      "latency_seconds_bucket{le=\"1\"} 3\n"
                      "latency_seconds_bucket{le=\"10\"} 6\n"
                      "latency_seconds_bucket{le=\"+Inf\"} 10\n"
                      "latency_seconds_sum 55.5\n"
                      "latency_seconds_count 10\n";
  CHECK_RENDER(s, PROM_FORMAT_TEXT, want1);
  /* delta: accumulated while aligned and the bounds stay */
  attrs a = AT(S("op", "get"), NULL);
  feed_metric(s, histogram("d", "", "", DELTA, hist_dp(10, 20, a, 10, 5, 3, b, c1), NULL));
  feed_metric(s, histogram("d", "", "", DELTA, hist_dp(20, 30, a, 2, 1.5, 3, b, c2), NULL));
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "# TYPE d histogram\n"
                       "d_bucket{op=\"get\",le=\"0.1\"} 2\n"
                       "d_bucket{op=\"get\",le=\"1\"} 4\n"
                       "d_bucket{op=\"get\",le=\"10\"} 7\n"
                       "d_bucket{op=\"get\",le=\"+Inf\"} 12\n"
                       "d_sum{op=\"get\"} 6.5\n"
                       "d_count{op=\"get\"} 12\n");
  free(text);
  /* new bounds: the new point replaces the state */
  double b2[] = {5};
  uint64_t c3[] = {1, 1};
  feed_metric(s, histogram("d", "", "", DELTA, hist_dp(30, 40, a, 2, 6, 1, b2, c3), NULL));
  text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "d_bucket{op=\"get\",le=\"5\"} 1\nd_bucket{op=\"get\",le=\"+Inf\"} 2\nd_sum{op=\"get\"} 6\n");
  free(text);
  /* invalid: bucket count mismatch, unsorted bounds */
  HistDP *bad = hist_dp(1, 2, NOATTRS, 1, 1, 3, b, c1);
  bad->n_bucket_counts = 2;
  double unsorted[] = {1, 0.5};
  prom_consume_result r =
      feed_metric(s, histogram("bad", "", "", CUMULATIVE, bad, hist_dp(1, 2, NOATTRS, 1, 1, 2, unsorted, c1), NULL));
  CHECK_EQ(r.dropped, 2);
  prom_store_free(s);
  arena_reset();
}

static void test_exponential_histogram_conversion(void) {
  prom_store *s = store_with(NULL);
  /* scale 0: base 2. negative bucket 0 = [-2,-1), zero bucket, positive 0 = (1,2], 1 = (2,4] */
  uint64_t pos[] = {1, 2}, neg[] = {3};
  ExpDP *p = exp_dp(1, 2, NOATTRS, 0, 7, 4.5, 1, 0);
  p->positive = buckets(0, 2, pos);
  p->negative = buckets(0, 1, neg);
  feed_metric(s, exphist("x", "", "", CUMULATIVE, p, NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE x histogram\n"
               "x_bucket{le=\"-1\"} 3\n"
               "x_bucket{le=\"0\"} 4\n"
               "x_bucket{le=\"2\"} 5\n"
               "x_bucket{le=\"4\"} 7\n"
               "x_bucket{le=\"+Inf\"} 7\n"
               "x_sum 4.5\n"
               "x_count 7\n");
  prom_store_free(s);

  /* scale 1: base sqrt(2); index -1 → le 1, index 0 → le sqrt(2); zero threshold as the zero bucket's bound */
  s = store_with(NULL);
  uint64_t pos1[] = {1, 1};
  p = exp_dp(1, 2, NOATTRS, 1, 2, 2.2, 0, 0.001);
  p->positive = buckets(-1, 2, pos1);
  feed_metric(s, exphist("y", "", "", CUMULATIVE, p, NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE y histogram\n"
               "y_bucket{le=\"0.001\"} 0\n"
               "y_bucket{le=\"1\"} 1\n"
               "y_bucket{le=\"1.4142135623730951\"} 2\n"
               "y_bucket{le=\"+Inf\"} 2\n"
               "y_sum 2.2\n"
               "y_count 2\n");
  prom_store_free(s);

  /* delta points at different scales merge at the smaller scale: (1,sqrt2],(sqrt2,2] at scale 1 = (1,2] at 0 */
  s = store_with(NULL);
  uint64_t a1[] = {1, 1}, a2[] = {2};
  ExpDP *d1 = exp_dp(10, 20, NOATTRS, 1, 2, 3, 0, 0);
  d1->positive = buckets(0, 2, a1);
  ExpDP *d2 = exp_dp(20, 30, NOATTRS, 0, 2, 3, 1, 0);
  d2->positive = buckets(0, 1, a2);
  feed_metric(s, exphist("z", "", "", DELTA, d1, NULL));
  feed_metric(s, exphist("z", "", "", DELTA, d2, NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE z histogram\n"
               "z_bucket{le=\"0\"} 1\n"
               "z_bucket{le=\"2\"} 5\n"
               "z_bucket{le=\"+Inf\"} 5\n"
               "z_sum 6\n"
               "z_count 5\n");
  /* scale out of range: dropped as invalid */
  ExpDP *bad = exp_dp(1, 2, NOATTRS, 21, 1, 1, 1, 0);
  prom_consume_result r = feed_metric(s, exphist("bad", "", "", CUMULATIVE, bad, NULL));
  CHECK_EQ(r.dropped, 1);
  /* far-apart buckets are downscaled to stay bounded, and the result is still cumulative */
  uint64_t one[] = {1};
  attrs far = AT(S("far", "1"), NULL);
  ExpDP *far1 = exp_dp(30, 40, far, 20, 1, 1, 0, 0);
  far1->positive = buckets(0, 1, one);
  ExpDP *far2 = exp_dp(40, 50, far, 20, 1, 1, 0, 0);
  far2->positive = buckets(5000000, 1, one);
  feed_metric(s, exphist("z", "", "", DELTA, far1, NULL));
  r = feed_metric(s, exphist("z", "", "", DELTA, far2, NULL));
  CHECK_EQ(r.accepted, 1);
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "z_count{far=\"1\"} 2\n");
  CHECK_CONTAINS(text, "z_bucket{far=\"1\",le=\"+Inf\"} 2\n");
  size_t lines = 0;
  for (const char *q = text; (q = strstr(q, "z_bucket{far")) != NULL; q++) lines++;
  CHECK(lines >= 3 && lines <= 1026);
  free(text);
  prom_store_free(s);
  arena_reset();
}

static void test_summary_and_stale_marker(void) {
  prom_store *s = store_with(NULL);
  double qv[] = {0.99, 9, 0.5, 5, 1.5, 1 /* out of range: dropped */};
  feed_metric(s, summary("rpc", "ms", "RPCs", summary_dp(2, AT(S("m", "x"), NULL), 4, 20, 3, qv), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# HELP rpc_milliseconds RPCs\n"
               "# TYPE rpc_milliseconds summary\n"
               "rpc_milliseconds{m=\"x\",quantile=\"0.5\"} 5\n"
               "rpc_milliseconds{m=\"x\",quantile=\"0.99\"} 9\n"
               "rpc_milliseconds_sum{m=\"x\"} 20\n"
               "rpc_milliseconds_count{m=\"x\"} 4\n");
  /* NO_RECORDED_VALUE: the series goes away */
  SummaryDP *stale = summary_dp(3, AT(S("m", "x"), NULL), 0, 0, 0, NULL);
  stale->flags = 1;
  feed_metric(s, summary("rpc", "ms", "RPCs", stale, NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "");
  NumberDP *g = num_i(1, 0, 1, NOATTRS);
  feed_metric(s, gauge("g", "", "", g, NULL));
  NumberDP *gs = num_i(0, 0, 2, NOATTRS);
  gs->flags = 1;
  feed_metric(s, gauge("g", "", "", gs, NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "");
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.series, 0);
  prom_store_free(s);
  arena_reset();
}

static void expire_1s(prom_store_config *c) { c->metric_expiration_ms = 1000; }

static void test_expiration(void) {
  prom_store *s = store_with(expire_1s);
  attrs res = AT(S("service.name", "svc"), NULL);
  fake_now = 0;
  feed(s, resource(res, scope(NULL, NULL, NOATTRS, gauge("old", "", "", num_i(1, 0, 1, NOATTRS), NULL), NULL), NULL));
  fake_now = 600;
  feed(s, resource(res, scope(NULL, NULL, NOATTRS, gauge("new", "", "", num_i(2, 0, 1, NOATTRS), NULL), NULL), NULL));
  fake_now = 1200; /* "old" is 1200 ms old, "new" 600 ms, target_info was refreshed at 600 */
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE new gauge\nnew{job=\"svc\"} 2\n"
               "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{job=\"svc\"} 1\n");
  fake_now = 1700;
  prom_store_sweep(s);
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.series, 0);
  CHECK_EQ(st.families, 0);
  CHECK_EQ(st.expired, 3);
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "");
  /* the names come back after expiry */
  feed(s, resource(res, scope(NULL, NULL, NOATTRS, gauge("old", "", "", num_i(3, 0, 1, NOATTRS), NULL), NULL), NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE old gauge\nold{job=\"svc\"} 3\n"
               "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{job=\"svc\"} 1\n");
  prom_store_free(s);
  arena_reset();
}

static void test_label_escaping_and_collisions(void) {
  prom_store *s = store_with(NULL);
  attrs a = AT(S("path", "C:\\dir\\\"file\"\nnext"), S("a_b", "y"), S("a.b", "x"), S("empty", ""), D("ratio", 0.25),
               B("ok", true), S("123", "digits"), NULL);
  feed_metric(s, gauge("g", "", "", num_i(1, 0, 1, a), NULL));
  /* two metrics whose names sanitise alike share one family; a third with another type is refused */
  feed(s, resource(NOATTRS, scope(NULL, NULL, NOATTRS, gauge("dup.name", "", "first", num_i(1, 0, 1, AT(S("from", "dot"), NULL)), NULL),
                                  gauge("dup_name", "", "second", num_i(2, 0, 1, AT(S("from", "underscore"), NULL)), NULL),
                                  NULL),
                   NULL));
  prom_consume_result r = feed_metric(s, summary("dup.name", "", "", summary_dp(1, NOATTRS, 1, 1, 0, NULL), NULL));
  CHECK_EQ(r.dropped, 1);
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# HELP dup_name first\n"
               "# TYPE dup_name gauge\n"
               "dup_name{from=\"dot\"} 1\n"
               "dup_name{from=\"underscore\"} 2\n"
               "# TYPE g gauge\n"
               "g{a_b=\"x;y\",key_123=\"digits\",ok=\"true\",path=\"C:\\\\dir\\\\\\\"file\\\"\\nnext\",ratio=\"0.25\"} 1\n");
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.dropped_conflict, 1);
  /* attributes in another order, or sanitising to the same labels, update the same series */
  feed_metric(s, gauge("dup.name", "", "", num_i(5, 0, 2, AT(S("from", "underscore"), NULL)), NULL));
  feed_metric(s, gauge("t", "", "", num_i(1, 0, 1, AT(S("x", "1"), S("y", "2"), NULL)), NULL));
  feed_metric(s, gauge("t", "", "", num_i(2, 0, 2, AT(S("y", "2"), S("x", "1"), NULL)), NULL));
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "dup_name{from=\"underscore\"} 5\n");
  CHECK_CONTAINS(text, "# TYPE t gauge\nt{x=\"1\",y=\"2\"} 2\n");
  free(text);
  prom_store_free(s);
  arena_reset();
}

static const prom_label_pair consts[] = {{"env", "prod"}, {"region.name", "eu"}};

static void all_options(prom_store_config *c) {
  c->metric_namespace = "otel";
  c->const_labels = consts;
  c->n_const_labels = 2;
  c->resource_to_telemetry_conversion = true;
  c->send_timestamps = true;
}

static void test_namespace_const_labels_r2t_timestamps(void) {
  prom_store *s = store_with(all_options);
  attrs scope_attrs = AT(S("lib.kind", "http"), NULL);
  feed(s, resource(AT(S("service.name", "svc"), S("host.name", "n1"), NULL),
                   scope("io.lib", "", scope_attrs, sum("hits", "", "", true, CUMULATIVE, num_i(3, 1, 1700000000123456789ULL, AT(S("host.name", "point"), NULL)), NULL), NULL),
                   NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE otel_hits_total counter\n"
               "otel_hits_total{env=\"prod\",host_name=\"n1\",job=\"svc\",otel_scope_lib_kind=\"http\",otel_scope_name=\"io.lib\","
               "region_name=\"eu\",service_name=\"svc\"} 3 1700000000123\n"
               "# HELP otel_target_info Target metadata\n"
               "# TYPE otel_target_info gauge\n"
               "otel_target_info{host_name=\"n1\",job=\"svc\"} 1\n");
  prom_store_free(s);
  arena_reset();
}

static void no_suffixes(prom_store_config *c) {
  c->add_metric_suffixes = false;
  c->without_scope_labels = true;
  c->enable_open_metrics = true;
}

static void test_without_suffixes(void) {
  prom_store *s = store_with(no_suffixes);
  feed(s, resource(NOATTRS, scope("lib", "1", NOATTRS, sum("http.requests", "1", "", true, CUMULATIVE, num_i(3, 1, 2, NOATTRS), NULL),
                                  gauge("mem", "By", "", num_i(4, 1, 2, NOATTRS), NULL), NULL),
                   NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT, "# TYPE http_requests counter\nhttp_requests 3\n# TYPE mem gauge\nmem 4\n");
  CHECK_RENDER(s, PROM_FORMAT_OPENMETRICS,
               "# TYPE http_requests counter\nhttp_requests_total 3\n# TYPE mem gauge\nmem 4\n# EOF\n");
  prom_store_free(s);
  arena_reset();
}

static void test_families_grouped_across_requests(void) {
  prom_store *s = store_with(NULL);
  for (int i = 0; i < 3; i++) {
    char *inst = A(16);
    snprintf(inst, 16, "pod-%d", 2 - i);
    feed(s, resource(AT(S("service.name", "svc"), S("service.instance.id", inst), NULL),
                     scope(NULL, NULL, NOATTRS, sum("reqs", "", "Requests", true, CUMULATIVE, num_i(i, 1, 2, NOATTRS), NULL), NULL), NULL));
  }
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "# HELP reqs_total Requests\n# TYPE reqs_total counter\n"
                       "reqs_total{instance=\"pod-0\",job=\"svc\"} 2\n"
                       "reqs_total{instance=\"pod-1\",job=\"svc\"} 1\n"
                       "reqs_total{instance=\"pod-2\",job=\"svc\"} 0\n");
  CHECK_CONTAINS(text, "target_info{instance=\"pod-0\",job=\"svc\"} 1\ntarget_info{instance=\"pod-1\",job=\"svc\"} 1\n");
  /* same output twice: stable order */
  char *again = render(s, PROM_FORMAT_TEXT);
  CHECK_STR(text, again);
  free(text);
  free(again);
  /* a resource whose attributes change keeps one target_info per (job, instance) */
  feed(s, resource(AT(S("service.name", "svc"), S("service.instance.id", "pod-0"), S("version", "2"), NULL),
                   scope(NULL, NULL, NOATTRS, sum("reqs", "", "Requests", true, CUMULATIVE, num_i(5, 1, 3, NOATTRS), NULL), NULL), NULL));
  text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "target_info{instance=\"pod-0\",job=\"svc\",version=\"2\"} 1\ntarget_info{instance=\"pod-1\"");
  free(text);
  prom_store_free(s);
  arena_reset();
}

static void test_point_attribute_clashing_with_context(void) {
  prom_store *s = store_with(NULL);
  feed(s, resource(AT(S("service.name", "svc"), NULL),
                   scope(NULL, NULL, NOATTRS, gauge("g", "", "", num_i(1, 0, 1, AT(S("job", "mine"), S("k", "v"), NULL)), NULL), NULL), NULL));
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "g{k=\"v\",job=\"svc\"} 1\n");
  free(text);
  prom_store_free(s);
  arena_reset();
}

static void test_reserved_label_names(void) {
  prom_store *s = store_with(NULL);
  double b[] = {1};
  uint64_t c[] = {1, 1};
  double qv[] = {0.5, 1};
  feed(s, resource(NOATTRS, scope(NULL, NULL, NOATTRS,
                                  histogram("h", "", "", CUMULATIVE, hist_dp(1, 2, AT(S("le", "x"), S("quantile", "q"), NULL), 2, 1, 1, b, c), NULL),
                                  summary("sm", "", "", summary_dp(2, AT(S("le", "x"), S("quantile", "q"), NULL), 1, 1, 1, qv), NULL),
                                  gauge("g", "", "", num_i(1, 0, 1, AT(S("__name__", "evil"), S("le", "ok"), NULL)), NULL), NULL),
                   NULL));
  CHECK_RENDER(s, PROM_FORMAT_TEXT,
               "# TYPE g gauge\ng{le=\"ok\"} 1\n"
               "# TYPE h histogram\n"
               "h_bucket{quantile=\"q\",le=\"1\"} 1\nh_bucket{quantile=\"q\",le=\"+Inf\"} 2\n"
               "h_sum{quantile=\"q\"} 1\nh_count{quantile=\"q\"} 2\n"
               "# TYPE sm summary\n"
               "sm{le=\"x\",quantile=\"0.5\"} 1\nsm_sum{le=\"x\"} 1\nsm_count{le=\"x\"} 1\n");
  prom_store_free(s);
  /* const labels may not take a name the exposition needs */
  prom_store_config cfg;
  prom_store_config_init(&cfg);
  prom_label_pair bad[] = {{"le", "1"}};
  cfg.const_labels = bad;
  cfg.n_const_labels = 1;
  wire_err err = {0};
  CHECK(prom_store_new(&cfg, &err) == NULL);
  CHECK_CONTAINS(err.msg, "const_labels: \"le\" is reserved");
  arena_reset();
}

/* In both formats: rendering piece by piece with min_bytes 1 takes `want_calls` calls, every call but the last
 * adds bytes, and the pieces put together are the whole render. */
static void check_pieces_make_whole(prom_store *s, int want_calls) {
  for (int om = 0; om < 2; om++) {
    prom_format f = om ? PROM_FORMAT_OPENMETRICS : PROM_FORMAT_TEXT;
    char *full = render(s, f);
    wire_buf b;
    wire_buf_init(&b, 0);
    prom_render_cursor cur = {0};
    int calls = 0;
    while (!cur.done && calls < 1000) {
      size_t before = b.len;
      CHECK(prom_store_render_some(s, f, &cur, 1, &b, NULL) == 0);
      CHECK(b.len > before || cur.done);
      calls++;
    }
    CHECK_EQ(calls, want_calls);
    wire_buf_append(&b, "", 1, NULL);
    CHECK_STR((char *)b.data, full);
    prom_render_cursor_reset(&cur);
    wire_buf_free(&b);
    free(full);
  }
}

static void test_incremental_render(void) {
  prom_store *s = store_with(open_metrics_on);
  char names[5][8];
  for (int i = 0; i < 5; i++) {
    snprintf(names[i], sizeof names[i], "m%d", i * 2);
    feed_metric(s, gauge(names[i], "", "", num_i(i, 0, 1, NOATTRS), NULL));
  }
  check_pieces_make_whole(s, 5);
  /* families appearing mid-render: after the cursor they are included, before it they wait; none repeats */
  wire_buf b;
  wire_buf_init(&b, 0);
  prom_render_cursor cur = {0};
  prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL); /* m0, m2 done */
  feed(s, resource(NOATTRS, scope(NULL, NULL, NOATTRS, gauge("m1", "", "", num_i(1, 0, 1, NOATTRS), NULL),
                                  gauge("m5", "", "", num_i(5, 0, 1, NOATTRS), NULL),
                                  gauge("m2", "", "", num_i(7, 0, 1, AT(S("new", "series"), NULL)), NULL), NULL),
                   NULL));
  while (!cur.done) prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  wire_buf_append(&b, "", 1, NULL);
  CHECK_STR((char *)b.data, "# TYPE m0 gauge\nm0 0\n# TYPE m2 gauge\nm2 1\n# TYPE m4 gauge\nm4 2\n"
                            "# TYPE m5 gauge\nm5 5\n# TYPE m6 gauge\nm6 3\n# TYPE m8 gauge\nm8 4\n");
  prom_render_cursor_reset(&cur);
  wire_buf_free(&b);
  prom_store_free(s);
  arena_reset();
}

/* A gauge point g{k="<i>"} = v. */
static void feed_k(prom_store *s, const char *name, int i, int64_t v) {
  char *val = A(16);
  snprintf(val, 16, "%03d", i);
  feed_metric(s, gauge(name, "", "", num_i(v, 0, 1, AT(S("k", val), NULL)), NULL));
}

/* Pieces split families between series; a series is whole; pushes between pieces follow the rules of
 * prom_store.h (series after the cursor appear with their latest value, before it wait, none repeats). */
static void test_incremental_render_splits_families(void) {
  prom_store *s = store_with(open_metrics_on);
  for (int i = 0; i < 100; i += 2) feed_k(s, "a", i, i);
  for (int i = 0; i < 100; i += 2) feed_k(s, "b", i, i);
  double bounds[] = {1, 2};
  uint64_t counts[] = {1, 1, 1};
  feed_metric(s, histogram("h", "", "", CUMULATIVE, hist_dp(0, 1, AT(S("k", "x"), NULL), 3, 3, 2, bounds, counts),
                           hist_dp(0, 1, AT(S("k", "y"), NULL), 3, 3, 2, bounds, counts), NULL));
  /* piece by piece with min_bytes 1: one series per call after the first of each family */
  check_pieces_make_whole(s, 102);
  /* a histogram series is never split: its buckets, _sum and _count come in one piece */
  {
    wire_buf b;
    wire_buf_init(&b, 0);
    prom_render_cursor cur = {0};
    while (!cur.done) {
      b.len = 0;
      prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
      wire_buf_append(&b, "", 1, NULL);
      if (strstr((char *)b.data, "h_bucket")) {
        CHECK_CONTAINS((char *)b.data, "le=\"+Inf\"} 3\n");
        CHECK_CONTAINS((char *)b.data, "_count{");
      }
    }
    prom_render_cursor_reset(&cur);
    wire_buf_free(&b);
  }
  /* pushes mid-family: the cursor stands after a{k="010"} */
  wire_buf b;
  wire_buf_init(&b, 0);
  prom_render_cursor cur = {0};
  for (int i = 0; i < 6; i++) prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  wire_buf_append(&b, "", 1, NULL);
  CHECK(strstr((char *)b.data, "a{k=\"010\"} 10\n") != NULL);
  CHECK(strstr((char *)b.data, "a{k=\"012\"}") == NULL);
  b.len--;
  feed_k(s, "a", 1, 1001);   /* new, before the cursor: waits for the next scrape */
  feed_k(s, "a", 11, 1011);  /* new, after it: included */
  feed_k(s, "a", 2, 1002);   /* updated, already rendered: not again */
  feed_k(s, "a", 20, 1020);  /* updated, not yet rendered: its new value */
  feed_k(s, "a0", 0, 7);     /* a new family sorting after "a": included */
  while (!cur.done) prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  wire_buf_append(&b, "", 1, NULL);
  const char *t = (char *)b.data;
  CHECK(strstr(t, "a{k=\"001\"}") == NULL);
  CHECK_CONTAINS(t, "a{k=\"010\"} 10\na{k=\"011\"} 1011\na{k=\"012\"} 12\n");
  CHECK_CONTAINS(t, "a{k=\"002\"} 2\n");
  CHECK(strstr(t, "1002") == NULL);
  CHECK_CONTAINS(t, "a{k=\"020\"} 1020\n");
  CHECK_CONTAINS(t, "a{k=\"098\"} 98\n# TYPE a0 gauge\na0{k=\"000\"} 7\n# TYPE b gauge\n");
  const char *first = strstr(t, "# TYPE a gauge");
  CHECK(first && !strstr(first + 1, "# TYPE a gauge")); /* the header once */
  prom_render_cursor_reset(&cur);
  /* the family being rendered disappears (expired) between pieces: the render goes on with the next one */
  b.len = 0;
  for (int i = 0; i < 3; i++) prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  fake_now += 10 * 60 * 1000;
  for (int i = 0; i < 100; i += 2) feed_k(s, "b", i, -i); /* b stays, a and a0 expire at the next sweep */
  prom_store_sweep(s);
  while (!cur.done) prom_store_render_some(s, PROM_FORMAT_TEXT, &cur, 1, &b, NULL);
  wire_buf_append(&b, "", 1, NULL);
  t = (char *)b.data;
  static const char want[] = "# TYPE a gauge\na{k=\"000\"} 0\na{k=\"001\"} 1001\na{k=\"002\"} 1002\n# TYPE b gauge\nb{k=\"000\"} 0\n";
  CHECK_MSG(strncmp(t, want, sizeof want - 1) == 0, "got %.200s", t);
  CHECK(strstr(t, "h_bucket") == NULL); /* h expired too */
  prom_render_cursor_reset(&cur);
  wire_buf_free(&b);
  prom_store_free(s);
  arena_reset();
}

static void small_limit(prom_store_config *c) { c->max_series = 1500; }

static void test_many_series_and_removal(void) {
  prom_store *s = store_with(small_limit);
  char keys[2000][12];
  for (int i = 0; i < 2000; i++) snprintf(keys[i], sizeof keys[i], "%d", i);
  for (int i = 0; i < 2000; i++)
    feed_metric(s, gauge("g", "", "", num_i(i, 0, 1, AT(S("i", keys[i]), NULL)), NULL));
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.series, 1500);
  CHECK_EQ(st.dropped_limit, 500);
  /* remove every other series by stale marker, then all the rest must still be found and updated */
  for (int i = 0; i < 1500; i += 2) {
    NumberDP *p = num_i(0, 0, 2, AT(S("i", keys[i]), NULL));
    p->flags = 1;
    feed_metric(s, gauge("g", "", "", p, NULL));
  }
  for (int i = 1; i < 1500; i += 2)
    feed_metric(s, gauge("g", "", "", num_i(-i, 0, 3, AT(S("i", keys[i]), NULL)), NULL));
  prom_store_get_stats(s, &st);
  CHECK_EQ(st.series, 750);
  char *text = render(s, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "g{i=\"1\"} -1\n");
  CHECK_CONTAINS(text, "g{i=\"1499\"} -1499\n");
  CHECK(strstr(text, "g{i=\"2\"}") == NULL);
  free(text);
  prom_store_free(s);
  arena_reset();
}

static void test_render_limit(void) {
  prom_store *s = store_with(NULL);
  feed_metric(s, gauge("g", "", "", num_i(1, 0, 1, NOATTRS), NULL));
  wire_buf b;
  wire_buf_init(&b, 8);
  wire_err err = {0};
  CHECK_EQ(prom_store_render(s, PROM_FORMAT_TEXT, &b, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  wire_buf_free(&b);
  prom_store_free(s);
  arena_reset();
}

static void test_content_negotiation(void) {
  const char *prom_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  CHECK_EQ(prom_format_negotiate(prom_accept, true), PROM_FORMAT_OPENMETRICS);
  CHECK_EQ(prom_format_negotiate(prom_accept, false), PROM_FORMAT_TEXT);
  CHECK_EQ(prom_format_negotiate("text/plain;version=0.0.4", true), PROM_FORMAT_TEXT);
  CHECK_EQ(prom_format_negotiate("text/plain, application/openmetrics-text;q=0.5", true), PROM_FORMAT_TEXT);
  CHECK_EQ(prom_format_negotiate("application/openmetrics-text; q=0", true), PROM_FORMAT_TEXT);
  CHECK_EQ(prom_format_negotiate(NULL, true), PROM_FORMAT_TEXT);
  CHECK_STR(prom_format_content_type(PROM_FORMAT_TEXT), "text/plain; version=0.0.4; charset=utf-8");
  CHECK_STR(prom_format_content_type(PROM_FORMAT_OPENMETRICS), "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

/* consume and render from two threads: the lock keeps them apart (ASan/TSan would notice otherwise) */
static prom_store *race_store;
static void *race_render(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    char *t = render(race_store, i % 2 ? PROM_FORMAT_TEXT : PROM_FORMAT_OPENMETRICS);
    free(t);
  }
  return NULL;
}

static void test_concurrent_consume_and_render(void) {
  prom_store_config c;
  prom_store_config_init(&c);
  c.enable_open_metrics = true;
  race_store = prom_store_new(&c, NULL);
  double b[] = {1, 2};
  uint64_t cnt[] = {1, 1, 1};
  RM *rm = resource(AT(S("service.name", "svc"), NULL),
                    scope("lib", "1", NOATTRS, sum("c", "", "", true, DELTA, num_i(1, 0, 1, AT(S("k", "v"), NULL)), NULL),
                          histogram("h", "s", "", CUMULATIVE, hist_dp(0, 1, NOATTRS, 3, 3, 2, b, cnt), NULL), NULL),
                    NULL);
  pthread_t t;
  pthread_create(&t, NULL, race_render, NULL);
  for (int i = 0; i < 2000; i++) prom_store_consume(race_store, &rm, 1, NULL);
  pthread_join(t, NULL);
  char *text = render(race_store, PROM_FORMAT_TEXT);
  CHECK_CONTAINS(text, "c_total{k=\"v\",job=\"svc\",otel_scope_name=\"lib\",otel_scope_version=\"1\"} 2000\n");
  free(text);
  prom_store_free(race_store);
  arena_reset();
}

/* Every metric type through `promtool check metrics` (Debian's prometheus package). */
static void test_promtool_accepts_everything(void) {
  if (access("/usr/bin/promtool", X_OK) != 0) {
    printf("# skipped: /usr/bin/promtool not installed\n");
    return;
  }
  prom_store *s = store_with(NULL);
  double b[] = {0.005, 0.01, 0.1, 1, 10};
  uint64_t hc[] = {1, 2, 3, 4, 5, 6};
  uint64_t pos[] = {1, 2, 3}, neg[] = {1};
  ExpDP *e = exp_dp(1, 2, AT(S("route", "/api"), NULL), 2, 8, 12.5, 1, 0);
  e->positive = buckets(-2, 3, pos);
  e->negative = buckets(1, 1, neg);
  double qv[] = {0.5, 0.2, 0.9, 0.7, 0.99, 1.1};
  RM *rm = resource(
      AT(S("service.name", "checkout"), S("service.namespace", "shop"), S("service.instance.id", "pod-1"),
         S("k8s.pod.name", "checkout-7d9f"), I("process.pid", 42), NULL),
      scope("io.otelc.test", "0.1", AT(S("lib.kind", "http"), NULL),
            gauge("process.memory.usage", "By", "Resident memory", num_i(123456789, 0, 2, NOATTRS), NULL),
            gauge("system.cpu.utilization", "1", "CPU use", num_d(0.25, 0, 2, AT(S("cpu", "0"), NULL)), NULL),
            sum("http.server.requests", "{request}", "Requests \"served\"\nby route",
                true, CUMULATIVE, num_i(10, 1, 2, AT(S("http.route", "/a\\b"), I("http.response.status_code", 200), NULL)),
                num_i(3, 1, 2, AT(S("http.route", "/c"), I("http.response.status_code", 500), NULL)), NULL),
            sum("jobs.processed", "", "Jobs", true, DELTA, num_i(4, 1, 2, NOATTRS), NULL),
            sum("queue.depth", "{item}", "Queue depth", false, CUMULATIVE, num_i(-3, 1, 2, NOATTRS), NULL),
            histogram("http.server.request.duration", "s", "Request duration", CUMULATIVE,
                      hist_dp(1, 2, AT(S("http.route", "/a"), NULL), 21, 7.25, 5, b, hc), NULL),
            exphist("rpc.server.duration", "s", "RPC duration", CUMULATIVE, e, NULL),
            summary("gc.pause", "s", "GC pauses", summary_dp(2, NOATTRS, 10, 3.5, 3, qv), NULL), NULL),
      NULL);
  prom_consume_result r = feed(s, rm);
  CHECK_EQ(r.dropped, 0);
  char *text = render(s, PROM_FORMAT_TEXT);
  char path[512], out_path[512];
  snprintf(path, sizeof path, "%s/prom_everything.txt", test_tmpdir());
  snprintf(out_path, sizeof out_path, "%s/promtool.out", test_tmpdir());
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  int rc = test_sh("/usr/bin/promtool check metrics < '%s' > '%s' 2>&1", path, out_path);
  char *out = test_read_file(out_path, NULL);
  CHECK_MSG(rc == 0, "promtool exit %d:\n%s\ninput:\n%s", rc, out ? out : "", text);
  /* no lint warnings at all: every name carries its base unit and type suffix, every family has HELP */
  CHECK_MSG(out && out[0] == 0, "promtool said:\n%s\ninput:\n%s", out ? out : "(nothing)", text);
  free(out);
  free(text);
  prom_store_free(s);
  arena_reset();
}

int main(void) {
  RUN(test_gauge_counter_and_target_info);
  RUN(test_openmetrics_with_exemplars);
  RUN(test_delta_sum_accumulates);
  RUN(test_cumulative_out_of_order_and_unsupported);
  RUN(test_histograms);
  RUN(test_exponential_histogram_conversion);
  RUN(test_summary_and_stale_marker);
  RUN(test_expiration);
  RUN(test_label_escaping_and_collisions);
  RUN(test_namespace_const_labels_r2t_timestamps);
  RUN(test_without_suffixes);
  RUN(test_families_grouped_across_requests);
  RUN(test_point_attribute_clashing_with_context);
  RUN(test_reserved_label_names);
  RUN(test_many_series_and_removal);
  RUN(test_render_limit);
  RUN(test_incremental_render);
  RUN(test_incremental_render_splits_families);
  RUN(test_content_negotiation);
  RUN(test_concurrent_consume_and_render);
  RUN(test_promtool_accepts_everything);
  free(arena);
  return test_finish();
}
