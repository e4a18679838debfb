/* otlp.c — the OTLP receiver (see otlp.h): one HTTP/2-only server for gRPC and one HTTP/1.1+HTTP/2 server for
 * OTLP/HTTP, both on the loop; each request is authenticated, validated into a batch (pipeline.h), checked,
 * handed to the pipelines, and answered from the pipelines' verdict.
 *
 * Protobuf requests go through metrics_receive: one validating walk that also counts the points and proves the
 * request clean (nothing for the semantic checks to remove or repair) keeps the bytes as the batch's raw form,
 * undecoded — the OTLP exporters forward them as they are, and whoever needs the structs decodes them lazily.
 * A request that is not clean is decoded and checked here as before, so the answers (errors, partial success)
 * are the same either way. JSON requests are always decoded.
 *
 * Memory: bodies are bounded by the servers (max_recv_msg_size_mib, max_request_body_size, also after gzip),
 * the decoded batch by an arena limit proportional to the body, and everything queued behind us by
 * memory_limiter, whose refusals come back here as retryable answers. */
#include "receiver/receivers/otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "receiver/config/components/otlp_receiver.h"
#include "receiver/runtime/tls_config.h"
#include "wire/otlp_json.h"
#include "wire/server/grpc_server.h"
#include "wire/server/http_server.h"

/* Decoded structs take a few times the wire size (up to ~25x for hostile input): the arena may take this many
 * times the body, plus a floor for small requests. */
#define ARENA_FACTOR 32
#define ARENA_FLOOR (256 * 1024)
/* What clients are asked to wait after a retryable refusal. */
#define RETRY_AFTER_S 1

typedef struct otlp_receiver {
  component_host *host;
  const otlp_receiver_config *cfg;
  char *id;
  component_consumer next;
  wire_server *grpc, *http;
  component_auth *grpc_auth, *http_auth;
  char *grpc_endpoint, *http_endpoint;
} otlp_receiver;

typedef enum verdict { VERDICT_OK, VERDICT_RETRY, VERDICT_PERMANENT } verdict;

static size_t arena_limit_for(size_t len) {
  return len > (SIZE_MAX - ARENA_FLOOR) / ARENA_FACTOR ? 0 : len * ARENA_FACTOR + ARENA_FLOOR;
}

static bool retryable(wire_err_code c) {
  return c == WIRE_E_LIMIT || c == WIRE_E_NOMEM || c == WIRE_E_CLOSED || c == WIRE_E_IO || c == WIRE_E_TIMEOUT;
}

/* Checks the batch, forwards it and counts. Takes the batch. *rejected and report say what the semantic check
 * removed; err says why the pipeline refused. */
static verdict deliver(otlp_receiver *r, component_metrics *m, const char *transport, const wire_headers *headers,
                       bool include_metadata, wire_otlp_check_report *report, wire_err *err) {
  if (m->req) { /* decoded: JSON, or a protobuf request that is not clean */
    wire_otlp_check_request(m->req, &m->arena, WIRE_OTLP_FIX_UTF8, report);
    if (report->rejected_points || report->rejected_metrics) metrics_update(m);
  } else { /* the raw form of a clean request: the checks have nothing to say */
    memset(report, 0, sizeof *report);
  }
  if (report->rejected_points)
    r->host->count_transport(r->host, "otelcol_receiver_refused_metric_points", r->id, transport,
                             report->rejected_points);
  size_t points = m->points;
  if (points == 0) { /* nothing to forward (the Collector answers an empty request with success too) */
    metrics_unref(m);
    return VERDICT_OK;
  }
  if (include_metadata && headers) {
    m->metadata = calloc(1, sizeof *m->metadata);
    if (m->metadata) {
      wire_headers_init(m->metadata, 0, 0);
      if (wire_headers_copy(m->metadata, headers, NULL) < 0) {
        wire_headers_free(m->metadata);
        free(m->metadata);
        m->metadata = NULL;
      }
    }
  }
  if (r->next.consume_metrics(r->next.ctx, m, err) < 0) {
    r->host->count_transport(r->host, "otelcol_receiver_refused_metric_points", r->id, transport, points);
    if (r->host->log_enabled(r->host, LOG_DEBUG))
      r->host->log(r->host, LOG_DEBUG, r->id, "Pipeline refused data", "transport", transport, "error", err->msg,
                   NULL);
    return retryable(err->code) ? VERDICT_RETRY : VERDICT_PERMANENT;
  }
  r->host->count_transport(r->host, "otelcol_receiver_accepted_metric_points", r->id, transport, points);
  return VERDICT_OK;
}

/* The Export response into `out` (initialised here; the caller frees it), as JSON or protobuf: a partial success
 * when the check rejected points or has something to say, else empty. */
static int encode_export_response(wire_otlp_check_report *report, bool json, wire_buf *out, wire_err *err) {
  otlp_response resp = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  otlp_partial_success ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
  if (report->rejected_points || report->message[0]) {
    ps.rejected_data_points = (int64_t)report->rejected_points;
    ps.error_message = report->message;
    resp.partial_success = &ps;
  }
  wire_buf_init(out, 0);
  return json ? wire_otlp_json_encode_response(&resp, out, err) : wire_otlp_encode_response(&resp, out, err);
}

/* Authenticates with the configured authenticator (if any). */
static int authenticate(component_auth *auth, const wire_http_request *req, const char **subject, wire_err *err) {
  *subject = NULL;
  if (!auth) return 0;
  if (!auth->authenticate) return wire_err_set(err, WIRE_E_UNSUPPORTED, "authenticator cannot authenticate servers");
  return auth->authenticate(auth, &req->headers, subject, err);
}

/* ---- gRPC ---- */

static void grpc_handle(wire_exchange *ex, void *ud) {
  otlp_receiver *r = ud;
  const wire_http_request *req = wire_exchange_request(ex);
  const otlp_grpc_config *gc = r->cfg->grpc;
  if (wire_grpc_is_grpc_request(req) && (!req->path || strcmp(req->path, OTLP_METRICS_GRPC_PATH) != 0)) {
    wire_grpc_respond_status(ex, WIRE_GRPC_UNIMPLEMENTED, "unknown service or method", -1);
    return;
  }
  wire_err err = {0};
  const char *subject;
  if (authenticate(r->grpc_auth, req, &subject, &err) < 0) {
    wire_grpc_respond_status(ex, WIRE_GRPC_UNAUTHENTICATED, err.msg, -1);
    return;
  }
  const uint8_t *msg;
  size_t len;
  if (wire_grpc_read_request(ex, (size_t)gc->max_recv_msg_size, &msg, &len, &err) < 0) return; /* answered */
  /* the message lies in the exchange's body: a kept request takes that buffer instead of a copy */
  component_metrics *m = metrics_receive_body(&wire_exchange_request_mut(ex)->body, msg, len,
                                              (size_t)gc->max_recv_msg_size, arena_limit_for(len), &err);
  if (!m) {
    wire_grpc_respond_status(ex, err.code == WIRE_E_LIMIT ? WIRE_GRPC_RESOURCE_EXHAUSTED : WIRE_GRPC_INVALID_ARGUMENT,
                             err.msg, -1);
    return;
  }
  m->auth_subject = subject;
  wire_otlp_check_report report;
  verdict v = deliver(r, m, "grpc", &req->headers, gc->include_metadata, &report, &err);
  if (v == VERDICT_RETRY) {
    wire_grpc_respond_status(ex, WIRE_GRPC_UNAVAILABLE, err.msg, (int64_t)RETRY_AFTER_S * 1000000000);
    return;
  }
  if (v == VERDICT_PERMANENT) {
    wire_grpc_respond_status(ex, WIRE_GRPC_INVALID_ARGUMENT, err.msg, -1);
    return;
  }
  wire_buf out;
  if (encode_export_response(&report, false, &out, &err) < 0) {
    wire_buf_free(&out);
    wire_grpc_respond_status(ex, WIRE_GRPC_INTERNAL, "cannot encode the response", -1);
    return;
  }
  wire_grpc_respond(ex, out.data, out.len);
  wire_buf_free(&out);
}

/* ---- HTTP ---- */

typedef enum encoding { ENC_PROTO, ENC_JSON } encoding;

static bool path_equals(const char *path, const char *want) {
  size_t n = strcspn(path, "?");
  return strlen(want) == n && !strncmp(path, want, n);
}

/* The media type of a Content-Type value, without parameters: 0 proto, 1 json, -1 other. */
static int media_type(const char *ct) {
  if (!ct) return -1;
  while (*ct == ' ' || *ct == '\t') ct++;
  size_t n = strcspn(ct, "; \t");
  if (n == 22 && !strncasecmp(ct, "application/x-protobuf", 22)) return ENC_PROTO;
  if (n == 16 && !strncasecmp(ct, "application/json", 16)) return ENC_JSON;
  return -1;
}

/* Glob match where * stands for any run of characters (CORS allowed_origins: a scheme, then *.example.com). */
static bool glob_match(const char *pat, const char *s) {
  if (!*pat) return !*s;
  if (*pat == '*') {
    for (;; s++) {
      if (glob_match(pat + 1, s)) return true;
      if (!*s) return false;
    }
  }
  return *s && (*pat == *s) && glob_match(pat + 1, s + 1);
}

/* The request's Origin when CORS is configured and allows it, else NULL. */
static const char *cors_origin(const otlp_receiver *r, const wire_http_request *req) {
  const cors_config *cc = r->cfg->http->cors;
  const char *origin = wire_headers_get(&req->headers, "origin");
  if (!cc || !origin || strlen(origin) > 1024) return NULL;
  for (size_t i = 0; i < cc->allowed_origins.n; i++)
    if (glob_match(cc->allowed_origins.v[i], origin)) return origin;
  return NULL;
}

static void add_common_headers_for(otlp_receiver *r, const wire_http_request *req, wire_headers *h) {
  const otlp_http_config *hc = r->cfg->http;
  for (size_t i = 0; i < hc->response_headers.n; i++)
    wire_headers_add_cstr(h, hc->response_headers.v[i].key,
                          hc->response_headers.v[i].value ? hc->response_headers.v[i].value : "", NULL);
  const char *origin = req ? cors_origin(r, req) : NULL;
  if (origin) {
    wire_headers_add_cstr(h, "access-control-allow-origin", origin, NULL);
    wire_headers_add_cstr(h, "vary", "Origin", NULL);
  }
}

/* Answers a CORS preflight (OPTIONS with Access-Control-Request-Method). */
static void respond_preflight(otlp_receiver *r, wire_exchange *ex, const wire_http_request *req) {
  const cors_config *cc = r->cfg->http->cors;
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  if (cors_origin(r, req)) {
    add_common_headers_for(r, req, &h);
    wire_headers_add_cstr(&h, "access-control-allow-methods", "POST", NULL);
    wire_buf allow;
    wire_buf_init(&allow, 8192);
    wire_buf_append_str(&allow, "Content-Type, Content-Encoding, Authorization", NULL);
    for (size_t i = 0; i < cc->allowed_headers.n; i++) {
      wire_buf_append_str(&allow, ", ", NULL);
      wire_buf_append_str(&allow, cc->allowed_headers.v[i], NULL);
    }
    wire_buf_append(&allow, "", 1, NULL);
    if (allow.data) wire_headers_add_cstr(&h, "access-control-allow-headers", (const char *)allow.data, NULL);
    wire_buf_free(&allow);
    if (cc->max_age > 0) {
      char v[24];
      snprintf(v, sizeof v, "%lld", (long long)cc->max_age);
      wire_headers_add_cstr(&h, "access-control-max-age", v, NULL);
    }
  }
  wire_exchange_respond(ex, 204, &h, NULL, 0, NULL);
  wire_headers_free(&h);
}

static void respond_plain(otlp_receiver *r, wire_exchange *ex, int status, const char *text, const char *allow) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  add_common_headers_for(r, wire_exchange_request(ex), &h);
  wire_headers_add_cstr(&h, "content-type", "text/plain; charset=utf-8", NULL);
  if (allow) wire_headers_add_cstr(&h, "allow", allow, NULL);
  wire_exchange_respond(ex, status, &h, text, strlen(text), NULL);
  wire_headers_free(&h);
}

/* Appends s as a JSON string (quotes included). */
static void json_string(wire_buf *out, const char *s) {
  wire_buf_append_str(out, "\"", NULL);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      wire_buf_append(out, e, 2, NULL);
    } else if (*p < 0x20 || *p == 0x7f) {
      wire_buf_printf(out, NULL, "\\u%04x", *p);
    } else {
      wire_buf_append(out, p, 1, NULL);
    }
  }
  wire_buf_append_str(out, "\"", NULL);
}

/* An error answer: a google.rpc.Status in the request's encoding, as OTLP/HTTP requires for 4xx/5xx. */
static void respond_status(otlp_receiver *r, wire_exchange *ex, encoding enc, int http_status, int grpc_code,
                           const char *message, bool retry_after) {
  wire_buf body;
  wire_buf_init(&body, 0);
  if (enc == ENC_JSON) {
    wire_buf_printf(&body, NULL, "{\"code\":%d,\"message\":", grpc_code);
    json_string(&body, message);
    wire_buf_append_str(&body, "}", NULL);
  } else {
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = grpc_code;
    st.message = (char *)message;
    wire_otlp_encode_message(&st.base, "status", &body, NULL);
  }
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  add_common_headers_for(r, wire_exchange_request(ex), &h);
  wire_headers_add_cstr(&h, "content-type", enc == ENC_JSON ? "application/json" : "application/x-protobuf", NULL);
  if (retry_after) {
    char v[16];
    snprintf(v, sizeof v, "%d", RETRY_AFTER_S);
    wire_headers_add_cstr(&h, "retry-after", v, NULL);
  }
  wire_exchange_respond(ex, http_status, &h, body.data, body.len, NULL);
  wire_headers_free(&h);
  wire_buf_free(&body);
}

static void http_handle(wire_exchange *ex, void *ud) {
  otlp_receiver *r = ud;
  const otlp_http_config *hc = r->cfg->http;
  wire_http_request *req = wire_exchange_request_mut(ex);
  const char *path = req->path ? req->path : "";
  if (!path_equals(path, hc->metrics_url_path ? hc->metrics_url_path : "/v1/metrics")) {
    respond_plain(r, ex, 404, "404 page not found\n", NULL);
    return;
  }
  if (!strcmp(req->method, "OPTIONS") && hc->cors && wire_headers_get(&req->headers, "access-control-request-method")) {
    respond_preflight(r, ex, req);
    return;
  }
  if (strcmp(req->method, "POST") != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%.16s method not allowed, supported: [POST]\n", req->method);
    respond_plain(r, ex, 405, msg, "POST");
    return;
  }
  int enc = media_type(wire_headers_get(&req->headers, "content-type"));
  if (enc < 0) {
    respond_plain(r, ex, 415, "415 unsupported media type, supported: [application/json, application/x-protobuf]\n",
                  NULL);
    return;
  }
  wire_err err = {0};
  const char *subject;
  if (authenticate(r->http_auth, req, &subject, &err) < 0) {
    respond_status(r, ex, (encoding)enc, 401, WIRE_GRPC_UNAUTHENTICATED, err.msg, false);
    return;
  }
  size_t max = (size_t)hc->max_request_body_size;
  component_metrics *m =
      enc == ENC_JSON ? metrics_decode_json(req->body.data, req->body.len, max, arena_limit_for(req->body.len), &err)
                      : metrics_receive_body(&req->body, req->body.data, req->body.len, max,
                                             arena_limit_for(req->body.len), &err);
  if (!m) {
    if (err.code == WIRE_E_LIMIT)
      respond_status(r, ex, (encoding)enc, 413, WIRE_GRPC_RESOURCE_EXHAUSTED, err.msg, false);
    else
      respond_status(r, ex, (encoding)enc, 400, WIRE_GRPC_INVALID_ARGUMENT, err.msg, false);
    return;
  }
  m->auth_subject = subject;
  wire_otlp_check_report report;
  verdict v = deliver(r, m, "http", &req->headers, hc->include_metadata, &report, &err);
  if (v == VERDICT_RETRY) {
    respond_status(r, ex, (encoding)enc, 503, WIRE_GRPC_UNAVAILABLE, err.msg, true);
    return;
  }
  if (v == VERDICT_PERMANENT) {
    respond_status(r, ex, (encoding)enc, 400, WIRE_GRPC_INVALID_ARGUMENT, err.msg, false);
    return;
  }
  wire_buf out;
  int rc = encode_export_response(&report, enc == ENC_JSON, &out, &err);
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  add_common_headers_for(r, req, &h);
  wire_headers_add_cstr(&h, "content-type", enc == ENC_JSON ? "application/json" : "application/x-protobuf", NULL);
  if (rc < 0)
    wire_exchange_respond(ex, 500, &h, NULL, 0, NULL);
  else
    wire_exchange_respond(ex, 200, &h, out.data, out.len, NULL);
  wire_headers_free(&h);
  wire_buf_free(&out);
}

/* ---- lifecycle ---- */

static int resolve_auth(otlp_receiver *r, const auth_config *a, component_auth **out, wire_err *err) {
  *out = NULL;
  if (!a || !a->authenticator) return 0;
  *out = r->host->auth(r->host, a->authenticator);
  if (!*out || !(*out)->authenticate)
    return wire_err_set(err, WIRE_E_INVALID, "auth.authenticator \"%s\" is not a running server authenticator",
                        a->authenticator);
  return 0;
}

static void destroy(void *state);

static int create(const component_create_args *args, void **state, wire_err *err) {
  otlp_receiver *r = calloc(1, sizeof *r);
  if (!r || !(r->id = strdup(args->id))) {
    free(r);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  }
  r->host = args->host;
  r->cfg = args->config;
  r->next = args->next;
  if ((r->cfg->grpc && resolve_auth(r, r->cfg->grpc->auth, &r->grpc_auth, err) < 0) ||
      (r->cfg->http && resolve_auth(r, r->cfg->http->auth, &r->http_auth, err) < 0)) {
    destroy(r);
    return -1;
  }
  *state = r;
  return 0;
}

static uint64_t ns_to_ms(int64_t ns) { return ns > 0 ? (uint64_t)(ns + 999999) / 1000000 : 0; }

static wire_server *start_server(otlp_receiver *r, const char *what, const char *endpoint, const tls_server_config *tcfg,
                                 wire_server_config *sc, wire_handler_fn fn, wire_err *err) {
  wire_tls_config tls;
  if (tcfg) {
    if (rt_tls_server_config(tcfg, r->id, &tls, err) < 0) return NULL;
    sc->tls = &tls;
  }
  sc->endpoint = endpoint;
  wire_server *s = wire_server_start(r->host->loop, sc, fn, r, err);
  if (!s) {
    wire_err_prefix(err, "%s server: ", what);
    return NULL;
  }
  char port[8];
  snprintf(port, sizeof port, "%u", wire_server_port(s));
  r->host->log(r->host, LOG_INFO, r->id, what[0] == 'g' ? "Starting GRPC server" : "Starting HTTP server",
               "endpoint", endpoint, "port", port, "tls", tcfg ? "true" : "false", NULL);
  return s;
}

static int start(void *state, wire_err *err) {
  otlp_receiver *r = state;
  if (r->cfg->grpc) {
    const otlp_grpc_config *gc = r->cfg->grpc;
    const char *ep = gc->endpoint ? gc->endpoint : "127.0.0.1:4317";
    if (gc->transport == TRANSPORT_UNIX && strncmp(ep, "unix://", 7) != 0) {
      size_t n = strlen(ep) + 8;
      r->grpc_endpoint = malloc(n);
      if (!r->grpc_endpoint) return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
      snprintf(r->grpc_endpoint, n, "unix://%s", ep);
      ep = r->grpc_endpoint;
    }
    wire_server_config sc = {
        .disable_h1 = true,
        .max_body_bytes = (size_t)gc->max_recv_msg_size + 64, /* one framed message */
        .max_concurrent_streams = (uint32_t)(gc->max_concurrent_streams > 0 ? gc->max_concurrent_streams : 0),
        .idle_timeout_ms = ns_to_ms(gc->keepalive.max_connection_idle),
    };
    r->grpc = start_server(r, "grpc", ep, gc->tls, &sc, grpc_handle, err);
    if (!r->grpc) return -1;
  }
  if (r->cfg->http) {
    const otlp_http_config *hc = r->cfg->http;
    wire_server_config sc = {
        .max_body_bytes = (size_t)hc->max_request_body_size,
        .max_decompressed_bytes = (size_t)hc->max_request_body_size,
        .decompress = true,
        .idle_timeout_ms = ns_to_ms(hc->idle_timeout),
        .request_timeout_ms = ns_to_ms(hc->read_timeout),
    };
    r->http = start_server(r, "http", hc->endpoint ? hc->endpoint : "127.0.0.1:4318", hc->tls, &sc, http_handle, err);
    if (!r->http) return -1;
  }
  return 0;
}

static void server_stopped(void *arg) {
  otlp_receiver *r = arg;
  r->host->release(r->host);
}

static int shutdown_(void *state, wire_err *err) {
  (void)err;
  otlp_receiver *r = state;
  wire_server *servers[2] = {r->grpc, r->http};
  r->grpc = r->http = NULL;
  for (int i = 0; i < 2; i++) {
    if (!servers[i]) continue;
    r->host->hold(r->host);
    wire_server_stop(servers[i], server_stopped, r);
  }
  return 0;
}

static void destroy(void *state) {
  otlp_receiver *r = state;
  if (!r) return;
  free(r->grpc_endpoint);
  free(r->http_endpoint);
  free(r->id);
  free(r);
}

void otlp_receiver_ports(const void *state, uint16_t *grpc_port, uint16_t *http_port) {
  const otlp_receiver *r = state;
  if (grpc_port) *grpc_port = r && r->grpc ? wire_server_port(r->grpc) : 0;
  if (http_port) *http_port = r && r->http ? wire_server_port(r->http) : 0;
}

const component_hooks otlp_receiver_hooks = {
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
};
