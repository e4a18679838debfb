/* grpc_client.h — unary gRPC calls over the synchronous HTTP client (http_client.h), as the OTLP/gRPC exporters
 * of the SDK and the receiver make them: one request message, one response message, a status.
 *
 * The wire_client must have been made with proto WIRE_CLIENT_H2 (gRPC needs HTTP/2 trailers). A call never
 * retries: the result says whether OTLP may (wire_grpc_otlp_retryable) and how long the server asked to wait. */
#ifndef OTELC_WIRE_GRPC_CLIENT_H
#define OTELC_WIRE_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/grpc.h"
#include "wire/http.h"
#include "wire/http_client.h"

typedef struct wire_grpc_call {
  const char *path;              /* "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" */
  const wire_headers *metadata;  /* extra request headers (lower-case names; "-bin" values already base64), or NULL */
  const void *request;           /* the serialised request message */
  size_t request_len;
  bool gzip;                     /* compress the message (grpc-encoding: gzip) */
  int64_t deadline_ns;           /* absolute monotonic deadline, sent as grpc-timeout; 0: none */
  const char *user_agent;        /* NULL: "otelc-grpc/<version>" */
  size_t max_response_bytes;     /* response message limit (on the wire and decompressed); 0: the client's
                                    max_response_bytes */
} wire_grpc_call;

typedef struct wire_grpc_result {
  int code;               /* wire_grpc_code: from the server, from its HTTP status, or local (see below) */
  char *message;          /* grpc-message, decoded (owned, NUL-terminated); NULL when none */
  int http_status;        /* 0 when no response arrived */
  bool local;             /* the status was made here (transport failure, malformed response) */
  wire_buf response;      /* the response message, deframed and decompressed */
  bool has_retry_info;    /* the server sent google.rpc.RetryInfo in grpc-status-details-bin */
  int64_t retry_delay_ns; /* its retry_delay (valid when has_retry_info) */
} wire_grpc_result;

void wire_grpc_result_init(wire_grpc_result *r);
void wire_grpc_result_free(wire_grpc_result *r);

/* Makes one unary call. Always fills r->code. Returns 0 when the status came from the server (including a
 * non-OK status, a trailers-only response, or one synthesised from the HTTP status per the gRPC spec), -1 when
 * it did not (err says why; r->local is true): transport failures give UNAVAILABLE, a passed deadline
 * DEADLINE_EXCEEDED, a response over the limit RESOURCE_EXHAUSTED, a malformed response INTERNAL. */
int wire_grpc_unary(wire_client *c, const wire_grpc_call *call, wire_grpc_result *r, wire_err *err);

#endif
