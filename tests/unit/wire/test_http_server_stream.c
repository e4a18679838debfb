/* test_http_server_stream.c — streamed responses of the HTTP server (wire_exchange_respond_stream) on 127.0.0.1:
 * HTTP/1.1 chunked bodies (many chunks, keep-alive and a pipelined request behind), HTTP/1.0 close-delimited
 * bodies, gzip over both protocols, HTTP/2 through the wire client, HEAD (headers only, the source released
 * without being asked), a source failing mid-body (truncated chunked body / RST_STREAM), clients that go away
 * mid-body over HTTP/1.1 and HTTP/2 (the source is released, ASan checks nothing leaks), a reader that stops
 * reading (the source is not driven further than the connection holds) and the idle timeout ending a stalled
 * reader.
 *
 * The server runs on its own libuv loop thread; the source counts what it produced and how it was released. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "loop_server.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/gzip.h"
#include "wire/http_client.h"
#include "wire/server/http_server.h"

#define MS 1000000LL

/* ---- the body source ----------------------------------------------------------------------------------------- */

static atomic_size_t produced;  /* body bytes handed to the server, all sources together */
static atomic_int next_calls, released_ok, released_aborted;

typedef struct tsource {
  size_t total, off;
  size_t fail_at; /* 0: never */
} tsource;

static uint8_t pattern(size_t i) { return (uint8_t)(i % 61 == 60 ? '\n' : 'a' + (i * 7 + i / 4093) % 26); }

static int src_next(void *ud, wire_buf *out, size_t want) {
  tsource *t = ud;
  atomic_fetch_add(&next_calls, 1);
  if (t->fail_at && t->off >= t->fail_at) return -1;
  size_t n = t->total - t->off;
  if (n > want) n = want;
  if (wire_buf_reserve(out, n, NULL) < 0) return -1;
  for (size_t i = 0; i < n; i++) out->data[out->len + i] = pattern(t->off + i);
  out->len += n;
  t->off += n;
  atomic_fetch_add(&produced, n);
  return t->off == t->total ? WIRE_BODY_END : WIRE_BODY_MORE;
}

static void src_release(void *ud, bool completed) {
  atomic_fetch_add(completed ? &released_ok : &released_aborted, 1);
  free(ud);
}

static void counters_reset(void) {
  atomic_store(&produced, 0);
  atomic_store(&next_calls, 0);
  atomic_store(&released_ok, 0);
  atomic_store(&released_aborted, 0);
}

static bool body_matches(const uint8_t *p, size_t n, size_t want) {
  if (n != want) return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(i)) return false;
  return true;
}

/* ---- the server ----------------------------------------------------------------------------------------------- */

/* /stream/<bytes>[/fail/<at>]: a streamed body of the pattern (gzip when accepted); /small: "small". */
static void handler(wire_exchange *ex, void *ud) {
  (void)ud;
  const wire_http_request *r = wire_exchange_request(ex);
  unsigned long long total = 0, fail_at = 0;
  if (sscanf(r->path, "/stream/%llu/fail/%llu", &total, &fail_at) < 1) {
    wire_exchange_respond_text(ex, 200, "small");
    return;
  }
  tsource *t = calloc(1, sizeof *t);
  t->total = (size_t)total;
  t->fail_at = (size_t)fail_at;
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "text/plain", NULL);
  wire_headers_add_cstr(&h, "content-length", "1", NULL); /* the server's business: dropped */
  wire_body_source src = {.next = src_next, .release = src_release, .ud = t};
  wire_exchange_respond_stream(ex, 200, &h, &src, wire_request_accepts_gzip(r));
  wire_headers_free(&h);
}

/* The server on its own loop thread (loop_server.h) with this file's handler. */
static int server_start(loop_server *s, uint64_t idle_timeout_ms) {
  wire_server_config cfg = {
      .endpoint = "127.0.0.1:0",
      .idle_timeout_ms = idle_timeout_ms,
      .max_pending_output = 1 << 20,
  };
  return loop_server_start(s, &cfg, handler, NULL);
}

/* Waits (bounded) until *v reaches want. */
static bool wait_for(atomic_int *v, int want) {
  int64_t deadline = wire_now_ns() + 10000 * MS;
  while (atomic_load(v) < want && wire_now_ns() < deadline) usleep(2000);
  return atomic_load(v) >= want;
}

/* ---- raw HTTP/1 ------------------------------------------------------------------------------------------------ */

static int raw_connect(uint16_t port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void raw_send(int fd, const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* Everything until EOF (bounded by the receive timeout), NUL-terminated beyond len. */
static void read_all(int fd, wire_buf *in) {
  char chunk[65536];
  for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) wire_buf_append(in, chunk, (size_t)n, NULL);
  wire_buf_append(in, "", 1, NULL);
  in->len--;
}

/* One response from p: head (lower-cased, into head), body decoded per its framing (chunked, or up to the end).
 * Returns the bytes consumed, or -1 when the response is incomplete or malformed; *chunks counts data chunks. */
static long parse_response(const char *p, size_t n, char *head, size_t head_cap, wire_buf *body, int *chunks) {
  const char *end = p + n;
  const char *he = memmem(p, n, "\r\n\r\n", 4);
  if (!he) return -1;
  size_t hl = (size_t)(he - p);
  snprintf(head, head_cap, "%.*s", (int)(hl < head_cap - 1 ? hl : head_cap - 1), p);
  for (char *c = head; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  const char *b = he + 4;
  *chunks = 0;
  if (strstr(head, "transfer-encoding: chunked")) {
    for (;;) {
      char *e;
      unsigned long long len = strtoull(b, &e, 16);
      if (e == b || e + 2 > end || e[0] != '\r' || e[1] != '\n') return -1;
      b = e + 2;
      if (len == 0) return end - b >= 2 && b[0] == '\r' && b[1] == '\n' ? (long)(b + 2 - p) : -1;
      if ((size_t)(end - b) < len + 2 || b[len] != '\r' || b[len + 1] != '\n') return -1;
      wire_buf_append(body, b, len, NULL);
      (*chunks)++;
      b += len + 2;
    }
  }
  const char *cl = strstr(head, "content-length: ");
  if (cl) {
    size_t len = strtoull(cl + 16, NULL, 10);
    if ((size_t)(end - b) < len) return -1;
    wire_buf_append(body, b, len, NULL);
    return (long)(b + len - p);
  }
  wire_buf_append(body, b, (size_t)(end - b), NULL); /* close-delimited */
  return (long)n;
}

/* ---- tests ----------------------------------------------------------------------------------------------------- */

static loop_server S;

/* One raw HTTP/1 exchange on a new connection to S: sends `request` and reads until the server closes the
 * connection (bounded by the receive timeout); `in` (initialised here) gets every byte, NUL-terminated. */
static void raw_exchange(const char *request, wire_buf *in) {
  int fd = raw_connect(S.port, 0);
  CHECK(fd >= 0);
  raw_send(fd, request);
  wire_buf_init(in, 0);
  read_all(fd, in);
  close(fd);
}

static void test_h1_chunked_then_pipelined(void) {
  counters_reset();
  wire_buf in, body;
  raw_exchange("GET /stream/300000 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               &in);
  wire_buf_init(&body, 0);
  char head[1024];
  int chunks = 0;
  long used = parse_response((char *)in.data, in.len, head, sizeof head, &body, &chunks);
  CHECK(used > 0);
  CHECK_CONTAINS(head, "http/1.1 200");
  CHECK_CONTAINS(head, "transfer-encoding: chunked");
  CHECK(strstr(head, "content-length") == NULL);
  CHECK(strstr(head, "connection: close") == NULL);
  CHECK_MSG(chunks >= 4, "%d chunks", chunks); /* 300,000 bytes in pieces of WIRE_BODY_PIECE */
  CHECK(body_matches(body.data, body.len, 300000));
  /* the pipelined request behind it is answered on the same connection */
  wire_buf_reset(&body);
  CHECK(used > 0 && parse_response((char *)in.data + used, in.len - (size_t)used, head, sizeof head, &body, &chunks) > 0);
  CHECK_CONTAINS(head, "http/1.1 200");
  CHECK(body.len == 5 && memcmp(body.data, "small", 5) == 0);
  CHECK(wait_for(&released_ok, 1));
  CHECK_EQ(atomic_load(&released_aborted), 0);
  wire_buf_free(&in);
  wire_buf_free(&body);
}

static void test_h1_gzip(void) {
  counters_reset();
  wire_buf in, body, plain;
  raw_exchange("GET /stream/1000000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br;q=1.0, gzip;q=0.5\r\nConnection: close\r\n\r\n",
               &in);
  wire_buf_init(&body, 0);
  wire_buf_init(&plain, 0);
  char head[1024];
  int chunks = 0;
  CHECK(parse_response((char *)in.data, in.len, head, sizeof head, &body, &chunks) > 0);
  CHECK_CONTAINS(head, "content-encoding: gzip");
  CHECK_CONTAINS(head, "connection: close");
  CHECK(body.len < 1000000 / 4);
  CHECK(wire_gzip_decompress(body.data, body.len, 2000000, &plain, NULL) == 0);
  CHECK(body_matches(plain.data, plain.len, 1000000));
  /* gzip;q=0 refuses */
  wire_http_request r;
  wire_http_request_init(&r, 0, 0);
  wire_headers_add_cstr(&r.headers, "accept-encoding", "gzip;q=0, identity", NULL);
  CHECK(!wire_request_accepts_gzip(&r));
  wire_headers_set(&r.headers, "accept-encoding", "deflate,GZIP", NULL);
  CHECK(wire_request_accepts_gzip(&r));
  wire_headers_set(&r.headers, "accept-encoding", "x-gzipped", NULL);
  CHECK(!wire_request_accepts_gzip(&r));
  wire_http_request_free(&r);
  wire_buf_free(&in);
  wire_buf_free(&body);
  wire_buf_free(&plain);
}

static void test_h1_10_close_delimited_and_head(void) {
  counters_reset();
  wire_buf in, body;
  raw_exchange("GET /stream/200000 HTTP/1.0\r\n\r\n", &in);
  wire_buf_init(&body, 0);
  char head[1024];
  int chunks = 0;
  CHECK(parse_response((char *)in.data, in.len, head, sizeof head, &body, &chunks) > 0);
  CHECK_CONTAINS(head, "http/1.0 200");
  CHECK_CONTAINS(head, "connection: close");
  CHECK(strstr(head, "transfer-encoding") == NULL);
  CHECK(body_matches(body.data, body.len, 200000));
  CHECK(wait_for(&released_ok, 1));

  /* HEAD: the headers a GET would get, no body; the source is never asked */
  counters_reset();
  wire_buf_free(&in);
  raw_exchange("HEAD /stream/200000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
               "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               &in);
  CHECK_CONTAINS((char *)in.data, "transfer-encoding: chunked\r\n");
  CHECK_CONTAINS((char *)in.data, "content-encoding: gzip\r\n");
  const char *second = strstr((char *)in.data, "\r\n\r\n");
  CHECK(second && strncmp(second + 4, "HTTP/1.1 200", 12) == 0); /* nothing between: no body */
  CHECK(wait_for(&released_ok, 1));
  CHECK_EQ(atomic_load(&next_calls), 0);
  wire_buf_free(&in);
  wire_buf_free(&body);
}

static void test_h1_source_failure_truncates(void) {
  counters_reset();
  wire_buf in, body;
  raw_exchange("GET /stream/1000000/fail/200000 HTTP/1.1\r\nHost: x\r\n\r\n", &in); /* the server closes */
  wire_buf_init(&body, 0);
  char head[1024];
  int chunks = 0;
  CHECK(in.len > 200000);
  CHECK_EQ(parse_response((char *)in.data, in.len, head, sizeof head, &body, &chunks), -1); /* no last chunk */
  CHECK_CONTAINS(head, "http/1.1 200");
  CHECK(wait_for(&released_aborted, 1));
  CHECK_EQ(atomic_load(&released_ok), 0);
  wire_buf_free(&in);
  wire_buf_free(&body);
}

static void test_h1_client_gone_mid_body(void) {
  counters_reset();
  int fd = raw_connect(S.port, 4096);
  raw_send(fd, "GET /stream/200000000 HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[4096];
  CHECK(read(fd, buf, sizeof buf) > 0);
  close(fd);
  CHECK(wait_for(&released_aborted, 1));
  CHECK(atomic_load(&produced) < 200000000);
}

/* A reader that stops reading: the source is asked for no more than the connection holds. */
static void test_h1_stalled_reader_is_bounded(void) {
  counters_reset();
  size_t total = 64u << 20;
  int fd = raw_connect(S.port, 16384);
  char req[128];
  snprintf(req, sizeof req, "GET /stream/%zu HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", total);
  raw_send(fd, req);
  size_t last = (size_t)-1;
  int stable = 0;
  for (int i = 0; i < 400 && stable < 10; i++) { /* until production stops (bounded) */
    usleep(10000);
    size_t now = atomic_load(&produced);
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  CHECK_MSG(stable >= 10, "production did not stop: %zu bytes", last);
  CHECK_MSG(last < 16u << 20, "%zu bytes produced for a reader that reads nothing", last);
  printf("# stalled reader: %zu bytes produced of %zu\n", last, total);
  /* then it reads: the whole body arrives */
  wire_buf in, body;
  wire_buf_init(&in, 0);
  wire_buf_init(&body, 0);
  read_all(fd, &in);
  close(fd);
  char head[1024];
  int chunks = 0;
  CHECK(parse_response((char *)in.data, in.len, head, sizeof head, &body, &chunks) > 0);
  CHECK(body_matches(body.data, body.len, total));
  CHECK(wait_for(&released_ok, 1));
  wire_buf_free(&in);
  wire_buf_free(&body);
}

static void test_idle_timeout_ends_stalled_reader(void) {
  loop_server idle;
  CHECK(server_start(&idle, 300) == 0);
  counters_reset();
  int fd = raw_connect(idle.port, 4096);
  raw_send(fd, "GET /stream/100000000 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(wait_for(&released_aborted, 1)); /* no byte moved for 300 ms: the connection is aborted */
  CHECK(atomic_load(&produced) < 100000000);
  close(fd);
  loop_server_stop(&idle);
}

/* ---- HTTP/2 ------------------------------------------------------------------------------------------------------ */

static void test_h2_streams(void) {
  counters_reset();
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", S.port);
  wire_client_config cc = {.endpoint = ep, .proto = WIRE_CLIENT_H2, .max_response_bytes = 8u << 20};
  wire_err err;
  wire_client *c = wire_client_new(&cc, &err);
  CHECK(c != NULL);
  for (int gz = 0; gz < 2; gz++) {
    wire_http_request req;
    wire_http_request_init(&req, 0, 0);
    wire_http_request_set_target(&req, "GET", "/stream/3000000", NULL, NULL);
    if (gz) wire_headers_add_cstr(&req.headers, "accept-encoding", "gzip", NULL);
    wire_http_response resp;
    wire_http_response_init(&resp, 0, 8u << 20);
    CHECK_MSG(wire_client_do(c, &req, &resp, wire_now_ns() + 20000 * MS, &err) == 0, "h2: %s", err.msg);
    CHECK_EQ(resp.status, 200);
    CHECK(wire_headers_get(&resp.headers, "content-length") == NULL);
    CHECK_STR(wire_headers_get(&resp.headers, "content-type"), "text/plain");
    wire_buf plain;
    wire_buf_init(&plain, 0);
    if (gz) {
      const char *ce = wire_headers_get(&resp.headers, "content-encoding");
      CHECK(ce && strcmp(ce, "gzip") == 0);
      CHECK(wire_gzip_decompress(resp.body.data, resp.body.len, 4000000, &plain, NULL) == 0);
    } else {
      wire_buf_append(&plain, resp.body.data, resp.body.len, NULL);
    }
    CHECK(body_matches(plain.data, plain.len, 3000000));
    wire_buf_free(&plain);
    wire_http_response_free(&resp);
    wire_http_request_free(&req);
  }
  CHECK(wait_for(&released_ok, 2));
  /* HEAD: headers only; a failing source: the stream is reset, the connection lives on */
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "HEAD", "/stream/3000000", NULL, NULL);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 8u << 20);
  CHECK(wire_client_do(c, &req, &resp, wire_now_ns() + 5000 * MS, &err) == 0);
  CHECK_EQ(resp.status, 200);
  CHECK_EQ(resp.body.len, 0);
  CHECK(wait_for(&released_ok, 3));
  wire_http_response_reset(&resp);
  wire_http_request_set_target(&req, "GET", "/stream/3000000/fail/1000000", NULL, NULL);
  CHECK(wire_client_do(c, &req, &resp, wire_now_ns() + 5000 * MS, &err) < 0);
  CHECK(wait_for(&released_aborted, 1));
  wire_http_response_reset(&resp);
  wire_http_request_set_target(&req, "GET", "/small", NULL, NULL);
  CHECK(wire_client_do(c, &req, &resp, wire_now_ns() + 5000 * MS, &err) == 0);
  CHECK_EQ(resp.status, 200);
  wire_http_response_free(&resp);
  wire_http_request_free(&req);
  wire_client_free(c);
}

/* A raw HTTP/2 client (nghttp2) that reads a little of a large streamed body, then drops the connection. */
typedef struct h2peer {
  int fd;
  size_t data;
} h2peer;

static ssize_t peer_send(nghttp2_session *s, const uint8_t *d, size_t n, int flags, void *ud) {
  (void)s, (void)flags;
  h2peer *p = ud;
  ssize_t w = send(p->fd, d, n, MSG_NOSIGNAL);
  return w < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : w;
}

static int peer_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n, void *ud) {
  (void)s, (void)flags, (void)id, (void)d;
  ((h2peer *)ud)->data += n;
  return 0;
}

static void test_h2_client_gone_mid_body(void) {
  counters_reset();
  h2peer p = {.fd = raw_connect(S.port, 0)};
  CHECK(p.fd >= 0);
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, peer_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, peer_data);
  nghttp2_session *s;
  nghttp2_session_client_new(&s, cbs, &p);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
  const nghttp2_nv nva[] = {
      {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
      {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
      {(uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0},
      {(uint8_t *)":path", (uint8_t *)"/stream/500000000", 5, 17, 0},
  };
  CHECK(nghttp2_submit_request(s, NULL, nva, 4, NULL, NULL) > 0);
  nghttp2_session_send(s);
  uint8_t buf[16384];
  int64_t deadline = wire_now_ns() + 10000 * MS;
  while (p.data < 100000 && wire_now_ns() < deadline) {
    ssize_t n = read(p.fd, buf, sizeof buf);
    if (n <= 0) break;
    nghttp2_session_mem_recv(s, buf, (size_t)n);
    nghttp2_session_send(s); /* WINDOW_UPDATE */
  }
  CHECK(p.data >= 100000);
  close(p.fd);
  nghttp2_session_del(s);
  CHECK(wait_for(&released_aborted, 1));
  CHECK(atomic_load(&produced) < 500000000);
}

int main(void) {
  if (server_start(&S, 0) < 0) return 1;
  RUN(test_h1_chunked_then_pipelined);
  RUN(test_h1_gzip);
  RUN(test_h1_10_close_delimited_and_head);
  RUN(test_h1_source_failure_truncates);
  RUN(test_h1_client_gone_mid_body);
  RUN(test_h1_stalled_reader_is_bounded);
  RUN(test_h2_streams);
  RUN(test_h2_client_gone_mid_body);
  RUN(test_idle_timeout_ends_stalled_reader);
  loop_server_stop(&S);
  return test_finish();
}
