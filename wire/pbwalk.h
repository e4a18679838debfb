/* pbwalk.h — a validating walk over protobuf wire format, driven by a static schema of the OTLP messages.
 *
 * protobuf-c's unpack answers a malformed message with NULL and nothing else, and it recurses into nested
 * messages without any depth limit (an AnyValue array inside an array inside ... is a stack overflow waiting for
 * a hostile peer). So every message from a peer is walked here first: the walk allocates nothing, uses no
 * recursion (an explicit stack bounded by `max_depth`) and stops at the first problem with a message that says
 * what, where and why, e.g.
 *
 *   invalid protobuf at byte 1234: length 99999 of field 2 (ResourceMetrics.scope_metrics) runs past the end
 *   (6000 bytes left)
 *
 * What is checked: tags (field number 0, tags longer than 5 bytes), wire types (groups 3/4 and the undefined
 * types 6/7 are rejected), varints (at most 10 bytes, not truncated), fixed-size values not truncated, lengths
 * (encoded in at most 5 bytes, at most 2^31-1, not past the end of the enclosing message), and — for fields the
 * schema knows — that the wire type matches the field's type (a packed repeated scalar may come packed or not;
 * packed fixed64 payloads must be a multiple of 8 bytes, packed varints must be whole varints). Known
 * sub-message fields are walked into. Unknown fields are skipped (proto3 forward compatibility). One valid but
 * unusual encoding is rejected because protobuf-c 1.4 fails on it: KeyValue.value given twice with neither
 * AnyValue setting a value (its merge of the two needs a oneof member).
 *
 * A message that passes this walk is one protobuf-c 1.4 unpacks (short of running out of memory).
 * Strings are not checked for UTF-8 here: see wire/otlp.h for that decision. */
#ifndef OTELC_WIRE_PBWALK_H
#define OTELC_WIRE_PBWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/err.h"

/* The top-level messages the walk can start from. */
typedef enum pbwalk_root {
  PBWALK_EXPORT_METRICS_REQUEST,  /* opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest */
  PBWALK_EXPORT_METRICS_RESPONSE, /* opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse */
  PBWALK_RPC_STATUS,              /* google.rpc.Status (gRPC's grpc-status-details-bin) */
  PBWALK_RPC_RETRY_INFO,          /* google.rpc.RetryInfo */
} pbwalk_root;

/* Nesting depth the walk can track at most; larger `max_depth` arguments are clamped to it. */
#define PBWALK_DEPTH_CAP 128
/* A sensible nesting limit for OTLP: a data point's attribute value sits at depth 8, so this leaves room for
 * about 28 levels of nested AnyValue arrays or kvlists, and keeps protobuf-c's recursion shallow. */
#define PBWALK_DEFAULT_DEPTH 64

/* Walks `len` bytes as a message of type `root`, nesting at most `max_depth` messages below it.
 * Returns 0 if the bytes are well formed, or -1 with WIRE_E_INVALID and a message starting
 * "invalid protobuf at byte N: ..." in *err. */
int pbwalk_validate(const uint8_t *data, size_t len, pbwalk_root root, unsigned max_depth, wire_err *err);

/* What pbwalk_scan_request() learned about a well-formed ExportMetricsServiceRequest. */
typedef struct pbwalk_scan {
  uint64_t points;           /* data points; exact when `clean` (otherwise a lower bound: decode to count) */
  uint64_t resource_metrics; /* resource_metrics entries */
  /* True when decoding the bytes with protobuf-c and running wire_otlp_check_request(WIRE_OTLP_FIX_UTF8) on the
   * result would find nothing (no rejected metric or point, no repair: every string valid UTF-8 without NUL),
   * and no singular sub-message or oneof occurs twice (where protobuf-c's merge-or-replace reading of the bytes
   * could differ from another decoder's). The bytes can then be forwarded as they are, instead of re-encoding
   * the decode. False for anything else, which the caller handles by decoding. */
  bool clean;
} pbwalk_scan;

/* The validation of pbwalk_validate(data, len, PBWALK_EXPORT_METRICS_REQUEST, max_depth) — the same errors, at
 * the same bytes — plus, in the same pass, what *out describes. Returns 0 or -1 (out->clean is then false). */
int pbwalk_scan_request(const uint8_t *data, size_t len, unsigned max_depth, pbwalk_scan *out, wire_err *err);

/* For bytes that passed the walk: the offset one past the field that starts at `pos` (its number in *number,
 * which may be NULL), or 0 at the end or on malformed input. Used to cut a serialized message at top-level
 * field boundaries (an ExportMetricsServiceRequest between two resource_metrics). */
size_t pbwalk_next_field(const uint8_t *data, size_t len, size_t pos, uint32_t *number);

#endif
