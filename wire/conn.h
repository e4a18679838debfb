/* conn.h — a client connection: TCP or Unix socket, optionally TLS, with deadline-bound blocking I/O.
 *
 * The clients of otelc (SDK exporter thread, receiver exporter consumers) are synchronous: each call takes an
 * absolute monotonic deadline (wire_now_ns() + timeout) and never blocks past it. Internally the socket is
 * non-blocking and waits in poll(2); DNS goes through c-ares in the same way, so nothing blocks past the
 * deadline (getaddrinfo would). No event loop is needed: the SDK and the shim link no libuv. */
#ifndef OTELC_WIRE_CONN_H
#define OTELC_WIRE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/endpoint.h"
#include "wire/err.h"
#include "wire/tls.h"

typedef struct wire_conn wire_conn;

/* Resolves, connects and (when tls != NULL) runs the TLS handshake with SNI and ALPN (`alpn` is a
 * NULL-terminated list such as {"h2", "http/1.1", NULL}, may be NULL). Tries every resolved address in turn
 * until one connects or the deadline passes. */
wire_conn *wire_conn_open(const wire_endpoint *ep, wire_tls_client *tls, const char *const *alpn,
                          int64_t deadline_ns, wire_err *err);
/* Writes all n bytes or fails (WIRE_E_IO / WIRE_E_TIMEOUT / WIRE_E_TLS). */
int wire_conn_write_all(wire_conn *c, const void *p, size_t n, int64_t deadline_ns, wire_err *err);
/* Reads up to cap bytes: >0 bytes read, 0 the peer closed cleanly, -1 error or deadline passed. */
ssize_t wire_conn_read(wire_conn *c, void *p, size_t cap, int64_t deadline_ns, wire_err *err);
/* True when the connection is still usable for another request (no EOF or error seen, nothing unread pending
 * that would be a protocol violation). Does not block. */
bool wire_conn_alive(wire_conn *c);
/* The protocol the TLS handshake agreed on ("h2", "http/1.1"), or NULL (plaintext or no ALPN). */
const char *wire_conn_alpn(const wire_conn *c);
bool wire_conn_is_tls(const wire_conn *c);
int wire_conn_fd(const wire_conn *c);
void wire_conn_close(wire_conn *c);
/* Frees the connection and closes the fd WITHOUT sending anything (no TLS close_notify): for a forked child
 * dropping a connection whose TLS session belongs to its parent. */
void wire_conn_abandon(wire_conn *c);

#endif
