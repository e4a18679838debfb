/* buf.c — growable byte buffer with a hard limit (see buf.h). */
#include "wire/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wire_buf_init(wire_buf *b, size_t limit) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->limit = limit ? limit : SIZE_MAX;
}

void wire_buf_free(wire_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void wire_buf_reset(wire_buf *b) { b->len = 0; }

/* Grows the allocation to at least `need` bytes (limits are checked by the callers). */
static int grow(wire_buf *b, size_t need, size_t limit, wire_err *err) {
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > limit) cap = limit > need ? limit : need;
  uint8_t *p = realloc(b->data, cap ? cap : 1);
  if (!p) return wire_err_set(err, WIRE_E_NOMEM, "out of memory growing buffer to %zu bytes", cap);
  b->data = p;
  b->cap = cap;
  return 0;
}

int wire_buf_reserve(wire_buf *b, size_t extra, wire_err *err) {
  size_t limit = b->limit ? b->limit : SIZE_MAX;
  if (extra > limit || b->len > limit - extra)
    return wire_err_set(err, WIRE_E_LIMIT, "buffer limit of %zu bytes exceeded", limit);
  return grow(b, b->len + extra, limit, err);
}

int wire_buf_append(wire_buf *b, const void *p, size_t n, wire_err *err) {
  if (n == 0) return 0;
  if (wire_buf_reserve(b, n, err) < 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int wire_buf_append_str(wire_buf *b, const char *s, wire_err *err) { return wire_buf_append(b, s, strlen(s), err); }

int wire_buf_printf(wire_buf *b, wire_err *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return wire_err_set(err, WIRE_E_INVALID, "format error");
  size_t limit = b->limit ? b->limit : SIZE_MAX;
  if ((size_t)n > limit || b->len > limit - (size_t)n)
    return wire_err_set(err, WIRE_E_LIMIT, "buffer limit of %zu bytes exceeded", limit);
  if (grow(b, b->len + (size_t)n + 1, SIZE_MAX, err) < 0) return -1; /* +1: vsnprintf's NUL, not counted */
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void wire_buf_consume(wire_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

uint8_t *wire_buf_detach(wire_buf *b, size_t *len) {
  uint8_t *p = b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
