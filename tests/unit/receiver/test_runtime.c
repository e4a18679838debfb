/* test_runtime.c — the receiver runtime on real configurations, in-process: OTLP over HTTP (protobuf and JSON)
 * and gRPC reach the exporters byte for byte; fan-out to two exporters and to two pipelines; the batch
 * processor merging inside a pipeline; shutdown drains what batch holds; self-telemetry counts; health_check
 * follows the service state; include_metadata. Exporters are capture exporters (rt_harness.h). */
#include "rt_harness.h"

#include "receiver/extensions/health_check.h"

static const char *basic_yaml = RT_YAML_OTLP_RECEIVER
    "      grpc: {endpoint: 127.0.0.1:0}\n"
    "      http: {endpoint: 127.0.0.1:0}\n"
    RT_YAML_OTLP_TO_DEBUG;

/* Receiver `otlp` on HTTP only, straight to `debug`. */
static const char *http_only_yaml = RT_YAML_OTLP_RECEIVER
    "      http: {endpoint: 127.0.0.1:0}\n"
    RT_YAML_OTLP_TO_DEBUG;

/* Received batch 0 of `id` encodes exactly as `want`. */
static void check_same(const char *id, size_t idx, const wire_buf *want) {
  wire_buf got;
  wire_buf_init(&got, 0);
  CHECK(capture_encode(id, idx, &got) == 0);
  CHECK_EQ(got.len, want->len);
  CHECK(got.len == want->len && memcmp(got.data, want->data, got.len) == 0);
  wire_buf_free(&got);
}

static void http_protobuf_json_and_grpc_arrive_exactly(void) {
  capture_reset();
  harness h;
  if (harness_start(&h, basic_yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  CHECK(gport != 0 && hport != 0);

  otlp_request *req = sample_otlp_full();
  wire_buf pb;
  encode_sample(req, &pb);

  /* HTTP, protobuf */
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "POST", "/v1/metrics", PB, pb.data, pb.len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  CHECK_STR(wire_headers_get(&resp.headers, "content-type"), PB);
  CHECK_EQ(resp.body.len, 0); /* empty ExportMetricsServiceResponse */
  CHECK(wait_points("debug", SAMPLE_FULL_POINTS, 5000));
  check_same("debug", 0, &pb);

  /* HTTP, JSON: the same data */
  wire_buf js;
  wire_buf_init(&js, 0);
  CHECK(wire_otlp_json_encode_request(req, &js, NULL) == 0);
  wire_http_response_reset(&resp);
  http_do(c, "POST", "/v1/metrics", "application/json; charset=utf-8", js.data, js.len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  CHECK_STR(wire_headers_get(&resp.headers, "content-type"), "application/json");
  CHECK(resp.body.len == 2 && !memcmp(resp.body.data, "{}", 2));
  CHECK(wait_points("debug", 2 * SAMPLE_FULL_POINTS, 5000));
  check_same("debug", 1, &pb);

  /* gRPC */
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  CHECK(grpc_export(g, pb.data, pb.len, NULL, NULL, &r) == 0);
  CHECK_EQ(r.code, WIRE_GRPC_OK);
  CHECK_EQ(r.response.len, 0);
  CHECK(wait_points("debug", 3 * SAMPLE_FULL_POINTS, 5000));
  check_same("debug", 2, &pb);
  wire_grpc_result_free(&r);

  /* Self-telemetry counted per transport. */
  CHECK_EQ(telemetry_get(h.tel, "otelcol_receiver_accepted_metric_points", "otlp", "http"), 2 * SAMPLE_FULL_POINTS);
  CHECK_EQ(telemetry_get(h.tel, "otelcol_receiver_accepted_metric_points", "otlp", "grpc"), SAMPLE_FULL_POINTS);
  wire_buf text;
  wire_buf_init(&text, 0);
  CHECK(telemetry_render(h.tel, &text, NULL) == 0);
  wire_buf_append(&text, "", 1, NULL);
  CHECK_CONTAINS((const char *)text.data, "otelcol_receiver_accepted_metric_points{receiver=\"otlp\",");
  CHECK_CONTAINS((const char *)text.data, "transport=\"grpc\"} 10\n");
  CHECK_CONTAINS((const char *)text.data, "# TYPE otelcol_process_memory_rss gauge");
  CHECK_CONTAINS((const char *)text.data, "otelcol_process_uptime{");
  CHECK_CONTAINS((const char *)text.data, "otelcol_process_cpu_seconds{");
  wire_buf_free(&text);

  wire_http_response_free(&resp);
  wire_client_free(c);
  wire_client_free(g);
  harness_stop(&h);
  wire_buf_free(&pb);
  wire_buf_free(&js);
  sample_otlp_free(req);
  capture_reset();
  CHECK_EQ(pipeline_batches_live(), 0);
  CHECK_EQ(pipeline_bytes_in_use(), 0);
}

static void fan_out_to_exporters_and_pipelines(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      http: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  batch: {timeout: 0s}\n"
      "exporters:\n"
      "  debug/a:\n"
      "  debug/b:\n"
      "  debug/c:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [batch], exporters: [debug/a, debug/b]}\n"
      "    metrics/second: {receivers: [otlp], exporters: [debug/c, debug/a]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  otlp_request *req = sample_otlp_full();
  wire_buf pb;
  encode_sample(req, &pb);
  wire_client *c = http_client(hport, WIRE_CLIENT_AUTO);
  CHECK_EQ(post_metrics(c, pb.data, pb.len, NULL, NULL), 200);
  CHECK(wait_points("debug/a", 2 * SAMPLE_FULL_POINTS, 5000)); /* in both pipelines */
  CHECK(wait_points("debug/b", SAMPLE_FULL_POINTS, 5000));
  CHECK(wait_points("debug/c", SAMPLE_FULL_POINTS, 5000));
  CHECK_EQ(capture_batches("debug/a"), 2);
  check_same("debug/b", 0, &pb);
  check_same("debug/c", 0, &pb);
  check_same("debug/a", 0, &pb);
  check_same("debug/a", 1, &pb);
  wire_client_free(c);
  harness_stop(&h);
  wire_buf_free(&pb);
  sample_otlp_free(req);
  capture_reset();
  CHECK_EQ(pipeline_batches_live(), 0);
}

/* A batch processor with a long timeout holds the data; shutdown flushes it into the exporter, and the
 * exporter is shut down only after that. */
static void shutdown_drains_batch(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      grpc: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  batch: {timeout: 1h, send_batch_size: 100000}\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [batch], exporters: [debug]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport;
  harness_ports(&h, "otlp", &gport, NULL);
  otlp_request *req = sample_otlp_parametric(10, 10, 3);
  wire_buf pb;
  encode_sample(req, &pb);
  wire_client *g = http_client(gport, WIRE_CLIENT_H2);
  for (int i = 0; i < 5; i++) CHECK_EQ(grpc_export_code(g, pb.data, pb.len, NULL, NULL), WIRE_GRPC_OK);
  CHECK_EQ(capture_points("debug"), 0); /* held by batch */
  wire_client_free(g);
  harness_stop(&h);
  CHECK_EQ(capture_points("debug"), 500);
  CHECK_EQ(capture_batches("debug"), 1); /* merged into one */
  capture *cap = capture_get("debug");
  CHECK_EQ(cap->consumed_after_shutdown, 0);
  CHECK(cap->shut);
  /* The merged batch encodes as the five requests' resource_metrics one after the other. */
  wire_buf got;
  wire_buf_init(&got, 0);
  CHECK(capture_encode("debug", 0, &got) == 0);
  wire_err err = {0};
  otlp_request *back = wire_otlp_decode_request(got.data, got.len, 0, NULL, &err);
  CHECK(back != NULL);
  if (back) {
    CHECK_EQ(back->n_resource_metrics, 5);
    CHECK_EQ(wire_otlp_count_points(back), 500);
    wire_otlp_request_free(back, NULL);
  }
  wire_buf_free(&got);
  wire_buf_free(&pb);
  sample_otlp_free(req);
  capture_reset();
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void include_metadata_reaches_exporters(void) {
  capture_reset();
  harness h;
  const char *yaml = RT_YAML_OTLP_RECEIVER "      http: {endpoint: 127.0.0.1:0, include_metadata: true}\n" RT_YAML_OTLP_TO_DEBUG;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  otlp_request *req = sample_otlp_full();
  wire_buf pb;
  encode_sample(req, &pb);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  CHECK_EQ(post_metrics(c, pb.data, pb.len, "X-Tenant", "team-a"), 200);
  CHECK(wait_points("debug", SAMPLE_FULL_POINTS, 5000));
  capture *cap = capture_get("debug");
  pthread_mutex_lock(&cap->mu);
  CHECK(cap->n == 1 && cap->got[0]->metadata != NULL);
  if (cap->n == 1 && cap->got[0]->metadata) CHECK_STR(wire_headers_get(cap->got[0]->metadata, "x-tenant"), "team-a");
  pthread_mutex_unlock(&cap->mu);
  wire_client_free(c);
  harness_stop(&h);
  wire_buf_free(&pb);
  sample_otlp_free(req);
  capture_reset();
}

static void health_check_follows_state(void) {
  capture_reset();
  harness h;
  const char *yaml =
      RT_YAML_OTLP_RECEIVER
      "      http: {endpoint: 127.0.0.1:0}\n"
      "extensions:\n"
      "  health_check: {endpoint: 127.0.0.1:0, path: /health/status}\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  extensions: [health_check]\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], exporters: [debug]}\n";
  if (harness_start(&h, yaml) < 0) return;
  uint16_t port = health_check_port(runtime_component_state(h.rt, COMPONENT_EXTENSION, "health_check", 0));
  CHECK(port != 0);
  wire_client *c = http_client(port, WIRE_CLIENT_H1);
  const char *paths[] = {"/health/status", "/", "/healthz", "/readyz"};
  for (size_t i = 0; i < 4; i++) {
    wire_http_response resp;
    wire_http_response_init(&resp, 0, 0);
    http_do(c, "GET", paths[i], NULL, NULL, 0, NULL, NULL, &resp);
    CHECK_EQ(resp.status, 200);
    wire_buf_append(&resp.body, "", 1, NULL);
    CHECK_CONTAINS((const char *)resp.body.data, "\"status\":\"Server available\"");
    wire_http_response_free(&resp);
  }
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "GET", "/nope", NULL, NULL, 0, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 404);
  wire_http_response_free(&resp);
  wire_client_free(c);
  harness_stop(&h);
  capture_reset();
}

/* A component without a runtime fails clearly at runtime_new; a "pending" one (config accepted, runtime not in
 * this release: k8sattributes) is skipped and its pipeline passes data through. */
static const component_hooks no_hooks;
static const component_hooks *hooks_none_for_debug(const service_component *c, void *ud) {
  (void)ud;
  return c->kind == COMPONENT_EXPORTER && !strcmp(c->type, "debug") ? &no_hooks : NULL;
}

static void components_without_runtime(void) {
  const char *yaml = http_only_yaml;
  cfg_diags d;
  cfg_diags_init(&d);
  otelc_config *cfg = config_load_buffer("t.yaml", yaml, strlen(yaml), NULL, NULL, &d);
  cfg_diags_free(&d);
  CHECK(cfg != NULL);
  if (!cfg) return;
  uv_loop_t loop;
  uv_loop_init(&loop);
  rt_logger *log = rt_logger_new(NULL, NULL);
  runtime_options o = {.log = log, .hooks_for = hooks_none_for_debug};
  wire_err err = {0};
  runtime *rt = runtime_new(&loop, config_graph(cfg), &o, &err);
  CHECK(rt == NULL);
  CHECK_CONTAINS(err.msg, "exporter \"debug\": this build knows its configuration but cannot run it yet");
  if (rt) runtime_free(rt);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_EQ(uv_loop_close(&loop), 0);
  rt_logger_free(log);
  config_free(cfg);

  /* pending processor: passes through */
  capture_reset();
  harness h;
  const char *pending_yaml =
      RT_YAML_OTLP_RECEIVER
      "      http: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  k8sattributes:\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [k8sattributes], exporters: [debug]}\n";
  const component_factory *f = registry_find(COMPONENT_PROCESSOR, "k8sattributes");
  if (!f || f->hooks) return; /* implemented meanwhile */
  if (harness_start(&h, pending_yaml) < 0) return;
  uint16_t hport;
  harness_ports(&h, "otlp", NULL, &hport);
  otlp_request *req = sample_otlp_full();
  wire_buf pb;
  encode_sample(req, &pb);
  wire_client *c = http_client(hport, WIRE_CLIENT_H1);
  CHECK_EQ(post_metrics(c, pb.data, pb.len, NULL, NULL), 200);
  CHECK(wait_points("debug", SAMPLE_FULL_POINTS, 5000));
  wire_client_free(c);
  harness_stop(&h);
  wire_buf_free(&pb);
  sample_otlp_free(req);
  capture_reset();
}

/* Structured logs: text and JSON, fields, escaping, and credentials redacted whatever the caller passes. */
static void logs_text_and_json(void) {
  char path[600];
  snprintf(path, sizeof path, "%s/log.txt", test_tmpdir());
  for (int enc = 0; enc < 2; enc++) {
    unlink(path);
    FILE *f = fopen(path, "w");
    telemetry_logs_config lc = {.level = LOG_LEVEL_DEBUG, .encoding = enc ? LOG_ENCODING_JSON : LOG_ENCODING_CONSOLE};
    rt_logger *l = rt_logger_new(&lc, NULL);
    CHECK(l != NULL);
    if (!l) return;
    rt_logger_redirect(l, fileno(f));
    rt_log(l, LOG_WARN, "otlp/in", "Export failed\nforged line", "endpoint", "127.0.0.1:4317", "bearer_token",
           "s3cret", "note", "two words \"quoted\"", NULL);
    rt_log(l, LOG_DEBUG, NULL, "plain", NULL);
    fclose(f);
    rt_logger_free(l);
    size_t len;
    char *text = test_read_file(path, &len);
    CHECK(text != NULL);
    if (!text) return;
    CHECK(strstr(text, "s3cret") == NULL);
    CHECK(strstr(text, "\nforged") == NULL); /* the newline is escaped: one event, one line */
    size_t lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    CHECK_EQ(lines, 2);
    if (enc) {
      CHECK_CONTAINS(text, "{\"level\":\"warn\",\"ts\":\"");
      CHECK_CONTAINS(text, "\"component\":\"otlp/in\",\"msg\":\"Export failed\\nforged line\"");
      CHECK_CONTAINS(text, "\"endpoint\":\"127.0.0.1:4317\"");
      CHECK_CONTAINS(text, "\"bearer_token\":\"[REDACTED]\"");
      CHECK_CONTAINS(text, "\"note\":\"two words \\\"quoted\\\"\"}");
    } else {
      CHECK_CONTAINS(text, "\twarn\totlp/in\tExport failed\\nforged line\tendpoint=127.0.0.1:4317 "
                           "bearer_token=[REDACTED] note=\"two words \\\"quoted\\\"\"\n");
      CHECK_CONTAINS(text, "\tdebug\tservice\tplain\n");
    }
    free(text);
  }
}

/* GET /metrics on the self-telemetry server. */
static void *run_loop(void *arg) {
  uv_run(arg, UV_RUN_DEFAULT);
  return NULL;
}
static void stop_tel(uv_async_t *a) {
  telemetry_stop(a->data, NULL, NULL);
  uv_close((uv_handle_t *)a, NULL);
}
static void telemetry_endpoint(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  telemetry *t = telemetry_new("9.9.9");
  telemetry_add(t, "otelcol_exporter_sent_metric_points", "otlp/backend", NULL, 42);
  telemetry_set(t, "otelcol_exporter_queue_size", "otlp/backend", 3);
  wire_err err = {0};
  CHECK_MSG(telemetry_serve(t, &loop, "127.0.0.1:0", &err) == 0, "%s", err.msg);
  uv_async_t stop;
  uv_async_init(&loop, &stop, stop_tel);
  stop.data = t;
  pthread_t th;
  pthread_create(&th, NULL, run_loop, &loop);
  wire_client *c = http_client(telemetry_port(t), WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  http_do(c, "GET", "/metrics", NULL, NULL, 0, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  CHECK_CONTAINS(wire_headers_get(&resp.headers, "content-type"), "text/plain; version=0.0.4");
  wire_buf_append(&resp.body, "", 1, NULL);
  const char *body = (const char *)resp.body.data;
  CHECK_CONTAINS(body, "# TYPE otelcol_exporter_sent_metric_points counter\n");
  CHECK_CONTAINS(body, "otelcol_exporter_sent_metric_points{exporter=\"otlp/backend\",service_instance_id=\"");
  CHECK_CONTAINS(body, "service_name=\"otelc-receiver\",service_version=\"9.9.9\"} 42\n");
  CHECK_CONTAINS(body, "# TYPE otelcol_exporter_queue_size gauge\n");
  CHECK_CONTAINS(body, "# TYPE otelcol_process_cpu_seconds counter\n");
  wire_http_response_reset(&resp);
  http_do(c, "GET", "/other", NULL, NULL, 0, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 404);
  wire_http_response_free(&resp);
  wire_client_free(c);
  uv_async_send(&stop);
  pthread_join(th, NULL);
  CHECK_EQ(uv_loop_close(&loop), 0);
  telemetry_free(t);
}

int main(void) {
  RUN(http_protobuf_json_and_grpc_arrive_exactly);
  RUN(fan_out_to_exporters_and_pipelines);
  RUN(shutdown_drains_batch);
  RUN(include_metadata_reaches_exporters);
  RUN(health_check_follows_state);
  RUN(components_without_runtime);
  RUN(logs_text_and_json);
  RUN(telemetry_endpoint);
  return test_finish();
}
