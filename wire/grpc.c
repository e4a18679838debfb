/* grpc.c — gRPC framing, deframing, grpc-timeout, status codes, grpc-message and status details (see grpc.h).
 * Nothing here does I/O: the HTTP/2 client and the server helpers feed it bytes and headers. */
#include "wire/grpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/rpc/status.pb-c.h"
#include "wire/gzip.h"

#define DEFAULT_MAX_MESSAGE (4u << 20)

/* --- status codes --- */

static const char *const code_names[] = {
    "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",       "UNIMPLEMENTED",     "INTERNAL",         "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED",
};

const char *wire_grpc_code_name(int code) {
  if (code < 0 || code > WIRE_GRPC_UNAUTHENTICATED) return "UNKNOWN_CODE";
  return code_names[code];
}

bool wire_grpc_otlp_retryable(int code, bool has_retry_info) {
  switch (code) {
  case WIRE_GRPC_CANCELLED:
  case WIRE_GRPC_DEADLINE_EXCEEDED:
  case WIRE_GRPC_ABORTED:
  case WIRE_GRPC_OUT_OF_RANGE:
  case WIRE_GRPC_UNAVAILABLE:
  case WIRE_GRPC_DATA_LOSS:
    return true;
  case WIRE_GRPC_RESOURCE_EXHAUSTED:
    return has_retry_info;
  default:
    return false;
  }
}

int wire_grpc_code_from_http(int http_status) {
  switch (http_status) {
  case 400: return WIRE_GRPC_INTERNAL;
  case 401: return WIRE_GRPC_UNAUTHENTICATED;
  case 403: return WIRE_GRPC_PERMISSION_DENIED;
  case 404: return WIRE_GRPC_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504: return WIRE_GRPC_UNAVAILABLE;
  default: return WIRE_GRPC_UNKNOWN;
  }
}

/* --- framing --- */

int wire_grpc_encoding_parse(const char *value) {
  if (!value || strcmp(value, "identity") == 0) return WIRE_GRPC_IDENTITY;
  if (strcmp(value, "gzip") == 0) return WIRE_GRPC_GZIP;
  return -1;
}

void wire_grpc_prefix_write(uint8_t out[WIRE_GRPC_PREFIX_LEN], bool compressed, uint32_t len) {
  out[0] = compressed ? 1 : 0;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

static uint32_t prefix_len(const uint8_t *p) {
  return (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | (uint32_t)p[4];
}

int wire_grpc_frame_encode(wire_buf *out, const void *msg, size_t len, wire_grpc_encoding enc, wire_err *err) {
  size_t start = out->len;
  if (enc == WIRE_GRPC_GZIP && len > 0) {
    uint8_t zero[WIRE_GRPC_PREFIX_LEN] = {0};
    if (wire_buf_append(out, zero, sizeof zero, err) < 0) return -1;
    if (wire_gzip_compress(msg, len, -1, out, err) < 0) {
      out->len = start;
      return -1;
    }
    size_t clen = out->len - start - WIRE_GRPC_PREFIX_LEN;
    if (clen < len && clen <= UINT32_MAX) {
      wire_grpc_prefix_write(out->data + start, true, (uint32_t)clen);
      return 0;
    }
    out->len = start; /* compression did not help: send it as it is */
  }
  if (len > UINT32_MAX)
    return wire_err_set(err, WIRE_E_LIMIT, "grpc: message of %zu bytes does not fit a 32-bit length", len);
  if (wire_buf_reserve(out, WIRE_GRPC_PREFIX_LEN + len, err) < 0) return -1;
  wire_grpc_prefix_write(out->data + out->len, false, (uint32_t)len);
  if (len) memcpy(out->data + out->len + WIRE_GRPC_PREFIX_LEN, msg, len);
  out->len += WIRE_GRPC_PREFIX_LEN + len;
  return 0;
}

/* --- deframer --- */

void wire_grpc_deframer_init(wire_grpc_deframer *d, size_t max_message, wire_grpc_encoding encoding) {
  memset(d, 0, sizeof *d);
  d->max_message = max_message ? max_message : DEFAULT_MAX_MESSAGE;
  d->encoding = encoding;
  wire_buf_init(&d->partial, d->max_message);
  wire_buf_init(&d->inflated, d->max_message);
}

void wire_grpc_deframer_free(wire_grpc_deframer *d) {
  wire_buf_free(&d->partial);
  wire_buf_free(&d->inflated);
}

static int deframer_fail(wire_grpc_deframer *d) {
  d->failed = true;
  return -1;
}

/* Checks a complete prefix; sets up the body state. */
static int deframer_take_prefix(wire_grpc_deframer *d, wire_err *err) {
  uint64_t at = d->offset - WIRE_GRPC_PREFIX_LEN;
  uint8_t flag = d->prefix[0];
  if (flag > 1)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: message flag 0x%02x at offset %llu is neither 0 nor 1", flag,
                        (unsigned long long)at);
  if (flag == 1 && d->encoding == WIRE_GRPC_IDENTITY)
    return wire_err_set(err, WIRE_E_PROTOCOL,
                        "grpc: compressed message at offset %llu but no grpc-encoding was negotiated",
                        (unsigned long long)at);
  uint32_t len = prefix_len(d->prefix);
  if (len > d->max_message)
    return wire_err_set(err, WIRE_E_LIMIT, "grpc: message of %u bytes at offset %llu exceeds the limit of %zu bytes",
                        len, (unsigned long long)at, d->max_message);
  d->compressed = flag == 1;
  d->msg_len = len;
  d->in_body = true;
  return 0;
}

static int deframer_deliver(wire_grpc_deframer *d, const uint8_t *msg, size_t len, wire_grpc_message_fn fn, void *ud,
                            wire_err *err) {
  static const uint8_t empty[1];
  if (len == 0) msg = empty;
  if (d->compressed && len > 0) {
    wire_buf_reset(&d->inflated);
    if (wire_gzip_decompress(msg, len, d->max_message, &d->inflated, err) < 0) {
      if (err && err->code != WIRE_E_LIMIT && err->code != WIRE_E_NOMEM) err->code = WIRE_E_INVALID;
      wire_err_prefix(err, "grpc: message %zu: ", d->messages + 1);
      return -1;
    }
    msg = d->inflated.data ? d->inflated.data : empty;
    len = d->inflated.len;
  }
  d->in_body = false;
  d->prefix_have = 0;
  wire_buf_reset(&d->partial);
  d->messages++;
  return fn ? fn(ud, msg, len, err) : 0;
}

int wire_grpc_deframer_feed(wire_grpc_deframer *d, const void *data, size_t len, wire_grpc_message_fn fn, void *ud,
                            wire_err *err) {
  if (d->failed) return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: input after a deframing error");
  const uint8_t *p = data;
  while (len > 0) {
    if (!d->in_body) {
      size_t take = WIRE_GRPC_PREFIX_LEN - d->prefix_have;
      if (take > len) take = len;
      memcpy(d->prefix + d->prefix_have, p, take);
      d->prefix_have += take;
      d->offset += take;
      p += take;
      len -= take;
      if (d->prefix_have < WIRE_GRPC_PREFIX_LEN) break;
      if (deframer_take_prefix(d, err) < 0) return deframer_fail(d);
      if (d->msg_len == 0) {
        if (deframer_deliver(d, p, 0, fn, ud, err) < 0) return deframer_fail(d);
        continue;
      }
    }
    if (d->partial.len == 0 && len >= d->msg_len) { /* whole message in this chunk: no copy */
      size_t n = d->msg_len;
      d->offset += n;
      const uint8_t *msg = p;
      p += n;
      len -= n;
      if (deframer_deliver(d, msg, n, fn, ud, err) < 0) return deframer_fail(d);
      continue;
    }
    if (d->partial.len == 0 && wire_buf_reserve(&d->partial, d->msg_len, err) < 0) return deframer_fail(d);
    size_t take = d->msg_len - d->partial.len;
    if (take > len) take = len;
    if (wire_buf_append(&d->partial, p, take, err) < 0) return deframer_fail(d);
    d->offset += take;
    p += take;
    len -= take;
    if (d->partial.len == d->msg_len &&
        deframer_deliver(d, d->partial.data, d->partial.len, fn, ud, err) < 0)
      return deframer_fail(d);
  }
  return 0;
}

int wire_grpc_deframer_finish(wire_grpc_deframer *d, wire_err *err) {
  if (d->failed) return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: stream ended after a deframing error");
  if (d->in_body)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: stream ended inside a message (%zu of %u bytes)",
                        d->partial.len, d->msg_len);
  if (d->prefix_have)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: stream ended inside a message prefix (%zu of 5 bytes)",
                        d->prefix_have);
  return 0;
}

int wire_grpc_decode_unary(const uint8_t *body, size_t body_len, wire_grpc_encoding enc, size_t max_message,
                           bool allow_empty, wire_buf *out, const uint8_t **msg, size_t *len, wire_err *err) {
  static const uint8_t empty[1];
  if (!max_message) max_message = DEFAULT_MAX_MESSAGE;
  *msg = empty;
  *len = 0;
  if (body_len == 0) {
    if (allow_empty) return 0;
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: no message in a unary call");
  }
  if (body_len < WIRE_GRPC_PREFIX_LEN)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: stream ended inside a message prefix (%zu of 5 bytes)",
                        body_len);
  if (body[0] > 1)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: message flag 0x%02x at offset 0 is neither 0 nor 1", body[0]);
  if (body[0] == 1 && enc == WIRE_GRPC_IDENTITY)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: compressed message at offset 0 but no grpc-encoding was negotiated");
  uint32_t mlen = prefix_len(body);
  if (mlen > max_message)
    return wire_err_set(err, WIRE_E_LIMIT, "grpc: message of %u bytes at offset 0 exceeds the limit of %zu bytes",
                        mlen, max_message);
  size_t have = body_len - WIRE_GRPC_PREFIX_LEN;
  if (have < mlen)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: stream ended inside a message (%zu of %u bytes)", have, mlen);
  if (have > mlen)
    return wire_err_set(err, WIRE_E_PROTOCOL, "grpc: more than one message in a unary call (extra bytes at offset %zu)",
                        (size_t)mlen + WIRE_GRPC_PREFIX_LEN);
  const uint8_t *p = body + WIRE_GRPC_PREFIX_LEN;
  if (body[0] == 1 && mlen > 0) {
    wire_buf_reset(out);
    if (wire_gzip_decompress(p, mlen, max_message, out, err) < 0) {
      if (err && err->code != WIRE_E_LIMIT && err->code != WIRE_E_NOMEM) err->code = WIRE_E_INVALID;
      wire_err_prefix(err, "grpc: message 1: ");
      return -1;
    }
    *msg = out->data ? out->data : empty;
    *len = out->len;
    return 0;
  }
  *msg = mlen ? p : empty;
  *len = mlen;
  return 0;
}

/* --- grpc-timeout --- */

static const struct {
  char unit;
  int64_t ns;
} timeout_units[] = {
    {'n', 1}, {'u', 1000}, {'m', 1000000}, {'S', 1000000000LL}, {'M', 60000000000LL}, {'H', 3600000000000LL},
};

int wire_grpc_timeout_parse(const char *value, int64_t *ns, wire_err *err) {
  if (!value) return wire_err_set(err, WIRE_E_INVALID, "grpc-timeout: missing");
  int64_t v = 0;
  size_t digits = 0;
  const char *p = value;
  while (*p >= '0' && *p <= '9') {
    if (++digits > 8) return wire_err_set(err, WIRE_E_INVALID, "grpc-timeout: more than 8 digits");
    v = v * 10 + (*p - '0');
    p++;
  }
  if (digits == 0) return wire_err_set(err, WIRE_E_INVALID, "grpc-timeout: no digits");
  if (!p[0] || p[1]) return wire_err_set(err, WIRE_E_INVALID, "grpc-timeout: expected one unit letter after the digits");
  for (size_t i = 0; i < sizeof timeout_units / sizeof timeout_units[0]; i++) {
    if (timeout_units[i].unit != p[0]) continue;
    *ns = v > INT64_MAX / timeout_units[i].ns ? INT64_MAX : v * timeout_units[i].ns;
    return 0;
  }
  return wire_err_set(err, WIRE_E_INVALID, "grpc-timeout: unknown unit (expected H, M, S, m, u or n)");
}

void wire_grpc_timeout_format(int64_t ns, char *out, size_t outlen) {
  if (ns <= 0) ns = 1;
  for (size_t i = 0; i < sizeof timeout_units / sizeof timeout_units[0]; i++) {
    int64_t unit = timeout_units[i].ns;
    int64_t v = ns / unit + (ns % unit != 0);
    if (v <= 99999999) {
      snprintf(out, outlen, "%lld%c", (long long)v, timeout_units[i].unit);
      return;
    }
  }
  snprintf(out, outlen, "99999999H"); /* unreachable for int64 nanoseconds */
}

/* --- grpc-message --- */

static const char hexdig[] = "0123456789ABCDEF";

int wire_grpc_message_encode(const char *msg, wire_buf *out, wire_err *err) {
  size_t n = strlen(msg);
  if (wire_buf_reserve(out, n * 3 + 1, err) < 0) return -1;
  char *w = (char *)out->data + out->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (c < 0x20 || c > 0x7e || c == '%') {
      *w++ = '%';
      *w++ = hexdig[c >> 4];
      *w++ = hexdig[c & 15];
    } else {
      *w++ = (char)c;
    }
  }
  out->len = (size_t)((uint8_t *)w - out->data);
  *w = '\0';
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *wire_grpc_message_decode(const char *value) {
  size_t n = strlen(value);
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (value[i] == '%' && i + 2 < n && (hi = hexval(value[i + 1])) >= 0 &&
        (lo = hexval(value[i + 2])) >= 0) {
      out[j++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[j++] = value[i];
    }
  }
  out[j] = '\0';
  return out;
}

/* --- base64 --- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int wire_base64_decode(const char *text, size_t len, wire_buf *out, wire_err *err) {
  size_t pad = 0;
  if (len % 4 == 0) {
    while (pad < 2 && len > pad && text[len - 1 - pad] == '=') pad++;
  }
  size_t n = len - pad;
  if (n % 4 == 1) return wire_err_set(err, WIRE_E_INVALID, "base64: length %zu is impossible", len);
  if (wire_buf_reserve(out, n / 4 * 3 + 2, err) < 0) return -1;
  uint8_t *w = out->data + out->len;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val((unsigned char)text[i]);
    if (v < 0) return wire_err_set(err, WIRE_E_INVALID, "base64: invalid character at offset %zu", i);
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *w++ = (uint8_t)(acc >> bits);
    }
  }
  out->len = (size_t)(w - out->data);
  return 0;
}

int wire_base64_encode(const void *data, size_t len, wire_buf *out, wire_err *err) {
  const uint8_t *p = data;
  if (wire_buf_reserve(out, (len + 2) / 3 * 4 + 1, err) < 0) return -1;
  char *w = (char *)out->data + out->len;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *w++ = b64[v >> 18];
    *w++ = b64[(v >> 12) & 63];
    *w++ = b64[(v >> 6) & 63];
    *w++ = b64[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    *w++ = b64[v >> 18];
    *w++ = b64[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    *w++ = b64[v >> 18];
    *w++ = b64[(v >> 12) & 63];
    *w++ = b64[(v >> 6) & 63];
  }
  out->len = (size_t)((uint8_t *)w - out->data);
  *w = '\0';
  return 0;
}

/* --- grpc-status-details-bin --- */

static const char retry_info_type[] = "type.googleapis.com/google.rpc.RetryInfo";

static bool is_retry_info(const char *type_url) {
  if (!type_url) return false;
  const char *slash = strrchr(type_url, '/');
  const char *name = slash ? slash + 1 : type_url;
  return strcmp(name, "google.rpc.RetryInfo") == 0;
}

int wire_grpc_status_details_parse(const char *value, int64_t *retry_delay_ns, int *code, wire_err *err) {
  wire_buf raw;
  wire_buf_init(&raw, 0);
  if (wire_base64_decode(value, strlen(value), &raw, err) < 0) {
    wire_buf_free(&raw);
    wire_err_prefix(err, "grpc-status-details-bin: ");
    return -1;
  }
  static const uint8_t empty[1];
  Google__Rpc__Status *st = google__rpc__status__unpack(NULL, raw.len, raw.data ? raw.data : empty);
  wire_buf_free(&raw);
  if (!st) return wire_err_set(err, WIRE_E_INVALID, "grpc-status-details-bin: not a valid google.rpc.Status");
  if (code) *code = st->code;
  int found = 0;
  for (size_t i = 0; i < st->n_details && !found; i++) {
    Google__Rpc__Any *any = st->details[i];
    if (!any || !is_retry_info(any->type_url)) continue;
    Google__Rpc__RetryInfo *ri =
        google__rpc__retry_info__unpack(NULL, any->value.len, any->value.data ? any->value.data : empty);
    if (!ri) {
      google__rpc__status__free_unpacked(st, NULL);
      return wire_err_set(err, WIRE_E_INVALID, "grpc-status-details-bin: RetryInfo detail is not valid protobuf");
    }
    int64_t ns = 0;
    if (ri->retry_delay) {
      int64_t s = ri->retry_delay->seconds, nanos = ri->retry_delay->nanos;
      if (s < 0) s = 0, nanos = 0; /* a negative delay means "now" */
      if (nanos < 0) nanos = 0;
      if (nanos > 999999999) nanos = 999999999;
      ns = s > (INT64_MAX - 999999999) / 1000000000 ? INT64_MAX : s * 1000000000 + nanos;
    }
    *retry_delay_ns = ns;
    found = 1;
    google__rpc__retry_info__free_unpacked(ri, NULL);
  }
  google__rpc__status__free_unpacked(st, NULL);
  return found;
}

int wire_grpc_status_details_build(int code, const char *message, int64_t retry_delay_ns, wire_buf *out,
                                   wire_err *err) {
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  Google__Rpc__Duration delay = GOOGLE__RPC__DURATION__INIT;
  Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
  Google__Rpc__Any any = GOOGLE__RPC__ANY__INIT;
  Google__Rpc__Any *details[1] = {&any};
  uint8_t ri_buf[64];
  st.code = code;
  st.message = (char *)(message ? message : "");
  if (retry_delay_ns >= 0) {
    delay.seconds = retry_delay_ns / 1000000000;
    delay.nanos = (int32_t)(retry_delay_ns % 1000000000);
    ri.retry_delay = &delay;
    size_t n = google__rpc__retry_info__pack(&ri, ri_buf); /* at most 2 + 11 + 11 + 6 bytes */
    any.type_url = (char *)retry_info_type;
    any.value.data = ri_buf;
    any.value.len = n;
    st.n_details = 1;
    st.details = details;
  }
  size_t size = google__rpc__status__get_packed_size(&st);
  uint8_t *packed = malloc(size ? size : 1);
  if (!packed) return wire_err_set(err, WIRE_E_NOMEM, "grpc-status-details-bin: out of memory");
  google__rpc__status__pack(&st, packed);
  int rc = wire_base64_encode(packed, size, out, err);
  free(packed);
  return rc;
}
