/* test_otlp_json.c — OTLP/JSON decoding and encoding: the spec's example decodes to exact values, every metric
 * type survives JSON -> proto -> JSON -> proto unchanged (compared as protobuf bytes), the encoder writes the
 * canonical form, and malformed input of every kind fails with a clear error that says where (and, under ASan,
 * without leaking, both with an arena and with malloc). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/otlp.h"
#include "wire/otlp_json.h"

#define MiB (1024u * 1024u)

/* Every metric type, every AnyValue kind, exemplars with ids, optional sum/min/max, NaN/±Infinity/-0.0, the
 * 64-bit extremes. The same text is tests/fuzz/corpus/otlp_json/all_types.json. */
static const char all_types_json[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"checkout\"}},{\"key\":\"host.cpus\",\"value\":{\"intValue\":\"8\"}},{\"key\":\"ratio\",\"value\":{"
    "\"doubleValue\":0.25}},{\"key\":\"up\",\"value\":{\"boolValue\":true}},{\"key\":\"blob\",\"value\":{"
    "\"bytesValue\":\"AAEC/w==\"}},{\"key\":\"list\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"}"
    ",{\"intValue\":-3},{\"arrayValue\":{\"values\":[{\"doubleValue\":\"NaN\"}]}}]}}},{\"key\":\"map\",\"value\":{"
    "\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}},{\"key\":\"empty\",\"value\":{"
    "}}]}}}],\"droppedAttributesCount\":2,\"entityRefs\":[{\"schemaUrl\":\"https://example.com/s\",\"type\":"
    "\"service\",\"idKeys\":[\"service.name\"],\"descriptionKeys\":[\"host.cpus\",\"ratio\"]}]},\"scopeMetrics\":[{"
    "\"scope\":{\"name\":\"lib\",\"version\":\"1.2.3\",\"attributes\":[{\"key\":\"s\",\"value\":{\"stringValue\":"
    "\"x\"}}],\"droppedAttributesCount\":1},\"metrics\":[{\"name\":\"requests\",\"description\":\"Requests "
    "served\",\"unit\":\"{request}\",\"sum\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"code\",\"value\":{"
    "\"intValue\":\"200\"}}],\"startTimeUnixNano\":\"1700000000000000000\",\"timeUnixNano\":\"1700000010000000000\","
    "\"asInt\":\"-9223372036854775808\",\"exemplars\":[{\"filteredAttributes\":[{\"key\":\"user\",\"value\":{"
    "\"stringValue\":\"u1\"}}],\"timeUnixNano\":\"1700000005000000000\",\"asDouble\":1.5,\"spanId\":"
    "\"EEE19B7EC3C1B174\",\"traceId\":\"5B8EFFF798038103D269B633813FC60C\"}],\"flags\":1}],"
    "\"aggregationTemporality\":2,\"isMonotonic\":true},\"metadata\":[{\"key\":\"m\",\"value\":{\"boolValue\":false}"
    "}]},{\"name\":\"temperature\",\"unit\":\"Cel\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":"
    "\"18446744073709551615\",\"asDouble\":-0.0},{\"timeUnixNano\":\"1\",\"asDouble\":\"Infinity\"},{"
    "\"timeUnixNano\":\"2\",\"asDouble\":\"-Infinity\"},{\"timeUnixNano\":\"3\",\"asDouble\":1e-300},{"
    "\"timeUnixNano\":\"4\",\"asDouble\":0.1},{\"timeUnixNano\":\"5\",\"asInt\":\"0\"}]}},{\"name\":\"latency\","
    "\"unit\":\"ms\",\"histogram\":{\"dataPoints\":[{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"2\",\"count\":"
    "\"6\",\"sum\":12.5,\"bucketCounts\":[\"1\",\"2\",\"3\"],\"explicitBounds\":[1,2.5],\"min\":0.5,\"max\":4,"
    "\"exemplars\":[{\"asInt\":\"7\",\"timeUnixNano\":\"2\"}]},{\"timeUnixNano\":\"3\",\"count\":\"0\","
    "\"bucketCounts\":[],\"sum\":0}],\"aggregationTemporality\":1}},{\"name\":\"sizes\",\"exponentialHistogram\":{"
    "\"dataPoints\":[{\"timeUnixNano\":\"9\",\"count\":\"10\",\"sum\":100,\"scale\":-3,\"zeroCount\":\"1\","
    "\"positive\":{\"offset\":-2,\"bucketCounts\":[\"1\",\"0\",\"5\"]},\"negative\":{\"bucketCounts\":[\"3\"]},"
    "\"flags\":0,\"min\":-1,\"max\":50,\"zeroThreshold\":1e-9}],\"aggregationTemporality\":2}},{\"name\":"
    "\"rpc.duration\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"9\",\"count\":\"4\",\"sum\":10,"
    "\"quantileValues\":[{\"quantile\":0,\"value\":1},{\"quantile\":0.5,\"value\":2.5},{\"quantile\":1,\"value\":4}"
    "]}]}}],\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}],\"schemaUrl\":"
    "\"https://opentelemetry.io/schemas/1.21.0\"}]}";

/* Written after the example request in the OTLP repository (examples/metrics.json): 64-bit times as plain JSON
 * numbers, doubles written as integers, pretty-printed. */
static const char spec_example_json[] =
    "{\n"
    "  \"resourceMetrics\": [ {\n"
    "    \"resource\": { \"attributes\": [ { \"key\": \"service.name\", \"value\": { \"stringValue\": \"my.service\" } } ] },\n"
    "    \"scopeMetrics\": [ {\n"
    "      \"scope\": { \"name\": \"my.library\", \"version\": \"1.0.0\",\n"
    "        \"attributes\": [ { \"key\": \"my.scope.attribute\", \"value\": { \"stringValue\": \"some scope attribute\" } } ] },\n"
    "      \"metrics\": [\n"
    "        { \"name\": \"my.counter\", \"unit\": \"1\", \"description\": \"I am a Counter\",\n"
    "          \"sum\": { \"aggregationTemporality\": 1, \"isMonotonic\": true,\n"
    "            \"dataPoints\": [ { \"asDouble\": 5, \"startTimeUnixNano\": 1544712660300000000,\n"
    "              \"timeUnixNano\": 1544712660300000000,\n"
    "              \"attributes\": [ { \"key\": \"my.counter.attr\", \"value\": { \"stringValue\": \"some value\" } } ] } ] } },\n"
    "        { \"name\": \"my.gauge\", \"unit\": \"1\", \"description\": \"I am a Gauge\",\n"
    "          \"gauge\": { \"dataPoints\": [ { \"asDouble\": 10, \"timeUnixNano\": 1544712660300000000 } ] } },\n"
    "        { \"name\": \"my.histogram\", \"unit\": \"1\", \"description\": \"I am a Histogram\",\n"
    "          \"histogram\": { \"aggregationTemporality\": 1,\n"
    "            \"dataPoints\": [ { \"startTimeUnixNano\": 1544712660300000000, \"timeUnixNano\": 1544712660300000000,\n"
    "              \"count\": 3, \"sum\": 3, \"bucketCounts\": [1,1,1], \"explicitBounds\": [1], \"min\": 1, \"max\": 1 } ] } }\n"
    "      ]\n"
    "    } ]\n"
    "  } ]\n"
    "}\n";

/* protobuf-c's own encoding of a message: the byte-exact way to compare two decoded requests. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *p = malloc(*len ? *len : 1);
  protobuf_c_message_pack(m, p);
  return p;
}

static otlp_request *decode_str(const char *json, otlp_arena *arena, wire_err *err) {
  return wire_otlp_json_decode_request((const uint8_t *)json, strlen(json), 16 * MiB, 0, arena, err);
}

/* Encodes to a NUL-terminated malloc'd string (NULL on error). */
static char *encode_str(const otlp_request *req) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  if (wire_otlp_json_encode_request(req, &b, &err) < 0) {
    test_fail(__FILE__, __LINE__, "encode: %s", err.msg);
    wire_buf_free(&b);
    return NULL;
  }
  wire_buf_append(&b, "", 1, &err);
  return (char *)b.data;
}

static void spec_example_decodes_exactly(void) {
  wire_err err;
  otlp_request *req = decode_str(spec_example_json, NULL, &err);
  CHECK_MSG(req != NULL, "%s", err.msg);
  if (!req) return;
  CHECK_EQ(req->n_resource_metrics, 1);
  otlp_resource_metrics *rm = req->resource_metrics[0];
  CHECK_EQ(rm->resource->n_attributes, 1);
  CHECK_STR(rm->resource->attributes[0]->key, "service.name");
  CHECK_EQ(rm->resource->attributes[0]->value->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
  CHECK_STR(rm->resource->attributes[0]->value->string_value, "my.service");
  CHECK_EQ(rm->n_scope_metrics, 1);
  otlp_scope_metrics *sm = rm->scope_metrics[0];
  CHECK_STR(sm->scope->name, "my.library");
  CHECK_STR(sm->scope->version, "1.0.0");
  CHECK_STR(sm->scope->attributes[0]->value->string_value, "some scope attribute");
  CHECK_EQ(sm->n_metrics, 3);

  otlp_metric *counter = sm->metrics[0];
  CHECK_STR(counter->name, "my.counter");
  CHECK_STR(counter->unit, "1");
  CHECK_STR(counter->description, "I am a Counter");
  CHECK_EQ(counter->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
  CHECK_EQ(counter->sum->aggregation_temporality, OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
  CHECK(counter->sum->is_monotonic);
  CHECK_EQ(counter->sum->n_data_points, 1);
  otlp_number_point *p = counter->sum->data_points[0];
  CHECK_EQ(p->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE);
  CHECK(p->as_double == 5.0);
  CHECK_EQ_U64(p->start_time_unix_nano, 1544712660300000000ull); /* exact, though above 2^53 */
  CHECK_EQ_U64(p->time_unix_nano, 1544712660300000000ull);
  CHECK_STR(p->attributes[0]->key, "my.counter.attr");

  otlp_metric *gauge = sm->metrics[1];
  CHECK_EQ(gauge->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
  CHECK(gauge->gauge->data_points[0]->as_double == 10.0);
  CHECK_EQ_U64(gauge->gauge->data_points[0]->start_time_unix_nano, 0);

  otlp_metric *hist = sm->metrics[2];
  CHECK_EQ(hist->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
  otlp_histogram_point *hp = hist->histogram->data_points[0];
  CHECK_EQ_U64(hp->count, 3);
  CHECK_EQ(hp->sum_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
  CHECK(hp->sum == 3.0);
  CHECK_EQ(hp->n_bucket_counts, 3);
  CHECK_EQ_U64(hp->bucket_counts[0] + hp->bucket_counts[1] + hp->bucket_counts[2], 3);
  CHECK_EQ(hp->n_explicit_bounds, 1);
  CHECK(hp->explicit_bounds[0] == 1.0);
  CHECK_EQ(hp->min_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN);
  CHECK_EQ(hp->max_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX);
  CHECK(hp->min == 1.0 && hp->max == 1.0);
  CHECK_EQ(wire_otlp_count_points(req), 3);
  wire_otlp_request_free(req, NULL);
}

static void all_types_decode_with_exact_values(void) {
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  wire_err err;
  otlp_request *req = decode_str(all_types_json, &arena, &err);
  CHECK_MSG(req != NULL, "%s", err.msg);
  if (!req) return;
  otlp_resource *res = req->resource_metrics[0]->resource;
  CHECK_EQ(res->n_attributes, 7);
  CHECK_EQ(res->dropped_attributes_count, 2);
  CHECK_EQ(res->attributes[1]->value->int_value, 8);
  CHECK(res->attributes[2]->value->double_value == 0.25);
  CHECK(res->attributes[3]->value->bool_value);
  ProtobufCBinaryData blob = res->attributes[4]->value->bytes_value;
  CHECK_EQ(blob.len, 4);
  CHECK(blob.len == 4 && memcmp(blob.data, "\x00\x01\x02\xff", 4) == 0);
  otlp_array *list = res->attributes[5]->value->array_value;
  CHECK_EQ(list->n_values, 3);
  CHECK_EQ(list->values[1]->int_value, -3);
  CHECK(isnan(list->values[2]->array_value->values[0]->double_value));
  otlp_kvlist *map = res->attributes[6]->value->kvlist_value;
  CHECK_EQ(map->values[1]->value->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
  CHECK_EQ(res->n_entity_refs, 1);
  CHECK_STR(res->entity_refs[0]->type, "service");
  CHECK_EQ(res->entity_refs[0]->n_id_keys, 1);
  CHECK_EQ(res->entity_refs[0]->n_description_keys, 2);
  CHECK_STR(res->entity_refs[0]->description_keys[1], "ratio");
  otlp_metric **m = req->resource_metrics[0]->scope_metrics[0]->metrics;
  otlp_number_point *np = m[0]->sum->data_points[0];
  CHECK_EQ(np->as_int, INT64_MIN);
  CHECK_EQ(np->flags, 1);
  otlp_exemplar *ex = np->exemplars[0];
  CHECK_EQ(ex->trace_id.len, 16);
  CHECK(ex->trace_id.len == 16 && ex->trace_id.data[0] == 0x5b && ex->trace_id.data[15] == 0x0c);
  CHECK_EQ(ex->span_id.len, 8);
  CHECK(ex->span_id.len == 8 && ex->span_id.data[0] == 0xee && ex->span_id.data[7] == 0x74);
  otlp_number_point **g = m[1]->gauge->data_points;
  CHECK_EQ_U64(g[0]->time_unix_nano, UINT64_MAX);
  CHECK(g[0]->as_double == 0 && signbit(g[0]->as_double));
  CHECK(isinf(g[1]->as_double) && g[1]->as_double > 0);
  CHECK(isinf(g[2]->as_double) && g[2]->as_double < 0);
  CHECK(g[3]->as_double == 1e-300);
  CHECK(g[4]->as_double == 0.1);
  CHECK_EQ(g[5]->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
  otlp_histogram_point *h1 = m[2]->histogram->data_points[1];
  CHECK_EQ(h1->sum_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
  CHECK_EQ(h1->min_present_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT__NOT_SET);
  otlp_exp_histogram_point *ep = m[3]->exponential_histogram->data_points[0];
  CHECK_EQ(ep->scale, -3);
  CHECK_EQ(ep->positive->offset, -2);
  CHECK_EQ(ep->positive->n_bucket_counts, 3);
  CHECK_EQ(ep->negative->offset, 0);
  CHECK(ep->zero_threshold == 1e-9);
  CHECK(ep->min == -1 && ep->max == 50);
  otlp_summary_point *sp = m[4]->summary->data_points[0];
  CHECK_EQ(sp->n_quantile_values, 3);
  CHECK(sp->quantile_values[1]->quantile == 0.5 && sp->quantile_values[1]->value == 2.5);
  otlp_arena_free(&arena);
}

/* JSON -> proto -> JSON -> proto: both protos pack to the same bytes, and encoding is stable. */
static void round_trip(const char *json, otlp_arena *arena) {
  wire_err err;
  otlp_request *a = decode_str(json, arena, &err);
  CHECK_MSG(a != NULL, "first decode: %s", err.msg);
  if (!a) return;
  char *json2 = encode_str(a);
  if (!json2) return;
  CHECK(strchr(json2, '\n') == NULL);
  otlp_request *b = decode_str(json2, arena, &err);
  CHECK_MSG(b != NULL, "second decode: %s (%s)", err.msg, json2);
  if (b) {
    size_t la, lb;
    uint8_t *pa = pack(&a->base, &la), *pb = pack(&b->base, &lb);
    CHECK_EQ(la, lb);
    CHECK(la == lb && memcmp(pa, pb, la) == 0);
    char *json3 = encode_str(b);
    CHECK_STR(json3, json2);
    free(json3);
    free(pa);
    free(pb);
    wire_otlp_request_free(b, arena);
  }
  free(json2);
  wire_otlp_request_free(a, arena);
}

static void round_trips_are_exact(void) {
  round_trip(all_types_json, NULL);
  round_trip(spec_example_json, NULL);
  round_trip("{}", NULL);
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  round_trip(all_types_json, &arena);
  otlp_arena_free(&arena);
}

/* The binary request and its JSON form decode to the same bytes. */
static void json_matches_binary(void) {
  wire_err err;
  otlp_request *a = decode_str(all_types_json, NULL, &err);
  CHECK(a != NULL);
  if (!a) return;
  size_t la;
  uint8_t *pa = pack(&a->base, &la);
  otlp_request *b = wire_otlp_decode_request(pa, la, 0, NULL, &err);
  CHECK_MSG(b != NULL, "%s", err.msg);
  if (b) {
    char *ja = encode_str(a), *jb = encode_str(b);
    CHECK_STR(ja, jb);
    free(ja);
    free(jb);
    wire_otlp_request_free(b, NULL);
  }
  free(pa);
  wire_otlp_request_free(a, NULL);
}

static void encoder_writes_canonical_form(void) {
  Opentelemetry__Proto__Metrics__V1__NumberDataPoint pt = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
  pt.time_unix_nano = 1;
  pt.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
  pt.as_int = 0; /* a oneof member is written even at 0 */
  Opentelemetry__Proto__Metrics__V1__Exemplar ex = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT;
  uint8_t tid[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
  uint8_t sid[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
  ex.trace_id.data = tid;
  ex.trace_id.len = 16;
  ex.span_id.data = sid;
  ex.span_id.len = 8;
  ex.value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
  ex.as_double = 0.1;
  Opentelemetry__Proto__Metrics__V1__Exemplar *exs[] = {&ex};
  pt.n_exemplars = 1;
  pt.exemplars = exs;
  Opentelemetry__Proto__Metrics__V1__NumberDataPoint *pts[] = {&pt};
  otlp_sum sum = OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
  sum.n_data_points = 1;
  sum.data_points = pts;
  sum.aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  sum.is_monotonic = 1;
  otlp_metric metric = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
  metric.name = "a\"b\\c\n\x01\xff\xc3\xa9"; /* quote, backslash, control chars, invalid and valid UTF-8 */
  metric.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
  metric.sum = &sum;
  otlp_metric *metrics[] = {&metric};
  otlp_scope_metrics sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
  sm.n_metrics = 1;
  sm.metrics = metrics;
  otlp_scope_metrics *sms[] = {&sm};
  otlp_resource_metrics rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
  rm.n_scope_metrics = 1;
  rm.scope_metrics = sms;
  otlp_resource_metrics *rms[] = {&rm};
  otlp_request req = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
  req.n_resource_metrics = 1;
  req.resource_metrics = rms;
  char *json = encode_str(&req);
  CHECK_STR(json, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\xc3\xa9\","
                  "\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"1\",\"exemplars\":[{\"asDouble\":0.1,"
                  "\"spanId\":\"eee19b7ec3c1b174\",\"traceId\":\"5b8efff798038103d269b633813fc60c\"}],\"asInt\":\"0\"}],"
                  "\"aggregationTemporality\":2,\"isMonotonic\":true}}]}]}]}");
  free(json);

  /* A limit too small leaves the buffer as it was. */
  wire_buf b;
  wire_buf_init(&b, 40);
  wire_err err;
  wire_buf_append(&b, "prefix", 6, &err);
  CHECK_EQ(wire_otlp_json_encode_request(&req, &b, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_EQ(b.len, 6);
  wire_buf_free(&b);
}

static void doubles_encode_shortest(void) {
  struct { double v; const char *text; } cases[] = {
      {5, "5"}, {-2, "-2"}, {0.1, "0.1"}, {1.5e300, "1.5e+300"}, {-0.0, "-0.0"}, {1e15, "1e+15"},
      {123456789.125, "123456789.125"}, {NAN, "\"NaN\""}, {INFINITY, "\"Infinity\""}, {-INFINITY, "\"-Infinity\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v.double_value = cases[i].v;
    otlp_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv.key = "k";
    kv.value = &v;
    otlp_kv *kvs[] = {&kv};
    otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = kvs;
    otlp_resource_metrics rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    rm.resource = &res;
    otlp_resource_metrics *rms[] = {&rm};
    otlp_request req = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    req.n_resource_metrics = 1;
    req.resource_metrics = rms;
    char *json = encode_str(&req);
    char want[200];
    snprintf(want, sizeof want,
             "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"doubleValue\":%s}}]}}]}",
             cases[i].text);
    CHECK_STR(json, want);
    free(json);
  }
}

static void lenient_forms_are_accepted(void) {
  /* snake_case keys, enum names, numbers for 64-bit fields, strings for 32-bit ones, "1e3" and 5.0 for
   * integers, unknown keys (even holding huge numbers), null for "absent", a BOM, lowercase/uppercase hex. */
  const char *json =
      "\xEF\xBB\xBF{\"resource_metrics\":[{\"unknownThing\":{\"x\":[1,2,{\"y\":123456789012345678901234567890}]},"
      "\"scope_metrics\":[{\"metrics\":[{\"name\":\"x\",\"sum\":{\"aggregation_temporality\":"
      "\"AGGREGATION_TEMPORALITY_CUMULATIVE\",\"is_monotonic\":true,\"data_points\":[{\"as_int\":5,"
      "\"time_unix_nano\":\"1e3\",\"start_time_unix_nano\":5.0,\"flags\":\"1\",\"exemplars\":[{\"trace_id\":"
      "\"5b8efff798038103D269B633813FC60C\",\"span_id\":\"\",\"asDouble\":\"2.5\"}]}]}},{\"name\":\"y\","
      "\"gauge\":null,\"description\":null}]}]}]}  \n";
  wire_err err;
  otlp_request *req = decode_str(json, NULL, &err);
  CHECK_MSG(req != NULL, "%s", err.msg);
  if (!req) return;
  otlp_metric *m = req->resource_metrics[0]->scope_metrics[0]->metrics[0];
  CHECK_EQ(m->sum->aggregation_temporality, 2);
  CHECK(m->sum->is_monotonic);
  otlp_number_point *p = m->sum->data_points[0];
  CHECK_EQ(p->as_int, 5);
  CHECK_EQ_U64(p->time_unix_nano, 1000);
  CHECK_EQ_U64(p->start_time_unix_nano, 5);
  CHECK_EQ(p->flags, 1);
  CHECK_EQ(p->exemplars[0]->trace_id.len, 16);
  CHECK_EQ(p->exemplars[0]->span_id.len, 0);
  CHECK(p->exemplars[0]->as_double == 2.5);
  otlp_metric *y = req->resource_metrics[0]->scope_metrics[0]->metrics[1];
  CHECK_EQ(y->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET);
  CHECK_STR(y->description, "");
  wire_otlp_request_free(req, NULL);

  /* Empty strings, alone and in lists (malloc'd: freed as protobuf-c frees them). */
  req = decode_str("{\"resourceMetrics\":[{\"resource\":{\"entityRefs\":[{\"type\":\"\",\"idKeys\":[\"\",\"a\"]}]}}]}",
                   NULL, &err);
  CHECK_MSG(req != NULL, "%s", err.msg);
  if (req) {
    CHECK_EQ(req->resource_metrics[0]->resource->entity_refs[0]->n_id_keys, 2);
    CHECK_STR(req->resource_metrics[0]->resource->entity_refs[0]->id_keys[0], "");
    char *json2 = encode_str(req);
    CHECK_STR(json2, "{\"resourceMetrics\":[{\"resource\":{\"entityRefs\":[{\"idKeys\":[\"\",\"a\"]}]}}]}");
    free(json2);
    wire_otlp_request_free(req, NULL);
  }

  /* base64: URL-safe alphabet and no padding decode too. */
  req = decode_str("{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"b\",\"value\":{\"bytesValue\":"
                   "\"-_8\"}}]}}]}", NULL, &err);
  CHECK_MSG(req != NULL, "%s", err.msg);
  if (req) {
    ProtobufCBinaryData bd = req->resource_metrics[0]->resource->attributes[0]->value->bytes_value;
    CHECK_EQ(bd.len, 2);
    CHECK(bd.len == 2 && bd.data[0] == 0xfb && bd.data[1] == 0xff);
    wire_otlp_request_free(req, NULL);
  }
}

static void responses_round_trip(void) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  otlp_response ok = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  CHECK_EQ(wire_otlp_json_encode_response(&ok, &b, &err), 0);
  CHECK(b.len == 2 && memcmp(b.data, "{}", 2) == 0);

  otlp_partial_success ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
  ps.rejected_data_points = 3;
  ps.error_message = "3 points had no value";
  otlp_response partial = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  partial.partial_success = &ps;
  wire_buf_reset(&b);
  CHECK_EQ(wire_otlp_json_encode_response(&partial, &b, &err), 0);
  const char *want = "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\",\"errorMessage\":\"3 points had no value\"}}";
  CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);

  otlp_response *r = wire_otlp_json_decode_response(b.data, b.len, 0, 0, NULL, &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  if (r) {
    CHECK(r->partial_success != NULL);
    CHECK_EQ(r->partial_success->rejected_data_points, 3);
    CHECK_STR(r->partial_success->error_message, "3 points had no value");
    wire_otlp_response_free(r, NULL);
  }
  r = wire_otlp_json_decode_response((const uint8_t *)"{\"partialSuccess\":{\"rejectedDataPoints\":\"x\"}}", 45, 0,
                                     0, NULL, &err);
  CHECK(r == NULL);
  CHECK_CONTAINS(err.msg, "otlp/json: partialSuccess.rejectedDataPoints: expected an integer");
  /* A request is not a response, and vice versa. */
  CHECK_EQ(wire_otlp_json_encode_request((const otlp_request *)&ok, &b, &err), -1);
  wire_buf_free(&b);
}

/* Each bad input fails with the code and message given, with malloc and with an arena (no leak either way). */
static void expect_error(const char *json, wire_err_code code, const char *msg) {
  for (int use_arena = 0; use_arena < 2; use_arena++) {
    otlp_arena arena;
    otlp_arena_init(&arena, 0);
    wire_err err;
    memset(&err, 0, sizeof err);
    otlp_request *req = decode_str(json, use_arena ? &arena : NULL, &err);
    CHECK_MSG(req == NULL, "accepted: %s", json);
    if (req) wire_otlp_request_free(req, use_arena ? &arena : NULL);
    CHECK_MSG(err.code == code, "code %s, want %s for %s (%s)", wire_err_code_name(err.code), wire_err_code_name(code),
              json, err.msg);
    CHECK_CONTAINS(err.msg, msg);
    otlp_arena_free(&arena);
  }
}

#define PT(inner) "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"sum\":{\"dataPoints\":[{" inner "}]}}]}]}]}"
#define PT_PATH "otlp/json: resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0]."

static void wrong_types_say_where(void) {
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{},{\"metrics\":[{},{},{},{\"sum\":{\"dataPoints\":[{"
               "\"asInt\":{}}]}}]}]}]}",
               WIRE_E_INVALID,
               "otlp/json: resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt: expected an integer "
               "or a decimal string, got an object");
  expect_error(PT("\"asInt\":true"), WIRE_E_INVALID, PT_PATH "asInt: expected an integer or a decimal string, got a boolean");
  expect_error(PT("\"asInt\":\"12a\""), WIRE_E_INVALID, "asInt: expected an integer or a decimal string, got a string that is not a number");
  expect_error(PT("\"asInt\":\" 12\""), WIRE_E_INVALID, "not a number");
  expect_error(PT("\"asInt\":1.5"), WIRE_E_INVALID, "asInt: expected an integer, got a number with a fraction");
  expect_error(PT("\"asDouble\":\"fast\""), WIRE_E_INVALID, "asDouble: expected a number, \"NaN\"");
  expect_error(PT("\"asDouble\":[1]"), WIRE_E_INVALID, "asDouble: expected a number, got an array");
  expect_error(PT("\"attributes\":{}"), WIRE_E_INVALID, PT_PATH "attributes: expected an array, got an object");
  expect_error(PT("\"attributes\":[null]"), WIRE_E_INVALID, PT_PATH "attributes[0]: null is not allowed in an array");
  expect_error(PT("\"attributes\":[{\"key\":1}]"), WIRE_E_INVALID, PT_PATH "attributes[0].key: expected a string, got a number");
  expect_error(PT("\"attributes\":[{\"key\":\"k\",\"value\":{\"boolValue\":\"true\"}}]"), WIRE_E_INVALID,
               PT_PATH "attributes[0].value.boolValue: expected true or false, got a string");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[\"m\"]}]}]}", WIRE_E_INVALID,
               "otlp/json: resourceMetrics[0].scopeMetrics[0].metrics[0]: expected an object, got a string");
  expect_error("{\"resourceMetrics\":{}}", WIRE_E_INVALID, "otlp/json: resourceMetrics: expected an array, got an object");
  expect_error("[]", WIRE_E_INVALID, "otlp/json: expected an object at the top level, got an array");
  expect_error("\"x\"", WIRE_E_INVALID, "expected an object at the top level, got a string");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":{\"aggregationTemporality\":"
               "\"SIDEWAYS\"}}]}]}]}",
               WIRE_E_INVALID, "metrics[0].sum.aggregationTemporality: unknown AggregationTemporality name");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":{\"aggregationTemporality\":"
               "true}}]}]}]}",
               WIRE_E_INVALID, "aggregationTemporality: expected an enum value (an integer), got a boolean");
  /* Two members of one oneof, one field under both names. */
  expect_error(PT("\"asInt\":\"1\",\"asDouble\":2"), WIRE_E_INVALID,
               PT_PATH "asDouble: only one of a oneof may be set, and asInt is set too");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":{},\"sum\":{}}]}]}]}", WIRE_E_INVALID,
               "metrics[0].sum: only one of a oneof may be set, and gauge is set too");
  expect_error(PT("\"timeUnixNano\":\"1\",\"time_unix_nano\":\"2\""), WIRE_E_INVALID,
               PT_PATH "timeUnixNano: field given twice");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"a\\u0000b\"}]}]}]}", WIRE_E_INVALID,
               "metrics[0].name: string holds U+0000");
}

static void bad_numbers_are_refused(void) {
  expect_error(PT("\"asInt\":\"9223372036854775808\""), WIRE_E_INVALID, "asInt: integer out of range for a 64-bit signed field");
  expect_error(PT("\"asInt\":\"-9223372036854775809\""), WIRE_E_INVALID, "asInt: integer out of range");
  expect_error(PT("\"asInt\":99999999999999999999"), WIRE_E_INVALID, "asInt: integer out of range");
  expect_error(PT("\"asInt\":-99999999999999999999"), WIRE_E_INVALID, "asInt: integer out of range");
  expect_error(PT("\"asInt\":1e19"), WIRE_E_INVALID, "asInt: integer out of range for a 64-bit signed field");
  expect_error(PT("\"timeUnixNano\":\"18446744073709551616\""), WIRE_E_INVALID, "timeUnixNano: integer out of range");
  expect_error(PT("\"timeUnixNano\":18446744073709551616"), WIRE_E_INVALID, "timeUnixNano: integer out of range");
  expect_error(PT("\"timeUnixNano\":-1"), WIRE_E_INVALID, "timeUnixNano: negative integer for an unsigned field");
  expect_error(PT("\"flags\":4294967296"), WIRE_E_INVALID, "flags: integer out of range for a 32-bit unsigned field");
  expect_error(PT("\"asDouble\":1e400"), WIRE_E_INVALID, "asDouble: number out of range for a double");
  expect_error(PT("\"asDouble\":\"-1e400\""), WIRE_E_INVALID, "asDouble: number out of range for a double");
  expect_error(PT("\"asDouble\":NaN"), WIRE_E_INVALID, "invalid JSON at byte 94: NaN and Infinity must be written as strings");
  expect_error(PT("\"asDouble\":\"nan\""), WIRE_E_INVALID, "asDouble: expected a number");
  expect_error(PT("\"asDouble\":\"0x10\""), WIRE_E_INVALID, "asDouble: expected a number");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"exponentialHistogram\":{\"dataPoints\":[{"
               "\"scale\":2147483648}]}}]}]}]}",
               WIRE_E_INVALID, "dataPoints[0].scale: integer out of range for a 32-bit signed field");
  expect_error(PT("\"asInt\":01"), WIRE_E_INVALID, "invalid JSON at byte");
}

static void bad_ids_and_base64_are_refused(void) {
  expect_error(PT("\"exemplars\":[{\"traceId\":\"5b8efff798038103d269b633813fc60\"}]"), WIRE_E_INVALID,
               PT_PATH "exemplars[0].traceId: expected 32 hex digits, got a string of 31 characters");
  expect_error(PT("\"exemplars\":[{\"spanId\":\"eee19b7ec3c1b17g\"}]"), WIRE_E_INVALID,
               "exemplars[0].spanId: invalid hex digit at position 15");
  expect_error(PT("\"exemplars\":[{\"spanId\":\"7uGbfsPBsXQ=\"}]"), WIRE_E_INVALID,
               "exemplars[0].spanId: expected 16 hex digits, got a string of 12 characters"); /* base64: not OTLP */
  expect_error(PT("\"exemplars\":[{\"traceId\":16}]"), WIRE_E_INVALID, "traceId: expected a string, got a number");
  const char *pre = "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"b\",\"value\":{\"bytesValue\":";
  char json[256];
  snprintf(json, sizeof json, "%s\"AAE*\"}}]}}]}", pre);
  expect_error(json, WIRE_E_INVALID, "resourceMetrics[0].resource.attributes[0].value.bytesValue: invalid base64 character at position 3");
  snprintf(json, sizeof json, "%s\"AAECA\"}}]}}]}", pre);
  expect_error(json, WIRE_E_INVALID, "bytesValue: invalid base64: bad length");
  snprintf(json, sizeof json, "%s\"A===\"}}]}}]}", pre);
  expect_error(json, WIRE_E_INVALID, "bytesValue: invalid base64");
  snprintf(json, sizeof json, "%s\"AA=A\"}}]}}]}", pre);
  expect_error(json, WIRE_E_INVALID, "bytesValue: invalid base64 character at position 2");
}

static void bad_json_and_limits_are_refused(void) {
  expect_error("", WIRE_E_INVALID, "otlp/json: invalid JSON at byte 0: unexpected end of input");
  expect_error("{\"resourceMetrics\":[{\"scopeMetrics\":[", WIRE_E_INVALID, "unexpected end of input (truncated?)");
  expect_error("{\"resourceMetrics\":[{\"scope", WIRE_E_INVALID, "unexpected end of input");
  expect_error("{\"resourceMetrics\":[],}", WIRE_E_INVALID, "otlp/json: invalid JSON at byte 22");
  expect_error("{} {}", WIRE_E_INVALID, "invalid JSON at byte 3");
  expect_error("{}  \n\"x\"", WIRE_E_INVALID, "invalid JSON at byte 5");
  expect_error(PT("\"asDouble\":1."), WIRE_E_INVALID, "malformed number");
  expect_error(PT("\"asDouble\":-Infinity"), WIRE_E_INVALID, "malformed number");
  expect_error(PT("\"asDouble\":Infinity"), WIRE_E_INVALID, "NaN and Infinity must be written as strings");
  expect_error(PT("\"asDouble\":.5"), WIRE_E_INVALID, "unexpected character");
  expect_error(PT("\"asDouble\":+1"), WIRE_E_INVALID, "unexpected character");
  expect_error(PT("\"asInt\":tru"), WIRE_E_INVALID, "invalid JSON");
  expect_error(PT("\"asInt\":True"), WIRE_E_INVALID, "invalid JSON");
  expect_error("{}x", WIRE_E_INVALID, "invalid JSON at byte 2");
  expect_error("{'a':1}", WIRE_E_INVALID, "invalid JSON at byte 1");
  expect_error("{\"a\":1 /* c */}", WIRE_E_INVALID, "invalid JSON");
  expect_error("{\"a\":\"x\ty\"}", WIRE_E_INVALID, "invalid JSON at byte 7: control character 0x09 inside a string");
  {
    char nul[] = "{\"a\":1}";
    nul[6] = '\0';
    otlp_request *req = wire_otlp_json_decode_request((const uint8_t *)nul, 7, 0, 0, NULL, NULL);
    CHECK(req == NULL);
    wire_err err;
    req = wire_otlp_json_decode_request((const uint8_t *)nul, 7, 0, 0, NULL, &err);
    CHECK(req == NULL);
    CHECK_CONTAINS(err.msg, "invalid JSON at byte 6: NUL byte");
  }

  /* Size limit: nothing is read. */
  wire_err err;
  CHECK(wire_otlp_json_decode_request((const uint8_t *)"{}", 2, 1, 0, NULL, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "otlp/json: body of 2 bytes exceeds the limit of 1 bytes");

  /* Nesting: 20 levels of AnyValue arrays pass the default limit, 40 do not; an explicit limit holds. */
  char deep[4096];
  for (int levels = 20; levels <= 40; levels += 20) {
    size_t k = (size_t)snprintf(deep, sizeof deep, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":");
    for (int i = 0; i < levels; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"arrayValue\":{\"values\":[");
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"intValue\":\"1\"}");
    for (int i = 0; i < levels; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "]}}");
    snprintf(deep + k, sizeof deep - k, "}]}}]}");
    otlp_request *req = decode_str(deep, NULL, &err);
    if (levels == 20) {
      CHECK_MSG(req != NULL, "%s", err.msg);
      if (req) {
        char *again = encode_str(req);
        CHECK_STR(again, deep);
        free(again);
      }
      wire_otlp_request_free(req, NULL);
      req = wire_otlp_json_decode_request((const uint8_t *)deep, strlen(deep), 0, 30, NULL, &err);
      CHECK(req == NULL);
      CHECK_EQ(err.code, WIRE_E_LIMIT);
      CHECK_CONTAINS(err.msg, "nesting deeper than 30 levels");
    } else {
      expect_error(deep, WIRE_E_LIMIT, "nesting deeper than 100 levels");
    }
  }

  /* A deep error path keeps its end. */
  size_t k = (size_t)snprintf(deep, sizeof deep, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":");
  for (int i = 0; i < 20; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"kvlistValue\":{\"values\":[{\"value\":");
  k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"intValue\":true}");
  for (int i = 0; i < 20; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "}]}}");
  snprintf(deep + k, sizeof deep - k, "}]}}]}");
  expect_error(deep, WIRE_E_INVALID, "otlp/json: ...");
  expect_error(deep, WIRE_E_INVALID, "values[0].value.intValue: expected an integer or a decimal string, got a boolean");

  /* A flood of empty objects would make json-c's tree hundreds of times the body: refused before parsing. */
  size_t n = 4 * MiB;
  char *flood = malloc(n + 64);
  size_t f = (size_t)snprintf(flood, 64, "{\"resourceMetrics\":[");
  while (f + 4 < n) {
    memcpy(flood + f, "{},", 3);
    f += 3;
  }
  memcpy(flood + f, "{}]}", 5);
  expect_error(flood, WIRE_E_LIMIT, "objects): over 96x its size");
  free(flood);

  /* The arena's limit bounds what the decoded request may take. */
  otlp_arena small;
  otlp_arena_init(&small, 4096);
  otlp_request *req = decode_str(all_types_json, &small, &err);
  CHECK(req == NULL);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "exceeds the arena's limit of 4096 bytes");
  otlp_arena_free(&small);
}

int main(void) {
  RUN(spec_example_decodes_exactly);
  RUN(all_types_decode_with_exact_values);
  RUN(round_trips_are_exact);
  RUN(json_matches_binary);
  RUN(encoder_writes_canonical_form);
  RUN(doubles_encode_shortest);
  RUN(lenient_forms_are_accepted);
  RUN(responses_round_trip);
  RUN(wrong_types_say_where);
  RUN(bad_numbers_are_refused);
  RUN(bad_ids_and_base64_are_refused);
  RUN(bad_json_and_limits_are_refused);
  return test_finish();
}
