/* endpoint.h — where a client connects, parsed from the forms users write:
 *   http://host:port/path   https://host:port/path   host:port   dns:///host:port   dns://authority/host:port
 *   [::1]:4317   unix:///run/otelc.sock (path to a Unix socket)
 * A missing port takes `default_port`; https:// turns TLS on; a path is kept for HTTP (OTLP/HTTP appends
 * /v1/metrics to a base endpoint, see the SDK). */
#ifndef OTELC_WIRE_ENDPOINT_H
#define OTELC_WIRE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/err.h"

typedef struct wire_endpoint {
  char scheme[8];   /* "http", "https", "dns", "unix" or "" when none was written */
  char host[256];   /* name or address without brackets; for unix: the socket path */
  uint16_t port;
  char path[1024];  /* "" or starting with '/' */
  bool tls;         /* https:// */
  bool is_unix;
} wire_endpoint;

int wire_endpoint_parse(const char *text, uint16_t default_port, wire_endpoint *out, wire_err *err);
/* "host:port" (IPv6 in brackets) for Host/:authority headers. */
void wire_endpoint_authority(const wire_endpoint *ep, char *out, size_t outlen);

#endif
