/* exporter.c — the preload shim's OTLP exporter is the SDK's, with the settings the shim's wire build cannot
 * honour refused or ignored first (see exporter.h). */
#include "autoinstr/exporter.h"

#include <stdio.h>

#include "otelc/otlp_exporter.h"
#include "sdk/src/exporter_otlp.h"
#include "sdk/src/log.h"

otelc_exporter *preload_exporter_create(char *why, size_t why_len) {
  otelc_otlp_config cfg = {0};
  if (otelc_otlp_config_resolve(NULL, &cfg, why, why_len) < 0) {
    otelc_otlp_config_free(&cfg);
    return NULL;
  }
  bool grpc = cfg.protocol == OTELC_OTLP_GRPC, tls = cfg.tls, gzip = cfg.gzip;
  const char *source = cfg.endpoint_source;
  if (grpc)
    snprintf(why, why_len,
             "OTEL_EXPORTER_OTLP_PROTOCOL: OTLP/gRPC is not supported by the preload shim (it needs HTTP/2; use "
             "http/protobuf to the local receiver)");
  else if (tls)
    snprintf(why, why_len,
             "%s: TLS is not supported by the preload shim (use an http:// endpoint: the local receiver needs no TLS)",
             source ? source : "the endpoint");
  otelc_otlp_config_free(&cfg); /* endpoint_source names a variable: a static string */
  if (grpc || tls) return NULL;
  if (gzip) OTELC_INFO("preload exporter: gzip compression is not supported; sending uncompressed");
  otelc_otlp_options o = {.compression = OTELC_OTLP_COMPRESSION_NONE};
  otelc_exporter *e = otelc_otlp_exporter_create(&o);
  if (!e) snprintf(why, why_len, "the OTLP exporter could not be created (the reason is logged above)");
  return e;
}
