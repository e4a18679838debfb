/* exporter_otlp_retry.c — the OTLP exporters' retry policy pieces: which HTTP statuses are retryable (the gRPC
 * rule lives in wire/grpc.h, wire_grpc_otlp_retryable), Retry-After (parsed by the wire layer,
 * wire_http_retry_after_ns) and exponential backoff with jitter. */
#define _GNU_SOURCE /* strptime, timegm */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/src/exporter_otlp.h"
#include "wire/http.h"

bool otelc_otlp_http_retryable(int status) { return status == 429 || status == 502 || status == 503 || status == 504; }

int64_t otelc_otlp_retry_after_parse(const char *value, int64_t now_wall_s) {
  return wire_http_retry_after_ns(value, now_wall_s); /* the parsing is HTTP's: it lives in the wire layer */
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
