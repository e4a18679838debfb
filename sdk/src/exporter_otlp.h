/* exporter_otlp.h — internals of the OTLP exporters shared by exporter_otlp_config.c (resolving options and
 * OTEL_EXPORTER_OTLP_* variables into one configuration), exporter_otlp_retry.c (what is retryable, how long
 * to wait) and exporter_otlp.c (the exporter itself), and exposed to the unit tests. Not public API. */
#ifndef OTELC_SDK_EXPORTER_OTLP_H
#define OTELC_SDK_EXPORTER_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otelc/otlp_exporter.h"
#include "wire/endpoint.h"
#include "wire/http.h"

#define OTELC_OTLP_DEFAULT_TIMEOUT_MS 10000
#define OTELC_OTLP_DEFAULT_GRPC_ENDPOINT "http://localhost:4317"
#define OTELC_OTLP_DEFAULT_HTTP_ENDPOINT "http://localhost:4318"
#define OTELC_OTLP_GRPC_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define OTELC_OTLP_HTTP_SIGNAL_PATH "v1/metrics"
#define OTELC_OTLP_MAX_HEADERS 64

/* Everything the exporter needs, resolved from options, environment and defaults. Owns its strings. */
typedef struct otelc_otlp_config {
  otelc_otlp_protocol protocol;     /* GRPC or HTTP_PROTOBUF (never DEFAULT) */
  char *endpoint;                   /* the text handed to the wire client */
  uint16_t default_port;            /* for an endpoint without a port */
  wire_endpoint ep;                 /* parsed */
  char *http_path;                  /* HTTP: the request target ("/v1/metrics") */
  bool tls;                         /* TLS or plaintext, decided here (the wire client is forced either way) */
  wire_headers headers;             /* decoded extra headers (lower-case names) */
  int64_t timeout_ms;
  bool gzip;
  char *certificate, *client_certificate, *client_key;
  int64_t backoff_initial_ms, backoff_max_ms;
  const char *endpoint_source;      /* which variable (or "options", "default") the endpoint came from */
} otelc_otlp_config;

/* Resolves opts (may be NULL) + environment into cfg. Returns 0, or -1 when the configuration is unusable
 * (the reason is in why, safe to log: it names variables, never values that could be secrets). */
int otelc_otlp_config_resolve(const otelc_otlp_options *opts, otelc_otlp_config *cfg, char *why, size_t why_len);
void otelc_otlp_config_free(otelc_otlp_config *cfg);

/* Parses an OTEL_EXPORTER_OTLP_HEADERS value ("k1=v1, k2=v2", keys and values percent-decoded, spaces around
 * them trimmed) into out (appending). Entries that are malformed (no '=', empty key, a key that is not an
 * HTTP token, a bad %-escape, a control character in the decoded value) are skipped and counted in *bad.
 * Returns the number of headers added. */
int otelc_otlp_headers_parse(const char *text, wire_headers *out, int *bad);

/* The HTTP request target for an OTLP/HTTP endpoint: `signal_specific` endpoints are used as they are (an
 * empty path is "/"); the generic one gets "v1/metrics" appended after exactly one '/'. Writes a
 * NUL-terminated path into out; returns 0 or -1 (too long). */
int otelc_otlp_http_path(const wire_endpoint *ep, bool signal_specific, char *out, size_t out_len);

/* ---- retry policy (exporter_otlp_retry.c) ---- */

/* OTLP/HTTP: 429, 502, 503, 504 are retryable; every other non-2xx status is permanent. */
bool otelc_otlp_http_retryable(int status);
/* Parses a Retry-After value: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 or asctime) relative to
 * now_wall_s (seconds since the epoch). Returns the delay in nanoseconds (0 for a date in the past), or -1
 * when the value is absent or malformed. Delays are capped at one hour. */
int64_t otelc_otlp_retry_after_parse(const char *value, int64_t now_wall_s);

/* Exponential backoff with jitter: the delay before retry number `attempt` (1 = the first retry) is
 * initial * 2^(attempt-1) capped at max, then scaled by a random factor in [0.5, 1.0] ("equal jitter"), so
 * that many clients that failed together do not come back together. *rng is a xorshift state (never 0). */
int64_t otelc_otlp_backoff_ns(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng);
uint64_t otelc_otlp_rng_next(uint64_t *state);

#endif
