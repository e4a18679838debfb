/* sample_otlp.h — realistic OTLP metrics requests for tests and benchmarks.
 *
 * Requests are built on the heap the way protobuf-c's unpack would lay them out (every message, array and
 * non-empty string malloc'd), so sample_otlp_free() — protobuf_c_message_free_unpacked() underneath — frees
 * them, and wire_otlp_check_request(req, NULL, ...) may drop parts of them. Allocation failure aborts. */
#ifndef OTELC_TESTS_SAMPLE_OTLP_H
#define OTELC_TESTS_SAMPLE_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "wire/otlp.h"

/* Timestamps used by every sample point. */
#define SAMPLE_START_NS 1700000000000000000ull
#define SAMPLE_TIME_NS 1700000060000000000ull

/* Number of data points in sample_otlp_full(). */
#define SAMPLE_FULL_POINTS 10

/* One request that uses every part of the metrics data model, with these values (tests assert them):
 *  resource attributes: service.name="checkout" (string), host.cores=8 (int), sampled=true (bool),
 *    ratio=0.25 (double), blob=de ad be ef (bytes), tags=["a", -1, ["x"]] (array with a nested array),
 *    labels={k1: "v1", k2: 2} (kvlist); dropped_attributes_count 1; schema_url "https://opentelemetry.io/schemas/1.21.0"
 *  scope: name "otelc.test", version "1.2.3", attributes scope.attr="s"
 *  metrics[0] "requests" unit "1": Sum, monotonic, CUMULATIVE; points as_int 42 {method=GET} with an exemplar
 *     (as_int 5, trace_id 01..10, span_id a1..a8, filtered user="u1"), and as_int -7 {method=POST};
 *     metadata {origin="sample"}
 *  metrics[1] "queue.depth" unit "{item}": Sum, not monotonic, DELTA; points as_double 3.5 and one flagged
 *     NO_RECORDED_VALUE without value
 *  metrics[2] "temperature" unit "Cel": Gauge; points as_double -12.25 and as_int 100
 *  metrics[3] "latency" unit "s": Histogram, CUMULATIVE; point 0: count 15, sum 12.5, min 0.001, max 3,
 *     explicit_bounds [0.005, 0.01, 0.1, 1], bucket_counts [1, 2, 3, 4, 5]; point 1: count 0, no sum/min/max,
 *     no buckets
 *  metrics[4] "latency.exp" unit "s": ExponentialHistogram, DELTA; count 9, sum -1.5, min -4, max 10, scale 3,
 *     zero_count 2, zero_threshold 1e-9, positive offset 5 [1, 0, 3], negative offset -3 [2, 1]; an exemplar
 *     (as_double 2.5, trace/span ids as above)
 *  metrics[5] "rpc.duration" unit "ms": Summary; count 10, sum 99.5, quantiles 0→1, 0.5→9, 0.99→20, 1→25 */
otlp_request *sample_otlp_full(void);

/* A benchmark-style request: one resource (3 attributes), one scope, `metrics` metrics × `points` points ×
 * `attrs` string attributes per point. Metric i is, by i % 4: a cumulative monotonic int Sum, a double Gauge, a
 * delta double Sum, or a cumulative Histogram with 10 bounds. Names are "metric.<i>", attributes
 * "attr.<k>"="value-<k>-<point>". */
otlp_request *sample_otlp_parametric(size_t metrics, size_t points, size_t attrs);

/* Frees a request built here (or decoded with protobuf-c's default allocator). NULL is fine. */
void sample_otlp_free(otlp_request *req);

/* Building blocks, for tests that assemble their own requests. Strings are copied. */
otlp_request *sample_otlp_request_new(void); /* one ResourceMetrics with one ScopeMetrics, no metrics */
/* Appends a metric to resource_metrics[0].scope_metrics[0]; the request takes ownership. */
void sample_otlp_add_metric(otlp_request *req, otlp_metric *m);
otlp_metric *sample_otlp_metric_new(const char *name, const char *unit);
otlp_kv *sample_otlp_kv_string(const char *key, const char *value);
otlp_kv *sample_otlp_kv_int(const char *key, int64_t value);
/* Appends to a (count, array) pair of pointers: SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, p). */
void sample_otlp_push(size_t *n, void ***arr, void *item);
#define SAMPLE_PUSH(n, arr, item) sample_otlp_push(&(n), (void ***)&(arr), (item))
void *sample_otlp_xcalloc(size_t n, size_t size);
char *sample_otlp_xstrdup(const char *s);

#endif
