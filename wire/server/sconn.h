/* sconn.h — one accepted server connection (TCP or Unix socket, optionally TLS) driven by the libuv loop,
 * and the interface a protocol driver (HTTP/1.1, HTTP/2) implements on top of it.
 *
 * The listener accepts, runs the TLS handshake without blocking, picks the protocol (ALPN "h2", or on plaintext
 * the HTTP/2 client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" for h2c with prior knowledge, else HTTP/1.1),
 * then hands plaintext bytes to the driver through on_data. Writes are queued and flushed as the socket allows;
 * they never block the loop. The queued output is bounded (max_pending): past it, writes fail and the driver
 * should stop producing (read is paused automatically until on_drain). */
#ifndef OTELC_WIRE_SERVER_SCONN_H
#define OTELC_WIRE_SERVER_SCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct wire_sconn wire_sconn;

typedef struct wire_sconn_driver {
  const char *name; /* "http/1.1", "h2" */
  /* Plaintext bytes arrived. Returns 0 to go on, -1 to close the connection (after flushing queued output). */
  int (*on_data)(void *self, const uint8_t *data, size_t len);
  /* Queued output fell to zero (resume producing). May be NULL. */
  void (*on_drain)(void *self);
  /* The connection is gone (peer closed, error, idle timeout, server stop). The driver frees itself here and
   * must not touch the sconn afterwards. */
  void (*on_close)(void *self);
  /* The listener is stopping (wire_listener_stop). May be NULL: the connection is then closed gracefully at
   * once. Otherwise the driver finishes what is in flight (HTTP/2: GOAWAY and the open streams; HTTP/1.1: the
   * current response) and then calls wire_sconn_close(c, true); reading goes on meanwhile. Connections still
   * open after a grace period (5 s) are closed, with on_close as usual. */
  void (*on_shutdown)(void *self);
} wire_sconn_driver;

/* Queues bytes for the peer. Returns 0, or -1 when the connection is closing or max_pending is exceeded. */
int wire_sconn_write(wire_sconn *c, const void *data, size_t len);
size_t wire_sconn_pending(const wire_sconn *c);
/* Stops (true) or resumes (false) reading from the peer: the driver's backpressure. */
void wire_sconn_pause_read(wire_sconn *c, bool pause);
/* Closes once the queued output is flushed (graceful) or at once. on_close follows. */
void wire_sconn_close(wire_sconn *c, bool graceful);
uv_loop_t *wire_sconn_loop(const wire_sconn *c);
bool wire_sconn_is_tls(const wire_sconn *c);
const char *wire_sconn_peer(const wire_sconn *c); /* "10.0.0.5:51234" or "unix" */
/* The server's per-connection context (the wire_server it belongs to). */
void *wire_sconn_server(const wire_sconn *c);

#endif
