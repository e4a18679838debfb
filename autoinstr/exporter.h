/* exporter.h — the preload shim's choice of OTLP exporter: the SDK's own (sdk/src/exporter_otlp.c), over the
 * shim's build of the wire layer (otelc_wire_lite), which speaks OTLP/HTTP with protobuf bodies over plaintext
 * TCP or a Unix socket — what reaching the node-local receiver takes — and leaves TLS, HTTP/2, gRPC and gzip
 * out (see docs/autoinstr.md). Settings that build cannot honour are checked here, before the exporter exists,
 * so that they disable the shim with one clear line instead of failing every export. */
#ifndef OTELC_AUTOINSTR_EXPORTER_H
#define OTELC_AUTOINSTR_EXPORTER_H

#include <stddef.h>

#include "otelc/exporter.h"

/* Creates the SDK's OTLP exporter from the OTEL_EXPORTER_OTLP_* settings (read through getenv). Returns NULL
 * and a reason in why (safe to log: it names variables, never values) when the configuration is unusable or
 * asks for what the shim's wire build leaves out: a grpc protocol or an https:// endpoint.
 * A gzip compression setting is ignored (sent uncompressed; one log line). */
otelc_exporter *preload_exporter_create(char *why, size_t why_len);

#endif
