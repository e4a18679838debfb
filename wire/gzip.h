/* gzip.h — gzip bodies and gRPC message compression through zlib.
 *
 * Decompression is bounded: `max_out` caps the decompressed size and the call fails with WIRE_E_LIMIT as soon
 * as the output would pass it, so a gzip bomb costs at most max_out bytes of memory. */
#ifndef OTELC_WIRE_GZIP_H
#define OTELC_WIRE_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

/* Appends the gzip (RFC 1952) form of in[0..n) to out. level: 1..9, or -1 for zlib's default. */
int wire_gzip_compress(const void *in, size_t n, int level, wire_buf *out, wire_err *err);
/* Appends the decompressed bytes of a gzip stream to out; fails on corrupt or truncated input, trailing garbage,
 * or more than max_out decompressed bytes. Accepts concatenated gzip members. */
int wire_gzip_decompress(const void *in, size_t n, size_t max_out, wire_buf *out, wire_err *err);

#endif
