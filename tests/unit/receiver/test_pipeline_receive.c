/* test_pipeline_receive.c — the OTLP receiver keeps what it received (rt_harness.h: a real runtime, the debug
 * exporter replaced by a capture): a clean protobuf request over OTLP/HTTP (plain and gzip) and OTLP/gRPC
 * reaches the pipeline as a raw batch whose bytes are the (gunzipped) request, not decoded, with its points
 * counted and include_metadata applied; a request the semantic checks change (bad UTF-8) is decoded, repaired
 * and answered with the same partial success as always; JSON is decoded. */
#include "rt_harness.h"

#include "wire/gzip.h"

static const char *yaml = RT_YAML_OTLP_RECEIVER
    "      grpc: {endpoint: 127.0.0.1:0, include_metadata: true}\n"
    "      http: {endpoint: 127.0.0.1:0, include_metadata: true}\n"
    RT_YAML_OTLP_TO_DEBUG;

/* Batch i of the capture, with a reference (NULL if there is none). */
static component_metrics *captured(size_t i) {
  capture *c = capture_get("debug");
  pthread_mutex_lock(&c->mu);
  component_metrics *m = i < c->n ? metrics_ref(c->got[i]) : NULL;
  pthread_mutex_unlock(&c->mu);
  return m;
}

static bool raw_is(component_metrics *m, const wire_buf *want) {
  wire_buf got;
  wire_buf_init(&got, 0);
  bool ok = m && metrics_raw_copy(m, &got, NULL) == 0 && got.len == want->len && !memcmp(got.data, want->data, got.len);
  wire_buf_free(&got);
  return ok;
}

static void clean_requests_arrive_raw(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  otlp_request *req = sample_otlp_parametric(20, 5, 3);
  wire_buf pb, gz;
  encode_sample(req, &pb);
  sample_otlp_free(req);
  wire_buf_init(&gz, 0);
  CHECK(wire_gzip_compress(pb.data, pb.len, -1, &gz, NULL) == 0);

  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, pb.data, pb.len, "x-tenant", "a", &resp);
  CHECK_EQ(resp.status, 200);
  CHECK_EQ(resp.body.len, 0); /* no partial success */
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", PB, gz.data, gz.len, "content-encoding", "gzip", &resp);
  CHECK_EQ(resp.status, 200);
  wire_http_response_free(&resp);
  wire_client_free(c);

  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  CHECK_EQ(grpc_export_code(g, pb.data, pb.len, NULL, NULL), WIRE_GRPC_OK);
  wire_client_free(g);

  CHECK(wait_points("debug", 300, 5000));
  for (size_t i = 0; i < 3; i++) {
    component_metrics *m = captured(i);
    CHECK(m != NULL);
    if (!m) continue;
    CHECK_MSG(metrics_has_raw(m), "batch %zu has no raw form", i);
    CHECK(m->req == NULL); /* nobody needed the structs */
    CHECK_EQ(m->points, 100);
    CHECK_MSG(raw_is(m, &pb), "batch %zu: bytes differ from the request", i);
    if (i == 0) CHECK(m->metadata && !strcmp(wire_headers_get(m->metadata, "x-tenant"), "a"));
    otlp_request *d = metrics_request(m, NULL);
    CHECK(d && wire_otlp_count_points(d) == 100);
    metrics_unref(m);
  }
  harness_stop(&h);
  capture_reset();
  CHECK_EQ(pipeline_batches_live(), 0);
  wire_buf_free(&pb);
  wire_buf_free(&gz);
}

static void unclean_and_json_are_decoded(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  otlp_request *req = sample_otlp_full();
  req->resource_metrics[0]->scope_metrics[0]->metrics[0]->name[1] = (char)0xFF;
  wire_buf pb;
  encode_sample(req, &pb);
  sample_otlp_free(req);

  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, pb.data, pb.len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  otlp_response *ans = wire_otlp_decode_response(resp.body.data, resp.body.len, 0, NULL, NULL);
  CHECK(ans && ans->partial_success);
  if (ans && ans->partial_success) {
    CHECK_EQ(ans->partial_success->rejected_data_points, 0);
    CHECK_CONTAINS(ans->partial_success->error_message, "not valid UTF-8");
  }
  wire_otlp_response_free(ans, NULL);

  /* JSON */
  static const char json[] =
      "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"j\",\"gauge\":{\"dataPoints\":"
      "[{\"asInt\":\"3\"}]}}]}]}]}";
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", "application/json", json, sizeof json - 1, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  wire_http_response_free(&resp);
  wire_client_free(c);

  CHECK(wait_points("debug", SAMPLE_FULL_POINTS + 1, 5000));
  component_metrics *m = captured(0);
  CHECK(m && !metrics_has_raw(m) && m->req);
  if (m && m->req) CHECK_STR(m->req->resource_metrics[0]->scope_metrics[0]->metrics[0]->name, "r?quests");
  metrics_unref(m);
  m = captured(1);
  CHECK(m && !metrics_has_raw(m) && m->req && m->points == 1);
  metrics_unref(m);
  harness_stop(&h);
  capture_reset();
  wire_buf_free(&pb);
}

int main(void) {
  RUN(clean_requests_arrive_raw);
  RUN(unclean_and_json_are_decoded);
  return test_finish();
}
