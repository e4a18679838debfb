/* exporter.c — the preload shim's OTLP exporter is the SDK's, with the one setting the shim's wire build cannot
 * honour (TLS) refused first (see exporter.h). Protocol (http/protobuf or grpc) and compression (gzip or none)
 * pass through unchanged: the lite wire build has the HTTP/2 + gRPC client and gzip. */
#include "autoinstr/exporter.h"

#include <stdio.h>

#include "otelc/otlp_exporter.h"
#include "sdk/src/exporter_otlp.h"

otelc_exporter *preload_exporter_create(char *why, size_t why_len) {
  otelc_otlp_config cfg = {0};
  if (otelc_otlp_config_resolve(NULL, &cfg, why, why_len) < 0) {
    otelc_otlp_config_free(&cfg);
    return NULL;
  }
  bool tls = cfg.tls, no_scheme = !cfg.ep.is_unix && cfg.ep.scheme[0] == '\0';
  const char *source = cfg.endpoint_source; /* names a variable ("default", "options"): a static string */
  otelc_otlp_config_free(&cfg);
  if (tls) {
    /* Without a scheme (the usual gRPC form "host:4317"), OTLP means TLS unless *_INSECURE says otherwise. */
    snprintf(why, why_len, "%s: TLS is not supported by the preload shim (%s: the local receiver needs no TLS)",
             source ? source : "the endpoint",
             no_scheme ? "use an http:// endpoint or set OTEL_EXPORTER_OTLP_INSECURE=true" : "use an http:// endpoint");
    return NULL;
  }
  otelc_exporter *e = otelc_otlp_exporter_create(NULL); /* protocol, compression, headers: from the settings */
  if (!e) snprintf(why, why_len, "the OTLP exporter could not be created (the reason is logged above)");
  return e;
}
