/* exporter_otlp.c — the OTLP exporters (OTLP/gRPC and OTLP/HTTP protobuf) behind otelc_otlp_exporter_create and
 * the OTEL_METRICS_EXPORTER=otlp hook (otelc_otlp_exporter_from_env, called by exporter_select.c).
 *
 * One exporter = one wire_client (one kept-alive connection, HTTP/2 for gRPC, ALPN or HTTP/1.1 for HTTP),
 * used only on the thread that exports (the SDK's reader, or the one flushing), one call at a time.
 *
 * An export is a loop of attempts bounded by one deadline (the earlier of the reader's and
 * OTEL_EXPORTER_OTLP_TIMEOUT): a retryable failure waits (the server's Retry-After / RetryInfo delay, else an
 * exponential backoff with jitter) and tries again while the deadline leaves room; anything else ends it.
 * Nothing is queued: a batch that could not be sent is dropped, and with cumulative temporality the next
 * collection carries the whole state again.
 *
 * What is logged: the endpoint as host:port/path (no query string), HTTP statuses, gRPC codes, wire error
 * texts (which never hold payloads) and the server's own diagnostic text (grpc-message, google.rpc.Status
 * message, partial-success error_message) cleaned to printable ASCII and cut at 160 bytes. Never a header. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otelc/otlp_exporter.h"
#include "sdk/src/exporter_otlp.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"
#include "wire/clock.h"
#include "wire/grpc_client.h"
#include "wire/gzip.h"
#include "wire/http_client.h"

#define USER_AGENT "OTel-OTLP-Exporter-C/" OTELC_VERSION_STRING " otelc"
#define MIN_ATTEMPT_NS (10 * 1000000LL) /* a retry needs at least this much time before the deadline */
#define MAX_RESPONSE_BYTES (1u << 20)

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_outcome;

typedef struct attempt_result {
  attempt_outcome outcome;
  int64_t server_delay_ns; /* Retry-After / RetryInfo, -1 when none */
  char error_type[32];     /* health attribute: "http_503", "unavailable", "io", ... */
  char reason[400];        /* for the log line */
} attempt_result;

typedef struct otlp_exporter {
  otelc_exporter base;
  otelc_otlp_config cfg;
  wire_tls_config tls;
  wire_client *client;
  char target[320];        /* host:port/path for log lines */
  const char *proto_name;  /* "grpc" or "http/protobuf" */
  /* OTLP/HTTP: the request is built once; its body borrows the batch (or the gzip buffer) per attempt */
  wire_http_request req;
  wire_http_response resp;
  wire_buf gz;
  /* OTLP/gRPC */
  wire_grpc_result gres;
  uint64_t rng;
  pid_t pid;
  bool shut_down;
} otlp_exporter;

/* ---- helpers ---------------------------------------------------------------------------------------- */

/* Copies a server-supplied diagnostic as printable ASCII, at most 160 bytes. */
static void clean_text(char *out, size_t out_len, const char *in) {
  size_t o = 0, limit = out_len < 161 ? out_len - 1 : 160;
  for (const char *p = in ? in : ""; *p && o < limit; p++) {
    unsigned char c = (unsigned char)*p;
    out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  out[o] = 0;
}

static void lower_copy(char *out, size_t out_len, const char *in) {
  size_t i = 0;
  for (; in[i] && i + 1 < out_len; i++) out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
  out[i] = 0;
}

static void sleep_until(int64_t when_ns) {
  struct timespec ts = {.tv_sec = when_ns / 1000000000LL, .tv_nsec = when_ns % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* Waits for a retry until when_ns. On the provider's reader thread the wait ends early when the reader is
 * being stopped (shutdown must not sit out a backoff; the final export, made by the thread calling shutdown,
 * retries normally). Returns false when it ended early. */
static bool backoff_wait(otelc_meter_provider *p, int64_t when_ns) {
  if (!p) {
    sleep_until(when_ns);
    return true;
  }
  pthread_mutex_lock(&p->reader_mu);
  /* reader_stop clears thread_running and sets stop together: either says the reader is (or was just) ours */
  bool on_reader = (p->thread_running || p->stop) && pthread_equal(pthread_self(), p->thread);
  if (!on_reader) {
    pthread_mutex_unlock(&p->reader_mu);
    sleep_until(when_ns);
    return true;
  }
  struct timespec ts = {.tv_sec = when_ns / 1000000000LL, .tv_nsec = when_ns % 1000000000LL};
  while (!p->stop && pthread_cond_timedwait(&p->reader_cv, &p->reader_mu, &ts) != ETIMEDOUT) {
  }
  bool stopped = p->stop;
  pthread_mutex_unlock(&p->reader_mu);
  return !stopped;
}

/* Which transport errors are worth another attempt: connection-level trouble, not misconfiguration. */
static bool transport_retryable(wire_err_code c) {
  return c == WIRE_E_IO || c == WIRE_E_TIMEOUT || c == WIRE_E_DNS || c == WIRE_E_CLOSED || c == WIRE_E_NOMEM;
}

/* Logs and counts a partial success found in an ExportMetricsServiceResponse. */
static void handle_response_message(otlp_exporter *e, const otelc_export_batch *b, const uint8_t *data, size_t len) {
  if (len == 0) return;
  wire_err err;
  otlp_response *r = wire_otlp_decode_response(data, len, MAX_RESPONSE_BYTES, NULL, &err);
  if (!r) {
    OTELC_DEBUG("otlp exporter (%s %s): the success response is not an ExportMetricsServiceResponse: %s",
                e->proto_name, e->target, err.msg);
    return;
  }
  const otlp_partial_success *ps = r->partial_success;
  if (ps && (ps->rejected_data_points > 0 || (ps->error_message && ps->error_message[0]))) {
    char msg[161];
    clean_text(msg, sizeof msg, ps->error_message);
    if (ps->rejected_data_points > 0) {
      OTELC_WARN("otlp exporter (%s %s): the backend rejected %lld of %zu data points: %s", e->proto_name, e->target,
                 (long long)ps->rejected_data_points, b->n_points, msg[0] ? msg : "(no message)");
      otelc_health_add(b->provider, OTELC_HEALTH_POINTS_REJECTED, (uint64_t)ps->rejected_data_points, NULL);
    } else {
      OTELC_WARN("otlp exporter (%s %s): the backend accepted the batch with a warning: %s", e->proto_name,
                 e->target, msg);
    }
  }
  wire_otlp_response_free(r, NULL);
}

/* ---- one OTLP/HTTP attempt -------------------------------------------------------------------------- */

static void http_attempt(otlp_exporter *e, const otelc_export_batch *b, int64_t deadline_ns, attempt_result *ar) {
  wire_err err;
  wire_err_clear(&err);
  const uint8_t *body = b->data;
  size_t body_len = b->len;
  if (e->cfg.gzip) {
    if (e->gz.len == 0 && wire_gzip_compress(b->data, b->len, -1, &e->gz, &err) < 0) {
      ar->outcome = ATTEMPT_FAIL;
      snprintf(ar->error_type, sizeof ar->error_type, "gzip");
      snprintf(ar->reason, sizeof ar->reason, "compressing the request failed: %s", err.msg);
      return;
    }
    body = e->gz.data;
    body_len = e->gz.len;
  }
  /* Borrow the body: the request never owns it (restored below before anything can free it). */
  e->req.body.data = (uint8_t *)body;
  e->req.body.len = body_len;
  e->req.body.cap = body_len;
  int rc = wire_client_do(e->client, &e->req, &e->resp, deadline_ns, &err);
  e->req.body.data = NULL;
  e->req.body.len = e->req.body.cap = 0;

  if (rc < 0) {
    ar->outcome = transport_retryable(err.code) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
    snprintf(ar->error_type, sizeof ar->error_type, "%s", wire_err_code_name(err.code));
    snprintf(ar->reason, sizeof ar->reason, "%s", err.msg);
    return;
  }
  int st = e->resp.status;
  if (st >= 200 && st < 300) {
    ar->outcome = ATTEMPT_OK;
    const char *ct = wire_headers_get(&e->resp.headers, "content-type");
    if (!ct || strncmp(ct, "application/x-protobuf", 22) == 0)
      handle_response_message(e, b, e->resp.body.data, e->resp.body.len);
    return;
  }
  snprintf(ar->error_type, sizeof ar->error_type, "http_%d", st);
  /* The body of an OTLP/HTTP failure is a google.rpc.Status; its message is the server's explanation. */
  char msg[161] = "";
  const char *ct = wire_headers_get(&e->resp.headers, "content-type");
  if (ct && strncmp(ct, "application/x-protobuf", 22) == 0 && e->resp.body.len) {
    Google__Rpc__Status *s = wire_otlp_decode_status(e->resp.body.data, e->resp.body.len, MAX_RESPONSE_BYTES, NULL,
                                                     NULL);
    if (s) {
      clean_text(msg, sizeof msg, s->message);
      wire_otlp_status_free(s, NULL);
    }
  }
  if (otelc_otlp_http_retryable(st)) {
    ar->outcome = ATTEMPT_RETRY;
    ar->server_delay_ns =
        otelc_otlp_retry_after_parse(wire_headers_get(&e->resp.headers, "retry-after"), (int64_t)time(NULL));
  } else {
    ar->outcome = ATTEMPT_FAIL;
  }
  snprintf(ar->reason, sizeof ar->reason, "HTTP %d %s%s%s", st, wire_http_reason(st), msg[0] ? ": " : "", msg);
}

/* ---- one OTLP/gRPC attempt -------------------------------------------------------------------------- */

static void grpc_attempt(otlp_exporter *e, const otelc_export_batch *b, int64_t deadline_ns, attempt_result *ar) {
  wire_err err;
  wire_err_clear(&err);
  wire_grpc_call call = {
      .path = OTELC_OTLP_GRPC_PATH,
      .metadata = e->cfg.headers.n ? &e->cfg.headers : NULL,
      .request = b->data,
      .request_len = b->len,
      .gzip = e->cfg.gzip,
      .deadline_ns = deadline_ns,
      .user_agent = USER_AGENT,
      .max_response_bytes = MAX_RESPONSE_BYTES,
  };
  wire_grpc_unary(e->client, &call, &e->gres, &err);
  int code = e->gres.code;
  if (code == WIRE_GRPC_OK) {
    ar->outcome = ATTEMPT_OK;
    handle_response_message(e, b, e->gres.response.data, e->gres.response.len);
    return;
  }
  lower_copy(ar->error_type, sizeof ar->error_type, wire_grpc_code_name(code));
  bool retry = wire_grpc_otlp_retryable(code, e->gres.has_retry_info);
  if (e->gres.local && code == WIRE_GRPC_INTERNAL) retry = false; /* a malformed response: not transient */
  ar->outcome = retry ? ATTEMPT_RETRY : ATTEMPT_FAIL;
  ar->server_delay_ns = e->gres.has_retry_info ? e->gres.retry_delay_ns : -1;
  char msg[161];
  clean_text(msg, sizeof msg, e->gres.message);
  snprintf(ar->reason, sizeof ar->reason, "gRPC %s%s%s%s", wire_grpc_code_name(code), msg[0] ? ": " : "", msg,
           e->gres.has_retry_info ? " (with RetryInfo)" : "");
}

/* ---- the exporter interface ------------------------------------------------------------------------- */

static otelc_export_result otlp_export(otelc_exporter *self, const otelc_export_batch *b, int64_t deadline_ns) {
  otlp_exporter *e = self->user;
  if (e->shut_down || !e->client) return OTELC_EXPORT_FAILURE;
  int64_t start = wire_now_ns();
  int64_t dl = start + e->cfg.timeout_ms * 1000000LL;
  if (deadline_ns > 0 && deadline_ns < dl) dl = deadline_ns;
  wire_buf_reset(&e->gz);

  for (int attempt = 1;; attempt++) {
    attempt_result ar = {.outcome = ATTEMPT_FAIL, .server_delay_ns = -1};
    if (e->cfg.protocol == OTELC_OTLP_GRPC) grpc_attempt(e, b, dl, &ar);
    else http_attempt(e, b, dl, &ar);
    if (ar.outcome == ATTEMPT_OK) {
      if (attempt > 1)
        OTELC_INFO("otlp exporter (%s %s): export succeeded after %d attempts", e->proto_name, e->target, attempt);
      return OTELC_EXPORT_SUCCESS;
    }
    otelc_health_add(b->provider, OTELC_HEALTH_EXPORT_ERRORS, 1, ar.error_type);
    if (ar.outcome == ATTEMPT_FAIL) {
      OTELC_WARN("otlp exporter (%s %s): export of %zu points failed, not retryable: %s", e->proto_name, e->target,
                 b->n_points, ar.reason);
      return OTELC_EXPORT_FAILURE;
    }
    int64_t wait = ar.server_delay_ns >= 0
                       ? ar.server_delay_ns
                       : otelc_otlp_backoff_ns(attempt, e->cfg.backoff_initial_ms, e->cfg.backoff_max_ms, &e->rng);
    int64_t now = wire_now_ns();
    if (now + wait + MIN_ATTEMPT_NS >= dl) {
      OTELC_WARN("otlp exporter (%s %s): export of %zu points failed after %d attempt%s: %s; %s", e->proto_name,
                 e->target, b->n_points, attempt, attempt == 1 ? "" : "s", ar.reason,
                 ar.server_delay_ns >= 0 ? "the server asked to wait past the export deadline"
                                         : "no time left before the export deadline");
      return OTELC_EXPORT_RETRYABLE;
    }
    OTELC_WARN("otlp exporter (%s %s): attempt %d failed: %s; retrying in %lld ms", e->proto_name, e->target,
               attempt, ar.reason, (long long)(wait / 1000000));
    otelc_health_add(b->provider, OTELC_HEALTH_EXPORT_RETRIES, 1, ar.error_type);
    if (!backoff_wait(b->provider, now + wait)) {
      OTELC_INFO("otlp exporter (%s %s): retry abandoned: the provider is shutting down", e->proto_name, e->target);
      return OTELC_EXPORT_RETRYABLE;
    }
  }
}

static void otlp_shutdown(otelc_exporter *self, int64_t deadline_ns) {
  (void)deadline_ns;
  otlp_exporter *e = self->user;
  e->shut_down = true;
  if (e->client) {
    wire_client_free(e->client); /* closes the connection (TLS close_notify included) */
    e->client = NULL;
  }
}

/* The exporter's connection to its endpoint (made at creation, and again in a forked child). */
static wire_client *new_client(const otlp_exporter *e, wire_err *err) {
  wire_client_config cc = {
      .endpoint = e->cfg.endpoint,
      .default_port = e->cfg.default_port,
      .tls = &e->tls,
      .force_tls = e->cfg.tls,
      .force_plaintext = !e->cfg.tls,
      .proto = e->cfg.protocol == OTELC_OTLP_GRPC ? WIRE_CLIENT_H2 : WIRE_CLIENT_AUTO,
      .max_response_bytes = MAX_RESPONSE_BYTES,
  };
  return wire_client_new(&cc, err);
}

static void otlp_after_fork_child(otelc_exporter *self) {
  otlp_exporter *e = self->user;
  e->pid = getpid();
  e->rng ^= (uint64_t)e->pid * 0x9E3779B97F4A7C15ull;
  if (!e->client) return;
  /* The connection and its TLS session belong to the parent: close our copy of the fd, send nothing. */
  wire_client_abandon(e->client);
  if (e->shut_down) return;
  wire_err err;
  e->client = new_client(e, &err);
  if (!e->client) OTELC_ERROR("otlp exporter (%s %s): after fork: %s", e->proto_name, e->target, err.msg);
}

static void otlp_destroy(otelc_exporter *self) {
  otlp_exporter *e = self->user;
  if (e->client) wire_client_free(e->client);
  wire_http_request_free(&e->req);
  wire_http_response_free(&e->resp);
  wire_buf_free(&e->gz);
  wire_grpc_result_free(&e->gres);
  otelc_otlp_config_free(&e->cfg);
  free(e);
}

static int build_http_request(otlp_exporter *e, wire_err *err) {
  static const char *const reserved[] = {"content-type", "content-length", "content-encoding", "host",
                                         "transfer-encoding", "connection", "te", "upgrade"};
  wire_http_request_init(&e->req, 64 * 1024, 0);
  if (wire_http_request_set_target(&e->req, "POST", e->cfg.http_path, NULL, err) < 0) return -1;
  e->req.version = WIRE_HTTP_11;
  wire_headers *h = &e->req.headers;
  if (wire_headers_add_cstr(h, "content-type", "application/x-protobuf", err) < 0 ||
      wire_headers_add_cstr(h, "user-agent", USER_AGENT, err) < 0 ||
      (e->cfg.gzip && wire_headers_add_cstr(h, "content-encoding", "gzip", err) < 0))
    return -1;
  for (size_t i = 0; i < e->cfg.headers.n; i++) {
    const wire_header *x = &e->cfg.headers.v[i];
    bool skip = x->name[0] == ':';
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0] && !skip; k++) skip = !strcmp(x->name, reserved[k]);
    if (skip) continue;
    if (!strcmp(x->name, "user-agent")) {
      if (wire_headers_set(h, x->name, x->value, err) < 0) return -1;
    } else if (wire_headers_add(h, x->name, x->name_len, x->value, x->value_len, err) < 0) {
      return -1;
    }
  }
  return 0;
}

otelc_exporter *otelc_otlp_exporter_create(const otelc_otlp_options *opts) {
  otelc_log_init_from_env();
  otlp_exporter *e = calloc(1, sizeof *e);
  if (!e) {
    OTELC_ERROR("otlp exporter: out of memory");
    return NULL;
  }
  e->base.user = e;
  char why[300];
  if (otelc_otlp_config_resolve(opts, &e->cfg, why, sizeof why) < 0) {
    OTELC_ERROR("otlp exporter: %s; metrics are not exported", why);
    free(e);
    return NULL;
  }
  bool grpc = e->cfg.protocol == OTELC_OTLP_GRPC;
  e->proto_name = grpc ? "grpc" : "http/protobuf";
  const wire_endpoint *ep = &e->cfg.ep;
  if (ep->is_unix) {
    snprintf(e->target, sizeof e->target, "unix:%s%s", ep->host, grpc ? "" : e->cfg.http_path);
  } else {
    char auth[300];
    wire_endpoint_authority(ep, auth, sizeof auth);
    const char *path = grpc ? "" : e->cfg.http_path;
    size_t plen = strcspn(path, "?");
    snprintf(e->target, sizeof e->target, "%s://%s%.*s", e->cfg.tls ? "https" : "http", auth, (int)plen, path);
  }
  e->tls.ca_file = e->cfg.certificate;
  e->tls.cert_file = e->cfg.client_certificate;
  e->tls.key_file = e->cfg.client_key;
  wire_http_response_init(&e->resp, 64 * 1024, MAX_RESPONSE_BYTES);
  wire_buf_init(&e->gz, 0);
  wire_grpc_result_init(&e->gres);
  e->pid = getpid();
  e->rng = (uint64_t)wire_now_ns() ^ ((uint64_t)e->pid << 32) ^ (uint64_t)(uintptr_t)e;
  if (!e->rng) e->rng = 1;

  wire_err err;
  wire_err_clear(&err);
  if (!grpc && build_http_request(e, &err) < 0) {
    OTELC_ERROR("otlp exporter (%s %s): %s; metrics are not exported", e->proto_name, e->target, err.msg);
    otlp_destroy(&e->base);
    return NULL;
  }
  e->client = new_client(e, &err);
  if (!e->client) {
    OTELC_ERROR("otlp exporter (%s %s): %s; metrics are not exported", e->proto_name, e->target, err.msg);
    otlp_destroy(&e->base);
    return NULL;
  }
  e->base.name = grpc ? "otlp-grpc" : "otlp-http";
  e->base.export_batch = otlp_export;
  e->base.shutdown = otlp_shutdown;
  e->base.destroy = otlp_destroy;
  e->base.after_fork_child = otlp_after_fork_child;
  e->base.user = e;
  OTELC_DEBUG("otlp exporter: %s to %s (endpoint from %s, timeout %lld ms, compression %s, %zu extra headers)",
              e->proto_name, e->target, e->cfg.endpoint_source, (long long)e->cfg.timeout_ms,
              e->cfg.gzip ? "gzip" : "none", e->cfg.headers.n);
  return &e->base;
}

/* The hook exporter_select.c calls for OTEL_METRICS_EXPORTER=otlp. */
otelc_exporter *otelc_otlp_exporter_from_env(void);
otelc_exporter *otelc_otlp_exporter_from_env(void) { return otelc_otlp_exporter_create(NULL); }
