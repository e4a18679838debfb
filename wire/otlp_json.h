/* otlp_json.h — OTLP/JSON: the JSON Protobuf Encoding of OTLP/HTTP for the metrics service messages.
 *
 * The mapping is proto3's JSON mapping with the OTLP deviations (OTLP specification, "JSON Protobuf Encoding"):
 *   - keys are the lowerCamelCase field names ("resourceMetrics", "timeUnixNano", "asInt");
 *   - traceId and spanId are case-insensitive hex strings, not base64 (other bytes fields, i.e. AnyValue's
 *     bytesValue, are base64);
 *   - enum values are integers ("aggregationTemporality": 2);
 *   - unknown keys are ignored as if absent;
 *   - 64-bit integers are decimal strings ("timeUnixNano": "1544712660300000000"); when decoding, numbers are
 *     accepted as well;
 *   - doubles are numbers, or the strings "NaN", "Infinity" and "-Infinity".
 *
 * Decoding is lenient where proto3 JSON parsers are (and the OpenTelemetry Collector is): it also accepts the
 * original snake_case names as keys and enum names as strings (both of which the OTLP spec forbids senders to
 * use), numbers given as strings, integral numbers written as "1e3" or "5.0" for integer fields, and base64 in
 * either alphabet with or without padding. It is strict about types: a string where an object belongs, a
 * fraction for an integer field, an out-of-range number, bad hex or base64, two members of one oneof, or one
 * field given under both names are errors, reported with the path to the value:
 *
 *   otlp/json: resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt: expected an integer or
 *   a decimal string, got an object
 *
 * Error messages never quote values or keys from the input (only schema names, positions and byte offsets).
 *
 * Memory: the JSON text is parsed by json-c into a tree, then converted into the protobuf-c structs that
 * wire/otlp.h's binary decoder produces, so everything downstream handles both encodings alike. json-c's tree
 * costs ~20-40x the text for real requests but up to ~260x for a flood of empty objects ("[{},{},...]"), so a
 * cheap pre-scan estimates it and refuses (WIRE_E_LIMIT) bodies whose tree would exceed
 * WIRE_OTLP_JSON_TREE_FACTOR times their size (or 1 MiB, for small bodies). Peak memory is thus at most about
 * WIRE_OTLP_JSON_TREE_FACTOR * max_len for the tree plus the decoded message (bounded by the arena's limit).
 * json-c is also what limits speed: ~9 MB/s of JSON decoded (vs. ~150 MB/s encoded), fine for browsers and
 * scripts, while high-volume senders use protobuf.
 *
 * Strings are not checked for UTF-8 when decoding (the policy of wire/otlp.h: wire_otlp_check_request() repairs
 * them when asked); the encoder always writes valid UTF-8, replacing each invalid byte with U+FFFD. A string
 * holding U+0000 is refused: protobuf-c keeps strings NUL-terminated and would silently cut it.
 *
 * The encoder writes compact JSON straight into a wire_buf (no newline anywhere, so one request per line makes
 * JSON Lines), in the canonical form: int64 as strings, hex ids, enums as integers, fields at their default
 * value left out (except oneof members and present messages, which proto3 JSON always writes). */
#ifndef OTELC_WIRE_OTLP_JSON_H
#define OTELC_WIRE_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/err.h"
#include "wire/otlp.h"

/* Default JSON nesting limit (objects and arrays). A data point's attribute value sits at depth 15 and each
 * level of nested AnyValue arrays or kvlists adds 3, so this leaves room for ~28 levels, like the binary
 * decoder's WIRE_OTLP_MAX_DEPTH. */
#define WIRE_OTLP_JSON_DEFAULT_DEPTH 100
/* Largest nesting limit accepted; larger max_depth arguments are clamped to it. */
#define WIRE_OTLP_JSON_DEPTH_CAP 256
/* Bodies whose json-c parse tree is estimated to take more than this many times their size are refused. */
#define WIRE_OTLP_JSON_TREE_FACTOR 96

/* Decodes a JSON ExportMetricsServiceRequest of `len` bytes.
 *  - len > max_len (when max_len != 0): WIRE_E_LIMIT, nothing is read;
 *  - nesting deeper than max_depth (0 = WIRE_OTLP_JSON_DEFAULT_DEPTH): WIRE_E_LIMIT;
 *  - a parse tree too large for the body (see above), or the arena's limit reached: WIRE_E_LIMIT;
 *  - malformed JSON: WIRE_E_INVALID, "otlp/json: invalid JSON at byte N: ...";
 *  - a value of the wrong type or out of range: WIRE_E_INVALID, "otlp/json: <path>: <why>".
 * With `arena` the request lives in the arena until otlp_arena_reset() (also what a failed decode left there);
 * with arena == NULL it is malloc'd exactly as protobuf-c would, and freed with wire_otlp_request_free(req,
 * NULL) or protobuf_c_message_free_unpacked(&req->base, NULL). Returns NULL on error. */
otlp_request *wire_otlp_json_decode_request(const uint8_t *data, size_t len, size_t max_len, unsigned max_depth,
                                            otlp_arena *arena, wire_err *err);
/* Same for an ExportMetricsServiceResponse ({"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"..."}}),
 * what an OTLP/HTTP backend answers a JSON request with. */
otlp_response *wire_otlp_json_decode_response(const uint8_t *data, size_t len, size_t max_len, unsigned max_depth,
                                              otlp_arena *arena, wire_err *err);

/* Appends the JSON encoding of `req` to `out` (compact, one line, no trailing newline). Fails with WIRE_E_LIMIT
 * if `out` would pass its limit, or WIRE_E_INVALID for a message nested deeper than WIRE_OTLP_JSON_DEPTH_CAP;
 * on failure `out` keeps its previous length. Returns 0 or -1. */
int wire_otlp_json_encode_request(const otlp_request *req, wire_buf *out, wire_err *err);
/* Same for a response; a full success (no partial_success) encodes as "{}". */
int wire_otlp_json_encode_response(const otlp_response *resp, wire_buf *out, wire_err *err);

#endif
