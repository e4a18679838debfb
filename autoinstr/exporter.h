/* exporter.h — the preload shim's choice of OTLP exporter: the SDK's own (sdk/src/exporter_otlp.c), over the
 * shim's build of the wire layer (otelc_wire_lite), which speaks OTLP/HTTP (protobuf bodies) and OTLP/gRPC
 * (HTTP/2 with prior knowledge), gzip-compressed or not, over plaintext TCP or a Unix socket — what reaching the
 * node-local receiver takes — and leaves TLS out (see docs/autoinstr.md). A setting that build cannot honour is
 * checked here, before the exporter exists, so that it disables the shim with one clear line instead of
 * failing every export. */
#ifndef OTELC_AUTOINSTR_EXPORTER_H
#define OTELC_AUTOINSTR_EXPORTER_H

#include <stddef.h>

#include "otelc/exporter.h"

/* Creates the SDK's OTLP exporter from the OTEL_EXPORTER_OTLP_* settings (read through getenv): protocol
 * http/protobuf or grpc, compression gzip or none, as configured. Returns NULL and a reason in why (safe to
 * log: it names variables, never values) when the configuration is unusable or asks for TLS (an https://
 * endpoint, or OTEL_EXPORTER_OTLP_INSECURE=false with grpc), which the shim's wire build leaves out. */
otelc_exporter *preload_exporter_create(char *why, size_t why_len);

#endif
