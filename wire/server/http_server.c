/* http_server.c — the server front: one listener, HTTP/1.1 and HTTP/2 drivers attached per connection, and
 * the exchange object that carries one request to the handler and its response back (see http_server.h).
 *
 * The front owns what both protocols share: limits and their defaults, Content-Encoding decoding (so every
 * handler sees plain bodies, and a gzip bomb is stopped at max_decompressed_bytes), the handler call, and the
 * setup of streamed responses (the body itself moves through body_stream.c and the driver). */
#define _GNU_SOURCE /* strcasestr */
#include "wire/server/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/gzip.h"
#include "wire/server/exchange.h"
#include "wire/server/listener.h"

struct wire_server {
  uv_loop_t *loop;
  wire_server_config cfg;
  char *endpoint;
  wire_tls_server *tls;
  wire_listener *listener;
  wire_handler_fn handler;
  void *ud;
  void (*stop_done)(void *);
  void *stop_arg;
};

static const wire_sconn_driver *attach_driver(void *ud, wire_sconn *c, const char *protocol, void **self) {
  wire_server *s = ud;
  if (strcmp(protocol, "h2") == 0) {
    if (s->cfg.disable_h2) return NULL;
    return wire_h2_driver_new(s, c, self);
  }
  if (s->cfg.disable_h1) return NULL;
  return wire_h1_driver_new(s, c, self);
}

wire_server *wire_server_start(uv_loop_t *loop, const wire_server_config *cfg, wire_handler_fn handler, void *ud,
                               wire_err *err) {
  wire_server *s = calloc(1, sizeof *s);
  if (!s) {
    wire_err_set(err, WIRE_E_NOMEM, "out of memory");
    return NULL;
  }
  s->loop = loop;
  s->cfg = *cfg;
  s->handler = handler;
  s->ud = ud;
  if (!s->cfg.max_header_bytes) s->cfg.max_header_bytes = 16 * 1024;
  if (!s->cfg.max_body_bytes) s->cfg.max_body_bytes = 4 * 1024 * 1024;
  if (!s->cfg.max_decompressed_bytes) s->cfg.max_decompressed_bytes = s->cfg.max_body_bytes;
  if (!s->cfg.max_connections) s->cfg.max_connections = 4096;
  if (!s->cfg.max_concurrent_streams) s->cfg.max_concurrent_streams = 100;
  if (!s->cfg.idle_timeout_ms) s->cfg.idle_timeout_ms = 120000;
  if (!s->cfg.request_timeout_ms) s->cfg.request_timeout_ms = 30000;
  if (!s->cfg.max_pending_output) s->cfg.max_pending_output = 16 * 1024 * 1024;
  s->endpoint = strdup(cfg->endpoint ? cfg->endpoint : "127.0.0.1:0");
  s->cfg.endpoint = s->endpoint;
  s->cfg.tls = NULL; /* the caller's config need not outlive this call */
  if (cfg->tls) {
    static const char *const alpn_both[] = {"h2", "http/1.1", NULL};
    static const char *const alpn_h1[] = {"http/1.1", NULL};
    static const char *const alpn_h2[] = {"h2", NULL};
    const char *const *alpn = cfg->disable_h2 ? alpn_h1 : cfg->disable_h1 ? alpn_h2 : alpn_both;
    s->tls = wire_tls_server_new(cfg->tls, alpn, err);
    if (!s->tls) goto fail;
  }
  wire_listener_config lc = {
      .endpoint = s->endpoint,
      .tls = s->tls,
      .max_connections = s->cfg.max_connections,
      .idle_timeout_ms = s->cfg.idle_timeout_ms,
      .max_pending_output = s->cfg.max_pending_output,
  };
  s->listener = wire_listener_start(loop, &lc, attach_driver, s, err);
  if (!s->listener) goto fail;
  return s;
fail:
  if (s->tls) wire_tls_server_free(s->tls);
  free(s->endpoint);
  free(s);
  return NULL;
}

uint16_t wire_server_port(const wire_server *s) { return wire_listener_port(s->listener); }

static void listener_stopped(void *arg) {
  wire_server *s = arg;
  void (*done)(void *) = s->stop_done;
  void *done_arg = s->stop_arg;
  if (s->tls) wire_tls_server_free(s->tls);
  free(s->endpoint);
  free(s);
  if (done) done(done_arg);
}

void wire_server_stop(wire_server *s, void (*done)(void *arg), void *arg) {
  s->stop_done = done;
  s->stop_arg = arg;
  wire_listener_stop(s->listener, listener_stopped, s);
}

const wire_server_config *wire_server_config_of(const wire_server *s) { return &s->cfg; }

wire_exchange *wire_exchange_new(wire_server *s, wire_sconn *c, const wire_exchange_ops *ops, void *stream) {
  wire_exchange *ex = calloc(1, sizeof *ex);
  if (!ex) return NULL;
  wire_http_request_init(&ex->req, s->cfg.max_header_bytes, s->cfg.max_body_bytes);
  ex->ops = ops;
  ex->stream = stream;
  ex->server = s;
  ex->tls = wire_sconn_is_tls(c);
  const char *peer = wire_sconn_peer(c);
  snprintf(ex->peer, sizeof ex->peer, "%s", peer ? peer : "?");
  return ex;
}

void wire_exchange_free(wire_exchange *ex) {
  if (!ex) return;
  wire_http_request_free(&ex->req);
  free(ex);
}

/* Replaces the body with its decoded form; answers the request itself (and returns -1) when it cannot. */
static int decode_body(wire_server *s, wire_exchange *ex) {
  const char *enc = wire_headers_get(&ex->req.headers, "content-encoding");
  if (!enc || !*enc || strcasecmp(enc, "identity") == 0) return 0;
  if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0) {
    wire_exchange_respond_text_with(ex, 415, "accept-encoding", "gzip, identity",
                                    "unsupported Content-Encoding (supported: gzip, identity)\n");
    return -1;
  }
  wire_buf out;
  wire_buf_init(&out, s->cfg.max_decompressed_bytes);
  wire_err err;
  if (wire_gzip_decompress(ex->req.body.data, ex->req.body.len, s->cfg.max_decompressed_bytes, &out, &err) < 0) {
    wire_buf_free(&out);
    char msg[sizeof err.msg + 16];
    snprintf(msg, sizeof msg, "%s\n", err.msg);
    wire_exchange_respond_text(ex, err.code == WIRE_E_LIMIT ? 413 : 400, msg);
    return -1;
  }
  wire_buf_free(&ex->req.body);
  ex->req.body = out;
  /* The handler sees a plain body: drop the header that described the old one. */
  wire_headers *hs = &ex->req.headers;
  size_t j = 0;
  for (size_t i = 0; i < hs->n; i++) {
    if (strcmp(hs->v[i].name, "content-encoding") == 0) {
      hs->bytes -= hs->v[i].name_len + hs->v[i].value_len + 32;
      free(hs->v[i].name);
      free(hs->v[i].value);
    } else {
      hs->v[j++] = hs->v[i];
    }
  }
  hs->n = j;
  return 0;
}

void wire_server_dispatch(wire_server *s, wire_exchange *ex) {
  if (s->cfg.decompress && decode_body(s, ex) < 0) return;
  s->handler(ex, s->ud);
}

const wire_http_request *wire_exchange_request(const wire_exchange *ex) { return &ex->req; }
wire_http_request *wire_exchange_request_mut(wire_exchange *ex) { return &ex->req; }
const char *wire_exchange_peer(const wire_exchange *ex) { return ex->peer; }
bool wire_exchange_is_tls(const wire_exchange *ex) { return ex->tls; }
bool wire_exchange_peer_alive(const wire_exchange *ex) { return !ex->detached; }

void wire_exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body, size_t len,
                           const wire_headers *trailers) {
  ex->ops->respond(ex, status, headers, body, len, trailers);
  wire_exchange_free(ex);
}

void wire_exchange_respond_text_with(wire_exchange *ex, int status, const char *name, const char *value,
                                     const char *text) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  if (name) wire_headers_add_cstr(&h, name, value, NULL);
  wire_headers_add_cstr(&h, "content-type", "text/plain; charset=utf-8", NULL);
  wire_exchange_respond(ex, status, &h, text, strlen(text), NULL);
  wire_headers_free(&h);
}

void wire_exchange_respond_text(wire_exchange *ex, int status, const char *text) {
  wire_exchange_respond_text_with(ex, status, NULL, NULL, text);
}

void wire_exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                  const wire_body_source *src, bool gzip) {
  if (ex->detached || !ex->ops->respond_stream) { /* the peer is gone */
    if (src->release) src->release(src->ud, false);
    if (!ex->detached) wire_exchange_respond_text(ex, 500, "streamed responses are not supported here\n");
    else wire_exchange_free(ex);
    return;
  }
  wire_body_stream *body = wire_body_stream_new(src, gzip); /* releases src itself on failure */
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  bool ok = body && (!headers || wire_headers_copy(&h, headers, NULL) == 0);
  if (ok && gzip) ok = wire_headers_add_cstr(&h, "content-encoding", "gzip", NULL) == 0;
  if (!ok) {
    wire_body_stream_free(body, false);
    wire_headers_free(&h);
    wire_exchange_respond_text(ex, 500, "out of memory\n");
    return;
  }
  ex->ops->respond_stream(ex, status, &h, body);
  wire_headers_free(&h);
  wire_exchange_free(ex);
}

bool wire_request_accepts_gzip(const wire_http_request *req) {
  const char *ae = wire_headers_get(&req->headers, "accept-encoding");
  if (!ae) return false;
  for (const char *p = ae; (p = strcasestr(p, "gzip")) != NULL; p += 4) {
    bool starts = p == ae || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
    const char *q = p + 4;
    while (*q == ' ' || *q == '\t') q++;
    if (!starts || (*q && *q != ',' && *q != ';')) continue; /* "x-gzip2" or the like */
    if (*q == ';') { /* parameters: q=0 refuses */
      const char *comma = strchr(q, ',');
      const char *qv = strstr(q, "q=");
      if (qv && (!comma || qv < comma) && strtod(qv + 2, NULL) <= 0) return false;
    }
    return true;
  }
  return false;
}
