/* pbwrite.c — the streaming protobuf writer's out-of-line parts: buffer growth, closing nested messages
 * (length back-patching) and packed repeated fields (see pbwrite.h). */
#include "wire/pbwrite.h"

void pbw_init(pbw *w, wire_buf *b, wire_err *err) {
  w->b = b;
  w->err = err;
  w->failed = false;
}

bool pbw_grow(pbw *w, size_t n) {
  if (w->failed) return false;
  /* Grow by at least half the current capacity, so a long run of small fields costs amortised O(1). */
  size_t want = n > w->b->cap / 2 ? n : w->b->cap / 2;
  if (wire_buf_reserve(w->b, want, w->err) == 0) return true;
  if (want != n && wire_buf_reserve(w->b, n, w->err) == 0) return true; /* near the limit: just n */
  w->failed = true;
  return false;
}

void pbw_end(pbw *w, pbw_mark m) {
  if (w->failed) return;
  size_t body_at = m.at + m.reserved;
  size_t len = w->b->len - body_at;
  unsigned need = pbw_varint_size(len);
  if (need != m.reserved) {
    if (need > m.reserved && !pbw_room(w, need - m.reserved)) return;
    uint8_t *d = w->b->data;
    memmove(d + m.at + need, d + body_at, len);
    w->b->len = m.at + need + len;
  }
  uint8_t *p = w->b->data + m.at;
  uint64_t v = len;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p = (uint8_t)v;
}

void pbw_packed_fixed64(pbw *w, uint32_t field, const uint64_t *v, size_t n) {
  if (n == 0 || !pbw_room(w, 20 + 8 * n)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_LEN));
  pbw_put_varint(w, 8 * n);
  for (size_t i = 0; i < n; i++) pbw_put_fixed64(w, v[i]);
}

void pbw_packed_double(pbw *w, uint32_t field, const double *v, size_t n) {
  if (n == 0 || !pbw_room(w, 20 + 8 * n)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_LEN));
  pbw_put_varint(w, 8 * n);
  for (size_t i = 0; i < n; i++) {
    uint64_t bits;
    memcpy(&bits, &v[i], 8);
    pbw_put_fixed64(w, bits);
  }
}

void pbw_packed_varint(pbw *w, uint32_t field, const uint64_t *v, size_t n) {
  if (n == 0) return;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += pbw_varint_size(v[i]);
  if (!pbw_room(w, 20 + len)) return;
  pbw_put_varint(w, pbw_tag(field, PBW_LEN));
  pbw_put_varint(w, len);
  for (size_t i = 0; i < n; i++) pbw_put_varint(w, v[i]);
}
