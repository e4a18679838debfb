/* h1_driver.c — the HTTP/1.1 protocol driver of a server connection: parses requests with wire/http1.h, hands
 * each complete one to the server front as an exchange, and writes the responses back in request order.
 *
 * One exchange at a time: when a request is complete it is dispatched and reading pauses (wire_sconn_pause_read)
 * until its response is written; bytes that arrived behind it (pipelined requests) wait in `held` and are parsed
 * afterwards, so responses go out in request order without any queue of responses. The handler may answer
 * inside the dispatch call or later; a later answer schedules the rest through the connection's timer instead of
 * parsing from inside respond(), so handlers are never called from within another handler's respond().
 *
 * Bad input is answered, then the connection is closed gracefully (the listener lingers so the peer gets it):
 *   400 malformed request (the parser's message is the body: it never holds header values), missing or repeated
 *       Host on HTTP/1.1;
 *   413 body above max_body_bytes — at once when Content-Length says so (also instead of 100 Continue);
 *   414 request line longer than the window, 431 header section above max_header_bytes or too many fields;
 *   405 CONNECT, 501 methods longer than 15 bytes or transfer codings other than chunked, 505 HTTP/2+ lines;
 *   408 when the whole request did not arrive within request_timeout_ms (checked by the same timer).
 * Other choices: `Expect: 100-continue` gets "100 Continue" when the head is accepted and a body is announced;
 * Upgrade requests are served as plain requests (the answer is not 101, so the client keeps speaking HTTP/1.1);
 * request trailers are read and dropped; a HEAD response carries Content-Length but no body; responses use the
 * request's version (HTTP/1.0 clients get "connection: keep-alive" when they asked for it). Backpressure: while
 * more than 1 MiB of output waits for the peer, no further pipelined request is parsed (resumed by on_drain).
 * Server stop (on_shutdown): an idle connection closes at once; the request being received or handled still
 * gets its response, sent with "connection: close", and requests pipelined behind it are not served.
 *
 * Streamed responses (wire_exchange_respond_stream): the head goes out with Transfer-Encoding: chunked (HTTP/1.0
 * peers: no framing and "connection: close", the body ends with the connection), then one chunk per piece of the
 * body stream. The next piece is asked for only when nothing is queued on the connection (a write that went
 * straight to the socket, or on_drain), so a slow reader holds at most one piece here; at most STREAM_TURN bytes
 * are produced per loop turn before yielding through the timer, so other connections are served meanwhile. A
 * stream that fails mid-way closes the connection without the last chunk (the peer sees a truncated body); a
 * peer that goes away mid-stream gets the source released (on_close). No request is parsed while streaming. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/http1.h"
#include "wire/server/exchange.h"

#define HELD_MAX (1024 * 1024)        /* input parked behind an in-flight request */
#define PENDING_HIGH (1024 * 1024)    /* output queued for the peer before we stop parsing more requests */
#define SMALL_BODY (16 * 1024)        /* responses up to this size go out in one write with their head */
#define STREAM_TURN (256 * 1024)      /* streamed body bytes produced per loop turn before yielding */

typedef struct h1_conn {
  wire_server *server;
  wire_sconn *sc;
  const wire_server_config *cfg;
  wire_h1_parser *parser;
  uv_timer_t timer;          /* kicks (continue after a late response) and the request timeout */
  wire_exchange *ex;         /* request being parsed */
  wire_exchange *inflight;   /* dispatched, waiting for its response */
  wire_buf held;             /* input received while a request was in flight */
  size_t held_off;
  uint64_t request_start_ms;
  int err_status;            /* status chosen by a callback that stopped the parser */
  const char *err_text;
  bool ready;                /* the parser completed a request: dispatch it */
  bool head_request;
  bool keep_alive;
  bool authority_from_target; /* absolute-form target: Host is ignored */
  int hosts;
  bool closing;              /* answered with close: further input is ignored */
  bool wait_drain;
  bool pumping;
  bool shutting_down;        /* the server is stopping: answer what is in flight or arriving, then close */
  int version;
  wire_body_stream *body;    /* streamed response being sent */
  bool body_chunked;         /* framed as chunks (else close-delimited, HTTP/1.0) */
  bool body_close;           /* close the connection once the body is out */
} h1_conn;

static void exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body,
                             size_t len, const wire_headers *trailers);
static void exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                    wire_body_stream *body);
static const wire_exchange_ops h1_ops = {.respond = exchange_respond, .respond_stream = exchange_respond_stream};

static uint64_t now_ms(h1_conn *c) { return uv_now(wire_sconn_loop(c->sc)); }

static void kick(h1_conn *c);
static void timer_cb(uv_timer_t *t);
static void body_pump(h1_conn *c, bool from_timer);

/* --- answers of the driver itself --- */

/* Sends a small text response with "connection: close" and closes once it is flushed. */
static void reply_and_close(h1_conn *c, int status, const char *text) {
  if (c->closing) return;
  c->closing = true;
  if (c->ex) {
    wire_exchange_free(c->ex);
    c->ex = NULL;
  }
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "text/plain; charset=utf-8", NULL);
  wire_buf out;
  wire_buf_init(&out, 0);
  size_t tl = strlen(text);
  if (wire_h1_write_response_head(&out, 11, status, &h, (int64_t)tl + 1, true, NULL) == 0 &&
      wire_buf_append(&out, text, tl, NULL) == 0 && wire_buf_append(&out, "\n", 1, NULL) == 0)
    (void)wire_sconn_write(c->sc, out.data, out.len);
  wire_buf_free(&out);
  wire_headers_free(&h);
  wire_sconn_pause_read(c->sc, false); /* the listener reads and discards while it lingers */
  wire_sconn_close(c->sc, true);
}

static int stop(h1_conn *c, int status, const char *text) {
  c->err_status = status;
  c->err_text = text;
  return -1;
}

/* --- parser callbacks --- */

static int on_message_begin(wire_h1_parser *p) {
  h1_conn *c = p->user;
  c->ex = wire_exchange_new(c->server, c->sc, &h1_ops, c);
  if (!c->ex) return stop(c, 500, "out of memory");
  c->authority_from_target = false;
  c->hosts = 0;
  c->request_start_ms = now_ms(c);
  /* An armed timer (an earlier deadline or a kick) re-arms for this request's deadline when it fires. */
  if (!uv_is_active((uv_handle_t *)&c->timer)) uv_timer_start(&c->timer, timer_cb, c->cfg->request_timeout_ms, 0);
  return 0;
}

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static int on_request_line(wire_h1_parser *p, const char *m, size_t ml, const char *t, size_t tl, int version) {
  h1_conn *c = p->user;
  wire_http_request *r = &c->ex->req;
  if (ml >= sizeof r->method) return stop(c, 501, "method not implemented");
  if (ml == 7 && memcmp(m, "CONNECT", 7) == 0) return stop(c, 405, "CONNECT is not supported");
  memcpy(r->method, m, ml);
  r->method[ml] = '\0';
  r->version = version == 10 ? WIRE_HTTP_10 : WIRE_HTTP_11;
  c->version = version;
  c->head_request = ml == 4 && memcmp(m, "HEAD", 4) == 0;
  /* absolute-form "http://host/path": the authority comes from the target (RFC 9112 §3.2.2) */
  const char *sep = tl > 0 && t[0] != '/' && t[0] != '*' ? memchr(t, ':', tl) : NULL;
  if (sep && (size_t)(t + tl - sep) >= 3 && sep[1] == '/' && sep[2] == '/') {
    const char *a = sep + 3, *end = t + tl, *e = a;
    while (e < end && *e != '/' && *e != '?' && *e != '#') e++;
    r->authority = dup_n(a, (size_t)(e - a));
    c->authority_from_target = true;
    if (e == end || *e != '/') {
      r->path = malloc((size_t)(end - e) + 2);
      if (r->path) {
        r->path[0] = '/';
        memcpy(r->path + 1, e, (size_t)(end - e));
        r->path[end - e + 1] = '\0';
      }
    } else {
      r->path = dup_n(e, (size_t)(end - e));
    }
    if (!r->authority) return stop(c, 500, "out of memory");
  } else {
    r->path = dup_n(t, tl);
  }
  if (!r->path) return stop(c, 500, "out of memory");
  r->scheme = strdup(wire_sconn_is_tls(c->sc) ? "https" : "http");
  if (!r->scheme) return stop(c, 500, "out of memory");
  return 0;
}

static int on_header(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  h1_conn *c = p->user;
  wire_http_request *r = &c->ex->req;
  wire_err err;
  if (wire_headers_add(&r->headers, n, nl, v, vl, &err) < 0)
    return err.code == WIRE_E_LIMIT ? stop(c, 431, "request header fields too large") : stop(c, 500, "out of memory");
  if (nl == 4 && strncasecmp(n, "host", 4) == 0) {
    if (++c->hosts > 1) return stop(c, 400, "more than one Host header");
    if (!c->authority_from_target) {
      r->authority = dup_n(v, vl);
      if (!r->authority) return stop(c, 500, "out of memory");
    }
  }
  return 0;
}

static int on_headers_complete(wire_h1_parser *p) {
  h1_conn *c = p->user;
  if (c->version == 11 && !c->hosts && !c->authority_from_target)
    return stop(c, 400, "HTTP/1.1 request without Host");
  c->keep_alive = wire_h1_keep_alive(p);
  int64_t cl = wire_h1_content_length(p);
  if (cl > 0 && (uint64_t)cl > c->cfg->max_body_bytes) return stop(c, 413, "request body too large");
  if (wire_h1_expect_continue(p) && (cl > 0 || wire_h1_chunked(p))) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (wire_sconn_write(c->sc, cont, sizeof cont - 1) < 0) return stop(c, 500, "cannot write");
  }
  return 0;
}

static int on_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  h1_conn *c = p->user;
  wire_buf *b = &c->ex->req.body;
  if (n > c->cfg->max_body_bytes - b->len) return stop(c, 413, "request body too large"); /* len <= max */
  wire_err err;
  if (wire_buf_append(b, d, n, &err) < 0)
    return err.code == WIRE_E_LIMIT ? stop(c, 413, "request body too large") : stop(c, 500, "out of memory");
  return 0;
}

static int on_message_complete(wire_h1_parser *p) {
  h1_conn *c = p->user;
  c->ready = true;
  return WIRE_H1_PAUSE;
}

static const wire_h1_callbacks h1_callbacks = {
    .on_message_begin = on_message_begin,
    .on_request_line = on_request_line,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- request flow --- */

static void dispatch(h1_conn *c) {
  wire_exchange *ex = c->ex;
  c->ex = NULL;
  c->inflight = ex;
  wire_sconn_pause_read(c->sc, true);
  wire_server_dispatch(c->server, ex); /* may answer at once: exchange_respond runs inside */
}

/* Parses from data; dispatches a completed request. Returns the bytes consumed. */
static size_t feed(h1_conn *c, const uint8_t *data, size_t len) {
  wire_err err;
  ssize_t k = wire_h1_parse(c->parser, data, len, &err);
  if (k < 0) {
    if (c->err_status) {
      reply_and_close(c, c->err_status, c->err_text);
    } else {
      int status = wire_h1_error_status(c->parser);
      reply_and_close(c, status ? status : 400, status == 400 ? err.msg : wire_http_reason(status ? status : 400));
    }
    return len;
  }
  if (c->ready) {
    c->ready = false;
    if (wire_h1_upgraded(c->parser)) wire_h1_resume(c->parser); /* upgrade refused: keep speaking HTTP/1.1 */
    dispatch(c);
  }
  return (size_t)k;
}

static int hold(h1_conn *c, const uint8_t *data, size_t len) {
  if (c->held.len - c->held_off + len > HELD_MAX) return -1;
  if (c->held_off && c->held.len + len > c->held.cap) {
    wire_buf_consume(&c->held, c->held_off);
    c->held_off = 0;
  }
  if (wire_buf_append(&c->held, data, len, NULL) < 0) return -1;
  wire_sconn_pause_read(c->sc, true);
  return 0;
}

/* Whether the next request may be parsed now: none in flight, and the peer reads what we send (else wait for
 * on_drain). */
static bool can_parse(h1_conn *c) {
  if (c->closing || c->inflight || c->body || c->wait_drain) return false;
  if (wire_sconn_pending(c->sc) > PENDING_HIGH) {
    c->wait_drain = true;
    return false;
  }
  return true;
}

/* Parses held input as far as the one-exchange rule and backpressure allow; resumes reading when it is all
 * consumed. */
static void pump(h1_conn *c) {
  if (c->pumping) return;
  c->pumping = true;
  while (c->held_off < c->held.len && can_parse(c)) {
    size_t n = feed(c, c->held.data + c->held_off, c->held.len - c->held_off);
    if (n == 0) break; /* cannot happen (the parser consumes up to a message end), but never spin */
    c->held_off += n;
  }
  if (c->held_off >= c->held.len) {
    c->held_off = 0;
    wire_buf_reset(&c->held);
  }
  if (can_parse(c) && c->held.len == 0) wire_sconn_pause_read(c->sc, false);
  c->pumping = false;
}

static void timer_cb(uv_timer_t *t) {
  h1_conn *c = t->data;
  if (c->body) {
    body_pump(c, true);
    return;
  }
  pump(c);
  if (c->closing || c->inflight || !wire_h1_in_message(c->parser)) return;
  uint64_t now = now_ms(c), deadline = c->request_start_ms + c->cfg->request_timeout_ms;
  if (now >= deadline) {
    reply_and_close(c, 408, "request not received in time");
    return;
  }
  uv_timer_start(&c->timer, timer_cb, deadline - now, 0);
}

static void kick(h1_conn *c) { uv_timer_start(&c->timer, timer_cb, 0, 0); }

/* --- response --- */

static void exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body,
                             size_t len, const wire_headers *trailers) {
  (void)trailers; /* HTTP/1.1 responses here are Content-Length framed: trailers are HTTP/2 only */
  if (ex->detached || !ex->stream) return; /* the peer is gone: wire_exchange_respond frees ex */
  h1_conn *c = ex->stream;
  if (c->inflight != ex) return;
  c->inflight = NULL;
  ex->stream = NULL;
  bool close = !c->keep_alive || c->shutting_down;
  if (status < 200 || status > 999) status = 500; /* interim answers are the driver's business (100 Continue) */
  wire_buf out;
  wire_buf_init(&out, 0);
  wire_err err;
  int rc = wire_h1_write_response_head(&out, c->version, status, headers, (int64_t)len, close, &err);
  bool send_body = !c->head_request && status != 204 && status != 304 && len > 0;
  if (rc < 0) { /* the handler gave a header we cannot send */
    wire_buf_reset(&out);
    close = true;
    static const char msg[] = "invalid response header\n";
    wire_h1_write_response_head(&out, c->version, 500, NULL, sizeof msg - 1, true, NULL);
    if (!c->head_request) wire_buf_append(&out, msg, sizeof msg - 1, NULL);
    send_body = false;
  }
  bool ok = true;
  if (send_body && len <= SMALL_BODY) {
    ok = wire_buf_append(&out, body, len, NULL) == 0;
    send_body = false;
  }
  if (!ok || wire_sconn_write(c->sc, out.data, out.len) < 0 || (send_body && wire_sconn_write(c->sc, body, len) < 0)) {
    c->closing = true;
    wire_sconn_close(c->sc, false);
  } else if (close) {
    c->closing = true;
    wire_sconn_close(c->sc, true);
  }
  wire_buf_free(&out);
  if (!c->closing) kick(c); /* pipelined input, or resume reading, from the loop rather than from here */
}

/* --- streamed response --- */

/* The body is over (sent, or failed): the connection closes or goes on with the next request. */
static void body_end(h1_conn *c, bool ok) {
  wire_body_stream_free(c->body, ok);
  c->body = NULL;
  if (!ok) {
    c->closing = true;
    wire_sconn_close(c->sc, false);
  } else if (c->body_close || c->shutting_down) {
    c->closing = true;
    wire_sconn_close(c->sc, true);
  } else {
    kick(c); /* pipelined input, or resume reading */
  }
}

/* Sends pieces of the body while nothing is queued on the connection, at most STREAM_TURN bytes, then waits for
 * on_drain (output queued) or yields to the loop through the timer (the socket took everything). */
static void body_pump(h1_conn *c, bool from_timer) {
  size_t sent = 0;
  while (c->body && !c->closing) {
    if (wire_sconn_pending(c->sc) > 0) return; /* on_drain calls again */
    if (sent >= STREAM_TURN) {
      /* 1 ms, not 0: libuv would run a 0 ms timer started from its own callback again in the same pass */
      uv_timer_start(&c->timer, timer_cb, from_timer ? 1 : 0, 0);
      return;
    }
    if (wire_body_stream_fill(c->body) < 0) {
      body_end(c, false);
      return;
    }
    size_t len;
    const uint8_t *data = wire_body_stream_data(c->body, &len);
    if (len) {
      int rc = 0;
      if (c->body_chunked) {
        char head[24];
        int hl = snprintf(head, sizeof head, "%zx\r\n", len);
        rc = wire_sconn_write(c->sc, head, (size_t)hl);
        if (rc == 0) rc = wire_sconn_write(c->sc, data, len);
        if (rc == 0) rc = wire_sconn_write(c->sc, "\r\n", 2);
      } else {
        rc = wire_sconn_write(c->sc, data, len);
      }
      if (rc < 0) {
        body_end(c, false);
        return;
      }
      wire_body_stream_consume(c->body, len);
      sent += len;
    }
    if (wire_body_stream_finished(c->body)) {
      if (c->body_chunked && wire_sconn_write(c->sc, "0\r\n\r\n", 5) < 0) {
        body_end(c, false);
        return;
      }
      body_end(c, true);
      return;
    }
  }
}

static void exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                    wire_body_stream *body) {
  h1_conn *c = ex->stream;
  if (ex->detached || !c || c->inflight != ex) { /* the peer is gone */
    wire_body_stream_free(body, false);
    return;
  }
  c->inflight = NULL;
  ex->stream = NULL;
  if (status < 200 || status > 999) status = 500;
  bool bodyless = c->head_request || status == 204 || status == 304;
  c->body_chunked = c->version == 11;
  c->body_close = !c->keep_alive || c->shutting_down || !c->body_chunked;
  wire_buf out;
  wire_buf_init(&out, 0);
  int64_t framing = c->body_chunked ? WIRE_H1_CHUNKED_BODY : WIRE_H1_NO_BODY_LENGTH;
  bool close = c->body_close && !(bodyless && c->keep_alive && !c->shutting_down);
  bool bad_header = wire_h1_write_response_head(&out, c->version, status, headers, framing, close, NULL) < 0;
  if (bad_header) { /* the handler gave a header we cannot send */
    wire_buf_reset(&out);
    static const char msg[] = "invalid response header\n";
    wire_h1_write_response_head(&out, c->version, 500, NULL, sizeof msg - 1, true, NULL);
    if (!c->head_request) wire_buf_append(&out, msg, sizeof msg - 1, NULL);
  }
  bool written = wire_sconn_write(c->sc, out.data, out.len) == 0;
  wire_buf_free(&out);
  if (!written || bad_header || bodyless) {
    wire_body_stream_free(body, written && !bad_header);
    if (!written || bad_header || close) {
      c->closing = true;
      wire_sconn_close(c->sc, written);
    } else {
      kick(c);
    }
    return;
  }
  c->body = body;
  body_pump(c, false);
}

/* --- the driver interface --- */

static int drv_on_data(void *self, const uint8_t *data, size_t len) {
  h1_conn *c = self;
  while (len > 0 && !c->closing) {
    if (!can_parse(c) || c->held.len > c->held_off) {
      if (hold(c, data, len) < 0) {
        c->closing = true;
        return -1;
      }
      return 0;
    }
    size_t n = feed(c, data, len);
    if (n == 0) return hold(c, data, len) < 0 ? -1 : 0; /* never spin: park it */
    data += n;
    len -= n;
  }
  return 0;
}

static void drv_on_drain(void *self) {
  h1_conn *c = self;
  if (c->body) {
    body_pump(c, false);
    return;
  }
  if (c->wait_drain) {
    c->wait_drain = false;
    kick(c);
  }
}

/* The server is stopping: the response in flight (or to the request being received) goes out with
 * "connection: close"; an idle connection closes now. The listener bounds the wait. */
static void drv_on_shutdown(void *self) {
  h1_conn *c = self;
  c->shutting_down = true;
  if (c->closing || c->inflight || c->body || wire_h1_in_message(c->parser)) return;
  c->closing = true;
  wire_sconn_close(c->sc, true);
}

static void free_conn(uv_handle_t *h) { free(h->data); }

static void drv_on_close(void *self) {
  h1_conn *c = self;
  if (c->inflight) { /* the handler still holds it: its respond will only free */
    c->inflight->detached = true;
    c->inflight->stream = NULL;
    c->inflight = NULL;
  }
  if (c->ex) wire_exchange_free(c->ex);
  c->ex = NULL;
  wire_body_stream_free(c->body, false); /* the peer went away mid-stream */
  c->body = NULL;
  free(c->parser);
  wire_buf_free(&c->held);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, free_conn);
}

static const wire_sconn_driver h1_driver = {
    .name = "http/1.1",
    .on_data = drv_on_data,
    .on_drain = drv_on_drain,
    .on_close = drv_on_close,
    .on_shutdown = drv_on_shutdown,
};

const wire_sconn_driver *wire_h1_driver_new(wire_server *s, wire_sconn *sc, void **self) {
  h1_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->server = s;
  c->sc = sc;
  c->cfg = wire_server_config_of(s);
  size_t window = c->cfg->max_header_bytes < WIRE_H1_DEFAULT_WINDOW ? c->cfg->max_header_bytes
                                                                      : WIRE_H1_DEFAULT_WINDOW;
  if (window < 256) window = 256;
  wire_h1_config pc = {.kind = WIRE_H1_REQUEST, .max_head_bytes = c->cfg->max_header_bytes, .max_headers = 0};
  c->parser = wire_h1_parser_new(&pc, &h1_callbacks, c, window);
  if (!c->parser || uv_timer_init(wire_sconn_loop(sc), &c->timer) < 0) {
    free(c->parser);
    free(c);
    return NULL;
  }
  c->timer.data = c;
  wire_buf_init(&c->held, 0);
  *self = c;
  return &h1_driver;
}
