/* test_otlp_receiver.c — the OTLP receiver's answers, in-process on a real runtime (rt_harness.h): partial
 * success, 404/405/415, malformed protobuf and JSON (400 with a google.rpc.Status), oversized bodies and a gzip
 * bomb (413), gRPC errors (UNIMPLEMENTED, INVALID_ARGUMENT), backpressure from the pipeline (503 with
 * Retry-After / UNAVAILABLE with RetryInfo) including memory_limiter, bearer token auth (401 /
 * UNAUTHENTICATED), and a slow client that stalls mid-request while others are served. After every bad
 * request a good one must still succeed. */
#include "rt_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "google/rpc/status.pb-c.h"
#include "testcerts.h"
#include "wire/gzip.h"

static wire_buf sample_pb; /* sample_otlp_full(), encoded */

static void post_ok(wire_client *c, uint64_t *expect_points) {
  CHECK_EQ(post_metrics(c, sample_pb.data, sample_pb.len, NULL, NULL), 200);
  *expect_points += SAMPLE_FULL_POINTS;
  CHECK(wait_points("debug", *expect_points, 5000));
}

/* Decodes a google.rpc.Status body (protobuf). */
static Google__Rpc__Status *status_of(const wire_http_response *resp) {
  return google__rpc__status__unpack(NULL, resp->body.len, resp->body.data ? resp->body.data : (const uint8_t *)"");
}

/* sample_pb is refused retryably over both protocols: HTTP 503 with Retry-After, gRPC UNAVAILABLE with
 * RetryInfo. The answers are left in resp and r for more checks (the caller frees them). */
static void expect_refused_retryably(uint16_t hport, uint16_t gport, wire_http_response *resp, wire_grpc_result *r) {
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_response_init(resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, sample_pb.data, sample_pb.len, NULL, NULL, resp);
  CHECK_EQ(resp->status, 503);
  CHECK(wire_headers_get(&resp->headers, "retry-after") != NULL);
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  wire_grpc_result_init(r);
  CHECK(grpc_export(g, sample_pb.data, sample_pb.len, NULL, NULL, r) == 0);
  CHECK_EQ(r->code, WIRE_GRPC_UNAVAILABLE);
  CHECK(r->has_retry_info);
  wire_client_free(c);
  wire_client_free(g);
}

static const char *errors_yaml = RT_YAML_OTLP_RECEIVER
    "      grpc: {endpoint: 127.0.0.1:0, max_recv_msg_size_mib: 1}\n"
    "      http: {endpoint: 127.0.0.1:0, max_request_body_size: 65536}\n"
    RT_YAML_OTLP_TO_DEBUG;

static void http_errors_and_recovery(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, errors_yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  uint64_t points = 0;
  post_ok(c, &points);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);

  /* 404: another path (traces are not served) */
  http_do(c, "POST", "/v1/traces", PB, sample_pb.data, sample_pb.len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 404);
  /* 405: GET, with Allow */
  wire_http_response_reset(&resp);
  http_do(c, "GET", "/v1/metrics", NULL, NULL, 0, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 405);
  CHECK_STR(wire_headers_get(&resp.headers, "allow"), "POST");
  /* 415: another media type */
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", "text/plain", "x", 1, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 415);
  post_ok(c, &points);

  /* 400: malformed protobuf, with a Status saying where */
  wire_http_response_reset(&resp);
  static const uint8_t bad_pb[] = {0x0a, 0x05, 0x0a, 0x03, 0xff, 0xff};
  http_do(c, "POST", "/v1/metrics", PB, bad_pb, sizeof bad_pb, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 400);
  Google__Rpc__Status *st = status_of(&resp);
  CHECK(st != NULL);
  if (st) {
    CHECK_EQ(st->code, WIRE_GRPC_INVALID_ARGUMENT);
    CHECK_CONTAINS(st->message, "otlp:");
    google__rpc__status__free_unpacked(st, NULL);
  }
  /* 400: malformed JSON, answered in JSON */
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", "application/json", "{\"resourceMetrics\": [", 21, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 400);
  CHECK_STR(wire_headers_get(&resp.headers, "content-type"), "application/json");
  wire_buf_append(&resp.body, "", 1, NULL);
  CHECK_CONTAINS((const char *)resp.body.data, "\"code\":3");
  CHECK_CONTAINS((const char *)resp.body.data, "otlp/json");
  /* 400: JSON of the wrong shape */
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", "application/json", "{\"resourceMetrics\": 5}", 22, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 400);
  post_ok(c, &points);

  /* 413: a body over max_request_body_size */
  size_t big_len = 70000;
  uint8_t *big = calloc(1, big_len);
  wire_http_response_reset(&resp);
  wire_client_disconnect(c);
  http_do(c, "POST", "/v1/metrics", PB, big, big_len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 413);
  free(big);
  wire_client_disconnect(c);
  /* 413: a gzip bomb (64 KiB compressed to a few hundred bytes, but 8 MiB inflated) */
  size_t bomb_plain = 8u << 20;
  uint8_t *zeros = calloc(1, bomb_plain);
  wire_buf gz;
  wire_buf_init(&gz, 0);
  CHECK(wire_gzip_compress(zeros, bomb_plain, 9, &gz, NULL) == 0);
  free(zeros);
  CHECK(gz.len < 65536);
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "POST", "/v1/metrics", NULL, NULL);
  wire_headers_add_cstr(&req.headers, "content-type", PB, NULL);
  wire_headers_add_cstr(&req.headers, "content-encoding", "gzip", NULL);
  wire_buf_append(&req.body, gz.data, gz.len, NULL);
  wire_http_response_reset(&resp);
  wire_err err = {0};
  CHECK_MSG(wire_client_do(c, &req, &resp, deadline_ms(10000), &err) == 0, "%s", err.msg);
  CHECK_EQ(resp.status, 413);
  /* a good gzip body is accepted */
  wire_buf_reset(&gz);
  CHECK(wire_gzip_compress(sample_pb.data, sample_pb.len, -1, &gz, NULL) == 0);
  wire_buf_reset(&req.body);
  wire_buf_append(&req.body, gz.data, gz.len, NULL);
  wire_http_response_reset(&resp);
  wire_client_disconnect(c);
  CHECK_MSG(wire_client_do(c, &req, &resp, deadline_ms(10000), &err) == 0, "%s", err.msg);
  CHECK_EQ(resp.status, 200);
  points += SAMPLE_FULL_POINTS;
  CHECK(wait_points("debug", points, 5000));
  /* an unknown Content-Encoding: 415 */
  wire_headers_set(&req.headers, "content-encoding", "br", NULL);
  wire_http_response_reset(&resp);
  CHECK_MSG(wire_client_do(c, &req, &resp, deadline_ms(10000), &err) == 0, "%s", err.msg);
  CHECK_EQ(resp.status, 415);
  wire_http_request_free(&req);
  wire_buf_free(&gz);
  wire_client_disconnect(c);
  post_ok(c, &points);

  wire_http_response_free(&resp);
  wire_client_free(c);
  harness_stop(&h);
  capture_reset();
}

static void partial_success(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, errors_yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  /* Break histogram point 0 of metrics[3] (bucket_counts no longer bounds + 1). */
  otlp_request *req = sample_otlp_full();
  otlp_histogram_point *hp = req->resource_metrics[0]->scope_metrics[0]->metrics[3]->histogram->data_points[0];
  hp->n_bucket_counts = 2;
  wire_buf pb;
  encode_sample(req, &pb);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, pb.data, pb.len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  otlp_response *r = wire_otlp_decode_response(resp.body.data, resp.body.len, 0, NULL, NULL);
  CHECK(r && r->partial_success);
  if (r && r->partial_success) {
    CHECK_EQ(r->partial_success->rejected_data_points, 1);
    CHECK_CONTAINS(r->partial_success->error_message, "histogram");
  }
  wire_otlp_response_free(r, NULL);
  CHECK(wait_points("debug", SAMPLE_FULL_POINTS - 1, 5000));
  /* the same over gRPC */
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  wire_grpc_result gr;
  wire_grpc_result_init(&gr);
  CHECK(grpc_export(g, pb.data, pb.len, NULL, NULL, &gr) == 0);
  CHECK_EQ(gr.code, WIRE_GRPC_OK);
  r = wire_otlp_decode_response(gr.response.data, gr.response.len, 0, NULL, NULL);
  CHECK(r && r->partial_success && r->partial_success->rejected_data_points == 1);
  wire_otlp_response_free(r, NULL);
  wire_grpc_result_free(&gr);
  CHECK(wait_points("debug", 2 * (SAMPLE_FULL_POINTS - 1), 5000));
  CHECK_EQ(telemetry_get(h.tel, "otelcol_receiver_refused_metric_points", "otlp", "http"), 1);
  wire_http_response_free(&resp);
  wire_client_free(c);
  wire_client_free(g);
  harness_stop(&h);
  wire_buf_free(&pb);
  sample_otlp_free(req);
  capture_reset();
}

static void grpc_errors(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, errors_yaml) < 0) return;
  uint16_t gport;
  harness_ports(&h, "otlp", &gport, NULL);
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  wire_grpc_result r;
  /* malformed message */
  static const uint8_t bad_pb[] = {0x0a, 0x05, 0x0a, 0x03, 0xff, 0xff};
  CHECK_EQ(grpc_export_code(g, bad_pb, sizeof bad_pb, NULL, NULL), WIRE_GRPC_INVALID_ARGUMENT);
  /* unknown method */
  wire_grpc_result_init(&r);
  wire_grpc_call call = {.path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                         .request = sample_pb.data, .request_len = sample_pb.len, .deadline_ns = deadline_ms(5000)};
  CHECK(wire_grpc_unary(g, &call, &r, NULL) == 0);
  CHECK_EQ(r.code, WIRE_GRPC_UNIMPLEMENTED);
  wire_grpc_result_free(&r);
  /* over max_recv_msg_size_mib (1 MiB) */
  size_t big_len = (1u << 20) + 100;
  uint8_t *big = calloc(1, big_len);
  wire_grpc_result_init(&r);
  CHECK(grpc_export(g, big, big_len, NULL, NULL, &r) == 0);
  CHECK_EQ(r.code, WIRE_GRPC_RESOURCE_EXHAUSTED);
  CHECK(!r.has_retry_info); /* permanent */
  wire_grpc_result_free(&r);
  free(big);
  /* and a good one still works */
  wire_client_disconnect(g);
  CHECK_EQ(grpc_export_code(g, sample_pb.data, sample_pb.len, NULL, NULL), WIRE_GRPC_OK);
  CHECK(wait_points("debug", SAMPLE_FULL_POINTS, 5000));
  wire_client_free(g);
  harness_stop(&h);
  capture_reset();
}

static void backpressure_is_retryable(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      grpc: {endpoint: 127.0.0.1:0}\n"
      "      http: {endpoint: 127.0.0.1:0}\n"
      "exporters:\n"
      "  debug/refuse:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], exporters: [debug/refuse]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_http_response resp;
  wire_grpc_result r;
  expect_refused_retryably(hport, gport, &resp, &r);
  Google__Rpc__Status *st = status_of(&resp);
  CHECK(st && st->code == WIRE_GRPC_UNAVAILABLE);
  if (st) google__rpc__status__free_unpacked(st, NULL);
  CHECK(wire_grpc_otlp_retryable(r.code, r.has_retry_info));
  wire_grpc_result_free(&r);
  CHECK_EQ(telemetry_get(h.tel, "otelcol_receiver_refused_metric_points", "otlp", "http"), SAMPLE_FULL_POINTS);
  CHECK_EQ(telemetry_get(h.tel, "otelcol_receiver_refused_metric_points", "otlp", "grpc"), SAMPLE_FULL_POINTS);
  wire_http_response_free(&resp);
  harness_stop(&h);
  capture_reset();
}

/* memory_limiter with a limit far below any process's RSS refuses everything, retryably. */
static void memory_limiter_refuses(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      grpc: {endpoint: 127.0.0.1:0}\n"
      "      http: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  memory_limiter: {check_interval: 100ms, limit_mib: 2, spike_limit_mib: 1}\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [memory_limiter], exporters: [debug]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_http_response resp;
  wire_grpc_result r;
  expect_refused_retryably(hport, gport, &resp, &r);
  wire_grpc_result_free(&r);
  CHECK_EQ(capture_points("debug"), 0);
  wire_http_response_free(&resp);
  harness_stop(&h);
  capture_reset();
}

static void bearer_token_auth(void) {
  capture_reset();
  harness h;
  const char *yaml =
      "extensions:\n"
      "  bearertokenauth:\n"
      "    token: s3cret-token\n"
      RT_YAML_OTLP_RECEIVER
      "      grpc: {endpoint: 127.0.0.1:0, auth: {authenticator: bearertokenauth}}\n"
      "      http: {endpoint: 127.0.0.1:0, auth: {authenticator: bearertokenauth}}\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  extensions: [bearertokenauth]\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], exporters: [debug]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  CHECK_EQ(post_metrics(c, sample_pb.data, sample_pb.len, NULL, NULL), 401);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, sample_pb.data, sample_pb.len, "authorization", "Bearer wrong", &resp);
  CHECK_EQ(resp.status, 401);
  wire_buf_append(&resp.body, "", 1, NULL);
  CHECK(strstr((const char *)resp.body.data, "s3cret") == NULL);
  CHECK_EQ(post_metrics(c, sample_pb.data, sample_pb.len, "authorization", "Basic s3cret-token"), 401);
  CHECK_EQ(post_metrics(c, sample_pb.data, sample_pb.len, "Authorization", "Bearer s3cret-token"), 200);
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  CHECK_EQ(grpc_export_code(g, sample_pb.data, sample_pb.len, NULL, NULL), WIRE_GRPC_UNAUTHENTICATED);
  CHECK_EQ(grpc_export_code(g, sample_pb.data, sample_pb.len, "authorization", "Bearer s3cret-token"), WIRE_GRPC_OK);
  CHECK(wait_points("debug", 2 * SAMPLE_FULL_POINTS, 5000));
  /* the client side of the extension gives exporters the header */
  component_auth *a = runtime_host(h.rt)->auth(runtime_host(h.rt), "bearertokenauth");
  CHECK(a && a->client_headers);
  if (a && a->client_headers) {
    wire_headers hd;
    wire_headers_init(&hd, 0, 0);
    CHECK(a->client_headers(a, &hd, NULL) == 0);
    CHECK_STR(wire_headers_get(&hd, "authorization"), "Bearer s3cret-token");
    wire_headers_free(&hd);
  }
  wire_http_response_free(&resp);
  wire_client_free(c);
  wire_client_free(g);
  harness_stop(&h);
  capture_reset();
}

/* A client that sends half a request and stalls does not keep others from being served. */
static void slow_client_does_not_block_others(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, errors_yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  int fds[4];
  for (int i = 0; i < 4; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(hport)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0);
    const char *part = i % 2 ? "POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Le"
                             : "POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                               "Content-Length: 1000\r\n\r\nabc";
    CHECK(send(fds[i], part, strlen(part), 0) > 0);
  }
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  uint64_t points = 0;
  for (int i = 0; i < 3; i++) post_ok(c, &points);
  wire_client_free(c);
  for (int i = 0; i < 4; i++) close(fds[i]);
  harness_stop(&h);
  capture_reset();
}

static void cors_preflight_and_origin(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      http:\n"
      "        endpoint: 127.0.0.1:0\n"
      "        cors: {allowed_origins: ['https://*.example.com'], allowed_headers: [X-Custom], max_age: 600}\n"
      RT_YAML_OTLP_TO_DEBUG;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "OPTIONS", "/v1/metrics", NULL, NULL);
  wire_headers_add_cstr(&req.headers, "origin", "https://app.example.com", NULL);
  wire_headers_add_cstr(&req.headers, "access-control-request-method", "POST", NULL);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  CHECK(wire_client_do(c, &req, &resp, deadline_ms(5000), NULL) == 0);
  CHECK_EQ(resp.status, 204);
  CHECK_STR(wire_headers_get(&resp.headers, "access-control-allow-origin"), "https://app.example.com");
  CHECK_STR(wire_headers_get(&resp.headers, "access-control-allow-methods"), "POST");
  CHECK_CONTAINS(wire_headers_get(&resp.headers, "access-control-allow-headers"), "X-Custom");
  CHECK_STR(wire_headers_get(&resp.headers, "access-control-max-age"), "600");
  /* another origin: no CORS headers */
  wire_headers_set(&req.headers, "origin", "https://evil.test", NULL);
  wire_http_response_reset(&resp);
  CHECK(wire_client_do(c, &req, &resp, deadline_ms(5000), NULL) == 0);
  CHECK(wire_headers_get(&resp.headers, "access-control-allow-origin") == NULL);
  wire_http_request_free(&req);
  /* the POST itself carries the header */
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", PB, sample_pb.data, sample_pb.len, "origin", "https://app.example.com", &resp);
  CHECK_EQ(resp.status, 200);
  CHECK_STR(wire_headers_get(&resp.headers, "access-control-allow-origin"), "https://app.example.com");
  wire_http_response_free(&resp);
  wire_client_free(c);
  harness_stop(&h);
  capture_reset();
}

/* TLS on both protocols, with client certificates required (mTLS). */
static void tls_and_mtls(void) {
  test_certs certs;
  if (test_certs_make(&certs) < 0) {
    test_fail(__FILE__, __LINE__, "cannot make test certificates");
    return;
  }
  capture_reset();
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           RT_YAML_OTLP_RECEIVER
           "      grpc:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
           "      http:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls: {cert_file: %s, key_file: %s}\n"
           RT_YAML_OTLP_TO_DEBUG,
           certs.server_cert, certs.server_key, certs.ca, certs.server_cert, certs.server_key);
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_err err = {0};
  /* HTTPS */
  wire_tls_config tls = {.ca_file = certs.ca};
  CHECK_MSG(https_post(hport, &tls, sample_pb.data, sample_pb.len, &err) == 200, "%s", err.msg);
  /* gRPC with a client certificate: accepted */
  wire_tls_config mtls = {.ca_file = certs.ca, .cert_file = certs.client_cert, .key_file = certs.client_key};
  int code;
  CHECK_EQ(grpc_tls_export(gport, &mtls, sample_pb.data, sample_pb.len, &code), 0);
  CHECK_EQ(code, WIRE_GRPC_OK);
  /* ... and without one: refused */
  CHECK(grpc_tls_export(gport, &tls, sample_pb.data, sample_pb.len, &code) < 0);
  CHECK(code == WIRE_GRPC_UNAVAILABLE);
  CHECK(wait_points("debug", 2 * SAMPLE_FULL_POINTS, 5000));
  harness_stop(&h);
  capture_reset();
}

int main(void) {
  otlp_request *req = sample_otlp_full();
  encode_sample(req, &sample_pb);
  sample_otlp_free(req);
  RUN(http_errors_and_recovery);
  RUN(partial_success);
  RUN(grpc_errors);
  RUN(backpressure_is_retryable);
  RUN(memory_limiter_refuses);
  RUN(bearer_token_auth);
  RUN(slow_client_does_not_block_others);
  RUN(cors_preflight_and_origin);
  RUN(tls_and_mtls);
  wire_buf_free(&sample_pb);
  return test_finish();
}
