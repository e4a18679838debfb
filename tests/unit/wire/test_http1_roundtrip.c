/* test_http1_roundtrip.c — HTTP/1.1 end to end on 127.0.0.1: the server (wire_server_start with the h1 driver,
 * on a libuv loop in a thread) against the client (wire_client_do → wire_h1_roundtrip) and against raw sockets
 * (chunked requests, pipelining, 100-continue, 400/408/413/431, HTTP/1.0, Connection: close), and the client
 * against a scripted raw server (interim responses, chunked and close-delimited bodies, limits, truncation). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "loop_server.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/gzip.h"
#include "wire/http1.h"
#include "wire/http_client.h"
#include "wire/server/http_server.h"

#define SEC 1000000000LL

/* ---- the server under test ------------------------------------------------------------------------- */

typedef struct tserver {
  loop_server ls; /* the server on its loop thread */
  atomic_int requests;
  char last_peer[64];
  pthread_mutex_t mu;
} tserver;

static tserver S;

typedef struct late {
  uv_timer_t t;
  wire_exchange *ex;
} late;

static void late_close(uv_handle_t *h) { free(h->data); }

static void late_fire(uv_timer_t *t) {
  late *l = t->data;
  wire_exchange_respond_text(l->ex, 200, "slow");
  uv_close((uv_handle_t *)&l->t, late_close);
}

/* /echo: body back, with x-method, x-host, x-version; /slow: "slow" 50 ms later; /empty: 204; /big: 300 KiB;
 * /badheader: a header value with CR LF (the driver must refuse to send it). */
static void handler(wire_exchange *ex, void *ud) {
  tserver *s = ud;
  atomic_fetch_add(&s->requests, 1);
  pthread_mutex_lock(&s->mu);
  snprintf(s->last_peer, sizeof s->last_peer, "%s", wire_exchange_peer(ex));
  pthread_mutex_unlock(&s->mu);
  const wire_http_request *r = wire_exchange_request(ex);
  if (strcmp(r->path, "/slow") == 0) {
    late *l = calloc(1, sizeof *l);
    l->ex = ex;
    uv_timer_init(&s->ls.loop, &l->t);
    l->t.data = l;
    uv_timer_start(&l->t, late_fire, 50, 0);
    return;
  }
  if (strcmp(r->path, "/empty") == 0) {
    wire_exchange_respond(ex, 204, NULL, NULL, 0, NULL);
    return;
  }
  if (strcmp(r->path, "/big") == 0) {
    size_t n = 300 * 1024;
    char *b = malloc(n);
    for (size_t i = 0; i < n; i++) b[i] = (char)('a' + i % 26);
    wire_exchange_respond(ex, 200, NULL, b, n, NULL);
    free(b);
    return;
  }
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  if (strcmp(r->path, "/badheader") == 0) wire_headers_add_cstr(&h, "x-evil", "a\r\nx-injected: 1", NULL);
  wire_headers_add_cstr(&h, "x-method", r->method, NULL);
  wire_headers_add_cstr(&h, "x-host", r->authority ? r->authority : "(none)", NULL);
  wire_headers_add_cstr(&h, "x-version", r->version == WIRE_HTTP_10 ? "1.0" : "1.1", NULL);
  wire_headers_add_cstr(&h, "x-path", r->path, NULL);
  const char *ce = wire_headers_get(&r->headers, "content-encoding");
  wire_headers_add_cstr(&h, "x-content-encoding", ce ? ce : "(none)", NULL);
  wire_exchange_respond(ex, 200, &h, r->body.data, r->body.len, NULL);
  wire_headers_free(&h);
}

static int server_start(tserver *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  wire_server_config cfg = {
      .endpoint = "127.0.0.1:0",
      .disable_h2 = true,
      .max_header_bytes = 4096,
      .max_body_bytes = 1024 * 1024,
      .decompress = true,
      .request_timeout_ms = 300,
  };
  return loop_server_start(&s->ls, &cfg, handler, s);
}

static void server_stop(tserver *s) {
  loop_server_stop(&s->ls);
  pthread_mutex_destroy(&s->mu);
}

static void last_peer(char *out, size_t n) {
  pthread_mutex_lock(&S.mu);
  snprintf(out, n, "%s", S.last_peer);
  pthread_mutex_unlock(&S.mu);
}

/* ---- raw sockets ------------------------------------------------------------------------------------ */

static int raw_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void raw_send(int fd, const void *p, size_t n) {
  const char *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    b += w;
    n -= (size_t)w;
  }
}

/* What came back on a raw connection: "status:body|" per final response, interim ones as "status|". */
typedef struct seen {
  char log[4096];
  size_t n;
  int finals;
  bool eof;
  bool bad; /* the server's bytes did not parse */
  char body[512];
  size_t body_len;
} seen;

static void seen_add(seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seen_add(seen *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(s->log + s->n, sizeof s->log - s->n, fmt, ap);
  va_end(ap);
  if (k > 0) s->n += (size_t)k;
  if (s->n >= sizeof s->log) s->n = sizeof s->log - 1;
}

static int seen_status(wire_h1_parser *p, int v, int status, const char *r, size_t rl) {
  seen *s = p->user;
  seen_add(s, "%d", status);
  s->body_len = 0;
  return 0;
}
static int seen_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  seen *s = p->user;
  size_t k = n < sizeof s->body - s->body_len ? n : sizeof s->body - s->body_len;
  memcpy(s->body + s->body_len, d, k);
  s->body_len += k;
  return 0;
}
static int seen_done(wire_h1_parser *p) {
  seen *s = p->user;
  if (wire_h1_status(p) >= 200) {
    seen_add(s, ":%.*s|", (int)s->body_len, s->body);
    s->finals++;
  } else {
    seen_add(s, "|");
  }
  return 0;
}
static const wire_h1_callbacks seen_cbs = {.on_status_line = seen_status, .on_body = seen_body,
                                           .on_message_complete = seen_done};

static void raw_read(int fd, seen *s, int finals, bool want_eof);

/* Sends the request text rq on fd, then reads as raw_read does. */
static void raw_ask(int fd, const char *rq, seen *s, int finals, bool want_eof) {
  raw_send(fd, rq, strlen(rq));
  raw_read(fd, s, finals, want_eof);
}

/* Reads from fd until `finals` final responses arrived (and, if want_eof, the server closed), or 5 s. */
static void raw_read(int fd, seen *s, int finals, bool want_eof) {
  memset(s, 0, sizeof *s);
  wire_h1_config cfg = {.kind = WIRE_H1_RESPONSE};
  char win[4096];
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, &seen_cbs, s, win, sizeof win);
  int64_t deadline = wire_now_ns() + 5 * SEC;
  while (wire_now_ns() < deadline) {
    if (s->finals >= finals && !want_eof) return;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 100) <= 0) continue;
    uint8_t buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      s->eof = true;
      if (wire_h1_finish(&p, NULL) < 0) s->bad = true;
      return;
    }
    if (wire_h1_parse(&p, buf, (size_t)n, NULL) < 0) s->bad = true;
  }
}

/* Reads until `until` appears in what arrived, the peer closes, or 5 s pass; NUL-terminates. */
static size_t raw_drain(int fd, char *out, size_t cap, const char *until) {
  size_t n = 0;
  out[0] = '\0';
  int64_t deadline = wire_now_ns() + 5 * SEC;
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  while (n < cap - 1 && wire_now_ns() < deadline && !strstr(out, until)) {
    if (poll(&pf, 1, 100) <= 0) continue;
    ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
    if (k <= 0) break;
    n += (size_t)k;
    out[n] = '\0';
  }
  return n;
}

/* ---- client helpers --------------------------------------------------------------------------------- */

static wire_client *client_new(uint16_t port) {
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%u", port);
  wire_client_config cfg = {.endpoint = ep, .proto = WIRE_CLIENT_H1};
  wire_err err;
  wire_client *c = wire_client_new(&cfg, &err);
  CHECK_MSG(c != NULL, "client: %s", err.msg);
  return c;
}

static int do_req(wire_client *c, const char *method, const char *path, const void *body, size_t n,
                  wire_http_response *resp, wire_err *err) {
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, method, path, NULL, NULL);
  if (n) wire_buf_append(&req.body, body, n, NULL);
  int rc = wire_client_do(c, &req, resp, wire_now_ns() + 5 * SEC, err);
  wire_http_request_free(&req);
  return rc;
}

/* A POST /echo request with one header and a body (the caller frees it). */
static void echo_request(wire_http_request *req, const char *hname, const char *hvalue, const void *body, size_t n) {
  wire_http_request_init(req, 0, 0);
  wire_http_request_set_target(req, "POST", "/echo", NULL, NULL);
  wire_headers_add_cstr(&req->headers, hname, hvalue, NULL);
  wire_buf_append(&req->body, body, n, NULL);
}

/* ---- server tests with the client ------------------------------------------------------------------- */

static void test_keep_alive_reuse(void) {
  wire_client *c = client_new(S.ls.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  char peer1[64], peer2[64];
  CHECK_EQ(do_req(c, "POST", "/echo", "hello", 5, &resp, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK_EQ(resp.body.len, 5);
  CHECK(resp.body.len == 5 && memcmp(resp.body.data, "hello", 5) == 0);
  CHECK_STR(wire_headers_get(&resp.headers, "x-method"), "POST");
  CHECK_STR(wire_headers_get(&resp.headers, "x-path"), "/echo");
  CHECK_CONTAINS(wire_headers_get(&resp.headers, "x-host"), "127.0.0.1:");
  CHECK_STR(wire_headers_get(&resp.headers, "content-length"), "5");
  last_peer(peer1, sizeof peer1);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(do_req(c, "GET", "/echo", NULL, 0, &resp, &err), 0);
    CHECK_EQ(resp.status, 200);
    CHECK_EQ(resp.body.len, 0);
  }
  last_peer(peer2, sizeof peer2);
  CHECK_STR(peer2, peer1); /* the same connection carried every request */
  /* HEAD: Content-Length of what GET would send, no body, connection still usable */
  CHECK_EQ(do_req(c, "HEAD", "/big", NULL, 0, &resp, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK_STR(wire_headers_get(&resp.headers, "content-length"), "307200");
  CHECK_EQ(resp.body.len, 0);
  CHECK_EQ(do_req(c, "GET", "/empty", NULL, 0, &resp, &err), 0);
  CHECK_EQ(resp.status, 204);
  last_peer(peer2, sizeof peer2);
  CHECK_STR(peer2, peer1);
  wire_http_response_free(&resp);
  wire_client_free(c);
}

static void test_large_bodies(void) {
  wire_client *c = client_new(S.ls.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  size_t n = 200 * 1024;
  char *b = malloc(n);
  for (size_t i = 0; i < n; i++) b[i] = (char)(i * 7);
  CHECK_EQ(do_req(c, "PUT", "/echo", b, n, &resp, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK(resp.body.len == n && memcmp(resp.body.data, b, n) == 0);
  CHECK_EQ(do_req(c, "GET", "/big", NULL, 0, &resp, &err), 0);
  CHECK_EQ(resp.body.len, 300 * 1024);
  CHECK(resp.body.len > 1000 && resp.body.data[1000] == 'a' + 1000 % 26);
  /* the response limit of the client: WIRE_E_LIMIT */
  wire_http_response small;
  wire_http_response_init(&small, 0, 1000);
  CHECK_EQ(do_req(c, "GET", "/big", NULL, 0, &small, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  wire_http_response_free(&small);
  /* above max_body_bytes: 413 from the server, read even though it closes */
  size_t big = 1024 * 1024 + 1;
  char *x = calloc(1, big);
  CHECK_EQ(do_req(c, "POST", "/echo", x, big, &resp, &err), 0);
  CHECK_EQ(resp.status, 413);
  free(x);
  free(b);
  wire_http_response_free(&resp);
  wire_client_free(c);
}

static void test_gzip_request_body(void) {
  wire_client *c = client_new(S.ls.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  const char *text = "a metric payload, a metric payload, a metric payload";
  wire_buf z;
  wire_buf_init(&z, 0);
  CHECK_EQ(wire_gzip_compress(text, strlen(text), -1, &z, NULL), 0);
  wire_http_request req;
  echo_request(&req, "Content-Encoding", "gzip", z.data, z.len);
  CHECK_EQ(wire_client_do(c, &req, &resp, wire_now_ns() + 5 * SEC, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK(resp.body.len == strlen(text) && memcmp(resp.body.data, text, strlen(text)) == 0);
  CHECK_STR(wire_headers_get(&resp.headers, "x-content-encoding"), "(none)");
  /* an unknown coding: 415 */
  wire_headers_set(&req.headers, "content-encoding", "br", NULL);
  CHECK_EQ(wire_client_do(c, &req, &resp, wire_now_ns() + 5 * SEC, &err), 0);
  CHECK_EQ(resp.status, 415);
  wire_http_request_free(&req);
  wire_buf_free(&z);
  wire_http_response_free(&resp);
  wire_client_free(c);
}

static void test_client_expect_continue(void) {
  /* the client sends Expect itself: the server's 100 Continue is skipped by the client */
  wire_client *c = client_new(S.ls.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  wire_http_request req;
  echo_request(&req, "Expect", "100-continue", "abc", 3);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(wire_client_do(c, &req, &resp, wire_now_ns() + 5 * SEC, &err), 0);
    CHECK_EQ(resp.status, 200);
    CHECK(resp.body.len == 3 && memcmp(resp.body.data, "abc", 3) == 0);
  }
  wire_http_request_free(&req);
  wire_http_response_free(&resp);
  wire_client_free(c);
}

static void test_handler_header_injection(void) {
  int fd = raw_connect(S.ls.port);
  const char *rq = "GET /badheader HTTP/1.1\r\nHost: x\r\n\r\n";
  seen s;
  raw_ask(fd, rq, &s, 1, true);
  CHECK_STR(s.log, "500:invalid response header\n|");
  CHECK(s.eof);
  close(fd);
}

/* ---- server tests with raw sockets ------------------------------------------------------------------ */

static void test_chunked_request(void) {
  int fd = raw_connect(S.ls.port);
  const char *rq = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  seen s;
  raw_ask(fd, rq, &s, 1, false);
  CHECK_STR(s.log, "200:hello world|");
  CHECK(!s.bad);
  /* the same connection goes on */
  rq = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  raw_ask(fd, rq, &s, 1, false);
  CHECK_STR(s.log, "200:|");
  close(fd);
}

static void test_pipelining_in_order(void) {
  int fd = raw_connect(S.ls.port);
  const char *rq = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                   "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo"
                   "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nthree\r\n0\r\n\r\n"
                   "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
  seen s;
  raw_ask(fd, rq, &s, 5, true);
  CHECK_STR(s.log, "200:slow|200:two|200:three|200:slow|204:|");
  CHECK(s.eof); /* closed after the Connection: close request; /never was not answered */
  CHECK(!s.bad);
  close(fd);
  /* byte by byte */
  fd = raw_connect(S.ls.port);
  rq = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nA"
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nB";
  for (size_t i = 0; i < strlen(rq); i++) raw_send(fd, rq + i, 1);
  raw_read(fd, &s, 2, false);
  CHECK_STR(s.log, "200:A|200:B|");
  close(fd);
}

static void test_pipelined_backpressure(void) {
  /* 100 pipelined requests for 300 KiB each (30 MiB) sent before reading anything: the driver stops parsing
   * while more than 1 MiB waits for the peer and goes on as it drains; all answers arrive, in order. */
  int fd = raw_connect(S.ls.port);
  char rq[64 * 100];
  size_t n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(rq + n, sizeof rq - n, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_send(fd, rq, n);
  usleep(200 * 1000); /* let the server fill its output queue */
  seen s;
  raw_read(fd, &s, 100, false);
  CHECK_EQ(s.finals, 100);
  CHECK(!s.bad);
  CHECK(!s.eof);
  close(fd);
}

static void test_100_continue(void) {
  int fd = raw_connect(S.ls.port);
  const char *head = "PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  raw_send(fd, head, strlen(head));
  char got[256];
  raw_drain(fd, got, sizeof got, "\r\n\r\n");
  CHECK_STR(got, "HTTP/1.1 100 Continue\r\n\r\n");
  raw_send(fd, "12345", 5);
  seen s;
  raw_read(fd, &s, 1, false);
  CHECK_STR(s.log, "200:12345|");
  close(fd);
  /* too large already: 413 instead of 100, then close */
  fd = raw_connect(S.ls.port);
  head = "PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n";
  raw_ask(fd, head, &s, 1, true);
  CHECK(strncmp(s.log, "413:", 4) == 0);
  CHECK(s.eof);
  close(fd);
}

static void test_error_answers(void) {
  struct {
    const char *req;
    const char *prefix;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "400:http1: whitespace between header name and colon"},
      {"GET / HTTP/1.1\r\n\r\n", "400:HTTP/1.1 request without Host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400:more than one Host header"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400:http1: both"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501:"},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505:"},
      {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "405:"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", "413:"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400:http1: chunk size without hex"},
      {"GARBAGE\r\n\r\n", "400:"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int fd = raw_connect(S.ls.port);
    seen s;
    raw_ask(fd, cases[i].req, &s, 1, true);
    CHECK_MSG(strncmp(s.log, cases[i].prefix, strlen(cases[i].prefix)) == 0, "case %zu: got '%s', want '%s...'", i,
              s.log, cases[i].prefix);
    CHECK_MSG(s.eof, "case %zu: connection not closed", i);
    close(fd);
  }
  /* 431: header section above max_header_bytes (4 KiB) */
  int fd = raw_connect(S.ls.port);
  char big[8192];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 60; i++) n += snprintf(big + n, sizeof big - (size_t)n, "X-Header-%02d: %0100d\r\n", i, i);
  n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
  raw_send(fd, big, (size_t)n);
  seen s;
  raw_read(fd, &s, 1, true);
  CHECK(strncmp(s.log, "431:", 4) == 0);
  CHECK(s.eof);
  close(fd);
  /* 414: a request line longer than the window */
  fd = raw_connect(S.ls.port);
  memset(big, 'a', sizeof big);
  memcpy(big, "GET /", 5);
  raw_send(fd, big, 5000);
  raw_read(fd, &s, 1, true);
  CHECK(strncmp(s.log, "414:", 4) == 0);
  close(fd);
  /* chunked body above max_body_bytes: 413 while it streams */
  fd = raw_connect(S.ls.port);
  const char *h = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw_send(fd, h, strlen(h));
  char chunk[64 * 1024 + 16];
  int hl = snprintf(chunk, sizeof chunk, "%x\r\n", 64 * 1024);
  memset(chunk + hl, 'q', 64 * 1024);
  memcpy(chunk + hl + 64 * 1024, "\r\n", 2);
  for (int i = 0; i < 20; i++) raw_send(fd, chunk, (size_t)hl + 64 * 1024 + 2);
  raw_read(fd, &s, 1, true);
  CHECK(strncmp(s.log, "413:", 4) == 0);
  close(fd);
}

static void test_http10_and_close(void) {
  /* HTTP/1.0 without keep-alive: answered, then closed */
  int fd = raw_connect(S.ls.port);
  const char *rq = "GET /echo HTTP/1.0\r\n\r\n";
  raw_send(fd, rq, strlen(rq));
  char got[1024];
  raw_drain(fd, got, sizeof got, "\r\n\r\n");
  CHECK(strncmp(got, "HTTP/1.0 200 OK\r\n", 17) == 0);
  CHECK_CONTAINS(got, "connection: close\r\n");
  CHECK_CONTAINS(got, "x-version: 1.0\r\n");
  close(fd);
  /* HTTP/1.0 with keep-alive: kept */
  fd = raw_connect(S.ls.port);
  rq = "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  seen s;
  raw_ask(fd, rq, &s, 1, false);
  CHECK_STR(s.log, "200:|");
  raw_ask(fd, rq, &s, 1, false);
  CHECK_STR(s.log, "200:|");
  CHECK(!s.eof);
  close(fd);
  /* absolute-form target: authority from the target */
  fd = raw_connect(S.ls.port);
  rq = "GET http://example.com:8080?q=1 HTTP/1.1\r\nHost: other\r\n\r\n";
  raw_send(fd, rq, strlen(rq));
  raw_drain(fd, got, sizeof got, "x-content-encoding");
  CHECK_CONTAINS(got, "x-host: example.com:8080\r\n");
  CHECK_CONTAINS(got, "x-path: /?q=1\r\n");
  close(fd);
}

static void test_request_timeout(void) {
  int fd = raw_connect(S.ls.port);
  const char *part = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
  seen s;
  raw_ask(fd, part, &s, 1, true); /* request_timeout_ms is 300 */
  CHECK(strncmp(s.log, "408:", 4) == 0);
  CHECK(s.eof);
  close(fd);
}

static void test_shutdown_finishes_response(void) {
  static tserver T;
  if (server_start(&T) < 0) {
    CHECK(false);
    return;
  }
  int fd = raw_connect(T.ls.port);
  int idle = raw_connect(T.ls.port);
  const char *rq = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  raw_send(fd, rq, strlen(rq));
  int64_t deadline = wire_now_ns() + 5 * SEC;
  while (atomic_load(&T.requests) < 1 && wire_now_ns() < deadline) usleep(1000);
  loop_server_request_stop(&T.ls); /* the slow answer is still 50 ms away */
  char got[2048];
  raw_drain(fd, got, sizeof got, "slow");
  CHECK(strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK_CONTAINS(got, "connection: close\r\n");
  seen s;
  raw_read(idle, &s, 0, true); /* the idle connection is closed without an answer */
  CHECK(s.eof);
  CHECK_STR(s.log, "");
  loop_server_join(&T.ls);
  pthread_mutex_destroy(&T.mu);
  CHECK_EQ(atomic_load(&T.requests), 1); /* the pipelined /echo was not served */
  close(fd);
  close(idle);
}

/* ---- the client against a scripted server ----------------------------------------------------------- */

typedef struct script {
  int lfd;
  uint16_t port;
  pthread_t thread;
  const char *replies[8]; /* one per connection: written after the request head arrived, then closed */
  bool keep_open[8];      /* serve the next reply on the same connection */
  int n;
  char captured[8][1024]; /* the bytes of each request (as far as they fit) */
} script;

static void *script_thread(void *arg) {
  script *sc = arg;
  int fd = -1;
  for (int i = 0; i < sc->n; i++) {
    if (fd < 0) fd = accept(sc->lfd, NULL, NULL);
    if (fd < 0) break;
    /* read the request head (and whatever body came with it) */
    char buf[65536];
    size_t got = 0;
    while (got < sizeof buf - 1) {
      struct pollfd pf = {.fd = fd, .events = POLLIN};
      if (poll(&pf, 1, 2000) <= 0) break;
      ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
      if (n <= 0) break;
      got += (size_t)n;
      buf[got] = '\0';
      if (strstr(buf, "\r\n\r\n")) break;
    }
    /* a body announced by Content-Length: read it too */
    const char *cl = strstr(buf, "content-length: ");
    char *end = strstr(buf, "\r\n\r\n");
    if (cl && end) {
      size_t want = (size_t)(end + 4 - buf) + (size_t)atoi(cl + 16);
      while (got < want && got < sizeof buf - 1) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 2000) <= 0) break;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
      }
      buf[got] = '\0';
    }
    size_t keep = got < sizeof sc->captured[i] - 1 ? got : sizeof sc->captured[i] - 1;
    memcpy(sc->captured[i], buf, keep);
    sc->captured[i][keep] = '\0';
    raw_send(fd, sc->replies[i], strlen(sc->replies[i]));
    if (!sc->keep_open[i]) {
      shutdown(fd, SHUT_WR);
      char sink[1024];
      while (recv(fd, sink, sizeof sink, 0) > 0) {}
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
  return NULL;
}

static void script_start(script *sc) {
  sc->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
  bind(sc->lfd, (struct sockaddr *)&a, sizeof a);
  socklen_t al = sizeof a;
  getsockname(sc->lfd, (struct sockaddr *)&a, &al);
  sc->port = ntohs(a.sin_port);
  listen(sc->lfd, 8);
  pthread_create(&sc->thread, NULL, script_thread, sc);
}

static void script_join(script *sc) {
  pthread_join(sc->thread, NULL);
  close(sc->lfd);
}

static void test_client_response_framing(void) {
  script sc = {.n = 6};
  sc.replies[0] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                  "3\r\nabc\r\n2;e=1\r\nde\r\n0\r\nGrpc-Status: 0\r\n\r\n";
  sc.keep_open[0] = true;
  sc.replies[1] = "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the close";
  sc.replies[2] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
  sc.replies[3] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc";
  sc.replies[4] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
  sc.replies[5] = "HTTP/1.1 204 No Content\r\n\r\n";
  script_start(&sc);
  wire_client *c = client_new(sc.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;

  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK(resp.body.len == 5 && memcmp(resp.body.data, "abcde", 5) == 0);
  CHECK_STR(wire_headers_get(&resp.headers, "x-a"), "1");
  CHECK(wire_headers_get(&resp.headers, "link") == NULL); /* headers of the 103 are not kept */
  CHECK_STR(wire_headers_get(&resp.trailers, "grpc-status"), "0");

  /* same connection (kept open): HTTP/1.0 body until close */
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), 0);
  CHECK_EQ(resp.status, 200);
  CHECK_EQ(resp.version, WIRE_HTTP_10);
  CHECK(resp.body.len == 15 && memcmp(resp.body.data, "until the close", 15) == 0);

  /* truncated body */
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), -1);
  CHECK_EQ(err.code, WIRE_E_IO);
  CHECK_CONTAINS(err.msg, "body bytes missing");

  /* malformed framing */
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), -1);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  CHECK_CONTAINS(err.msg, "differing Content-Length");

  /* bytes after the response: the answer is fine, the connection is not reused */
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), 0);
  CHECK(resp.body.len == 2 && memcmp(resp.body.data, "ok", 2) == 0);
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), 0); /* on a new connection */
  CHECK_EQ(resp.status, 204);

  wire_http_response_free(&resp);
  wire_client_free(c);
  script_join(&sc);
}

static void test_client_header_limit(void) {
  script sc = {.n = 1};
  static char reply[8192];
  int n = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < 40; i++) n += snprintf(reply + n, sizeof reply - (size_t)n, "X-%02d: %0100d\r\n", i, i);
  snprintf(reply + n, sizeof reply - (size_t)n, "Content-Length: 0\r\n\r\n");
  sc.replies[0] = reply;
  script_start(&sc);
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%u", sc.port);
  wire_client_config cfg = {.endpoint = ep, .proto = WIRE_CLIENT_H1, .max_header_bytes = 2048};
  wire_client *c = wire_client_new(&cfg, NULL);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  CHECK_EQ(do_req(c, "GET", "/", NULL, 0, &resp, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  wire_http_response_free(&resp);
  wire_client_free(c);
  script_join(&sc);
}

static void test_client_request_bytes(void) {
  script sc = {.n = 2};
  sc.replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  sc.keep_open[0] = true;
  sc.replies[1] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  script_start(&sc);
  wire_client *c = client_new(sc.port);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  wire_err err;
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "POST", "/v1/metrics", NULL, NULL);
  wire_headers_add_cstr(&req.headers, "Content-Type", "application/x-protobuf", NULL);
  wire_buf_append(&req.body, "xyz", 3, NULL);
  CHECK_EQ(wire_client_do(c, &req, &resp, wire_now_ns() + 5 * SEC, &err), 0);
  char want[256];
  snprintf(want, sizeof want,
           "POST /v1/metrics HTTP/1.1\r\nhost: 127.0.0.1:%u\r\ncontent-type: application/x-protobuf\r\n"
           "content-length: 3\r\nuser-agent: otelc/0.1.0\r\n\r\nxyz", sc.port);
  CHECK_STR(sc.captured[0], want);
  /* an empty POST says Content-Length: 0; a GET says nothing; a given User-Agent is kept */
  wire_buf_reset(&req.body);
  wire_headers_add_cstr(&req.headers, "User-Agent", "mine/1", NULL);
  CHECK_EQ(wire_client_do(c, &req, &resp, wire_now_ns() + 5 * SEC, &err), 0);
  CHECK_CONTAINS(sc.captured[1], "content-length: 0\r\n");
  CHECK_CONTAINS(sc.captured[1], "user-agent: mine/1\r\n");
  CHECK(strstr(sc.captured[1], "otelc/") == NULL);
  wire_http_request_free(&req);
  wire_http_response_free(&resp);
  wire_client_free(c);
  script_join(&sc);
}

int main(void) {
  if (server_start(&S) < 0) return 1;
  RUN(test_keep_alive_reuse);
  RUN(test_large_bodies);
  RUN(test_gzip_request_body);
  RUN(test_client_expect_continue);
  RUN(test_handler_header_injection);
  RUN(test_chunked_request);
  RUN(test_pipelining_in_order);
  RUN(test_pipelined_backpressure);
  RUN(test_100_continue);
  RUN(test_error_answers);
  RUN(test_http10_and_close);
  RUN(test_request_timeout);
  RUN(test_shutdown_finishes_response);
  RUN(test_client_response_framing);
  RUN(test_client_header_limit);
  RUN(test_client_request_bytes);
  server_stop(&S);
  return test_finish();
}
