/* test_pbwrite.c — the streaming protobuf writer (wire/pbwrite.h): for the same OTLP messages, its bytes are
 * exactly protobuf-c's pack output (scalars at varint boundaries, negative zigzag values, proto3 default
 * omission, oneofs, packed repeated fields, nested messages whose length reservation is too small, exact or
 * too large), truncation, and sticky failure at the buffer's limit. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/otlp.h"
#include "wire/pbwrite.h"

/* protobuf-c's encoding of a message, in a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *out = malloc(*len ? *len : 1);
  protobuf_c_message_pack(m, out);
  return out;
}

static void check_same(const wire_buf *b, const ProtobufCMessage *m, const char *what) {
  size_t n;
  uint8_t *want = pack(m, &n);
  CHECK_MSG(b->len == n && (n == 0 || memcmp(b->data, want, n) == 0), "%s: %zu bytes written, protobuf-c packs %zu",
            what, b->len, n);
  free(want);
}

/* ---- writers for a few OTLP messages, in field-number order ---- */

static void write_any(pbw *w, const otlp_any *v) {
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: pbw_string(w, 1, v->string_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE: pbw_varint(w, 2, v->bool_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: pbw_varint(w, 3, (uint64_t)v->int_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: pbw_double(w, 4, v->double_value); break;
  default: break;
  }
}

static void write_kvs(pbw *w, uint32_t field, otlp_kv **kv, size_t n, unsigned reserve) {
  for (size_t i = 0; i < n; i++) {
    pbw_mark m = pbw_begin(w, field, reserve);
    pbw_string_nz(w, 1, kv[i]->key);
    pbw_mark v = pbw_begin(w, 2, reserve);
    write_any(w, kv[i]->value);
    pbw_end(w, v);
    pbw_end(w, m);
  }
}

static void write_number_point(pbw *w, const otlp_number_point *p, unsigned reserve) {
  pbw_fixed64_nz(w, 2, p->start_time_unix_nano);
  pbw_fixed64_nz(w, 3, p->time_unix_nano);
  if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
    pbw_double(w, 4, p->as_double);
  if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
    pbw_fixed64(w, 6, (uint64_t)p->as_int);
  write_kvs(w, 7, p->attributes, p->n_attributes, reserve);
  pbw_varint_nz(w, 8, p->flags);
}

/* ---- fixtures ---- */

static otlp_kv g_kv[4];
static otlp_any g_any[4];
static otlp_kv *g_kvp[4];

static void make_attrs(void) {
  static const otlp_kv kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
  static const otlp_any any_init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  const char *keys[4] = {"http.request.method", "http.response.status_code", "ratio", "ok"};
  for (int i = 0; i < 4; i++) {
    g_kv[i] = kv_init;
    g_any[i] = any_init;
    g_kv[i].key = (char *)keys[i];
    g_kv[i].value = &g_any[i];
    g_kvp[i] = &g_kv[i];
  }
  g_any[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  g_any[0].string_value = "GET";
  g_any[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  g_any[1].int_value = -200; /* a negative int64: a 10-byte varint */
  g_any[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
  g_any[2].double_value = 0.0; /* a oneof: written even when zero */
  g_any[3].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
  g_any[3].bool_value = 0;
}

/* ---- cases ---- */

static void test_number_points(void) {
  make_attrs();
  static const uint64_t times[] = {0, 1, 127, 128, 16383, 16384, 1700000000000000000ULL, UINT64_MAX};
  static const int64_t ints[] = {0, 1, -1, INT64_MIN, INT64_MAX};
  for (unsigned reserve = 1; reserve <= 3; reserve++) {
    for (size_t t = 0; t < sizeof times / sizeof times[0]; t++) {
      for (size_t v = 0; v < sizeof ints / sizeof ints[0]; v++) {
        otlp_number_point p = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
        p.start_time_unix_nano = times[t];
        p.time_unix_nano = times[(t + 3) % 8];
        p.flags = (uint32_t)times[t];
        p.attributes = g_kvp;
        p.n_attributes = v % 5;
        if (v & 1) {
          p.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
          p.as_int = ints[v];
        } else {
          p.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
          p.as_double = v == 0 ? -0.0 : (double)ints[v] / 3;
        }
        wire_buf b;
        wire_buf_init(&b, 0);
        pbw w;
        pbw_init(&w, &b, NULL);
        write_number_point(&w, &p, reserve);
        CHECK(pbw_ok(&w));
        check_same(&b, &p.base, "number point");
        wire_buf_free(&b);
      }
    }
  }
}

static void test_histogram_point(void) {
  make_attrs();
  double bounds[15];
  uint64_t counts[16];
  for (int i = 0; i < 15; i++) bounds[i] = i * 2.5 - 5;
  for (int i = 0; i < 16; i++) counts[i] = (uint64_t)i * 1000;
  otlp_histogram_point p = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
  p.start_time_unix_nano = 1;
  p.time_unix_nano = 2;
  p.count = 120000;
  p.sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p.sum = 0; /* optional: written even when zero */
  p.n_bucket_counts = 16;
  p.bucket_counts = counts;
  p.n_explicit_bounds = 15;
  p.explicit_bounds = bounds;
  p.attributes = g_kvp;
  p.n_attributes = 2;
  p.min_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
  p.min = -INFINITY;
  p.max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
  p.max = 1e300;
  wire_buf b;
  wire_buf_init(&b, 0);
  pbw w;
  pbw_init(&w, &b, NULL);
  pbw_fixed64_nz(&w, 2, p.start_time_unix_nano);
  pbw_fixed64_nz(&w, 3, p.time_unix_nano);
  pbw_fixed64_nz(&w, 4, p.count);
  pbw_double(&w, 5, p.sum);
  pbw_packed_fixed64(&w, 6, p.bucket_counts, p.n_bucket_counts);
  pbw_packed_double(&w, 7, p.explicit_bounds, p.n_explicit_bounds);
  write_kvs(&w, 9, p.attributes, p.n_attributes, 1);
  pbw_double(&w, 11, p.min);
  pbw_double(&w, 12, p.max);
  CHECK(pbw_ok(&w));
  check_same(&b, &p.base, "histogram point");
  wire_buf_free(&b);
}

static void test_exp_buckets(void) {
  static const int32_t offsets[] = {0, -1, 1, INT32_MIN, INT32_MAX, -64, 63};
  uint64_t counts[] = {0, 1, 127, 128, 300, 1ULL << 35, UINT64_MAX};
  for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
    otlp_exp_buckets p = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    p.offset = offsets[i];
    p.n_bucket_counts = i; /* 0..6 entries; none: the field is omitted */
    p.bucket_counts = counts;
    wire_buf b;
    wire_buf_init(&b, 0);
    pbw w;
    pbw_init(&w, &b, NULL);
    pbw_sint32_nz(&w, 1, p.offset);
    pbw_packed_varint(&w, 2, p.bucket_counts, p.n_bucket_counts);
    CHECK(pbw_ok(&w));
    check_same(&b, &p.base, "exponential buckets");
    wire_buf_free(&b);
  }
}

/* A Metric whose Sum holds n points: nested lengths of every size, under every reservation. */
static void test_nested_lengths(void) {
  make_attrs();
  static const size_t sizes[] = {0, 1, 3, 200, 3000};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    otlp_number_point *pts = calloc(n + 1, sizeof *pts);
    otlp_number_point **pp = calloc(n + 1, sizeof *pp);
    for (size_t i = 0; i < n; i++) {
      otlp_number_point init = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
      pts[i] = init;
      pts[i].time_unix_nano = 1000 + i;
      pts[i].value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
      pts[i].as_int = (int64_t)i;
      pts[i].attributes = g_kvp;
      pts[i].n_attributes = i % 5;
      pp[i] = &pts[i];
    }
    otlp_sum sum = OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
    sum.n_data_points = n;
    sum.data_points = pp;
    sum.aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    sum.is_monotonic = 1;
    otlp_metric m = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    m.name = "requests";
    m.description = ""; /* empty: omitted */
    m.unit = "1";
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m.sum = &sum;
    for (unsigned reserve = 1; reserve <= 5; reserve++) {
      wire_buf b;
      wire_buf_init(&b, 0);
      pbw w;
      pbw_init(&w, &b, NULL);
      pbw_string_nz(&w, 1, m.name);
      pbw_string_nz(&w, 2, m.description);
      pbw_string_nz(&w, 3, m.unit);
      pbw_mark s = pbw_begin(&w, 7, reserve);
      for (size_t i = 0; i < n; i++) {
        pbw_mark pm = pbw_begin(&w, 1, reserve);
        write_number_point(&w, pp[i], reserve);
        pbw_end(&w, pm);
      }
      pbw_varint_nz(&w, 2, sum.aggregation_temporality);
      pbw_varint_nz(&w, 3, sum.is_monotonic);
      pbw_end(&w, s);
      CHECK(pbw_ok(&w));
      check_same(&b, &m.base, "metric");
      wire_buf_free(&b);
    }
    free(pts);
    free(pp);
  }
}

static void test_truncate_and_append(void) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_buf_append(&b, "xy", 2, NULL); /* the writer appends after existing content */
  pbw w;
  pbw_init(&w, &b, NULL);
  size_t pos = pbw_pos(&w);
  pbw_mark m = pbw_begin(&w, 5, 1);
  pbw_string(&w, 1, "dropped");
  pbw_end(&w, m);
  CHECK(b.len > pos);
  pbw_truncate(&w, pos);
  CHECK_EQ(b.len, 2);
  pbw_string(&w, 1, "kept");
  static const uint8_t want[] = {'x', 'y', 0x0a, 4, 'k', 'e', 'p', 't'};
  CHECK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
  /* strings and empty submessages */
  wire_buf_reset(&b);
  pbw_string_nz(&w, 1, "");
  pbw_string_nz(&w, 1, NULL);
  pbw_bytes_nz(&w, 2, "", 0);
  pbw_varint_nz(&w, 3, 0);
  pbw_double_nz(&w, 4, 0.0);
  CHECK_EQ(b.len, 0);
  pbw_double_nz(&w, 4, -0.0); /* not the zero bit pattern: written */
  CHECK_EQ(b.len, 9);
  m = pbw_begin(&w, 6, 3);
  pbw_end(&w, m);
  CHECK_EQ(b.len, 11);
  CHECK_EQ(b.data[9], 0x32);
  CHECK_EQ(b.data[10], 0);
  wire_buf_free(&b);
}

static void test_limit_is_sticky(void) {
  wire_buf b;
  wire_buf_init(&b, 32);
  wire_err err;
  wire_err_clear(&err);
  pbw w;
  pbw_init(&w, &b, &err);
  pbw_string(&w, 1, "0123456789");
  CHECK(pbw_ok(&w));
  pbw_mark m = pbw_begin(&w, 2, 1);
  pbw_string(&w, 1, "0123456789abcdefghijklmnopqrstuvwxyz");
  pbw_end(&w, m);
  CHECK(!pbw_ok(&w));
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  size_t len = b.len;
  pbw_varint(&w, 3, 1); /* later calls do nothing */
  pbw_end(&w, m);
  CHECK_EQ(b.len, len);
  CHECK(b.len <= 32);
  wire_buf_free(&b);
}

int main(void) {
  RUN(test_number_points);
  RUN(test_histogram_point);
  RUN(test_exp_buckets);
  RUN(test_nested_lengths);
  RUN(test_truncate_and_append);
  RUN(test_limit_is_sticky);
  return test_finish();
}
