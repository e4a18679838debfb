/* otlp_exporter.h — libotelc's OTLP exporters: OTLP/gRPC (MetricsService/Export) and OTLP/HTTP with protobuf
 * bodies (POST /v1/metrics), with retries, gzip, TLS and mutual TLS.
 *
 * Most applications never call this: a provider created without an exporter picks one from OTEL_METRICS_EXPORTER
 * (default otlp) and configures it from the OTEL_EXPORTER_OTLP_* / OTEL_EXPORTER_OTLP_METRICS_* variables
 * (docs/sdk-exporters.md lists them all). Call it to set options in code:
 *
 *   otelc_otlp_options o = {0};
 *   o.protocol = OTELC_OTLP_GRPC;
 *   o.endpoint = "https://collector.example:4317";
 *   otelc_provider_options po = {0};
 *   po.exporter = otelc_otlp_exporter_create(&o);        // every zero field still comes from the environment
 *   otelc_meter_provider_create(&po, &mp);
 *
 * Retry policy: a failed attempt is retried only when it is retryable (HTTP 429, 502, 503, 504; gRPC
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED when the
 * server sent RetryInfo; connection failures), after an exponential backoff with jitter or the delay the server
 * asked for (Retry-After, RetryInfo), and only while the export's deadline allows another attempt. */
#ifndef OTELC_OTLP_EXPORTER_H
#define OTELC_OTLP_EXPORTER_H

#include "otelc/exporter.h"
#include "otelc/otelc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otelc_otlp_protocol {
  OTELC_OTLP_PROTOCOL_DEFAULT = 0, /* OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL, else http/protobuf */
  OTELC_OTLP_GRPC = 1,             /* "grpc" */
  OTELC_OTLP_HTTP_PROTOBUF = 2,    /* "http/protobuf" */
} otelc_otlp_protocol;

typedef enum otelc_otlp_compression {
  OTELC_OTLP_COMPRESSION_DEFAULT = 0, /* OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION, else none */
  OTELC_OTLP_COMPRESSION_NONE = 1,
  OTELC_OTLP_COMPRESSION_GZIP = 2,
} otelc_otlp_compression;

/* Options of otelc_otlp_exporter_create. Zero-initialise; every zero/NULL field takes its value from the
 * environment (the signal-specific OTEL_EXPORTER_OTLP_METRICS_* variable first, then OTEL_EXPORTER_OTLP_*),
 * then from the default. Strings are copied. */
typedef struct otelc_otlp_options {
  otelc_otlp_protocol protocol;
  /* The endpoint, used as written: for HTTP the full URL of the metrics path ("http://host:4318/v1/metrics");
   * for gRPC "http://host:4317", "https://host:4317" or "host:4317" (TLS unless `insecure`). */
  const char *endpoint;
  /* Extra request headers / gRPC metadata in the OTEL_EXPORTER_OTLP_HEADERS syntax: "k1=v1,k2=v2", keys and
   * values percent-decoded. Never logged. */
  const char *headers;
  int64_t timeout_ms;              /* per export, all attempts included; default 10000 */
  otelc_otlp_compression compression;
  const char *certificate;         /* PEM file of the CAs that verify the server (default: system CAs) */
  const char *client_certificate;  /* PEM client certificate for mutual TLS (with client_key) */
  const char *client_key;          /* PEM private key of client_certificate */
  int insecure;                    /* gRPC endpoint without scheme: 1 plaintext, -1 TLS, 0 from the environment */
  /* Retry backoff (not from the environment): first delay and cap, in milliseconds; 0: 1000 and 5000. */
  int64_t retry_initial_backoff_ms;
  int64_t retry_max_backoff_ms;
  bool ignore_env;                 /* true: read no OTEL_EXPORTER_OTLP_* variable, only these fields */
} otelc_otlp_options;

/* Creates an OTLP exporter (to hand to otelc_provider_options.exporter). opts may be NULL (everything from the
 * environment). Returns NULL when the configuration is unusable (an unparsable endpoint, a certificate file that
 * cannot be loaded); the reason is logged. Nothing connects before the first export. */
OTELC_API otelc_exporter *otelc_otlp_exporter_create(const otelc_otlp_options *opts);

#ifdef __cplusplus
}
#endif

#endif
