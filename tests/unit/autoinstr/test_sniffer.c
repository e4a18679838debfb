/* test_sniffer.c — the preload shim's HTTP/1 sniffer fed with request and response byte streams, whole and split
 * at every byte: what it reports per exchange (method, status, version, route, body sizes, duration, error.type),
 * when it stops watching, and that active-request counts always come back to zero. */
#include <stdlib.h>
#include <string.h>

#include "autoinstr/sniffer.h"
#include "testlib.h"

#define MAX_EVENTS 32

typedef struct capture {
  sniff_event ev[MAX_EVENTS];
  int n;
  int active;     /* current sum of the active deltas */
  int active_max;
} capture;

static void cap_done(void *user, const sniff_event *ev) {
  capture *c = user;
  if (c->n < MAX_EVENTS) c->ev[c->n] = *ev;
  c->n++;
}

static void cap_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  capture *c = user;
  c->active += delta;
  if (c->active > c->active_max) c->active_max = c->active;
}

static capture g_cap;
static sniff_sink g_sink = {cap_done, cap_active, &g_cap};
static preload_routes g_routes;

static sniff_conn *conn_new(void) {
  memset(&g_cap, 0, sizeof g_cap);
  sniff_conn *c = malloc(sizeof *c);
  preload_routes_compile(&g_routes, "/users/{id},/static/*");
  sniff_init(c, &g_sink, &g_routes, 8080, 3);
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
  CHECK_EQ(g_cap.active, 1);
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
  CHECK_EQ(e->duration_ns, 3000);
  CHECK_EQ(e->req_body, 0);
  CHECK_EQ(e->resp_body, 5);
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 10);
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
  CHECK_EQ(g_cap.ev[1].duration_ns, 50);
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 7);
  free(c);
}

static void test_pipelined(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\nPOST /c HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 3\r\n\r\nxyz",
     100);
  CHECK_EQ(g_cap.active, 3);
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
  CHECK_EQ(g_cap.ev[2].duration_ns, 200);
  CHECK_EQ(g_cap.active, 0);
  CHECK_EQ(g_cap.active_max, 3);
  free(c);
}

static void test_too_many_pipelined(void) {
  sniff_conn *c = conn_new();
  for (int i = 0; i < SNIFF_MAX_PENDING + 1; i++) rd(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", i);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_UNEXPECTED);
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 9);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_NONE);
  CHECK_EQ(g_cap.active, 0);
  free(c);
}

static void test_shutdown_ends_close_delimited(void) {
  sniff_conn *c = conn_new();
  rd(c, "GET /old HTTP/1.1\r\nHost: a\r\n\r\n", 0);
  wr(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", 5);
  sniff_shutdown_write(c, 7);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].resp_body, 3);
  CHECK_EQ(g_cap.ev[0].duration_ns, 7);
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
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.active, 0);
  free(c);
}

static void test_http2_preface(void) {
  sniff_conn *c = conn_new();
  rd1(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_HTTP2);
  free(c);
  c = conn_new();
  rd(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00", 0);
  CHECK_EQ(c->stop, SNIFF_STOP_HTTP2);
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
  CHECK_EQ(g_cap.active, 1);
  wr(c, "HTTP/1.1 200 OK\r\nBad Header : x\r\n\r\n", 1);
  CHECK(!sniff_watching(c));
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 60);
  CHECK_EQ(g_cap.active, 0);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 3);
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
  CHECK_EQ(g_cap.active, 0);
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
  sniff_read(c, (const uint8_t *)"\x17\x03\x03 ciphertext", 14, 11);
  sniff_write_tls(c, (const uint8_t *)k_ok, strlen(k_ok), 30);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].scheme, SNIFF_HTTPS);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].duration_ns, 20);
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
  CHECK_EQ(g_cap.ev[0].duration_ns, 3);
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
  CHECK_EQ(g_cap.ev[1].duration_ns, 1);
  free(c);
}

int main(void) {
  RUN(test_get_200);
  RUN(test_split_every_byte);
  RUN(test_404_and_keep_alive);
  RUN(test_head_no_body);
  RUN(test_204_304_no_body);
  RUN(test_post_content_length_and_chunked);
  RUN(test_expect_100_continue);
  RUN(test_pipelined);
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
  return test_finish();
}
