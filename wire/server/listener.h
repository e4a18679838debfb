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

#include <stdbool.h>
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
/* True when the listening socket was taken over from a listener stopped during a reload (see below). */
bool wire_listener_adopted(const wire_listener *l);
/* Stops accepting and closes every connection gracefully (queued output is flushed first, bounded by a short
 * timeout; drivers with on_shutdown finish what is in flight). A connection accepted moments before, whose
 * first bytes have not been read yet, gets a short grace (2 s) to send its first request, which is then
 * served like any request in flight. `done` runs on the loop when everything is closed and the listener is
 * freed. The listening socket is closed as soon as the listener stops watching it — or parked, during a
 * reload. */
void wire_listener_stop(wire_listener *l, void (*done)(void *arg), void *arg);

/* ---- listening sockets across a configuration reload ------------------------------------------------
 * Between wire_listener_reload_begin() and wire_listener_reload_end(), a listener that stops keeps its
 * listening socket open ("parked", process-wide, keyed by the resolved address and port, or the Unix socket
 * path) instead of closing it, and a listener started for the same address and port takes the parked socket
 * over without binding again. Clients that connect in between wait in the socket's backlog, and the new
 * listener accepts them: nobody sees "connection refused". A new listener on the same port but another
 * address closes the parked sockets of that port before binding. reload_end closes the sockets no listener
 * took (endpoints the new configuration dropped). Port 0 listeners are never parked. Calls nest (a counter);
 * thread-safe. */
void wire_listener_reload_begin(void);
void wire_listener_reload_end(void);
/* Listening sockets parked now (tests). */
size_t wire_listener_parked(void);

#endif
