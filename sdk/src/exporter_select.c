/* exporter_select.c — picks the exporter named by OTEL_METRICS_EXPORTER (otlp | console | none; the first of
 * a comma list) when the application does not pass one.
 *
 * The OTLP exporters live in exporter_otlp*.c, which provide otelc_otlp_exporter_from_env() (configured by
 * OTEL_EXPORTER_OTLP_*). The reference is a normal one, so that linking otelc_static pulls them in. */
#include <string.h>
#include <strings.h>

#include "sdk/src/env.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"

otelc_exporter *otelc_otlp_exporter_from_env(void);

otelc_exporter *otelc_exporter_from_env(void) {
  const char *v = otelc_env_get("OTEL_METRICS_EXPORTER");
  char first[32] = "otlp";
  if (v) {
    size_t n = strcspn(v, ", \t");
    if (n >= sizeof first) n = sizeof first - 1;
    memcpy(first, v, n);
    first[n] = 0;
  }
  if (!strcasecmp(first, "none")) return NULL;
  if (!strcasecmp(first, "console")) return otelc_console_exporter_create(stdout);
  if (strcasecmp(first, "otlp") != 0) {
    OTELC_WARN("OTEL_METRICS_EXPORTER: unknown exporter (want otlp|console|none); using otlp");
  }
  otelc_exporter *e = otelc_otlp_exporter_from_env();
  if (!e) OTELC_WARN("the OTLP exporter could not be created; metrics are not exported");
  return e;
}
