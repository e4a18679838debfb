/* otlp.c — the `otlp` (gRPC) and `otlphttp` exporters: batches from the pipeline go into a bounded sending_queue
 * (persisted on disk with sending_queue.storage), consumer threads encode them and send them with their own
 * wire_client, retrying per retry_on_failure (see otlp.h, sending_queue.h, persistent_queue.h).
 *
 * The loop thread (consume_metrics) only takes a reference and pushes it: encoding, compression and the network
 * happen on the consumers. With a persistent queue the batch is encoded and written to disk before consume
 * returns (the promise is that an accepted batch survives a restart), then released: memory holds only ids.
 *
 * A batch that still has its raw form (the bytes the receiver got, merged or split by the batch processor without
 * decoding; pipeline.h) is not encoded at all: one range is sent as it is (no copy), several are gathered into
 * one buffer (one copy), and the persistent queue writes them with writev. Only otlphttp's JSON encoding and
 * batches changed by a processor go through protobuf-c.
 *
 * What is logged: the endpoint (scheme://host:port/path, no query string), HTTP statuses, gRPC codes, wire error
 * texts (which never hold payloads) and the server's own diagnostic text cleaned to printable ASCII and cut at
 * 160 bytes. Header values are never logged. */
#define _GNU_SOURCE /* strptime, timegm */
#include "receiver/exporters/otlp.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "receiver/config/components/extensions.h"
#include "receiver/config/components/otlp_exporters.h"
#include "receiver/exporters/persistent_queue.h"
#include "receiver/exporters/sending_queue.h"
#include "receiver/pipeline.h"
#include "receiver/runtime/tls_config.h"
#include "wire/clock.h"
#include "wire/endpoint.h"
#include "wire/grpc.h"
#include "wire/grpc_client.h"
#include "wire/gzip.h"
#include "wire/http_client.h"
#include "wire/otlp.h"
#include "wire/otlp_json.h"

#define USER_AGENT "otelc-receiver (OTLP exporter)"
#define GRPC_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define MAX_RESPONSE_BYTES (1u << 20)
#define PARTIAL_LOG_INTERVAL_NS 1000000000LL

typedef struct otlp_exp {
  bool grpc;
  char *id;
  component_host *host;
  /* resolved configuration */
  char *endpoint;     /* what wire_client connects to */
  char *http_path;    /* OTLP/HTTP request target */
  char target[320];   /* for logs */
  bool tls_on;
  const tls_client_config *tlscfg;
  wire_tls_config tls;
  wire_headers headers; /* user headers (values secret) */
  bool gzip, json;
  int64_t timeout_ns;
  retry_config retry;
  queue_config queue;
  char *authenticator;  /* auth.authenticator id, or NULL */
  component_auth *auth; /* resolved at start */
  /* runtime */
  sending_queue *q;
  persistent_queue *pq;
  wire_buf pq_buf;    /* loop thread: encoding for the persistent queue */
  _Atomic int64_t partial_last_ns;
  _Atomic uint64_t partial_suppressed;
  bool started, shut_down;
  pthread_t drain_thread; /* asynchronous shutdown (host->hold/release) */
  bool drain_started;
} otlp_exp;

typedef struct otlp_worker {
  otlp_exp *e;
  wire_client *client;
  wire_http_request req; /* OTLP/HTTP: built once; the body is borrowed per attempt */
  wire_http_response resp;
  wire_grpc_result gres;
  wire_headers md;       /* OTLP/gRPC metadata: the configured headers plus the authenticator's */
  wire_headers authh;    /* scratch: the authenticator's headers for one attempt */
  wire_buf enc;          /* the encoded request (protobuf, or JSON for otlphttp encoding: json) */
  const uint8_t *payload; /* what is sent for the current item: enc's bytes, or a batch's raw bytes */
  size_t payload_len;
  wire_buf gz;           /* its gzip form (OTLP/HTTP) */
  otlp_arena arena;      /* decoding records read back from disk when they must be re-encoded as JSON */
} otlp_worker;

/* ---- helpers --------------------------------------------------------------------------------------- */

static void xlog(otlp_exp *e, log_level level, const char *msg, const char *k1, const char *v1, const char *k2,
                 const char *v2) {
  if (!e->host || !e->host->log) return;
  e->host->log(e->host, level, e->id, msg, k1, v1, k2, v2, (char *)NULL);
}

/* Copies a server-supplied diagnostic as printable ASCII, at most 160 bytes. */
static void clean_text(char *out, size_t out_len, const char *in) {
  size_t o = 0, limit = out_len < 161 ? out_len - 1 : 160;
  for (const char *p = in ? in : ""; *p && o < limit; p++) {
    unsigned char c = (unsigned char)*p;
    out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  out[o] = 0;
}

static bool starts_with_ci(const char *s, const char *prefix) { return strncasecmp(s, prefix, strlen(prefix)) == 0; }

/* Transport failures worth another attempt: the backend may come back (the Collector's gRPC client reports all
 * of these as UNAVAILABLE). */
static bool transport_retryable(wire_err_code c) {
  return c == WIRE_E_IO || c == WIRE_E_TIMEOUT || c == WIRE_E_DNS || c == WIRE_E_CLOSED || c == WIRE_E_NOMEM ||
         c == WIRE_E_TLS || c == WIRE_E_PROTOCOL;
}

/* Headers the exporter sets itself (or the transport does): user values for these are ignored. */
static bool reserved_header(const char *name) {
  static const char *const reserved[] = {"content-type", "content-length", "content-encoding", "host",
                                         "transfer-encoding", "connection", "te", "upgrade", "grpc-timeout",
                                         "grpc-encoding", "grpc-accept-encoding", "keep-alive"};
  if (name[0] == ':') return true;
  for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
    if (!strcasecmp(name, reserved[k])) return true;
  return false;
}

/* Logs (at most once a second) and counts a partial success found in an ExportMetricsServiceResponse. */
static void handle_response(otlp_exp *e, const sq_item *it, const uint8_t *data, size_t len, bool json) {
  if (len == 0) return;
  wire_err err;
  otlp_response *r = json ? wire_otlp_json_decode_response(data, len, MAX_RESPONSE_BYTES, 0, NULL, &err)
                          : wire_otlp_decode_response(data, len, MAX_RESPONSE_BYTES, NULL, &err);
  if (!r) return; /* a success with an unreadable body: the data was accepted */
  const otlp_partial_success *ps = r->partial_success;
  if (ps && (ps->rejected_data_points > 0 || (ps->error_message && ps->error_message[0]))) {
    if (ps->rejected_data_points > 0 && e->host && e->host->count)
      e->host->count(e->host, "otelcol_exporter_send_failed_metric_points", e->id, (uint64_t)ps->rejected_data_points);
    int64_t now = wire_now_ns(), last = atomic_load(&e->partial_last_ns);
    if ((last == 0 || now - last >= PARTIAL_LOG_INTERVAL_NS) &&
        atomic_compare_exchange_strong(&e->partial_last_ns, &last, now)) {
      char msg[161], rej[64], sup[32];
      clean_text(msg, sizeof msg, ps->error_message);
      snprintf(rej, sizeof rej, "%lld of %" PRIu64, (long long)ps->rejected_data_points, it->points);
      uint64_t s = atomic_exchange(&e->partial_suppressed, 0);
      snprintf(sup, sizeof sup, "%" PRIu64, s);
      if (e->host && e->host->log)
        e->host->log(e->host, LOG_WARN, e->id, "Partial success response", "message", msg[0] ? msg : "(none)",
                     "dropped_data_points", rej, s ? "similar_lines_suppressed" : (char *)NULL, sup, (char *)NULL);
    } else {
      atomic_fetch_add(&e->partial_suppressed, 1);
    }
  }
  wire_otlp_response_free(r, NULL);
}

/* ---- workers (one per consumer thread) -------------------------------------------------------------- */

static int build_http_request(otlp_exp *e, wire_http_request *req, wire_err *err) {
  wire_http_request_init(req, 64 * 1024, 0);
  if (wire_http_request_set_target(req, "POST", e->http_path, NULL, err) < 0) return -1;
  req->version = WIRE_HTTP_11;
  wire_headers *h = &req->headers;
  if (wire_headers_add_cstr(h, "content-type", e->json ? "application/json" : "application/x-protobuf", err) < 0 ||
      wire_headers_add_cstr(h, "user-agent", USER_AGENT, err) < 0 ||
      (e->gzip && wire_headers_add_cstr(h, "content-encoding", "gzip", err) < 0))
    return -1;
  for (size_t i = 0; i < e->headers.n; i++) {
    const wire_header *x = &e->headers.v[i];
    if (!strcmp(x->name, "user-agent")) {
      if (wire_headers_set(h, x->name, x->value, err) < 0) return -1;
    } else if (wire_headers_add(h, x->name, x->name_len, x->value, x->value_len, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static void worker_free(void *ctx, void *wp) {
  (void)ctx;
  otlp_worker *w = wp;
  if (!w) return;
  if (w->client) wire_client_free(w->client);
  wire_http_request_free(&w->req);
  wire_http_response_free(&w->resp);
  wire_grpc_result_free(&w->gres);
  wire_headers_free(&w->md);
  wire_headers_free(&w->authh);
  wire_buf_free(&w->enc);
  wire_buf_free(&w->gz);
  otlp_arena_free(&w->arena);
  free(w);
}

static void *worker_new(void *ctx, unsigned index, wire_err *err) {
  (void)index;
  otlp_exp *e = ctx;
  otlp_worker *w = calloc(1, sizeof *w);
  if (!w) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", e->id);
    return NULL;
  }
  w->e = e;
  wire_http_request_init(&w->req, 64 * 1024, 0);
  wire_http_response_init(&w->resp, 64 * 1024, MAX_RESPONSE_BYTES);
  wire_grpc_result_init(&w->gres);
  wire_headers_init(&w->md, 0, 0);
  wire_headers_init(&w->authh, 64 * 1024, 64);
  wire_buf_init(&w->enc, 0);
  wire_buf_init(&w->gz, 0);
  otlp_arena_init(&w->arena, 0);
  if (e->grpc && wire_headers_copy(&w->md, &e->headers, err) < 0) {
    worker_free(e, w);
    return NULL;
  }
  if (!e->grpc) {
    wire_http_request_free(&w->req);
    if (build_http_request(e, &w->req, err) < 0) {
      wire_err_prefix(err, "%s: ", e->id);
      worker_free(e, w);
      return NULL;
    }
  }
  wire_client_config cc = {
      .endpoint = e->endpoint,
      .default_port = e->grpc ? 4317 : (e->tls_on ? 443 : 80),
      .tls = &e->tls,
      .force_tls = e->tls_on,
      .force_plaintext = !e->tls_on,
      .proto = e->grpc ? WIRE_CLIENT_H2 : WIRE_CLIENT_AUTO,
      .max_response_bytes = MAX_RESPONSE_BYTES,
  };
  w->client = wire_client_new(&cc, err);
  if (!w->client) {
    wire_err_prefix(err, "%s: ", e->id);
    worker_free(e, w);
    return NULL;
  }
  return w;
}

/* Encodes the item's request once, before its first attempt. */
static int worker_prepare(void *ctx, void *wp, sq_item *it, wire_err *err) {
  otlp_exp *e = ctx;
  otlp_worker *w = wp;
  wire_buf_reset(&w->enc);
  wire_buf_reset(&w->gz);
  w->payload = NULL;
  w->payload_len = 0;
  component_metrics *m = it->data;
  if (m && !e->json && metrics_has_raw(m)) {
    const struct iovec *parts;
    size_t nparts, len = metrics_raw(m, &parts, &nparts);
    if (nparts == 1) { /* the received bytes as they are: the batch stays referenced until finish() */
      w->payload = parts[0].iov_base;
      w->payload_len = len;
    } else if (metrics_raw_copy(m, &w->enc, err) < 0) {
      return -1;
    }
  } else if (m) {
    otlp_request *req = metrics_request(m, err);
    if (!req) {
      if (!metrics_has_raw(m)) wire_err_set(err, WIRE_E_INVALID, "%s: a batch without data", e->id);
      return -1;
    }
    int rc = e->json ? wire_otlp_json_encode_request(req, &w->enc, err) : wire_otlp_encode_request(req, &w->enc, err);
    if (rc < 0) return -1;
  } else {
    /* a record of the persistent queue: protobuf on disk */
    if (pq_read(e->pq, it->id, &w->enc, NULL, err) < 0) return -1;
    if (e->json) {
      otlp_arena_reset(&w->arena);
      otlp_request *req = wire_otlp_decode_request(w->enc.data, w->enc.len, 0, &w->arena, err);
      if (!req) return -1;
      wire_buf_reset(&w->gz);
      if (wire_otlp_json_encode_request(req, &w->gz, err) < 0) return -1;
      wire_buf tmp = w->enc;
      w->enc = w->gz;
      w->gz = tmp;
      wire_buf_reset(&w->gz);
      otlp_arena_reset(&w->arena);
    }
  }
  if (!w->payload) {
    w->payload = w->enc.data;
    w->payload_len = w->enc.len;
  }
  if (!e->grpc && e->gzip && wire_gzip_compress(w->payload, w->payload_len, -1, &w->gz, err) < 0) return -1;
  return 0;
}

static void http_attempt(otlp_exp *e, otlp_worker *w, sq_item *it, int64_t deadline_ns, sq_attempt *out) {
  wire_err err;
  wire_err_clear(&err);
  const uint8_t *body = e->gzip ? w->gz.data : w->payload;
  size_t body_len = e->gzip ? w->gz.len : w->payload_len;
  /* Borrow the body: the request never owns it (restored before anything can free it). */
  w->req.body.data = (uint8_t *)body;
  w->req.body.len = body_len;
  w->req.body.cap = body_len;
  wire_http_response_reset(&w->resp);
  int rc = wire_client_do(w->client, &w->req, &w->resp, deadline_ns, &err);
  w->req.body.data = NULL;
  w->req.body.len = w->req.body.cap = 0;
  if (rc < 0) {
    out->outcome = transport_retryable(err.code) ? SQ_RETRYABLE : SQ_PERMANENT;
    snprintf(out->reason, sizeof out->reason, "%s: %s", e->target, err.msg);
    return;
  }
  int st = w->resp.status;
  const char *ct = wire_headers_get(&w->resp.headers, "content-type");
  if (st >= 200 && st < 300) {
    out->outcome = SQ_SENT;
    bool json = ct && starts_with_ci(ct, "application/json");
    if (json || !ct || starts_with_ci(ct, "application/x-protobuf"))
      handle_response(e, it, w->resp.body.data, w->resp.body.len, json);
    return;
  }
  /* The body of an OTLP/HTTP failure is a google.rpc.Status; its message is the server's explanation. */
  char msg[161] = "";
  if (ct && starts_with_ci(ct, "application/x-protobuf") && w->resp.body.len) {
    Google__Rpc__Status *s =
        wire_otlp_decode_status(w->resp.body.data, w->resp.body.len, MAX_RESPONSE_BYTES, NULL, NULL);
    if (s) {
      clean_text(msg, sizeof msg, s->message);
      wire_otlp_status_free(s, NULL);
    }
  }
  bool retry = st == 429 || st == 502 || st == 503 || st == 504;
  out->outcome = retry ? SQ_RETRYABLE : SQ_PERMANENT;
  if (retry) out->retry_after_ns = wire_http_retry_after_ns(wire_headers_get(&w->resp.headers, "retry-after"), (int64_t)time(NULL));
  snprintf(out->reason, sizeof out->reason, "%s: HTTP %d %s%s%s", e->target, st, wire_http_reason(st),
           msg[0] ? ": " : "", msg);
}

static void grpc_attempt(otlp_exp *e, otlp_worker *w, sq_item *it, int64_t deadline_ns, sq_attempt *out) {
  wire_err err;
  wire_err_clear(&err);
  wire_grpc_result_free(&w->gres);
  wire_grpc_result_init(&w->gres);
  wire_grpc_call call = {
      .path = GRPC_PATH,
      .metadata = w->md.n ? &w->md : NULL,
      .request = w->payload,
      .request_len = w->payload_len,
      .gzip = e->gzip,
      .deadline_ns = deadline_ns,
      .user_agent = USER_AGENT,
      .max_response_bytes = MAX_RESPONSE_BYTES,
  };
  wire_grpc_unary(w->client, &call, &w->gres, &err);
  int code = w->gres.code;
  if (code == WIRE_GRPC_OK) {
    out->outcome = SQ_SENT;
    handle_response(e, it, w->gres.response.data, w->gres.response.len, false);
    return;
  }
  bool retry = wire_grpc_otlp_retryable(code, w->gres.has_retry_info);
  if (w->gres.local && code == WIRE_GRPC_INTERNAL) retry = false; /* a malformed response: not transient */
  if (w->gres.local && code == WIRE_GRPC_UNAVAILABLE) retry = transport_retryable(err.code);
  out->outcome = retry ? SQ_RETRYABLE : SQ_PERMANENT;
  out->retry_after_ns = w->gres.has_retry_info ? w->gres.retry_delay_ns : -1;
  char msg[161];
  clean_text(msg, sizeof msg, w->gres.local ? err.msg : w->gres.message);
  snprintf(out->reason, sizeof out->reason, "%s: gRPC %s%s%s%s", e->target, wire_grpc_code_name(code),
           msg[0] ? ": " : "", msg, w->gres.has_retry_info ? " (with RetryInfo)" : "");
}

/* Adds the authenticator's credential headers (fresh for each attempt: a token file may change). */
static int add_auth_headers(otlp_exp *e, otlp_worker *w, wire_headers *dst, sq_attempt *out) {
  if (!e->auth) return 0;
  wire_err err;
  wire_err_clear(&err);
  wire_headers_reset(&w->authh);
  int rc = e->auth->client_headers(e->auth, &w->authh, &err);
  for (size_t i = 0; rc == 0 && i < w->authh.n; i++)
    rc = wire_headers_set(dst, w->authh.v[i].name, w->authh.v[i].value, &err);
  if (rc < 0) {
    out->outcome = SQ_RETRYABLE; /* e.g. a token file being rewritten */
    snprintf(out->reason, sizeof out->reason, "%s: authenticator %s: %s", e->target, e->authenticator, err.msg);
    return -1;
  }
  return 0;
}

static void worker_attempt(void *ctx, void *wp, sq_item *it, int64_t deadline_ns, sq_attempt *out) {
  otlp_exp *e = ctx;
  otlp_worker *w = wp;
  if (add_auth_headers(e, w, e->grpc ? &w->md : &w->req.headers, out) < 0) return;
  if (e->grpc) grpc_attempt(e, wp, it, deadline_ns, out);
  else http_attempt(e, wp, it, deadline_ns, out);
}

static void worker_finish(void *ctx, void *wp, sq_item *it, sq_fate fate) {
  (void)wp;
  otlp_exp *e = ctx;
  if (it->data) metrics_unref(it->data);
  it->data = NULL;
  if (e->pq && fate != SQ_FATE_UNSENT) pq_remove(e->pq, it->id);
}

static const sq_ops otlp_queue_ops = {
    .worker_new = worker_new,
    .worker_free = worker_free,
    .prepare = worker_prepare,
    .attempt = worker_attempt,
    .finish = worker_finish,
};

/* ---- configuration ------------------------------------------------------------------------------------ */

static void exp_free(otlp_exp *e) {
  if (!e) return;
  sending_queue_free(e->q);
  pq_close(e->pq);
  wire_buf_free(&e->pq_buf);
  wire_headers_free(&e->headers);
  free(e->endpoint);
  free(e->http_path);
  free(e->authenticator);
  free(e->id);
  free(e);
}

/* Resolves TLS, headers and the common knobs shared by both exporters. */
static int setup_common(otlp_exp *e, const tls_client_config *tls, const cfg_strmap *headers, int compression,
                        int64_t timeout, const auth_config *auth, const retry_config *retry,
                        const queue_config *queue, wire_err *err) {
  if (auth && auth->authenticator && auth->authenticator[0] && !(e->authenticator = strdup(auth->authenticator)))
    return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", e->id);
  e->tlscfg = tls;
  if (rt_tls_client_config(tls, e->id, &e->tls, err) < 0) return -1; /* (recvops: inline PEM, versions, ...) */
  e->gzip = compression == COMPRESSION_GZIP;
  e->timeout_ns = timeout > 0 ? timeout : 5LL * 1000000000LL;
  e->retry = *retry;
  e->queue = *queue;
  wire_headers_init(&e->headers, 0, 0);
  for (size_t i = 0; i < headers->n; i++) {
    const cfg_kv *kv = &headers->v[i];
    if (!kv->key || !kv->value || reserved_header(kv->key)) continue;
    if (wire_headers_add_cstr(&e->headers, kv->key, kv->value, err) < 0) {
      wire_err_prefix(err, "%s: header: ", e->id);
      return -1;
    }
  }
  return 0;
}

static void make_target(otlp_exp *e) {
  wire_endpoint ep;
  if (wire_endpoint_parse(e->endpoint, e->grpc ? 4317 : (e->tls_on ? 443 : 80), &ep, NULL) < 0) {
    snprintf(e->target, sizeof e->target, "(endpoint)");
    return;
  }
  char auth[300];
  wire_endpoint_authority(&ep, auth, sizeof auth);
  const char *path = e->grpc ? "" : e->http_path;
  size_t plen = strcspn(path, "?");
  if (ep.is_unix) snprintf(e->target, sizeof e->target, "unix:%s%.*s", ep.host, (int)plen, path);
  else snprintf(e->target, sizeof e->target, "%s://%s%.*s", e->tls_on ? "https" : "http", auth, (int)plen, path);
}

static int create_common(const component_create_args *args, bool grpc, otlp_exp **out, wire_err *err) {
  otlp_exp *e = calloc(1, sizeof *e);
  if (!e) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  e->grpc = grpc;
  e->host = args->host;
  e->id = strdup(args->id ? args->id : (grpc ? "otlp" : "otlphttp"));
  wire_buf_init(&e->pq_buf, 0);
  if (!e->id) {
    exp_free(e);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  }
  *out = e;
  return 0;
}

static int otlp_create(const component_create_args *args, void **state, wire_err *err) {
  const otlp_exporter_config *c = args->config;
  otlp_exp *e;
  if (create_common(args, true, &e, err) < 0) return -1;
  if (setup_common(e, &c->tls, &c->headers, c->compression, c->timeout, c->auth, &c->retry_on_failure,
                   &c->sending_queue, err) < 0)
    goto fail;
  if (!c->endpoint || !c->endpoint[0]) {
    wire_err_set(err, WIRE_E_INVALID, "%s: endpoint is required", e->id);
    goto fail;
  }
  /* gRPC endpoints are host:port with TLS unless tls.insecure; an http:// scheme means plaintext too */
  e->tls_on = !c->tls.insecure && !starts_with_ci(c->endpoint, "http://");
  e->endpoint = strdup(c->endpoint);
  if (!e->endpoint) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", e->id);
    goto fail;
  }
  wire_endpoint ep;
  if (wire_endpoint_parse(e->endpoint, 4317, &ep, err) < 0) {
    wire_err_prefix(err, "%s: ", e->id);
    goto fail;
  }
  if (c->authority && c->authority[0])
    xlog(e, LOG_WARN, "authority is not supported; the endpoint's host:port is sent as :authority", NULL, NULL,
         NULL, NULL);
  make_target(e);
  *state = e;
  return 0;
fail:
  exp_free(e);
  return -1;
}

static int otlphttp_create(const component_create_args *args, void **state, wire_err *err) {
  const otlphttp_exporter_config *c = args->config;
  otlp_exp *e;
  if (create_common(args, false, &e, err) < 0) return -1;
  if (setup_common(e, &c->tls, &c->headers, c->compression, c->timeout, c->auth, &c->retry_on_failure,
                   &c->sending_queue, err) < 0)
    goto fail;
  e->json = c->encoding == OTLP_ENCODING_JSON;
  const char *url = c->metrics_endpoint && c->metrics_endpoint[0] ? c->metrics_endpoint : c->endpoint;
  if (!url || !url[0]) {
    wire_err_set(err, WIRE_E_INVALID, "%s: endpoint or metrics_endpoint is required", e->id);
    goto fail;
  }
  if (c->proxy_url && c->proxy_url[0])
    xlog(e, LOG_WARN, "proxy_url is not supported; connecting directly", NULL, NULL, NULL, NULL);
  e->tls_on = starts_with_ci(url, "https://");
  wire_endpoint ep;
  if (wire_endpoint_parse(url, e->tls_on ? 443 : 80, &ep, err) < 0) {
    wire_err_prefix(err, "%s: ", e->id);
    goto fail;
  }
  e->endpoint = strdup(url);
  size_t plen = strlen(ep.path);
  e->http_path = malloc(plen + sizeof "/v1/metrics" + 1);
  if (!e->endpoint || !e->http_path) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", e->id);
    goto fail;
  }
  if (url == c->metrics_endpoint) {
    snprintf(e->http_path, plen + 2, "%s", plen ? ep.path : "/");
  } else {
    /* base URL: <path without trailing slashes>/v1/metrics (the query string, if any, is not kept) */
    size_t n = strcspn(ep.path, "?");
    while (n > 0 && ep.path[n - 1] == '/') n--;
    snprintf(e->http_path, plen + sizeof "/v1/metrics" + 1, "%.*s/v1/metrics", (int)n, ep.path);
  }
  make_target(e);
  *state = e;
  return 0;
fail:
  exp_free(e);
  return -1;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------ */

static int otlp_start(void *state, wire_err *err) {
  otlp_exp *e = state;
  if (e->started) return 0;
  if (e->authenticator) {
    e->auth = e->host && e->host->auth ? e->host->auth(e->host, e->authenticator) : NULL;
    if (!e->auth || !e->auth->client_headers)
      return wire_err_set(err, WIRE_E_INVALID, "%s: auth.authenticator: extension %s is not a running client "
                                               "authenticator", e->id, e->authenticator);
  }
  if (e->tls_on && e->tlscfg->insecure_skip_verify)
    xlog(e, LOG_WARN, "tls.insecure_skip_verify is set: the server certificate is not verified", "endpoint",
         e->target, NULL, NULL);

  const queue_config *qc = &e->queue;
  sq_config sc = {
      .id = e->id,
      .host = e->host,
      .capacity = qc->enabled ? (uint64_t)(qc->queue_size > 0 ? qc->queue_size : 1) : 0,
      .num_consumers = (unsigned)(qc->num_consumers > 0 ? qc->num_consumers : 1),
      .attempt_timeout_ns = e->timeout_ns,
      .retry_enabled = e->retry.enabled,
      .initial_interval_ns = e->retry.initial_interval,
      .max_interval_ns = e->retry.max_interval,
      .max_elapsed_ns = e->retry.max_elapsed_time,
      .multiplier = e->retry.multiplier,
      .randomization_factor = e->retry.randomization_factor,
  };
  if (!qc->enabled) {
    /* No queue in the Collector means the caller waits for the export; the loop never waits here, so the
     * smallest queue stands in: one request per consumer, refusals (backpressure) beyond. */
    sc.capacity = sc.num_consumers;
    e->queue.sizer = QUEUE_SIZER_REQUESTS;
  }
  if (qc->enabled && qc->block_on_overflow)
    xlog(e, LOG_WARN, "sending_queue.block_on_overflow is not supported (the pipeline never blocks); a full queue "
                      "refuses with a retryable error",
         NULL, NULL, NULL, NULL);

  if (qc->enabled && qc->storage && qc->storage[0]) {
    const file_storage_config *fs =
        e->host && e->host->extension ? e->host->extension(e->host, qc->storage) : NULL;
    if (!fs || !fs->directory)
      return wire_err_set(err, WIRE_E_INVALID, "%s: sending_queue.storage: extension %s is not running", e->id,
                          qc->storage);
    e->pq = pq_open(fs->directory, e->id, fs->fsync, e->host, e->id, err);
    if (!e->pq) return -1;
    sc.unsent_kept = true;
  }
  e->q = sending_queue_new(&sc, &otlp_queue_ops, e, err);
  if (!e->q) return -1;
  if (e->pq) {
    size_t n;
    const pq_record *recs = pq_recovered(e->pq, &n);
    uint64_t points = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t size = e->queue.sizer == QUEUE_SIZER_ITEMS ? recs[i].points
                      : e->queue.sizer == QUEUE_SIZER_BYTES ? recs[i].len
                                                            : 1;
      sq_item it = {.id = recs[i].id, .points = recs[i].points, .size = size};
      if (sending_queue_push(e->q, &it, true, err) < 0) return -1;
      points += recs[i].points;
    }
    if (n) {
      char a[32], b[32];
      snprintf(a, sizeof a, "%zu", n);
      snprintf(b, sizeof b, "%" PRIu64, points);
      xlog(e, LOG_INFO, "persistent queue: resending requests left by the previous run", "requests", a,
           "data_points", b);
    }
  }
  if (sending_queue_start(e->q, err) < 0) return -1;
  e->started = true;
  return 0;
}

static int otlp_consume(void *state, component_metrics *m, wire_err *err) {
  otlp_exp *e = state;
  if (!e->started || e->shut_down || !e->q) {
    metrics_unref(m);
    return wire_err_set(err, WIRE_E_CLOSED, "%s is not running", e->id);
  }
  if (!metrics_has_raw(m) && (!m->req || m->req->n_resource_metrics == 0)) {
    metrics_unref(m);
    return 0;
  }
  uint64_t points = m->points;
  sq_item it = {.data = m, .points = points, .size = 1};
  if (e->queue.sizer == QUEUE_SIZER_ITEMS) it.size = points;
  else if (e->queue.sizer == QUEUE_SIZER_BYTES)
    it.size = metrics_has_raw(m) ? m->raw_len : otlp_arena_reserved(&m->arena);

  if (e->pq) {
    /* Refuse before writing when there is no room, then write, then queue the record id. */
    if (sending_queue_size(e->q) + (it.size ? it.size : 1) > sending_queue_capacity(e->q)) {
      if (e->host && e->host->count)
        e->host->count(e->host, "otelcol_exporter_enqueue_failed_metric_points", e->id, points);
      metrics_unref(m);
      return wire_err_set(err, WIRE_E_LIMIT, "sending queue of %s is full", e->id);
    }
    wire_buf_reset(&e->pq_buf);
    const struct iovec *parts = NULL;
    size_t nparts = 0, record_len = metrics_raw(m, &parts, &nparts);
    int rc;
    if (nparts) { /* the received bytes as they are */
      rc = pq_appendv(e->pq, parts, nparts, points, &it.id, err);
    } else {
      rc = wire_otlp_encode_request(m->req, &e->pq_buf, err);
      if (rc == 0) rc = pq_append(e->pq, e->pq_buf.data, e->pq_buf.len, points, &it.id, err);
      record_len = e->pq_buf.len;
    }
    if (rc < 0) {
      wire_err_prefix(err, "%s: ", e->id);
      if (e->host && e->host->count)
        e->host->count(e->host, "otelcol_exporter_enqueue_failed_metric_points", e->id, points);
      metrics_unref(m);
      if (e->pq_buf.cap > (4u << 20)) { /* do not keep a huge buffer around */
        wire_buf_free(&e->pq_buf);
        wire_buf_init(&e->pq_buf, 0);
      }
      return -1;
    }
    if (e->queue.sizer == QUEUE_SIZER_BYTES) it.size = record_len;
    metrics_unref(m);
    it.data = NULL;
    if (sending_queue_push(e->q, &it, false, err) < 0) {
      pq_remove(e->pq, it.id);
      return -1;
    }
    return 0;
  }
  if (sending_queue_push(e->q, &it, false, err) < 0) {
    metrics_unref(m);
    return -1;
  }
  return 0;
}

/* Drains the queue (bounded by OTLP_EXPORTER_DRAIN_NS) and says what was left. */
static void drain(otlp_exp *e) {
  /* A persistent queue loses nothing by stopping early: what is unsent stays on disk for the next start. */
  size_t left = sending_queue_shutdown(e->q, wire_now_ns() + (e->pq ? OTLP_EXPORTER_PERSISTENT_DRAIN_NS
                                                                    : OTLP_EXPORTER_DRAIN_NS));
  if (!left) return;
  char n[32];
  snprintf(n, sizeof n, "%zu", left);
  if (e->pq)
    xlog(e, LOG_INFO, "shutdown: requests not sent yet stay in the persistent queue for the next start",
         "requests", n, NULL, NULL);
  else
    xlog(e, LOG_WARN, "shutdown: the queue could not be drained in time; requests dropped", "requests", n, NULL,
         NULL);
}

static void *drain_main(void *p) {
  otlp_exp *e = p;
  drain(e);
  e->host->release(e->host);
  return NULL;
}

/* Stops taking batches and drains on a thread of its own (the runtime waits through host->hold/release), so
 * that the loop keeps serving; without hold/release it drains here. */
static int otlp_shutdown(void *state, wire_err *err) {
  (void)err;
  otlp_exp *e = state;
  if (e->shut_down) return 0;
  e->shut_down = true;
  if (!e->q) return 0;
  if (e->host && e->host->hold && e->host->release) {
    e->host->hold(e->host);
    if (pthread_create(&e->drain_thread, NULL, drain_main, e) == 0) {
      e->drain_started = true;
      return 0;
    }
    drain(e);
    e->host->release(e->host);
    return 0;
  }
  drain(e);
  return 0;
}

static void otlp_destroy(void *state) {
  otlp_exp *e = state;
  if (!e) return;
  if (e->drain_started) pthread_join(e->drain_thread, NULL);
  if (e->q) sending_queue_shutdown(e->q, wire_now_ns());
  exp_free(e);
}

const component_hooks otlp_exporter_hooks = {
    .create = otlp_create,
    .start = otlp_start,
    .consume_metrics = otlp_consume,
    .shutdown = otlp_shutdown,
    .destroy = otlp_destroy,
};

const component_hooks otlphttp_exporter_hooks = {
    .create = otlphttp_create,
    .start = otlp_start,
    .consume_metrics = otlp_consume,
    .shutdown = otlp_shutdown,
    .destroy = otlp_destroy,
};
