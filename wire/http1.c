/* http1.c — the incremental HTTP/1.x parser and the head/chunk writers (see http1.h for the rules it follows).
 *
 * How the parser works: the stream is a sequence of lines (start line, header lines, chunk-size lines, trailer
 * lines) and of raw byte runs (bodies, chunk data). Line states look for the LF with memchr; a line found whole
 * in the caller's bytes is parsed in place, a line cut by the end of a feed is copied into the window and parsed
 * from there once its LF arrives. Body states hand slices of the caller's bytes to on_body. Nothing is
 * allocated, and the only per-stream memory is the struct and the window.
 *
 * Speed (bench/bench_http1.c; docs/performance.md "HTTP/1 parser"): the LD_PRELOAD shim parses both directions
 * of every exchange, so the common case is kept short. A header line whole in the caller's bytes is found and
 * checked in one pass (field_line_fast): the name through the class table four bytes at a time, then one SSE2
 * scan (16 bytes a step) that stops at the value's first control byte, which for a valid line is its CR; so the
 * line end is found and the value validated without memchr or a second pass. Framing headers are recognised by
 * length, then by a case-folding compare; their usual values ("keep-alive", a plain length) skip the list
 * parser. Anything unusual (a line cut by the end of a feed, a bare LF, a bad byte) takes the general path,
 * which checks in the documented order and so reports exactly the error it always did: the fast paths only
 * ever accept lines the general path accepts, with the same effect.
 *
 * Split independence: every check runs either on a complete line or on a single byte, and the two limits that
 * can fire on an incomplete line (window, head bytes) are resolved by the offset at which they are broken, so
 * the first error of a stream, its message and its offset do not depend on how the stream was cut. The unit
 * test and the fuzz target check this by feeding byte by byte. */
#include "wire/http1.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/decimal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum {
  S_IDLE,       /* between messages: skipping empty lines, waiting for a start line */
  S_START_LINE, /* line states ... */
  S_HEADER,
  S_CHUNK_SIZE,
  S_TRAILER,    /* ... up to here */
  S_BODY_LEN,
  S_BODY_EOF,
  S_CHUNK_DATA,
  S_CHUNK_CR,
  S_CHUNK_LF,
  S_UPGRADED,
  S_ERROR,
};

enum {
  F_CL = 1u << 0,               /* Content-Length seen */
  F_TE = 1u << 1,               /* Transfer-Encoding seen */
  F_TE_LAST_CHUNKED = 1u << 2,  /* the last transfer coding so far is chunked */
  F_CONN_CLOSE = 1u << 3,
  F_CONN_KEEP_ALIVE = 1u << 4,
  F_CONN_UPGRADE = 1u << 5,
  F_UPGRADE_HDR = 1u << 6,
  F_EXPECT_CONTINUE = 1u << 7,
  F_CONNECT = 1u << 8,          /* CONNECT request */
  F_KEEP_ALIVE = 1u << 9,       /* decided at the end of the head */
  F_CHUNKED = 1u << 10,         /* body framing decided at the end of the head */
  F_UNTIL_CLOSE = 1u << 11,
  F_UPGRADE_AFTER = 1u << 12,   /* stop parsing after this message */
  F_TE_MANY = 1u << 13,         /* more than one transfer coding */
};

#define DEFAULT_MAX_HEAD (64 * 1024)
#define DEFAULT_MAX_HEADERS 100

/* Character classes: C_TCHAR token bytes (RFC 9110 §5.6.2), C_VALUE field-value bytes (VCHAR, SP, HTAB,
 * obs-text), C_TARGET request-target bytes (VCHAR and obs-text), C_HEX hex digits. */
enum { C_TCHAR = 1, C_VALUE = 2, C_TARGET = 4, C_HEX = 8 };
static const uint8_t char_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 6, 6, 6, 6, 6,
    6, 15, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
    7, 15, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
};

#define IS(c, k) (char_class[(uint8_t)(c)] & (k))

/* Index of the first byte of s[0..n) that is not a field-value byte (C_VALUE: a control byte other than HTAB,
 * or DEL), n if there is none. 16 bytes per step with SSE2 (x86-64 baseline), the table for the rest. */
static size_t first_non_value(const char *s, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i c1f = _mm_set1_epi8(0x1F), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7F);
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x); /* x <= 0x1F */
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(x, tab), ctl), _mm_cmpeq_epi8(x, del));
    unsigned m = (unsigned)_mm_movemask_epi8(bad);
    if (m) return i + (size_t)__builtin_ctz(m);
  }
#endif
  while (i < n && IS(s[i], C_VALUE)) i++;
  return i;
}

/* Index of the first byte of s[0..n) that is not a request-target byte (C_TARGET: SP, a control byte, DEL), n
 * if there is none; 16 bytes per step with SSE2. */
static size_t first_non_target(const char *s, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i c20 = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F);
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, c20), x), _mm_cmpeq_epi8(x, del)); /* <= 0x20, DEL */
    unsigned m = (unsigned)_mm_movemask_epi8(bad);
    if (m) return i + (size_t)__builtin_ctz(m);
  }
#endif
  while (i < n && IS(s[i], C_TARGET)) i++;
  return i;
}

/* Length of the run of token bytes at the start of s[0..n), four at a time where it can. */
static inline size_t token_run(const char *s, size_t n) {
  size_t i = 0;
  const uint8_t *u = (const uint8_t *)s;
  while (i + 4 <= n && (char_class[u[i]] & char_class[u[i + 1]] & char_class[u[i + 2]] & char_class[u[i + 3]] &
                        C_TCHAR))
    i += 4;
  while (i < n && IS(s[i], C_TCHAR)) i++;
  return i;
}

/* A header name (a token, so no byte can fold onto a letter or '-' but its own case pair) equals lit, given in
 * lower case and of the same length n. Compares words with bit 5 set in every byte (overlapping at the end). */
static inline uint64_t fold8(const char *s) {
  uint64_t w;
  memcpy(&w, s, 8);
  return w | 0x2020202020202020ULL;
}
static inline uint32_t fold4(const char *s) {
  uint32_t w;
  memcpy(&w, s, 4);
  return w | 0x20202020u;
}
static inline bool name_is(const char *name, const char *lit, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (fold8(name + i) != fold8(lit + i)) return false;
    return fold8(name + n - 8) == fold8(lit + n - 8);
  }
  if (n >= 4) return fold4(name) == fold4(lit) && fold4(name + n - 4) == fold4(lit + n - 4);
  for (size_t i = 0; i < n; i++)
    if ((name[i] | 0x20) != lit[i]) return false;
  return true;
}

/* --- errors --- */

/* Records the (sticky) error of the stream; always returns -1. */
__attribute__((format(printf, 5, 6))) static int fail(wire_h1_parser *p, wire_err_code code, int status,
                                                      uint64_t off, const char *fmt, ...) {
  char why[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  p->state = S_ERROR;
  p->error_status = (uint16_t)status;
  p->error_offset = off;
  wire_err_set(&p->err, code, "http1: %s at offset %" PRIu64, why, off);
  return -1;
}

static int cb_fail(wire_h1_parser *p, const char *which, uint64_t off) {
  return fail(p, WIRE_E_INVALID, 400, off, "stopped by the %s callback", which);
}

/* --- setup --- */

void wire_h1_parser_init(wire_h1_parser *p, const wire_h1_config *cfg, const wire_h1_callbacks *cb, void *user,
                         char *window, size_t window_cap) {
  static const wire_h1_callbacks none;
  memset(p, 0, sizeof *p);
  p->cb = cb ? cb : &none;
  p->user = user;
  if (cfg) p->cfg = *cfg;
  if (!p->cfg.max_head_bytes) p->cfg.max_head_bytes = DEFAULT_MAX_HEAD;
  if (!p->cfg.max_headers) p->cfg.max_headers = DEFAULT_MAX_HEADERS;
  p->win = window;
  p->win_cap = window_cap;
  wire_h1_parser_reset(p);
}

wire_h1_parser *wire_h1_parser_new(const wire_h1_config *cfg, const wire_h1_callbacks *cb, void *user,
                                   size_t window_cap) {
  if (!window_cap) window_cap = WIRE_H1_DEFAULT_WINDOW;
  wire_h1_parser *p = malloc(sizeof *p + window_cap);
  if (!p) return NULL;
  wire_h1_parser_init(p, cfg, cb, user, (char *)(p + 1), window_cap);
  return p;
}

void wire_h1_parser_reset(wire_h1_parser *p) {
  p->state = S_IDLE;
  p->win_len = 0;
  p->offset = p->line_start = 0;
  p->remaining = 0;
  p->content_length = -1;
  p->head_bytes = p->nfields = 0;
  p->flags = 0;
  p->status = 0;
  p->version = 0;
  p->te_chunked_count = 0;
  p->error_status = 0;
  p->error_offset = 0;
  wire_err_clear(&p->err);
}

void wire_h1_resume(wire_h1_parser *p) {
  if (p->state == S_UPGRADED) p->state = S_IDLE;
}

/* --- queries --- */

int wire_h1_version(const wire_h1_parser *p) { return p->version; }
int wire_h1_status(const wire_h1_parser *p) { return p->status; }
int64_t wire_h1_content_length(const wire_h1_parser *p) { return p->content_length; }
bool wire_h1_chunked(const wire_h1_parser *p) { return p->flags & F_CHUNKED; }
bool wire_h1_keep_alive(const wire_h1_parser *p) { return p->flags & F_KEEP_ALIVE; }
bool wire_h1_expect_continue(const wire_h1_parser *p) {
  return p->cfg.kind == WIRE_H1_REQUEST && p->version == 11 && (p->flags & F_EXPECT_CONTINUE);
}
bool wire_h1_body_until_close(const wire_h1_parser *p) { return p->flags & F_UNTIL_CLOSE; }
bool wire_h1_upgraded(const wire_h1_parser *p) { return p->state == S_UPGRADED; }
bool wire_h1_in_message(const wire_h1_parser *p) {
  return p->state != S_IDLE && p->state != S_UPGRADED && p->state != S_ERROR;
}
int wire_h1_error_status(const wire_h1_parser *p) { return p->error_status; }
uint64_t wire_h1_error_offset(const wire_h1_parser *p) { return p->error_offset; }

/* --- lists in header values --- */

static bool ieq(const char *a, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(a, lit, n) == 0;
}

static bool ows(char c) { return c == ' ' || c == '\t'; }

/* Next element of a comma-separated list in v[*i..n): sets [*s, *e) trimmed; false at the end. */
static bool next_elem(const char *v, size_t n, size_t *i, size_t *s, size_t *e) {
  if (*i > n) return false;
  size_t a = *i;
  while (a < n && v[a] != ',') a++;
  size_t b = a;
  size_t st = *i;
  while (st < b && ows(v[st])) st++;
  while (b > st && ows(v[b - 1])) b--;
  *s = st;
  *e = b;
  *i = a + 1;
  return true;
}

/* --- the head --- */

static void begin_message(wire_h1_parser *p) {
  p->flags = 0;
  p->content_length = -1;
  p->remaining = 0;
  p->status = 0;
  p->version = 0;
  p->te_chunked_count = 0;
  p->nfields = 0;
}

/* "HTTP/d.d" → 10/11; 0 malformed; -1 other major version. */
static int parse_version(const char *s, size_t n) {
  if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' || s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
    return 0;
  if (s[5] != '1') return -1;
  return s[7] == '0' ? 10 : 11;
}

static int parse_request_line(wire_h1_parser *p, const char *l, size_t n) {
  uint64_t o = p->line_start;
  size_t i = 0;
  while (i < n && IS(l[i], C_TCHAR)) i++;
  if (i == n) return fail(p, WIRE_E_INVALID, 400, o + i, "request line without target and version");
  if (l[i] != ' ' || i == 0) return fail(p, WIRE_E_INVALID, 400, o + i, "invalid character in method");
  size_t m_len = i;
  size_t t = ++i;
  i += first_non_target(l + i, n - i);
  if (i == t) return fail(p, WIRE_E_INVALID, 400, o + i, "empty request target");
  if (i == n) return fail(p, WIRE_E_INVALID, 400, o + i, "request line without HTTP version");
  if (l[i] != ' ') return fail(p, WIRE_E_INVALID, 400, o + i, "invalid character in request target");
  size_t t_len = i - t;
  int v = parse_version(l + i + 1, n - i - 1);
  if (v < 0) return fail(p, WIRE_E_UNSUPPORTED, 505, o + i + 1, "unsupported HTTP version");
  if (v == 0) return fail(p, WIRE_E_INVALID, 400, o + i + 1, "malformed HTTP version");
  p->version = (uint8_t)v;
  const char *tg = l + t;
  if (m_len == 7 && memcmp(l, "CONNECT", 7) == 0) {
    p->flags |= F_CONNECT;
  } else if (tg[0] != '/' && !(t_len == 1 && tg[0] == '*')) {
    /* absolute-form: scheme "://" */
    size_t k = 0;
    bool ok = (tg[0] >= 'a' && tg[0] <= 'z') || (tg[0] >= 'A' && tg[0] <= 'Z');
    while (ok && k < t_len && tg[k] != ':') {
      char c = tg[k];
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
           c == '.';
      k++;
    }
    if (!ok || k + 3 > t_len || memcmp(tg + k, "://", 3) != 0)
      return fail(p, WIRE_E_INVALID, 400, o + t, "request target is not a path, '*' or an absolute URI");
  }
  if (p->cb->on_request_line && p->cb->on_request_line(p, l, m_len, tg, t_len, v) < 0)
    return cb_fail(p, "on_request_line", o);
  return 0;
}

static int parse_status_line(wire_h1_parser *p, const char *l, size_t n) {
  uint64_t o = p->line_start;
  size_t sp = 0;
  while (sp < n && l[sp] != ' ') sp++;
  int v = parse_version(l, sp);
  if (v < 0) return fail(p, WIRE_E_UNSUPPORTED, 505, o, "unsupported HTTP version");
  if (v == 0) return fail(p, WIRE_E_INVALID, 400, o, "malformed HTTP version in status line");
  if (n < 12) return fail(p, WIRE_E_INVALID, 400, o + n, "status line too short");
  for (size_t i = 9; i < 12; i++)
    if (l[i] < '0' || l[i] > '9') return fail(p, WIRE_E_INVALID, 400, o + i, "invalid status code");
  int status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (status < 100) return fail(p, WIRE_E_INVALID, 400, o + 9, "status code below 100");
  const char *reason = l + n;
  size_t r_len = 0;
  if (n > 12) {
    if (l[12] != ' ') return fail(p, WIRE_E_INVALID, 400, o + 12, "invalid status code");
    reason = l + 13;
    r_len = n - 13;
    for (size_t i = 0; i < r_len; i++)
      if (!IS(reason[i], C_VALUE)) return fail(p, WIRE_E_INVALID, 400, o + 13 + i, "control character in reason");
  }
  p->version = (uint8_t)v;
  p->status = (uint16_t)status;
  if (p->cb->on_status_line && p->cb->on_status_line(p, v, status, reason, r_len) < 0)
    return cb_fail(p, "on_status_line", o);
  return 0;
}

static int parse_content_length(wire_h1_parser *p, const char *v, size_t n, uint64_t vo) {
  size_t i = 0, s, e;
  int64_t value = -1;
  if (n > 0 && n <= 18) { /* the usual single value: 18 digits cannot overflow */
    int64_t x = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9') x = x * 10 + (v[i++] - '0');
    if (i == n) {
      value = x;
      goto got;
    }
    i = 0;
  }
  while (next_elem(v, n, &i, &s, &e)) {
    if (s == e) return fail(p, WIRE_E_INVALID, 400, vo + s, "empty Content-Length");
    int64_t x = 0;
    for (size_t k = s; k < e; k++) {
      if (v[k] < '0' || v[k] > '9') return fail(p, WIRE_E_INVALID, 400, vo + k, "non-digit in Content-Length");
      int d = v[k] - '0';
      if (x > (INT64_MAX - d) / 10) return fail(p, WIRE_E_INVALID, 400, vo + k, "Content-Length overflows");
      x = x * 10 + d;
    }
    if (value >= 0 && x != value) return fail(p, WIRE_E_INVALID, 400, vo + s, "differing Content-Length values");
    value = x;
  }
got:
  if ((p->flags & F_CL) && value != p->content_length)
    return fail(p, WIRE_E_INVALID, 400, vo, "differing Content-Length headers");
  p->flags |= F_CL;
  p->content_length = value;
  return 0;
}

static int parse_transfer_encoding(wire_h1_parser *p, const char *v, size_t n, uint64_t vo) {
  size_t i = 0, s, e;
  if (p->flags & F_TE) p->flags |= F_TE_MANY; /* a second Transfer-Encoding line */
  p->flags |= F_TE;
  bool any = false;
  while (next_elem(v, n, &i, &s, &e)) {
    if (s == e) continue;
    size_t k = s;
    while (k < e && IS(v[k], C_TCHAR)) k++;
    size_t name_end = k;
    while (k < e && ows(v[k])) k++;
    if (name_end == s || (k < e && v[k] != ';'))
      return fail(p, WIRE_E_INVALID, 400, vo + k, "invalid transfer coding");
    if (any) p->flags |= F_TE_MANY;
    any = true;
    if (ieq(v + s, name_end - s, "chunked")) {
      if (p->te_chunked_count < 255) p->te_chunked_count++;
      p->flags |= F_TE_LAST_CHUNKED;
    } else {
      p->flags &= ~(uint32_t)F_TE_LAST_CHUNKED;
    }
  }
  if (!any) p->flags &= ~(uint32_t)F_TE_LAST_CHUNKED; /* empty TE: no coding we can frame by */
  return 0;
}

static void parse_connection(wire_h1_parser *p, const char *v, size_t n) {
  size_t i = 0, s, e;
  /* the usual single values (v is a checked field value: no control byte folds onto '-' or a letter) */
  if (n == 10 && name_is(v, "keep-alive", 10)) {
    p->flags |= F_CONN_KEEP_ALIVE;
    return;
  }
  if (n == 5 && name_is(v, "close", 5)) {
    p->flags |= F_CONN_CLOSE;
    return;
  }
  while (next_elem(v, n, &i, &s, &e)) {
    if (ieq(v + s, e - s, "close")) p->flags |= F_CONN_CLOSE;
    else if (ieq(v + s, e - s, "keep-alive")) p->flags |= F_CONN_KEEP_ALIVE;
    else if (ieq(v + s, e - s, "upgrade")) p->flags |= F_CONN_UPGRADE;
  }
}

static inline int field_done(wire_h1_parser *p, const char *l, size_t name_len, size_t vs, size_t ve, bool trailer);
static int check_line(wire_h1_parser *p, size_t m);

/* A header or trailer field line (without its line end), checked in the order that decides which error a bad
 * line reports. */
static int parse_field(wire_h1_parser *p, const char *l, size_t n, bool trailer) {
  uint64_t o = p->line_start;
  if (ows(l[0]))
    return fail(p, WIRE_E_INVALID, 400, o,
                p->nfields == 0 && !trailer ? "whitespace before the first header field"
                                            : "obsolete line folding");
  size_t i = 0;
  while (i < n && IS(l[i], C_TCHAR)) i++;
  if (i == n) return fail(p, WIRE_E_INVALID, 400, o + i, "header line without colon");
  if (l[i] != ':') {
    if (ows(l[i])) return fail(p, WIRE_E_INVALID, 400, o + i, "whitespace between header name and colon");
    return fail(p, WIRE_E_INVALID, 400, o + i, "invalid character 0x%02x in header name", (uint8_t)l[i]);
  }
  if (i == 0) return fail(p, WIRE_E_INVALID, 400, o, "empty header name");
  size_t name_len = i;
  size_t vs = i + 1, ve = n;
  while (vs < ve && ows(l[vs])) vs++;
  while (ve > vs && ows(l[ve - 1])) ve--;
  size_t k = vs + first_non_value(l + vs, ve - vs);
  if (k < ve) return fail(p, WIRE_E_INVALID, 400, o + k, "control character 0x%02x in header value", (uint8_t)l[k]);
  return field_done(p, l, name_len, vs, ve, trailer);
}

/* The checked field line l: name l[0..name_len), value l[vs..ve). Counts it, reads the framing headers, calls
 * back. */
__attribute__((always_inline)) static inline int field_done(wire_h1_parser *p, const char *l, size_t name_len,
                                                           size_t vs, size_t ve, bool trailer) {
  uint64_t o = p->line_start;
  if (++p->nfields > p->cfg.max_headers)
    return fail(p, WIRE_E_LIMIT, 431, o, "more than %zu %s fields", p->cfg.max_headers,
                trailer ? "trailer" : "header");
  const char *v = l + vs;
  size_t vn = ve - vs;
  if (trailer) {
    if (p->cb->on_trailer && p->cb->on_trailer(p, l, name_len, v, vn) < 0) return cb_fail(p, "on_trailer", o);
    return 0;
  }
  switch (name_len) {
  case 14:
    if (name_is(l, "content-length", 14) && parse_content_length(p, v, vn, o + vs) < 0) return -1;
    break;
  case 17:
    if (name_is(l, "transfer-encoding", 17) && parse_transfer_encoding(p, v, vn, o + vs) < 0) return -1;
    break;
  case 10:
    if (name_is(l, "connection", 10)) parse_connection(p, v, vn);
    break;
  case 7:
    if (name_is(l, "upgrade", 7)) p->flags |= F_UPGRADE_HDR;
    break;
  case 6:
    if (name_is(l, "expect", 6) && ieq(v, vn, "100-continue")) p->flags |= F_EXPECT_CONTINUE;
    break;
  }
  if (p->cb->on_header && p->cb->on_header(p, l, name_len, v, vn) < 0) return cb_fail(p, "on_header", o);
  return 0;
}

/* The common case of a field line, in one pass and without the bare-CR search of process_line: a name of token
 * bytes, a colon, a value of field-value bytes. Returns FIELD_SLOW when the line is anything else (it may hold
 * a bare CR, whose error takes precedence): process_line then checks it the slow way, which finds the error. */
enum { FIELD_SLOW = 2 };
static int parse_field_fast(wire_h1_parser *p, const char *l, size_t n, bool trailer) {
  size_t i = token_run(l, n);
  if (i == 0 || i == n || l[i] != ':') return FIELD_SLOW;
  size_t vs = i + 1;
  if (first_non_value(l + vs, n - vs) != n - vs) return FIELD_SLOW;
  size_t ve = n;
  while (vs < ve && ows(l[vs])) vs++;
  while (ve > vs && ows(l[ve - 1])) ve--;
  return field_done(p, l, i, vs, ve, trailer);
}

/* A whole field line at the start of the caller's bytes s[0..avail), found and checked in one pass: token
 * name, colon, field-value bytes up to a CR that an LF follows. The scan of the value stops at its first
 * control byte, so it finds the line end and validates the value at once (no memchr, no second pass). Returns
 * FIELD_SLOW, consuming nothing, for anything else (a line cut by the end of the feed, a bare LF, a bad byte):
 * the general path then treats the line. Otherwise sets *used to the line's length with its CRLF and returns
 * what the general path would (check_line, field_done). */
static int field_line_fast(wire_h1_parser *p, const char *s, size_t avail, size_t *used) {
  size_t name_len = token_run(s, avail);
  if (name_len == 0 || name_len == avail || s[name_len] != ':') return FIELD_SLOW;
  size_t vs = name_len + 1;
  size_t cr = vs + first_non_value(s + vs, avail - vs);
  if (cr + 1 >= avail || s[cr] != '\r' || s[cr + 1] != '\n') return FIELD_SLOW;
  size_t total = cr + 1; /* the line's bytes before its LF, as the general path counts them */
  if ((total > p->win_cap || p->head_bytes + total + 1 > p->cfg.max_head_bytes) && check_line(p, total) < 0)
    return -1;
  p->head_bytes += total + 1;
  *used = total + 1;
  size_t ve = cr;
  while (vs < ve && ows(s[vs])) vs++;
  while (ve > vs && ows(s[ve - 1])) ve--;
  return field_done(p, s, name_len, vs, ve, p->state == S_TRAILER);
}

/* The message is complete. Returns 1 when parsing must stop here (pause or upgrade), 0 to go on, -1 error. */
static int complete_message(wire_h1_parser *p, uint64_t off) {
  bool upgrade = p->flags & F_UPGRADE_AFTER;
  p->state = upgrade ? S_UPGRADED : S_IDLE;
  p->head_bytes = 0;
  p->nfields = 0;
  int rc = p->cb->on_message_complete ? p->cb->on_message_complete(p) : 0;
  if (rc < 0) return cb_fail(p, "on_message_complete", off);
  return upgrade || rc == WIRE_H1_PAUSE ? 1 : 0;
}

/* The empty line ending the head: decide the framing. Same return values as complete_message. */
static int end_of_head(wire_h1_parser *p) {
  uint64_t o = p->line_start;
  uint32_t f = p->flags;
  bool request = p->cfg.kind == WIRE_H1_REQUEST;
  bool keep = p->version == 11 ? !(f & F_CONN_CLOSE) : (f & F_CONN_KEEP_ALIVE) && !(f & F_CONN_CLOSE);
  enum { NONE, LENGTH, CHUNKED, UNTIL_CLOSE } body = NONE;

  if (request) {
    if (f & F_TE) {
      if (p->version == 10) return fail(p, WIRE_E_INVALID, 400, o, "Transfer-Encoding in an HTTP/1.0 request");
      if (f & F_CL)
        return fail(p, WIRE_E_INVALID, 400, o, "both Transfer-Encoding and Content-Length (request smuggling)");
      if (p->te_chunked_count > 1) return fail(p, WIRE_E_INVALID, 400, o, "chunked applied more than once");
      if ((f & F_TE_MANY) || !(f & F_TE_LAST_CHUNKED))
        return fail(p, WIRE_E_UNSUPPORTED, 501, o, "transfer coding other than chunked");
      body = CHUNKED;
    } else if (f & F_CL) {
      body = LENGTH;
    }
    if (f & F_CONNECT) {
      body = NONE;
      p->flags |= F_UPGRADE_AFTER;
    } else if ((f & F_CONN_UPGRADE) && (f & F_UPGRADE_HDR)) {
      p->flags |= F_UPGRADE_AFTER;
    }
  } else {
    if (p->te_chunked_count > 1) return fail(p, WIRE_E_INVALID, 400, o, "chunked applied more than once");
    if (p->status < 200 || p->status == 204 || p->status == 304) {
      body = NONE;
      if (p->status == 101) p->flags |= F_UPGRADE_AFTER;
    } else if (f & F_TE) {
      body = (f & F_TE_LAST_CHUNKED) ? CHUNKED : UNTIL_CLOSE;
      /* TE+CL may be a response-splitting attempt, TE in HTTP/1.0 is unreliable: read this one, then close */
      if ((f & F_CL) || p->version == 10) keep = false;
    } else if (f & F_CL) {
      body = LENGTH;
    } else {
      body = UNTIL_CLOSE;
    }
  }
  if (body == CHUNKED || body == UNTIL_CLOSE) p->content_length = -1;
  p->flags &= ~(uint32_t)(F_KEEP_ALIVE | F_CHUNKED | F_UNTIL_CLOSE);
  if (keep && body != UNTIL_CLOSE) p->flags |= F_KEEP_ALIVE;
  if (body == CHUNKED) p->flags |= F_CHUNKED;
  if (body == UNTIL_CLOSE) p->flags |= F_UNTIL_CLOSE;

  int rc = p->cb->on_headers_complete ? p->cb->on_headers_complete(p) : 0;
  if (rc < 0) return cb_fail(p, "on_headers_complete", o);
  if (rc == WIRE_H1_SKIP_BODY || rc == WIRE_H1_TUNNEL) {
    /* e.g. a HEAD response: no body whatever its framing headers say, so no close-delimited body either */
    body = NONE;
    p->flags &= ~(uint32_t)(F_CHUNKED | F_UNTIL_CLOSE);
    if (keep) p->flags |= F_KEEP_ALIVE;
    if (rc == WIRE_H1_TUNNEL) p->flags |= F_UPGRADE_AFTER;
  }
  p->head_bytes = 0;
  p->nfields = 0;
  switch (body) {
  case NONE: return complete_message(p, o);
  case LENGTH:
    if (p->content_length == 0) return complete_message(p, o);
    p->remaining = (uint64_t)p->content_length;
    p->state = S_BODY_LEN;
    return 0;
  case CHUNKED: p->state = S_CHUNK_SIZE; return 0;
  case UNTIL_CLOSE: p->state = S_BODY_EOF; return 0;
  }
  return 0;
}

static int parse_chunk_size(wire_h1_parser *p, const char *l, size_t n) {
  uint64_t o = p->line_start;
  size_t i = 0;
  uint64_t v = 0;
  while (i < n && IS(l[i], C_HEX)) {
    char c = l[i];
    unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
    if (v > ((uint64_t)INT64_MAX - d) / 16) return fail(p, WIRE_E_INVALID, 400, o + i, "chunk size overflows");
    v = v * 16 + d;
    i++;
  }
  if (i == 0) return fail(p, WIRE_E_INVALID, 400, o, "chunk size without hex digits");
  while (i < n && ows(l[i])) i++;
  if (i < n) {
    if (l[i] != ';') return fail(p, WIRE_E_INVALID, 400, o + i, "invalid character in chunk size");
    for (size_t k = i + 1; k < n; k++)
      if (!IS(l[k], C_VALUE)) return fail(p, WIRE_E_INVALID, 400, o + k, "control character in chunk extension");
  }
  if (v == 0) {
    p->state = S_TRAILER;
    p->head_bytes = 0;
    p->nfields = 0;
  } else {
    p->remaining = v;
    p->state = S_CHUNK_DATA;
  }
  return 0;
}

/* One complete line (its LF removed, CR still there). Same return values as complete_message. */
static int process_line(wire_h1_parser *p, const char *l, size_t n) {
  if (n > 0 && l[n - 1] == '\r') {
    n--;
  } else if (p->cfg.strict_crlf) {
    return fail(p, WIRE_E_INVALID, 400, p->line_start + n, "bare LF as line end");
  }
  if (n > 0 && (p->state == S_HEADER || p->state == S_TRAILER)) {
    int rc = parse_field_fast(p, l, n, p->state == S_TRAILER);
    if (rc != FIELD_SLOW) return rc;
  }
  const char *cr = memchr(l, '\r', n);
  if (cr) return fail(p, WIRE_E_INVALID, 400, p->line_start + (uint64_t)(cr - l), "bare CR in line");
  switch (p->state) {
  case S_START_LINE:
    p->state = S_HEADER;
    return p->cfg.kind == WIRE_H1_REQUEST ? parse_request_line(p, l, n) : parse_status_line(p, l, n);
  case S_HEADER:
    if (n == 0) return end_of_head(p);
    return parse_field(p, l, n, false);
  case S_CHUNK_SIZE:
    return parse_chunk_size(p, l, n);
  case S_TRAILER:
    if (n == 0) return complete_message(p, p->line_start);
    return parse_field(p, l, n, true);
  }
  return 0;
}

/* Line limits for a line of which m bytes (no LF) are known, whether or not its LF has arrived: the window
 * must hold the m bytes, and the head must hold them plus at least the LF. Of the window limit and the
 * head-bytes limit, the one broken at the smaller offset wins (ties: head), which keeps the error independent
 * of how the bytes were split. */
static int check_line(wire_h1_parser *p, size_t m) {
  bool head = p->state != S_CHUNK_SIZE;
  bool line_over = m > p->win_cap;
  bool head_over = head && p->head_bytes + m + 1 > p->cfg.max_head_bytes;
  if (!line_over && !head_over) return 0;
  uint64_t line_off = p->line_start + p->win_cap;
  uint64_t head_off = p->line_start + (p->cfg.max_head_bytes - p->head_bytes);
  bool req_line = p->state == S_START_LINE && p->cfg.kind == WIRE_H1_REQUEST;
  int status = req_line ? 414 : p->state == S_CHUNK_SIZE ? 400 : 431;
  const char *what = p->state == S_START_LINE ? "start line" : p->state == S_CHUNK_SIZE ? "chunk-size line"
                   : p->state == S_TRAILER ? "trailer line" : "header line";
  if (head_over && (!line_over || head_off <= line_off))
    return fail(p, WIRE_E_LIMIT, status, head_off, "%s section exceeds %zu bytes",
                p->state == S_TRAILER ? "trailer" : "header", p->cfg.max_head_bytes);
  return fail(p, WIRE_E_LIMIT, status, line_off, "%s longer than %zu bytes", what, p->win_cap);
}

ssize_t wire_h1_parse(wire_h1_parser *p, const uint8_t *data, size_t len, wire_err *err) {
  if (p->state == S_ERROR) goto error;
  size_t pos = 0;
  int rc = 0;
  while (pos < len) {
    switch (p->state) {
    case S_IDLE:
      while (pos < len && (data[pos] == '\r' || data[pos] == '\n')) {
        if (++p->head_bytes > p->cfg.max_head_bytes) {
          fail(p, WIRE_E_LIMIT, 400, p->offset + pos, "more than %zu bytes of empty lines before a start line",
               p->cfg.max_head_bytes);
          goto error;
        }
        pos++;
      }
      if (pos == len) break;
      begin_message(p);
      p->state = S_START_LINE;
      p->win_len = 0;
      if (p->cb->on_message_begin && p->cb->on_message_begin(p) < 0) {
        cb_fail(p, "on_message_begin", p->offset + pos);
        goto error;
      }
      break;

    case S_START_LINE:
    case S_HEADER:
    case S_CHUNK_SIZE:
    case S_TRAILER: {
      const uint8_t *s = data + pos;
      size_t avail = len - pos;
      if (p->win_len == 0) {
        p->line_start = p->offset + pos;
        if (p->state == S_HEADER || p->state == S_TRAILER) {
          size_t used = 0;
          rc = field_line_fast(p, (const char *)s, avail, &used);
          if (rc < 0) goto error;
          if (rc != FIELD_SLOW) {
            pos += used;
            break;
          }
        }
      }
      const uint8_t *nl = memchr(s, '\n', avail);
      if (!nl) {
        if (check_line(p, p->win_len + avail) < 0) goto error;
        memcpy(p->win + p->win_len, s, avail);
        p->win_len += avail;
        pos = len;
        break;
      }
      size_t n = (size_t)(nl - s);
      size_t total = p->win_len + n;
      if (check_line(p, total) < 0) goto error;
      const char *line = (const char *)s;
      if (p->win_len) {
        memcpy(p->win + p->win_len, s, n);
        line = p->win;
      }
      if (p->state != S_CHUNK_SIZE) p->head_bytes += total + 1;
      p->win_len = 0;
      pos += n + 1;
      rc = process_line(p, line, total);
      if (rc < 0) goto error;
      if (rc > 0) goto stop;
      break;
    }

    case S_BODY_LEN:
    case S_CHUNK_DATA: {
      size_t n = len - pos;
      if ((uint64_t)n > p->remaining) n = (size_t)p->remaining;
      uint64_t at = p->offset + pos;
      if (p->cb->on_body && p->cb->on_body(p, data + pos, n) < 0) {
        cb_fail(p, "on_body", at);
        goto error;
      }
      pos += n;
      p->remaining -= n;
      if (p->remaining == 0) {
        if (p->state == S_CHUNK_DATA) {
          p->state = S_CHUNK_CR;
        } else {
          rc = complete_message(p, p->offset + pos);
          if (rc < 0) goto error;
          if (rc > 0) goto stop;
        }
      }
      break;
    }

    case S_CHUNK_CR:
      if (data[pos] == '\r') {
        p->state = S_CHUNK_LF;
      } else if (data[pos] == '\n' && !p->cfg.strict_crlf) {
        p->state = S_CHUNK_SIZE;
      } else {
        fail(p, WIRE_E_INVALID, 400, p->offset + pos, "chunk data not followed by CRLF");
        goto error;
      }
      pos++;
      break;

    case S_CHUNK_LF:
      if (data[pos] != '\n') {
        fail(p, WIRE_E_INVALID, 400, p->offset + pos, "chunk data not followed by CRLF");
        goto error;
      }
      p->state = S_CHUNK_SIZE;
      pos++;
      break;

    case S_BODY_EOF:
      if (p->cb->on_body && p->cb->on_body(p, data + pos, len - pos) < 0) {
        cb_fail(p, "on_body", p->offset + pos);
        goto error;
      }
      pos = len;
      break;

    case S_UPGRADED:
      goto stop;

    default:
      goto error;
    }
  }
stop:
  p->offset += pos;
  return (ssize_t)pos;
error:
  if (err) *err = p->err;
  return -1;
}

int wire_h1_finish(wire_h1_parser *p, wire_err *err) {
  switch (p->state) {
  case S_ERROR: break;
  case S_IDLE:
  case S_UPGRADED: return 0;
  case S_BODY_EOF:
    if (complete_message(p, p->offset) < 0) break;
    return 0;
  case S_START_LINE:
  case S_HEADER:
    fail(p, WIRE_E_IO, 400, p->offset, "connection closed inside the message head");
    break;
  case S_BODY_LEN:
    fail(p, WIRE_E_IO, 400, p->offset, "connection closed with %" PRIu64 " body bytes missing", p->remaining);
    break;
  default:
    fail(p, WIRE_E_IO, 400, p->offset, "connection closed inside the chunked body");
    break;
  }
  if (err) *err = p->err;
  return -1;
}

/* --- writers --- */

static bool is_token(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!IS(s[i], C_TCHAR)) return false;
  return true;
}

static bool is_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!IS(s[i], C_VALUE)) return false;
  return true;
}

int wire_h1_write_header(wire_buf *out, const char *name, size_t name_len, const char *value, size_t value_len,
                         wire_err *err) {
  if (!is_token(name, name_len)) return wire_err_set(err, WIRE_E_INVALID, "http1: invalid header name");
  if (!is_value(value, value_len))
    return wire_err_set(err, WIRE_E_INVALID, "http1: control character in the value of header %.*s",
                        (int)(name_len > 64 ? 64 : name_len), name);
  if (wire_buf_reserve(out, name_len + value_len + 4, err) < 0) return -1;
  uint8_t *d = out->data + out->len;
  memcpy(d, name, name_len);
  d[name_len] = ':';
  d[name_len + 1] = ' ';
  memcpy(d + name_len + 2, value, value_len);
  d[name_len + 2 + value_len] = '\r';
  d[name_len + 3 + value_len] = '\n';
  out->len += name_len + value_len + 4;
  return 0;
}

static bool header_is(const wire_header *h, const char *lit) { return ieq(h->name, h->name_len, lit); }

static int write_framing(wire_buf *out, int64_t body_length, wire_err *err) {
  if (body_length == WIRE_H1_CHUNKED_BODY) return wire_buf_append(out, "transfer-encoding: chunked\r\n", 28, err);
  if (body_length < 0) return 0;
  char line[48] = "content-length: ";
  size_t n = 16 + wire_fmt_u64(line + 16, (uint64_t)body_length);
  line[n++] = '\r';
  line[n++] = '\n';
  return wire_buf_append(out, line, n, err);
}

int wire_h1_write_request_head(wire_buf *out, const char *method, const char *target, const char *host,
                               const wire_headers *headers, int64_t body_length, wire_err *err) {
  size_t start = out->len;
  size_t ml = strlen(method), tl = strlen(target);
  if (!is_token(method, ml)) return wire_err_set(err, WIRE_E_INVALID, "http1: invalid request method");
  bool ok = tl > 0;
  for (size_t i = 0; i < tl && ok; i++) ok = IS(target[i], C_TARGET);
  if (!ok) return wire_err_set(err, WIRE_E_INVALID, "http1: request target is empty or has spaces/control bytes");
  if (wire_buf_reserve(out, ml + tl + 12, err) < 0) return -1;
  wire_buf_append(out, method, ml, NULL);
  wire_buf_append(out, " ", 1, NULL);
  wire_buf_append(out, target, tl, NULL);
  wire_buf_append(out, " HTTP/1.1\r\n", 11, NULL);
  if (host && wire_h1_write_header(out, "host", 4, host, strlen(host), err) < 0) goto fail;
  for (size_t i = 0; headers && i < headers->n; i++) {
    const wire_header *h = &headers->v[i];
    if (header_is(h, "content-length") || header_is(h, "transfer-encoding") || (host && header_is(h, "host")))
      continue;
    if (wire_h1_write_header(out, h->name, h->name_len, h->value, h->value_len, err) < 0) goto fail;
  }
  if (write_framing(out, body_length, err) < 0 || wire_buf_append(out, "\r\n", 2, err) < 0) goto fail;
  return 0;
fail:
  out->len = start;
  return -1;
}

int wire_h1_write_response_head(wire_buf *out, int version, int status, const wire_headers *headers,
                                int64_t body_length, bool close, wire_err *err) {
  size_t start = out->len;
  if (status < 100 || status > 999) return wire_err_set(err, WIRE_E_INVALID, "http1: invalid status %d", status);
  const char *reason = wire_http_reason(status);
  size_t rl = strlen(reason);
  if (wire_buf_reserve(out, 13 + rl + 2, err) < 0) return -1;
  char line[16] = "HTTP/1.1 ";
  if (version == 10) line[7] = '0';
  line[9] = (char)('0' + status / 100);
  line[10] = (char)('0' + status / 10 % 10);
  line[11] = (char)('0' + status % 10);
  line[12] = ' ';
  wire_buf_append(out, line, 13, NULL);
  wire_buf_append(out, reason, rl, NULL);
  wire_buf_append(out, "\r\n", 2, NULL);
  for (size_t i = 0; headers && i < headers->n; i++) {
    const wire_header *h = &headers->v[i];
    if (header_is(h, "content-length") || header_is(h, "transfer-encoding") || header_is(h, "connection")) continue;
    if (wire_h1_write_header(out, h->name, h->name_len, h->value, h->value_len, err) < 0) goto fail;
  }
  bool bodyless = status < 200 || status == 204 || status == 304;
  if (!bodyless && write_framing(out, body_length, err) < 0) goto fail;
  if (close) {
    if (wire_buf_append(out, "connection: close\r\n", 19, err) < 0) goto fail;
  } else if (version == 10 && status >= 200) {
    if (wire_buf_append(out, "connection: keep-alive\r\n", 24, err) < 0) goto fail;
  }
  if (wire_buf_append(out, "\r\n", 2, err) < 0) goto fail;
  return 0;
fail:
  out->len = start;
  return -1;
}

int wire_h1_write_chunk(wire_buf *out, const void *data, size_t len, wire_err *err) {
  if (len == 0) return 0;
  char head[24];
  size_t n = 0;
  char tmp[20];
  size_t t = 0;
  size_t v = len;
  do {
    tmp[t++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (t) head[n++] = tmp[--t];
  head[n++] = '\r';
  head[n++] = '\n';
  if (wire_buf_reserve(out, n + len + 2, err) < 0) return -1;
  wire_buf_append(out, head, n, NULL);
  wire_buf_append(out, data, len, NULL);
  wire_buf_append(out, "\r\n", 2, NULL);
  return 0;
}

int wire_h1_write_last_chunk(wire_buf *out, const wire_headers *trailers, wire_err *err) {
  size_t start = out->len;
  if (wire_buf_append(out, "0\r\n", 3, err) < 0) return -1;
  for (size_t i = 0; trailers && i < trailers->n; i++) {
    const wire_header *h = &trailers->v[i];
    if (wire_h1_write_header(out, h->name, h->name_len, h->value, h->value_len, err) < 0) goto fail;
  }
  if (wire_buf_append(out, "\r\n", 2, err) < 0) goto fail;
  return 0;
fail:
  out->len = start;
  return -1;
}
