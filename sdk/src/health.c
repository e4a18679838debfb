/* health.c — the SDK's own metrics (otelc.sdk.*), recorded into ordinary instruments of the meter "otelc" and
 * exported with everything else:
 *   otelc.sdk.exporter.points.exported   counter   {point}   points in batches the exporter accepted
 *   otelc.sdk.exporter.points.dropped    counter   {point}   points in batches that failed (not resent)
 *   otelc.sdk.exporter.exports.failed    counter   {export}  failed export calls (error.type)
 *   otelc.sdk.exporter.export.duration   histogram s         time spent in export calls
 *   otelc.sdk.exporter.export.retries    counter   {retry}   retried attempts (from the exporter)
 *   otelc.sdk.exporter.export.errors     counter   {error}   failed attempts incl. retried (error.type)
 *   otelc.sdk.exporter.points.rejected   counter   {point}   rejected by partial success (from the exporter)
 * Every point carries otelc.exporter=<exporter name>. */
#include "sdk/src/internal.h"

static const double k_duration_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void otelc_health_init(otelc_meter_provider *p) {
  if (!p->self_metrics) return;
  otelc_meter *m = otelc_meter_get(p, "otelc", OTELC_VERSION_STRING, NULL);
  otelc_instrument_options o = {0};
  o.unit = "{point}";
  o.description = "Data points in batches the exporter accepted";
  p->h_exported = otelc_counter_u64(m, "otelc.sdk.exporter.points.exported", &o);
  o.description = "Data points in batches whose export failed (not resent)";
  p->h_dropped = otelc_counter_u64(m, "otelc.sdk.exporter.points.dropped", &o);
  o.description = "Data points the backend rejected in a partial success";
  p->h_rejected = otelc_counter_u64(m, "otelc.sdk.exporter.points.rejected", &o);
  o.unit = "{export}";
  o.description = "Export calls that failed";
  p->h_failed = otelc_counter_u64(m, "otelc.sdk.exporter.exports.failed", &o);
  o.unit = "{retry}";
  o.description = "Export attempts retried after a retryable failure";
  p->h_retries = otelc_counter_u64(m, "otelc.sdk.exporter.export.retries", &o);
  o.unit = "{error}";
  o.description = "Failed export attempts, retried or not";
  p->h_errors = otelc_counter_u64(m, "otelc.sdk.exporter.export.errors", &o);
  o.unit = "s";
  o.description = "Duration of export calls";
  o.aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM;
  o.boundaries = k_duration_bounds;
  o.n_boundaries = sizeof k_duration_bounds / sizeof k_duration_bounds[0];
  p->h_duration = otelc_histogram(m, "otelc.sdk.exporter.export.duration", &o);
}

static const char *exporter_name(const otelc_meter_provider *p) {
  return p->exporter && p->exporter->name ? p->exporter->name : "unknown";
}

void otelc_health_export_done(otelc_meter_provider *p, otelc_export_result r, size_t n_points, double seconds) {
  if (!p->self_metrics || !p->h_exported) return;
  otelc_attr a[2] = {OTELC_ATTR_STR("otelc.exporter", exporter_name(p)), OTELC_ATTR_STR("error.type", "")};
  if (r == OTELC_EXPORT_SUCCESS) {
    otelc_add_u64(p->h_exported, n_points, a, 1);
  } else {
    a[1].v.s = r == OTELC_EXPORT_RETRYABLE ? "retryable" : "permanent";
    otelc_add_u64(p->h_dropped, n_points, a, 2);
    otelc_add_u64(p->h_failed, 1, a, 2);
  }
  otelc_record_f64(p->h_duration, seconds, a, 1);
}

void otelc_health_add(otelc_meter_provider *p, otelc_health_counter which, uint64_t n, const char *error_type) {
  if (!p || p->disabled || !p->self_metrics || !p->h_exported) return;
  otelc_attr a[2] = {OTELC_ATTR_STR("otelc.exporter", exporter_name(p)),
                     OTELC_ATTR_STR("error.type", error_type ? error_type : "")};
  size_t na = error_type && error_type[0] ? 2 : 1;
  switch (which) {
  case OTELC_HEALTH_EXPORT_RETRIES: otelc_add_u64(p->h_retries, n, a, na); break;
  case OTELC_HEALTH_POINTS_REJECTED: otelc_add_u64(p->h_rejected, n, a, na); break;
  case OTELC_HEALTH_EXPORT_ERRORS: otelc_add_u64(p->h_errors, n, a, na); break;
  default: break;
  }
}
