/* sniffer.c — the per-connection HTTP/1 state machine of the preload shim (see sniffer.h).
 *
 * Two wire_h1 parsers run side by side: `req` over the bytes the server reads, `resp` over the bytes it writes.
 * Requests enter a small ring (q) when their first byte is read, in stream order; each final response answers
 * the oldest open entry (HTTP/1 answers in order, pipelined or not). An entry leaves the ring with an event
 * when its final response is complete, or with an error.type when the connection closes first.
 *
 * The request being read and the request being answered are tracked by sequence numbers, because a server may
 * answer before it has read the whole request (413, 404 to a POST): the entry is then gone when the rest of
 * its body arrives, and the body bytes are simply not counted any more.
 *
 * Each direction has two ways in: at a message boundary a simple head whole in one call goes through the light
 * scanner (h1scan.h) and its Content-Length body is counted in req_left/resp_left while the wire parser sits
 * idle; anything else goes to the wire parser. Both end in the same on_* functions below, so the ring, the
 * events and the active counts cannot tell which way a message came. The wire parser is only ever handed
 * bytes from a message boundary on (or the rest of a message it began), so it never sees half of a message
 * the fast path took. */
#include "autoinstr/sniffer.h"

#include <string.h>

#include "autoinstr/h1scan.h"
#include "autoinstr/sniffer_h2.h"

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

PRELOAD_HOT int sniff_method_of(const char *m, size_t n) {
  /* methods are case-sensitive (RFC 9110 §9.1) */
  switch (n) {
  case 3:
    if (!memcmp(m, "GET", 3)) return SNIFF_GET;
    if (!memcmp(m, "PUT", 3)) return SNIFF_PUT;
    break;
  case 4:
    if (!memcmp(m, "HEAD", 4)) return SNIFF_HEAD;
    if (!memcmp(m, "POST", 4)) return SNIFF_POST;
    break;
  case 5:
    if (!memcmp(m, "TRACE", 5)) return SNIFF_TRACE;
    if (!memcmp(m, "PATCH", 5)) return SNIFF_PATCH;
    break;
  case 6:
    if (!memcmp(m, "DELETE", 6)) return SNIFF_DELETE;
    break;
  case 7:
    if (!memcmp(m, "OPTIONS", 7)) return SNIFF_OPTIONS;
    if (!memcmp(m, "CONNECT", 7)) return SNIFF_CONNECT;
    break;
  default:
    break;
  }
  return SNIFF_OTHER;
}

/* The time of the current call: read from the sink's clock the first time it is needed in a call that was
 * given SNIFF_CLOCK. */
PRELOAD_HOT static int64_t now_of(sniff_conn *c) {
  if (c->now == SNIFF_CLOCK) c->now = c->sink && c->sink->clock ? c->sink->clock(c->sink->user) : 0;
  return c->now;
}

/* ---- the request ring ------------------------------------------------------------------------------- */

PRELOAD_HOT static sniff_req *slot(sniff_conn *c, uint32_t seq) { return &c->q[seq % SNIFF_MAX_PENDING]; }

/* a comes before b, modulo 2^32 (sniffer.h: sequence numbers are never more than SNIFF_MAX_PENDING apart) */
PRELOAD_HOT static inline bool seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* The entry of the request being read, or NULL when there is none or it was already answered. */
PRELOAD_HOT static sniff_req *reading(sniff_conn *c) {
  if (!c->req_open || seq_before(c->cur_req, c->resp_seq)) return NULL;
  return slot(c, c->cur_req);
}

/* r is counted in the connection's open requests (+1) or no longer (-1): c->open, sniffer.h. Only this thread
 * writes the word, so a load and a store do; the first request of a method also tells the sink. The port
 * slot and scheme bits are written when they are known (sniff_init, open_word_https), not here: a count
 * never carries into them (SNIFF_MAX_PENDING per method) and never goes below zero. */
PRELOAD_HOT static void count_open(sniff_conn *c, const sniff_req *r, int delta) {
  uint64_t w = atomic_load_explicit(&c->open, memory_order_relaxed);
  uint64_t one = 1ull << (r->method * SNIFF_OPEN_COUNT_BITS);
  if (delta < 0) {
    atomic_store_explicit(&c->open, w - one, memory_order_relaxed);
    return;
  }
  uint64_t seen = 1ull << (SNIFF_OPEN_SEEN_SHIFT + r->method);
  atomic_store_explicit(&c->open, (w + one) | seen, memory_order_relaxed);
  if (!(w & seen) && c->sink && c->sink->method_seen)
    c->sink->method_seen(c->sink->user, r->method, c->scheme, c->port_slot);
}

/* The connection turned out to be HTTPS (its first bytes came through SSL_read): before any request counted. */
static void open_word_https(sniff_conn *c) {
  uint64_t w = atomic_load_explicit(&c->open, memory_order_relaxed);
  atomic_store_explicit(&c->open, w | 1ull << SNIFF_OPEN_SCHEME_SHIFT, memory_order_relaxed);
}

/* Reports the oldest open entry and removes it from the ring. */
PRELOAD_HOT static void finish_front(sniff_conn *c, uint16_t status, uint64_t resp_body, int error) {
  sniff_req *r = slot(c, c->resp_seq);
  int64_t now = now_of(c);
  sniff_event ev = {
      .duration = now > r->t0 ? now - r->t0 : 0,
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
    count_open(c, r, -1);
  }
  /* Nothing open: the ring starts again at slot 0, so that an unpipelined connection keeps using one slot
   * (sniffer.h, "Field order"). A request still being read keeps its number: it may have been answered early. */
  if (c->resp_seq == c->req_seq && !c->req_open) c->req_seq = c->resp_seq = 0;
  if (c->sink && c->sink->exchange_done) c->sink->exchange_done(c->sink->user, &ev);
}

void sniff_stop_now(sniff_conn *c, sniff_stop why) {
  if (c->mode == SNIFF_MODE_OFF) return;
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_stop(c, why); return; }
  for (uint32_t s = c->resp_seq; s != c->req_seq; s++) {
    sniff_req *r = slot(c, s);
    if (r->counted) {
      r->counted = false;
      count_open(c, r, -1);
    }
  }
  c->resp_seq = c->req_seq;
  c->req_open = false;
  c->req_left = c->resp_left = 0;
  c->mode = SNIFF_MODE_OFF;
  c->stop = (uint8_t)why;
}

/* ---- what happens in a request, whichever way it was read ------------------------------------------- */

/* A request message begins (its first byte). -1: more than SNIFF_MAX_PENDING open (c->stop says so). */
PRELOAD_HOT static int on_req_begin(sniff_conn *c) {
  if (c->req_seq - c->resp_seq >= SNIFF_MAX_PENDING) {
    c->stop = SNIFF_STOP_UNEXPECTED;
    return -1;
  }
  sniff_req *r = slot(c, c->req_seq);
  /* field by field: a compound literal is copied from a constant in .rodata, one more page (layout.h) */
  r->t0 = now_of(c);
  r->body = 0;
  r->route = -1;
  r->method = SNIFF_OTHER;
  r->version = 11;
  r->complete = false;
  r->counted = false;
  c->cur_req = c->req_seq++;
  c->req_open = true;
  return 0;
}

/* Its request line. -1 for CONNECT: a tunnel follows (c->stop says so). */
PRELOAD_HOT static int on_req_line(sniff_conn *c, int method, const char *target, size_t target_len, int version) {
  sniff_req *r = reading(c);
  if (!r) return 0;
  r->method = (uint8_t)method;
  r->version = (uint8_t)version;
  if (c->has_routes) r->route = (int16_t)preload_routes_match(c->routes, target, target_len);
  if (method == SNIFF_CONNECT) {
    c->stop = SNIFF_STOP_CONNECT; /* a tunnel: nothing after this is HTTP */
    return -1;
  }
  r->counted = true;
  count_open(c, r, +1);
  return 0;
}

PRELOAD_HOT static void on_req_body(sniff_conn *c, size_t len) {
  sniff_req *r = reading(c);
  if (r) r->body += len;
}

PRELOAD_HOT static void on_req_complete(sniff_conn *c) {
  sniff_req *r = reading(c);
  if (r) r->complete = true;
  c->req_open = false;
}

/* ---- what happens in a response ------------------------------------------------------------------------ */

/* A response begins. -1: nobody asked for it (c->stop says so). */
PRELOAD_HOT static int on_resp_begin(sniff_conn *c) {
  if (!seq_before(c->resp_seq, c->req_seq)) { /* a response nobody asked for: not a protocol we understand */
    c->stop = SNIFF_STOP_UNEXPECTED;
    return -1;
  }
  c->status = 0;
  c->resp_body = 0;
  return 0;
}

/* A final response to HEAD has no body whatever its framing headers say (1xx/204/304: the parser knows). */
PRELOAD_HOT static bool resp_to_head(sniff_conn *c) { return c->status >= 200 && slot(c, c->resp_seq)->method == SNIFF_HEAD; }

/* The response is complete. WIRE_H1_PAUSE after a 101: HTTP ends here (c->resp_stop is set). */
PRELOAD_HOT static int on_resp_complete(sniff_conn *c) {
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
    c->req_in_msg = wire_h1_in_message(&c->req);
  }
  return 0;
}

/* ---- the wire parsers' callbacks ----------------------------------------------------------------------- */

static int req_begin(wire_h1_parser *p) { return on_req_begin(p->user); }

static int req_line(wire_h1_parser *p, const char *method, size_t method_len, const char *target,
                    size_t target_len, int version) {
  return on_req_line(p->user, sniff_method_of(method, method_len), target, target_len, version);
}

static int req_body(wire_h1_parser *p, const uint8_t *data, size_t len) {
  (void)data;
  on_req_body(p->user, len);
  return 0;
}

static int req_complete(wire_h1_parser *p) {
  on_req_complete(p->user);
  return 0;
}

static const wire_h1_callbacks k_req_cb = {
    .on_message_begin = req_begin,
    .on_request_line = req_line,
    .on_body = req_body,
    .on_message_complete = req_complete,
};

static int resp_begin(wire_h1_parser *p) { return on_resp_begin(p->user); }

static int resp_status(wire_h1_parser *p, int version, int status, const char *reason, size_t reason_len) {
  (void)version, (void)reason, (void)reason_len;
  sniff_conn *c = p->user;
  c->status = (uint16_t)status;
  return 0;
}

static int resp_headers_complete(wire_h1_parser *p) { return resp_to_head(p->user) ? WIRE_H1_SKIP_BODY : 0; }

static int resp_body(wire_h1_parser *p, const uint8_t *data, size_t len) {
  (void)data;
  sniff_conn *c = p->user;
  c->resp_body += len;
  return 0;
}

static int resp_complete(wire_h1_parser *p) { return on_resp_complete(p->user); }

static const wire_h1_callbacks k_resp_cb = {
    .on_message_begin = resp_begin,
    .on_status_line = resp_status,
    .on_headers_complete = resp_headers_complete,
    .on_body = resp_body,
    .on_message_complete = resp_complete,
};

/* ---- the fast path (h1scan.h) --------------------------------------------------------------------------- */

/* At a request boundary: takes a simple head whole in data. Returns the bytes taken (its body, if any, is
 * then counted through req_left), 0 when the wire parser must take over, -1 when the connection stopped. */
PRELOAD_HOT static ssize_t fast_request(sniff_conn *c, const uint8_t *data, size_t len) {
  h1scan_head h;
  if (!h1scan_request(data, len, &h)) return 0;
  int method = sniff_method_of(h.method, h.method_len);
  if (method == SNIFF_CONNECT) return 0; /* the wire parser knows its authority-form target */
  if (on_req_begin(c) < 0) {
    sniff_stop_now(c, (sniff_stop)c->stop);
    return -1;
  }
  (void)on_req_line(c, method, h.target, h.target_len, h.version); /* not CONNECT: cannot refuse */
  if (h.content_length > 0) c->req_left = (uint64_t)h.content_length;
  else on_req_complete(c);
  return (ssize_t)h.head_len;
}

/* At a response boundary: takes a simple final response head whole in data. Returns the bytes taken (its
 * body, if any, is then counted through resp_left) or 0 when the wire parser must take over: interim (1xx)
 * responses, bodies delimited by the close, a response nobody asked for. */
PRELOAD_HOT static size_t fast_response(sniff_conn *c, const uint8_t *data, size_t len) {
  if (!seq_before(c->resp_seq, c->req_seq)) return 0; /* unasked: the wire parser's on_resp_begin stops the connection */
  h1scan_head h;
  if (!h1scan_response(data, len, &h) || h.status < 200) return 0;
  bool no_body = h.status == 204 || h.status == 304 || slot(c, c->resp_seq)->method == SNIFF_HEAD;
  if (!no_body && h.content_length < 0) return 0;
  (void)on_resp_begin(c); /* asked for: cannot refuse */
  c->status = h.status;
  if (!no_body && h.content_length > 0) c->resp_left = (uint64_t)h.content_length;
  else (void)on_resp_complete(c); /* a final status: never pauses */
  return h.head_len;
}

/* Counts up to len bytes of a fast-path request body; returns how many were body. */
PRELOAD_HOT static size_t fast_req_body(sniff_conn *c, size_t len) {
  size_t n = len < c->req_left ? len : (size_t)c->req_left;
  on_req_body(c, n);
  c->req_left -= n;
  if (c->req_left == 0) on_req_complete(c);
  return n;
}

PRELOAD_HOT static uint64_t fast_resp_body(sniff_conn *c, uint64_t len) {
  uint64_t n = len < c->resp_left ? len : c->resp_left;
  c->resp_body += n;
  c->resp_left -= n;
  if (c->resp_left == 0) (void)on_resp_complete(c);
  return n;
}

/* ---- feeding ---------------------------------------------------------------------------------------- */

void sniff_init(sniff_conn *c, const sniff_sink *sink, const preload_routes *routes, uint16_t port,
                uint8_t port_slot) {
  /* Not the open word: another thread may be reading it (a slot used again); its counts are already 0. */
  memset(c, 0, offsetof(sniff_conn, open));
  memset((char *)c + offsetof(sniff_conn, open) + sizeof c->open, 0,
         offsetof(sniff_conn, req_win) - offsetof(sniff_conn, open) - sizeof c->open);
  atomic_store_explicit(&c->open, (uint64_t)port_slot << SNIFF_OPEN_SLOT_SHIFT, memory_order_relaxed);
  c->sink = sink;
  c->routes = routes;
  c->has_routes = routes && routes->n;
  c->port = port;
  c->port_slot = port_slot;
  /* Generous limits: the sniffer keeps nothing but a line window, so a big head costs nothing, and a server
   * that accepts it must not lose its metrics. */
  wire_h1_config rq = {.kind = WIRE_H1_REQUEST, .max_head_bytes = 1 << 20, .max_headers = 1000};
  wire_h1_config rs = {.kind = WIRE_H1_RESPONSE, .max_head_bytes = 1 << 20, .max_headers = 1000};
  wire_h1_parser_init(&c->req, &rq, &k_req_cb, c, c->req_win, sizeof c->req_win);
  wire_h1_parser_init(&c->resp, &rs, &k_resp_cb, c, c->resp_win, sizeof c->resp_win);
  c->req_in_msg = wire_h1_in_message(&c->req);
  c->resp_in_msg = wire_h1_in_message(&c->resp);
}

/* Follows the first bytes of the stream against the HTTP/2 preface. */
static size_t track_preface(sniff_conn *c, const uint8_t *data, size_t len) {
  size_t used = 0;
  while (c->preface < H2_PREFACE_LEN && used < len) {
    if (data[used] != (uint8_t)k_h2_preface[c->preface]) {
      c->preface = PREFACE_NO;
      break;
    }
    c->preface++;
    used++;
  }
  return used;
}

static void feed_request(sniff_conn *c, const uint8_t *data, size_t len);

/* The parts of feed_request() that run once per connection (the HTTP/2 preface check) or only for heads the
 * fast path leaves to the wire parser: kept off the request path's pages (layout.h). */

/* The start of the stream, while it may still be the HTTP/2 preface. True: feed_request is done with the bytes. */
PRELOAD_COLD static bool request_preface(sniff_conn *c, const uint8_t *data, size_t len) {
  uint8_t held = c->preface; /* bytes of a possible preface read before, not parsed yet */
  size_t used = track_preface(c, data, len);
  if (c->preface == H2_PREFACE_LEN) {
    if (!sniff_h2_begin(c, data + used, len - used, c->now)) sniff_stop_now(c, SNIFF_STOP_HTTP2);
    return true;
  }
  if (c->preface != PREFACE_NO) return true; /* all of it may be the HTTP/2 preface: wait for the rest */
  if (held) feed_request(c, (const uint8_t *)k_h2_preface, held); /* it was not: HTTP/1 gets them first */
  return c->mode != SNIFF_MODE_HTTP1;
}

PRELOAD_COLD static void request_parse(sniff_conn *c, const uint8_t *data, size_t len) {
  wire_err err;
  ssize_t n = wire_h1_parse(&c->req, data, len, &err);
  c->req_in_msg = wire_h1_in_message(&c->req);
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

PRELOAD_HOT static void feed_request(sniff_conn *c, const uint8_t *data, size_t len) {
  if (c->req_lost) return;
  if (c->preface < H2_PREFACE_LEN && request_preface(c, data, len)) return;
  if (c->upgrade_asked) { /* bytes after an Upgrade request, before its answer: we cannot tell what they are */
    sniff_stop_now(c, SNIFF_STOP_UPGRADE);
    return;
  }
  while (len > 0) {
    if (c->req_left) {
      size_t n = fast_req_body(c, len);
      data += n;
      len -= n;
      continue;
    }
    /* the wire parser is idle between messages (after the peer's EOF it may hold an error: its turn) */
    if (c->fast_off || c->peer_eof || c->req_in_msg) break;
    ssize_t k = fast_request(c, data, len);
    if (k < 0) return;
    if (k == 0) break;
    data += k;
    len -= (size_t)k;
  }
  if (len) request_parse(c, data, len);
}

/* A response head the fast path left to the wire parser (see request_parse). */
PRELOAD_COLD static void response_parse(sniff_conn *c, const uint8_t *data, size_t len) {
  wire_err err;
  c->resp_stop = false;
  ssize_t n = wire_h1_parse(&c->resp, data, len, &err);
  c->resp_in_msg = wire_h1_in_message(&c->resp);
  if (n < 0) sniff_stop_now(c, c->stop ? (sniff_stop)c->stop : SNIFF_STOP_PARSE);
  else if (c->resp_stop || wire_h1_upgraded(&c->resp)) sniff_stop_now(c, SNIFF_STOP_UPGRADE);
}

PRELOAD_HOT static void feed_response(sniff_conn *c, const uint8_t *data, size_t len) {
  while (len > 0) {
    if (c->resp_left) {
      size_t n = (size_t)fast_resp_body(c, len);
      data += n;
      len -= n;
      continue;
    }
    if (c->fast_off || c->resp_in_msg) break;
    size_t k = fast_response(c, data, len);
    if (k == 0) break;
    data += k;
    len -= k;
  }
  if (len) response_parse(c, data, len);
}

void sniff_read_discarded(sniff_conn *c) {
  if (c->mode == SNIFF_MODE_H2) sniff_h2_stop(c, SNIFF_STOP_LOST);
  if (c->mode != SNIFF_MODE_HTTP1) return;
  c->req_lost = true;
  c->req_open = false; /* a request being read stays open (and ends at the close) but gets no more bytes */
  c->req_left = 0;
}

void sniff_peer_closed(sniff_conn *c, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_peer_closed(c, now_ns); return; }
  c->now = now_ns;
  c->peer_eof = true;
  if (c->req_left) { /* inside a fast-path body: the request stays incomplete (aborted at the close) */
    c->req_left = 0;
    c->req_lost = true;
  }
  if (c->mode == SNIFF_MODE_HTTP1 && !c->upgrade_asked) {
    wire_err err;
    (void)wire_h1_finish(&c->req, &err); /* inside a request: reported at the close */
    c->req_in_msg = wire_h1_in_message(&c->req);
  }
}

PRELOAD_HOT void sniff_read(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_read(c, data, len, false, now_ns); return; }
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
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_read(c, data, len, true, now_ns); return; }
  if (c->mode == SNIFF_MODE_NEW || c->mode == SNIFF_MODE_TLS) {
    c->mode = SNIFF_MODE_HTTP1;
    c->scheme = SNIFF_HTTPS;
    open_word_https(c);
  }
  if (c->mode != SNIFF_MODE_HTTP1 || c->scheme != SNIFF_HTTPS) return;
  if (len == 0) {
    sniff_peer_closed(c, now_ns);
    return;
  }
  c->now = now_ns;
  feed_request(c, data, len);
}

PRELOAD_HOT void sniff_write(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (len == 0) return;
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_write(c, data, len, false, now_ns); return; }
  if (c->mode == SNIFF_MODE_NEW) { /* the server speaks first: HTTP/2's SETTINGS, or not HTTP */
    if (!sniff_h2_begin_server_first(c, data, len, false, now_ns)) sniff_stop_now(c, SNIFF_STOP_UNEXPECTED);
    return;
  }
  if (c->mode != SNIFF_MODE_HTTP1 || c->scheme == SNIFF_HTTPS) return;
  c->now = now_ns;
  feed_response(c, data, len);
}

void sniff_write_tls(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_write(c, data, len, true, now_ns); return; }
  if (c->mode == SNIFF_MODE_TLS && len && sniff_h2_begin_server_first(c, data, len, true, now_ns)) return;
  if (len == 0 || c->mode != SNIFF_MODE_HTTP1 || c->scheme != SNIFF_HTTPS) return;
  c->now = now_ns;
  feed_response(c, data, len);
}

/* Zeros stand in for bytes the shim cannot see: inside a body they are just counted; anywhere else the
 * parser refuses them and the connection stops being watched, which is the right answer. */
static const uint8_t k_zeros[4096];

PRELOAD_HOT void sniff_write_opaque(sniff_conn *c, uint64_t len, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_write_opaque(c, len, now_ns); return; }
  if (len == 0 || c->mode != SNIFF_MODE_HTTP1 || c->scheme == SNIFF_HTTPS) return;
  c->now = now_ns;
  while (len > 0 && c->mode == SNIFF_MODE_HTTP1) {
    if (c->resp_left) { /* a fast-path body: counted, no bytes needed */
      len -= fast_resp_body(c, len);
      continue;
    }
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
  if (wire_h1_body_until_close(&c->resp) && wire_h1_in_message(&c->resp)) {
    (void)wire_h1_finish(&c->resp, &err);
    c->resp_in_msg = wire_h1_in_message(&c->resp);
  }
}

void sniff_close(sniff_conn *c, int64_t now_ns) {
  if (c->mode == SNIFF_MODE_H2) { sniff_h2_close(c, now_ns); return; }
  if (c->mode != SNIFF_MODE_HTTP1) {
    sniff_stop_now(c, (sniff_stop)c->stop);
    return;
  }
  sniff_shutdown_write(c, now_ns); /* sets c->now */
  bool resp_started = (wire_h1_in_message(&c->resp) || c->resp_left > 0) && c->status >= 200;
  while (c->mode == SNIFF_MODE_HTTP1 && seq_before(c->resp_seq, c->req_seq)) {
    sniff_req *r = slot(c, c->resp_seq);
    int error;
    if (!r->complete) error = c->peer_eof ? SNIFF_ERR_REQUEST_ABORTED : SNIFF_ERR_REQUEST_INCOMPLETE;
    else error = SNIFF_ERR_RESPONSE_INCOMPLETE;
    finish_front(c, resp_started ? c->status : 0, resp_started ? c->resp_body : 0, error);
    resp_started = false;
  }
  sniff_stop_now(c, SNIFF_STOP_NONE);
}
