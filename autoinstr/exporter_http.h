/* exporter_http.h — the preload shim's own OTLP exporter: OTLP/HTTP with protobuf bodies over plaintext TCP or a
 * Unix socket, which is what reaching the node-local receiver takes.
 *
 * Why not the SDK's OTLP exporter: it brings TLS (libssl), HTTP/2 (libnghttp2) and DNS (libc-ares), and the
 * shim must not load those into every process it is preloaded in (a host with its own OpenSSL must keep it
 * alone). This exporter needs libc only: blocking I/O with poll() deadlines on its own thread, one kept-alive
 * connection, a response read with the wire layer's HTTP/1 parser. Configuration comes from the same
 * OTEL_EXPORTER_OTLP_[METRICS_]* variables as the SDK's exporter (resolved by the SDK's own rules); settings it
 * cannot honour (gRPC, https, gzip) are refused with a reason, or ignored with one log line (gzip). */
#ifndef OTELC_AUTOINSTR_EXPORTER_HTTP_H
#define OTELC_AUTOINSTR_EXPORTER_HTTP_H

#include <stddef.h>

#include "otelc/exporter.h"

/* Creates the exporter from the OTEL_EXPORTER_OTLP_* settings (read through getenv). Returns NULL and a
 * reason in why (safe to log: it names variables, never values) when the configuration asks for something
 * this exporter does not do (gRPC, TLS) or is unusable. */
otelc_exporter *preload_http_exporter_create(char *why, size_t why_len);

#endif
