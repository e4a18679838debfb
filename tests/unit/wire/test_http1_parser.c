/* test_http1_parser.c — the HTTP/1.x parser and writers of wire/http1.h: every framing rule, keep-alive,
 * upgrades, limits, malformed input, and split independence (each message fed whole, byte by byte and cut at
 * every point gives the same events and the same error). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/http1.h"

/* --- an event recorder: the callbacks write a compact log, bodies are joined so that splits compare equal --- */

typedef struct rec {
  char log[16384];
  size_t n;
  char body[8192];
  size_t body_len;
  bool skip_body;    /* on_headers_complete returns WIRE_H1_SKIP_BODY */
  bool tunnel;       /* ... WIRE_H1_TUNNEL */
  bool pause;        /* on_message_complete returns WIRE_H1_PAUSE */
  int fail_on;       /* 1: on_header fails */
  int messages;
} rec;

static void logf_(rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(rec *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(r->log + r->n, sizeof r->log - r->n, fmt, ap);
  va_end(ap);
  if (k > 0) r->n += (size_t)k;
  if (r->n >= sizeof r->log) r->n = sizeof r->log - 1;
}

static int on_begin(wire_h1_parser *p) {
  logf_(p->user, "B;");
  return 0;
}
static int on_req(wire_h1_parser *p, const char *m, size_t ml, const char *t, size_t tl, int v) {
  logf_(p->user, "R:%.*s %.*s %d;", (int)ml, m, (int)tl, t, v);
  return 0;
}
static int on_status(wire_h1_parser *p, int v, int status, const char *r, size_t rl) {
  logf_(p->user, "S:%d %d %.*s;", v, status, (int)rl, r);
  return 0;
}
static int on_header(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  rec *r = p->user;
  if (r->fail_on == 1) return -1;
  logf_(r, "H:%.*s=%.*s;", (int)nl, n, (int)vl, v);
  return 0;
}
static int on_hc(wire_h1_parser *p) {
  rec *r = p->user;
  logf_(r, "C:ka=%d cl=%lld ch=%d eof=%d;", wire_h1_keep_alive(p), (long long)wire_h1_content_length(p),
        wire_h1_chunked(p), wire_h1_body_until_close(p));
  r->body_len = 0;
  return r->tunnel ? WIRE_H1_TUNNEL : r->skip_body ? WIRE_H1_SKIP_BODY : 0;
}
static int on_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  rec *r = p->user;
  CHECK(n > 0);
  if (r->body_len + n <= sizeof r->body) memcpy(r->body + r->body_len, d, n);
  r->body_len += n;
  return 0;
}
static int on_trailer(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  logf_(p->user, "T:%.*s=%.*s;", (int)nl, n, (int)vl, v);
  return 0;
}
static int on_done(wire_h1_parser *p) {
  rec *r = p->user;
  if (r->body_len) logf_(r, "D:%.*s;", (int)(r->body_len < sizeof r->body ? r->body_len : sizeof r->body), r->body);
  r->body_len = 0;
  logf_(r, "E%s;", wire_h1_upgraded(p) ? "+up" : "");
  r->messages++;
  return r->pause ? WIRE_H1_PAUSE : 0;
}

static const wire_h1_callbacks rec_cbs = {on_begin, on_req, on_status, on_header, on_hc, on_body, on_trailer, on_done};

typedef struct result {
  char log[16384];
  int rc;            /* 0, or -1 */
  char err[256];
  int status;        /* wire_h1_error_status */
  size_t consumed;
} result;

/* Feeds `in` in pieces of `step` bytes (0: whole), then (if `finish`) ends the stream. */
static void run_with(wire_h1_kind kind, const char *in, size_t len, size_t step, bool finish, rec *proto,
                     const wire_h1_config *cfgp, size_t window, result *out) {
  rec *r = calloc(1, sizeof *r);
  if (proto) {
    r->skip_body = proto->skip_body;
    r->tunnel = proto->tunnel;
    r->pause = proto->pause;
    r->fail_on = proto->fail_on;
  }
  wire_h1_config cfg = {0};
  if (cfgp) cfg = *cfgp;
  cfg.kind = kind;
  char *win = malloc(window);
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, &rec_cbs, r, win, window);
  memset(out, 0, sizeof *out);
  wire_err err = {0};
  size_t pos = 0;
  out->rc = 0;
  while (pos < len) {
    size_t n = step ? (len - pos < step ? len - pos : step) : len - pos;
    ssize_t k = wire_h1_parse(&p, (const uint8_t *)in + pos, n, &err);
    if (k < 0) {
      out->rc = -1;
      break;
    }
    pos += (size_t)k;
    if ((size_t)k < n) break; /* paused or upgraded */
  }
  out->consumed = pos;
  if (out->rc == 0 && finish && wire_h1_finish(&p, &err) < 0) out->rc = -1;
  if (out->rc < 0) {
    snprintf(out->err, sizeof out->err, "%s", err.msg);
    out->status = wire_h1_error_status(&p);
  }
  memcpy(out->log, r->log, sizeof out->log);
  free(win);
  free(r);
}

static void run(wire_h1_kind kind, const char *in, result *out) {
  run_with(kind, in, strlen(in), 0, true, NULL, NULL, WIRE_H1_DEFAULT_WINDOW, out);
}

/* Parses `in` whole, byte by byte and cut at every single point; all must agree with each other. */
static void check_split_invariance_cfg(wire_h1_kind kind, const char *in, size_t len, const wire_h1_config *cfg,
                                       size_t window) {
  result whole, piece;
  run_with(kind, in, len, 0, true, NULL, cfg, window, &whole);
  run_with(kind, in, len, 1, true, NULL, cfg, window, &piece);
  CHECK_STR(piece.log, whole.log);
  CHECK_STR(piece.err, whole.err);
  CHECK_EQ(piece.rc, whole.rc);
  for (size_t cut = 1; cut < len; cut++) {
    /* two feeds: [0,cut) and [cut,len) */
    rec *r = calloc(1, sizeof *r);
    wire_h1_config c = {0};
    if (cfg) c = *cfg;
    c.kind = kind;
    char *win = malloc(window);
    wire_h1_parser p;
    wire_h1_parser_init(&p, &c, &rec_cbs, r, win, window);
    wire_err err = {0};
    int rc = 0;
    if (wire_h1_parse(&p, (const uint8_t *)in, cut, &err) < 0 ||
        wire_h1_parse(&p, (const uint8_t *)in + cut, len - cut, &err) < 0 || wire_h1_finish(&p, &err) < 0)
      rc = -1;
    CHECK_EQ(rc, whole.rc);
    CHECK_MSG(strcmp(r->log, whole.log) == 0, "cut %zu: log differs:\n  %s\n  %s", cut, r->log, whole.log);
    if (rc < 0) CHECK_MSG(strcmp(err.msg, whole.err) == 0, "cut %zu: error differs: %s / %s", cut, err.msg, whole.err);
    free(win);
    free(r);
  }
}

static void check_split_invariance(wire_h1_kind kind, const char *in) {
  check_split_invariance_cfg(kind, in, strlen(in), NULL, WIRE_H1_DEFAULT_WINDOW);
}

/* Expects an error whose message contains `what`, with the suggested status, and checks it is split-invariant. */
static void expect_error(wire_h1_kind kind, const char *in, const char *what, int status) {
  result r;
  run(kind, in, &r);
  CHECK_MSG(r.rc == -1, "expected an error (%s) for: %s", what, in);
  CHECK_CONTAINS(r.err, what);
  CHECK_CONTAINS(r.err, "at offset");
  if (status) CHECK_EQ(r.status, status);
  check_split_invariance(kind, in);
}

/* Expects `in` to parse without error into exactly the events `want`. */
static void expect_log(wire_h1_kind kind, const char *in, const char *want) {
  result r;
  run(kind, in, &r);
  CHECK_MSG(r.rc == 0, "unexpected error (%s) for: %s", r.err, in);
  CHECK_STR(r.log, want);
}

/* Expects `in` to parse without error into events among which is the run `want`. */
static void expect_log_has(wire_h1_kind kind, const char *in, const char *want) {
  result r;
  run(kind, in, &r);
  CHECK_MSG(r.rc == 0, "unexpected error (%s) for: %s", r.err, in);
  CHECK_CONTAINS(r.log, want);
}

/* --- requests --- */

static void test_simple_get(void) {
  expect_log(WIRE_H1_REQUEST, "GET /v1/metrics?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8  \r\n\r\n", "B;R:GET /v1/metrics?x=1 11;H:Host=example.com;H:User-Agent=curl/8;"
                                                                                                                    "C:ka=1 cl=-1 ch=0 eof=0;E;");
}

static void test_post_content_length(void) {
  expect_log(WIRE_H1_REQUEST, "POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", "B;R:POST /x 11;H:Content-Length=11;C:ka=1 cl=11 ch=0 eof=0;D:hello world;E;");
  /* same value twice (list and repeated header) is fine */
  expect_log_has(WIRE_H1_REQUEST, "POST /x HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-length: 3\r\n\r\nabc", "D:abc;E;");
  /* zero length */
  expect_log_has(WIRE_H1_REQUEST, "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "cl=0 ch=0 eof=0;E;");
}

static void test_chunked_request(void) {
  const char *in = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5;name=value;x\r\nhello\r\n"
                   "00006 \t;ext\r\n world\r\n"
                   "A\r\n0123456789\r\n"
                   "0\r\nX-Checksum: abc\r\nX-Other:  d \r\n\r\n";
  expect_log(WIRE_H1_REQUEST, in, "B;R:POST /c 11;H:Host=h;H:Transfer-Encoding=chunked;C:ka=1 cl=-1 ch=1 eof=0;"
                                  "T:X-Checksum=abc;T:X-Other=d;D:hello world0123456789;E;");
  check_split_invariance(WIRE_H1_REQUEST, in);
  /* no trailers, TE in another case and with OWS */
  expect_log_has(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\ntransfer-encoding:  CHUNKED \r\n\r\n3\r\nabc\r\n0\r\n\r\n", "D:abc;E;");
}

static void test_pipelined_requests(void) {
  const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                   "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
                   "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                   "GET /4 HTTP/1.0\r\n\r\n";
  expect_log(WIRE_H1_REQUEST, in, "B;R:GET /1 11;H:Host=a;C:ka=1 cl=-1 ch=0 eof=0;E;"
                                  "B;R:POST /2 11;H:Content-Length=2;C:ka=1 cl=2 ch=0 eof=0;D:hi;E;"
                                  "B;R:POST /3 11;H:Transfer-Encoding=chunked;C:ka=1 cl=-1 ch=1 eof=0;D:x;E;"
                                  "B;R:GET /4 10;C:ka=0 cl=-1 ch=0 eof=0;E;");
  check_split_invariance(WIRE_H1_REQUEST, in);
}

static void test_pause_after_message(void) {
  const char *in = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
  rec proto = {.pause = true};
  result r;
  run_with(WIRE_H1_REQUEST, in, strlen(in), 0, false, &proto, NULL, 1024, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.consumed, strlen("GET /1 HTTP/1.1\r\n\r\n"));
  CHECK_STR(r.log, "B;R:GET /1 11;C:ka=1 cl=-1 ch=0 eof=0;E;");
}

static void test_keep_alive_rules(void) {
  result r;
  run(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=0");
  run(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nConnection: foo, Keep-Alive\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=1");
  run(WIRE_H1_REQUEST, "GET / HTTP/1.0\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=0");
  run(WIRE_H1_REQUEST, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=1");
  run(WIRE_H1_REQUEST, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=0");
  /* HTTP/1.2+ is treated as 1.1 */
  run(WIRE_H1_REQUEST, "GET / HTTP/1.7\r\n\r\n", &r);
  CHECK_STR(r.log, "B;R:GET / 11;C:ka=1 cl=-1 ch=0 eof=0;E;");
  /* responses */
  run(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=1");
  run(WIRE_H1_RESPONSE, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=0");
  run(WIRE_H1_RESPONSE, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", &r);
  CHECK_CONTAINS(r.log, "ka=1");
}

static void test_expect_continue(void) {
  wire_h1_config cfg = {.kind = WIRE_H1_REQUEST};
  char win[256];
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, NULL, NULL, win, sizeof win);
  const char *in = "PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)in, strlen(in), NULL), (ssize_t)strlen(in));
  CHECK(wire_h1_expect_continue(&p));
  CHECK(wire_h1_in_message(&p));
  CHECK_EQ(wire_h1_content_length(&p), 5);
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)"12345", 5, NULL), 5);
  CHECK(!wire_h1_in_message(&p));
  /* HTTP/1.0 clients cannot expect 100-continue */
  in = "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)in, strlen(in), NULL), (ssize_t)strlen(in));
  CHECK(!wire_h1_expect_continue(&p));
}

static void test_connect_and_upgrade(void) {
  const char *in = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01tls bytes";
  result r;
  run(WIRE_H1_REQUEST, in, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.consumed, strlen(in) - strlen("\x16\x03\x01tls bytes"));
  CHECK_STR(r.log, "B;R:CONNECT example.com:443 11;H:Host=example.com:443;C:ka=1 cl=-1 ch=0 eof=0;E+up;");

  /* Upgrade request with a body: the body is read, then parsing stops */
  const char *up = "GET /chat HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                   "Content-Length: 2\r\n\r\nhiWSFRAME";
  run(WIRE_H1_REQUEST, up, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.consumed, strlen(up) - strlen("WSFRAME"));
  CHECK_CONTAINS(r.log, "D:hi;E+up;");

  /* The server refuses the upgrade: resume treats the rest as HTTP */
  wire_h1_config cfg = {.kind = WIRE_H1_REQUEST};
  rec *rc = calloc(1, sizeof *rc);
  char win[512];
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, &rec_cbs, rc, win, sizeof win);
  const char *two = "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
  ssize_t k = wire_h1_parse(&p, (const uint8_t *)two, strlen(two), NULL);
  CHECK(k > 0 && (size_t)k < strlen(two));
  CHECK(wire_h1_upgraded(&p));
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)two + k, strlen(two) - (size_t)k, NULL), 0);
  CHECK_EQ(wire_h1_finish(&p, NULL), 0);
  wire_h1_resume(&p);
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)two + k, strlen(two) - (size_t)k, NULL), (ssize_t)(strlen(two) - (size_t)k));
  CHECK_CONTAINS(rc->log, "R:GET /next 11;");
  free(rc);

  /* Upgrade header without Connection: upgrade is just a header */
  expect_log(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n", "B;R:GET / 11;H:Upgrade=websocket;C:ka=1 cl=-1 ch=0 eof=0;E;B;R:GET / 11;C:ka=1 cl=-1 ch=0 eof=0;E;");
}

static void test_request_targets(void) {
  result r;
  run(WIRE_H1_REQUEST, "OPTIONS * HTTP/1.1\r\n\r\n", &r);
  CHECK_EQ(r.rc, 0);
  run(WIRE_H1_REQUEST, "GET http://example.com/x HTTP/1.1\r\n\r\n", &r);
  CHECK_EQ(r.rc, 0);
  run(WIRE_H1_REQUEST, "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", &r);
  CHECK_EQ(r.rc, 0);
  run(WIRE_H1_REQUEST, "M-SEARCH /x HTTP/1.1\r\n\r\n", &r);
  CHECK_EQ(r.rc, 0);
  expect_error(WIRE_H1_REQUEST, "GET example.com/x HTTP/1.1\r\n\r\n", "request target is not a path", 400);
  expect_error(WIRE_H1_REQUEST, "GET  /x HTTP/1.1\r\n\r\n", "empty request target", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x  HTTP/1.1\r\n\r\n", "malformed HTTP version", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x\x01y HTTP/1.1\r\n\r\n", "invalid character in request target", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x\x7fy HTTP/1.1\r\n\r\n", "invalid character in request target", 400);
  expect_error(WIRE_H1_REQUEST, "G(T /x HTTP/1.1\r\n\r\n", "invalid character in method", 400);
  expect_error(WIRE_H1_REQUEST, " GET /x HTTP/1.1\r\n\r\n", "invalid character in method", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x\r\n\r\n", "without HTTP version", 400);
  expect_error(WIRE_H1_REQUEST, "GET\r\n\r\n", "without target", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x HTTP/2.0\r\n\r\n", "unsupported HTTP version", 505);
  expect_error(WIRE_H1_REQUEST, "GET /x http/1.1\r\n\r\n", "malformed HTTP version", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x HTTP/1.10\r\n\r\n", "malformed HTTP version", 400);
  expect_error(WIRE_H1_REQUEST, "GET /x HTTP/1.1\rX\r\n\r\n", "bare CR", 400);
}

static void test_leading_empty_lines_and_bare_lf(void) {
  result r;
  expect_log(WIRE_H1_REQUEST, "\r\n\r\n\nGET / HTTP/1.1\nHost: a\n\nPOST / HTTP/1.1\nContent-Length: 1\n\nx", "B;R:GET / 11;H:Host=a;C:ka=1 cl=-1 ch=0 eof=0;E;B;R:POST / 11;H:Content-Length=1;"
                                                                                                              "C:ka=1 cl=1 ch=0 eof=0;D:x;E;");
  /* chunked with bare LF */
  expect_log_has(WIRE_H1_REQUEST, "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n", "D:ab;E;");
  /* strict mode rejects bare LF everywhere */
  wire_h1_config strict = {.strict_crlf = true};
  const char *in = "GET / HTTP/1.1\nHost: a\r\n\r\n";
  run_with(WIRE_H1_REQUEST, in, strlen(in), 0, true, NULL, &strict, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "bare LF as line end at offset 14");
  in = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n";
  run_with(WIRE_H1_REQUEST, in, strlen(in), 0, true, NULL, &strict, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "chunk data not followed by CRLF");
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, strlen(in), &strict, 1024);
}

/* --- framing errors --- */

static void test_content_length_errors(void) {
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
               "differing Content-Length headers", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", "differing Content-Length values",
               400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", "non-digit in Content-Length", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "non-digit in Content-Length", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", "non-digit in Content-Length", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "non-digit in Content-Length", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "empty Content-Length", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
               "Content-Length overflows", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
               "Content-Length overflows", 400);
  result r;
  run(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", &r);
  CHECK_EQ(r.rc, -1); /* accepted as a length, then the stream ends too early */
  CHECK_CONTAINS(r.err, "body bytes missing");
  /* offset of the offending byte */
  run(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", &r);
  CHECK_CONTAINS(r.err, "at offset 35");
}

static void test_transfer_encoding_errors(void) {
  expect_error(WIRE_H1_REQUEST,
               "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               "request smuggling", 400);
  expect_error(WIRE_H1_REQUEST,
               "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
               "request smuggling", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
               "transfer coding other than chunked", 501);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
               "transfer coding other than chunked", 501);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
               "transfer coding other than chunked", 501);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               "chunked applied more than once", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
               "Transfer-Encoding in an HTTP/1.0 request", 400);
  expect_error(WIRE_H1_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n", "invalid transfer coding",
               400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
               "chunked applied more than once", 400);
}

static void test_chunk_errors(void) {
  const char *h = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  char in[512];
  struct { const char *body, *what; } cases[] = {
      {"g\r\n", "chunk size without hex digits"},
      {"\r\n", "chunk size without hex digits"},
      {"-1\r\n", "chunk size without hex digits"},
      {"0x5\r\n", "invalid character in chunk size"},
      {"5 x\r\n", "invalid character in chunk size"},
      {"8000000000000000\r\n", "chunk size overflows"},
      {"fffffffffffffffffff\r\n", "chunk size overflows"},
      {"5;a\x01\r\n", "control character in chunk extension"},
      {"3\r\nabcX\r\n", "chunk data not followed by CRLF"},
      {"3\r\nabc\rX", "chunk data not followed by CRLF"},
      {"0\r\nBad Trailer: x\r\n\r\n", "whitespace between header name and colon"},
      {"0\r\nX: a\r\n folded\r\n\r\n", "obsolete line folding"},
      {"1\r\na\r\n0\r\nX: \x01\r\n\r\n", "control character 0x01 in header value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(in, sizeof in, "%s%s", h, cases[i].body);
    expect_error(WIRE_H1_REQUEST, in, cases[i].what, 400);
  }
  /* 7fffffffffffffff is the largest chunk accepted */
  result r;
  snprintf(in, sizeof in, "%s7fffffffffffffff\r\nab", h);
  run(WIRE_H1_REQUEST, in, &r);
  CHECK_CONTAINS(r.err, "connection closed inside the chunked body");
}

static void test_header_errors(void) {
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "whitespace between header name and colon", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\n  b\r\n\r\n", "obsolete line folding", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", "whitespace before the first header", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nHost a\r\n\r\n", "whitespace between header name and colon", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nHosta\r\n\r\n", "header line without colon", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\n: a\r\n\r\n", "empty header name", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nX-(a): a\r\n\r\n", "invalid character 0x28 in header name", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "control character 0x7f in header value", 400);
  expect_error(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "bare CR", 400);
  /* NUL bytes: in a value and in a name (strlen-free input) */
  static const char nul_value[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
  static const char nul_name[] = "GET / HTTP/1.1\r\nX\0Y: ab\r\n\r\n";
  result r;
  run_with(WIRE_H1_REQUEST, nul_value, sizeof nul_value - 1, 0, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "control character 0x00 in header value at offset 20");
  check_split_invariance_cfg(WIRE_H1_REQUEST, nul_value, sizeof nul_value - 1, NULL, 1024);
  run_with(WIRE_H1_REQUEST, nul_name, sizeof nul_name - 1, 0, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "invalid character 0x00 in header name at offset 17");
  /* empty values and obs-text are fine */
  expect_log_has(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", "H:X-Empty=;H:X-Utf8=caf\xc3\xa9;");
}

static void test_limits(void) {
  /* request line longer than the window: 414 */
  char big[4096];
  memset(big, 'a', sizeof big);
  char in[8192];
  int n = snprintf(in, sizeof in, "GET /%.*s HTTP/1.1\r\n\r\n", 2000, big);
  result r;
  run_with(WIRE_H1_REQUEST, in, (size_t)n, 0, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_EQ(r.status, 414);
  CHECK_CONTAINS(r.err, "start line longer than 1024 bytes at offset 1024");
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, NULL, 1024);
  /* a header line longer than the window: 431 */
  n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\nX: %.*s\r\n\r\n", 1100, big);
  run_with(WIRE_H1_REQUEST, in, (size_t)n, 0, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.status, 431);
  CHECK_CONTAINS(r.err, "header line longer than 1024 bytes at offset 1040");
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, NULL, 1024);
  /* a line of exactly the window (CR included) fits */
  n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\nX: %.*s\r\n\r\n", 1024 - 4, big);
  run_with(WIRE_H1_REQUEST, in, (size_t)n, 1, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_STR(r.err, "");
  /* head bytes */
  wire_h1_config cfg = {.max_head_bytes = 100};
  n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\nA: %.*s\r\nB: %.*s\r\n\r\n", 40, big, 40, big);
  run_with(WIRE_H1_REQUEST, in, (size_t)n, 0, true, NULL, &cfg, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_EQ(r.status, 431);
  CHECK_CONTAINS(r.err, "header section exceeds 100 bytes at offset 100");
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, &cfg, 1024);
  /* both limits on one line: the one broken first wins, whatever the split */
  cfg.max_head_bytes = 64;
  n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\nA: %.*s\r\n\r\n", 200, big);
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, &cfg, 80);
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, &cfg, 64);
  check_split_invariance_cfg(WIRE_H1_REQUEST, in, (size_t)n, &cfg, 48);
  /* header count */
  cfg = (wire_h1_config){.max_headers = 3};
  const char *three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  run_with(WIRE_H1_REQUEST, three, strlen(three), 0, true, NULL, &cfg, 1024, &r);
  CHECK_EQ(r.rc, 0);
  const char *four = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  run_with(WIRE_H1_REQUEST, four, strlen(four), 0, true, NULL, &cfg, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_EQ(r.status, 431);
  CHECK_CONTAINS(r.err, "more than 3 header fields");
  /* endless empty lines */
  memset(in, '\n', 200);
  cfg = (wire_h1_config){.max_head_bytes = 100};
  run_with(WIRE_H1_REQUEST, in, 200, 7, true, NULL, &cfg, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "empty lines before a start line at offset 100");
  /* trailers are limited too */
  cfg = (wire_h1_config){.max_headers = 1};
  const char *tr = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\n";
  run_with(WIRE_H1_REQUEST, tr, strlen(tr), 0, true, NULL, &cfg, 1024, &r);
  CHECK_CONTAINS(r.err, "more than 1 trailer fields");
  /* chunk-size line (extensions) bounded by the window */
  n = snprintf(in, sizeof in, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;%.*s\r\n", 300, big);
  run_with(WIRE_H1_REQUEST, in, (size_t)n, 0, true, NULL, NULL, 256, &r);
  CHECK_CONTAINS(r.err, "chunk-size line longer than 256 bytes");
}

static void test_truncated(void) {
  struct { const char *in, *what; } cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n", "connection closed inside the message head"},
      {"GET / HT", "connection closed inside the message head"},
      {"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", "connection closed with 7 body bytes missing"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "inside the chunked body"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "inside the chunked body"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    result r;
    run(WIRE_H1_REQUEST, cases[i].in, &r);
    CHECK_EQ(r.rc, -1);
    CHECK_CONTAINS(r.err, cases[i].what);
    check_split_invariance(WIRE_H1_REQUEST, cases[i].in);
  }
  /* a stream ending between messages is fine, with or without trailing empty lines */
  result r;
  run(WIRE_H1_REQUEST, "GET / HTTP/1.1\r\n\r\n\r\n", &r);
  CHECK_EQ(r.rc, 0);
  run(WIRE_H1_REQUEST, "", &r);
  CHECK_EQ(r.rc, 0);
}

static void test_callback_abort_and_sticky_error(void) {
  rec proto = {.fail_on = 1};
  result r;
  const char *in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  run_with(WIRE_H1_REQUEST, in, strlen(in), 0, true, &proto, NULL, 1024, &r);
  CHECK_EQ(r.rc, -1);
  CHECK_CONTAINS(r.err, "stopped by the on_header callback at offset 16");

  wire_h1_config cfg = {.kind = WIRE_H1_REQUEST};
  char win[128];
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, NULL, NULL, win, sizeof win);
  wire_err e1, e2;
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)"BAD\x01 / HTTP/1.1\r\n", 17, &e1), -1);
  CHECK_EQ(e1.code, WIRE_E_INVALID);
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, &e2), -1);
  CHECK_STR(e2.msg, e1.msg);
  CHECK_EQ(wire_h1_finish(&p, &e2), -1);
  CHECK_EQ(wire_h1_error_offset(&p), 3);
  wire_h1_parser_reset(&p);
  CHECK_EQ(wire_h1_parse(&p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, &e2), 18);
}

/* --- responses --- */

static void test_responses(void) {
  result r;
  expect_log(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "B;S:11 200 OK;H:Content-Length=5;C:ka=1 cl=5 ch=0 eof=0;D:hello;E;");
  /* reasons: empty, missing SP, with spaces and obs-text */
  run(WIRE_H1_RESPONSE, "HTTP/1.1 204 \r\n\r\nHTTP/1.1 204\r\n\r\nHTTP/1.1 404 Not \xc3\xa9 Found\r\nContent-Length: 0\r\n\r\n",
      &r);
  CHECK_EQ(r.rc, 0);
  CHECK_STR(r.log, "B;S:11 204 ;C:ka=1 cl=-1 ch=0 eof=0;E;B;S:11 204 ;C:ka=1 cl=-1 ch=0 eof=0;E;"
                   "B;S:11 404 Not \xc3\xa9 Found;H:Content-Length=0;C:ka=1 cl=0 ch=0 eof=0;E;");
  /* chunked, with trailers */
  run(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 0\r\n\r\n",
      &r);
  CHECK_EQ(r.rc, 0);
  CHECK_CONTAINS(r.log, "ch=1 eof=0;T:Grpc-Status=0;D:abc;E;");
  /* TE overrides CL, and the connection is then not reused */
  run(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
      &r);
  CHECK_EQ(r.rc, 0);
  CHECK_CONTAINS(r.log, "C:ka=0 cl=-1 ch=1 eof=0;D:x;E;");
  /* TE without final chunked: until close */
  expect_log_has(WIRE_H1_RESPONSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nrawbytes", "C:ka=0 cl=-1 ch=0 eof=1;D:rawbytes;E;");
  /* neither: until close; HTTP/1.0 too */
  const char *eof = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of this\r\n\r\nHTTP/1.1 200 OK\r\n";
  expect_log(WIRE_H1_RESPONSE, eof, "B;S:10 200 OK;H:Server=x;C:ka=0 cl=-1 ch=0 eof=1;D:all of this\r\n\r\nHTTP/1.1 200 OK\r\n;E;");
  check_split_invariance(WIRE_H1_RESPONSE, eof);
  /* no finish: the body is not complete yet */
  run_with(WIRE_H1_RESPONSE, eof, strlen(eof), 0, false, NULL, NULL, 1024, &r);
  CHECK(strstr(r.log, "E;") == NULL);
}

static void test_bodyless_responses(void) {
  result r;
  /* 204 and 304 ignore their framing headers */
  const char *in = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
                   "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  expect_log(WIRE_H1_RESPONSE, in, "B;S:11 204 No Content;H:Content-Length=10;C:ka=1 cl=10 ch=0 eof=0;E;"
                                   "B;S:11 304 Not Modified;H:Transfer-Encoding=chunked;C:ka=1 cl=-1 ch=0 eof=0;E;"
                                   "B;S:11 200 OK;H:Content-Length=2;C:ka=1 cl=2 ch=0 eof=0;D:ok;E;");
  check_split_invariance(WIRE_H1_RESPONSE, in);
  /* 100 Continue and 103 Early Hints are complete messages; the real response follows */
  in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
       "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  expect_log(WIRE_H1_RESPONSE, in, "B;S:11 100 Continue;C:ka=1 cl=-1 ch=0 eof=0;E;B;S:11 103 Early Hints;H:Link=</a>;"
                                   "C:ka=1 cl=-1 ch=0 eof=0;E;B;S:11 201 Created;H:Content-Length=0;C:ka=1 cl=0 ch=0 eof=0;E;");
  check_split_invariance(WIRE_H1_RESPONSE, in);
  /* a response to HEAD: the callback says there is no body */
  rec proto = {.skip_body = true};
  in = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
  run_with(WIRE_H1_RESPONSE, in, strlen(in), 0, true, &proto, NULL, 1024, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_STR(r.log, "B;S:11 200 OK;H:Content-Length=1000;C:ka=1 cl=1000 ch=0 eof=0;E;"
                   "B;S:11 200 OK;C:ka=0 cl=-1 ch=0 eof=1;E;");
  /* 101 Switching Protocols stops the parser */
  in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
  run(WIRE_H1_RESPONSE, in, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.consumed, strlen(in) - 7);
  CHECK_CONTAINS(r.log, "E+up;");
  /* 200 to CONNECT: the callback says tunnel */
  proto = (rec){.tunnel = true};
  in = "HTTP/1.1 200 Connection established\r\n\r\nTLS...";
  run_with(WIRE_H1_RESPONSE, in, strlen(in), 0, true, &proto, NULL, 1024, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.consumed, strlen(in) - 6);
  CHECK_CONTAINS(r.log, "eof=1;E+up;"); /* flags as decided before the callback; the body is skipped */
}

static void test_status_line_errors(void) {
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 20 OK\r\n\r\n", "invalid status code", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 2000 OK\r\n\r\n", "invalid status code", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 099 X\r\n\r\n", "status code below 100", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 abc OK\r\n\r\n", "invalid status code", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1 200 O\x01K\r\n\r\n", "control character in reason", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/3.0 200 OK\r\n\r\n", "unsupported HTTP version", 505);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1\r\n\r\n", "status line too short", 400);
  expect_error(WIRE_H1_RESPONSE, "ICY 200 OK\r\n\r\n", "malformed HTTP version", 400);
  expect_error(WIRE_H1_RESPONSE, "HTTP/1.1  200 OK\r\n\r\n", "invalid status code", 400);
}

/* --- split independence over a set of messages --- */

static void test_every_split_point(void) {
  const char *requests[] = {
      "GET /a HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
      "POST /p HTTP/1.1\r\nContent-Length: 7\r\n\r\n1234567",
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n2\r\nef\r\n0\r\nT: v\r\n\r\n",
      "\r\nPOST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n4\nabcd\n0\n\n",
      "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
  };
  for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
    check_split_invariance(WIRE_H1_REQUEST, requests[i]);
  const char *responses[] = {
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
      "HTTP/1.0 200 OK\r\n\r\nbody until close",
  };
  for (size_t i = 0; i < sizeof responses / sizeof responses[0]; i++)
    check_split_invariance(WIRE_H1_RESPONSE, responses[i]);
}

/* --- writers --- */

static void test_write_request_head(void) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "Content-Type", "application/x-protobuf", NULL);
  wire_headers_add_cstr(&h, "content-length", "999", NULL);
  wire_headers_add_cstr(&h, "host", "ignored", NULL);
  CHECK_EQ(wire_h1_write_request_head(&b, "POST", "/v1/metrics", "collector:4318", &h, 12, NULL), 0);
  CHECK_EQ(wire_buf_append(&b, "", 1, NULL), 0);
  CHECK_STR((char *)b.data, "POST /v1/metrics HTTP/1.1\r\nhost: collector:4318\r\ncontent-type: application/x-protobuf\r\n"
                            "content-length: 12\r\n\r\n");
  wire_buf_reset(&b);
  CHECK_EQ(wire_h1_write_request_head(&b, "POST", "/", NULL, NULL, WIRE_H1_CHUNKED_BODY, NULL), 0);
  CHECK_EQ(wire_h1_write_chunk(&b, "hello", 5, NULL), 0);
  CHECK_EQ(wire_h1_write_chunk(&b, "", 0, NULL), 0);
  char big[300];
  memset(big, 'z', sizeof big);
  CHECK_EQ(wire_h1_write_chunk(&b, big, sizeof big, NULL), 0);
  wire_headers t;
  wire_headers_init(&t, 0, 0);
  wire_headers_add_cstr(&t, "x-sum", "1", NULL);
  CHECK_EQ(wire_h1_write_last_chunk(&b, &t, NULL), 0);
  /* what the writers produce, the parser reads */
  result r;
  run_with(WIRE_H1_REQUEST, (const char *)b.data, b.len, 0, true, NULL, NULL, 1024, &r);
  CHECK_EQ(r.rc, 0);
  CHECK_CONTAINS(r.log, "B;R:POST / 11;H:transfer-encoding=chunked;C:ka=1 cl=-1 ch=1 eof=0;T:x-sum=1;D:hellozzz");
  CHECK(strstr((char *)b.data, "\r\n12c\r\n") != NULL);
  /* injection attempts are refused, and leave the buffer as it was */
  size_t before = b.len;
  wire_err e;
  wire_headers_reset(&h);
  wire_headers_add_cstr(&h, "x-evil", "a\r\nInjected: yes", NULL);
  CHECK_EQ(wire_h1_write_request_head(&b, "GET", "/", "h", &h, -1, &e), -1);
  CHECK_EQ(e.code, WIRE_E_INVALID);
  CHECK(strstr(e.msg, "Injected") == NULL);
  CHECK_EQ(b.len, before);
  CHECK_EQ(wire_h1_write_request_head(&b, "GET", "/a b", "h", NULL, -1, &e), -1);
  CHECK_EQ(wire_h1_write_request_head(&b, "GE T", "/", "h", NULL, -1, &e), -1);
  CHECK_EQ(wire_h1_write_request_head(&b, "GET", "/", "h\r\nX: y", NULL, -1, &e), -1);
  CHECK_EQ(wire_h1_write_header(&b, "bad name", 8, "v", 1, &e), -1);
  CHECK_EQ(b.len, before);
  wire_headers_free(&h);
  wire_headers_free(&t);
  wire_buf_free(&b);
}

static void test_write_response_head(void) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "text/plain", NULL);
  wire_headers_add_cstr(&h, "Connection", "keep-alive", NULL);
  wire_headers_add_cstr(&h, "Transfer-Encoding", "chunked", NULL);
  CHECK_EQ(wire_h1_write_response_head(&b, 11, 200, &h, 5, false, NULL), 0);
  wire_buf_append(&b, "", 1, NULL);
  CHECK_STR((char *)b.data, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n");
  wire_buf_reset(&b);
  CHECK_EQ(wire_h1_write_response_head(&b, 10, 404, NULL, 0, false, NULL), 0);
  wire_buf_append(&b, "", 1, NULL);
  CHECK_STR((char *)b.data, "HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n");
  wire_buf_reset(&b);
  CHECK_EQ(wire_h1_write_response_head(&b, 11, 204, NULL, 10, true, NULL), 0);
  wire_buf_append(&b, "", 1, NULL);
  CHECK_STR((char *)b.data, "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
  wire_buf_reset(&b);
  CHECK_EQ(wire_h1_write_response_head(&b, 11, 100, NULL, -1, false, NULL), 0);
  wire_buf_append(&b, "", 1, NULL);
  CHECK_STR((char *)b.data, "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK_EQ(wire_h1_write_response_head(&b, 11, 42, NULL, -1, false, NULL), -1);
  /* a bounded buffer: failure leaves it unchanged */
  wire_buf small;
  wire_buf_init(&small, 20);
  wire_err e;
  CHECK_EQ(wire_h1_write_response_head(&small, 11, 200, &h, 5, false, &e), -1);
  CHECK_EQ(e.code, WIRE_E_LIMIT);
  CHECK_EQ(small.len, 0);
  wire_buf_free(&small);
  wire_headers_free(&h);
  wire_buf_free(&b);
}

static void test_parser_new(void) {
  wire_h1_config cfg = {.kind = WIRE_H1_RESPONSE};
  wire_h1_parser *p = wire_h1_parser_new(&cfg, NULL, NULL, 0);
  CHECK(p != NULL);
  const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (size_t i = 0; i < strlen(in); i++) CHECK_EQ(wire_h1_parse(p, (const uint8_t *)in + i, 1, NULL), 1);
  CHECK_EQ(wire_h1_status(p), 200);
  CHECK_EQ(wire_h1_version(p), 11);
  CHECK(wire_h1_keep_alive(p));
  CHECK(!wire_h1_in_message(p));
  CHECK_EQ(wire_h1_finish(p, NULL), 0);
  free(p);
}

int main(void) {
  RUN(test_simple_get);
  RUN(test_post_content_length);
  RUN(test_chunked_request);
  RUN(test_pipelined_requests);
  RUN(test_pause_after_message);
  RUN(test_keep_alive_rules);
  RUN(test_expect_continue);
  RUN(test_connect_and_upgrade);
  RUN(test_request_targets);
  RUN(test_leading_empty_lines_and_bare_lf);
  RUN(test_content_length_errors);
  RUN(test_transfer_encoding_errors);
  RUN(test_chunk_errors);
  RUN(test_header_errors);
  RUN(test_limits);
  RUN(test_truncated);
  RUN(test_callback_abort_and_sticky_error);
  RUN(test_responses);
  RUN(test_bodyless_responses);
  RUN(test_status_line_errors);
  RUN(test_every_split_point);
  RUN(test_write_request_head);
  RUN(test_write_response_head);
  RUN(test_parser_new);
  return test_finish();
}
