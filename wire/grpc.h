/* grpc.h — the gRPC protocol pieces that need no I/O: message framing (the 5-byte length prefix), an incremental
 * deframer, grpc-timeout, status codes and their names, grpc-message percent-encoding, google.rpc.Status in
 * grpc-status-details-bin (RetryInfo), the HTTP→gRPC status mapping and which statuses OTLP may retry.
 *
 * Shared by the client (grpc_client.h) and the server helpers (server/grpc_server.h). Spec references:
 * grpc/doc/PROTOCOL-HTTP2.md, grpc/doc/http-grpc-status-mapping.md, the OTLP specification (retryable codes). */
#ifndef OTELC_WIRE_GRPC_H
#define OTELC_WIRE_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/err.h"

/* gRPC status codes (google.rpc.Code). */
typedef enum wire_grpc_code {
  WIRE_GRPC_OK = 0,
  WIRE_GRPC_CANCELLED = 1,
  WIRE_GRPC_UNKNOWN = 2,
  WIRE_GRPC_INVALID_ARGUMENT = 3,
  WIRE_GRPC_DEADLINE_EXCEEDED = 4,
  WIRE_GRPC_NOT_FOUND = 5,
  WIRE_GRPC_ALREADY_EXISTS = 6,
  WIRE_GRPC_PERMISSION_DENIED = 7,
  WIRE_GRPC_RESOURCE_EXHAUSTED = 8,
  WIRE_GRPC_FAILED_PRECONDITION = 9,
  WIRE_GRPC_ABORTED = 10,
  WIRE_GRPC_OUT_OF_RANGE = 11,
  WIRE_GRPC_UNIMPLEMENTED = 12,
  WIRE_GRPC_INTERNAL = 13,
  WIRE_GRPC_UNAVAILABLE = 14,
  WIRE_GRPC_DATA_LOSS = 15,
  WIRE_GRPC_UNAUTHENTICATED = 16,
} wire_grpc_code;

/* "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN_CODE" outside 0..16. */
const char *wire_grpc_code_name(int code);

/* OTLP's rule (specification/protocol/otlp.md, "Failures"): CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE and DATA_LOSS are retryable; RESOURCE_EXHAUSTED only when the server sent RetryInfo (it promises
 * that the condition is temporary); everything else is permanent. */
bool wire_grpc_otlp_retryable(int code, bool has_retry_info);

/* The gRPC code a client reports when a response carried no grpc-status, from its HTTP status
 * (http-grpc-status-mapping.md): 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
 * 429/502/503/504 UNAVAILABLE, anything else UNKNOWN. */
int wire_grpc_code_from_http(int http_status);

/* --- message framing --- */

#define WIRE_GRPC_PREFIX_LEN 5

/* Message compression as named by grpc-encoding. */
typedef enum wire_grpc_encoding {
  WIRE_GRPC_IDENTITY = 0,
  WIRE_GRPC_GZIP = 1,
} wire_grpc_encoding;

/* Parses a grpc-encoding value: NULL/"identity" → IDENTITY, "gzip" → GZIP; anything else -1 (unsupported). */
int wire_grpc_encoding_parse(const char *value);

/* Writes the 5-byte prefix: compressed flag, then the length big-endian. */
void wire_grpc_prefix_write(uint8_t out[WIRE_GRPC_PREFIX_LEN], bool compressed, uint32_t len);

/* Appends one framed message to out. With GZIP the message is compressed and flagged, unless compressing would
 * not make it smaller (then it is sent uncompressed with flag 0, which the spec allows). Fails with WIRE_E_LIMIT
 * when the message (after compression) does not fit in 32 bits or in out's limit. */
int wire_grpc_frame_encode(wire_buf *out, const void *msg, size_t len, wire_grpc_encoding enc, wire_err *err);

/* The incremental deframer: feed it the DATA bytes of one stream in any split; it calls back once per complete
 * message with the message bytes (decompressed when flagged). Messages lying whole inside one fed chunk are
 * handed out without copying. Memory is bounded by max_message (the prefix's length is checked before anything
 * is buffered, and decompression stops at max_message). */
typedef struct wire_grpc_deframer {
  size_t max_message;         /* limit for a message, on the wire and decompressed; 0: 4 MiB */
  wire_grpc_encoding encoding; /* negotiated by grpc-encoding; IDENTITY rejects the compressed flag */
  size_t messages;            /* complete messages delivered so far */
  /* private */
  uint8_t prefix[WIRE_GRPC_PREFIX_LEN];
  size_t prefix_have;
  bool in_body;               /* prefix complete, collecting msg_len bytes */
  bool compressed;
  uint32_t msg_len;
  wire_buf partial;           /* a message split across chunks */
  wire_buf inflated;          /* decompression output, reused */
  uint64_t offset;            /* stream offset of the next byte fed, for error messages */
  bool failed;
} wire_grpc_deframer;

/* Called for each complete message; msg is valid only during the call. Return 0 to go on, -1 to stop feeding
 * (the callback sets err). */
typedef int (*wire_grpc_message_fn)(void *ud, const uint8_t *msg, size_t len, wire_err *err);

void wire_grpc_deframer_init(wire_grpc_deframer *d, size_t max_message, wire_grpc_encoding encoding);
void wire_grpc_deframer_free(wire_grpc_deframer *d);
/* Consumes len bytes, calling fn per complete message. Errors: WIRE_E_LIMIT (message larger than max_message),
 * WIRE_E_PROTOCOL (flag not 0/1, compressed flag without a negotiated encoding), WIRE_E_INVALID (corrupt gzip),
 * or whatever fn returned. After an error the deframer refuses further input. */
int wire_grpc_deframer_feed(wire_grpc_deframer *d, const void *data, size_t len, wire_grpc_message_fn fn, void *ud,
                            wire_err *err);
/* End of stream: fails (WIRE_E_PROTOCOL) when a frame was left incomplete. */
int wire_grpc_deframer_finish(wire_grpc_deframer *d, wire_err *err);

/* Deframes a whole body that must hold exactly one message (unary RPC). On success *msg and *len point either into
 * body (uncompressed) or into out (decompressed; out is reset first). Zero messages or more than one fail with
 * WIRE_E_PROTOCOL, except that zero messages are accepted when allow_empty (then *len = 0). */
int wire_grpc_decode_unary(const uint8_t *body, size_t body_len, wire_grpc_encoding enc, size_t max_message,
                           bool allow_empty, wire_buf *out, const uint8_t **msg, size_t *len, wire_err *err);

/* --- grpc-timeout --- */

/* Parses "<1..8 digits><unit>" with unit H, M, S, m, u or n into nanoseconds (saturating at INT64_MAX).
 * Returns 0, or -1 (WIRE_E_INVALID) for anything else. */
int wire_grpc_timeout_parse(const char *value, int64_t *ns, wire_err *err);
/* Formats a positive timeout, rounding up to the finest unit whose value fits in 8 digits ("250m", "30S").
 * ns <= 0 formats as "1n" (already expired). out must hold at least 10 bytes. */
void wire_grpc_timeout_format(int64_t ns, char *out, size_t outlen);

/* --- grpc-message --- */

/* Percent-encodes a status message as grpc-message requires: bytes outside 0x20..0x7E and '%' become %XX.
 * Appends a NUL-terminated string to out (out->len excludes the NUL). */
int wire_grpc_message_encode(const char *msg, wire_buf *out, wire_err *err);
/* Decodes %XX sequences (either hex case); malformed sequences pass through unchanged, as the spec asks.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory. */
char *wire_grpc_message_decode(const char *value);

/* --- grpc-status-details-bin (google.rpc.Status) --- */

/* Decodes a grpc-status-details-bin value (base64, padded or not) as google.rpc.Status and looks for a
 * google.rpc.RetryInfo detail. Returns 1 with *retry_delay_ns set when one is present, 0 when the status has no
 * RetryInfo, -1 when the value is not valid base64 or protobuf (WIRE_E_INVALID). *code receives Status.code when
 * code != NULL. */
int wire_grpc_status_details_parse(const char *value, int64_t *retry_delay_ns, int *code, wire_err *err);
/* Builds a grpc-status-details-bin value (unpadded base64, NUL-terminated in out) for a google.rpc.Status with
 * the code, message and, when retry_delay_ns >= 0, a RetryInfo detail. */
int wire_grpc_status_details_build(int code, const char *message, int64_t retry_delay_ns, wire_buf *out,
                                   wire_err *err);

/* Base64 (standard alphabet) helpers used for -bin metadata. decode accepts missing padding and rejects any other
 * malformation; out receives the bytes. encode appends unpadded text plus a NUL (not counted in out->len). */
int wire_base64_decode(const char *text, size_t len, wire_buf *out, wire_err *err);
int wire_base64_encode(const void *data, size_t len, wire_buf *out, wire_err *err);

#endif
