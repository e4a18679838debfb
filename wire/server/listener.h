/* listener.h — accepts connections on a libuv loop, runs TLS handshakes without blocking, chooses the
 * protocol, and hands each connection to a protocol driver (see sconn.h).
 *
 * Protocol choice: with TLS, the ALPN result ("h2" or "http/1.1"; none means http/1.1). Without TLS, the first
 * bytes: the HTTP/2 client preface means "h2" (h2c with prior knowledge), anything else "http/1.1".
 * Limits: max_connections (further connections are accepted and closed at once, so the backlog never fills
 * with dead peers), an idle timeout (no bytes either way), a handshake/first-bytes timeout, and max_pending
 * output per connection. */
#ifndef OTELC_WIRE_SERVER_LISTENER_H
#define OTELC_WIRE_SERVER_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wire/err.h"
#include "wire/server/sconn.h"
#include "wire/tls.h"

typedef struct wire_listener wire_listener;

typedef struct wire_listener_config {
  const char *endpoint;         /* "127.0.0.1:4318", "0.0.0.0:4317", "[::1]:0", ":4318", "unix:///run/x.sock" */
  wire_tls_server *tls;         /* NULL: plaintext */
  size_t max_connections;       /* 0: 4096 */
  uint64_t idle_timeout_ms;     /* 0: 120000 */
  uint64_t handshake_timeout_ms;/* TLS handshake and first bytes; 0: 10000 */
  size_t max_pending_output;    /* per connection; 0: 16 MiB */
  int backlog;                  /* 0: 511 */
} wire_listener_config;

/* Called once per connection when its protocol ("h2" or "http/1.1") is known. Returns the driver to attach
 * (and sets *self), or NULL to refuse the connection (it is closed). */
typedef const wire_sconn_driver *(*wire_listener_attach_fn)(void *ud, wire_sconn *c, const char *protocol,
                                                            void **self);

/* Binds and listens. Errors name the endpoint and the reason ("listen 127.0.0.1:4318: address in use"). */
wire_listener *wire_listener_start(uv_loop_t *loop, const wire_listener_config *cfg, wire_listener_attach_fn attach,
                                   void *ud, wire_err *err);
/* The port actually bound (useful with port 0). */
uint16_t wire_listener_port(const wire_listener *l);
/* Connections currently open; safe to call from any thread. */
size_t wire_listener_connections(const wire_listener *l);
/* Stops accepting and closes every connection gracefully (queued output is flushed first, bounded by a short
 * timeout). `done` runs on the loop when everything is closed and the listener is freed. */
void wire_listener_stop(wire_listener *l, void (*done)(void *arg), void *arg);

#endif
