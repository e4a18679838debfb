/* otlp.h — the OTLP metrics protobuf codec: decode with limits and precise errors, encode into a wire_buf, and
 * the helpers every user of decoded requests needs (data point counts, semantic checks).
 *
 * Decoding is two passes: wire/pbwalk.c validates the bytes without allocating (bounded nesting, exact error
 * position and field), then protobuf-c unpacks them. Unpacking into an otlp_arena is several times faster than
 * with malloc (protobuf-c allocates every KeyValue, AnyValue and data point separately) and frees the whole
 * request at once; the arena's own byte limit bounds the decoded size, which can be ~25x the wire size for
 * hostile input (many empty sub-messages).
 *
 * Strings and UTF-8: proto3 says string fields hold UTF-8, but protobuf-c does not check it and neither does
 * the decoder here (like the OpenTelemetry Collector, a whole batch is not lost over one bad byte). Invalid
 * UTF-8 is repaired, when asked, by wire_otlp_check_request(WIRE_OTLP_FIX_UTF8): each byte that is not part of
 * a valid sequence becomes '?', in place, so exporters that need valid text (Prometheus, JSON) get it. */
#ifndef OTELC_WIRE_OTLP_H
#define OTELC_WIRE_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "wire/buf.h"
#include "wire/err.h"
#include "wire/pbwalk.h"

/* Short names for the generated OTLP types (the same types, only shorter to write). */
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest otlp_request;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse otlp_response;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess otlp_partial_success;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics otlp_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics otlp_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__Gauge otlp_gauge;
typedef Opentelemetry__Proto__Metrics__V1__Sum otlp_sum;
typedef Opentelemetry__Proto__Metrics__V1__Histogram otlp_histogram;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogram otlp_exp_histogram;
typedef Opentelemetry__Proto__Metrics__V1__Summary otlp_summary;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint otlp_exp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets otlp_exp_buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile otlp_quantile;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar otlp_exemplar;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue otlp_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList otlp_kvlist;

/* Nesting limit used by the decoders (messages below the root; see pbwalk.h). */
#define WIRE_OTLP_MAX_DEPTH 64

/* ---- Arena ------------------------------------------------------------------------------------------------ */

typedef struct otlp_arena_chunk otlp_arena_chunk;

/* A bump allocator for decoded messages: allocations come from large chunks, individual frees do nothing, and
 * otlp_arena_reset() releases everything at once. Not thread-safe; one arena per decoding thread or request.
 * Lives wherever the caller puts it (stack, struct); hand `&arena->allocator` to protobuf-c if needed. */
typedef struct otlp_arena {
  ProtobufCAllocator allocator; /* alloc/free bound to this arena (free is a no-op) */
  otlp_arena_chunk *head;       /* chunk being filled; earlier chunks are linked behind it */
  size_t next_chunk;            /* size of the next chunk to get from malloc (grows to 1 MiB) */
  size_t limit;                 /* max bytes taken from malloc; 0 = unlimited */
  size_t reserved;              /* bytes currently taken from malloc (chunk sizes) */
  size_t used;                  /* bytes handed out since the last reset */
  bool exhausted;               /* an allocation failed on `limit` since the last reset */
} otlp_arena;

/* Prepares an arena that takes at most `limit` bytes from malloc (0 = unlimited). Allocates nothing yet. */
void otlp_arena_init(otlp_arena *a, size_t limit);
/* Frees everything allocated since init or the last reset; keeps one chunk for reuse. */
void otlp_arena_reset(otlp_arena *a);
/* Frees everything, including the kept chunk. The arena may be reused after otlp_arena_init(). */
void otlp_arena_free(otlp_arena *a);
/* Allocates n bytes aligned for any type, or NULL (limit reached — sets a->exhausted — or out of memory). */
void *otlp_arena_alloc(otlp_arena *a, size_t n);
/* Copies a NUL-terminated string into the arena (for processors that edit decoded requests). */
char *otlp_arena_strdup(otlp_arena *a, const char *s);
/* Bytes currently taken from malloc, for memory accounting. */
size_t otlp_arena_reserved(const otlp_arena *a);

/* ---- Decode ----------------------------------------------------------------------------------------------- */

/* Decodes an ExportMetricsServiceRequest of `len` bytes.
 *  - len > max_len (when max_len != 0): WIRE_E_LIMIT, nothing is read.
 *  - malformed bytes: WIRE_E_INVALID with "otlp: invalid protobuf at byte N: ..." (see pbwalk.h).
 *  - the arena's limit reached while unpacking: WIRE_E_LIMIT.
 * With `arena` the request lives in the arena until otlp_arena_reset() (so does whatever a failed decode left
 * there); with arena == NULL it is malloc'd and freed with wire_otlp_request_free(req, NULL).
 * Returns NULL on error. Cost: see bench/bench_otlp_codec.c (validation is about a sixth of a decode). */
otlp_request *wire_otlp_decode_request(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                       wire_err *err);
/* The validation of wire_otlp_decode_request (the same size limit, the same errors) without decoding, plus
 * what pbwalk_scan_request learns on the way: the data point count and whether the request is "clean" — a
 * decode followed by wire_otlp_check_request(WIRE_OTLP_FIX_UTF8) would change nothing, so the bytes may be
 * forwarded as they are (see pbwalk.h). About a third of the cost of a decode. Returns 0 or -1. */
int wire_otlp_scan_request(const uint8_t *data, size_t len, size_t max_len, pbwalk_scan *out, wire_err *err);
/* Decodes a request that already passed wire_otlp_decode_request's validation (wire_otlp_scan_request, or bytes
 * this process produced or checked before): the same as wire_otlp_decode_request without the validating walk
 * and the size limit. Never use it on bytes straight from a peer: protobuf-c alone has no nesting limit. */
otlp_request *wire_otlp_decode_request_trusted(const uint8_t *data, size_t len, otlp_arena *arena, wire_err *err);
/* Same for an ExportMetricsServiceResponse (what a backend answers an exporter). */
otlp_response *wire_otlp_decode_response(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                         wire_err *err);
/* Same for a google.rpc.Status (the payload of gRPC's grpc-status-details-bin trailer). */
Google__Rpc__Status *wire_otlp_decode_status(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                             wire_err *err);

/* Frees a decoded message: nothing to do when it lives in an arena (reset the arena instead); with arena ==
 * NULL, frees the malloc'd message. NULL msg is fine. */
void wire_otlp_request_free(otlp_request *req, otlp_arena *arena);
void wire_otlp_response_free(otlp_response *resp, otlp_arena *arena);
void wire_otlp_status_free(Google__Rpc__Status *status, otlp_arena *arena);

/* ---- Encode ----------------------------------------------------------------------------------------------- */

/* Appends the encoding of `req` to `out` (so a caller may write a frame header first). Fails with WIRE_E_LIMIT,
 * leaving `out` unchanged, if the encoding would take `out` past its limit. Returns 0 or -1. */
int wire_otlp_encode_request(const otlp_request *req, wire_buf *out, wire_err *err);
/* Same for a response. */
int wire_otlp_encode_response(const otlp_response *resp, wire_buf *out, wire_err *err);
/* Same for any protobuf-c message (e.g. a google.rpc.Status); `what` names it in errors ("grpc status"). */
int wire_otlp_encode_message(const ProtobufCMessage *msg, const char *what, wire_buf *out, wire_err *err);

/* ---- Helpers ---------------------------------------------------------------------------------------------- */

/* Number of data points in a request, over all metric types (what partial success counts). */
uint64_t wire_otlp_count_points(const otlp_request *req);
/* Number of data points of one metric (0 if its data oneof is not set). */
uint64_t wire_otlp_metric_points(const otlp_metric *m);

/* What wire_otlp_check_request() found. `message` is empty when nothing was rejected or fixed; otherwise it
 * reads like a partial-success error_message and names metrics by position, never by content:
 * "rejected 3 data points: resource_metrics[0].scope_metrics[1].metrics[4] (histogram) data point 2: 5
 * bucket_counts for 5 explicit_bounds, want 6 (and 2 more problems)". */
typedef struct wire_otlp_check_report {
  uint64_t rejected_points;  /* data points removed from the request */
  uint64_t rejected_metrics; /* metrics removed whole (including ones with no data, which have no points) */
  uint64_t fixed;            /* repairs made in place: exemplars with bad ids dropped, strings made UTF-8 */
  uint64_t problems;         /* number of distinct findings (rejections and repairs) */
  char message[256];
} wire_otlp_check_report;

/* Flags for wire_otlp_check_request(). */
#define WIRE_OTLP_FIX_UTF8 0x1u /* replace bytes of invalid UTF-8 in names, units, keys and values by '?' */

/* Checks the semantics of a request and removes what must not go further, instead of rejecting it whole:
 *  - a metric with an empty name, or no data oneof set: the metric is removed;
 *  - a sum, histogram or exponential histogram with aggregation_temporality UNSPECIFIED (or unknown): the
 *    metric is removed;
 *  - a number data point with no value (unless flagged NO_RECORDED_VALUE): removed;
 *  - a histogram point whose bucket_counts length is not explicit_bounds + 1 (or both 0), or whose bounds are
 *    not strictly increasing or are NaN: removed;
 *  - an exponential histogram point with scale outside [-10, 20], or bucket offsets that overflow int32:
 *    removed;
 *  - a summary point with a quantile outside [0, 1] (or NaN): removed;
 *  - an exemplar whose trace_id is not 0 or 16 bytes or span_id not 0 or 8 bytes: the exemplar is dropped
 *    (a repair, the point stays).
 * Count mismatches (histogram count vs. bucket sum) are left alone: they break nothing downstream.
 * Removed elements are freed through the request's owner: `arena` if it lives in one, protobuf-c's default
 * allocator when arena == NULL (so use only on requests decoded with wire_otlp_decode_request() or built with
 * malloc'd parts). With WIRE_OTLP_FIX_UTF8, strings are written in place: never on string literals.
 * Fills *report (required) and returns the number of rejected data points. */
uint64_t wire_otlp_check_request(otlp_request *req, otlp_arena *arena, unsigned flags, wire_otlp_check_report *report);

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool wire_otlp_utf8_valid(const char *s, size_t len);

#endif
