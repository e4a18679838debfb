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
/* Same with one more header before the content type, `name: value` (e.g. allow for a 405); none when name is NULL. */
void wire_exchange_respond_text_with(wire_exchange *ex, int status, const char *name, const char *value,
                                     const char *text);

/* ---- streamed responses ----
 * For bodies too large to hold whole (a Prometheus scrape of 100k series is 65 MB): the handler gives a source,
 * and the server asks it for the next piece only when the connection has sent the previous one — HTTP/1.1 with
 * Transfer-Encoding: chunked (HTTP/1.0 peers: a close-delimited body), HTTP/2 as DATA frames paced by the peer's
 * flow control. A response thus holds one piece (about WIRE_BODY_PIECE bytes, plus zlib's state with gzip), not
 * the body; the connection's idle timeout still ends a peer that stops reading. Pieces are produced on the loop
 * thread, a bounded amount per loop turn, so other connections are served between them. */

#define WIRE_BODY_PIECE (64 * 1024)   /* what `next` is asked for */
#define WIRE_BODY_PIECE_MAX (64u << 20) /* a piece past this (out's limit) aborts the response */

enum {
  WIRE_BODY_MORE = 0, /* next: more pieces follow */
  WIRE_BODY_END = 1,  /* next: that was the last piece (it may be empty) */
};

typedef struct wire_body_source {
  /* Appends the next piece of the body to `out` (empty on entry): about `want` bytes, more is fine. Returns
   * WIRE_BODY_MORE, WIRE_BODY_END, or -1 to abort the response (HTTP/1.1: the connection closes without the last
   * chunk, so the peer sees a truncated body; HTTP/2: RST_STREAM INTERNAL_ERROR). Runs on the loop thread. */
  int (*next)(void *ud, wire_buf *out, size_t want);
  /* Runs exactly once, when the server is done with the source: `completed` true when the response went out as
   * meant (the whole body, or no body for HEAD, 204 and 304), false when it was aborted or the peer went away
   * (client disconnect mid-stream, server stop, HTTP/2 stream reset). May be NULL. */
  void (*release)(void *ud, bool completed);
  void *ud;
} wire_body_source;

/* Sends status and headers now and the body from `src` as the peer takes it, then frees the exchange (the
 * source lives on until its release). With gzip, the body is compressed as it goes (zlib, flushed per piece)
 * and "content-encoding: gzip" is added; Content-Length and Transfer-Encoding are the server's. HEAD requests get
 * the headers only. If the peer is already gone, the source is released at once (completed false). The first
 * pieces may be asked for, and the source released, inside this call: hand the source over ready to run. */
void wire_exchange_respond_stream(wire_exchange *ex, int status, const wire_headers *headers,
                                  const wire_body_source *src, bool gzip);
/* Whether the request's Accept-Encoding allows gzip (listed, and not with q=0). */
bool wire_request_accepts_gzip(const wire_http_request *req);

#endif
