/* test_exporter_otlp.c — the `otlp` (gRPC) and `otlphttp` exporters against the in-process OTLP server
 * (tests/support/otlp_test_server.h): data arrives intact over gRPC and HTTP (protobuf and JSON) with gzip,
 * over TLS with the test CA, with the configured headers; 503 / UNAVAILABLE are retried and 400 is not; the
 * backend going down then up loses nothing within the queue's capacity and the queue stays bounded; a persistent
 * queue survives a simulated restart (destroy, recreate) and skips a truncated record with a log line. */
#include <stdlib.h>
#include <unistd.h>

#include "exporter_testhost.h"
#include "otlp_test_server.h"
#include "receiver/config/components/extensions.h"
#include "receiver/config/components/otlp_exporters.h"
#include "receiver/exporters/otlp.h"
#include "receiver/pipeline.h"
#include "sample_otlp.h"
#include "testcerts.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/grpc.h"

#define MS 1000000LL

static cfg_kv tenant_header[] = {{.key = "X-Tenant", .value = "acme"}};

static void set_common(retry_config *r, queue_config *q) {
  r->enabled = true;
  r->initial_interval = 5 * MS;
  r->max_interval = 20 * MS;
  r->max_elapsed_time = 0; /* forever: the tests bound their waits themselves */
  r->multiplier = 1.5;
  r->randomization_factor = 0.2;
  q->enabled = true;
  q->num_consumers = 2;
  q->queue_size = 100;
}

static otlp_exporter_config grpc_config(const char *endpoint) {
  otlp_exporter_config c;
  memset(&c, 0, sizeof c);
  c.endpoint = (char *)endpoint;
  c.tls.insecure = true;
  c.headers.v = tenant_header;
  c.headers.n = 1;
  c.compression = COMPRESSION_GZIP;
  c.timeout = 5000 * MS;
  set_common(&c.retry_on_failure, &c.sending_queue);
  return c;
}

static otlphttp_exporter_config http_config(const char *endpoint) {
  otlphttp_exporter_config c;
  memset(&c, 0, sizeof c);
  c.endpoint = (char *)endpoint;
  c.headers.v = tenant_header;
  c.headers.n = 1;
  c.compression = COMPRESSION_GZIP;
  c.timeout = 5000 * MS;
  set_common(&c.retry_on_failure, &c.sending_queue);
  return c;
}

/* A new batch holding `req` (encoded, then decoded into the batch's arena as a receiver would). */
static component_metrics *batch_of(const otlp_request *req) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_request(req, &b, &err), 0);
  component_metrics *m = metrics_decode(b.data, b.len, 0, 0, &err);
  CHECK(m != NULL);
  wire_buf_free(&b);
  return m;
}

static int consume(exporter *e, const otlp_request *req, wire_err *err) {
  return e->hooks->consume_metrics(e->state, batch_of(req), err);
}

static void check_sample_arrived(const otlp_test_request *q) {
  CHECK(q != NULL);
  if (!q) return;
  CHECK_MSG(q->req != NULL, "decode: %s", q->decode_error);
  if (!q->req) return;
  CHECK_EQ(otlp_test_point_count(q->req), SAMPLE_FULL_POINTS);
  const otlp_metric *m = otlp_test_find_metric(q->req, "requests");
  CHECK(m != NULL);
  const otlp_number_point *p = m ? otlp_test_find_number(m, "method", "GET") : NULL;
  CHECK(p != NULL);
  if (p) CHECK_DBL(otlp_test_number_value(p), 42);
  char svc[64];
  CHECK(otlp_test_resource_attr(q->req, "service.name", svc, sizeof svc));
  CHECK_STR(svc, "checkout");
  CHECK(otlp_test_find_metric(q->req, "latency.exp") != NULL);
  CHECK(otlp_test_find_metric(q->req, "rpc.duration") != NULL);
  CHECK_STR(wire_headers_get(&q->headers, "x-tenant"), "acme");
}

static void test_grpc_data_intact(void) {
  th_reset();
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", otlp_test_server_port(s));
  otlp_exporter_config c = grpc_config(ep);
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/grpc", &c);
  otlp_request *sample = sample_otlp_full();
  otlp_request *big = sample_otlp_parametric(20, 10, 3);
  wire_err err;
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(otlp_test_server_wait(s, 1, 10000));
  const otlp_test_request *q = otlp_test_server_request(s, 0);
  check_sample_arrived(q);
  if (q) CHECK(q->grpc);
  CHECK_EQ(consume(&e, big, &err), 0);
  CHECK(otlp_test_server_wait(s, 2, 10000));
  q = otlp_test_server_request(s, 1);
  if (q) {
    CHECK(q->gzip);
    CHECK_EQ(q->req ? otlp_test_point_count(q->req) : 0, 200);
  }
  CHECK(wait_sent(SAMPLE_FULL_POINTS + 200));
  stop_exporter(&e, true);
  CHECK_EQ(pipeline_batches_live(), 0);
  sample_otlp_free(sample);
  sample_otlp_free(big);
  otlp_test_server_stop(s);
}

static void test_http_data_intact(void) {
  th_reset();
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlphttp_exporter_config c = http_config(otlp_test_server_url(s));
  exporter e = start_exporter(&otlphttp_exporter_hooks, "otlphttp", &c);
  otlp_request *sample = sample_otlp_full();
  wire_err err;
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(otlp_test_server_wait(s, 1, 10000));
  const otlp_test_request *q = otlp_test_server_request(s, 0);
  check_sample_arrived(q);
  if (q) {
    CHECK(!q->grpc);
    CHECK(q->gzip);
    CHECK(!q->json);
    CHECK_STR(q->path, "/v1/metrics");
    CHECK_CONTAINS(q->content_type, "application/x-protobuf");
  }
  CHECK(wait_sent(SAMPLE_FULL_POINTS));
  stop_exporter(&e, true);

  /* JSON encoding, no compression, metrics_endpoint used as is */
  char url[128];
  snprintf(url, sizeof url, "%s/custom/path", otlp_test_server_url(s));
  otlphttp_exporter_config cj = http_config("http://unused.invalid:1");
  cj.metrics_endpoint = url;
  cj.encoding = OTLP_ENCODING_JSON;
  cj.compression = COMPRESSION_NONE;
  e = start_exporter(&otlphttp_exporter_hooks, "otlphttp/json", &cj);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(otlp_test_server_wait(s, 2, 10000));
  q = otlp_test_server_request(s, 1);
  check_sample_arrived(q);
  if (q) {
    CHECK(q->json);
    CHECK(!q->gzip);
    CHECK_STR(q->path, "/custom/path");
  }
  stop_exporter(&e, true);
  sample_otlp_free(sample);
  otlp_test_server_stop(s);
}

static void test_tls_both_protocols(void) {
  th_reset();
  test_certs certs;
  if (test_certs_make(&certs) < 0) {
    CHECK_MSG(0, "cannot make test certificates");
    return;
  }
  wire_tls_config st = {.cert_file = certs.server_cert, .key_file = certs.server_key};
  otlp_test_server_options so = {.tls = &st};
  otlp_test_server *s = otlp_test_server_start(&so);
  CHECK(s != NULL);
  if (!s) return;
  otlp_request *sample = sample_otlp_full();
  wire_err err;

  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", otlp_test_server_port(s));
  otlp_exporter_config c = grpc_config(ep);
  c.tls.insecure = false;
  c.tls.ca_file = certs.ca;
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/tls", &c);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(otlp_test_server_wait(s, 1, 10000));
  const otlp_test_request *q = otlp_test_server_request(s, 0);
  check_sample_arrived(q);
  if (q) CHECK(q->tls && q->grpc);
  stop_exporter(&e, true);

  otlphttp_exporter_config hc = http_config(otlp_test_server_url(s)); /* https:// */
  hc.tls.ca_file = certs.ca;
  e = start_exporter(&otlphttp_exporter_hooks, "otlphttp/tls", &hc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(otlp_test_server_wait(s, 2, 10000));
  q = otlp_test_server_request(s, 1);
  check_sample_arrived(q);
  if (q) CHECK(q->tls && !q->grpc);
  stop_exporter(&e, true);

  /* a CA that did not sign the server's certificate: nothing is delivered, the failure is logged */
  th_reset();
  hc.tls.ca_file = certs.other_ca;
  hc.retry_on_failure.enabled = false;
  e = start_exporter(&otlphttp_exporter_hooks, "otlphttp/badca", &hc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK_EQ(wait_failed(), SAMPLE_FULL_POINTS);
  CHECK_EQ(otlp_test_server_count(s), 2);
  stop_exporter(&e, true);
  sample_otlp_free(sample);
  otlp_test_server_stop(s);
}

static void test_retry_503_and_unavailable(void) {
  th_reset();
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlp_request *sample = sample_otlp_full();
  wire_err err;
  otlp_test_reply fail = {.http_status = 503, .retry_after = "0", .grpc_code = WIRE_GRPC_UNAVAILABLE};
  otlp_test_server_push_reply(s, &fail, 2);
  otlphttp_exporter_config hc = http_config(otlp_test_server_url(s));
  exporter e = start_exporter(&otlphttp_exporter_hooks, "otlphttp", &hc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(wait_sent(SAMPLE_FULL_POINTS));
  CHECK_EQ(otlp_test_server_count(s), 3);
  const otlp_test_request *q = otlp_test_server_request(s, 0);
  if (q) CHECK_EQ(q->answered, 503);
  check_sample_arrived(otlp_test_server_request(s, 2));
  stop_exporter(&e, true);

  th_reset();
  otlp_test_server_clear(s);
  otlp_test_reply exhausted = {.grpc_code = WIRE_GRPC_RESOURCE_EXHAUSTED, .retry_info = true,
                               .retry_delay_ns = 10 * MS};
  otlp_test_server_push_reply(s, &fail, 1);
  otlp_test_server_push_reply(s, &exhausted, 1);
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", otlp_test_server_port(s));
  otlp_exporter_config gc = grpc_config(ep);
  e = start_exporter(&otlp_exporter_hooks, "otlp", &gc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(wait_sent(SAMPLE_FULL_POINTS));
  CHECK_EQ(otlp_test_server_count(s), 3);
  check_sample_arrived(otlp_test_server_request(s, 2));
  stop_exporter(&e, true);

  /* 400 and INVALID_ARGUMENT are permanent: one attempt, counted as failed */
  th_reset();
  otlp_test_server_clear(s);
  otlp_test_reply bad = {.http_status = 400, .grpc_code = WIRE_GRPC_INVALID_ARGUMENT, .message = "bad data"};
  otlp_test_server_push_reply(s, &bad, 1);
  e = start_exporter(&otlp_exporter_hooks, "otlp", &gc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK_EQ(wait_failed(), SAMPLE_FULL_POINTS);
  CHECK_EQ(otlp_test_server_count(s), 1);
  CHECK(th_log_has("INVALID_ARGUMENT: bad data"));
  stop_exporter(&e, true);

  /* partial success: logged, rejected points counted */
  th_reset();
  otlp_test_server_clear(s);
  otlp_test_reply partial = {.rejected_points = 3, .partial_message = "3 points too old"};
  otlp_test_server_push_reply(s, &partial, 1);
  e = start_exporter(&otlp_exporter_hooks, "otlp", &gc);
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(wait_sent(SAMPLE_FULL_POINTS));
  CHECK(th_log_has("Partial success response"));
  CHECK(th_log_has("3 points too old"));
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 3);
  stop_exporter(&e, true);
  sample_otlp_free(sample);
  otlp_test_server_stop(s);
}

static void test_backend_down_then_up(void) {
  th_reset();
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  CHECK_EQ(otlp_test_server_down(s), 0);
  otlphttp_exporter_config hc = http_config(otlp_test_server_url(s));
  hc.sending_queue.queue_size = 20;
  hc.sending_queue.num_consumers = 2;
  exporter e = start_exporter(&otlphttp_exporter_hooks, "otlphttp/down", &hc);
  otlp_request *sample = sample_otlp_full();
  wire_err err;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 40; i++) {
    if (consume(&e, sample, &err) == 0) {
      accepted++;
    } else {
      CHECK_EQ(err.code, WIRE_E_LIMIT);
      refused++;
    }
  }
  /* the queue holds 20, plus at most one batch in each consumer's hands */
  CHECK(accepted >= 20 && accepted <= 22);
  CHECK_EQ(refused, 40 - accepted);
  CHECK_EQ(th_counter("otelcol_exporter_enqueue_failed_metric_points"), (int64_t)refused * SAMPLE_FULL_POINTS);
  CHECK((int)pipeline_batches_live() <= accepted); /* memory bounded: refused batches were released */
  CHECK_EQ(th_gauge_value("otelcol_exporter_queue_capacity"), 20);
  usleep(50 * 1000);
  CHECK_EQ(otlp_test_server_up(s), 0);
  CHECK(wait_sent((int64_t)accepted * SAMPLE_FULL_POINTS));
  CHECK(otlp_test_server_wait(s, (size_t)accepted, 10000));
  size_t points = 0;
  for (size_t i = 0; i < otlp_test_server_count(s); i++) {
    const otlp_test_request *q = otlp_test_server_request(s, i);
    if (q && q->req) points += otlp_test_point_count(q->req);
  }
  CHECK_EQ(points, (size_t)accepted * SAMPLE_FULL_POINTS); /* nothing lost, nothing twice */
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 0);
  stop_exporter(&e, true);
  CHECK_EQ(pipeline_batches_live(), 0);
  sample_otlp_free(sample);
  otlp_test_server_stop(s);
}

static void test_persistent_queue_restart(void) {
  th_reset();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/file_storage", test_tmpdir());
  test_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
  file_storage_config fs = {.directory = dir};
  th_host.storage_id = "file_storage";
  th_host.storage_state = &fs;

  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  CHECK_EQ(otlp_test_server_down(s), 0);
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", otlp_test_server_port(s));
  otlp_exporter_config c = grpc_config(ep);
  c.sending_queue.storage = "file_storage";
  c.sending_queue.queue_size = 10;
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/persist", &c);
  otlp_request *sample = sample_otlp_full();
  wire_err err;
  const int n = 6;
  for (int i = 0; i < n; i++) CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK_EQ(pipeline_batches_live(), 0); /* on disk, not in memory */
  /* the process dies: no drain, no shutdown */
  stop_exporter(&e, false);
  CHECK_EQ(otlp_test_server_count(s), 0);
  CHECK_EQ(test_sh("test $(ls '%s'/otlp_persist/*.rec | wc -l) -eq %d", dir, n), 0);

  CHECK_EQ(otlp_test_server_up(s), 0);
  e = start_exporter(&otlp_exporter_hooks, "otlp/persist", &c);
  CHECK(otlp_test_server_wait(s, (size_t)n, 10000));
  CHECK(wait_sent((int64_t)n * SAMPLE_FULL_POINTS));
  for (int i = 0; i < n; i++) check_sample_arrived(otlp_test_server_request(s, (size_t)i));
  CHECK(th_log_has("resending requests left by the previous run"));
  stop_exporter(&e, true);
  CHECK_EQ(test_sh("test $(ls '%s'/otlp_persist | wc -l) -eq 0", dir), 0); /* removed once sent */

  /* again, with the last record cut short: it is skipped with a log line, the others are delivered */
  th_reset();
  otlp_test_server_clear(s);
  CHECK_EQ(otlp_test_server_down(s), 0);
  e = start_exporter(&otlp_exporter_hooks, "otlp/persist", &c);
  for (int i = 0; i < 3; i++) CHECK_EQ(consume(&e, sample, &err), 0);
  stop_exporter(&e, false);
  CHECK_EQ(test_sh("f=$(ls '%s'/otlp_persist/*.rec | tail -1); truncate -s 30 \"$f\"", dir), 0);
  CHECK_EQ(otlp_test_server_up(s), 0);
  e = start_exporter(&otlp_exporter_hooks, "otlp/persist", &c);
  CHECK(otlp_test_server_wait(s, 2, 10000));
  CHECK(wait_sent(2 * SAMPLE_FULL_POINTS));
  CHECK(th_log_has("skipping a corrupt record"));
  stop_exporter(&e, true);
  CHECK_EQ(otlp_test_server_count(s), 2);

  /* a full persistent queue refuses before writing */
  th_reset();
  CHECK_EQ(otlp_test_server_down(s), 0);
  c.sending_queue.queue_size = 2;
  c.sending_queue.num_consumers = 1;
  e = start_exporter(&otlp_exporter_hooks, "otlp/persist", &c);
  int refused = 0;
  for (int i = 0; i < 6; i++)
    if (consume(&e, sample, &err) < 0) {
      CHECK_EQ(err.code, WIRE_E_LIMIT);
      refused++;
    }
  CHECK(refused >= 3);
  CHECK_EQ(test_sh("test $(ls '%s'/otlp_persist/*.rec | wc -l) -eq %d", dir, 6 - refused), 0);
  stop_exporter(&e, false);
  th_host.storage_id = NULL;
  sample_otlp_free(sample);
  otlp_test_server_stop(s);
}

static void test_config_errors(void) {
  th_reset();
  wire_err err;
  void *state = NULL;
  otlp_exporter_config c = grpc_config("");
  component_create_args a = {.id = "otlp/x", .kind = COMPONENT_EXPORTER, .config = &c, .host = &th_host.host};
  CHECK_EQ(otlp_exporter_hooks.create(&a, &state, &err), -1);
  CHECK_CONTAINS(err.msg, "endpoint");
  /* a storage extension that is not there */
  c = grpc_config("127.0.0.1:1");
  c.sending_queue.storage = "file_storage/missing";
  CHECK_EQ(otlp_exporter_hooks.create(&a, &state, &err), 0);
  CHECK_EQ(otlp_exporter_hooks.start(state, &err), -1);
  CHECK_CONTAINS(err.msg, "file_storage/missing");
  otlp_exporter_hooks.destroy(state);
  /* header values never reach the log */
  cfg_kv secret[] = {{.key = "authorization", .value = "Bearer s3cr3t-t0ken"}};
  c = grpc_config("127.0.0.1:1"); /* nothing listens: failures get logged */
  c.headers.v = secret;
  c.retry_on_failure.enabled = false;
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/secret", &c);
  otlp_request *sample = sample_otlp_full();
  CHECK_EQ(consume(&e, sample, &err), 0);
  CHECK(wait_failed() > 0);
  CHECK(!th_log_has("s3cr3t"));
  stop_exporter(&e, true);
  sample_otlp_free(sample);
}

int main(void) {
  th_host.quiet = getenv("VERBOSE") == NULL;
  RUN(test_grpc_data_intact);
  RUN(test_http_data_intact);
  RUN(test_tls_both_protocols);
  RUN(test_retry_503_and_unavailable);
  RUN(test_backend_down_then_up);
  RUN(test_persistent_queue_restart);
  RUN(test_config_errors);
  return test_finish();
}
