/* h1scan.h — the preload sniffer's fast path: a light scanner that reads, out of one complete HTTP/1 message
 * head sitting whole in one read() or write() buffer, only the fields the metrics need (method, target, status,
 * version, the Content-Length framing), and says "not simple" for anything else.
 *
 * Why this is not a second HTTP parser: it decides nothing on its own. The sniffer calls it only at a message
 * boundary, and every head it does not call simple goes, untouched, to the wire layer's parser (wire/http1.h),
 * which remains the one authority on HTTP/1: split heads, bare LF line ends, folded lines, Transfer-Encoding,
 * Upgrade, 1xx, close-delimited bodies, absolute-form targets, versions other than 1.0/1.1, a repeated or
 * listed Content-Length. For the heads it accepts, it yields exactly what the wire parser's callbacks would
 * have yielded for the same bytes (the sniffer's unit test and fuzz target compare the two). What it skips is
 * validation: the bytes of names and values are not checked against the token/field-value grammar, because
 * the host server has already validated them (and answered 400 to a head it refused). The shim only has to
 * be robust: every access is bounded by the buffer, nothing is kept, and whatever does not have the expected
 * shape falls back to the full parser, which stops watching the connection if it refuses the bytes.
 *
 * Cost: one SSE2 pass over the head makes a 64-bit mask of the LFs of each 64 bytes; the lines are handed
 * out from the mask, and a line costs a CR check, an end-of-head check and a test of its first byte against a
 * bitmap held in the code. Only lines whose first byte and colon are where those of content-length,
 * transfer-encoding or upgrade would be have their name compared, 8 bytes at a time. 64-byte masks rather
 * than 16: on nginx's 237-byte response head the walk costs ~150 fewer instructions (~650 -> ~500 with the
 * field checks), and the extra code is two cache lines that measurably cost nothing (docs/performance.md,
 * "Cache lines" and "Fewer instructions").
 *
 * Everything is static inline: included by sniffer.c (and its unit test) only. */
#ifndef OTELC_AUTOINSTR_H1SCAN_H
#define OTELC_AUTOINSTR_H1SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "autoinstr/layout.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* What a simple head carries. */
typedef struct h1scan_head {
  size_t head_len;        /* bytes of the head, start line through the empty line */
  int64_t content_length; /* -1: no Content-Length */
  const char *method;     /* requests: the method token, in the caller's bytes */
  size_t method_len;
  const char *target;     /* requests: the origin-form target ("/..."), in the caller's bytes */
  size_t target_len;
  uint16_t status;        /* responses: 100..999 */
  uint8_t version;        /* 10 or 11 */
} h1scan_head;

#define H1SCAN_MAX_CL_DIGITS 18 /* longer lengths go to the full parser (which allows up to 2^63-1) */

/* LF bits of the 16 bytes at data[blk] (bit i: data[blk + i] == LF; none at or past len). len >= 16: a block
 * that would run past the end is read as the buffer's last 16 bytes instead, shifted to match. */
static inline uint32_t h1scan_lf_mask16(const uint8_t *data, size_t len, size_t blk) {
  size_t w = len - blk >= 16 ? blk : len - 16;
#if defined(__SSE2__)
  __m128i v = _mm_loadu_si128((const __m128i *)(data + w));
  /* The LF splat is built in a register (the empty asm hides the constant): as a literal it would be a
   * 16-byte load from .rodata, one more page per call for the shim (sniffer.h, "Code layout"). */
  int lf = '\n';
  __asm__("" : "+r"(lf));
  return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)lf))) >> (blk - w);
#else
  uint32_t m = 0;
  for (unsigned i = 0; i < 16; i++) m |= (uint32_t)(data[w + i] == '\n') << i;
  return m >> (blk - w);
#endif
}

/* LF bits of the 64 bytes at data[at] (bit i: data[at + i] == LF; none at or past len). len >= 16. Four
 * 16-byte compares and one 64-bit mask: the walk below then hands out every LF of 64 bytes from one word. A
 * last chunk that would run past the end is read as the buffer's last 64 bytes, shifted to match. */
static inline __attribute__((always_inline)) uint64_t h1scan_lf_mask64(const uint8_t *data, size_t len, size_t at) {
#if defined(__SSE2__)
  if (__builtin_expect(len >= 64, 1)) {
    size_t w = len - at >= 64 ? at : len - 64;
    int lf = '\n';
    __asm__("" : "+r"(lf)); /* the splat in a register, not a .rodata load (h1scan_lf_mask16) */
    __m128i nl = _mm_set1_epi8((char)lf);
    const __m128i *p = (const __m128i *)(data + w);
    uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p), nl));
    uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p + 1), nl));
    uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p + 2), nl));
    uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p + 3), nl));
    return (m0 | m1 << 16 | m2 << 32 | m3 << 48) >> (at - w);
  }
#endif
  uint64_t m = 0;
  for (size_t blk = at; blk < len && blk < at + 64; blk += 16)
    m |= (uint64_t)h1scan_lf_mask16(data, len, blk) << (blk - at);
  return m;
}

static inline uint64_t h1scan_load8(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint64_t h1scan_const8(const char *s) {
  uint64_t v;
  memcpy(&v, s, 8);
  return v;
}

/* "HTTP/1.0" or "HTTP/1.1" at p (8 bytes readable): 10, 11, or 0 for anything else. */
static inline int h1scan_version(const uint8_t *p) {
  uint64_t v = h1scan_load8(p);
  return v == h1scan_const8("HTTP/1.1") ? 11 : v == h1scan_const8("HTTP/1.0") ? 10 : 0;
}

/* Eight bytes at s, upper-case letters folded to lower case (OR 0x20 folds exactly the letters A-Z onto a-z;
 * it also maps a few control bytes onto punctuation, so the callers check '-' bytes as they are). */
static inline uint64_t h1scan_lower8(const uint8_t *s) { return h1scan_load8(s) | 0x2020202020202020ull; }

/* The request line [data, lf) (lf: its LF). */
static inline bool h1scan_request_line(const uint8_t *data, const uint8_t *lf, h1scan_head *out) {
  size_t n = (size_t)(lf - data);
  /* shortest: "M / HTTP/1.1\r" */
  if (n < 13 || lf[-1] != '\r' || lf[-10] != ' ') return false;
  /* A CR, LF or other control byte first: the wire parser skips a leading CR/LF, so the method it reads is
   * not the bytes before the first SP. Not simple. */
  if (data[0] <= ' ') return false;
  int version = h1scan_version(lf - 9);
  if (!version) return false;
  const uint8_t *line_end = lf - 10; /* the SP before the version */
  const uint8_t *sp = data;
  while (sp < line_end && *sp != ' ') sp++;
  if (sp == data || sp >= line_end - 1 || sp[1] != '/') return false;
  out->method = (const char *)data;
  out->method_len = (size_t)(sp - data);
  out->target = (const char *)sp + 1;
  out->target_len = (size_t)(line_end - sp - 1);
  out->version = (uint8_t)version;
  return true;
}

/* The status line [data, lf) ("HTTP/1.x NNN[ reason]"). */
static inline bool h1scan_status_line(const uint8_t *data, const uint8_t *lf, h1scan_head *out) {
  size_t n = (size_t)(lf - data);
  if (n < 13 || lf[-1] != '\r') return false; /* "HTTP/1.1 200\r" */
  int version = h1scan_version(data);
  if (!version || data[8] != ' ') return false;
  unsigned d0 = data[9] - (unsigned)'0', d1 = data[10] - (unsigned)'0', d2 = data[11] - (unsigned)'0';
  if (d0 > 9 || d1 > 9 || d2 > 9 || d0 == 0) return false;
  if (n == 13 ? data[12] != '\r' : data[12] != ' ') return false;
  out->version = (uint8_t)version;
  out->status = (uint16_t)(d0 * 100 + d1 * 10 + d2);
  return true;
}

/* The common value, " " 1*7DIGIT CRLF filling [v, end) exactly, read 8 bytes at a time (the head goes on
 * past the line: buf_end is the buffer's end): the value, or -1 for anything else (h1scan_length_value then
 * reads it byte by byte, the authority on it). In d = x - "00000000" a byte before the first non-digit is
 * its digit (no borrow reaches it from below), and a byte is not a digit exactly when d's byte is above 9,
 * which adding 0x76 brings to bit 7 (a carry out of a byte only happens past the first non-digit). The k
 * digits must be exactly the bytes before the CR; they are moved to the top of the word, so that zeros
 * lead, and combined pairwise (x10, x100, x10000). ~25 instructions where the byte loop took ~65. */
static inline int64_t h1scan_length_value_short(const uint8_t *v, const uint8_t *end, const uint8_t *buf_end) {
  size_t n = (size_t)(end - v);
  if (n < 4 || n > 10 || buf_end - v < 9 || v[0] != ' ' || end[-2] != '\r' || end[-1] != '\n') return -1;
  unsigned k = (unsigned)n - 3;
  uint64_t d = h1scan_load8(v + 1) - 0x3030303030303030ull;
  uint64_t non_digit = ((d + 0x7676767676767676ull) | d) & 0x8080808080808080ull;
  if (!non_digit || (unsigned)__builtin_ctzll(non_digit) / 8 != k) return -1;
  d <<= 8 * (8 - k);
  d = (d & 0x0f0f0f0f0f0f0f0full) * 2561 >> 8;
  d = (d & 0x00ff00ff00ff00ffull) * 6553601 >> 16;
  return (int64_t)((d & 0x0000ffff0000ffffull) * 42949672960001ull >> 32);
}

/* A Content-Length value from v on: OWS 1*18DIGIT OWS CRLF, all before end (buf_end: the buffer's end, at or
 * past end). -1 when it is anything else (a list, a sign, an empty value, more digits: the full parser's
 * business) or not complete. */
static inline int64_t h1scan_length_value(const uint8_t *v, const uint8_t *end, const uint8_t *buf_end) {
  int64_t quick = h1scan_length_value_short(v, end, buf_end);
  if (__builtin_expect(quick >= 0, 1)) return quick;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  const uint8_t *d = v, *dmax = end - v > H1SCAN_MAX_CL_DIGITS ? v + H1SCAN_MAX_CL_DIGITS : end;
  int64_t cl = 0;
  while (v < dmax && (unsigned)(*v - '0') <= 9) cl = cl * 10 + (*v++ - '0');
  if (v == d) return -1;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  if (end - v < 2 || v[0] != '\r' || v[1] != '\n') return -1;
  return cl;
}

/* First bytes of header lines that need a look (0: none, the common case). */
enum { H1SCAN_FB_C = 1, H1SCAN_FB_T, H1SCAN_FB_U, H1SCAN_FB_FOLD };

/* The class of the header line [p, p + n) (n: up to its CR, n >= 1) for the scan: 0 for a line that cannot be
 * a framing field, the common case. A 64-bit bitmap held in the code (a 256-byte table cost the request path
 * two cache lines of data per request: hot.h, why lines count) is indexed by the low six bits of p[0] | 0x20,
 * which folds A-Z onto a-z and maps SP to itself and HTAB to ')': one OR, one shift and one test per line, the
 * shift count masked to six bits for free by the CPU. The index keeps only six bits, so a few other bytes
 * ('#', '4', '5' ...) share a bit with c, t, u, SP or ')'; the switch tells them apart exactly. A line whose
 * first byte fits is a candidate only with its colon where the name's would be (content-length: p[14],
 * transfer-encoding: p[17], upgrade: p[7]): nginx's Content-Type and Connection, which start with a c, end
 * here without a call (~30 instructions per response, callgrind). h1scan_field checks the name itself. */
static inline int h1scan_line_class(const uint8_t *p, size_t n) {
  uint8_t b = p[0];
  unsigned f = b | 0x20u;
  const uint64_t candidates = 1ull << ('c' & 63) | 1ull << ('t' & 63) | 1ull << ('u' & 63) | 1ull << (' ' & 63) |
                              1ull << (('\t' | 0x20) & 63);
  if (__builtin_expect(!((candidates >> (f & 63)) & 1), 1)) return 0;
  switch (f) {
  case 'c': return n > 15 && p[14] == ':' ? H1SCAN_FB_C : 0;
  case 't': return n > 17 && p[17] == ':' ? H1SCAN_FB_T : 0;
  case 'u': return n > 7 && p[7] == ':' ? H1SCAN_FB_U : 0;
  default: return b == ' ' || b == '\t' ? H1SCAN_FB_FOLD : 0;
  }
}

/* One header line [p, e) (e: its CR, followed by its LF; e > p) whose class is fb (not 0), in a buffer that
 * ends at buf_end: false when the head is not simple. */
PRELOAD_HOT static inline bool h1scan_field(const uint8_t *p, const uint8_t *e, const uint8_t *buf_end, int fb,
                                            bool request, h1scan_head *out) {
  size_t n = (size_t)(e - p);
  switch (fb) {
  case H1SCAN_FB_C: /* content-length */
    if (n > 15 && p[14] == ':' && h1scan_lower8(p) == h1scan_const8("content-") &&
        h1scan_lower8(p + 6) == h1scan_const8("t-length") && p[7] == '-') {
      if (out->content_length >= 0) return false; /* repeated: the full parser's list rules */
      out->content_length = h1scan_length_value(p + 15, e + 2, buf_end);
      return out->content_length >= 0;
    }
    return true;
  case H1SCAN_FB_T: /* transfer-encoding */
    return !(n > 17 && p[17] == ':' && h1scan_lower8(p) == h1scan_const8("transfer") &&
             h1scan_lower8(p + 9) == h1scan_const8("encoding") && p[8] == '-');
  case H1SCAN_FB_U: /* upgrade (requests only); ':' is left as it is by the folding */
    return !(request && n > 7 && h1scan_lower8(p) == h1scan_const8("upgrade:"));
  default: /* SP or HTAB first: obsolete line folding, which the full parser refuses */
    return false;
  }
}

/* A simple head at the start of data (see the top comment): the start line, header lines, the empty line.
 * One pass over 64-byte LF masks; the start line is read first, then each LF ends a header line, checked
 * for its CR, for being the empty line, and for its class (first byte, colon). Most lines cost those three
 * tests. */
static inline __attribute__((always_inline)) bool h1scan_head_of(const uint8_t *data, size_t len, bool request,
                                                                 h1scan_head *out) {
  *out = (h1scan_head){.content_length = -1};
  if (len < 16) return false; /* shorter than the shortest head, "M / HTTP/1.1\r\n\r\n" */
  size_t at = 0;
  uint64_t mask = h1scan_lf_mask64(data, len, 0);
  while (!mask) {
    if ((at += 64) >= len) return false;
    mask = h1scan_lf_mask64(data, len, at);
  }
  const uint8_t *lf = data + at + (unsigned)__builtin_ctzll(mask);
  mask &= mask - 1;
  if (!(request ? h1scan_request_line(data, lf, out) : h1scan_status_line(data, lf, out))) return false;
  const uint8_t *line = lf + 1; /* start of the current header line */
  for (;;) { /* the same hand-out as above, written out: as a helper taking &at and &mask it cost ~45 more
              * instructions per nginx request (callgrind) */
    while (!mask) {
      if ((at += 64) >= len) return false; /* incomplete */
      mask = h1scan_lf_mask64(data, len, at);
    }
    lf = data + at + (unsigned)__builtin_ctzll(mask);
    mask &= mask - 1;
    if (lf[-1] != '\r') return false; /* a bare LF (lf > line >= data + 1: lf[-1] is in the buffer) */
    if (lf - 1 == line) {             /* the empty line: end of the head */
      out->head_len = (size_t)(lf + 1 - data);
      return true;
    }
    int fb = h1scan_line_class(line, (size_t)(lf - 1 - line));
    if (__builtin_expect(fb != 0, 0) && !h1scan_field(line, lf - 1, data + len, fb, request, out))
      return false;
    line = lf + 1;
  }
}

/* A simple request head at the start of data: "METHOD /target HTTP/1.x" CRLF, header lines, CRLF. The method
 * is whatever precedes the first SP (its bytes are not checked: the caller maps unknown methods to _OTHER). */
PRELOAD_HOT static inline bool h1scan_request(const uint8_t *data, size_t len, h1scan_head *out) {
  return h1scan_head_of(data, len, true, out);
}

/* A simple response head at the start of data: "HTTP/1.x NNN[ reason]" CRLF, header lines, CRLF. */
PRELOAD_HOT static inline bool h1scan_response(const uint8_t *data, size_t len, h1scan_head *out) {
  if (len < 16 || data[0] != 'H') return false; /* a cheap no for body bytes */
  return h1scan_head_of(data, len, false, out);
}

#endif
