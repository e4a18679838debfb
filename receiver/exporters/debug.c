/* debug.c — the `debug` exporter: prints batches in the Collector debug exporter's layouts (see debug.h).
 *
 * The text of a batch is built in one buffer and written with one fwrite, so lines of concurrent writers to the
 * same stream never interleave inside a batch. Number formatting follows the Collector's Go output where a user
 * might compare them: "%f" (six decimals) for values in the detailed layout, Go's "%v" (shortest round-trip,
 * exponent from 1e+06 up) in the normal layout, attribute values as Type(value) with doubles in the shortest
 * form, timestamps as Go's time.Time ("2023-11-14 22:13:20.5 +0000 UTC"). */
#include "receiver/exporters/debug.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "receiver/config/components/debug_exporter.h"
#include "receiver/pipeline.h"
#include "wire/clock.h"

#define DEBUG_MAX_TEXT (64u << 20) /* a batch's text beyond this is cut (with a note) */

typedef struct debug_exp {
  char *id;
  component_host *host;
  int verbosity;
  int64_t sampling_initial, sampling_thereafter;
  FILE *out;
  int64_t window;   /* current sampling second */
  int64_t in_window; /* batches seen in it */
  wire_buf text;
} debug_exp;

/* ---- text helpers ----------------------------------------------------------------------------------- */

typedef struct tbuf {
  wire_buf *b;
  int failed;
  wire_err *err;
} tbuf;

static void put(tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(tbuf *t, const char *fmt, ...) {
  if (t->failed) return;
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    if (wire_buf_append(t->b, small, (size_t)n, t->err) < 0) t->failed = 1;
    return;
  }
  if (wire_buf_reserve(t->b, (size_t)n + 1, t->err) < 0) {
    t->failed = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf((char *)t->b->data + t->b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->b->len += (size_t)n;
}

static void putn(tbuf *t, const char *s, size_t n) {
  if (!t->failed && wire_buf_append(t->b, s, n, t->err) < 0) t->failed = 1;
}

static const char *str(const char *s) { return s ? s : ""; }

/* Shortest decimal that reads back as v. go_v: Go's "%v" (strconv 'g' with precision -1: exponent form when the
 * decimal exponent is < -4 or >= 6, so 1e+06); otherwise ES6 style, pcommon's Double AsString (exponent form
 * when |v| < 1e-6 or >= 1e21). */
static void fmt_shortest(char *out, size_t n, double v, int go_v) {
  if (isnan(v)) {
    snprintf(out, n, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (v == 0) {
    snprintf(out, n, signbit(v) && go_v ? "-0" : "0");
    return;
  }
  char e[40];
  int p = 1;
  for (; p <= 17; p++) {
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  if (p > 17) p = 17;
  const char *ep = strchr(e, 'e');
  int exp = ep ? atoi(ep + 1) : 0;
  double a = fabs(v);
  bool use_exp = go_v ? (exp < -4 || exp >= 6) : (a < 1e-6 || a >= 1e21);
  if (use_exp) {
    snprintf(out, n, "%.*e", p - 1, v);
    return;
  }
  int decimals = p - 1 - exp;
  if (decimals < 0) decimals = 0;
  snprintf(out, n, "%.*f", decimals, v);
}

/* Go's time.Time.String() of a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
static void fmt_time(char *out, size_t n, uint64_t ns) {
  time_t s = (time_t)(ns / 1000000000ull);
  unsigned frac = (unsigned)(ns % 1000000000ull);
  struct tm tm;
  gmtime_r(&s, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  if (frac == 0) {
    snprintf(out, n, "%s +0000 UTC", date);
    return;
  }
  char f[16];
  snprintf(f, sizeof f, "%09u", frac);
  size_t fl = 9;
  while (fl > 0 && f[fl - 1] == '0') fl--;
  f[fl] = 0;
  snprintf(out, n, "%s.%s +0000 UTC", date, f);
}

static void put_hex(tbuf *t, const ProtobufCBinaryData *d) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < d->len; i++) {
    char two[2] = {hx[d->data[i] >> 4], hx[d->data[i] & 15]};
    putn(t, two, 2);
  }
}

static void put_base64(tbuf *t, const uint8_t *p, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
    putn(t, q, 4);
  }
}

static void put_json_string(tbuf *t, const char *s) {
  putn(t, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)str(s); *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      putn(t, e, 2);
    } else if (*p < 0x20) {
      put(t, "\\u%04x", *p);
    } else {
      putn(t, (const char *)p, 1);
    }
  }
  putn(t, "\"", 1);
}

static void put_value_plain(tbuf *t, const otlp_any *v);

/* A value as JSON (inside Slice(...) and Map(...)), as pcommon's AsRaw + encoding/json would write it. */
static void put_json_value(tbuf *t, const otlp_any *v, int depth) {
  if (!v || depth > 64) {
    putn(t, "null", 4);
    return;
  }
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: put_json_string(t, v->string_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: put_value_plain(t, v); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
    putn(t, "\"", 1);
    put_base64(t, v->bytes_value.data, v->bytes_value.len);
    putn(t, "\"", 1);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    putn(t, "[", 1);
    for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
      if (i) putn(t, ",", 1);
      put_json_value(t, v->array_value->values[i], depth + 1);
    }
    putn(t, "]", 1);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
    putn(t, "{", 1);
    for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
      const otlp_kv *kv = v->kvlist_value->values[i];
      if (i) putn(t, ",", 1);
      put_json_string(t, kv ? kv->key : "");
      putn(t, ":", 1);
      put_json_value(t, kv ? kv->value : NULL, depth + 1);
    }
    putn(t, "}", 1);
    break;
  default: putn(t, "null", 4); break;
  }
}

/* The plain text of a value (normal layout: key=value; the part inside Type(...)): strings as they are, bytes
 * in base64, slices and maps as JSON; nothing for a missing value. */
static void put_value_plain(tbuf *t, const otlp_any *v) {
  char num[64];
  if (!v) return;
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: put(t, "%s", str(v->string_value)); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE: put(t, "%s", v->bool_value ? "true" : "false"); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: put(t, "%" PRId64, v->int_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
    fmt_shortest(num, sizeof num, v->double_value, 0);
    put(t, "%s", num);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
    put_base64(t, v->bytes_value.data, v->bytes_value.len);
    break;
  default: put_json_value(t, v, 0); break;
  }
}

/* pcommon's Value.Type().String() + "(" + AsString() + ")"; "Empty()" for a value that is missing or unset. */
static void put_value(tbuf *t, const otlp_any *v) {
  const char *type = NULL;
  switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: type = "Str"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE: type = "Bool"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: type = "Int"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: type = "Double"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: type = "Bytes"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: type = "Slice"; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: type = "Map"; break;
  default: putn(t, "Empty()", 7); return;
  }
  put(t, "%s(", type);
  put_value_plain(t, v);
  putn(t, ")", 1);
}

/* "<header>:" then "<indent>     -> key: Type(value)" lines; nothing when empty (the Collector's logAttributes,
 * where a header like "     -> Metadata" indents its lines by the part before "->"). */
static void put_attrs(tbuf *t, const char *header, const char *indent, otlp_kv **kv, size_t n) {
  if (n == 0) return;
  put(t, "%s:\n", header);
  for (size_t i = 0; i < n; i++) {
    if (!kv[i]) continue;
    put(t, "%s     -> %s: ", indent, str(kv[i]->key));
    put_value(t, kv[i]->value);
    putn(t, "\n", 1);
  }
}

static void put_exemplars(tbuf *t, otlp_exemplar **ex, size_t n) {
  if (n == 0) return;
  char ts[80];
  put(t, "Exemplars:\n");
  for (size_t i = 0; i < n; i++) {
    const otlp_exemplar *e = ex[i];
    if (!e) continue;
    put(t, "Exemplar #%zu\n     -> Trace ID: ", i);
    put_hex(t, &e->trace_id);
    put(t, "\n     -> Span ID: ");
    put_hex(t, &e->span_id);
    fmt_time(ts, sizeof ts, e->time_unix_nano);
    put(t, "\n     -> Timestamp: %s\n", ts);
    if (e->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT)
      put(t, "     -> Value: %" PRId64 "\n", e->as_int);
    else if (e->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE)
      put(t, "     -> Value: %f\n", e->as_double);
    put_attrs(t, "     -> FilteredAttributes", "     ", e->filtered_attributes, e->n_filtered_attributes);
  }
}

static void put_times(tbuf *t, uint64_t start, uint64_t ts) {
  char a[80], b[80];
  fmt_time(a, sizeof a, start);
  fmt_time(b, sizeof b, ts);
  put(t, "StartTimestamp: %s\nTimestamp: %s\n", a, b);
}

/* What histogram and exponential-histogram points share: attributes, timestamps, count, and sum/min/max where
 * present. The two protobuf-c point types have these members under the same names; HIST_HEAD reads them from
 * either. */
typedef struct hist_head {
  otlp_kv **attrs;
  size_t n_attrs;
  uint64_t start, time, count;
  const double *sum, *min, *max; /* NULL when absent */
} hist_head;

#define HIST_HEAD(p)                                                                                           \
  ((hist_head){(p)->attributes, (p)->n_attributes, (p)->start_time_unix_nano, (p)->time_unix_nano, (p)->count, \
               (p)->sum_present_case ? &(p)->sum : NULL, (p)->min_present_case ? &(p)->min : NULL,             \
               (p)->max_present_case ? &(p)->max : NULL})

static const char *temporality_name(int t) {
  return t == 1 ? "Delta" : t == 2 ? "Cumulative" : "Unspecified";
}

/* ---- detailed ------------------------------------------------------------------------------------------- */

/* The lines every data point starts with: "<Kind>DataPoints #i", its attributes, its timestamps. */
static void detailed_point_head(tbuf *t, const char *kind, size_t i, otlp_kv **kv, size_t n, uint64_t start,
                                uint64_t ts) {
  put(t, "%sDataPoints #%zu\n", kind, i);
  put_attrs(t, "Data point attributes", "", kv, n);
  put_times(t, start, ts);
}

/* detailed_point_head, then the count, sum, min and max of a histogram or exponential-histogram point. */
static void detailed_hist_head(tbuf *t, const char *kind, size_t i, hist_head s) {
  detailed_point_head(t, kind, i, s.attrs, s.n_attrs, s.start, s.time);
  put(t, "Count: %" PRIu64 "\n", s.count);
  if (s.sum) put(t, "Sum: %f\n", *s.sum);
  if (s.min) put(t, "Min: %f\n", *s.min);
  if (s.max) put(t, "Max: %f\n", *s.max);
}

static void detailed_metric(tbuf *t, const otlp_metric *m) {
  static const char *const types[] = {[5] = "Gauge", [7] = "Sum", [9] = "Histogram", [10] = "ExponentialHistogram",
                                      [11] = "Summary"};
  const char *type = (m->data_case >= 0 && m->data_case <= 11 && types[m->data_case]) ? types[m->data_case] : "Empty";
  put(t, "Descriptor:\n     -> Name: %s\n     -> Description: %s\n     -> Unit: %s\n     -> DataType: %s\n",
      str(m->name), str(m->description), str(m->unit), type);
  put_attrs(t, "     -> Metadata", "     ", m->metadata, m->n_metadata);
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: {
    otlp_number_point **pts;
    size_t n;
    if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) {
      if (!m->sum) return;
      put(t, "     -> IsMonotonic: %s\n     -> AggregationTemporality: %s\n", m->sum->is_monotonic ? "true" : "false",
          temporality_name(m->sum->aggregation_temporality));
      pts = m->sum->data_points;
      n = m->sum->n_data_points;
    } else {
      if (!m->gauge) return;
      pts = m->gauge->data_points;
      n = m->gauge->n_data_points;
    }
    for (size_t i = 0; i < n; i++) {
      const otlp_number_point *p = pts[i];
      if (!p) continue;
      detailed_point_head(t, "Number", i, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano);
      if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
        put(t, "Value: %" PRId64 "\n", p->as_int);
      else if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
        put(t, "Value: %f\n", p->as_double);
      put_exemplars(t, p->exemplars, p->n_exemplars);
    }
    break;
  }
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    if (!m->histogram) return;
    put(t, "     -> AggregationTemporality: %s\n", temporality_name(m->histogram->aggregation_temporality));
    for (size_t i = 0; i < m->histogram->n_data_points; i++) {
      const otlp_histogram_point *p = m->histogram->data_points[i];
      if (!p) continue;
      detailed_hist_head(t, "Histogram", i, HIST_HEAD(p));
      for (size_t k = 0; k < p->n_explicit_bounds; k++) put(t, "ExplicitBounds #%zu: %f\n", k, p->explicit_bounds[k]);
      for (size_t k = 0; k < p->n_bucket_counts; k++) put(t, "Buckets #%zu, Count: %" PRIu64 "\n", k, p->bucket_counts[k]);
      put_exemplars(t, p->exemplars, p->n_exemplars);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    if (!m->exponential_histogram) return;
    put(t, "     -> AggregationTemporality: %s\n",
        temporality_name(m->exponential_histogram->aggregation_temporality));
    for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
      const otlp_exp_histogram_point *p = m->exponential_histogram->data_points[i];
      if (!p) continue;
      detailed_hist_head(t, "ExponentialHistogram", i, HIST_HEAD(p));
      double factor = ldexp(M_LN2, -p->scale);
      const otlp_exp_buckets *neg = p->negative, *pos = p->positive;
      for (size_t k = 0; neg && k < neg->n_bucket_counts; k++) {
        size_t at = neg->n_bucket_counts - k - 1;
        double index = (double)neg->offset + (double)at;
        put(t, "Bucket [%f, %f), Count: %" PRIu64 "\n", -exp((index + 1) * factor), -exp(index * factor),
            neg->bucket_counts[at]);
      }
      if (p->zero_count) put(t, "Bucket [0, 0], Count: %" PRIu64 "\n", p->zero_count);
      for (size_t k = 0; pos && k < pos->n_bucket_counts; k++) {
        double index = (double)pos->offset + (double)k;
        put(t, "Bucket (%f, %f], Count: %" PRIu64 "\n", exp(index * factor), exp((index + 1) * factor),
            pos->bucket_counts[k]);
      }
      put_exemplars(t, p->exemplars, p->n_exemplars);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
    if (!m->summary) return;
    for (size_t i = 0; i < m->summary->n_data_points; i++) {
      const otlp_summary_point *p = m->summary->data_points[i];
      if (!p) continue;
      detailed_point_head(t, "Summary", i, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano);
      put(t, "Count: %" PRIu64 "\nSum: %f\n", p->count, p->sum);
      for (size_t k = 0; k < p->n_quantile_values; k++)
        if (p->quantile_values[k])
          put(t, "QuantileValue #%zu: Quantile %f, Value %f\n", k, p->quantile_values[k]->quantile,
              p->quantile_values[k]->value);
    }
    break;
  default: break;
  }
}

static void detailed(tbuf *t, const otlp_request *req) {
  for (size_t i = 0; i < req->n_resource_metrics; i++) {
    const otlp_resource_metrics *rm = req->resource_metrics[i];
    if (!rm) continue;
    put(t, "ResourceMetrics #%zu\nResource SchemaURL: %s\n", i, str(rm->schema_url));
    if (rm->resource) put_attrs(t, "Resource attributes", "", rm->resource->attributes, rm->resource->n_attributes);
    for (size_t j = 0; j < rm->n_scope_metrics; j++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[j];
      if (!sm) continue;
      put(t, "ScopeMetrics #%zu\nScopeMetrics SchemaURL: %s\n", j, str(sm->schema_url));
      put(t, "InstrumentationScope %s %s\n", sm->scope ? str(sm->scope->name) : "",
          sm->scope ? str(sm->scope->version) : "");
      if (sm->scope) put_attrs(t, "InstrumentationScope attributes", "", sm->scope->attributes, sm->scope->n_attributes);
      for (size_t k = 0; k < sm->n_metrics; k++) {
        if (!sm->metrics[k]) continue;
        put(t, "Metric #%zu\n", k);
        detailed_metric(t, sm->metrics[k]);
      }
    }
  }
}

/* ---- normal --------------------------------------------------------------------------------------------- */

static void put_attr_list(tbuf *t, otlp_kv **kv, size_t n, const char *sep) {
  for (size_t i = 0; i < n; i++) {
    if (!kv[i]) continue;
    if (i) put(t, "%s", sep);
    put(t, "%s=", str(kv[i]->key));
    put_value_plain(t, kv[i]->value);
  }
}

static void put_gov(tbuf *t, double v) {
  char num[64];
  fmt_shortest(num, sizeof num, v, 1);
  put(t, "%s", num);
}

static void normal_point_head(tbuf *t, const otlp_metric *m, otlp_kv **kv, size_t n) {
  put(t, "%s{", str(m->name));
  put_attr_list(t, kv, n, ",");
  put(t, "} ");
}

/* normal_point_head, then the count, sum, min and max of a histogram or exponential-histogram point. */
static void normal_hist_head(tbuf *t, const otlp_metric *m, hist_head s) {
  normal_point_head(t, m, s.attrs, s.n_attrs);
  put(t, "count=%" PRIu64, s.count);
  if (s.sum) put(t, " sum="), put_gov(t, *s.sum);
  if (s.min) put(t, " min="), put_gov(t, *s.min);
  if (s.max) put(t, " max="), put_gov(t, *s.max);
}

static void normal_metric(tbuf *t, const otlp_metric *m) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: {
    bool sum = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    if (sum ? !m->sum : !m->gauge) return;
    otlp_number_point **pts = sum ? m->sum->data_points : m->gauge->data_points;
    size_t n = sum ? m->sum->n_data_points : m->gauge->n_data_points;
    for (size_t i = 0; i < n; i++) {
      const otlp_number_point *p = pts[i];
      if (!p) continue;
      normal_point_head(t, m, p->attributes, p->n_attributes);
      if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
        put(t, "%" PRId64, p->as_int);
      else if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
        put_gov(t, p->as_double);
      putn(t, "\n", 1);
    }
    break;
  }
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    if (!m->histogram) return;
    for (size_t i = 0; i < m->histogram->n_data_points; i++) {
      const otlp_histogram_point *p = m->histogram->data_points[i];
      if (!p) continue;
      normal_hist_head(t, m, HIST_HEAD(p));
      for (size_t k = 0; k < p->n_bucket_counts; k++) {
        if (k < p->n_explicit_bounds) put(t, " le"), put_gov(t, p->explicit_bounds[k]), put(t, "=");
        else put(t, " ");
        put(t, "%" PRIu64, p->bucket_counts[k]);
      }
      putn(t, "\n", 1);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    if (!m->exponential_histogram) return;
    for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
      const otlp_exp_histogram_point *p = m->exponential_histogram->data_points[i];
      if (!p) continue;
      normal_hist_head(t, m, HIST_HEAD(p));
      double base = pow(2, pow(2, -(double)p->scale));
      const otlp_exp_buckets *bs[2] = {p->negative, p->positive};
      for (int s = 0; s < 2; s++)
        for (size_t k = 0; bs[s] && k < bs[s]->n_bucket_counts; k++) {
          put(t, " le"), put_gov(t, pow(base, (double)bs[s]->offset + (double)k));
          put(t, "=%" PRIu64, bs[s]->bucket_counts[k]);
        }
      if (p->zero_count) put(t, " zero_count"), put_gov(t, p->zero_threshold), put(t, "=%" PRIu64, p->zero_count);
      putn(t, "\n", 1);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
    if (!m->summary) return;
    for (size_t i = 0; i < m->summary->n_data_points; i++) {
      const otlp_summary_point *p = m->summary->data_points[i];
      if (!p) continue;
      normal_point_head(t, m, p->attributes, p->n_attributes);
      put(t, "count=%" PRIu64 " sum=%f", p->count, p->sum);
      for (size_t k = 0; k < p->n_quantile_values; k++)
        if (p->quantile_values[k]) {
          put(t, " q"), put_gov(t, p->quantile_values[k]->quantile);
          put(t, "="), put_gov(t, p->quantile_values[k]->value);
        }
      putn(t, "\n", 1);
    }
    break;
  default: break;
  }
}

static void normal(tbuf *t, const otlp_request *req) {
  for (size_t i = 0; i < req->n_resource_metrics; i++) {
    const otlp_resource_metrics *rm = req->resource_metrics[i];
    if (!rm) continue;
    put(t, "ResourceMetrics #%zu", i);
    if (rm->schema_url && rm->schema_url[0]) put(t, " %s", rm->schema_url);
    if (rm->resource && rm->resource->n_attributes) {
      put(t, " ");
      put_attr_list(t, rm->resource->attributes, rm->resource->n_attributes, " ");
    }
    putn(t, "\n", 1);
    for (size_t j = 0; j < rm->n_scope_metrics; j++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[j];
      if (!sm) continue;
      put(t, "ScopeMetrics #%zu", j);
      if (sm->scope && sm->scope->name && sm->scope->name[0]) {
        put(t, " %s", sm->scope->name);
        if (sm->scope->version && sm->scope->version[0]) put(t, "@%s", sm->scope->version);
      }
      if (sm->schema_url && sm->schema_url[0]) put(t, " %s", sm->schema_url);
      if (sm->scope && sm->scope->n_attributes) {
        put(t, " ");
        put_attr_list(t, sm->scope->attributes, sm->scope->n_attributes, " ");
      }
      putn(t, "\n", 1);
      for (size_t k = 0; k < sm->n_metrics; k++)
        if (sm->metrics[k]) normal_metric(t, sm->metrics[k]);
    }
  }
}

/* ---- public --------------------------------------------------------------------------------------------- */

int debug_exporter_format(const otlp_request *req, int verbosity, wire_buf *out, wire_err *err) {
  tbuf t = {.b = out, .err = err};
  size_t metrics = 0;
  for (size_t i = 0; req && i < req->n_resource_metrics; i++) {
    const otlp_resource_metrics *rm = req->resource_metrics[i];
    for (size_t j = 0; rm && j < rm->n_scope_metrics; j++)
      if (rm->scope_metrics[j]) metrics += rm->scope_metrics[j]->n_metrics;
  }
  put(&t, "Metrics {resource metrics: %zu, metrics: %zu, data points: %" PRIu64 "}\n",
      req ? req->n_resource_metrics : 0, metrics, req ? wire_otlp_count_points(req) : 0);
  if (req && verbosity == DEBUG_VERBOSITY_DETAILED) detailed(&t, req);
  else if (req && verbosity == DEBUG_VERBOSITY_NORMAL) normal(&t, req);
  return t.failed ? -1 : 0;
}

void debug_exporter_set_output(void *state, FILE *out) {
  debug_exp *d = state;
  if (d) d->out = out;
}

static int debug_create(const component_create_args *args, void **state, wire_err *err) {
  const debug_exporter_config *c = args->config;
  debug_exp *d = calloc(1, sizeof *d);
  if (!d || !(d->id = strdup(args->id ? args->id : "debug"))) {
    free(d);
    return wire_err_set(err, WIRE_E_NOMEM, "debug exporter: out of memory");
  }
  d->host = args->host;
  d->verbosity = c ? c->verbosity : DEBUG_VERBOSITY_BASIC;
  d->sampling_initial = c ? c->sampling_initial : 2;
  d->sampling_thereafter = c ? c->sampling_thereafter : 1;
  d->out = (!c || c->use_internal_logger) ? stderr : stdout;
  d->window = -1;
  wire_buf_init(&d->text, DEBUG_MAX_TEXT);
  *state = d;
  return 0;
}

static int debug_start(void *state, wire_err *err) {
  (void)state;
  (void)err;
  return 0;
}

/* The Collector logger's sampling: per second, the first `initial` batches, then every `thereafter`-th. */
static bool sampled(debug_exp *d) {
  int64_t sec = wire_now_ns() / 1000000000LL;
  if (sec != d->window) {
    d->window = sec;
    d->in_window = 0;
  }
  int64_t n = ++d->in_window;
  if (n <= d->sampling_initial) return true;
  if (d->sampling_thereafter <= 0) return false;
  return (n - d->sampling_initial) % d->sampling_thereafter == 0;
}

static int debug_consume(void *state, component_metrics *m, wire_err *err) {
  (void)err;
  debug_exp *d = state;
  if (sampled(d)) {
    wire_err e2;
    wire_buf_reset(&d->text);
    if (debug_exporter_format(metrics_request(m, NULL), d->verbosity, &d->text, &e2) < 0)
      wire_buf_append_str(&d->text, "... (output cut: the batch's text is over the size limit)\n", NULL);
    if (d->out && d->text.len) {
      fwrite(d->text.data, 1, d->text.len, d->out);
      fflush(d->out);
    }
    if (d->text.cap > (1u << 20)) { /* keep at most 1 MiB between batches */
      wire_buf_free(&d->text);
      wire_buf_init(&d->text, DEBUG_MAX_TEXT);
    }
  }
  if (d->host && d->host->count) d->host->count(d->host, "otelcol_exporter_sent_metric_points", d->id, m->points);
  metrics_unref(m);
  return 0;
}

static int debug_shutdown(void *state, wire_err *err) {
  (void)err;
  debug_exp *d = state;
  if (d->out) fflush(d->out);
  return 0;
}

static void debug_destroy(void *state) {
  debug_exp *d = state;
  if (!d) return;
  wire_buf_free(&d->text);
  free(d->id);
  free(d);
}

const component_hooks debug_exporter_hooks = {
    .create = debug_create,
    .start = debug_start,
    .consume_metrics = debug_consume,
    .shutdown = debug_shutdown,
    .destroy = debug_destroy,
};
