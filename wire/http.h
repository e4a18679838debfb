/* http.h — HTTP messages as the rest of otelc sees them, whatever carried them (HTTP/1.1 or HTTP/2).
 *
 * Header names are stored lower-case (HTTP/2 requires it; HTTP/1 is case-insensitive). Values are stored as
 * received. A header list counts its bytes so that limits can be enforced while it is built. */
#ifndef OTELC_WIRE_HTTP_H
#define OTELC_WIRE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

typedef struct wire_header {
  char *name;  /* lower-case, NUL-terminated, owned */
  char *value; /* NUL-terminated, owned */
  size_t name_len, value_len;
} wire_header;

typedef struct wire_headers {
  wire_header *v;
  size_t n, cap;
  size_t bytes;     /* sum of name_len + value_len + 32 per header (the HTTP/2 accounting rule) */
  size_t max_bytes; /* 0: unlimited; adding past it fails with WIRE_E_LIMIT */
  size_t max_count; /* 0: unlimited */
} wire_headers;

void wire_headers_init(wire_headers *h, size_t max_bytes, size_t max_count);
void wire_headers_free(wire_headers *h);
void wire_headers_reset(wire_headers *h);
/* Appends a header; `name` is lower-cased while copied. */
int wire_headers_add(wire_headers *h, const char *name, size_t name_len, const char *value, size_t value_len,
                     wire_err *err);
int wire_headers_add_cstr(wire_headers *h, const char *name, const char *value, wire_err *err);
/* Replaces every header called `name` with one. */
int wire_headers_set(wire_headers *h, const char *name, const char *value, wire_err *err);
/* First value of `name` (case-insensitive), or NULL. */
const char *wire_headers_get(const wire_headers *h, const char *name);
int wire_headers_copy(wire_headers *dst, const wire_headers *src, wire_err *err);

typedef enum wire_http_version { WIRE_HTTP_10 = 10, WIRE_HTTP_11 = 11, WIRE_HTTP_2 = 20 } wire_http_version;

typedef struct wire_http_request {
  char method[16];
  char *path;      /* request target as sent ("/v1/metrics"), owned */
  char *authority; /* Host or :authority, owned, may be NULL */
  char *scheme;    /* "http" / "https" (HTTP/2 :scheme), owned, may be NULL */
  wire_headers headers;
  wire_buf body;   /* as received (still compressed if Content-Encoding says so, unless the server decoded it) */
  wire_http_version version;
} wire_http_request;

typedef struct wire_http_response {
  int status;
  wire_headers headers;
  wire_buf body;
  wire_headers trailers; /* HTTP/2 trailers (gRPC status lives here) */
  wire_http_version version;
} wire_http_response;

void wire_http_request_init(wire_http_request *r, size_t max_header_bytes, size_t max_body);
void wire_http_request_free(wire_http_request *r);
int wire_http_request_set_target(wire_http_request *r, const char *method, const char *path, const char *authority,
                                 wire_err *err);
void wire_http_response_init(wire_http_response *r, size_t max_header_bytes, size_t max_body);
void wire_http_response_free(wire_http_response *r);
void wire_http_response_reset(wire_http_response *r);

/* Case-insensitive token search in a comma-separated header value ("keep-alive, Upgrade" has "upgrade"). */
bool wire_http_token_in_list(const char *value, const char *token);
/* Retry-After (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or asctime) taken
 * relative to now_wall_s (seconds since the epoch). Returns the delay in nanoseconds, capped at one hour, 0 for
 * a date in the past, -1 when value is NULL, empty or unreadable. */
int64_t wire_http_retry_after_ns(const char *value, int64_t now_wall_s);
/* Reason phrase for a status code ("Not Found"). */
const char *wire_http_reason(int status);

#endif
