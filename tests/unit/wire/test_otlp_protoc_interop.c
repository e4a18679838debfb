/* test_otlp_protoc_interop.c — our OTLP codec against an independent implementation: Debian's protoc (the C++
 * protobuf library). What we encode, `protoc --decode` reads with the expected values (and re-encodes to the
 * very same bytes); what `protoc --encode` writes from text format, our decoder reads with the expected values —
 * including explicit presence of sum/min/max, negative sint32 (exponential histogram offsets and scale),
 * sfixed64 and int64 negatives, bytes, nested AnyValues and packed repeated fields.
 * Needs protoc (package protobuf-compiler) and $OTELC_SOURCE_DIR (set by ctest). */
#include <stdlib.h>
#include <string.h>

#include "sample_otlp.h"
#include "testlib.h"
#include "wire/otlp.h"

#define REQUEST_TYPE "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"
#define RESPONSE_TYPE "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse"
#define SERVICE_PROTO "opentelemetry/proto/collector/metrics/v1/metrics_service.proto"

static const char *source_dir(void) {
  const char *s = getenv("OTELC_SOURCE_DIR");
  return s && *s ? s : NULL;
}

static void path_in_tmp(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", test_tmpdir(), name); }

static int write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Runs protoc --<mode>=<type> with `in` on stdin and `out` as stdout; returns its exit status. */
static int protoc(const char *mode, const char *type, const char *in, const char *out) {
  return test_sh("protoc --%s=%s -I '%s/proto' " SERVICE_PROTO " < '%s' > '%s' 2> '%s.err'", mode, type, source_dir(),
                 in, out, out);
}

/* Collapses every run of whitespace into one space, so text-format output can be matched without caring about
 * protoc's indentation. */
static void squeeze(char *s) {
  char *w = s;
  bool space = false;
  for (char *r = s; *r; r++) {
    if (*r == ' ' || *r == '\n' || *r == '\t') {
      space = true;
      continue;
    }
    if (space && w != s) *w++ = ' ';
    space = false;
    *w++ = *r;
  }
  *w = '\0';
}

/* Encodes req, has protoc decode it; returns the squeezed text (malloc'd) or NULL. Also checks that protoc's
 * re-encoding of that text is byte-for-byte what we wrote. */
static char *decode_with_protoc(const otlp_request *req, const char *name) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_request(req, &b, &err), 0);
  char bin[600], txt[600], again[600];
  snprintf(bin, sizeof bin, "%s/%s.bin", test_tmpdir(), name);
  snprintf(txt, sizeof txt, "%s/%s.txt", test_tmpdir(), name);
  snprintf(again, sizeof again, "%s/%s.again.bin", test_tmpdir(), name);
  CHECK_EQ(write_file(bin, b.data, b.len), 0);
  CHECK_EQ(protoc("decode", REQUEST_TYPE, bin, txt), 0);
  CHECK_EQ(protoc("encode", REQUEST_TYPE, txt, again), 0);
  size_t n = 0;
  char *rebytes = test_read_file(again, &n);
  CHECK(rebytes != NULL);
  CHECK_EQ(n, b.len);
  CHECK_MSG(rebytes && n == b.len && memcmp(rebytes, b.data, n) == 0, "protoc re-encoding of %s differs", name);
  free(rebytes);
  wire_buf_free(&b);
  char *text = test_read_file(txt, NULL);
  if (text) squeeze(text);
  return text;
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void protoc_reads_what_we_encode(void) {
  otlp_request *req = sample_otlp_full();
  char *t = decode_with_protoc(req, "full");
  CHECK(t != NULL);
  if (t) {
    static const char *expect[] = {
        "key: \"service.name\" value { string_value: \"checkout\" }",
        "key: \"host.cores\" value { int_value: 8 }",
        "key: \"sampled\" value { bool_value: true }",
        "key: \"ratio\" value { double_value: 0.25 }",
        "key: \"blob\" value { bytes_value: \"\\336\\255\\276\\357\" }",
        "array_value { values { string_value: \"a\" } values { int_value: -1 } values { array_value { values { "
        "string_value: \"x\" } } } }",
        "kvlist_value { values { key: \"k1\" value { string_value: \"v1\" } } values { key: \"k2\" value { int_value: 2 "
        "} } }",
        "dropped_attributes_count: 1",
        "scope { name: \"otelc.test\" version: \"1.2.3\" attributes { key: \"scope.attr\"",
        "name: \"requests\" description: \"Requests served\" unit: \"1\" sum {",
        "span_id: \"\\241\\242\\243\\244\\245\\246\\247\\250\"",
        "trace_id: \"\\001\\002\\003\\004\\005\\006\\007\\010\\t\\n\\013\\014\\r\\016\\017\\020\" as_int: 5",
        "as_int: 42 attributes { key: \"method\" value { string_value: \"GET\" } }",
        "as_int: -7",
        "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE is_monotonic: true",
        "metadata { key: \"origin\"",
        "as_double: 3.5",
        "time_unix_nano: 1700000060000000000 flags: 1 }",
        "aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA",
        "as_double: -12.25",
        "as_int: 100",
        "count: 15 sum: 12.5 bucket_counts: 1 bucket_counts: 2 bucket_counts: 3 bucket_counts: 4 bucket_counts: 5 "
        "explicit_bounds: 0.005 explicit_bounds: 0.01 explicit_bounds: 0.1 explicit_bounds: 1 min: 0.001 max: 3 }",
        "count: 9 sum: -1.5 scale: 3 zero_count: 2 positive { offset: 5 bucket_counts: 1 bucket_counts: 0 "
        "bucket_counts: 3 } negative { offset: -3 bucket_counts: 2 bucket_counts: 1 }",
        "as_double: 2.5",
        "min: -4 max: 10 zero_threshold: 1e-09",
        "count: 10 sum: 99.5 quantile_values { value: 1 } quantile_values { quantile: 0.5 value: 9 } "
        "quantile_values { quantile: 0.99 value: 20 } quantile_values { quantile: 1 value: 25 }",
        "schema_url: \"https://opentelemetry.io/schemas/1.21.0\"",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) CHECK_CONTAINS(t, expect[i]);
    /* the second histogram point has no sum, min or max: protoc sees none */
    const char *second = strstr(t, "max: 3 } data_points {");
    CHECK(second != NULL);
    if (second) {
      const char *end = strstr(second, "aggregation_temporality");
      CHECK(end != NULL);
      if (end) {
        size_t n = (size_t)(end - second);
        char *slice = strndup(second + 8, n - 8);
        CHECK(strstr(slice, "sum:") == NULL && strstr(slice, "min:") == NULL && strstr(slice, "max:") == NULL);
        free(slice);
      }
    }
  }
  free(t);
  sample_otlp_free(req);
}

static void explicit_presence_of_zero(void) {
  /* sum = 0 present, min absent, max = 0 present: proto3 "optional" semantics on the wire */
  otlp_request *req = sample_otlp_request_new();
  otlp_metric *m = sample_otlp_metric_new("h", "s");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
  m->histogram = sample_otlp_xcalloc(1, sizeof *m->histogram);
  opentelemetry__proto__metrics__v1__histogram__init(m->histogram);
  m->histogram->aggregation_temporality =
      OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
  otlp_histogram_point *p = sample_otlp_xcalloc(1, sizeof *p);
  opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
  p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p->sum = 0;
  p->max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
  p->max = 0;
  SAMPLE_PUSH(m->histogram->n_data_points, m->histogram->data_points, p);
  sample_otlp_add_metric(req, m);
  char *t = decode_with_protoc(req, "presence");
  CHECK(t != NULL);
  if (t) {
    CHECK_CONTAINS(t, "histogram { data_points { sum: 0 max: 0 } aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA }");
    CHECK(strstr(t, "min:") == NULL);
  }
  free(t);
  sample_otlp_free(req);
}

static void protoc_reads_a_benchmark_request(void) {
  otlp_request *req = sample_otlp_parametric(100, 10, 4);
  char *t = decode_with_protoc(req, "bench");
  CHECK(t != NULL);
  if (t) {
    CHECK_EQ(count_of(t, "data_points {"), 1000);
    CHECK_EQ(count_of(t, "key: \"attr.3\""), 1000);
    CHECK_CONTAINS(t, "name: \"metric.99\"");
  }
  free(t);
  sample_otlp_free(req);
}

/* A request in text format, written by hand; protoc encodes it and our decoder must read these values. */
static const char request_text[] =
    "resource_metrics {\n"
    "  resource { attributes { key: \"k8s.pod.name\" value { string_value: \"caf\\303\\251-1\" } }\n"
    "             attributes { key: \"neg\" value { int_value: -1 } }\n"
    "             attributes { key: \"raw\" value { bytes_value: \"\\000\\001\\377\" } }\n"
    "             attributes { key: \"nest\" value { array_value { values { kvlist_value { values { key: \"in\" "
    "value { double_value: -0.5 } } } } values { bool_value: false } } } }\n"
    "             dropped_attributes_count: 3 }\n"
    "  scope_metrics {\n"
    "    scope { name: \"lib\" version: \"9\" }\n"
    "    metrics { name: \"g\" unit: \"1\" gauge { data_points { time_unix_nano: 18446744073709551615 as_int: -5 "
    "flags: 1 } } }\n"
    "    metrics { name: \"h\" histogram { aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE\n"
    "      data_points { count: 6 sum: 0 max: 7.5 bucket_counts: [1, 2, 3] explicit_bounds: [1, 5] } } }\n"
    "    metrics { name: \"e\" exponential_histogram { aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA\n"
    "      data_points { count: 7 scale: -2 zero_count: 1 min: -100 zero_threshold: 0.001\n"
    "        positive { offset: 0 bucket_counts: [300, 1] }\n"
    "        negative { offset: -2147483648 bucket_counts: [2] }\n"
    "        exemplars { as_int: -9223372036854775808 trace_id: \"0123456789abcdef\" } } } }\n"
    "    metrics { name: \"s\" summary { data_points { count: 4 sum: 10 quantile_values { quantile: 0.5 value: 2 } } } }\n"
    "    metrics { name: \"c\" sum { is_monotonic: true aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA\n"
    "      data_points { as_double: 1e+300 } } }\n"
    "  }\n"
    "  schema_url: \"s\"\n"
    "}\n";

static void we_read_what_protoc_encodes(void) {
  char txt[600], bin[600];
  path_in_tmp(txt, sizeof txt, "handmade.txt");
  path_in_tmp(bin, sizeof bin, "handmade.bin");
  CHECK_EQ(write_file(txt, request_text, strlen(request_text)), 0);
  CHECK_EQ(protoc("encode", REQUEST_TYPE, txt, bin), 0);
  size_t n = 0;
  char *bytes = test_read_file(bin, &n);
  CHECK(bytes != NULL && n > 0);
  if (!bytes) return;
  const char *corpus = getenv("OTELC_WRITE_CORPUS"); /* seeds for fuzz_otlp_decode, as in test_otlp_codec.c */
  if (corpus && *corpus) test_sh("cp '%s' '%s/valid-protoc-handmade'", bin, corpus);
  otlp_arena a;
  otlp_arena_init(&a, 0);
  wire_err err;
  otlp_request *r = wire_otlp_decode_request((const uint8_t *)bytes, n, 1 << 20, &a, &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  if (r) {
    CHECK_EQ_U64(wire_otlp_count_points(r), 5);
    const otlp_resource *res = r->resource_metrics[0]->resource;
    CHECK_EQ(res->n_attributes, 4);
    CHECK_EQ(res->dropped_attributes_count, 3);
    CHECK_STR(res->attributes[0]->value->string_value, "caf\xc3\xa9-1");
    CHECK_EQ(res->attributes[1]->value->int_value, -1);
    CHECK_EQ(res->attributes[2]->value->bytes_value.len, 3);
    CHECK(memcmp(res->attributes[2]->value->bytes_value.data, "\0\1\377", 3) == 0);
    const otlp_array *nest = res->attributes[3]->value->array_value;
    CHECK_EQ(nest->n_values, 2);
    CHECK_STR(nest->values[0]->kvlist_value->values[0]->key, "in");
    CHECK_DBL(nest->values[0]->kvlist_value->values[0]->value->double_value, -0.5);
    CHECK_EQ(nest->values[1]->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    CHECK_EQ(nest->values[1]->bool_value, 0);
    CHECK_STR(r->resource_metrics[0]->schema_url, "s");

    otlp_metric **ms = r->resource_metrics[0]->scope_metrics[0]->metrics;
    CHECK_EQ(r->resource_metrics[0]->scope_metrics[0]->n_metrics, 5);
    CHECK_STR(r->resource_metrics[0]->scope_metrics[0]->scope->version, "9");

    const otlp_number_point *g = ms[0]->gauge->data_points[0];
    CHECK_EQ_U64(g->time_unix_nano, UINT64_MAX);
    CHECK_EQ(g->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
    CHECK_EQ(g->as_int, -5);
    CHECK_EQ(g->flags, 1);

    const otlp_histogram_point *h = ms[1]->histogram->data_points[0];
    CHECK_EQ(h->count, 6);
    CHECK_EQ(h->sum_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
    CHECK_DBL(h->sum, 0);
    CHECK_EQ(h->min_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT__NOT_SET);
    CHECK_EQ(h->max_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX);
    CHECK_DBL(h->max, 7.5);
    CHECK_EQ(h->n_bucket_counts, 3);
    CHECK_EQ(h->bucket_counts[2], 3);
    CHECK_EQ(h->n_explicit_bounds, 2);
    CHECK_DBL(h->explicit_bounds[1], 5);

    const otlp_exp_histogram_point *e = ms[2]->exponential_histogram->data_points[0];
    CHECK_EQ(e->count, 7);
    CHECK_EQ(e->scale, -2);
    CHECK_EQ(e->zero_count, 1);
    CHECK_EQ(e->sum_present_case,
             OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT__NOT_SET);
    CHECK_EQ(e->min_present_case, OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN);
    CHECK_DBL(e->min, -100);
    CHECK_EQ(e->max_present_case,
             OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX_PRESENT__NOT_SET);
    CHECK_DBL(e->zero_threshold, 0.001);
    CHECK(e->positive != NULL && e->negative != NULL);
    if (e->positive && e->negative) {
      CHECK_EQ(e->positive->offset, 0);
      CHECK_EQ(e->positive->n_bucket_counts, 2);
      CHECK_EQ(e->positive->bucket_counts[0], 300);
      CHECK_EQ(e->negative->offset, INT32_MIN);
      CHECK_EQ(e->negative->bucket_counts[0], 2);
    }
    CHECK_EQ(e->n_exemplars, 1);
    CHECK_EQ(e->exemplars[0]->as_int, INT64_MIN);
    CHECK_EQ(e->exemplars[0]->trace_id.len, 16);

    const otlp_summary_point *s = ms[3]->summary->data_points[0];
    CHECK_EQ(s->count, 4);
    CHECK_DBL(s->quantile_values[0]->quantile, 0.5);

    CHECK(ms[4]->sum->is_monotonic);
    CHECK_DBL(ms[4]->sum->data_points[0]->as_double, 1e300);

    /* and it passes the semantic checks untouched */
    wire_otlp_check_report rep;
    CHECK_EQ(wire_otlp_check_request(r, &a, WIRE_OTLP_FIX_UTF8, &rep), 0);
    CHECK_EQ(rep.problems, 0);

    /* our re-encoding is what protoc wrote */
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ(wire_otlp_encode_request(r, &b, &err), 0);
    CHECK_EQ(b.len, n);
    CHECK(b.len == n && memcmp(b.data, bytes, n) == 0);
    wire_buf_free(&b);
  }
  otlp_arena_free(&a);
  free(bytes);
}

static void we_read_a_protoc_response(void) {
  static const char text[] = "partial_success { rejected_data_points: 12 error_message: \"too old\" }\n";
  char txt[600], bin[600];
  path_in_tmp(txt, sizeof txt, "response.txt");
  path_in_tmp(bin, sizeof bin, "response.bin");
  CHECK_EQ(write_file(txt, text, strlen(text)), 0);
  CHECK_EQ(protoc("encode", RESPONSE_TYPE, txt, bin), 0);
  size_t n = 0;
  char *bytes = test_read_file(bin, &n);
  CHECK(bytes != NULL);
  if (!bytes) return;
  wire_err err;
  otlp_response *resp = wire_otlp_decode_response((const uint8_t *)bytes, n, 4096, NULL, &err);
  CHECK_MSG(resp && resp->partial_success, "%s", err.msg);
  if (resp && resp->partial_success) {
    CHECK_EQ(resp->partial_success->rejected_data_points, 12);
    CHECK_STR(resp->partial_success->error_message, "too old");
  }
  wire_otlp_response_free(resp, NULL);
  free(bytes);
}

int main(void) {
  if (!source_dir()) {
    fprintf(stderr, "OTELC_SOURCE_DIR is not set (run through ctest)\n");
    return 1;
  }
  if (test_sh("protoc --version > /dev/null 2>&1") != 0) {
    fprintf(stderr, "protoc not found: install protobuf-compiler (scripts/setup.sh)\n");
    return 1;
  }
  RUN(protoc_reads_what_we_encode);
  RUN(explicit_presence_of_zero);
  RUN(protoc_reads_a_benchmark_request);
  RUN(we_read_what_protoc_encodes);
  RUN(we_read_a_protoc_response);
  return test_finish();
}
