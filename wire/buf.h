/* buf.h — a growable byte buffer with a hard size limit.
 *
 * Used for every body, frame and encoded message in the wire layer. `limit` bounds growth: appending past it
 * fails with WIRE_E_LIMIT and leaves the buffer unchanged, so no peer can make us allocate without bound. */
#ifndef OTELC_WIRE_BUF_H
#define OTELC_WIRE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "wire/err.h"

typedef struct wire_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t limit; /* 0 means SIZE_MAX */
} wire_buf;

void wire_buf_init(wire_buf *b, size_t limit);
void wire_buf_free(wire_buf *b);
void wire_buf_reset(wire_buf *b); /* len = 0, keeps the allocation */
/* Makes room for `extra` more bytes; returns 0 or -1 (WIRE_E_LIMIT / WIRE_E_NOMEM). */
int wire_buf_reserve(wire_buf *b, size_t extra, wire_err *err);
int wire_buf_append(wire_buf *b, const void *p, size_t n, wire_err *err);
int wire_buf_append_str(wire_buf *b, const char *s, wire_err *err);
int wire_buf_printf(wire_buf *b, wire_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Removes the first n bytes (n <= len). */
void wire_buf_consume(wire_buf *b, size_t n);
/* Hands the allocation to the caller; the buffer becomes empty. */
uint8_t *wire_buf_detach(wire_buf *b, size_t *len);

#endif
