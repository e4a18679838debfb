/* pbwrite.h — a streaming protobuf writer: encodes fields straight into a wire_buf, without building
 * protobuf-c structs first.
 *
 * Scalars (varint, zigzag, fixed64, double), length-delimited fields (bytes, strings, packed repeated) and
 * nested messages. A nested message is opened with pbw_begin, which reserves room for its length, and closed
 * with pbw_end, which writes the length in its minimal varint form (moving the body when the reservation was
 * not the exact size), so the output is exactly what protobuf-c's pack produces for the same message when the
 * caller writes fields in field-number order and follows proto3's rules (the *_nz helpers omit default
 * values). pbw_truncate drops everything written after a mark (an empty message the caller decides to omit).
 *
 * Errors are sticky: the first failed append (the buffer's limit, or out of memory) sets w->failed and the
 * error; every later call does nothing, so callers check once at the end (pbw_ok). */
#ifndef OTELC_WIRE_PBWRITE_H
#define OTELC_WIRE_PBWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/err.h"

typedef struct pbw {
  wire_buf *b;
  wire_err *err; /* may be NULL */
  bool failed;
} pbw;

/* An open nested message: where its reserved length bytes start and how many were reserved. */
typedef struct pbw_mark {
  size_t at;
  unsigned reserved;
} pbw_mark;

/* Starts writing at the end of b (its current content is kept). */
void pbw_init(pbw *w, wire_buf *b, wire_err *err);
/* Slow path of pbw_room: grows the buffer; false (and w->failed) if it cannot. */
bool pbw_grow(pbw *w, size_t n);
/* Closes a nested message opened with pbw_begin (see the top comment). */
void pbw_end(pbw *w, pbw_mark m);

static inline bool pbw_ok(const pbw *w) { return !w->failed; }
/* Ensures n more bytes can be written with the pbw_put_* primitives. */
static inline bool pbw_room(pbw *w, size_t n) {
  if (__builtin_expect(w->b->cap - w->b->len >= n && !w->failed, 1)) return true;
  return pbw_grow(w, n);
}

/* Bytes of the varint encoding of v (1-10). */
static inline unsigned pbw_varint_size(uint64_t v) {
  unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
  return (bits + 6) / 7;
}

/* ---- primitives: the caller has made room (pbw_room) ---- */

static inline void pbw_put_varint(pbw *w, uint64_t v) {
  uint8_t *p = w->b->data + w->b->len;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  w->b->len = (size_t)(p - w->b->data);
}
static inline void pbw_put_fixed64(pbw *w, uint64_t v) {
  uint8_t *p = w->b->data + w->b->len;
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
  w->b->len += 8;
}
static inline void pbw_put_raw(pbw *w, const void *src, size_t n) {
  if (n) memcpy(w->b->data + w->b->len, src, n);
  w->b->len += n;
}

/* ---- fields (each makes its own room) ---- */

enum { PBW_VARINT = 0, PBW_FIXED64 = 1, PBW_LEN = 2, PBW_FIXED32 = 5 };

static inline uint64_t pbw_tag(uint32_t field, unsigned wire_type) { return (uint64_t)field << 3 | wire_type; }

static inline void pbw_varint(pbw *w, uint32_t field, uint64_t v) {
  if (!pbw_room(w, 20)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_VARINT));
  pbw_put_varint(w, v);
}
static inline void pbw_sint32(pbw *w, uint32_t field, int32_t v) {
  pbw_varint(w, field, (uint32_t)((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}
static inline void pbw_fixed64(pbw *w, uint32_t field, uint64_t v) {
  if (!pbw_room(w, 18)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_FIXED64));
  pbw_put_fixed64(w, v);
}
static inline void pbw_double(pbw *w, uint32_t field, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  pbw_fixed64(w, field, v);
}
static inline void pbw_bytes(pbw *w, uint32_t field, const void *p, size_t n) {
  if (!pbw_room(w, 20 + n)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_LEN));
  pbw_put_varint(w, n);
  pbw_put_raw(w, p, n);
}
static inline void pbw_string(pbw *w, uint32_t field, const char *s) { pbw_bytes(w, field, s, strlen(s)); }

/* proto3 fields without presence: nothing is written for the default value (0, false, empty; for doubles
 * the bit pattern 0, so -0.0 is written, as protobuf-c does). */
static inline void pbw_varint_nz(pbw *w, uint32_t field, uint64_t v) {
  if (v) pbw_varint(w, field, v);
}
static inline void pbw_sint32_nz(pbw *w, uint32_t field, int32_t v) {
  if (v) pbw_sint32(w, field, v);
}
static inline void pbw_fixed64_nz(pbw *w, uint32_t field, uint64_t v) {
  if (v) pbw_fixed64(w, field, v);
}
static inline void pbw_double_nz(pbw *w, uint32_t field, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  if (v) pbw_fixed64(w, field, v);
}
static inline void pbw_bytes_nz(pbw *w, uint32_t field, const void *p, size_t n) {
  if (n) pbw_bytes(w, field, p, n);
}
static inline void pbw_string_nz(pbw *w, uint32_t field, const char *s) {
  if (s && s[0]) pbw_bytes(w, field, s, strlen(s));
}

/* Packed repeated fields (nothing is written for n == 0). */
void pbw_packed_fixed64(pbw *w, uint32_t field, const uint64_t *v, size_t n);
void pbw_packed_double(pbw *w, uint32_t field, const double *v, size_t n);
void pbw_packed_varint(pbw *w, uint32_t field, const uint64_t *v, size_t n);

/* ---- nested messages ---- */

/* Opens field `field` as a nested message, reserving `reserve` bytes (1-5) for its length: the expected
 * varint size of the body (1 for bodies under 128 bytes, 3 for up to 2 MiB); a wrong guess costs a move. */
static inline pbw_mark pbw_begin(pbw *w, uint32_t field, unsigned reserve) {
  pbw_mark m = {0, reserve};
  if (!pbw_room(w, 10 + reserve)) return m;
  pbw_put_varint(w, pbw_tag(field, PBW_LEN));
  m.at = w->b->len;
  w->b->len += reserve;
  return m;
}

/* A position to come back to with pbw_truncate. */
static inline size_t pbw_pos(const pbw *w) { return w->b->len; }
/* Drops everything written from pos on (for a message opened after pos, its tag included). */
static inline void pbw_truncate(pbw *w, size_t pos) {
  if (!w->failed && pos <= w->b->len) w->b->len = pos;
}

#endif
