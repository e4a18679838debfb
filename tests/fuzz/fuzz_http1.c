// fuzz-links: wire
/* fuzz_http1.c — libFuzzer target for the HTTP/1.x parser (wire/http1.h).
 *
 * Input: one config byte, then the stream. The stream is parsed as requests and as responses, once in a single
 * feed and once cut into pieces (sizes drawn from the config byte and the data), and both runs must agree: same
 * events, same body bytes, same error message. Anything else is a bug (trap). Config byte bits:
 *   0 strict_crlf   1 window of 128 bytes (else 8 KiB)   2 max_head_bytes 300 (else default)
 *   3 responses: on_headers_complete says "skip body" for every other message (HEAD)   4-7 split seed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/http1.h"

typedef struct acc {
  uint64_t h;
  unsigned messages;
  bool skip_odd;
} acc;

static void mix(acc *a, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) a->h = (a->h ^ b[i]) * 1099511628211ULL;
}
static void tag(acc *a, char t) { mix(a, &t, 1); }

static int f_begin(wire_h1_parser *p) {
  tag(p->user, 'B');
  return 0;
}
static int f_req(wire_h1_parser *p, const char *m, size_t ml, const char *t, size_t tl, int v) {
  acc *a = p->user;
  tag(a, 'R');
  mix(a, m, ml);
  mix(a, t, tl);
  mix(a, &v, sizeof v);
  return 0;
}
static int f_status(wire_h1_parser *p, int v, int s, const char *r, size_t rl) {
  acc *a = p->user;
  tag(a, 'S');
  mix(a, &v, sizeof v);
  mix(a, &s, sizeof s);
  mix(a, r, rl);
  return 0;
}
static int f_header(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  acc *a = p->user;
  tag(a, 'H');
  mix(a, n, nl);
  tag(a, ':');
  mix(a, v, vl);
  return 0;
}
static int f_hc(wire_h1_parser *p) {
  acc *a = p->user;
  tag(a, 'C');
  int64_t cl = wire_h1_content_length(p);
  mix(a, &cl, sizeof cl);
  uint8_t f = (uint8_t)(wire_h1_keep_alive(p) | wire_h1_chunked(p) << 1 | wire_h1_body_until_close(p) << 2 |
                        wire_h1_expect_continue(p) << 3);
  mix(a, &f, 1);
  return a->skip_odd && (a->messages & 1) ? WIRE_H1_SKIP_BODY : 0;
}
static int f_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  if (n == 0) __builtin_trap();
  mix(p->user, d, n); /* no tag: the bytes of a body hash the same however they are sliced */
  return 0;
}
static int f_trailer(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  acc *a = p->user;
  tag(a, 'T');
  mix(a, n, nl);
  tag(a, ':');
  mix(a, v, vl);
  return 0;
}
static int f_done(wire_h1_parser *p) {
  acc *a = p->user;
  tag(a, wire_h1_upgraded(p) ? 'U' : 'E');
  a->messages++;
  return 0;
}

static const wire_h1_callbacks cbs = {f_begin, f_req, f_status, f_header, f_hc, f_body, f_trailer, f_done};

typedef struct outcome {
  uint64_t h;
  int rc;
  char err[256];
} outcome;

static void run(wire_h1_kind kind, uint8_t conf, const uint8_t *d, size_t n, bool split, char *win, outcome *o) {
  wire_h1_config cfg = {.kind = kind, .strict_crlf = conf & 1, .max_head_bytes = (conf & 4) ? 300 : 0};
  acc a = {.h = 14695981039346656037ULL, .skip_odd = (conf & 8) != 0};
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, &cbs, &a, win, (conf & 2) ? 128 : WIRE_H1_DEFAULT_WINDOW);
  wire_err err = {0};
  o->rc = 0;
  uint32_t seed = (uint32_t)(conf >> 4) * 2654435761u + (uint32_t)n;
  size_t pos = 0;
  while (pos < n) {
    size_t step = n - pos;
    if (split) {
      seed = seed * 1103515245u + 12345u;
      size_t s = 1 + (seed >> 16) % 17;
      if (s < step) step = s;
    }
    size_t done = 0;
    while (done < step) {
      ssize_t k = wire_h1_parse(&p, d + pos + done, step - done, &err);
      if (k < 0) {
        o->rc = -1;
        goto out;
      }
      done += (size_t)k;
      if (done < step) {
        if (!wire_h1_upgraded(&p)) __builtin_trap(); /* nothing else stops short here */
        wire_h1_resume(&p);
        tag(&a, 'r');
      }
    }
    pos += step;
  }
  if (wire_h1_finish(&p, &err) < 0) o->rc = -1;
out:
  o->h = a.h;
  memcpy(o->err, o->rc < 0 ? err.msg : "", o->rc < 0 ? sizeof o->err : 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t conf = data[0];
  data++;
  size--;
  static char win[WIRE_H1_DEFAULT_WINDOW];
  for (int k = 0; k < 2; k++) {
    wire_h1_kind kind = k ? WIRE_H1_RESPONSE : WIRE_H1_REQUEST;
    outcome whole, pieces;
    run(kind, conf, data, size, false, win, &whole);
    run(kind, conf, data, size, true, win, &pieces);
    if (whole.h != pieces.h || whole.rc != pieces.rc || strcmp(whole.err, pieces.err) != 0) __builtin_trap();
  }
  return 0;
}
