/* test_h2_grpc_roundtrip.c — the gRPC client (grpc_client.h over h2_client.c) against the gRPC server helpers
 * (grpc_server.h over h2_driver.c) on 127.0.0.1: a real ExportMetricsServiceRequest over h2c and over TLS with
 * ALPN h2, gzip on and off, a 20 MB message (flow control both ways), messages over the handler's and the
 * server's limits (RESOURCE_EXHAUSTED), grpc-timeout expiry (DEADLINE_EXCEEDED without hanging), an error status
 * with RetryInfo, a plain HTTP error mapped to a gRPC code, wrong content-type (415), unknown grpc-encoding
 * (UNIMPLEMENTED), metadata, and several calls on one HTTP/2 session.
 *
 * The server runs on its own libuv loop in a thread; the synchronous client runs on the test's thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "testcerts.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/grpc_client.h"
#include "wire/server/grpc_server.h"

#define EXPORT_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define SERVER_MAX_BODY (24u << 20)
#define HANDLER_MAX_MESSAGE (22u << 20)

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest ExportRequest;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse ExportResponse;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess PartialSuccess;

/* --- the server, on its own loop thread --- */

typedef struct test_server {
  uv_loop_t loop;
  uv_async_t stop_async;
  wire_server *server;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool ready, failed;
  uint16_t port;
  const wire_tls_config *tls;
  /* seen by the handler (under mu) */
  int requests;
  char last_peer[64];
  char last_tenant[64];
  char last_metric[64];
  size_t last_description_len;
  int64_t last_timeout_ns;
  bool last_gzip;
  wire_exchange *parked[8]; /* never answered until stop */
  int nparked;
  bool answer_after_stop;   /* stop: answer the parked calls OK a little after wire_server_stop */
  uv_timer_t late_timer;
} test_server;

static void record(test_server *ts, wire_exchange *ex) {
  const wire_http_request *req = wire_exchange_request(ex);
  const char *tenant = wire_headers_get(&req->headers, "x-tenant");
  const char *enc = wire_headers_get(&req->headers, "grpc-encoding");
  pthread_mutex_lock(&ts->mu);
  ts->requests++;
  snprintf(ts->last_peer, sizeof ts->last_peer, "%s", wire_exchange_peer(ex));
  snprintf(ts->last_tenant, sizeof ts->last_tenant, "%s", tenant ? tenant : "");
  ts->last_timeout_ns = wire_grpc_request_timeout_ns(ex);
  ts->last_gzip = enc && strcmp(enc, "gzip") == 0;
  pthread_mutex_unlock(&ts->mu);
}

static void handle_export(test_server *ts, wire_exchange *ex) {
  const uint8_t *msg;
  size_t len;
  wire_err err;
  if (wire_grpc_read_request(ex, HANDLER_MAX_MESSAGE, &msg, &len, &err) < 0) return;
  ExportRequest *req = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, len, msg);
  if (!req) {
    wire_grpc_respond_status(ex, WIRE_GRPC_INVALID_ARGUMENT, "not an ExportMetricsServiceRequest", -1);
    return;
  }
  int64_t points = 0;
  pthread_mutex_lock(&ts->mu);
  for (size_t i = 0; i < req->n_resource_metrics; i++)
    for (size_t j = 0; j < req->resource_metrics[i]->n_scope_metrics; j++)
      for (size_t k = 0; k < req->resource_metrics[i]->scope_metrics[j]->n_metrics; k++) {
        Opentelemetry__Proto__Metrics__V1__Metric *m = req->resource_metrics[i]->scope_metrics[j]->metrics[k];
        snprintf(ts->last_metric, sizeof ts->last_metric, "%s", m->name);
        ts->last_description_len = strlen(m->description);
        if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) points += (int64_t)m->sum->n_data_points;
      }
  pthread_mutex_unlock(&ts->mu);
  opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(req, NULL);
  /* Partial success echoes the number of points back, so the client can check the response message. */
  ExportResponse resp = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  PartialSuccess ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
  ps.rejected_data_points = points;
  ps.error_message = "counted";
  resp.partial_success = &ps;
  uint8_t buf[256];
  size_t n = opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__pack(&resp, buf);
  wire_grpc_respond(ex, buf, n);
}

static void handler(wire_exchange *ex, void *ud) {
  test_server *ts = ud;
  record(ts, ex);
  const char *path = wire_exchange_request(ex)->path;
  if (strcmp(path, EXPORT_PATH) == 0) {
    handle_export(ts, ex);
  } else if (strcmp(path, "/test.Echo/Echo") == 0) {
    const uint8_t *msg;
    size_t len;
    if (wire_grpc_read_request(ex, HANDLER_MAX_MESSAGE, &msg, &len, NULL) == 0) wire_grpc_respond(ex, msg, len);
  } else if (strcmp(path, "/test.Slow/Never") == 0) {
    pthread_mutex_lock(&ts->mu);
    if (ts->nparked < 8) ts->parked[ts->nparked++] = ex;
    else wire_grpc_respond_status(ex, WIRE_GRPC_INTERNAL, "too many parked", -1);
    pthread_mutex_unlock(&ts->mu);
  } else if (strcmp(path, "/test.Throttle/Call") == 0) {
    wire_grpc_respond_status(ex, WIRE_GRPC_RESOURCE_EXHAUSTED, "slow down: 100% full\n", 1500000000LL);
  } else if (strcmp(path, "/test.Plain/Unavailable") == 0) {
    wire_exchange_respond_text(ex, 503, "try later\n");
  } else {
    wire_grpc_respond_status(ex, WIRE_GRPC_UNIMPLEMENTED, "unknown method", -1);
  }
}

static void server_stopped(void *arg) { (void)arg; }

static void late_answer_cb(uv_timer_t *t) {
  test_server *ts = t->data;
  pthread_mutex_lock(&ts->mu);
  for (int i = 0; i < ts->nparked; i++) wire_grpc_respond(ts->parked[i], "done", 4);
  ts->nparked = 0;
  pthread_mutex_unlock(&ts->mu);
  uv_close((uv_handle_t *)t, NULL);
}

static void stop_cb(uv_async_t *a) {
  test_server *ts = a->data;
  if (ts->answer_after_stop) { /* the connection must stay up for the calls in flight (GOAWAY, then finish) */
    wire_server_stop(ts->server, server_stopped, ts);
    uv_timer_init(&ts->loop, &ts->late_timer);
    ts->late_timer.data = ts;
    uv_timer_start(&ts->late_timer, late_answer_cb, 200, 0);
    uv_close((uv_handle_t *)a, NULL);
    return;
  }
  pthread_mutex_lock(&ts->mu);
  for (int i = 0; i < ts->nparked; i++) wire_grpc_respond_status(ts->parked[i], WIRE_GRPC_CANCELLED, "stopping", -1);
  ts->nparked = 0;
  pthread_mutex_unlock(&ts->mu);
  wire_server_stop(ts->server, server_stopped, ts);
  uv_close((uv_handle_t *)a, NULL);
}

static void *server_main(void *arg) {
  test_server *ts = arg;
  uv_loop_init(&ts->loop);
  uv_async_init(&ts->loop, &ts->stop_async, stop_cb);
  ts->stop_async.data = ts;
  wire_server_config cfg = {
      .endpoint = "127.0.0.1:0",
      .tls = ts->tls,
      .max_body_bytes = SERVER_MAX_BODY,
      .max_concurrent_streams = 10,
  };
  wire_err err;
  ts->server = wire_server_start(&ts->loop, &cfg, handler, ts, &err);
  pthread_mutex_lock(&ts->mu);
  if (ts->server) ts->port = wire_server_port(ts->server);
  else {
    fprintf(stderr, "server start: %s\n", err.msg);
    ts->failed = true;
  }
  ts->ready = true;
  pthread_cond_signal(&ts->cv);
  pthread_mutex_unlock(&ts->mu);
  if (!ts->server) uv_close((uv_handle_t *)&ts->stop_async, NULL);
  uv_run(&ts->loop, UV_RUN_DEFAULT);
  uv_loop_close(&ts->loop);
  return NULL;
}

static bool server_start(test_server *ts, const wire_tls_config *tls) {
  memset(ts, 0, sizeof *ts);
  ts->tls = tls;
  pthread_mutex_init(&ts->mu, NULL);
  pthread_cond_init(&ts->cv, NULL);
  pthread_create(&ts->thread, NULL, server_main, ts);
  pthread_mutex_lock(&ts->mu);
  while (!ts->ready) pthread_cond_wait(&ts->cv, &ts->mu);
  pthread_mutex_unlock(&ts->mu);
  return !ts->failed;
}

static void server_stop(test_server *ts) {
  if (!ts->failed) uv_async_send(&ts->stop_async);
  pthread_join(ts->thread, NULL);
  pthread_mutex_destroy(&ts->mu);
  pthread_cond_destroy(&ts->cv);
}

/* --- the client side --- */

/* An ExportMetricsServiceRequest with one monotonic sum of `points` data points; the metric description is
 * description_len bytes long (how the big messages are made). */
static uint8_t *make_export(size_t points, size_t description_len, size_t *len) {
  ExportRequest req = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
  Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
  Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
  Opentelemetry__Proto__Metrics__V1__Metric m = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
  Opentelemetry__Proto__Metrics__V1__Sum sum = OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
  Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rms[1] = {&rm};
  Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sms[1] = {&sm};
  Opentelemetry__Proto__Metrics__V1__Metric *ms[1] = {&m};
  Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dps = calloc(points ? points : 1, sizeof *dps);
  Opentelemetry__Proto__Metrics__V1__NumberDataPoint **dpp = calloc(points ? points : 1, sizeof *dpp);
  for (size_t i = 0; i < points; i++) {
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint init = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    dps[i] = init;
    dps[i].time_unix_nano = 1700000000000000000ULL + i;
    dps[i].value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    dps[i].as_int = (int64_t)i;
    dpp[i] = &dps[i];
  }
  char *desc = malloc(description_len + 1);
  for (size_t i = 0; i < description_len; i++) desc[i] = (char)('a' + (i * 7919) % 26);
  desc[description_len] = '\0';
  sum.n_data_points = points;
  sum.data_points = dpp;
  sum.is_monotonic = 1;
  sum.aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  m.name = "http.server.requests";
  m.description = desc;
  m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
  m.sum = &sum;
  sm.n_metrics = 1;
  sm.metrics = ms;
  rm.n_scope_metrics = 1;
  rm.scope_metrics = sms;
  req.n_resource_metrics = 1;
  req.resource_metrics = rms;
  *len = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(&req);
  uint8_t *out = malloc(*len);
  opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req, out);
  free(desc);
  free(dps);
  free(dpp);
  return out;
}

static wire_client *client_for(test_server *ts, const wire_tls_config *tls) {
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", ts->port);
  wire_client_config cc = {
      .endpoint = ep,
      .proto = WIRE_CLIENT_H2,
      .tls = tls,
      .force_tls = tls != NULL,
      .max_response_bytes = 32u << 20,
  };
  wire_err err;
  wire_client *c = wire_client_new(&cc, &err);
  CHECK_MSG(c != NULL, "wire_client_new: %s", err.msg);
  return c;
}

static int64_t deadline_in_ms(int ms) { return wire_now_ns() + (int64_t)ms * 1000000; }

/* One Export call; checks the status is OK and the partial_success count came back. */
static void export_ok(wire_client *c, test_server *ts, size_t points, size_t desc_len, bool gzip) {
  size_t len;
  uint8_t *msg = make_export(points, desc_len, &len);
  wire_headers md;
  wire_headers_init(&md, 0, 0);
  wire_headers_add_cstr(&md, "x-tenant", "team-a", NULL);
  wire_grpc_call call = {.path = EXPORT_PATH, .metadata = &md, .request = msg, .request_len = len, .gzip = gzip,
                         .deadline_ns = deadline_in_ms(60000)};
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  wire_err err = {0};
  int rc = wire_grpc_unary(c, &call, &r, &err);
  CHECK_MSG(rc == 0, "export (%zu bytes, gzip %d): %s", len, gzip, err.msg);
  CHECK_MSG(r.code == WIRE_GRPC_OK, "code %d (%s) message %s", r.code, wire_grpc_code_name(r.code),
            r.message ? r.message : "");
  CHECK_EQ(r.http_status, 200);
  ExportResponse *resp = opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
      NULL, r.response.len, r.response.data ? r.response.data : (const uint8_t *)"");
  CHECK(resp != NULL && resp->partial_success != NULL);
  if (resp && resp->partial_success) {
    CHECK_EQ(resp->partial_success->rejected_data_points, (int64_t)points);
    CHECK_STR(resp->partial_success->error_message, "counted");
  }
  if (resp) opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(resp, NULL);
  pthread_mutex_lock(&ts->mu);
  CHECK_STR(ts->last_metric, "http.server.requests");
  CHECK_EQ(ts->last_description_len, desc_len);
  CHECK_STR(ts->last_tenant, "team-a");
  CHECK_EQ(ts->last_gzip, gzip);
  CHECK(ts->last_timeout_ns > 0 && ts->last_timeout_ns <= 60000000000LL);
  pthread_mutex_unlock(&ts->mu);
  wire_grpc_result_free(&r);
  wire_headers_free(&md);
  free(msg);
}

/* Calls path with an arbitrary message and returns the result code (r is left for the caller to inspect). */
static int call_path(wire_client *c, const char *path, const void *msg, size_t len, int timeout_ms,
                     wire_grpc_result *r, wire_err *err) {
  wire_grpc_call call = {.path = path, .request = msg, .request_len = len, .deadline_ns = deadline_in_ms(timeout_ms)};
  return wire_grpc_unary(c, &call, r, err);
}

static void run_suite(const wire_tls_config *server_tls, const wire_tls_config *client_tls) {
  test_server ts;
  if (!server_start(&ts, server_tls)) {
    CHECK_MSG(false, "server did not start");
    server_stop(&ts);
    return;
  }
  wire_client *c = client_for(&ts, client_tls);
  if (!c) {
    server_stop(&ts);
    return;
  }

  /* small exports, gzip off and on, several on one session */
  export_ok(c, &ts, 3, 10, false);
  char first_peer[64];
  pthread_mutex_lock(&ts.mu);
  snprintf(first_peer, sizeof first_peer, "%s", ts.last_peer);
  pthread_mutex_unlock(&ts.mu);
  export_ok(c, &ts, 100, 1000, true);
  export_ok(c, &ts, 1, 0, false);
  export_ok(c, &ts, 5000, 50, true);
  pthread_mutex_lock(&ts.mu);
  CHECK_STR(ts.last_peer, first_peer); /* the same connection carried all four */
  pthread_mutex_unlock(&ts.mu);

  /* 20 MB in both directions: request flow control, then an echo of 20 MB back */
  export_ok(c, &ts, 10, 20u << 20, false);
  export_ok(c, &ts, 10, 20u << 20, true);
  {
    size_t n = 20u << 20;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (uint8_t)(i * 31 + (i >> 12));
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_EQ(call_path(c, "/test.Echo/Echo", big, n, 60000, &r, &err), 0);
    CHECK_EQ(r.code, WIRE_GRPC_OK);
    CHECK_EQ(r.response.len, n);
    CHECK(r.response.len == n && memcmp(r.response.data, big, n) == 0);
    wire_grpc_result_free(&r);
    free(big);
  }
  pthread_mutex_lock(&ts.mu);
  CHECK_STR(ts.last_peer, first_peer); /* flow-controlled streams leave the session usable */
  pthread_mutex_unlock(&ts.mu);

  /* a message over the handler's limit (read_request says RESOURCE_EXHAUSTED) */
  {
    size_t n = HANDLER_MAX_MESSAGE + 1000;
    uint8_t *big = calloc(1, n);
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_EQ(call_path(c, "/test.Echo/Echo", big, n, 60000, &r, &err), 0);
    CHECK_EQ(r.code, WIRE_GRPC_RESOURCE_EXHAUSTED);
    CHECK(!r.local);
    CHECK_CONTAINS(r.message, "exceeds the limit");
    CHECK(!wire_grpc_otlp_retryable(r.code, r.has_retry_info));
    wire_grpc_result_free(&r);
    /* over the server's body limit: the driver answers before taking the body */
    n = SERVER_MAX_BODY + 1000;
    big = realloc(big, n);
    memset(big, 0, n);
    wire_grpc_result_init(&r);
    CHECK_EQ(call_path(c, "/test.Echo/Echo", big, n, 60000, &r, &err), 0);
    CHECK_EQ(r.code, WIRE_GRPC_RESOURCE_EXHAUSTED);
    CHECK_CONTAINS(r.message, "larger than");
    wire_grpc_result_free(&r);
    free(big);
  }
  export_ok(c, &ts, 2, 2, false); /* the client still works afterwards */

  /* request headers over the server's max_header_bytes (16 KiB default): a gRPC status, not a dead session */
  {
    wire_headers md;
    wire_headers_init(&md, 0, 0);
    char *v = malloc(20000);
    memset(v, 'v', 19999);
    v[19999] = '\0';
    wire_headers_add_cstr(&md, "x-huge", v, NULL);
    wire_grpc_call call = {.path = "/test.Echo/Echo", .metadata = &md, .request = "x", .request_len = 1,
                           .deadline_ns = deadline_in_ms(10000)};
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_MSG(wire_grpc_unary(c, &call, &r, &err) == 0, "%s", err.msg);
    CHECK_EQ(r.code, WIRE_GRPC_RESOURCE_EXHAUSTED);
    CHECK_CONTAINS(r.message, "headers");
    wire_grpc_result_free(&r);
    wire_headers_free(&md);
    free(v);
  }

  /* RetryInfo round trip, with a message that needs percent-encoding */
  {
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_EQ(call_path(c, "/test.Throttle/Call", "x", 1, 10000, &r, &err), 0);
    CHECK_EQ(r.code, WIRE_GRPC_RESOURCE_EXHAUSTED);
    CHECK_STR(r.message, "slow down: 100% full\n");
    CHECK(r.has_retry_info);
    CHECK_EQ(r.retry_delay_ns, 1500000000LL);
    CHECK(wire_grpc_otlp_retryable(r.code, r.has_retry_info));
    wire_grpc_result_free(&r);
  }

  /* a plain HTTP 503 (no grpc-status) maps to UNAVAILABLE */
  {
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_EQ(call_path(c, "/test.Plain/Unavailable", "x", 1, 10000, &r, &err), 0);
    CHECK_EQ(r.http_status, 503);
    CHECK_EQ(r.code, WIRE_GRPC_UNAVAILABLE);
    CHECK(!r.local);
    wire_grpc_result_free(&r);
  }

  /* grpc-timeout expiry: the handler never answers; the client gives up at its deadline */
  {
    wire_grpc_result r;
    wire_grpc_result_init(&r);
    wire_err err = {0};
    CHECK_EQ(call_path(c, "/test.Slow/Never", "x", 1, 300, &r, &err), -1);
    CHECK_EQ(r.code, WIRE_GRPC_DEADLINE_EXCEEDED);
    CHECK(r.local);
    CHECK_EQ(err.code, WIRE_E_TIMEOUT);
    pthread_mutex_lock(&ts.mu);
    CHECK(ts.last_timeout_ns > 0 && ts.last_timeout_ns <= 300000000LL);
    pthread_mutex_unlock(&ts.mu);
    wire_grpc_result_free(&r);
    /* an already-passed deadline fails at once */
    wire_grpc_result_init(&r);
    wire_grpc_call late = {.path = EXPORT_PATH, .request = "", .deadline_ns = wire_now_ns() - 1};
    CHECK_EQ(wire_grpc_unary(c, &late, &r, &err), -1);
    CHECK_EQ(r.code, WIRE_GRPC_DEADLINE_EXCEEDED);
    wire_grpc_result_free(&r);
  }
  export_ok(c, &ts, 4, 4, true); /* and the client recovers after the timeout */

  /* wrong content-type: plain HTTP/2 request, answered 415 */
  {
    wire_http_request req;
    wire_http_request_init(&req, 0, 0);
    wire_http_request_set_target(&req, "POST", EXPORT_PATH, NULL, NULL);
    wire_headers_add_cstr(&req.headers, "content-type", "application/json", NULL);
    wire_buf_append(&req.body, "{}", 2, NULL);
    wire_http_response resp;
    wire_http_response_init(&resp, 0, 0);
    wire_err err = {0};
    CHECK_MSG(wire_client_do(c, &req, &resp, deadline_in_ms(10000), &err) == 0, "%s", err.msg);
    CHECK_EQ(resp.status, 415);
    /* unknown grpc-encoding: UNIMPLEMENTED with grpc-accept-encoding, trailers-only */
    wire_headers_set(&req.headers, "content-type", "application/grpc", NULL);
    wire_headers_add_cstr(&req.headers, "grpc-encoding", "snappy", NULL);
    wire_buf_reset(&req.body);
    wire_buf_append(&req.body, "\1\0\0\0\1x", 6, NULL);
    wire_http_response_reset(&resp);
    CHECK_MSG(wire_client_do(c, &req, &resp, deadline_in_ms(10000), &err) == 0, "%s", err.msg);
    CHECK_EQ(resp.status, 200);
    CHECK_STR(wire_headers_get(&resp.headers, "grpc-status"), "12");
    CHECK(wire_headers_get(&resp.headers, "grpc-accept-encoding") != NULL);
    wire_http_request_free(&req);
    wire_http_response_free(&resp);
  }

  wire_client_free(c);
  server_stop(&ts);
}

/* --- peers that are not gRPC servers --- */

typedef struct raw_peer {
  int fd;
  uint16_t port;
  pthread_t thread;
  const char *reply; /* sent after reading the first bytes, then the peer closes; NULL: say nothing and wait */
} raw_peer;

static void *raw_peer_main(void *arg) {
  raw_peer *p = arg;
  int c = accept(p->fd, NULL, NULL);
  if (c < 0) return NULL;
  char buf[4096];
  ssize_t n = read(c, buf, sizeof buf);
  if (n > 0 && p->reply) {
    ssize_t w = write(c, p->reply, strlen(p->reply));
    (void)w;
  }
  while (!p->reply && read(c, buf, sizeof buf) > 0) { /* silent: wait for the client to go */
  }
  close(c);
  return NULL;
}

static bool raw_peer_start(raw_peer *p, const char *reply) {
  memset(p, 0, sizeof *p);
  p->reply = reply;
  p->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(p->fd, 4) < 0 ||
      getsockname(p->fd, (struct sockaddr *)&a, &al) < 0)
    return false;
  p->port = ntohs(a.sin_port);
  pthread_create(&p->thread, NULL, raw_peer_main, p);
  return true;
}

static void raw_peer_stop(raw_peer *p) {
  pthread_join(p->thread, NULL);
  close(p->fd);
}

static void call_raw_peer(const char *reply, int timeout_ms, int want_code) {
  raw_peer p;
  if (!raw_peer_start(&p, reply)) {
    CHECK_MSG(false, "raw peer did not start");
    return;
  }
  test_server fake = {.port = p.port};
  wire_client *c = client_for(&fake, NULL);
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  wire_err err = {0};
  CHECK_EQ(call_path(c, EXPORT_PATH, "x", 1, timeout_ms, &r, &err), -1);
  CHECK_MSG(r.code == want_code, "code %s (%s)", wire_grpc_code_name(r.code), err.msg);
  CHECK(r.local);
  wire_grpc_result_free(&r);
  wire_client_free(c); /* closes the connection: the peer thread ends */
  raw_peer_stop(&p);
}

/* An HTTP/1.1 server answering our preface, and one that closes at once: errors, no hang. */
static void test_peer_not_http2(void) {
  call_raw_peer("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 10000,
                WIRE_GRPC_UNAVAILABLE);
  call_raw_peer("", 10000, WIRE_GRPC_UNAVAILABLE);
}

/* A peer that accepts and never answers: the deadline ends the call. */
static void test_silent_peer_deadline(void) { call_raw_peer(NULL, 300, WIRE_GRPC_DEADLINE_EXCEEDED); }

/* --- server stop with a call in flight --- */

typedef struct bg_call {
  wire_client *client;
  int rc;
  wire_grpc_result result;
  wire_err err;
} bg_call;

static void *bg_call_main(void *arg) {
  bg_call *b = arg;
  wire_grpc_result_init(&b->result);
  b->rc = call_path(b->client, "/test.Slow/Never", "x", 1, 20000, &b->result, &b->err);
  return NULL;
}

/* Stopping the server sends GOAWAY and lets the call in flight finish before the connection closes. */
static void test_stop_finishes_call_in_flight(void) {
  test_server ts;
  if (!server_start(&ts, NULL)) {
    CHECK_MSG(false, "server did not start");
    server_stop(&ts);
    return;
  }
  ts.answer_after_stop = true; /* read by the loop thread only after the async wake-up below */
  bg_call b = {.client = client_for(&ts, NULL)};
  pthread_t th;
  pthread_create(&th, NULL, bg_call_main, &b);
  bool parked = false;
  for (int i = 0; i < 2000 && !parked; i++) { /* up to 20 s */
    pthread_mutex_lock(&ts.mu);
    parked = ts.nparked == 1;
    pthread_mutex_unlock(&ts.mu);
    if (!parked) usleep(10000);
  }
  CHECK(parked);
  server_stop(&ts);
  pthread_join(th, NULL);
  CHECK_MSG(b.rc == 0, "%s", b.err.msg);
  CHECK_EQ(b.result.code, WIRE_GRPC_OK);
  CHECK(b.result.response.len == 4 && memcmp(b.result.response.data, "done", 4) == 0);
  wire_grpc_result_free(&b.result);
  /* the server is gone: the next call fails cleanly */
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  wire_err err;
  CHECK_EQ(call_path(b.client, EXPORT_PATH, "x", 1, 5000, &r, &err), -1);
  CHECK_EQ(r.code, WIRE_GRPC_UNAVAILABLE);
  wire_grpc_result_free(&r);
  wire_client_free(b.client);
}

static void test_h2c_plaintext(void) { run_suite(NULL, NULL); }

static void test_h2_over_tls(void) {
  test_certs certs;
  if (test_certs_make(&certs) < 0) {
    CHECK_MSG(false, "cannot make test certificates");
    return;
  }
  wire_tls_config server_tls = {.cert_file = certs.server_cert, .key_file = certs.server_key};
  wire_tls_config client_tls = {.ca_file = certs.ca};
  run_suite(&server_tls, &client_tls);
}

int main(void) {
  RUN(test_h2c_plaintext);
  RUN(test_h2_over_tls);
  RUN(test_stop_finishes_call_in_flight);
  RUN(test_peer_not_http2);
  RUN(test_silent_peer_deadline);
  return test_finish();
}
