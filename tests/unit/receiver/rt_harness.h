/* rt_harness.h — shared by the receiver runtime tests (test_runtime*.c, test_otlp_receiver*.c): runs a
 * configuration in-process on a libuv loop thread, with every `debug` exporter replaced by a capture exporter
 * that keeps what it receives (ids containing "refuse" refuse with WIRE_E_LIMIT instead), plus small
 * synchronous HTTP and gRPC client helpers for the test thread. Header-only (static functions). */
#ifndef OTELC_TESTS_RT_HARNESS_H
#define OTELC_TESTS_RT_HARNESS_H

#pragma GCC diagnostic ignored "-Wunused-function" /* each test uses a part */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/config/config.h"
#include "receiver/receivers/otlp.h"
#include "receiver/runtime/runtime.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/grpc_client.h"
#include "wire/http_client.h"
#include "wire/otlp_json.h"

/* ---- the capture exporter ---- */

#define CAPTURE_MAX 16
#define CAPTURE_BATCHES 512

typedef struct capture {
  char id[64];
  pthread_mutex_t mu;
  component_metrics *got[CAPTURE_BATCHES];
  size_t n;
  uint64_t points;
  bool refuse, started, shut;
  size_t consumed_after_shutdown;
} capture;

static capture captures[CAPTURE_MAX];
static size_t ncaptures;
static pthread_mutex_t captures_mu = PTHREAD_MUTEX_INITIALIZER;

static capture *capture_get(const char *id) {
  pthread_mutex_lock(&captures_mu);
  for (size_t i = 0; i < ncaptures; i++)
    if (!strcmp(captures[i].id, id)) {
      pthread_mutex_unlock(&captures_mu);
      return &captures[i];
    }
  capture *c = NULL;
  if (ncaptures < CAPTURE_MAX) {
    c = &captures[ncaptures++];
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    snprintf(c->id, sizeof c->id, "%s", id);
  }
  pthread_mutex_unlock(&captures_mu);
  return c;
}

static void capture_reset(void) {
  pthread_mutex_lock(&captures_mu);
  for (size_t i = 0; i < ncaptures; i++) {
    for (size_t j = 0; j < captures[i].n; j++) metrics_unref(captures[i].got[j]);
    pthread_mutex_destroy(&captures[i].mu);
  }
  ncaptures = 0;
  pthread_mutex_unlock(&captures_mu);
}

static uint64_t capture_points(const char *id) {
  capture *c = capture_get(id);
  pthread_mutex_lock(&c->mu);
  uint64_t p = c->points;
  pthread_mutex_unlock(&c->mu);
  return p;
}

static size_t capture_batches(const char *id) {
  capture *c = capture_get(id);
  pthread_mutex_lock(&c->mu);
  size_t n = c->n;
  pthread_mutex_unlock(&c->mu);
  return n;
}

/* Encodes batch i of capture id (protobuf) into out. */
static int capture_encode(const char *id, size_t i, wire_buf *out) {
  capture *c = capture_get(id);
  pthread_mutex_lock(&c->mu);
  int rc = i < c->n && metrics_request(c->got[i], NULL) ? wire_otlp_encode_request(c->got[i]->req, out, NULL) : -1;
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static int cap_create(const component_create_args *args, void **state, wire_err *err) {
  capture *c = capture_get(args->id);
  if (!c) return wire_err_set(err, WIRE_E_LIMIT, "too many capture exporters");
  c->refuse = strstr(args->id, "refuse") != NULL;
  *state = c;
  return 0;
}
static int cap_start(void *state, wire_err *err) {
  (void)err;
  ((capture *)state)->started = true;
  return 0;
}
static int cap_consume(void *state, component_metrics *b, wire_err *err) {
  capture *c = state;
  if (c->refuse) {
    metrics_unref(b);
    return wire_err_set(err, WIRE_E_LIMIT, "capture %s: queue is full", c->id);
  }
  pthread_mutex_lock(&c->mu);
  if (c->shut) c->consumed_after_shutdown++;
  c->points += b->points;
  if (c->n < CAPTURE_BATCHES)
    c->got[c->n++] = b;
  else
    metrics_unref(b);
  pthread_mutex_unlock(&c->mu);
  return 0;
}
static int cap_shutdown(void *state, wire_err *err) {
  (void)err;
  ((capture *)state)->shut = true;
  return 0;
}
static void cap_destroy(void *state) { (void)state; }

static const component_hooks capture_hooks = {
    .create = cap_create, .start = cap_start, .consume_metrics = cap_consume, .shutdown = cap_shutdown,
    .destroy = cap_destroy};

static const component_hooks *harness_hooks_for(const service_component *c, void *ud) {
  (void)ud;
  if (c->kind == COMPONENT_EXPORTER && !strcmp(c->type, "debug")) return &capture_hooks;
  return NULL;
}

/* ---- the runtime on a loop thread ---- */

typedef struct harness {
  uv_loop_t loop;
  uv_async_t stop_async;
  pthread_t thread;
  bool running;
  otelc_config *cfg;
  runtime *rt;
  telemetry *tel;
  rt_logger *log;
  bool done;
} harness;

static void *harness_loop(void *arg) {
  harness *h = arg;
  uv_run(&h->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void harness_done(void *arg) {
  harness *h = arg;
  h->done = true;
  runtime_free(h->rt); /* on the loop thread: its handle closes and the loop can end */
  h->rt = NULL;
  uv_close((uv_handle_t *)&h->stop_async, NULL);
}

static void harness_stop_cb(uv_async_t *a) {
  harness *h = a->data;
  runtime_shutdown(h->rt, harness_done, h);
}

/* Loads yaml, builds and starts the runtime, runs the loop on a thread. Returns 0, or -1 (reported). */
static int harness_start(harness *h, const char *yaml) {
  memset(h, 0, sizeof *h);
  cfg_diags d;
  cfg_diags_init(&d);
  h->cfg = config_load_buffer("test.yaml", yaml, strlen(yaml), NULL, NULL, &d);
  if (!h->cfg) {
    test_fail(__FILE__, __LINE__, "config: %s", cfg_diags_first_error(&d) ? cfg_diags_first_error(&d) : "?");
    cfg_diags_free(&d);
    return -1;
  }
  cfg_diags_free(&d);
  uv_loop_init(&h->loop);
  h->tel = telemetry_new("test");
  h->log = rt_logger_new(NULL, NULL);
  runtime_options o = {.log = h->log, .tel = h->tel, .hooks_for = harness_hooks_for};
  wire_err err = {0};
  h->rt = runtime_new(&h->loop, config_graph(h->cfg), &o, &err);
  if (!h->rt) {
    test_fail(__FILE__, __LINE__, "runtime_new: %s", err.msg);
    return -1;
  }
  if (runtime_start(h->rt, &err) < 0) {
    test_fail(__FILE__, __LINE__, "runtime_start: %s", err.msg);
    return -1;
  }
  uv_async_init(&h->loop, &h->stop_async, harness_stop_cb);
  h->stop_async.data = h;
  pthread_create(&h->thread, NULL, harness_loop, h);
  h->running = true;
  return 0;
}

/* Shuts the runtime down (draining) and frees everything. */
static void harness_stop(harness *h) {
  if (h->running) {
    uv_async_send(&h->stop_async);
    pthread_join(h->thread, NULL);
    h->running = false;
  }
  if (h->rt) runtime_free(h->rt);
  uv_run(&h->loop, UV_RUN_NOWAIT);
  int rc = uv_loop_close(&h->loop);
  CHECK_MSG(rc == 0, "loop closed with handles open: %s", uv_strerror(rc));
  if (h->cfg) config_free(h->cfg);
  telemetry_free(h->tel);
  rt_logger_free(h->log);
}

static void harness_ports(harness *h, const char *receiver_id, uint16_t *grpc, uint16_t *http) {
  otlp_receiver_ports(runtime_component_state(h->rt, COMPONENT_RECEIVER, receiver_id, 0), grpc, http);
}

/* Waits (bounded) until capture id has at least `points` points. */
static bool wait_points(const char *id, uint64_t points, int timeout_ms) {
  int64_t deadline = wire_now_ns() + (int64_t)timeout_ms * 1000000;
  while (wire_now_ns() < deadline) {
    if (capture_points(id) >= points) return true;
    usleep(2000);
  }
  return capture_points(id) >= points;
}

/* ---- clients ---- */

static int64_t deadline_ms(int ms) { return wire_now_ns() + (int64_t)ms * 1000000; }

static wire_client *http_client(uint16_t port, wire_client_proto proto) {
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", port);
  wire_client_config cc = {.endpoint = ep, .proto = proto, .max_response_bytes = 1 << 20};
  wire_err err = {0};
  wire_client *c = wire_client_new(&cc, &err);
  CHECK_MSG(c != NULL, "client: %s", err.msg);
  return c;
}

/* One HTTP request; resp must be initialised by the caller. hname/hvalue: an extra header (may be NULL). */
static int http_do(wire_client *c, const char *method, const char *path, const char *ctype, const void *body,
                   size_t len, const char *hname, const char *hvalue, wire_http_response *resp) {
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, method, path, NULL, NULL);
  if (ctype) wire_headers_add_cstr(&req.headers, "content-type", ctype, NULL);
  if (hname) wire_headers_add_cstr(&req.headers, hname, hvalue, NULL);
  if (len) wire_buf_append(&req.body, body, len, NULL);
  wire_err err = {0};
  int rc = wire_client_do(c, &req, resp, deadline_ms(10000), &err);
  if (rc < 0) test_fail(__FILE__, __LINE__, "http %s %s: %s", method, path, err.msg);
  wire_http_request_free(&req);
  return rc;
}

/* One gRPC Export call; r must be initialised by the caller. */
static int grpc_export(wire_client *c, const void *msg, size_t len, const char *hname, const char *hvalue,
                       wire_grpc_result *r) {
  wire_headers md;
  wire_headers_init(&md, 0, 0);
  if (hname) wire_headers_add_cstr(&md, hname, hvalue, NULL);
  wire_grpc_call call = {.path = OTLP_METRICS_GRPC_PATH, .metadata = &md, .request = msg, .request_len = len,
                         .deadline_ns = deadline_ms(10000)};
  wire_err err = {0};
  int rc = wire_grpc_unary(c, &call, r, &err);
  wire_headers_free(&md);
  return rc;
}

/* ---- common configuration pieces and request steps ---- */

/* OTLP/HTTP's protobuf media type. */
#define PB "application/x-protobuf"

/* The start of a configuration with one OTLP receiver `otlp`: its protocols follow, indented by 6. */
#define RT_YAML_OTLP_RECEIVER \
  "receivers:\n"              \
  "  otlp:\n"                 \
  "    protocols:\n"

/* The end of a configuration whose one pipeline takes receiver `otlp` to the (capture) exporter `debug`. */
#define RT_YAML_OTLP_TO_DEBUG                                 \
  "exporters:\n"                                              \
  "  debug:\n"                                                \
  "service:\n"                                                \
  "  pipelines:\n"                                            \
  "    metrics: {receivers: [otlp], exporters: [debug]}\n"

/* POSTs an OTLP protobuf body to /v1/metrics, with one extra header (hname may be NULL). Returns the HTTP
 * status, or 0 when there is no client or no answer (reported). */
static int post_metrics(wire_client *c, const void *pb, size_t len, const char *hname, const char *hvalue) {
  if (!c) return 0;
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  int status = http_do(c, "POST", "/v1/metrics", PB, pb, len, hname, hvalue, &resp) < 0 ? 0 : resp.status;
  wire_http_response_free(&resp);
  return status;
}

/* One gRPC Export call (see grpc_export); returns its gRPC status code, or -1 when there is no client or the
 * call failed. */
static int grpc_export_code(wire_client *g, const void *pb, size_t len, const char *hname, const char *hvalue) {
  if (!g) return -1;
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  int code = grpc_export(g, pb, len, hname, hvalue, &r) == 0 ? (int)r.code : -1;
  wire_grpc_result_free(&r);
  return code;
}

/* One gRPC Export to 127.0.0.1:port over TLS with `tls` (a client certificate or not), on a fresh client.
 * Returns grpc_export's result (0, or -1 when the call failed: refused handshake) and sets *code to the gRPC
 * status. */
static int grpc_tls_export(uint16_t port, const wire_tls_config *tls, const void *pb, size_t len, int *code) {
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", port);
  wire_client_config gc = {.endpoint = ep, .tls = tls, .force_tls = true, .proto = WIRE_CLIENT_H2};
  wire_err err = {0};
  wire_client *g = wire_client_new(&gc, &err);
  CHECK_MSG(g != NULL, "%s", err.msg);
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  int rc = g ? grpc_export(g, pb, len, NULL, NULL, &r) : -1;
  *code = (int)r.code;
  wire_grpc_result_free(&r);
  wire_client_free(g);
  return rc;
}

/* One POST of an OTLP protobuf body to https://127.0.0.1:port/v1/metrics on a fresh client with `tls`.
 * Returns the HTTP status, or -1 (err set) when there is no client or no answer (refused handshake). */
static int https_post(uint16_t port, const wire_tls_config *tls, const void *pb, size_t len, wire_err *err) {
  char ep[64];
  snprintf(ep, sizeof ep, "https://127.0.0.1:%u", port);
  wire_client_config cc = {.endpoint = ep, .tls = tls};
  wire_client *c = wire_client_new(&cc, err);
  if (!c) return -1;
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "POST", "/v1/metrics", NULL, NULL);
  wire_headers_add_cstr(&req.headers, "content-type", PB, NULL);
  wire_buf_append(&req.body, pb, len, NULL);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  int rc = wire_client_do(c, &req, &resp, deadline_ms(10000), err);
  int status = rc < 0 ? -1 : resp.status;
  wire_http_response_free(&resp);
  wire_http_request_free(&req);
  wire_client_free(c);
  return status;
}

/* The protobuf encoding of a sample request. */
static void encode_sample(otlp_request *req, wire_buf *out) {
  wire_buf_init(out, 0);
  wire_otlp_encode_request(req, out, NULL);
}

#endif
