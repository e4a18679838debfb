/* bench_http1.c — speed of the HTTP/1 parser (wire/http1.h) on nginx-sized traffic: a browser-like GET with 8
 * header fields (~420 bytes) and nginx's answer with 8 header fields and a 100-byte body (~330 bytes), parsed
 * on a keep-alive stream as one feed per message and cut in 2 and 3 pieces (as read()/write() may deliver
 * them), with the callbacks the LD_PRELOAD shim uses (no on_header), and with an on_header callback; plus the
 * short heads of bench_preload.c's exchange (77 + 82 bytes, 3 fields each). Prints ns per message (best of 5
 * rounds: the machine is shared) and MB/s.
 *
 * Usage: bench_http1 [iterations per round, default 1000000] [scenario name]
 * For instruction counts (deterministic), one scenario under callgrind:
 *   valgrind --tool=callgrind build/rel/bench/bench_http1 100000 "request whole"
 * and divide the total Ir of wire_h1_parse (inclusive) by the iterations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/clock.h"
#include "wire/http1.h"

#define ROUNDS 5

static const char k_request[] =
    "GET /assets/index.html?v=3 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=4f2a9c1e7b3d5a60; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "\r\n";

static const char k_response[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sun, 22 Nov 2026 15:34:02 GMT\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 100\r\n"
    "Last-Modified: Tue, 17 Nov 2026 09:12:44 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6560f0a2-64\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n"
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";

/* bench_preload.c's exchange: the short heads the shim's per-exchange figure is made of */
static const char k_small_request[] =
    "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
static const char k_small_response[] =
    "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";

typedef struct counts {
  uint64_t messages, headers, body_bytes;
} counts;

static int c_begin(wire_h1_parser *p) {
  (void)p;
  return 0;
}
static int c_req(wire_h1_parser *p, const char *m, size_t ml, const char *t, size_t tl, int v) {
  (void)p, (void)m, (void)ml, (void)t, (void)tl, (void)v;
  return 0;
}
static int c_status(wire_h1_parser *p, int v, int s, const char *r, size_t rl) {
  (void)p, (void)v, (void)s, (void)r, (void)rl;
  return 0;
}
static int c_header(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  (void)n, (void)nl, (void)v, (void)vl;
  ((counts *)p->user)->headers++;
  return 0;
}
static int c_hc(wire_h1_parser *p) {
  (void)p;
  return 0;
}
static int c_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  (void)d;
  ((counts *)p->user)->body_bytes += n;
  return 0;
}
static int c_complete(wire_h1_parser *p) {
  ((counts *)p->user)->messages++;
  return 0;
}

/* The shim's set: no per-header callback. */
static const wire_h1_callbacks k_shim_cb = {.on_message_begin = c_begin,
                                            .on_request_line = c_req,
                                            .on_status_line = c_status,
                                            .on_headers_complete = c_hc,
                                            .on_body = c_body,
                                            .on_message_complete = c_complete};
static const wire_h1_callbacks k_header_cb = {.on_message_begin = c_begin,
                                              .on_request_line = c_req,
                                              .on_status_line = c_status,
                                              .on_header = c_header,
                                              .on_headers_complete = c_hc,
                                              .on_body = c_body,
                                              .on_message_complete = c_complete};

typedef struct scenario {
  const char *name;
  wire_h1_kind kind;
  int pieces;
  bool with_on_header;
  bool small; /* bench_preload's heads instead of the nginx-sized ones */
} scenario;

static const scenario k_scenarios[] = {
    {"request whole", WIRE_H1_REQUEST, 1, false, false},
    {"request in 2 pieces", WIRE_H1_REQUEST, 2, false, false},
    {"request in 3 pieces", WIRE_H1_REQUEST, 3, false, false},
    {"request whole, on_header", WIRE_H1_REQUEST, 1, true, false},
    {"response whole", WIRE_H1_RESPONSE, 1, false, false},
    {"response in 2 pieces", WIRE_H1_RESPONSE, 2, false, false},
    {"response in 3 pieces", WIRE_H1_RESPONSE, 3, false, false},
    {"response whole, on_header", WIRE_H1_RESPONSE, 1, true, false},
    {"small request (bench_preload)", WIRE_H1_REQUEST, 1, false, true},
    {"small response (bench_preload)", WIRE_H1_RESPONSE, 1, false, true},
};

/* Feeds one message in `pieces` cuts (at 1/2, or 1/3 and 2/3 of its length); false on a parse error. */
static bool feed(wire_h1_parser *p, const uint8_t *msg, size_t len, int pieces) {
  wire_err err;
  size_t at = 0;
  for (int k = 1; k <= pieces; k++) {
    size_t end = len * (size_t)k / (size_t)pieces;
    if (wire_h1_parse(p, msg + at, end - at, &err) != (ssize_t)(end - at)) {
      fprintf(stderr, "parse error: %s\n", err.msg);
      return false;
    }
    at = end;
  }
  return true;
}

static int run(const scenario *s, long iters) {
  const char *msg = s->kind == WIRE_H1_REQUEST ? (s->small ? k_small_request : k_request)
                                                : (s->small ? k_small_response : k_response);
  size_t len = strlen(msg);
  wire_h1_config cfg = {.kind = s->kind, .max_head_bytes = 1 << 20, .max_headers = 1000};
  static char window[WIRE_H1_DEFAULT_WINDOW];
  counts c = {0};
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, s->with_on_header ? &k_header_cb : &k_shim_cb, &c, window, sizeof window);
  int64_t best = INT64_MAX;
  for (int round = 0; round < ROUNDS; round++) {
    int64_t t0 = wire_now_ns();
    for (long i = 0; i < iters; i++)
      if (!feed(&p, (const uint8_t *)msg, len, s->pieces)) return 1;
    int64_t d = wire_now_ns() - t0;
    if (d < best) best = d;
  }
  if (c.messages != (uint64_t)iters * ROUNDS) {
    fprintf(stderr, "%s: %llu messages parsed, expected %llu\n", s->name, (unsigned long long)c.messages,
            (unsigned long long)iters * ROUNDS);
    return 1;
  }
  double ns = (double)best / (double)iters;
  printf("%-30s %4zu bytes %8.1f ns/message %8.1f MB/s\n", s->name, len, ns, (double)len / ns * 1e3);
  return 0;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 1000000;
  if (iters <= 0) iters = 1000000;
  const char *only = argc > 2 ? argv[2] : NULL;
  printf("%ld iterations per round, best of %d rounds\n", iters, ROUNDS);
  for (size_t i = 0; i < sizeof k_scenarios / sizeof k_scenarios[0]; i++) {
    if (only && strcmp(k_scenarios[i].name, only) != 0) continue;
    if (run(&k_scenarios[i], iters)) return 1;
  }
  return 0;
}
