/* sniffer.c — the per-connection HTTP/1 state machine of the preload shim (see sniffer.h).
 *
 * Two wire_h1 parsers run side by side: `req` over the bytes the server reads, `resp` over the bytes it writes.
 * Requests enter a small ring (q) when their first byte is read, in stream order; each final response answers
 * the oldest open entry (HTTP/1 answers in order, pipelined or not). An entry leaves the ring with an event
 * when its final response is complete, or with an error.type when the connection closes first.
 *
 * The request being read and the request being answered are tracked by sequence numbers, because a server may
 * answer before it has read the whole request (413, 404 to a POST): the entry is then gone when the rest of
 * its body arrives, and the body bytes are simply not counted any more. */
#include "autoinstr/sniffer.h"

#include <string.h>
#include <strings.h>

static const char *const k_methods[SNIFF_METHOD_COUNT] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER",
};

static const char *const k_errors[SNIFF_ERR_COUNT] = {
    NULL, "request_aborted", "request_incomplete", "response_incomplete",
};

static const char k_h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24
#define PREFACE_NO 0xff /* the stream does not start with the preface */

const char *sniff_method_name(int method) {
  return method >= 0 && method < SNIFF_METHOD_COUNT ? k_methods[method] : k_methods[SNIFF_OTHER];
}

const char *sniff_error_name(int error) { return error > 0 && error < SNIFF_ERR_COUNT ? k_errors[error] : NULL; }

int sniff_method_of(const char *m, size_t n) {
  /* methods are case-sensitive (RFC 9110 §9.1) */
  for (int i = 0; i < SNIFF_OTHER; i++) {
    if (strlen(k_methods[i]) == n && memcmp(k_methods[i], m, n) == 0) return i;
  }
  return SNIFF_OTHER;
}

/* ---- the request ring ------------------------------------------------------------------------------- */

static sniff_req *slot(sniff_conn *c, uint64_t seq) { return &c->q[seq % SNIFF_MAX_PENDING]; }

/* The entry of the request being read, or NULL when there is none or it was already answered. */
static sniff_req *reading(sniff_conn *c) {
  if (!c->req_open || c->cur_req < c->resp_seq) return NULL;
  return slot(c, c->cur_req);
}

static void active(sniff_conn *c, sniff_req *r, int delta) {
  if (c->sink && c->sink->active) c->sink->active(c->sink->user, r->method, c->scheme, c->port_slot, delta);
}

/* Reports the oldest open entry and removes it from the ring. */
static void finish_front(sniff_conn *c, uint16_t status, uint64_t resp_body, int error) {
  sniff_req *r = slot(c, c->resp_seq);
  sniff_event ev = {
      .duration_ns = c->now > r->t0 ? c->now - r->t0 : 0,
      .req_body = r->body,
      .resp_body = resp_body,
      .status = status,
      .port = c->port,
      .method = r->method,
      .version = r->version,
      .scheme = c->scheme,
      .error = (uint8_t)error,
      .route = r->route,
      .port_slot = c->port_slot,
  };
  c->resp_seq++;
  if (r->counted) {
    r->counted = false;
    active(c, r, -1);
  }
  if (c->sink && c->sink->exchange_done) c->sink->exchange_done(c->sink->user, &ev);
}

void sniff_stop_now(sniff_conn *c, sniff_stop why) {
  if (c->mode == SNIFF_MODE_OFF) return;
  for (uint64_t s = c->resp_seq; s < c->req_seq; s++) {
    sniff_req *r = slot(c, s);
    if (r->counted) {
      r->counted = false;
      active(c, r, -1);
    }
  }
  c->resp_seq = c->req_seq;
  c->req_open = false;
  c->mode = SNIFF_MODE_OFF;
  c->stop = (uint8_t)why;
}

/* ---- request parser callbacks ----------------------------------------------------------------------- */

static int req_begin(wire_h1_parser *p) {
  sniff_conn *c = p->user;
  if (c->req_seq - c->resp_seq >= SNIFF_MAX_PENDING) {
    c->stop = SNIFF_STOP_UNEXPECTED;
    return -1;
  }
  sniff_req *r = slot(c, c->req_seq);
  memset(r, 0, sizeof *r);
  r->t0 = c->now;
  r->route = -1;
  r->method = SNIFF_OTHER;
  r->version = 11;
  c->cur_req = c->req_seq++;
  c->req_open = true;
  return 0;
}

static int req_line(wire_h1_parser *p, const char *method, size_t method_len, const char *target,
                    size_t target_len, int version) {
  sniff_conn *c = p->user;
  sniff_req *r = reading(c);
  if (!r) return 0;
  r->method = (uint8_t)sniff_method_of(method, method_len);
  r->version = (uint8_t)version;
  r->route = (int16_t)preload_routes_match(c->routes, target, target_len);
  if (r->method == SNIFF_CONNECT) {
    c->stop = SNIFF_STOP_CONNECT; /* a tunnel: nothing after this is HTTP */
    return -1;
  }
  r->counted = true;
  active(c, r, +1);
  return 0;
}

static int req_body(wire_h1_parser *p, const uint8_t *data, size_t len) {
  sniff_conn *c = p->user;
  sniff_req *r = reading(c);
  if (r) r->body += len;
  return 0;
}

static int req_complete(wire_h1_parser *p) {
  sniff_conn *c = p->user;
  sniff_req *r = reading(c);
  if (r) r->complete = true;
  c->req_open = false;
  return 0;
}

static const wire_h1_callbacks k_req_cb = {
    .on_message_begin = req_begin,
    .on_request_line = req_line,
    .on_body = req_body,
    .on_message_complete = req_complete,
};

/* ---- response parser callbacks ---------------------------------------------------------------------- */

static int resp_begin(wire_h1_parser *p) {
  sniff_conn *c = p->user;
  if (c->resp_seq >= c->req_seq) { /* a response nobody asked for: not a protocol we understand */
    c->stop = SNIFF_STOP_UNEXPECTED;
    return -1;
  }
  c->status = 0;
  c->resp_body = 0;
  return 0;
}

static int resp_status(wire_h1_parser *p, int version, int status, const char *reason, size_t reason_len) {
  sniff_conn *c = p->user;
  c->status = (uint16_t)status;
  return 0;
}

static int resp_headers_complete(wire_h1_parser *p) {
  sniff_conn *c = p->user;
  if (c->status >= 200 && slot(c, c->resp_seq)->method == SNIFF_HEAD) return WIRE_H1_SKIP_BODY;
  return 0;
}

static int resp_body(wire_h1_parser *p, const uint8_t *data, size_t len) {
  sniff_conn *c = p->user;
  c->resp_body += len;
  return 0;
}

static int resp_complete(wire_h1_parser *p) {
  sniff_conn *c = p->user;
  if (c->status == 101) { /* switching protocols: the exchange ends here, and so does HTTP/1 */
    finish_front(c, 101, 0, SNIFF_ERR_NONE);
    c->resp_stop = true;
    return WIRE_H1_PAUSE;
  }
  if (c->status < 200) return 0; /* 100 Continue, 103 Early Hints: the final response follows */
  finish_front(c, c->status, c->resp_body, SNIFF_ERR_NONE);
  if (c->upgrade_asked) { /* the server refused the upgrade: the request stream is HTTP again */
    c->upgrade_asked = false;
    wire_h1_resume(&c->req);
  }
  return 0;
}

static const wire_h1_callbacks k_resp_cb = {
    .on_message_begin = resp_begin,
    .on_status_line = resp_status,
    .on_headers_complete = resp_headers_complete,
    .on_body = resp_body,
    .on_message_complete = resp_complete,
};

/* ---- feeding ---------------------------------------------------------------------------------------- */

void sniff_init(sniff_conn *c, const sniff_sink *sink, const preload_routes *routes, uint16_t port,
                uint8_t port_slot) {
  memset(c, 0, offsetof(sniff_conn, req_win));
  c->sink = sink;
  c->routes = routes;
  c->port = port;
  c->port_slot = port_slot;
  /* Generous limits: the sniffer keeps nothing but a line window, so a big head costs nothing, and a server
   * that accepts it must not lose its metrics. */
  wire_h1_config rq = {.kind = WIRE_H1_REQUEST, .max_head_bytes = 1 << 20, .max_headers = 1000};
  wire_h1_config rs = {.kind = WIRE_H1_RESPONSE, .max_head_bytes = 1 << 20, .max_headers = 1000};
  wire_h1_parser_init(&c->req, &rq, &k_req_cb, c, c->req_win, sizeof c->req_win);
  wire_h1_parser_init(&c->resp, &rs, &k_resp_cb, c, c->resp_win, sizeof c->resp_win);
}

/* Follows the first bytes of the stream against the HTTP/2 preface. */
static void track_preface(sniff_conn *c, const uint8_t *data, size_t len) {
  while (c->preface < H2_PREFACE_LEN && len > 0) {
    if (*data != (uint8_t)k_h2_preface[c->preface]) {
      c->preface = PREFACE_NO;
      return;
    }
    c->preface++;
    data++;
    len--;
  }
}

static void feed_request(sniff_conn *c, const uint8_t *data, size_t len) {
  if (c->req_lost) return;
  if (c->preface < H2_PREFACE_LEN) {
    track_preface(c, data, len);
    if (c->preface == H2_PREFACE_LEN) {
      sniff_stop_now(c, SNIFF_STOP_HTTP2);
      return;
    }
  }
  if (c->upgrade_asked) { /* bytes after an Upgrade request, before its answer: we cannot tell what they are */
    sniff_stop_now(c, SNIFF_STOP_UPGRADE);
    return;
  }
  wire_err err;
  ssize_t n = wire_h1_parse(&c->req, data, len, &err);
  if (n < 0) {
    bool h2 = c->preface > 0 && c->preface != PREFACE_NO;
    sniff_stop_now(c, h2 ? SNIFF_STOP_HTTP2 : c->stop ? (sniff_stop)c->stop : SNIFF_STOP_PARSE);
    return;
  }
  if (wire_h1_upgraded(&c->req)) {
    if ((size_t)n < len) sniff_stop_now(c, SNIFF_STOP_UPGRADE);
    else c->upgrade_asked = true;
  }
}

static void feed_response(sniff_conn *c, const uint8_t *data, size_t len) {
  wire_err err;
  c->resp_stop = false;
  ssize_t n = wire_h1_parse(&c->resp, data, len, &err);
  if (n < 0) sniff_stop_now(c, c->stop ? (sniff_stop)c->stop : SNIFF_STOP_PARSE);
  else if (c->resp_stop || wire_h1_upgraded(&c->resp)) sniff_stop_now(c, SNIFF_STOP_UPGRADE);
}

void sniff_read_discarded(sniff_conn *c) {
  if (c->mode != SNIFF_MODE_HTTP1) return;
  c->req_lost = true;
  c->req_open = false; /* a request being read stays open (and ends at the close) but gets no more bytes */
}

void sniff_peer_closed(sniff_conn *c, int64_t now_ns) {
  c->now = now_ns;
  c->peer_eof = true;
  if (c->mode == SNIFF_MODE_HTTP1 && !c->upgrade_asked) {
    wire_err err;
    (void)wire_h1_finish(&c->req, &err); /* inside a request: reported at the close */
  }
}

void sniff_read(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (len == 0) {
    sniff_peer_closed(c, now_ns);
    return;
  }
  switch (c->mode) {
  case SNIFF_MODE_NEW:
    if (data[0] == 0x16) { /* a TLS handshake record: the plaintext comes through SSL_read */
      c->mode = SNIFF_MODE_TLS;
      return;
    }
    c->mode = SNIFF_MODE_HTTP1;
    break;
  case SNIFF_MODE_HTTP1:
    if (c->scheme == SNIFF_HTTPS) return; /* ciphertext under SSL_read */
    break;
  default:
    return;
  }
  c->now = now_ns;
  feed_request(c, data, len);
}

void sniff_read_tls(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_NEW || c->mode == SNIFF_MODE_TLS) {
    c->mode = SNIFF_MODE_HTTP1;
    c->scheme = SNIFF_HTTPS;
  }
  if (c->mode != SNIFF_MODE_HTTP1 || c->scheme != SNIFF_HTTPS) return;
  if (len == 0) {
    sniff_peer_closed(c, now_ns);
    return;
  }
  c->now = now_ns;
  feed_request(c, data, len);
}

void sniff_write(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (len == 0) return;
  if (c->mode == SNIFF_MODE_NEW) { /* the server speaks first: not HTTP */
    sniff_stop_now(c, SNIFF_STOP_UNEXPECTED);
    return;
  }
  if (c->mode != SNIFF_MODE_HTTP1 || c->scheme == SNIFF_HTTPS) return;
  c->now = now_ns;
  feed_response(c, data, len);
}

void sniff_write_tls(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (len == 0 || c->mode != SNIFF_MODE_HTTP1 || c->scheme != SNIFF_HTTPS) return;
  c->now = now_ns;
  feed_response(c, data, len);
}

/* Zeros stand in for bytes the shim cannot see: inside a body they are just counted; anywhere else the
 * parser refuses them and the connection stops being watched, which is the right answer. */
static const uint8_t k_zeros[4096];

void sniff_write_opaque(sniff_conn *c, uint64_t len, int64_t now_ns) {
  if (len == 0 || c->mode != SNIFF_MODE_HTTP1 || c->scheme == SNIFF_HTTPS) return;
  c->now = now_ns;
  while (len > 0 && c->mode == SNIFF_MODE_HTTP1) {
    size_t n = len > sizeof k_zeros ? sizeof k_zeros : (size_t)len;
    feed_response(c, k_zeros, n);
    len -= n;
  }
}

void sniff_shutdown_write(sniff_conn *c, int64_t now_ns) {
  if (c->mode != SNIFF_MODE_HTTP1) return;
  c->now = now_ns;
  c->resp_stop = false;
  wire_err err;
  if (wire_h1_body_until_close(&c->resp) && wire_h1_in_message(&c->resp)) (void)wire_h1_finish(&c->resp, &err);
}

void sniff_close(sniff_conn *c, int64_t now_ns) {
  if (c->mode != SNIFF_MODE_HTTP1) {
    sniff_stop_now(c, (sniff_stop)c->stop);
    return;
  }
  sniff_shutdown_write(c, now_ns);
  c->now = now_ns;
  bool resp_started = wire_h1_in_message(&c->resp) && c->status >= 200;
  while (c->mode == SNIFF_MODE_HTTP1 && c->resp_seq < c->req_seq) {
    sniff_req *r = slot(c, c->resp_seq);
    int error;
    if (!r->complete) error = c->peer_eof ? SNIFF_ERR_REQUEST_ABORTED : SNIFF_ERR_REQUEST_INCOMPLETE;
    else error = SNIFF_ERR_RESPONSE_INCOMPLETE;
    finish_front(c, resp_started ? c->status : 0, resp_started ? c->resp_body : 0, error);
    resp_started = false;
  }
  sniff_stop_now(c, SNIFF_STOP_NONE);
}
