/* otlp.h — the `otlp` receiver: OTLP metrics over gRPC (MetricsService/Export) and HTTP (POST /v1/metrics,
 * protobuf or JSON), as the Collector's otlpreceiver.
 *
 * Answers, per the OTLP specification:
 *   success             gRPC OK / HTTP 200 with an empty ExportMetricsServiceResponse (in the request's
 *                       encoding), or a partial success naming the data points that failed the semantic checks
 *                       (wire_otlp_check_request; the rest is forwarded);
 *   malformed request   INVALID_ARGUMENT / 400 with a google.rpc.Status saying where;
 *   too large           RESOURCE_EXHAUSTED / 413 (body, decompressed body or decoded size);
 *   wrong media type    415 (HTTP), unknown path 404 / UNIMPLEMENTED, wrong method 405;
 *   not authenticated   UNAUTHENTICATED / 401 (auth.authenticator names a bearertokenauth extension);
 *   backpressure        the pipeline refused with a retryable error (memory_limiter, a full exporter queue):
 *                       UNAVAILABLE with RetryInfo / 503 with Retry-After — what the Collector answers for
 *                       retryable refusals, and what every OTLP client retries.
 * Self-telemetry: otelcol_receiver_accepted_metric_points / _refused_metric_points {receiver, transport}. */
#ifndef OTELC_RECEIVER_RECEIVERS_OTLP_H
#define OTELC_RECEIVER_RECEIVERS_OTLP_H

#include "receiver/pipeline.h"

extern const component_hooks otlp_receiver_hooks;

/* Bound ports of a started receiver (0 for a protocol that is off), for tests and logs. */
void otlp_receiver_ports(const void *state, uint16_t *grpc_port, uint16_t *http_port);

/* The gRPC method path of metrics export. */
#define OTLP_METRICS_GRPC_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

#endif
