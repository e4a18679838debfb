/* exporter_otlp_retry.c — the OTLP exporters' retry policy pieces: which HTTP statuses are retryable (the gRPC
 * rule lives in wire/grpc.h, wire_grpc_otlp_retryable), Retry-After parsing (RFC 9110 §10.2.3: delay-seconds
 * or an HTTP-date in any of its three formats) and exponential backoff with jitter. */
#define _GNU_SOURCE /* strptime, timegm */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/src/exporter_otlp.h"

#define RETRY_AFTER_CAP_S 3600

bool otelc_otlp_http_retryable(int status) { return status == 429 || status == 502 || status == 503 || status == 504; }

int64_t otelc_otlp_retry_after_parse(const char *value, int64_t now_wall_s) {
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

uint64_t otelc_otlp_rng_next(uint64_t *state) {
  uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

int64_t otelc_otlp_backoff_ns(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng) {
  if (attempt < 1) attempt = 1;
  int64_t d = initial_ms;
  for (int i = 1; i < attempt && d < max_ms; i++) d *= 2;
  if (d > max_ms) d = max_ms;
  int64_t ns = d * 1000000LL;
  /* equal jitter: half fixed, half random */
  uint64_t r = otelc_otlp_rng_next(rng) >> 11;               /* 53 random bits */
  double f = (double)r / (double)(1ull << 53);                /* [0, 1) */
  return ns / 2 + (int64_t)((double)(ns / 2) * f);
}
