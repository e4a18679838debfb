/* http_client.h — the synchronous HTTP client of otelc: one endpoint, one kept-alive connection, HTTP/1.1 or
 * HTTP/2 (chosen by ALPN over TLS, by configuration over plaintext), every call bounded by a deadline.
 *
 * A client is used by one thread at a time (the SDK's exporter thread, one receiver exporter consumer). It
 * reconnects when the connection was closed, and never retries by itself: retry policy belongs to callers,
 * which know what is retryable. gRPC calls go through grpc_client.h on top of this. */
#ifndef OTELC_WIRE_HTTP_CLIENT_H
#define OTELC_WIRE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/conn.h"
#include "wire/endpoint.h"
#include "wire/http.h"
#include "wire/tls.h"

typedef enum wire_client_proto {
  WIRE_CLIENT_AUTO = 0, /* TLS: ALPN picks h2 or http/1.1; plaintext: HTTP/1.1 */
  WIRE_CLIENT_H1,       /* HTTP/1.1 only */
  WIRE_CLIENT_H2,       /* HTTP/2 only (h2c with prior knowledge on plaintext): gRPC */
} wire_client_proto;

typedef struct wire_client_config {
  const char *endpoint;       /* see endpoint.h */
  uint16_t default_port;      /* when the endpoint has none */
  const wire_tls_config *tls; /* used when the endpoint is https:// or force_tls; NULL: defaults (system CAs) */
  bool force_tls;             /* TLS even without https:// (gRPC endpoints are host:port) */
  bool force_plaintext;       /* no TLS even with https:// (OTEL_EXPORTER_OTLP_INSECURE) */
  wire_client_proto proto;
  size_t max_response_bytes;  /* 0: 4 MiB */
  size_t max_header_bytes;    /* 0: 64 KiB */
} wire_client_config;

typedef struct wire_client wire_client;

/* Parses the endpoint and builds the TLS context; connects lazily on the first request. */
wire_client *wire_client_new(const wire_client_config *cfg, wire_err *err);
void wire_client_free(wire_client *c);
const wire_endpoint *wire_client_endpoint(const wire_client *c);

/* Sends req and fills resp (which the caller initialised). req->authority defaults to the endpoint's; the
 * client adds Host, Content-Length and, for HTTP/2, the pseudo-headers. Returns 0 when a response arrived
 * (any status), -1 on transport failure (err: WIRE_E_IO, WIRE_E_TIMEOUT, WIRE_E_TLS, WIRE_E_DNS, ...). A request
 * on a reused keep-alive connection that fails with a connection error before any response arrived (the server
 * closed the idle connection) is sent once more on a fresh connection; nothing else is retried here. */
int wire_client_do(wire_client *c, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                   wire_err *err);
/* Drops the connection (the next call reconnects). */
void wire_client_disconnect(wire_client *c);
/* Drops the connection without sending anything on it (no HTTP/2 GOAWAY, no TLS close_notify): for a forked
 * child, whose inherited connection and TLS session belong to the parent. The client stays usable. */
void wire_client_abandon(wire_client *c);

/* --- protocol engines, used by wire_client_do (implemented in http1_client.c and h2_client.c) --- */

/* One HTTP/1.1 request/response on c. *reusable tells whether the connection may carry another request. */
int wire_h1_roundtrip(wire_conn *c, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      bool *reusable, wire_err *err);

typedef struct wire_h2_client wire_h2_client;
/* Starts an HTTP/2 session on c (sends the preface and SETTINGS). The session takes no ownership of c. */
wire_h2_client *wire_h2_client_new(wire_conn *c, wire_err *err);
/* One request/response on a new stream, with flow control for large bodies, trailers into resp->trailers. */
int wire_h2_roundtrip(wire_h2_client *h, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      wire_err *err);
/* False after GOAWAY, a connection error or too many streams used. */
bool wire_h2_client_usable(const wire_h2_client *h);
void wire_h2_client_free(wire_h2_client *h);

#endif
