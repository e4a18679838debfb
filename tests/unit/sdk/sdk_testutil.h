/* sdk_testutil.h — helpers shared by the SDK unit tests: a provider wired to an in-memory exporter with no
 * periodic reader (tests flush explicitly), and shorthands to read points back. */
#ifndef OTELC_TESTS_SDK_TESTUTIL_H
#define OTELC_TESTS_SDK_TESTUTIL_H

#include <stdlib.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "testlib.h"

/* Clears every OTEL_* variable the SDK reads, so tests start from the defaults. */
static inline void sdk_test_clear_env(void) {
  static const char *const vars[] = {"OTEL_SDK_DISABLED", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_TIMEOUT",
                                     "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                                     "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                                     "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRICS_EXPORTER", NULL};
  for (int i = 0; vars[i]; i++) unsetenv(vars[i]);
}

/* A provider exporting only on flush into a memory exporter keeping 8 batches; *exp receives the exporter. */
static inline otelc_meter_provider *sdk_test_provider(otelc_temporality_preference t, otelc_exporter **exp) {
  otelc_provider_options o = {0};
  *exp = otelc_memory_exporter_create(8);
  o.exporter = *exp;
  o.export_interval_ms = -1;
  o.temporality = t;
  o.no_self_metrics = true;
  otelc_meter_provider *mp = NULL;
  int rc = otelc_meter_provider_create(&o, &mp);
  CHECK_EQ(rc, OTELC_OK);
  return mp;
}

/* Finds a point in the newest batch; fails the test (and returns a zeroed point) if it is absent. */
#define SDK_POINT(exp, name, attrs, n) sdk_test_point(__FILE__, __LINE__, (exp), (name), (attrs), (n))
static inline otelc_point sdk_test_point(const char *file, int line, otelc_exporter *exp, const char *name,
                                         const otelc_attr *attrs, size_t n) {
  otelc_point p;
  if (!otelc_memory_exporter_find(exp, 0, name, attrs, n, &p)) {
    test_fail(file, line, "no point for metric %s with the given attributes", name);
    memset(&p, 0, sizeof p);
  }
  return p;
}

#endif
