/* grpc_server.h — helpers for unary gRPC handlers on the HTTP server (http_server.h): read the one request
 * message of an exchange, and answer with a message and/or a status (grpc-status, grpc-message, and RetryInfo
 * in grpc-status-details-bin for throttling). The HTTP/2 driver uses wire_grpc_respond_status to refuse gRPC
 * requests it cannot take (body over max_body_bytes → RESOURCE_EXHAUSTED). */
#ifndef OTELC_WIRE_SERVER_GRPC_SERVER_H
#define OTELC_WIRE_SERVER_GRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/grpc.h"
#include "wire/server/http_server.h"

/* True when the request's content-type is application/grpc or application/grpc+proto (parameters allowed). */
bool wire_grpc_is_grpc_request(const wire_http_request *req);

/* Takes the request message: checks :method POST (else 405), content-type (else 415, as the gRPC spec asks),
 * grpc-encoding (unknown → UNIMPLEMENTED, with grpc-accept-encoding), deframes exactly one message of at most
 * max_message bytes (0: 4 MiB; larger → RESOURCE_EXHAUSTED; on the wire and decompressed) and decompresses it.
 * On success *msg and *len give the message, valid until the exchange is answered. On failure the exchange has
 * already been answered (and freed) and err says why (for logs); returns -1. */
int wire_grpc_read_request(wire_exchange *ex, size_t max_message, const uint8_t **msg, size_t *len, wire_err *err);

/* The client's grpc-timeout in nanoseconds, or -1 when it sent none or an invalid one. */
int64_t wire_grpc_request_timeout_ns(const wire_exchange *ex);

/* Answers OK with one response message: HTTP 200, content-type application/grpc, the framed message, trailers
 * grpc-status: 0. Frees the exchange. */
void wire_grpc_respond(wire_exchange *ex, const void *msg, size_t len);

/* Answers with a status and no message, as a trailers-only response (one HEADERS frame with grpc-status and a
 * percent-encoded grpc-message). retry_delay_ns >= 0 adds grpc-status-details-bin carrying google.rpc.Status
 * with a RetryInfo (what OTLP clients honour for RESOURCE_EXHAUSTED / UNAVAILABLE); -1 adds none.
 * code OK is allowed (an empty success without a message). Frees the exchange. */
void wire_grpc_respond_status(wire_exchange *ex, int code, const char *message, int64_t retry_delay_ns);

#endif
