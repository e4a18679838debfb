/* gzip.c — bounded gzip compression and decompression over zlib (see gzip.h). */
#include "wire/gzip.h"

#include <string.h>
#include <zlib.h>

int wire_gzip_compress(const void *in, size_t n, int level, wire_buf *out, wire_err *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return wire_err_set(err, WIRE_E_NOMEM, "gzip: deflateInit failed");
  size_t bound = deflateBound(&zs, (uLong)n);
  if (wire_buf_reserve(out, bound, err) < 0) {
    deflateEnd(&zs);
    return -1;
  }
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)n;
  zs.next_out = out->data + out->len;
  zs.avail_out = (uInt)bound;
  int rc = deflate(&zs, Z_FINISH);
  if (rc != Z_STREAM_END) {
    deflateEnd(&zs);
    return wire_err_set(err, WIRE_E_INVALID, "gzip: deflate failed (%d)", rc);
  }
  out->len += zs.total_out;
  deflateEnd(&zs);
  return 0;
}

int wire_gzip_decompress(const void *in, size_t n, size_t max_out, wire_buf *out, wire_err *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return wire_err_set(err, WIRE_E_NOMEM, "gzip: inflateInit failed");
  const uint8_t *p = in;
  size_t left = n;
  size_t produced = 0;
  size_t start_len = out->len;
  int rc = Z_OK;
  if (n == 0) {
    inflateEnd(&zs);
    return wire_err_set(err, WIRE_E_INVALID, "gzip: empty body is not a gzip stream");
  }
  while (left > 0) {
    zs.next_in = (Bytef *)p;
    zs.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
    size_t before_in = zs.avail_in;
    do {
      size_t room = 64 * 1024;
      if (room > max_out - produced + 1) room = max_out - produced + 1; /* +1 detects overflow */
      if (wire_buf_reserve(out, room, err) < 0) goto fail;
      zs.next_out = out->data + out->len;
      zs.avail_out = (uInt)room;
      rc = inflate(&zs, Z_NO_FLUSH);
      size_t got = room - zs.avail_out;
      out->len += got;
      produced += got;
      if (produced > max_out) {
        wire_err_set(err, WIRE_E_LIMIT, "gzip: decompressed size exceeds the limit of %zu bytes", max_out);
        goto fail;
      }
      if (rc == Z_STREAM_END) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        wire_err_set(err, WIRE_E_INVALID, "gzip: corrupt stream at input offset %zu (%s)",
                     n - left + (before_in - zs.avail_in), zs.msg ? zs.msg : "inflate error");
        goto fail;
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break; /* needs more input than there is */
    } while (zs.avail_out == 0 || zs.avail_in > 0);
    size_t used = before_in - zs.avail_in;
    p += used;
    left -= used;
    if (rc == Z_STREAM_END) {
      if (left == 0) break;
      /* another gzip member follows (RFC 1952 allows concatenation) */
      if (inflateReset(&zs) != Z_OK) {
        wire_err_set(err, WIRE_E_INVALID, "gzip: reset failed");
        goto fail;
      }
      continue;
    }
    if (used == 0 || left == 0) break;
  }
  if (rc != Z_STREAM_END) {
    wire_err_set(err, WIRE_E_INVALID, "gzip: truncated stream (%zu of %zu input bytes consumed)", n - left, n);
    goto fail;
  }
  inflateEnd(&zs);
  return 0;
fail:
  out->len = start_len;
  inflateEnd(&zs);
  return -1;
}
