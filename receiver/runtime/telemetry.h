/* telemetry.h — the receiver's own metrics (service.telemetry.metrics), with the OpenTelemetry Collector's
 * names so that existing dashboards and alerts work:
 *
 *   otelcol_receiver_accepted_metric_points{receiver="otlp",transport="grpc"}   counter
 *   otelcol_receiver_refused_metric_points{receiver,transport}                  counter
 *   otelcol_exporter_sent_metric_points{exporter="otlp/backend"}                counter
 *   otelcol_exporter_send_failed_metric_points{exporter}                        counter
 *   otelcol_exporter_enqueue_failed_metric_points{exporter}                     counter
 *   otelcol_exporter_queue_size{exporter} / otelcol_exporter_queue_capacity     gauges
 *   otelcol_processor_*{processor}                                              counters (any name)
 *   otelcol_processor_incoming_items / _outgoing_items{processor,otel_signal}    counters (the runtime's)
 *   otelcol_processor_batch_batch_send_size{processor}                           histogram
 *   otelcol_process_memory_rss, otelcol_process_cpu_seconds, otelcol_process_uptime  (sampled at scrape)
 *
 * The component label's name comes from the metric's prefix (otelcol_receiver_ → receiver=, ...). Every series
 * also carries service_name/service_version/service_instance_id like the Collector's. Counters survive config
 * reloads (they are the service's, not a pipeline's). Served as Prometheus text at http://<listen>/metrics.
 * Thread-safe. */
#ifndef OTELC_RECEIVER_RUNTIME_TELEMETRY_H
#define OTELC_RECEIVER_RUNTIME_TELEMETRY_H

#include <stdint.h>
#include <uv.h>

#include "wire/buf.h"
#include "wire/err.h"

typedef struct telemetry telemetry;

/* service_version: printed in the service_version label (NULL: "unknown"). */
telemetry *telemetry_new(const char *service_version);
/* Stops nothing: call telemetry_stop first when serving. */
void telemetry_free(telemetry *t);

/* Adds n to a counter. transport may be NULL (no transport label), or "name=value" for another label in its
 * place (otel_signal=metrics on processors' counters). */
void telemetry_add(telemetry *t, const char *metric, const char *component_id, const char *transport, uint64_t n);
/* Sets a gauge. */
void telemetry_set(telemetry *t, const char *metric, const char *component_id, int64_t value);
/* Records one observation in a histogram, served as <metric>_bucket{le=...} (cumulative), _sum and _count:
 * `bounds` are the buckets' upper bounds, ascending and static (the first observation of a series fixes them;
 * +Inf is implied). */
void telemetry_observe(telemetry *t, const char *metric, const char *component_id, const double *bounds,
                       size_t nbounds, double value);
/* Current value of a counter or gauge, or a histogram's count (0 when absent; tests and logs). */
int64_t telemetry_get(telemetry *t, const char *metric, const char *component_id, const char *transport);

/* Appends the Prometheus text exposition (format 0.0.4) of everything, process metrics included. */
int telemetry_render(telemetry *t, wire_buf *out, wire_err *err);

/* Serves GET /metrics on `listen` (host:port) on the loop; a running server on another address is stopped
 * first, the same address is kept. NULL listen stops serving. Errors name the endpoint. */
int telemetry_serve(telemetry *t, uv_loop_t *loop, const char *listen, wire_err *err);
/* The bound port (0 when not serving). */
uint16_t telemetry_port(const telemetry *t);
/* Stops serving; `done` (may be NULL) runs on the loop when the listener is closed. */
void telemetry_stop(telemetry *t, void (*done)(void *arg), void *arg);

#endif
