/* h2_driver.c — the HTTP/2 protocol driver of a server connection (h2 over TLS, h2c with prior knowledge),
 * through an nghttp2 server session.
 *
 * Each request stream becomes a wire_exchange. Headers and body are collected under the server's limits; a
 * request that breaks one is answered here (431 for headers, 413 for the body, 408 when it takes longer than
 * request_timeout_ms — or, for gRPC requests, the matching gRPC status in a trailers-only response) and the
 * rest of its input is dropped. A complete request goes to wire_server_dispatch; the handler answers through
 * the exchange's respond op, now or later, which queues HEADERS, DATA (through a data provider, so the peer's
 * flow control paces big bodies) and trailers.
 *
 * Lifetimes: a stream owns its exchange until dispatch; after it the handler owns it until respond. When a
 * stream closes (peer reset, connection gone) before the handler answered, the exchange is marked detached and
 * forgotten here: the late respond only frees it.
 *
 * Output goes to the connection in batches. Backpressure: when the connection's queued output passes a high
 * water mark, DATA production is deferred and reading paused until on_drain. When the server stops, GOAWAY
 * goes out and the streams in flight are finished first. nghttp2 calls are never re-entered:
 * respond() from inside a callback (a handler answering synchronously) only submits; the outer frame sends.
 *
 * Streamed responses (wire_exchange_respond_stream): HEADERS without content-length, then DATA from a data
 * provider that asks the body stream for its next piece only when the previous one went into frames. It defers
 * (NGHTTP2_ERR_DEFERRED) while more than STREAM_HIGH bytes wait on the connection — resumed by on_drain — and
 * after STREAM_TURN bytes per send pass, resumed by a 1 ms timer, so a fast peer does not keep the loop to
 * itself. The peer's flow control paces the rest (nghttp2 stops asking when the window is shut and asks again on
 * WINDOW_UPDATE). A source that fails resets the stream (INTERNAL_ERROR); a stream closed before the body is
 * out (RST_STREAM, connection gone) releases the source. */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/server/exchange.h"
#include "wire/server/grpc_server.h"

#define OUT_BATCH (64 * 1024)
#define STREAM_WINDOW (1 << 20)
#define CONNECTION_WINDOW (16 << 20)
#define TIMER_PERIOD_MS 1000
#define STREAM_HIGH (256 * 1024) /* queued output above which streamed bodies wait for on_drain */
#define STREAM_TURN (256 * 1024) /* streamed body bytes per send pass before yielding to the loop */

typedef struct h2_stream h2_stream;

typedef struct h2_conn {
  wire_server *server;
  wire_sconn *sc;              /* NULL once the connection is gone */
  const wire_server_config *cfg;
  nghttp2_session *session;
  h2_stream *streams;          /* every live stream */
  int depth;                   /* >0 while one of our entry points runs */
  bool in_session;             /* inside nghttp2_session_mem_recv/send: nghttp2 must not be re-entered */
  bool gone;                   /* on_close happened: free when depth returns to 0 */
  bool read_paused;
  bool closing;                /* we asked the sconn to close */
  size_t high_water;           /* queued output above which DATA waits */
  wire_buf out;                /* frames gathered for one wire_sconn_write */
  uv_timer_t timer;            /* request_timeout_ms */
  bool timer_running;
  uv_timer_t resume_timer;     /* resumes streamed bodies that yielded (STREAM_TURN) */
  bool resume_armed;
  int handles;                 /* timers still open: h is freed when the last one has closed */
  size_t stream_sent;          /* streamed body bytes in the current send pass */
} h2_conn;

struct h2_stream {
  h2_conn *conn;
  int32_t id;
  wire_exchange *ex;           /* owned until dispatch; NULL once answered or handed over and answered */
  bool dispatched;
  bool answered;               /* response submitted */
  bool rejected;               /* answered by the driver itself: ignore further input */
  bool headers_too_big;
  bool deferred;               /* data provider waiting for on_drain */
  uint64_t started_ms;         /* uv_now when the request began */
  size_t pseudo_bytes;         /* pseudo-headers, counted against max_header_bytes */
  uint8_t *body;               /* response body (copied: the handler's buffer need not outlive respond) */
  size_t body_len, body_off;
  wire_headers trailers;
  bool has_trailers;
  wire_body_stream *src;       /* streamed response body */
  bool src_done;               /* its last byte went into a frame */
  h2_stream *prev, *next;
};

static void conn_flush(h2_conn *h, bool may_close);
static void exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body,
                             size_t len, const wire_headers *trailers);
static void exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                    wire_body_stream *body);
static const wire_exchange_ops h2_ops = {.respond = exchange_respond, .respond_stream = exchange_respond_stream};

/* --- lifetimes --- */

static void conn_enter(h2_conn *h) { h->depth++; }

static void conn_free_cb(uv_handle_t *handle) {
  h2_conn *h = handle->data;
  if (--h->handles == 0) free(h);
}

static void stream_unlink(h2_stream *st) {
  h2_conn *h = st->conn;
  if (st->prev) st->prev->next = st->next;
  else h->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  st->prev = st->next = NULL;
}

static void stream_free(h2_stream *st) {
  stream_unlink(st);
  if (st->ex) {
    if (st->dispatched) { /* the handler still holds it: its respond will only free */
      st->ex->detached = true;
      st->ex->stream = NULL;
    } else {
      wire_exchange_free(st->ex);
    }
  }
  free(st->body);
  wire_body_stream_free(st->src, st->src_done);
  wire_headers_free(&st->trailers);
  free(st);
}

static void conn_destroy(h2_conn *h) {
  while (h->streams) stream_free(h->streams);
  nghttp2_session_del(h->session);
  h->session = NULL;
  wire_buf_free(&h->out);
  uv_timer_stop(&h->timer);
  uv_close((uv_handle_t *)&h->timer, conn_free_cb);
  uv_timer_stop(&h->resume_timer);
  uv_close((uv_handle_t *)&h->resume_timer, conn_free_cb);
}

/* Leaves an entry point; the last one out frees a connection that went away meanwhile. */
static void conn_leave(h2_conn *h) {
  if (--h->depth == 0 && h->gone) conn_destroy(h);
}

/* --- output --- */

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud) {
  (void)s;
  (void)flags;
  h2_conn *h = ud;
  if (h->out.len + len > OUT_BATCH && h->out.len > 0) {
    if (!h->sc || wire_sconn_write(h->sc, h->out.data, h->out.len) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    h->out.len = 0;
  }
  if (len >= OUT_BATCH) {
    if (!h->sc || wire_sconn_write(h->sc, data, len) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
  }
  if (wire_buf_append(&h->out, data, len, NULL) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  return (ssize_t)len;
}

/* Only output already queued on the connection counts, so that on_drain is sure to follow a deferral. */
static bool over_high_water(h2_conn *h) { return h->sc && wire_sconn_pending(h->sc) > h->high_water; }

static ssize_t body_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *source, void *ud) {
  h2_conn *h = ud;
  h2_stream *st = source->ptr;
  if (over_high_water(h)) {
    st->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t left = st->body_len - st->body_off;
  size_t n = left < length ? left : length;
  if (n) memcpy(buf, st->body + st->body_off, n);
  st->body_off += n;
  if (st->body_off == st->body_len) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->has_trailers) {
      nghttp2_nv nvbuf[16];
      size_t cnt = st->trailers.n;
      nghttp2_nv *nva = cnt <= 16 ? nvbuf : malloc(cnt * sizeof *nva);
      if (!nva) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      for (size_t i = 0; i < cnt; i++) {
        const wire_header *t = &st->trailers.v[i];
        nva[i] = (nghttp2_nv){(uint8_t *)t->name, (uint8_t *)t->value, t->name_len, t->value_len, NGHTTP2_NV_FLAG_NONE};
      }
      if (nghttp2_submit_trailer(s, stream_id, nva, cnt) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      if (nva != nvbuf) free(nva);
    }
  }
  return (ssize_t)n;
}

static void resume_cb(uv_timer_t *t);

/* Data provider of a streamed body: one piece of the body stream at a time (see the top comment). */
static ssize_t stream_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                              nghttp2_data_source *source, void *ud) {
  (void)s;
  (void)stream_id;
  h2_conn *h = ud;
  h2_stream *st = source->ptr;
  size_t len;
  const uint8_t *data = wire_body_stream_data(st->src, &len);
  if (len == 0 && !wire_body_stream_finished(st->src)) {
    if (h->sc && wire_sconn_pending(h->sc) > STREAM_HIGH) {
      st->deferred = true; /* on_drain resumes */
      return NGHTTP2_ERR_DEFERRED;
    }
    if (h->stream_sent >= STREAM_TURN) {
      st->deferred = true;
      if (!h->resume_armed) {
        h->resume_armed = true;
        uv_timer_start(&h->resume_timer, resume_cb, 1, 0);
      }
      return NGHTTP2_ERR_DEFERRED;
    }
    if (wire_body_stream_fill(st->src) < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
    data = wire_body_stream_data(st->src, &len);
  }
  size_t n = len < length ? len : length;
  if (n) memcpy(buf, data, n);
  wire_body_stream_consume(st->src, n);
  h->stream_sent += n;
  if (wire_body_stream_finished(st->src)) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->src_done = true;
  }
  return (ssize_t)n;
}

/* Sends whatever nghttp2 has to send; with may_close, closes the connection when the session is over. Inside
 * nghttp2 (a callback answering at once) it does nothing: the outer entry point flushes on the way out. */
static void conn_flush(h2_conn *h, bool may_close) {
  if (h->in_session || h->gone || !h->sc || h->closing) return;
  h->in_session = true;
  h->stream_sent = 0;
  int rv = nghttp2_session_send(h->session);
  h->in_session = false;
  if (rv == 0 && h->out.len > 0 && h->sc) {
    if (wire_sconn_write(h->sc, h->out.data, h->out.len) < 0) rv = NGHTTP2_ERR_CALLBACK_FAILURE;
    h->out.len = 0;
  }
  if (!may_close || h->gone || !h->sc) return;
  if (rv != 0) {
    h->closing = true;
    wire_sconn_close(h->sc, false);
    return;
  }
  if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session)) {
    h->closing = true;
    wire_sconn_close(h->sc, true);
    return;
  }
  /* Reading more would only queue more output: wait for the peer to take what it has. */
  bool pause = wire_sconn_pending(h->sc) > h->high_water * 2;
  if (pause != h->read_paused) {
    h->read_paused = pause;
    wire_sconn_pause_read(h->sc, pause);
  }
}

/* --- responses --- */

/* Connection-specific fields never go into HTTP/2 (RFC 9113 8.2.2); content-length is ours to set. */
static bool skip_response_header(const wire_header *hd) {
  static const char *const drop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                     "upgrade", "content-length"};
  if (hd->name_len == 0 || hd->name[0] == ':') return true;
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    if (strcmp(hd->name, drop[i]) == 0) return true;
  return false;
}

static int stream_submit(h2_stream *st, int status, const wire_headers *headers, const void *body, size_t len,
                         const wire_headers *trailers) {
  h2_conn *h = st->conn;
  size_t nh = headers ? headers->n : 0;
  nghttp2_nv nvbuf[24];
  nghttp2_nv *nva = nh + 2 <= 24 ? nvbuf : malloc((nh + 2) * sizeof *nva);
  if (!nva) return -1;
  char status_s[8], clen[24];
  if (status < 200 || status > 999) status = 500;
  int sl = snprintf(status_s, sizeof status_s, "%d", status);
  size_t n = 0;
  nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status_s, 7, (size_t)sl, NGHTTP2_NV_FLAG_NONE};
  bool grpc = false;
  for (size_t i = 0; i < nh; i++) {
    const wire_header *hd = &headers->v[i];
    if (skip_response_header(hd)) continue;
    if (strcmp(hd->name, "content-type") == 0 && strncmp(hd->value, "application/grpc", 16) == 0) grpc = true;
    nva[n++] = (nghttp2_nv){(uint8_t *)hd->name, (uint8_t *)hd->value, hd->name_len, hd->value_len,
                            NGHTTP2_NV_FLAG_NONE};
  }
  bool with_trailers = trailers && trailers->n > 0;
  if (!with_trailers && !grpc) {
    int cl = snprintf(clen, sizeof clen, "%zu", len);
    nva[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)clen, 14, (size_t)cl, NGHTTP2_NV_FLAG_NONE};
  }
  int rv = 0;
  if (len > 0) {
    st->body = malloc(len);
    if (!st->body) rv = -1;
    else {
      memcpy(st->body, body, len);
      st->body_len = len;
    }
  }
  if (rv == 0 && with_trailers) {
    if (wire_headers_copy(&st->trailers, trailers, NULL) < 0) rv = -1;
    st->has_trailers = true;
  }
  if (rv == 0) {
    if (len > 0) {
      nghttp2_data_provider prd = {.source.ptr = st, .read_callback = body_read_cb};
      rv = nghttp2_submit_response(h->session, st->id, nva, n, &prd);
    } else if (with_trailers) { /* HEADERS, then trailers HEADERS with END_STREAM: no empty DATA frame */
      rv = nghttp2_submit_headers(h->session, NGHTTP2_FLAG_NONE, st->id, NULL, nva, n, NULL);
      if (rv >= 0) {
        nghttp2_nv tbuf[16];
        size_t tn = st->trailers.n;
        nghttp2_nv *tva = tn <= 16 ? tbuf : malloc(tn * sizeof *tva);
        if (!tva) rv = -1;
        else {
          for (size_t i = 0; i < tn; i++) {
            const wire_header *t = &st->trailers.v[i];
            tva[i] = (nghttp2_nv){(uint8_t *)t->name, (uint8_t *)t->value, t->name_len, t->value_len,
                                  NGHTTP2_NV_FLAG_NONE};
          }
          rv = nghttp2_submit_trailer(h->session, st->id, tva, tn);
          if (tva != tbuf) free(tva);
        }
      }
    } else {
      rv = nghttp2_submit_response(h->session, st->id, nva, n, NULL);
    }
  }
  if (nva != nvbuf) free(nva);
  if (rv < 0) nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  st->answered = true;
  return rv < 0 ? -1 : 0;
}

/* HEADERS of a streamed response, then DATA from stream_read_cb (none for HEAD, 204 and 304). */
static int stream_submit_body(h2_stream *st, int status, const wire_headers *headers, wire_body_stream *body,
                              bool head) {
  h2_conn *h = st->conn;
  size_t nh = headers ? headers->n : 0;
  nghttp2_nv nvbuf[24];
  nghttp2_nv *nva = nh + 1 <= 24 ? nvbuf : malloc((nh + 1) * sizeof *nva);
  if (!nva) {
    wire_body_stream_free(body, false);
    nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    st->answered = true;
    return -1;
  }
  char status_s[8];
  if (status < 200 || status > 999) status = 500;
  int sl = snprintf(status_s, sizeof status_s, "%d", status);
  size_t n = 0;
  nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status_s, 7, (size_t)sl, NGHTTP2_NV_FLAG_NONE};
  for (size_t i = 0; i < nh; i++) {
    const wire_header *hd = &headers->v[i];
    if (skip_response_header(hd)) continue;
    nva[n++] = (nghttp2_nv){(uint8_t *)hd->name, (uint8_t *)hd->value, hd->name_len, hd->value_len,
                            NGHTTP2_NV_FLAG_NONE};
  }
  int rv;
  if (head || status == 204 || status == 304) {
    rv = nghttp2_submit_response(h->session, st->id, nva, n, NULL);
    wire_body_stream_free(body, rv == 0);
  } else {
    st->src = body; /* freed with the stream */
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = stream_read_cb};
    rv = nghttp2_submit_response(h->session, st->id, nva, n, &prd);
  }
  if (nva != nvbuf) free(nva);
  if (rv < 0) nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  st->answered = true;
  return rv < 0 ? -1 : 0;
}

static void exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                    wire_body_stream *body) {
  if (ex->detached || !ex->stream) { /* the peer is gone */
    wire_body_stream_free(body, false);
    return;
  }
  h2_stream *st = ex->stream;
  h2_conn *h = st->conn;
  bool head = strcmp(ex->req.method, "HEAD") == 0;
  ex->stream = NULL;
  st->ex = NULL; /* freed by wire_exchange_respond_stream after this returns */
  if (st->answered) {
    wire_body_stream_free(body, false);
    return;
  }
  conn_enter(h);
  stream_submit_body(st, status, headers, body, head);
  conn_flush(h, true);
  conn_leave(h);
}

static void exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body,
                             size_t len, const wire_headers *trailers) {
  if (ex->detached || !ex->stream) return; /* the peer is gone: wire_exchange_respond frees ex */
  h2_stream *st = ex->stream;
  h2_conn *h = st->conn;
  ex->stream = NULL;
  st->ex = NULL; /* freed by wire_exchange_respond after this returns */
  if (st->answered) return;
  conn_enter(h);
  stream_submit(st, status, headers, body, len, trailers);
  conn_flush(h, true);
  conn_leave(h);
}

/* Answers a request the driver refuses itself (limits, timeout), as gRPC when it is a gRPC request. */
static void stream_reject(h2_stream *st, int http_status, int grpc_code, const char *text) {
  if (st->rejected || st->answered || st->dispatched || !st->ex) return;
  st->rejected = true;
  wire_exchange *ex = st->ex;
  wire_buf_free(&ex->req.body); /* drop what was buffered */
  if (wire_grpc_is_grpc_request(&ex->req)) {
    wire_grpc_respond_status(ex, grpc_code, text, -1);
  } else {
    char body[200];
    snprintf(body, sizeof body, "%s\n", text);
    wire_exchange_respond_text(ex, http_status, body);
  }
}

/* --- input --- */

static h2_stream *stream_of(nghttp2_session *s, int32_t id) {
  return id > 0 ? nghttp2_session_get_stream_user_data(s, id) : NULL;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  h2_conn *h = ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  h2_stream *st = calloc(1, sizeof *st);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  st->conn = h;
  st->id = frame->hd.stream_id;
  st->started_ms = uv_now(wire_sconn_loop(h->sc));
  wire_headers_init(&st->trailers, 0, 0);
  st->ex = wire_exchange_new(h->server, h->sc, &h2_ops, st);
  if (!st->ex) {
    free(st);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  st->ex->req.version = WIRE_HTTP_2;
  st->next = h->streams;
  if (h->streams) h->streams->prev = st;
  h->streams = st;
  nghttp2_session_set_stream_user_data(s, st->id, st);
  return 0;
}

static char *dup_n(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) return NULL;
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)flags;
  h2_conn *h = ud;
  h2_stream *st = stream_of(s, frame->hd.stream_id);
  if (!st || !st->ex || st->rejected || st->headers_too_big || st->dispatched) return 0;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0; /* trailers */
  wire_http_request *req = &st->ex->req;
  size_t cost = namelen + valuelen + 32;
  if (req->headers.bytes + st->pseudo_bytes + cost > h->cfg->max_header_bytes) {
    st->headers_too_big = true; /* answered once the header block is complete */
    return 0;
  }
  if (namelen > 0 && name[0] == ':') {
    st->pseudo_bytes += cost;
    char **slot = NULL;
    if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
      if (valuelen >= sizeof req->method) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      memcpy(req->method, value, valuelen);
      req->method[valuelen] = '\0';
      return 0;
    }
    if (namelen == 5 && memcmp(name, ":path", 5) == 0) slot = &req->path;
    else if (namelen == 10 && memcmp(name, ":authority", 10) == 0) slot = &req->authority;
    else if (namelen == 7 && memcmp(name, ":scheme", 7) == 0) slot = &req->scheme;
    if (!slot) return 0;
    free(*slot);
    *slot = dup_n(value, valuelen);
    return *slot ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if (wire_headers_add(&req->headers, (const char *)name, namelen, (const char *)value, valuelen, NULL) < 0)
    st->headers_too_big = true;
  return 0;
}

static void stream_dispatch(h2_conn *h, h2_stream *st) {
  if (st->dispatched || st->rejected || !st->ex) return;
  wire_http_request *req = &st->ex->req;
  if (!req->authority) {
    const char *host = wire_headers_get(&req->headers, "host");
    if (host) req->authority = strdup(host);
  }
  st->dispatched = true;
  wire_server_dispatch(h->server, st->ex); /* may answer at once: exchange_respond runs inside */
}

/* The header block of a request is complete. */
static void request_headers_done(h2_conn *h, h2_stream *st, bool end_stream) {
  if (!st->ex || st->rejected) return;
  if (st->headers_too_big) {
    char msg[96];
    snprintf(msg, sizeof msg, "request headers exceed %zu bytes", h->cfg->max_header_bytes);
    stream_reject(st, 431, WIRE_GRPC_RESOURCE_EXHAUSTED, msg);
    return;
  }
  const char *cl = wire_headers_get(&st->ex->req.headers, "content-length");
  if (cl) {
    char *end;
    unsigned long long v = strtoull(cl, &end, 10);
    if (*cl && !*end && v > h->cfg->max_body_bytes) {
      char msg[96];
      snprintf(msg, sizeof msg, "request body larger than %zu bytes", h->cfg->max_body_bytes);
      stream_reject(st, 413, WIRE_GRPC_RESOURCE_EXHAUSTED, msg);
      return;
    }
  }
  if (end_stream) stream_dispatch(h, st);
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                         void *ud) {
  (void)flags;
  h2_conn *h = ud;
  h2_stream *st = stream_of(s, stream_id);
  if (!st || !st->ex || st->rejected || st->dispatched) return 0;
  if (wire_buf_append(&st->ex->req.body, data, len, NULL) < 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "request body larger than %zu bytes", h->cfg->max_body_bytes);
    stream_reject(st, 413, WIRE_GRPC_RESOURCE_EXHAUSTED, msg);
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  h2_conn *h = ud;
  h2_stream *st = stream_of(s, frame->hd.stream_id);
  if (!st) return 0;
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
  case NGHTTP2_HEADERS:
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) request_headers_done(h, st, end_stream);
    else if (end_stream) stream_dispatch(h, st); /* request trailers end the request */
    break;
  case NGHTTP2_DATA:
    if (end_stream) stream_dispatch(h, st);
    break;
  default:
    break;
  }
  return 0;
}

/* After our final frame on a stream whose request is still coming, tell the peer to stop sending it
 * (RFC 9113 8.1: RST_STREAM with NO_ERROR). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  (void)ud;
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && frame->hd.stream_id > 0 &&
      nghttp2_session_get_stream_remote_close(s, frame->hd.stream_id) == 0)
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud) {
  (void)error_code;
  (void)ud;
  h2_stream *st = stream_of(s, stream_id);
  if (!st) return 0;
  nghttp2_session_set_stream_user_data(s, stream_id, NULL);
  stream_free(st);
  return 0;
}

/* --- request timeout --- */

static void timer_cb(uv_timer_t *t) {
  h2_conn *h = t->data;
  if (h->gone || !h->sc) return;
  uint64_t now = uv_now(wire_sconn_loop(h->sc));
  conn_enter(h);
  bool waiting = false;
  for (h2_stream *st = h->streams, *next; st; st = next) {
    next = st->next;
    if (st->dispatched || st->rejected || st->answered || !st->ex) continue;
    if (now - st->started_ms >= h->cfg->request_timeout_ms) {
      /* stream_reject answers; the stream itself lives on until nghttp2 closes it */
      stream_reject(st, 408, WIRE_GRPC_DEADLINE_EXCEEDED, "request not received in time");
    } else {
      waiting = true;
    }
  }
  if (!waiting) {
    uv_timer_stop(&h->timer);
    h->timer_running = false;
  }
  conn_flush(h, true);
  conn_leave(h);
}

static void timer_arm(h2_conn *h) {
  if (h->timer_running || h->gone) return;
  for (h2_stream *st = h->streams; st; st = st->next) {
    if (!st->dispatched && !st->rejected && !st->answered) {
      uint64_t period = h->cfg->request_timeout_ms < TIMER_PERIOD_MS ? h->cfg->request_timeout_ms : TIMER_PERIOD_MS;
      uv_timer_start(&h->timer, timer_cb, period ? period : 1, period ? period : 1);
      h->timer_running = true;
      return;
    }
  }
}

/* --- sconn driver --- */

static int drv_on_data(void *self, const uint8_t *data, size_t len) {
  h2_conn *h = self;
  if (h->gone || h->closing) return -1;
  conn_enter(h);
  h->in_session = true;
  ssize_t rv = nghttp2_session_mem_recv(h->session, data, len);
  h->in_session = false;
  int rc = 0;
  if (rv < 0) {
    /* A fatal error (bad preface, flood, out of memory): say GOAWAY if we still can, then close. */
    nghttp2_session_terminate_session(h->session, NGHTTP2_PROTOCOL_ERROR);
    conn_flush(h, false);
    rc = -1;
  } else {
    conn_flush(h, true);
    timer_arm(h);
  }
  conn_leave(h);
  return rc;
}

/* Resumes every deferred body (streamed ones re-check their reason) and sends. */
static void resume_deferred(h2_conn *h) {
  for (h2_stream *st = h->streams; st; st = st->next) {
    if (st->deferred) {
      st->deferred = false;
      nghttp2_session_resume_data(h->session, st->id);
    }
  }
}

static void resume_cb(uv_timer_t *t) {
  h2_conn *h = t->data;
  h->resume_armed = false;
  if (h->gone || h->closing || !h->sc) return;
  conn_enter(h);
  resume_deferred(h);
  conn_flush(h, true);
  conn_leave(h);
}

static void drv_on_drain(void *self) {
  h2_conn *h = self;
  if (h->gone || h->closing) return;
  conn_enter(h);
  resume_deferred(h);
  conn_flush(h, true);
  conn_leave(h);
}

/* The server is stopping: GOAWAY naming the last stream we took, so the client knows which requests were not
 * processed and may send them elsewhere; streams in flight finish, and conn_flush closes the connection once
 * nghttp2 has nothing left to do (the listener's grace period bounds the wait). */
static void drv_on_shutdown(void *self) {
  h2_conn *h = self;
  if (h->gone || h->closing) return;
  conn_enter(h);
  nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->session),
                        NGHTTP2_NO_ERROR, NULL, 0);
  conn_flush(h, true);
  conn_leave(h);
}

static void drv_on_close(void *self) {
  h2_conn *h = self;
  h->gone = true;
  h->sc = NULL;
  if (h->depth == 0) conn_destroy(h);
}

static const wire_sconn_driver h2_driver = {
    .name = "h2",
    .on_data = drv_on_data,
    .on_drain = drv_on_drain,
    .on_close = drv_on_close,
    .on_shutdown = drv_on_shutdown,
};

const wire_sconn_driver *wire_h2_driver_new(wire_server *s, wire_sconn *c, void **self) {
  h2_conn *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->server = s;
  h->sc = c;
  h->cfg = wire_server_config_of(s);
  h->high_water = h->cfg->max_pending_output / 4;
  if (h->high_water < OUT_BATCH) h->high_water = OUT_BATCH;
  wire_buf_init(&h->out, 0);

  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    free(h);
    return NULL;
  }
  nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_option *opt = NULL;
  nghttp2_option_new(&opt);
  if (opt) nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
  int rv = nghttp2_session_server_new2(&h->session, cbs, h, opt);
  if (opt) nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    free(h);
    return NULL;
  }
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h->cfg->max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)(h->cfg->max_header_bytes > UINT32_MAX
                                                             ? UINT32_MAX
                                                             : h->cfg->max_header_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  rv = nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
  if (rv == 0) rv = nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW);
  if (rv != 0) {
    nghttp2_session_del(h->session);
    free(h);
    return NULL;
  }
  uv_timer_init(wire_sconn_loop(c), &h->timer);
  h->timer.data = h;
  uv_timer_init(wire_sconn_loop(c), &h->resume_timer);
  h->resume_timer.data = h;
  h->handles = 2;
  *self = h;
  conn_flush(h, false); /* our SETTINGS go out at once */
  return &h2_driver;
}
