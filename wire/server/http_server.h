/* http_server.h — the HTTP server of otelc: HTTP/1.1 and HTTP/2 (h2c and h2 over TLS) on one port, on a libuv
 * loop, handing each complete request to a handler as an exchange.
 *
 * Used by the receiver's OTLP receiver (gRPC and HTTP), the Prometheus exporter, health_check and the
 * self-telemetry endpoint. gRPC is HTTP/2 plus the helpers in grpc_server.h. */
#ifndef OTELC_WIRE_SERVER_HTTP_SERVER_H
#define OTELC_WIRE_SERVER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wire/http.h"
#include "wire/tls.h"

typedef struct wire_server wire_server;
typedef struct wire_exchange wire_exchange;

/* Called on the loop thread with a complete request (headers and body). The handler must call
 * wire_exchange_respond exactly once, now or later (from the loop thread), even if the peer went away. */
typedef void (*wire_handler_fn)(wire_exchange *ex, void *ud);

typedef struct wire_server_config {
  const char *endpoint;            /* see listener.h */
  const wire_tls_config *tls;      /* NULL: plaintext */
  bool disable_h2;                 /* serve HTTP/1.1 only */
  bool disable_h1;                 /* serve HTTP/2 only (gRPC ports) */
  size_t max_header_bytes;         /* request line/pseudo-headers + headers; 0: 16 KiB */
  size_t max_body_bytes;           /* body as received; 0: 4 MiB. Past it: 413 */
  size_t max_decompressed_bytes;   /* 0: same as max_body_bytes */
  bool decompress;                 /* decode Content-Encoding: gzip before the handler (unknown: 415) */
  size_t max_connections;          /* 0: 4096 */
  uint32_t max_concurrent_streams; /* HTTP/2; 0: 100 */
  uint64_t idle_timeout_ms;        /* 0: 120000 */
  uint64_t request_timeout_ms;     /* whole request (headers and body) must arrive within; 0: 30000 */
  size_t max_pending_output;       /* per connection; 0: 16 MiB */
} wire_server_config;

wire_server *wire_server_start(uv_loop_t *loop, const wire_server_config *cfg, wire_handler_fn handler, void *ud,
                               wire_err *err);
uint16_t wire_server_port(const wire_server *s);
/* Stops accepting; requests in flight get their responses; `done` runs when every connection is closed. */
void wire_server_stop(wire_server *s, void (*done)(void *arg), void *arg);

const wire_http_request *wire_exchange_request(const wire_exchange *ex);
/* Mutable access, e.g. to take the body without copying (wire_buf_detach). */
wire_http_request *wire_exchange_request_mut(wire_exchange *ex);
const char *wire_exchange_peer(const wire_exchange *ex);
bool wire_exchange_is_tls(const wire_exchange *ex);
/* False once the peer is gone (the response will be dropped). */
bool wire_exchange_peer_alive(const wire_exchange *ex);
/* Sends the response and frees the exchange. headers/trailers may be NULL; trailers are sent only over HTTP/2.
 * Content-Length is added by the server. */
void wire_exchange_respond(wire_exchange *ex, int status, const wire_headers *headers, const void *body, size_t len,
                           const wire_headers *trailers);
/* Convenience: a text/plain body. */
void wire_exchange_respond_text(wire_exchange *ex, int status, const char *text);

#endif
