/* http.c — header lists and HTTP message containers shared by HTTP/1.1 and HTTP/2 (see http.h). */
#define _GNU_SOURCE /* strptime, timegm */
#include "wire/http.h"

#include <ctype.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void wire_headers_init(wire_headers *h, size_t max_bytes, size_t max_count) {
  memset(h, 0, sizeof *h);
  h->max_bytes = max_bytes;
  h->max_count = max_count;
}

void wire_headers_reset(wire_headers *h) {
  for (size_t i = 0; i < h->n; i++) {
    free(h->v[i].name);
    free(h->v[i].value);
  }
  h->n = 0;
  h->bytes = 0;
}

void wire_headers_free(wire_headers *h) {
  wire_headers_reset(h);
  free(h->v);
  h->v = NULL;
  h->cap = 0;
}

int wire_headers_add(wire_headers *h, const char *name, size_t name_len, const char *value, size_t value_len,
                     wire_err *err) {
  size_t cost = name_len + value_len + 32;
  if (h->max_bytes && h->bytes + cost > h->max_bytes)
    return wire_err_set(err, WIRE_E_LIMIT, "headers exceed the limit of %zu bytes", h->max_bytes);
  if (h->max_count && h->n >= h->max_count)
    return wire_err_set(err, WIRE_E_LIMIT, "more than %zu headers", h->max_count);
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 8;
    wire_header *v = realloc(h->v, cap * sizeof *v);
    if (!v) return wire_err_set(err, WIRE_E_NOMEM, "out of memory adding a header");
    h->v = v;
    h->cap = cap;
  }
  char *n = malloc(name_len + 1);
  char *val = malloc(value_len + 1);
  if (!n || !val) {
    free(n);
    free(val);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory adding a header");
  }
  for (size_t i = 0; i < name_len; i++) n[i] = (char)tolower((unsigned char)name[i]);
  n[name_len] = '\0';
  memcpy(val, value, value_len);
  val[value_len] = '\0';
  h->v[h->n++] = (wire_header){n, val, name_len, value_len};
  h->bytes += cost;
  return 0;
}

int wire_headers_add_cstr(wire_headers *h, const char *name, const char *value, wire_err *err) {
  return wire_headers_add(h, name, strlen(name), value, strlen(value), err);
}

int wire_headers_set(wire_headers *h, const char *name, const char *value, wire_err *err) {
  size_t j = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (strcasecmp(h->v[i].name, name) == 0) {
      h->bytes -= h->v[i].name_len + h->v[i].value_len + 32;
      free(h->v[i].name);
      free(h->v[i].value);
    } else {
      h->v[j++] = h->v[i];
    }
  }
  h->n = j;
  return wire_headers_add_cstr(h, name, value, err);
}

const char *wire_headers_get(const wire_headers *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->v[i].name, name) == 0) return h->v[i].value;
  return NULL;
}

int wire_headers_copy(wire_headers *dst, const wire_headers *src, wire_err *err) {
  for (size_t i = 0; i < src->n; i++)
    if (wire_headers_add(dst, src->v[i].name, src->v[i].name_len, src->v[i].value, src->v[i].value_len, err) < 0)
      return -1;
  return 0;
}

void wire_http_request_init(wire_http_request *r, size_t max_header_bytes, size_t max_body) {
  memset(r, 0, sizeof *r);
  wire_headers_init(&r->headers, max_header_bytes, 0);
  wire_buf_init(&r->body, max_body);
  r->version = WIRE_HTTP_11;
}

void wire_http_request_free(wire_http_request *r) {
  free(r->path);
  free(r->authority);
  free(r->scheme);
  r->path = r->authority = r->scheme = NULL;
  wire_headers_free(&r->headers);
  wire_buf_free(&r->body);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int wire_http_request_set_target(wire_http_request *r, const char *method, const char *path, const char *authority,
                                 wire_err *err) {
  if (strlen(method) >= sizeof r->method) return wire_err_set(err, WIRE_E_INVALID, "method too long");
  strcpy(r->method, method);
  free(r->path);
  free(r->authority);
  r->path = dup_or_null(path);
  r->authority = dup_or_null(authority);
  if ((path && !r->path) || (authority && !r->authority)) return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  return 0;
}

void wire_http_response_init(wire_http_response *r, size_t max_header_bytes, size_t max_body) {
  memset(r, 0, sizeof *r);
  wire_headers_init(&r->headers, max_header_bytes, 0);
  wire_headers_init(&r->trailers, max_header_bytes, 0);
  wire_buf_init(&r->body, max_body);
}

void wire_http_response_free(wire_http_response *r) {
  wire_headers_free(&r->headers);
  wire_headers_free(&r->trailers);
  wire_buf_free(&r->body);
}

void wire_http_response_reset(wire_http_response *r) {
  r->status = 0;
  wire_headers_reset(&r->headers);
  wire_headers_reset(&r->trailers);
  wire_buf_reset(&r->body);
}

bool wire_http_token_in_list(const char *value, const char *token) {
  if (!value) return false;
  size_t tl = strlen(token);
  const char *p = value;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *s = p;
    while (*p && *p != ',') p++;
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0) return true;
  }
  return false;
}

#define RETRY_AFTER_CAP_S 3600 /* a server asking for more than an hour is capped: callers have deadlines */

int64_t wire_http_retry_after_ns(const char *value, int64_t now_wall_s) {
  if (!value) return -1;
  while (*value == ' ' || *value == '\t') value++;
  if (!*value) return -1;
  if (isdigit((unsigned char)*value)) {
    int64_t s = 0;
    const char *p = value;
    for (; isdigit((unsigned char)*p); p++) {
      if (s < RETRY_AFTER_CAP_S) s = s * 10 + (*p - '0');
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p) return -1;
    if (s > RETRY_AFTER_CAP_S) s = RETRY_AFTER_CAP_S;
    return s * 1000000000LL;
  }
  static const char *const formats[] = {
      "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
      "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
      "%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
  };
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, formats[i], &tm);
    if (!end) continue;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) continue;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    int64_t d = (int64_t)t - now_wall_s;
    if (d < 0) d = 0;
    if (d > RETRY_AFTER_CAP_S) d = RETRY_AFTER_CAP_S;
    return d * 1000000000LL;
  }
  return -1;
}

const char *wire_http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  }
  return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirect"
       : status < 500 ? "Client Error" : "Server Error";
}
