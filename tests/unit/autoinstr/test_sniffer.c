/* test_sniffer.c — the preload shim's HTTP/1 sniffer fed with request and response byte streams, whole and split
 * at every byte: what it reports per exchange (method, status, version, route, body sizes, duration, error.type),
 * when it stops watching, and that active-request counts always come back to zero. Every scenario runs twice,
 * with the fast path (h1scan.h) and without it; the light scanner itself is checked head by head, and a
 * differential test feeds the same streams, whole and cut at every byte, both ways and compares the events. */
#include <stdlib.h>
#include <string.h>

#include "autoinstr/h1scan.h"
#include "autoinstr/sniffer.h"
#include "testlib.h"

#define MAX_EVENTS 32

typedef struct capture {
  sniff_event ev[MAX_EVENTS];
  int n;
  int active;     /* run_script: open requests after the last step (the connection's word) */
  int active_max; /* run_script: the most open after any step */
  int seen;       /* method_seen calls */
  int h2_active;  /* active() calls: HTTP/2 streams only, never for HTTP/1 */
} capture;

static void cap_done(void *user, const sniff_event *ev) {
  capture *c = user;
  if (c->n < MAX_EVENTS) c->ev[c->n] = *ev;
  c->n++;
}

static void cap_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  ((capture *)user)->h2_active++;
}

static void cap_seen(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot) { ((capture *)user)->seen++; }

/* Open HTTP/1 requests of c, all methods (sniffer.h, sniff_conn.open). */
static int open_total(const sniff_conn *c) {
  int n = 0;
  for (int m = 0; m < SNIFF_METHOD_COUNT; m++) n += (int)sniff_open_count(sniff_open_word(c), m);
  return n;
}

static capture g_cap;
static sniff_sink g_sink = {cap_done, cap_active, &g_cap, NULL, cap_seen};
static preload_routes g_routes;
static bool g_fast = true; /* main() runs every scenario with and without the fast path */

static sniff_conn *conn_new(void) {
  memset(&g_cap, 0, sizeof g_cap);
  sniff_conn *c = malloc(sizeof *c);
  preload_routes_compile(&g_routes, "/users/{id},/static/*");
  sniff_init(c, &g_sink, &g_routes, 8080, 3);
  sniff_set_fast_path(c, g_fast);
  return c;
}

static void rd(sniff_conn *c, const char *s, int64_t t) { sniff_read(c, (const uint8_t *)s, strlen(s), t); }
static void wr(sniff_conn *c, const char *s, int64_t t) { sniff_write(c, (const uint8_t *)s, strlen(s), t); }

/* Feeds byte by byte. */
static void rd1(sniff_conn *c, const char *s, int64_t t) {
  for (size_t i = 0; s[i]; i++) sniff_read(c, (const uint8_t *)s + i, 1, t);
}
static void wr1(sniff_conn *c, const char *s, int64_t t) {
  for (size_t i = 0; s[i]; i++) sniff_write(c, (const uint8_t *)s + i, 1, t);
}

static const char *k_get = "GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
static const char *k_ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

static void test_get_200(void) {
  sniff_conn *c = conn_new();
  rd(c, k_get, 1000);
  CHECK_EQ(open_total(c), 1);
  wr(c, k_ok, 4000);
  CHECK_EQ(g_cap.n, 1);
  sniff_event *e = &g_cap.ev[0];
  CHECK_EQ(e->method, SNIFF_GET);
  CHECK_EQ(e->status, 200);
  CHECK_EQ(e->version, 11);
  CHECK_EQ(e->route, 0);
  CHECK_EQ(e->port, 8080);
  CHECK_EQ(e->port_slot, 3);
  CHECK_EQ(e->scheme, SNIFF_HTTP);
  CHECK_EQ(e->error, SNIFF_ERR_NONE);
  CHECK_EQ(e->duration, 3000);
  CHECK_EQ(e->req_body, 0);
  CHECK_EQ(e->resp_body, 5);
  CHECK_EQ(open_total(c), 0);
  CHECK(sniff_watching(c));
  sniff_close(c, 5000);
  CHECK_EQ(g_cap.n, 1);
  free(c);
}

static void test_split_every_byte(void) {
  sniff_conn *c = conn_new();
  rd1(c, k_get, 10);
  wr1(c, k_ok, 20);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].resp_body, 5);
  CHECK_EQ(g_cap.ev[0].duration, 10);
  CHECK_EQ(g_cap.ev[0].route, 0);
  free(c);
}

static void test_404_and_keep_alive(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!", 10);
  rd(c, "GET /static/css/a.css HTTP/1.1\r\nHost: a\r\n\r\n", 100);
  wr(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 150);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[0].status, 404);
  CHECK_EQ(g_cap.ev[0].route, -1);
  CHECK_EQ(g_cap.ev[0].resp_body, 3);
  CHECK_EQ(g_cap.ev[1].status, 200);
  CHECK_EQ(g_cap.ev[1].route, 1);
  CHECK_EQ(g_cap.ev[1].resp_body, 5);
  CHECK_EQ(g_cap.ev[1].duration, 50);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_head_no_body(void) {
  sniff_conn *c = conn_new();
  rd(c, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 5);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_HEAD);
  CHECK_EQ(g_cap.ev[0].resp_body, 0);
  /* the next exchange on the connection parses normally: the 1000 bytes were never expected */
  rd(c, k_get, 10);
  wr(c, k_ok, 20);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[1].resp_body, 5);
  free(c);
}

static void test_204_304_no_body(void) {
  sniff_conn *c = conn_new();
  rd(c, "DELETE /users/7 HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 204 No Content\r\n\r\n", 1);
  rd(c, "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: x\r\n\r\n", 2);
  wr(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 3);
  rd(c, k_get, 4);
  wr(c, k_ok, 5);
  CHECK_EQ(g_cap.n, 3);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_DELETE);
  CHECK_EQ(g_cap.ev[0].status, 204);
  CHECK_EQ(g_cap.ev[1].status, 304);
  CHECK_EQ(g_cap.ev[1].resp_body, 0);
  CHECK_EQ(g_cap.ev[2].status, 200);
  free(c);
}

static void test_post_content_length_and_chunked(void) {
  sniff_conn *c = conn_new();
  rd(c, "POST /users/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello", 0);
  rd(c, " world", 5);
  wr(c, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 9);
  rd1(c, "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n", 20);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 30);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[0].req_body, 11);
  CHECK_EQ(g_cap.ev[0].resp_body, 2);
  CHECK_EQ(g_cap.ev[0].status, 201);
  CHECK_EQ(g_cap.ev[1].method, SNIFF_PUT);
  CHECK_EQ(g_cap.ev[1].req_body, 7);
  CHECK_EQ(g_cap.ev[1].resp_body, 0);
  free(c);
}

static void test_expect_100_continue(void) {
  sniff_conn *c = conn_new();
  rd(c, "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 0);
  wr(c, "HTTP/1.1 100 Continue\r\n\r\n", 1);
  CHECK_EQ(g_cap.n, 0);
  rd(c, "data", 2);
  wr(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!", 7);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].req_body, 4);
  CHECK_EQ(g_cap.ev[0].resp_body, 1);
  CHECK_EQ(g_cap.ev[0].duration, 7);
  free(c);
}

/* The connection's open-request word (sniffer.h): a count per method, the scheme and port slot, and the sink told
 * once per method per connection; never the HTTP/2 active() callback. */
static void test_open_word(void) {
  sniff_conn *c = conn_new(); /* port slot 3 */
  rd(c, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 0\r\n\r\nDELETE /d", 1);
  uint64_t w = sniff_open_word(c);
  CHECK_EQ(sniff_open_count(w, SNIFF_GET), 2);
  CHECK_EQ(sniff_open_count(w, SNIFF_POST), 1);
  CHECK_EQ(sniff_open_count(w, SNIFF_DELETE), 0); /* its request line is not complete yet */
  CHECK_EQ(sniff_open_scheme(w), SNIFF_HTTP);
  CHECK_EQ(sniff_open_port_slot(w), 3);
  CHECK_EQ(g_cap.seen, 2); /* GET and POST, each once */
  rd(c, " HTTP/1.1\r\n\r\n", 2);
  CHECK_EQ(sniff_open_count(sniff_open_word(c), SNIFF_DELETE), 1);
  CHECK_EQ(g_cap.seen, 3);
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (int i = 0; i < 4; i++) wr(c, ok, 3);
  CHECK_EQ(g_cap.n, 4);
  CHECK_EQ(open_total(c), 0);
  rd(c, "GET /e HTTP/1.1\r\n\r\n", 4); /* GET again on this connection: the sink already knows */
  CHECK_EQ(open_total(c), 1);
  CHECK_EQ(g_cap.seen, 3);
  sniff_close(c, 5); /* the open request ends with the connection */
  CHECK_EQ(open_total(c), 0);
  CHECK_EQ(sniff_open_port_slot(sniff_open_word(c)), 3);
  CHECK_EQ(g_cap.h2_active, 0);
  /* a slot used again starts from zero counts, whatever the word held */
  sniff_init(c, &g_sink, NULL, 81, 5);
  CHECK_EQ(open_total(c), 0);
  CHECK_EQ(sniff_open_port_slot(sniff_open_word(c)), 5);
  rd(c, "GET /f HTTP/1.1\r\n\r\n", 6);
  CHECK_EQ(g_cap.seen, 4); /* a new connection: told again */
  free(c);
}

/* Sequence numbers are 32 bits, compared modulo 2^32: pipelined requests across the wrap are answered in order. */
static void test_sequence_wrap(void) {
  sniff_conn *c = conn_new();
  c->req_seq = c->resp_seq = UINT32_MAX - 1; /* as if 4 billion requests had been pipelined without a pause */
  rd(c, "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
        "PUT /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
     10);
  CHECK_EQ(open_total(c), 4);
  CHECK_EQ(c->req_seq, 2u); /* wrapped */
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 20);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 21);
  wr(c, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 22);
  wr(c, "HTTP/1.1 204 No Content\r\n\r\n", 23);
  CHECK_EQ(g_cap.n, 4);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_GET);
  CHECK_EQ(g_cap.ev[1].method, SNIFF_HEAD);
  CHECK_EQ(g_cap.ev[2].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[2].req_body, 1);
  CHECK_EQ(g_cap.ev[3].method, SNIFF_PUT);
  CHECK_EQ(g_cap.ev[3].status, 204);
  CHECK_EQ(g_cap.ev[3].duration, 13);
  CHECK_EQ(open_total(c), 0);
  CHECK(sniff_watching(c));
  /* and a stop across the wrap releases every open request */
  c->req_seq = c->resp_seq = UINT32_MAX;
  rd(c, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 30);
  CHECK_EQ(open_total(c), 2);
  sniff_stop_now(c, SNIFF_STOP_NONE);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_pipelined(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\nPOST /c HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 3\r\n\r\nxyz",
     100);
  CHECK_EQ(open_total(c), 3);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
        "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nzz",
     300);
  CHECK_EQ(g_cap.n, 3);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_GET);
  CHECK_EQ(g_cap.ev[0].resp_body, 1);
  CHECK_EQ(g_cap.ev[1].method, SNIFF_HEAD);
  CHECK_EQ(g_cap.ev[1].resp_body, 0);
  CHECK_EQ(g_cap.ev[2].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[2].status, 500);
  CHECK_EQ(g_cap.ev[2].req_body, 3);
  CHECK_EQ(g_cap.ev[2].duration, 200);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_too_many_pipelined(void) {
  sniff_conn *c = conn_new();
  for (int i = 0; i < SNIFF_MAX_PENDING + 1; i++) rd(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", i);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_UNEXPECTED);
  CHECK_EQ(open_total(c), 0);
  CHECK_EQ(g_cap.n, 0);
  free(c);
}

static void test_http10_close_delimited(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /old HTTP/1.0\r\n\r\n", 0);
  wr(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome", 5);
  wr(c, "thing", 6);
  CHECK_EQ(g_cap.n, 0); /* the body runs to the close */
  sniff_close(c, 9);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].version, 10);
  CHECK_EQ(g_cap.ev[0].resp_body, 9);
  CHECK_EQ(g_cap.ev[0].duration, 9);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_NONE);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_shutdown_ends_close_delimited(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /old HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", 5);
  sniff_shutdown_write(c, 7);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].resp_body, 3);
  CHECK_EQ(g_cap.ev[0].duration, 7);
  sniff_close(c, 8);
  CHECK_EQ(g_cap.n, 1);
  free(c);
}

static void test_upgrade_101(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 0);
  wr(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", 3);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 101);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_UPGRADE);
  rd(c, "\x81\x85garbage", 4);
  sniff_close(c, 5);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_upgrade_refused(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
     0);
  wr(c, k_ok, 2);
  CHECK_EQ(g_cap.n, 1);
  CHECK(sniff_watching(c));
  rd(c, k_get, 3);
  wr(c, k_ok, 4);
  CHECK_EQ(g_cap.n, 2);
  free(c);
}

static void test_connect_stops(void) {
  sniff_conn *c = conn_new();
  rd(c, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_CONNECT);
  wr(c, "HTTP/1.1 200 Connection established\r\n\r\n", 1);
  sniff_close(c, 2);
  CHECK_EQ(g_cap.n, 0);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

/* The HTTP/2 preface hands the connection over to sniffer_h2.c (tests/unit/autoinstr/test_sniffer_h2.c). */
static void test_http2_preface(void) {
  sniff_conn *c = conn_new();
  rd1(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0);
  CHECK(sniff_watching(c));
  CHECK_EQ(c->mode, SNIFF_MODE_H2);
  sniff_close(c, 1);
  CHECK(!sniff_watching(c));
  free(c);
  c = conn_new();
  rd(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00", 0);
  CHECK_EQ(c->mode, SNIFF_MODE_H2);
  sniff_close(c, 1);
  CHECK_EQ(g_cap.n, 0);
  free(c);
}

static void test_garbage_stops(void) {
  sniff_conn *c = conn_new();
  rd(c, "\x01\x02 hello not http\r\n\r\n", 0);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_PARSE);
  free(c);
  /* a response nobody asked for (a server that speaks first) */
  c = conn_new();
  wr(c, "220 smtp.example ESMTP\r\n", 0);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_UNEXPECTED);
  free(c);
  /* a malformed response to a good request: the open request leaves the active count without an event */
  c = conn_new();
  rd(c, k_get, 0);
  CHECK_EQ(open_total(c), 1);
  wr(c, "HTTP/1.1 200 OK\r\nBad Header : x\r\n\r\n", 1);
  CHECK(!sniff_watching(c));
  CHECK_EQ(open_total(c), 0);
  CHECK_EQ(g_cap.n, 0);
  free(c);
}

static void test_peer_aborts_mid_request(void) {
  sniff_conn *c = conn_new();
  rd(c, "POST /users/9 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npartial", 0);
  sniff_read(c, NULL, 0, 50); /* EOF */
  CHECK_EQ(g_cap.n, 0);
  sniff_close(c, 60);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_REQUEST_ABORTED);
  CHECK_EQ(g_cap.ev[0].status, 0);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[0].req_body, 7);
  CHECK_EQ(g_cap.ev[0].route, 0);
  CHECK_EQ(g_cap.ev[0].duration, 60);
  CHECK_EQ(open_total(c), 0);
  CHECK_STR(sniff_error_name(SNIFF_ERR_REQUEST_ABORTED), "request_aborted");
  free(c);
  /* aborted inside the head */
  c = conn_new();
  rd(c, "GET /users/1 HTTP/1.1\r\nHo", 0);
  sniff_peer_closed(c, 1);
  sniff_close(c, 2);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_REQUEST_ABORTED);
  free(c);
  /* the server gives up on a slow request without the peer closing */
  c = conn_new();
  rd(c, "GET /users/1 HTTP/1.1\r\n", 0);
  sniff_close(c, 2);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_REQUEST_INCOMPLETE);
  free(c);
  /* the server answers the truncated request after the EOF (node: 400 and close) */
  c = conn_new();
  rd(c, "GET /users/1 HTTP/1.1\r\nHost: t\r\nX-Cut: sho", 0);
  sniff_read(c, NULL, 0, 1);
  wr(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", 2);
  sniff_close(c, 3);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 400);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_NONE);
  CHECK_EQ(g_cap.ev[0].duration, 3);
  free(c);
  /* EOF between requests is a normal end */
  c = conn_new();
  rd(c, k_get, 0);
  wr(c, k_ok, 1);
  sniff_read(c, NULL, 0, 2);
  sniff_close(c, 3);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_NONE);
  free(c);
}

static void test_response_incomplete(void) {
  sniff_conn *c = conn_new();
  rd(c, k_get, 0);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this", 1);
  sniff_close(c, 2);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_RESPONSE_INCOMPLETE);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].resp_body, 9);
  free(c);
  c = conn_new();
  rd(c, k_get, 0);
  sniff_close(c, 2);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_RESPONSE_INCOMPLETE);
  CHECK_EQ(g_cap.ev[0].status, 0);
  free(c);
}

static void test_discarded_input(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /users/1 HTTP/1.1\r\nHost: t\r\nX-Cut: sho", 0);
  sniff_read(c, NULL, 0, 1);
  sniff_read_discarded(c); /* lighttpd drains with recv(MSG_TRUNC) before closing */
  sniff_close(c, 2);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_REQUEST_ABORTED);
  free(c);
}

static void test_early_response(void) {
  sniff_conn *c = conn_new();
  rd(c, "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab", 0);
  wr(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n", 1);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 413);
  CHECK_EQ(g_cap.ev[0].req_body, 2);
  rd(c, "cdefghij", 2); /* the rest of the body, read after the answer */
  rd(c, k_get, 3);
  wr(c, k_ok, 4);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[1].method, SNIFF_GET);
  CHECK_EQ(g_cap.ev[1].req_body, 0);
  CHECK_EQ(open_total(c), 0);
  free(c);
}

static void test_tls_plaintext(void) {
  sniff_conn *c = conn_new();
  const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
  sniff_read(c, hello, sizeof hello, 0);
  CHECK_EQ(c->mode, SNIFF_MODE_TLS);
  sniff_write(c, (const uint8_t *)"\x16\x03\x03 server hello", 16, 1);
  CHECK(sniff_watching(c));
  sniff_read_tls(c, (const uint8_t *)k_get, strlen(k_get), 10);
  CHECK_EQ(sniff_open_scheme(sniff_open_word(c)), SNIFF_HTTPS); /* counted as https */
  CHECK_EQ(open_total(c), 1);
  sniff_read(c, (const uint8_t *)"\x17\x03\x03 ciphertext", 14, 11);
  sniff_write_tls(c, (const uint8_t *)k_ok, strlen(k_ok), 30);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].scheme, SNIFF_HTTPS);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].duration, 20);
  free(c);
}

static void test_sendfile_body(void) {
  sniff_conn *c = conn_new();
  rd(c, k_get, 0);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n", 1);
  sniff_write_opaque(c, 6000, 2);
  sniff_write_opaque(c, 4000, 3);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].resp_body, 10000);
  CHECK_EQ(g_cap.ev[0].duration, 3);
  /* opaque bytes where a head is expected: the sniffer stops */
  sniff_write_opaque(c, 10, 4);
  CHECK(!sniff_watching(c));
  free(c);
}

static void test_methods(void) {
  sniff_conn *c = conn_new();
  rd(c, "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n", 1);
  rd(c, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 2);
  wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3);
  rd(c, "get / HTTP/1.1\r\nHost: a\r\n\r\n", 4);
  wr(c, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n", 5);
  CHECK_EQ(g_cap.n, 3);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_OTHER);
  CHECK_STR(sniff_method_name(g_cap.ev[0].method), "_OTHER");
  CHECK_EQ(g_cap.ev[1].method, SNIFF_OPTIONS);
  CHECK_EQ(g_cap.ev[2].method, SNIFF_OTHER); /* methods are case-sensitive */
  CHECK_EQ(sniff_method_of("PATCH", 5), SNIFF_PATCH);
  CHECK_STR(sniff_method_name(SNIFF_TRACE), "TRACE");
  free(c);
}

static void test_absolute_form_route(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET http://example.com/users/5 HTTP/1.1\r\nHost: example.com\r\n\r\n", 0);
  wr(c, k_ok, 1);
  CHECK_EQ(g_cap.ev[0].route, 0);
  free(c);
}

static void test_empty_lines_between_requests(void) {
  sniff_conn *c = conn_new();
  rd(c, k_get, 0);
  wr(c, k_ok, 1);
  rd(c, "\r\n", 2);
  rd(c, k_get, 3);
  wr(c, k_ok, 4);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[1].duration, 1);
  free(c);
}


/* ---- the light scanner ----------------------------------------------------------------------------- */

static bool scan_req(const char *s, h1scan_head *h) { return h1scan_request((const uint8_t *)s, strlen(s), h); }
static bool scan_resp(const char *s, h1scan_head *h) { return h1scan_response((const uint8_t *)s, strlen(s), h); }

static void test_scanner_simple_heads(void) {
  h1scan_head h;
  const char *req = "POST /users/7?x=1 HTTP/1.0\r\nHost: a\r\ncOnTeNt-LeNgTh:\t 12 \r\nX: y\r\n\r\nbody";
  CHECK(scan_req(req, &h));
  CHECK_EQ(h.head_len, strlen(req) - 4);
  CHECK_EQ(h.method_len, 4);
  CHECK(memcmp(h.method, "POST", 4) == 0);
  CHECK_EQ(h.target_len, 12);
  CHECK(memcmp(h.target, "/users/7?x=1", 12) == 0);
  CHECK_EQ(h.version, 10);
  CHECK_EQ(h.content_length, 12);
  CHECK(scan_req("GET / HTTP/1.1\r\n\r\n", &h));
  CHECK_EQ(h.content_length, -1);
  CHECK_EQ(h.version, 11);
  CHECK_EQ(h.head_len, 18);
  CHECK(scan_req("M / HTTP/1.1\r\nContent-Type: x\r\nTransfer: y\r\nUpgrades: z\r\n\r\n", &h));
  CHECK_EQ(h.content_length, -1);

  CHECK(scan_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &h));
  CHECK_EQ(h.status, 200);
  CHECK_EQ(h.content_length, 5);
  CHECK_EQ(h.head_len, 38);
  CHECK(scan_resp("HTTP/1.0 404\r\n\r\n", &h)); /* no reason, no SP */
  CHECK_EQ(h.status, 404);
  CHECK_EQ(h.version, 10);
  CHECK(scan_resp("HTTP/1.1 100 Continue\r\n\r\n", &h)); /* the sniffer sends 1xx to the wire parser */
  CHECK_EQ(h.status, 100);
  CHECK(scan_resp("HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n", &h)); /* Upgrade only matters in requests */
}

/* The Content-Length value read 8 bytes at a time (h1scan_length_value_short) gives what the byte loop gives,
 * or declines: every length of 1 to 9 digits, leading zeros, other OWS, trailing OWS, non-digits right after
 * the digits, bare LF, and buffers that end early. The value's line ends after its first LF, as in a head. */
static int64_t length_by_bytes(const uint8_t *v, const uint8_t *end) { /* the byte loop alone: the reference */
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  const uint8_t *d = v;
  int64_t cl = 0;
  while (v < end && v - d < H1SCAN_MAX_CL_DIGITS && (unsigned)(*v - '0') <= 9) cl = cl * 10 + (*v++ - '0');
  if (v == d) return -1;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  if (end - v < 2 || v[0] != '\r' || v[1] != '\n') return -1;
  return cl;
}

static int64_t length_value_of(const char *buf, int64_t *short_path) {
  const uint8_t *v = (const uint8_t *)buf, *buf_end = v + strlen(buf);
  const char *lf = strchr(buf, '\n');
  const uint8_t *end = lf ? (const uint8_t *)lf + 1 : buf_end;
  *short_path = h1scan_length_value_short(v, end, buf_end);
  int64_t got = h1scan_length_value(v, end, buf_end), want = length_by_bytes(v, end);
  if (got != want || (*short_path >= 0 && *short_path != want)) {
    fprintf(stderr, "length value of \"%s\": %lld, short %lld, bytes %lld\n", buf, (long long)got,
            (long long)*short_path, (long long)want);
    CHECK(false);
  }
  return got;
}

static void test_scanner_length_values(void) {
  static const struct {
    const char *before, *after;
  } shapes[] = {{" ", "\r\nX: y\r\n\r\n"}, {" ", "\r\n\r\n"}, {"", "\r\n\r\nabcdefgh"}, {"  ", "\r\n\r\n"},
                {"\t", "\r\n\r\n"},        {" ", " \r\n\r\n"}, {" ", "x\r\n\r\n"},      {" ", "\n\r\n\r\n"},
                {" ", "\r"},               {" ", "/\r\n\r\n"}, {" ", ":\r\n\r\n"},      {" ", "\r\n"}};
  static const char *const values[] = {"0", "5", "10", "100", "0100", "9999", "12345", "999999", "1234567",
                                       "12345678", "123456789", "0000000", "", "-1", "1,1", "1 1"};
  size_t quick = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (size_t j = 0; j < sizeof values / sizeof *values; j++) {
      char buf[64];
      snprintf(buf, sizeof buf, "%s%s%s", shapes[i].before, values[j], shapes[i].after);
      int64_t short_path;
      (void)length_value_of(buf, &short_path);
      quick += short_path >= 0;
    }
  CHECK(quick >= 10); /* " N" CRLF with 8 more bytes after it, the common shape, takes the short path */
  for (int n = 0; n < 10000000; n = n * 3 + 1) { /* and every digit count up to 7 reads right */
    char buf[40];
    snprintf(buf, sizeof buf, " %d\r\nX: y\r\n\r\n", n);
    int64_t short_path;
    CHECK_EQ(length_value_of(buf, &short_path), n);
    CHECK_EQ(short_path, n);
  }
}

static void test_scanner_leaves_the_rest_to_the_parser(void) {
  h1scan_head h;
  const char *not_simple_req[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n",                                  /* incomplete */
      "GET / HTTP/1.1\r\nHost: a\r\n\r",                                /* incomplete */
      "GET / HTTP/1.1\nHost: a\n\n",                                    /* bare LF */
      "GET / HTTP/1.1\r\nHost: a\n\r\n",                                /* bare LF */
      "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",                           /* obsolete folding */
      "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n", /* repeated */
      "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",                 /* a list */
      "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", /* 19 digits */
      "GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",                       /* absolute form */
      "OPTIONS * HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.2\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET / http/1.1\r\n\r\n",
      " / HTTP/1.1\r\n\r\n",
      "GET /HTTP/1.1\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\n\r\n",
      "\rHEAD / HTTP/1.1\r\nHost: a\r\n\r\n",                          /* a leading CR (found by the fuzzer) */
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "",
  };
  for (size_t i = 0; i < sizeof not_simple_req / sizeof *not_simple_req; i++) {
    if (scan_req(not_simple_req[i], &h)) {
      fprintf(stderr, "scanner accepted request #%zu\n", i);
      CHECK(false);
    }
  }
  const char *not_simple_resp[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 5\n\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 099 OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200\n\r\n",
      "HTTP/2 200\r\n\r\n",
      "\x16\x03\x01\x00\x05 hello hello",
  };
  for (size_t i = 0; i < sizeof not_simple_resp / sizeof *not_simple_resp; i++) {
    if (scan_resp(not_simple_resp[i], &h)) {
      fprintf(stderr, "scanner accepted response #%zu\n", i);
      CHECK(false);
    }
  }
}

/* Every prefix of a head is incomplete; the head with anything after it is whole. Each prefix is copied into a
 * buffer of exactly its size, so that ASan sees any read past it. */
static void test_scanner_every_prefix(void) {
  const char *heads[] = {
      "GET / HTTP/1.1\r\n\r\n",
      "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
      "POST /a/very/long/path/that/is/longer/than/sixteen/bytes?q=1 HTTP/1.0\r\nContent-Length: 12345\r\n\r\n",
      "HTTP/1.1 200\r\n\r\n",
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n",
      /* nginx's own, 237 bytes: LFs in four 64-byte masks */
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 01:45:59 GMT\r\nContent-Type: text/html\r\n"
      "Content-Length: 100\r\nLast-Modified: Mon, 23 Nov 2026 01:45:58 GMT\r\nConnection: keep-alive\r\n"
      "ETag: \"6b039ad6-64\"\r\nAccept-Ranges: bytes\r\n\r\n",
      /* a start line longer than 64 bytes, and a header line across a 64-byte boundary */
      "GET /a/path/that/is/longer/than/sixty/four/bytes/all/by/itself/on/the/request/line HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
      "#x: 1\r\n4: 2\r\ncontent-length: 7\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
    size_t n = strlen(heads[i]);
    bool is_req = heads[i][0] != 'H';
    for (size_t k = 0; k <= n + 20; k++) {
      uint8_t *buf = malloc(k ? k : 1);
      for (size_t j = 0; j < k; j++) buf[j] = j < n ? (uint8_t)heads[i][j] : (uint8_t)('\n' + j % 3); /* body */
      h1scan_head h;
      bool ok = is_req ? h1scan_request(buf, k, &h) : h1scan_response(buf, k, &h);
      if (ok != (k >= n) || (ok && h.head_len != n)) {
        fprintf(stderr, "head #%zu, %zu bytes: %s\n", i, k, ok ? "accepted" : "refused");
        CHECK(false);
      }
      free(buf);
    }
  }
}

/* ---- fast path and wire parser agree ----------------------------------------------------------------- */

/* One scripted stream: request bytes and response bytes alternating, in order. */
typedef struct step {
  char dir; /* 'r' read, 'w' write, 'o' opaque write of strlen(data) bytes, 'e' peer EOF */
  const char *data;
} step;

typedef struct script {
  const char *name;
  step steps[8];
} script;

static const script k_scripts[] = {
    {"get",
     {{'r', "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"}, {'w', "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"}}},
    {"post body split",
     {{'r', "POST /users/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc"},
      {'r', "def"},
      {'w', "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"}}},
    {"pipelined mixed",
     {{'r', "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            "HEAD /static/x HTTP/1.0\r\n\r\n"},
      {'w', "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"},
      {'w', "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\nHTTP/1.0 200 OK\r\n"
            "Content-Length: 99\r\n\r\n"}}},
    {"expect continue",
     {{'r', "PUT /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"},
      {'w', "HTTP/1.1 100 Continue\r\n\r\n"},
      {'r', "data"},
      {'w', "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"}}},
    {"early answer",
     {{'r', "POST /big HTTP/1.1\r\nContent-Length: 10\r\n\r\nab"},
      {'w', "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"},
      {'r', "cdefghij"},
      {'r', "DELETE /users/3 HTTP/1.1\r\n\r\n"},
      {'w', "HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\n!"}}},
    {"sendfile",
     {{'r', "GET /f HTTP/1.1\r\n\r\n"},
      {'w', "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"},
      {'o', "0123456789012345678901234567890123456789"},
      {'o', ""}}},
    {"close delimited",
     {{'r', "GET /old HTTP/1.0\r\n\r\n"}, {'w', "HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\nsome"}, {'w', "thing"}}},
    {"aborted body",
     {{'r', "POST /users/9 HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial"}, {'e', ""}}},
    {"304 and head",
     {{'r', "GET /c HTTP/1.1\r\nIf-None-Match: x\r\n\r\nHEAD /d HTTP/1.1\r\n\r\n"},
      {'w', "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"},
      {'r', "GET /e HTTP/1.1\r\n\r\n"},
      {'w', "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"}}},
    {"upgrade refused",
     {{'r', "GET /h2c HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"},
      {'w', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
      {'r', "GET /z HTTP/1.1\r\n\r\n"},
      {'w', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}}},
    {"response incomplete",
     {{'r', "GET /users/4 HTTP/1.1\r\n\r\n"}, {'w', "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly"}}},
};

/* Runs a script with the fast path on or off; `cut` splits every data step in two at that offset (0: whole).
 * Returns the capture. */
static capture run_script(const script *sc, bool fast, size_t cut) {
  memset(&g_cap, 0, sizeof g_cap);
  sniff_conn *c = malloc(sizeof *c);
  sniff_init(c, &g_sink, &g_routes, 80, 1);
  sniff_set_fast_path(c, fast);
  int64_t t = 0;
  for (size_t i = 0; i < 8 && sc->steps[i].dir; i++) {
    const step *st = &sc->steps[i];
    size_t n = strlen(st->data), k = cut && cut < n ? cut : n;
    const uint8_t *d = (const uint8_t *)st->data;
    t += 10;
    switch (st->dir) {
    case 'r':
      sniff_read(c, d, k, t);
      if (k < n) sniff_read(c, d + k, n - k, t + 1);
      break;
    case 'w':
      sniff_write(c, d, k, t);
      if (k < n) sniff_write(c, d + k, n - k, t + 1);
      break;
    case 'o': sniff_write_opaque(c, n ? n : 4960, t); break;
    default: sniff_peer_closed(c, t); break;
    }
    if (open_total(c) > g_cap.active_max) g_cap.active_max = open_total(c);
  }
  sniff_close(c, t + 5);
  g_cap.active = open_total(c);
  free(c);
  return g_cap;
}

static bool same_events(const capture *a, const capture *b) {
  if (a->n != b->n || a->active != b->active || a->active_max != b->active_max) return false;
  for (int i = 0; i < a->n && i < MAX_EVENTS; i++) {
    const sniff_event *x = &a->ev[i], *y = &b->ev[i];
    if (x->duration != y->duration || x->req_body != y->req_body || x->resp_body != y->resp_body ||
        x->status != y->status || x->method != y->method || x->version != y->version || x->error != y->error ||
        x->route != y->route)
      return false;
  }
  return true;
}

static void test_fast_and_wire_agree(void) {
  preload_routes_compile(&g_routes, "/users/{id},/static/*");
  for (size_t i = 0; i < sizeof k_scripts / sizeof *k_scripts; i++) {
    for (size_t cut = 0; cut < 140; cut++) {
      capture slow = run_script(&k_scripts[i], false, cut);
      CHECK(slow.n > 0);
      CHECK_EQ(slow.active, 0);
      capture fast = run_script(&k_scripts[i], true, cut);
      if (!same_events(&slow, &fast)) {
        fprintf(stderr, "script \"%s\", cut at %zu: fast path and wire parser differ\n", k_scripts[i].name, cut);
        for (int e = 0; e < slow.n || e < fast.n; e++)
          fprintf(stderr, "  %d: slow %d/%d/%llu/%lld  fast %d/%d/%llu/%lld\n", e, slow.ev[e].status, slow.ev[e].error,
                  (unsigned long long)slow.ev[e].resp_body, (long long)slow.ev[e].duration, fast.ev[e].status,
                  fast.ev[e].error, (unsigned long long)fast.ev[e].resp_body, (long long)fast.ev[e].duration);
        CHECK(false);
        break;
      }
    }
  }
}

/* ---- the lazy clock ------------------------------------------------------------------------------------ */

static int g_clock_reads;
static int64_t count_clock(void *user) {
  (void)user;
  return 1000 * ++g_clock_reads;
}

static void test_clock_read_twice_per_exchange(void) {
  for (int fast = 0; fast < 2; fast++) {
    memset(&g_cap, 0, sizeof g_cap);
    g_clock_reads = 0;
    sniff_sink sink = {cap_done, cap_active, &g_cap, count_clock, cap_seen};
    sniff_conn *c = malloc(sizeof *c);
    sniff_init(c, &sink, NULL, 80, 0);
    sniff_set_fast_path(c, fast);
    sniff_read(c, (const uint8_t *)"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, SNIFF_CLOCK);
    wr(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", SNIFF_CLOCK);
    sniff_write(c, (const uint8_t *)"01234", 5, SNIFF_CLOCK);
    sniff_write_opaque(c, 5, SNIFF_CLOCK);
    CHECK_EQ(g_cap.n, 1);
    CHECK_EQ(g_clock_reads, 2); /* the first request byte and the last response byte, nothing in between */
    CHECK_EQ(g_cap.ev[0].duration, 1000);
    sniff_read(c, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, SNIFF_CLOCK); /* a second request begins */
    CHECK_EQ(g_clock_reads, 3);
    sniff_read(c, (const uint8_t *)"\r\n", 2, SNIFF_CLOCK);
    CHECK_EQ(g_clock_reads, 3);
    sniff_close(c, SNIFF_CLOCK);
    CHECK_EQ(g_cap.n, 2);
    CHECK_EQ(g_cap.ev[1].duration, 1000);
    CHECK_EQ(g_cap.ev[1].error, SNIFF_ERR_RESPONSE_INCOMPLETE);
    free(c);
  }
}

int main(void) {
  for (int fast = 1; fast >= 0; fast--) { /* every scenario with the fast path, then without */
    g_fast = fast;
    RUN(test_get_200);
    RUN(test_split_every_byte);
    RUN(test_404_and_keep_alive);
    RUN(test_head_no_body);
    RUN(test_204_304_no_body);
    RUN(test_post_content_length_and_chunked);
    RUN(test_expect_100_continue);
    RUN(test_pipelined);
    RUN(test_open_word);
    RUN(test_sequence_wrap);
    RUN(test_too_many_pipelined);
    RUN(test_http10_close_delimited);
    RUN(test_shutdown_ends_close_delimited);
    RUN(test_upgrade_101);
    RUN(test_upgrade_refused);
    RUN(test_connect_stops);
    RUN(test_http2_preface);
    RUN(test_garbage_stops);
    RUN(test_peer_aborts_mid_request);
    RUN(test_response_incomplete);
    RUN(test_early_response);
    RUN(test_discarded_input);
    RUN(test_tls_plaintext);
    RUN(test_sendfile_body);
    RUN(test_methods);
    RUN(test_absolute_form_route);
    RUN(test_empty_lines_between_requests);
  }
  g_fast = true;
  RUN(test_scanner_simple_heads);
  RUN(test_scanner_length_values);
  RUN(test_scanner_leaves_the_rest_to_the_parser);
  RUN(test_scanner_every_prefix);
  RUN(test_fast_and_wire_agree);
  RUN(test_clock_read_twice_per_exchange);
  return test_finish();
}
