/* err.h — how the wire layer reports failures.
 *
 * Every fallible wire function takes a `wire_err *` (may be NULL) and fills it with a class and a readable
 * message that says what failed, where and why ("http1: header line exceeds 8192 bytes at offset 8200").
 * Messages never contain header values, tokens or message bodies: callers may log them as they are. */
#ifndef OTELC_WIRE_ERR_H
#define OTELC_WIRE_ERR_H

#include <stdbool.h>

typedef enum wire_err_code {
  WIRE_OK = 0,
  WIRE_E_INVALID,   /* malformed input: bad framing, bad protobuf, bad syntax */
  WIRE_E_LIMIT,     /* input exceeds a configured limit (size, count, decompressed size) */
  WIRE_E_IO,        /* socket error or peer closed unexpectedly */
  WIRE_E_TIMEOUT,   /* a deadline passed */
  WIRE_E_TLS,       /* TLS handshake, verification or configuration failure */
  WIRE_E_DNS,       /* name resolution failed */
  WIRE_E_PROTOCOL,  /* peer violated the protocol (HTTP/2 error, unexpected gRPC content type, ...) */
  WIRE_E_UNSUPPORTED, /* valid but not supported (unknown content-encoding, ...) */
  WIRE_E_NOMEM,     /* allocation failed */
  WIRE_E_CLOSED,    /* the object was shut down */
} wire_err_code;

typedef struct wire_err {
  wire_err_code code;
  char msg[256];
} wire_err;

/* Sets *e (if e != NULL) and returns -1 so that callers can `return wire_err_set(...)`. */
int wire_err_set(wire_err *e, wire_err_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes an existing message: "otlp exporter: " + previous message. */
void wire_err_prefix(wire_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wire_err_clear(wire_err *e);
const char *wire_err_code_name(wire_err_code code);

#endif
