/* test_otlp_codec.c — the OTLP codec: round trips, limits, every kind of malformed protobuf gives a precise
 * error (never a crash), nesting is bounded, UTF-8 handling, the arena, and the semantic check pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample_otlp.h"
#include "testlib.h"
#include "wire/otlp.h"
#include "wire/pbwalk.h"

/* ---- seed corpus for fuzz_otlp_decode ----
 * With OTELC_WRITE_CORPUS=<dir> in the environment, the messages built here (valid and malformed) are also
 * written to <dir>, which is how tests/fuzz/corpus/otlp_decode/ was made. */
static void corpus_save(const char *name, const void *p, size_t n) {
  const char *dir = getenv("OTELC_WRITE_CORPUS");
  if (!dir || !*dir) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  if (n) fwrite(p, 1, n, f);
  fclose(f);
}

/* ---- a tiny protobuf writer for hand-made (and malformed) messages ---- */

static void put_varint(wire_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  wire_buf_append(b, tmp, n, NULL);
}

static void put_tag(wire_buf *b, unsigned field, unsigned wt) { put_varint(b, ((uint64_t)field << 3) | wt); }

static void put_len(wire_buf *b, unsigned field, const void *p, size_t n) {
  put_tag(b, field, 2);
  put_varint(b, n);
  wire_buf_append(b, p, n, NULL);
}

static void put_str(wire_buf *b, unsigned field, const char *s) { put_len(b, field, s, strlen(s)); }

/* Replaces the content of `inner` by `field { inner }`. */
static void wrap(wire_buf *inner, unsigned field) {
  wire_buf out;
  wire_buf_init(&out, 0);
  put_len(&out, field, inner->data, inner->len);
  wire_buf_free(inner);
  *inner = out;
}

/* Wraps a Metric's bytes into request { resource_metrics { scope_metrics { metrics { ... } } } }. */
static void wrap_metric(wire_buf *metric) {
  wrap(metric, 2); /* ScopeMetrics.metrics */
  wrap(metric, 2); /* ResourceMetrics.scope_metrics */
  wrap(metric, 1); /* ExportMetricsServiceRequest.resource_metrics */
}

static otlp_request *decode(const wire_buf *b, otlp_arena *a, wire_err *err) {
  return wire_otlp_decode_request(b->data ? b->data : (const uint8_t *)"", b->len, 1 << 20, a, err);
}

static void encode(const otlp_request *req, wire_buf *out) {
  wire_err err;
  wire_buf_init(out, 0);
  CHECK_EQ(wire_otlp_encode_request(req, out, &err), 0);
}

/* ---- round trips ---- */

static void check_full_values(const otlp_request *r) {
  CHECK_EQ(r->n_resource_metrics, 1);
  const otlp_resource_metrics *rm = r->resource_metrics[0];
  CHECK_STR(rm->schema_url, "https://opentelemetry.io/schemas/1.21.0");
  const otlp_resource *res = rm->resource;
  CHECK_EQ(res->n_attributes, 7);
  CHECK_EQ(res->dropped_attributes_count, 1);
  CHECK_STR(res->attributes[0]->value->string_value, "checkout");
  CHECK_EQ(res->attributes[1]->value->int_value, 8);
  CHECK_EQ(res->attributes[2]->value->bool_value, 1);
  CHECK_DBL(res->attributes[3]->value->double_value, 0.25);
  CHECK_EQ(res->attributes[4]->value->bytes_value.len, 4);
  CHECK_EQ(res->attributes[4]->value->bytes_value.data[0], 0xde);
  const otlp_array *tags = res->attributes[5]->value->array_value;
  CHECK_EQ(tags->n_values, 3);
  CHECK_EQ(tags->values[1]->int_value, -1);
  CHECK_STR(tags->values[2]->array_value->values[0]->string_value, "x");
  const otlp_kvlist *labels = res->attributes[6]->value->kvlist_value;
  CHECK_EQ(labels->n_values, 2);
  CHECK_STR(labels->values[0]->key, "k1");
  CHECK_EQ(labels->values[1]->value->int_value, 2);

  const otlp_scope_metrics *sm = rm->scope_metrics[0];
  CHECK_STR(sm->scope->name, "otelc.test");
  CHECK_STR(sm->scope->version, "1.2.3");
  CHECK_EQ(sm->n_metrics, 6);

  const otlp_metric *m = sm->metrics[0];
  CHECK_STR(m->name, "requests");
  CHECK_EQ(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
  CHECK(m->sum->is_monotonic);
  CHECK_EQ(m->sum->data_points[0]->as_int, 42);
  CHECK_EQ(m->sum->data_points[1]->as_int, -7);
  CHECK_EQ_U64(m->sum->data_points[0]->time_unix_nano, SAMPLE_TIME_NS);
  const otlp_exemplar *e = m->sum->data_points[0]->exemplars[0];
  CHECK_EQ(e->trace_id.len, 16);
  CHECK_EQ(e->trace_id.data[15], 16);
  CHECK_EQ(e->span_id.len, 8);
  CHECK_EQ(e->span_id.data[0], 0xa1);
  CHECK_EQ(e->as_int, 5);

  m = sm->metrics[1];
  CHECK_EQ(m->sum->aggregation_temporality,
           OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
  CHECK_DBL(m->sum->data_points[0]->as_double, 3.5);
  CHECK_EQ(m->sum->data_points[1]->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE__NOT_SET);
  CHECK_EQ(m->sum->data_points[1]->flags, 1);

  m = sm->metrics[3];
  const otlp_histogram_point *h = m->histogram->data_points[0];
  CHECK_EQ(h->count, 15);
  CHECK_EQ(h->sum_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
  CHECK_DBL(h->sum, 12.5);
  CHECK_DBL(h->min, 0.001);
  CHECK_DBL(h->max, 3.0);
  CHECK_EQ(h->n_explicit_bounds, 4);
  CHECK_EQ(h->n_bucket_counts, 5);
  CHECK_EQ(h->bucket_counts[4], 5);
  h = m->histogram->data_points[1];
  CHECK_EQ(h->sum_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT__NOT_SET);
  CHECK_EQ(h->min_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT__NOT_SET);

  m = sm->metrics[4];
  const otlp_exp_histogram_point *x = m->exponential_histogram->data_points[0];
  CHECK_EQ(x->scale, 3);
  CHECK_EQ(x->zero_count, 2);
  CHECK_EQ(x->positive->offset, 5);
  CHECK_EQ(x->negative->offset, -3);
  CHECK_EQ(x->negative->n_bucket_counts, 2);
  CHECK_DBL(x->sum, -1.5);
  CHECK_DBL(x->min, -4);
  CHECK_DBL(x->zero_threshold, 1e-9);

  m = sm->metrics[5];
  const otlp_summary_point *s = m->summary->data_points[0];
  CHECK_EQ(s->n_quantile_values, 4);
  CHECK_DBL(s->quantile_values[2]->quantile, 0.99);
  CHECK_DBL(s->quantile_values[3]->value, 25);
}

static void round_trip_full_request_in_arena(void) {
  otlp_request *req = sample_otlp_full();
  wire_buf b1, b2;
  encode(req, &b1);
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  wire_err err;
  corpus_save("valid-full", b1.data, b1.len);
  otlp_request *back = decode(&b1, &arena, &err);
  CHECK_MSG(back != NULL, "decode: %s", err.msg);
  if (back) {
    check_full_values(back);
    CHECK_EQ_U64(wire_otlp_count_points(back), SAMPLE_FULL_POINTS);
    encode(back, &b2);
    CHECK_EQ(b2.len, b1.len);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    wire_buf_free(&b2);
  }
  CHECK(otlp_arena_reserved(&arena) > 0);
  otlp_arena_reset(&arena);
  /* the arena is reusable after a reset */
  back = decode(&b1, &arena, &err);
  CHECK(back != NULL);
  otlp_arena_free(&arena);
  CHECK_EQ(otlp_arena_reserved(&arena), 0);
  wire_buf_free(&b1);
  sample_otlp_free(req);
}

static void round_trip_with_malloc(void) {
  otlp_request *req = sample_otlp_parametric(9, 4, 3);
  CHECK_EQ_U64(wire_otlp_count_points(req), 36);
  wire_buf b;
  encode(req, &b);
  corpus_save("valid-parametric", b.data, b.len);
  wire_err err;
  otlp_request *back = decode(&b, NULL, &err);
  CHECK(back != NULL);
  if (back) {
    CHECK_EQ_U64(wire_otlp_count_points(back), 36);
    CHECK_STR(back->resource_metrics[0]->scope_metrics[0]->metrics[3]->name, "metric.3");
    CHECK_STR(back->resource_metrics[0]->scope_metrics[0]->metrics[1]->gauge->data_points[2]->attributes[1]->value->string_value,
              "value-1-2");
  }
  wire_otlp_request_free(back, NULL);
  wire_buf_free(&b);
  sample_otlp_free(req);
}

static void empty_input_is_an_empty_request(void) {
  wire_err err;
  otlp_request *r = wire_otlp_decode_request(NULL, 0, 100, NULL, &err);
  CHECK(r != NULL);
  if (r) CHECK_EQ(r->n_resource_metrics, 0);
  wire_otlp_request_free(r, NULL);
}

static void response_round_trip(void) {
  otlp_response resp = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  otlp_partial_success ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
  ps.rejected_data_points = 3;
  ps.error_message = "rejected 3 data points";
  resp.partial_success = &ps;
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_response(&resp, &b, &err), 0);
  corpus_save("valid-response", b.data, b.len);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  otlp_response *back = wire_otlp_decode_response(b.data, b.len, 4096, &a, &err);
  CHECK(back && back->partial_success);
  if (back && back->partial_success) {
    CHECK_EQ(back->partial_success->rejected_data_points, 3);
    CHECK_STR(back->partial_success->error_message, "rejected 3 data points");
  }
  otlp_arena_free(&a);
  wire_buf_free(&b);
}

static void status_round_trip(void) {
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  st.code = 8;
  st.message = "memory limit";
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_message(&st.base, "grpc status", &b, &err), 0);
  corpus_save("valid-status", b.data, b.len);
  Google__Rpc__Status *back = wire_otlp_decode_status(b.data, b.len, 1024, NULL, &err);
  CHECK(back != NULL);
  if (back) {
    CHECK_EQ(back->code, 8);
    CHECK_STR(back->message, "memory limit");
  }
  wire_otlp_status_free(back, NULL);
  wire_buf_free(&b);
}

/* ---- limits ---- */

static void size_limits(void) {
  otlp_request *req = sample_otlp_full();
  wire_buf b;
  encode(req, &b);
  wire_err err;
  CHECK(wire_otlp_decode_request(b.data, b.len, b.len - 1, NULL, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "exceeds the limit");
  otlp_request *ok = wire_otlp_decode_request(b.data, b.len, b.len, NULL, &err);
  CHECK(ok != NULL);
  wire_otlp_request_free(ok, NULL);

  /* encoding into a buffer that cannot hold it fails and leaves the buffer as it was */
  wire_buf small;
  wire_buf_init(&small, b.len + 2);
  CHECK_EQ(wire_buf_append(&small, "abc", 3, &err), 0);
  CHECK_EQ(wire_otlp_encode_request(req, &small, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_EQ(small.len, 3);
  /* appends after what is already there */
  small.limit = b.len + 3;
  CHECK_EQ(wire_otlp_encode_request(req, &small, &err), 0);
  CHECK_EQ(small.len, b.len + 3);
  CHECK(memcmp(small.data + 3, b.data, b.len) == 0);
  wire_buf_free(&small);

  /* the arena's limit bounds the decoded size */
  otlp_arena a;
  otlp_arena_init(&a, 2048);
  CHECK(wire_otlp_decode_request(b.data, b.len, 0, &a, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "arena limit");
  CHECK(otlp_arena_reserved(&a) <= 2048);
  otlp_arena_free(&a);
  wire_buf_free(&b);
  sample_otlp_free(req);
}

static void amplification_is_bounded_by_the_arena(void) {
  /* 100 KB of empty KeyValues in a Resource: ~50,000 sub-messages; a 1 MiB arena must stop it cleanly. */
  wire_buf kvs;
  wire_buf_init(&kvs, 0);
  for (int i = 0; i < 50000; i++) put_len(&kvs, 1, "", 0);
  wrap(&kvs, 1); /* ResourceMetrics.resource */
  wrap(&kvs, 1); /* request.resource_metrics */
  otlp_arena a;
  otlp_arena_init(&a, 1 << 20);
  wire_err err;
  CHECK(decode(&kvs, &a, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  otlp_arena_reset(&a);
  a.limit = 0;
  otlp_request *r = decode(&kvs, &a, &err);
  CHECK(r != NULL);
  if (r) CHECK_EQ(r->resource_metrics[0]->resource->n_attributes, 50000);
  otlp_arena_free(&a);
  wire_buf_free(&kvs);
}

/* ---- malformed input ---- */

static void truncation_at_every_byte_is_an_error(void) {
  otlp_request *req = sample_otlp_full();
  wire_buf b;
  encode(req, &b);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  int failures = 0;
  for (size_t n = 1; n < b.len; n++) {
    uint8_t *copy = malloc(n); /* exactly n bytes, so ASan sees any read past the end */
    memcpy(copy, b.data, n);
    if (n == b.len / 2 || n == b.len - 1) {
      char name[32];
      snprintf(name, sizeof name, "truncated-%zu", n);
      corpus_save(name, copy, n);
    }
    wire_err err = {0};
    otlp_request *r = wire_otlp_decode_request(copy, n, 0, &a, &err);
    if (r != NULL || err.code != WIRE_E_INVALID || !strstr(err.msg, "invalid protobuf at byte")) failures++;
    free(copy);
    otlp_arena_reset(&a);
  }
  CHECK_EQ(failures, 0);
  otlp_arena_free(&a);
  wire_buf_free(&b);
  sample_otlp_free(req);
}

static void check_invalid(const wire_buf *b, const char *expect) {
  static int saved;
  char name[32];
  snprintf(name, sizeof name, "invalid-%02d", saved++);
  if (b->len < 4096) corpus_save(name, b->data, b->len);
  wire_err err = {0};
  otlp_request *r = decode(b, NULL, &err);
  CHECK(r == NULL);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  CHECK_CONTAINS(err.msg, expect);
  wire_otlp_request_free(r, NULL);
}

static void wrong_wire_types_are_rejected(void) {
  wire_buf b;
  /* resource_metrics as a varint */
  wire_buf_init(&b, 0);
  put_tag(&b, 1, 0);
  put_varint(&b, 1);
  check_invalid(&b, "otlp: request: invalid protobuf at byte 0: field 1 (ExportMetricsServiceRequest.resource_metrics) "
                    "has wire type 0 (varint), expected 2 (length-delimited)");
  wire_buf_free(&b);

  /* Metric.name as a fixed64, deep inside */
  wire_buf_init(&b, 0);
  put_tag(&b, 1, 1);
  wire_buf_append(&b, "12345678", 8, NULL);
  wrap_metric(&b);
  check_invalid(&b, "field 1 (Metric.name) has wire type 1 (64-bit), expected 2 (length-delimited)");
  wire_buf_free(&b);

  /* NumberDataPoint.time_unix_nano (fixed64) as a varint */
  wire_buf_init(&b, 0);
  put_tag(&b, 3, 0);
  put_varint(&b, 5);
  wrap(&b, 1); /* Gauge.data_points */
  wrap(&b, 5); /* Metric.gauge */
  wrap_metric(&b);
  check_invalid(&b, "field 3 (NumberDataPoint.time_unix_nano) has wire type 0 (varint), expected 1 (64-bit)");
  wire_buf_free(&b);

  /* groups and undefined wire types, known or unknown field */
  const struct { uint8_t bytes[2]; size_t n; const char *expect; } cases[] = {
      {{0x0b}, 1, "field 1 (ExportMetricsServiceRequest.resource_metrics) uses wire type 3 (start-group)"},
      {{0x7c}, 1, "field 15 (unknown to ExportMetricsServiceRequest) uses wire type 4 (end-group)"},
      {{0x0e}, 1, "has undefined wire type 6"},
      {{0x3f}, 1, "field 7 (unknown to ExportMetricsServiceRequest) has undefined wire type 7"},
      {{0x00, 0x01}, 2, "field number 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wire_buf_init(&b, 0);
    wire_buf_append(&b, cases[i].bytes, cases[i].n, NULL);
    check_invalid(&b, cases[i].expect);
    wire_buf_free(&b);
  }
}

static void lengths_varints_and_packing(void) {
  wire_buf b;
  /* a length past the end, inside a ResourceMetrics */
  wire_buf_init(&b, 0);
  put_tag(&b, 2, 2);
  put_varint(&b, 99999);
  wire_buf_append(&b, "abcdef", 6, NULL);
  wrap(&b, 1);
  check_invalid(&b, "invalid protobuf at byte 3: length 99999 of field 2 (ResourceMetrics.scope_metrics) runs past "
                    "the end (6 bytes left)");
  wire_buf_free(&b);

  /* a varint of 11 bytes (AnyValue.int_value) */
  wire_buf_init(&b, 0);
  put_tag(&b, 3, 0);
  for (int i = 0; i < 10; i++) wire_buf_append(&b, "\xff", 1, NULL);
  wire_buf_append(&b, "\x01", 1, NULL);
  wrap(&b, 2); /* KeyValue.value */
  wrap(&b, 1); /* Resource.attributes */
  wrap(&b, 1); /* ResourceMetrics.resource */
  wrap(&b, 1);
  check_invalid(&b, "varint of field 3 (AnyValue.int_value) is longer than 10 bytes");
  wire_buf_free(&b);

  /* a truncated varint at the end of the message */
  wire_buf_init(&b, 0);
  put_tag(&b, 2, 0);
  wire_buf_append(&b, "\xff\xff", 2, NULL);
  wrap(&b, 7); /* Metric.sum */
  wrap_metric(&b);
  check_invalid(&b, "varint of field 2 (Sum.aggregation_temporality) is truncated (2 bytes left)");
  wire_buf_free(&b);

  /* a length encoded in 6 bytes (protobuf-c reads at most 5) */
  wire_buf_init(&b, 0);
  put_tag(&b, 1, 2);
  wire_buf_append(&b, "\x80\x80\x80\x80\x80\x00", 6, NULL);
  check_invalid(&b, "length of field 1 (ExportMetricsServiceRequest.resource_metrics) is encoded in more than 5 bytes");
  wire_buf_free(&b);

  /* packed fixed64 bucket_counts of 12 bytes */
  wire_buf_init(&b, 0);
  put_len(&b, 6, "123456789012", 12);
  wrap(&b, 1); /* Histogram.data_points */
  wrap(&b, 9); /* Metric.histogram */
  wrap_metric(&b);
  check_invalid(&b, "packed field 6 (HistogramDataPoint.bucket_counts) has 12 bytes, not a multiple of 8");
  wire_buf_free(&b);

  /* packed varints ending in a truncated one (Buckets.bucket_counts) */
  wire_buf_init(&b, 0);
  put_len(&b, 2, "\x01\x02\x83", 3);
  wrap(&b, 8);  /* ExponentialHistogramDataPoint.positive */
  wrap(&b, 1);  /* ExponentialHistogram.data_points */
  wrap(&b, 10); /* Metric.exponential_histogram */
  wrap_metric(&b);
  check_invalid(&b, "packed field 2 (Buckets.bucket_counts) holds a truncated varint");
  wire_buf_free(&b);

  /* unpacked repeated fixed64 and packed uint64 both decode; unknown fields are skipped */
  wire_buf_init(&b, 0);
  put_tag(&b, 6, 1);
  wire_buf_append(&b, "\x07\0\0\0\0\0\0\0", 8, NULL);
  put_tag(&b, 6, 1);
  wire_buf_append(&b, "\x09\0\0\0\0\0\0\0", 8, NULL);
  put_tag(&b, 7, 1);
  double bound = 2.5;
  wire_buf_append(&b, &bound, 8, NULL);
  put_tag(&b, 99, 0);
  put_varint(&b, 12345);
  put_tag(&b, 100, 5);
  wire_buf_append(&b, "abcd", 4, NULL);
  put_str(&b, 101, "future field");
  wrap(&b, 1);
  wrap(&b, 9);
  wrap_metric(&b);
  corpus_save("valid-unpacked-unknown", b.data, b.len);
  wire_err err;
  otlp_request *r = decode(&b, NULL, &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  if (r) {
    const otlp_histogram_point *p = r->resource_metrics[0]->scope_metrics[0]->metrics[0]->histogram->data_points[0];
    CHECK_EQ(p->n_bucket_counts, 2);
    CHECK_EQ(p->bucket_counts[0], 7);
    CHECK_EQ(p->bucket_counts[1], 9);
    CHECK_EQ(p->n_explicit_bounds, 1);
    CHECK_DBL(p->explicit_bounds[0], 2.5);
  }
  wire_otlp_request_free(r, NULL);
  wire_buf_free(&b);
}

/* Builds request { resource_metrics { resource { attributes { value: <AnyValue nested `levels` arrays deep> }}}}.
 * The innermost AnyValue sits at message depth 4 + 2 * levels below the request. Written back to front so
 * that even 100,000 levels take linear time. */
static void prepend_len_field(uint8_t *buf, size_t *start, unsigned field, size_t len) {
  uint8_t tmp[16];
  size_t n = 0;
  uint64_t v = len;
  tmp[n++] = (uint8_t)(field << 3 | 2);
  do {
    tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  *start -= n;
  memcpy(buf + *start, tmp, n);
}

static void nested_arrays(wire_buf *b, int levels) {
  size_t cap = 64 + (size_t)levels * 12;
  uint8_t *buf = malloc(cap);
  size_t start = cap;
  start -= 4;
  memcpy(buf + start, "leaf", 4);
  prepend_len_field(buf, &start, 1, 4); /* AnyValue.string_value */
  for (int i = 0; i < levels; i++) {
    prepend_len_field(buf, &start, 1, cap - start); /* ArrayValue.values */
    prepend_len_field(buf, &start, 5, cap - start); /* AnyValue.array_value */
  }
  prepend_len_field(buf, &start, 2, cap - start); /* KeyValue.value */
  prepend_len_field(buf, &start, 1, cap - start); /* Resource.attributes */
  prepend_len_field(buf, &start, 1, cap - start); /* ResourceMetrics.resource */
  prepend_len_field(buf, &start, 1, cap - start); /* request.resource_metrics */
  wire_buf_init(b, 0);
  wire_buf_append(b, buf + start, cap - start, NULL);
  free(buf);
}

static void deep_nesting_is_bounded(void) {
  wire_buf b;
  /* depth 4 + 2*30 = 64: exactly the limit, accepted */
  nested_arrays(&b, 30);
  corpus_save("valid-nested-30", b.data, b.len);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  wire_err err;
  otlp_request *r = decode(&b, &a, &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  if (r) {
    const otlp_any *v = r->resource_metrics[0]->resource->attributes[0]->value;
    int depth = 0;
    while (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE) {
      v = v->array_value->values[0];
      depth++;
    }
    CHECK_EQ(depth, 30);
    CHECK_STR(v->string_value, "leaf");
  }
  wire_buf_free(&b);
  /* one level more is rejected before protobuf-c recurses */
  nested_arrays(&b, 31);
  check_invalid(&b, "field 5 (AnyValue.array_value) nests deeper than 64 messages");
  wire_buf_free(&b);
  /* a hostile 100,000 levels: rejected quickly, no stack overflow */
  nested_arrays(&b, 100000);
  check_invalid(&b, "nests deeper than 64 messages");
  wire_buf_free(&b);
  otlp_arena_free(&a);
}

static void invalid_utf8_is_kept_and_fixable(void) {
  CHECK(wire_otlp_utf8_valid("plain", 5));
  CHECK(wire_otlp_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
  CHECK(!wire_otlp_utf8_valid("\xc0\x80", 2));                            /* overlong NUL */
  CHECK(!wire_otlp_utf8_valid("\xed\xa0\x80", 3));                        /* surrogate */
  CHECK(!wire_otlp_utf8_valid("\xf4\x90\x80\x80", 4));                    /* above U+10FFFF */
  CHECK(!wire_otlp_utf8_valid("\xe2\x82", 2));                            /* truncated */
  CHECK(!wire_otlp_utf8_valid("\xff", 1));

  /* Decoding keeps the bytes (like the Collector); the check pass repairs them on request. */
  wire_buf b;
  wire_buf_init(&b, 0);
  put_str(&b, 1, "bad\xff\xfe-name\xc3\xa9");
  wire_buf g;
  wire_buf_init(&g, 0);
  wire_buf p;
  wire_buf_init(&p, 0);
  put_tag(&p, 4, 1);
  double one = 1;
  wire_buf_append(&p, &one, 8, NULL);
  wire_buf kvb;
  wire_buf_init(&kvb, 0);
  put_str(&kvb, 1, "k\x80");
  wire_buf val;
  wire_buf_init(&val, 0);
  put_str(&val, 1, "v\xe2\x82");
  put_len(&kvb, 2, val.data, val.len);
  put_len(&p, 7, kvb.data, kvb.len);
  put_len(&g, 1, p.data, p.len);
  put_len(&b, 5, g.data, g.len);
  wrap_metric(&b);
  corpus_save("valid-bad-utf8", b.data, b.len);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  wire_err err;
  otlp_request *r = decode(&b, &a, &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  if (r) {
    otlp_metric *m = r->resource_metrics[0]->scope_metrics[0]->metrics[0];
    CHECK_STR(m->name, "bad\xff\xfe-name\xc3\xa9");
    wire_otlp_check_report rep;
    CHECK_EQ(wire_otlp_check_request(r, &a, 0, &rep), 0);
    CHECK_EQ(rep.problems, 0);
    CHECK_STR(rep.message, "");
    CHECK_EQ(wire_otlp_check_request(r, &a, WIRE_OTLP_FIX_UTF8, &rep), 0);
    CHECK_EQ(rep.fixed, 3);
    CHECK_STR(m->name, "bad?" "?-name\xc3\xa9");
    CHECK_STR(m->gauge->data_points[0]->attributes[0]->key, "k?");
    CHECK_STR(m->gauge->data_points[0]->attributes[0]->value->string_value, "v??");
    CHECK_CONTAINS(rep.message, "repaired 3 values: 3 strings were not valid UTF-8");
  }
  otlp_arena_free(&a);
  wire_buf_free(&b);
  wire_buf_free(&g);
  wire_buf_free(&p);
  wire_buf_free(&kvb);
  wire_buf_free(&val);
}

/* ---- semantic checks ---- */

/* A request of good and bad metrics; returns the number of good data points it holds. */
static otlp_request *request_with_problems(uint64_t *good_points) {
  otlp_request *req = sample_otlp_full(); /* 10 good points */
  /* metrics[6]: no data at all */
  sample_otlp_add_metric(req, sample_otlp_metric_new("nodata", ""));
  /* metrics[7]: a histogram with one good and one bad point (5 buckets for 5 bounds) */
  otlp_request *tmp = sample_otlp_full();
  otlp_scope_metrics *tsm = tmp->resource_metrics[0]->scope_metrics[0];
  otlp_metric *hist = tsm->metrics[3];
  hist->histogram->data_points[0]->n_bucket_counts = 5;
  hist->histogram->data_points[0]->n_explicit_bounds = 5;
  free(hist->histogram->data_points[0]->explicit_bounds);
  hist->histogram->data_points[0]->explicit_bounds = sample_otlp_xcalloc(5, sizeof(double));
  for (int i = 0; i < 5; i++) hist->histogram->data_points[0]->explicit_bounds[i] = i;
  /* metrics[8]: a sum with unspecified temporality (2 points) */
  otlp_metric *sum = tsm->metrics[0];
  sum->sum->aggregation_temporality = 0;
  /* metrics[9]: an exponential histogram with scale 30 */
  otlp_metric *exph = tsm->metrics[4];
  exph->exponential_histogram->data_points[0]->scale = 30;
  /* metrics[10]: a summary with quantile 1.5 */
  otlp_metric *summ = tsm->metrics[5];
  summ->summary->data_points[0]->quantile_values[1]->quantile = 1.5;
  /* metrics[11]: a gauge whose first point has no value, second point has an exemplar with a 3-byte trace id */
  otlp_metric *gauge = tsm->metrics[2];
  otlp_number_point *gp = gauge->gauge->data_points[0];
  gp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE__NOT_SET;
  otlp_number_point *gp2 = gauge->gauge->data_points[1];
  otlp_exemplar *ex = tmp->resource_metrics[0]->scope_metrics[0]->metrics[0]->sum->data_points[0]->exemplars[0];
  tmp->resource_metrics[0]->scope_metrics[0]->metrics[0]->sum->data_points[0]->n_exemplars = 0;
  ex->trace_id.len = 3;
  SAMPLE_PUSH(gp2->n_exemplars, gp2->exemplars, ex);
  /* metrics[12]: a metric with an empty name (1 gauge point... taken from queue.depth: 2 points) */
  otlp_metric *noname = tsm->metrics[1];
  free(noname->name);
  noname->name = sample_otlp_xstrdup("");
  /* move them over in that order */
  otlp_metric *moved[] = {hist, sum, exph, summ, gauge, noname};
  for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) sample_otlp_add_metric(req, moved[i]);
  tsm->n_metrics = 0;
  sample_otlp_free(tmp);
  /* good: 10 + hist point 1 + gauge point 2 */
  *good_points = 12;
  return req;
}

static void check_report(const wire_otlp_check_report *rep, otlp_request *req, uint64_t good) {
  /* rejected: hist 1 + sum 2 + exph 1 + summary 1 + gauge 1 + noname 2 = 8 */
  CHECK_EQ(rep->rejected_points, 8);
  CHECK_EQ(rep->rejected_metrics, 3); /* nodata, the unspecified sum, the empty name */
  CHECK_EQ(rep->fixed, 1);
  CHECK_EQ(rep->problems, 8);
  CHECK_CONTAINS(rep->message, "rejected 8 data points (3 metrics): resource_metrics[0].scope_metrics[0].metrics[6] "
                               "(no data) has no data (and 7 more problems)");
  CHECK_EQ_U64(wire_otlp_count_points(req), good);
  otlp_scope_metrics *sm = req->resource_metrics[0]->scope_metrics[0];
  CHECK_EQ(sm->n_metrics, 6 + 4); /* hist, exph (now empty), summary (now empty) and gauge stay; 3 removed */
  /* what is left still encodes and decodes */
  wire_buf b;
  encode(req, &b);
  wire_err err;
  otlp_request *back = decode(&b, NULL, &err);
  CHECK(back != NULL);
  if (back) CHECK_EQ_U64(wire_otlp_count_points(back), good);
  wire_otlp_request_free(back, NULL);
  wire_buf_free(&b);
}

static void semantic_checks_on_heap_request(void) {
  uint64_t good;
  otlp_request *req = request_with_problems(&good);
  CHECK_EQ_U64(wire_otlp_count_points(req), good + 8);
  wire_otlp_check_report rep;
  CHECK_EQ(wire_otlp_check_request(req, NULL, 0, &rep), 8);
  check_report(&rep, req, good);
  /* a second pass finds nothing */
  CHECK_EQ(wire_otlp_check_request(req, NULL, 0, &rep), 0);
  CHECK_EQ(rep.problems, 0);
  sample_otlp_free(req); /* ASan: removed parts were freed, nothing leaks */
}

static void semantic_checks_on_decoded_request(void) {
  uint64_t good;
  otlp_request *req = request_with_problems(&good);
  wire_buf b;
  encode(req, &b);
  corpus_save("valid-semantic-problems", b.data, b.len);
  sample_otlp_free(req);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  wire_err err;
  otlp_request *r = decode(&b, &a, &err);
  CHECK(r != NULL);
  if (r) {
    wire_otlp_check_report rep;
    CHECK_EQ(wire_otlp_check_request(r, &a, WIRE_OTLP_FIX_UTF8, &rep), 8);
    check_report(&rep, r, good);
    /* the message names positions, never content */
    CHECK(strstr(rep.message, "nodata") == NULL);
  }
  otlp_arena_free(&a);
  wire_buf_free(&b);
}

static void semantic_check_details(void) {
  /* histogram bounds must increase */
  otlp_request *req = sample_otlp_full();
  otlp_metric *h = req->resource_metrics[0]->scope_metrics[0]->metrics[3];
  h->histogram->data_points[0]->explicit_bounds[2] = 0.01;
  wire_otlp_check_report rep;
  CHECK_EQ(wire_otlp_check_request(req, NULL, 0, &rep), 1);
  CHECK_CONTAINS(rep.message, "metrics[3] (histogram) data point 0: explicit_bounds not strictly increasing at index 2");
  sample_otlp_free(req);
  /* bucket_counts without bounds is fine only when both are empty */
  req = sample_otlp_full();
  h = req->resource_metrics[0]->scope_metrics[0]->metrics[3];
  h->histogram->data_points[0]->n_explicit_bounds = 0;
  CHECK_EQ(wire_otlp_check_request(req, NULL, 0, &rep), 1);
  CHECK_CONTAINS(rep.message, "data point 0: 5 bucket_counts for 0 explicit_bounds, want 1");
  sample_otlp_free(req);
  /* exponential histogram offsets that overflow int32 */
  req = sample_otlp_full();
  otlp_metric *x = req->resource_metrics[0]->scope_metrics[0]->metrics[4];
  x->exponential_histogram->data_points[0]->positive->offset = INT32_MAX - 1;
  CHECK_EQ(wire_otlp_check_request(req, NULL, 0, &rep), 1);
  CHECK_CONTAINS(rep.message, "bucket offset plus count overflows int32");
  sample_otlp_free(req);
  /* the sample itself is clean */
  req = sample_otlp_full();
  CHECK_EQ(wire_otlp_check_request(req, NULL, WIRE_OTLP_FIX_UTF8, &rep), 0);
  CHECK_EQ(rep.problems, 0);
  CHECK_EQ_U64(wire_otlp_count_points(req), SAMPLE_FULL_POINTS);
  sample_otlp_free(req);
}

/* ---- arena ---- */

static void arena_allocations(void) {
  otlp_arena a;
  otlp_arena_init(&a, 0);
  CHECK_EQ(otlp_arena_reserved(&a), 0);
  for (int i = 0; i < 1000; i++) {
    void *p = otlp_arena_alloc(&a, (size_t)(i % 37) + 1);
    CHECK(p != NULL);
    CHECK_EQ((uintptr_t)p % _Alignof(max_align_t), 0);
    memset(p, 0xab, (size_t)(i % 37) + 1);
  }
  uint8_t *big = otlp_arena_alloc(&a, 3 << 20);
  CHECK(big != NULL);
  if (big) memset(big, 1, 3 << 20);
  char *s = otlp_arena_strdup(&a, "hello");
  CHECK_STR(s, "hello");
  otlp_arena_reset(&a);
  /* after a reset one ordinary chunk is kept, the 3 MiB one is not */
  CHECK(otlp_arena_reserved(&a) > 0);
  CHECK(otlp_arena_reserved(&a) < (1u << 21));
  otlp_arena_free(&a);
  CHECK_EQ(otlp_arena_reserved(&a), 0);

  otlp_arena_init(&a, 4096);
  CHECK(otlp_arena_alloc(&a, 1000) != NULL);
  CHECK(otlp_arena_alloc(&a, 8000) == NULL);
  CHECK(a.exhausted);
  CHECK(otlp_arena_reserved(&a) <= 4096);
  otlp_arena_free(&a);
}

static void pbwalk_accepts_what_protobuf_c_writes(void) {
  otlp_request *req = sample_otlp_parametric(12, 5, 4);
  wire_buf b;
  encode(req, &b);
  wire_err err;
  CHECK_EQ(pbwalk_validate(b.data, b.len, PBWALK_EXPORT_METRICS_REQUEST, PBWALK_DEFAULT_DEPTH, &err), 0);
  /* a request is not a Status: field 1 (code) would be a varint */
  CHECK_EQ(pbwalk_validate(b.data, b.len, PBWALK_RPC_STATUS, PBWALK_DEFAULT_DEPTH, &err), -1);
  CHECK_CONTAINS(err.msg, "field 1 (Status.code) has wire type 2");
  wire_buf_free(&b);
  sample_otlp_free(req);
}

int main(void) {
  RUN(round_trip_full_request_in_arena);
  RUN(round_trip_with_malloc);
  RUN(empty_input_is_an_empty_request);
  RUN(response_round_trip);
  RUN(status_round_trip);
  RUN(size_limits);
  RUN(amplification_is_bounded_by_the_arena);
  RUN(truncation_at_every_byte_is_an_error);
  RUN(wrong_wire_types_are_rejected);
  RUN(lengths_varints_and_packing);
  RUN(deep_nesting_is_bounded);
  RUN(invalid_utf8_is_kept_and_fixable);
  RUN(semantic_checks_on_heap_request);
  RUN(semantic_checks_on_decoded_request);
  RUN(semantic_check_details);
  RUN(arena_allocations);
  RUN(pbwalk_accepts_what_protobuf_c_writes);
  return test_finish();
}
