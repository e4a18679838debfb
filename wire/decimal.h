/* decimal.h — integers as decimal text without printf: the one digit loop the HTTP/1.1 writer, the OTLP JSON
 * encoder and the Prometheus exposition share (each writes numbers on its hot path, so these are inline). */
#ifndef OTELC_WIRE_DECIMAL_H
#define OTELC_WIRE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal at out (no terminating NUL; out needs room for 20 bytes); returns the length. */
static inline size_t wire_fmt_u64(char *out, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

/* Same for a signed value, with a leading '-' when negative (room for 20 bytes; INT64_MIN included). */
static inline size_t wire_fmt_i64(char *out, int64_t v) {
  if (v >= 0) return wire_fmt_u64(out, (uint64_t)v);
  out[0] = '-';
  return 1 + wire_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

#endif
