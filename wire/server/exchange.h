/* exchange.h — what protocol drivers (HTTP/1.1, HTTP/2) share with the server front: the exchange object
 * behind wire_exchange, and the hooks a driver calls. Not used outside wire/server/. */
#ifndef OTELC_WIRE_SERVER_EXCHANGE_H
#define OTELC_WIRE_SERVER_EXCHANGE_H

#include "wire/server/http_server.h"
#include "wire/server/sconn.h"

/* A streamed response body on its way out (body_stream.c): the handler's source, with gzip applied when asked,
 * buffered one piece at a time. A driver calls wire_body_stream_fill when it has room for more, sends what
 * wire_body_stream_data shows, consumes it, and frees the stream when wire_body_stream_finished or on abort. */
typedef struct wire_body_stream wire_body_stream;

/* Takes the source (its release runs from wire_body_stream_free). NULL when out of memory (the source is then
 * released here, completed false). */
wire_body_stream *wire_body_stream_new(const wire_body_source *src, bool gzip);
/* Makes bytes available when none are buffered and the body is not over: asks the source for a piece (and
 * compresses it). Returns 0, or -1 when the source or the compressor failed (abort the response). */
int wire_body_stream_fill(wire_body_stream *b);
/* The buffered bytes not yet consumed. */
const uint8_t *wire_body_stream_data(const wire_body_stream *b, size_t *len);
void wire_body_stream_consume(wire_body_stream *b, size_t n);
/* The source said WIRE_BODY_END and every byte was consumed. */
bool wire_body_stream_finished(const wire_body_stream *b);
/* Releases the source (completed: the response went out as meant) and frees the stream. NULL is fine. */
void wire_body_stream_free(wire_body_stream *b, bool completed);

/* How a driver sends the response of one of its exchanges. */
typedef struct wire_exchange_ops {
  /* Serialises and queues the response on the connection, unless the exchange was detached (then it must not
   * touch ex->stream). The driver drops its pointer to ex here: wire_exchange_respond frees ex right after. */
  void (*respond)(wire_exchange *ex, int status, const wire_headers *headers, const void *body, size_t len,
                  const wire_headers *trailers);
  /* The same for a streamed body (wire_exchange_respond_stream): the driver owns `body` from here and frees it
   * (wire_body_stream_free) when the response is over or the connection goes, also when ex was detached. */
  void (*respond_stream)(wire_exchange *ex, int status, const wire_headers *headers, wire_body_stream *body);
} wire_exchange_ops;

struct wire_exchange {
  wire_http_request req;
  const wire_exchange_ops *ops;
  void *stream;       /* driver's per-request state (HTTP/2 stream, HTTP/1 connection) */
  wire_server *server;
  char peer[64];
  bool tls;
  bool detached;      /* set by the driver when its connection closes before the response: respond() only frees */
};

/* Server config as the drivers see it (defaults applied). */
const wire_server_config *wire_server_config_of(const wire_server *s);
/* Allocates an exchange for a driver (request limits from the config). */
wire_exchange *wire_exchange_new(wire_server *s, wire_sconn *c, const wire_exchange_ops *ops, void *stream);
/* The request is complete: decompresses the body when configured (answering 413/415 itself on failure) and
 * calls the handler. */
void wire_server_dispatch(wire_server *s, wire_exchange *ex);
/* Frees an exchange that will never be dispatched (connection closed mid-request). Dispatched exchanges are
 * freed by wire_exchange_respond. */
void wire_exchange_free(wire_exchange *ex);

/* Driver constructors, called by the server when the listener attaches a connection. */
const wire_sconn_driver *wire_h1_driver_new(wire_server *s, wire_sconn *c, void **self);
const wire_sconn_driver *wire_h2_driver_new(wire_server *s, wire_sconn *c, void **self);

#endif
