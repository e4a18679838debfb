/* test_env.c — configuration from the environment: the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
 * with percent-decoding, discarded whole when malformed, detected attributes, code overrides),
 * OTEL_SDK_DISABLED, the default histogram aggregation, the export interval, bad values falling back with a
 * warning line, and OTEL_LOG_LEVEL. */
#include <unistd.h>

#include "sdk_testutil.h"

static char g_log[4096];
static void capture_log(otelc_log_level level, const char *line, void *user) {
  size_t n = strlen(g_log);
  snprintf(g_log + n, sizeof g_log - n, "%s\n", line);
}

static void flush_one(otelc_meter_provider *mp) {
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
}

static void resource_from_environment(void) {
  setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod, team = a%20b%2Cc ,service.name=fromattrs", 1);
  setenv("OTEL_SERVICE_NAME", "checkout", 1);
  otelc_exporter *exp;
  otelc_attr extra[] = {OTELC_ATTR_STR("team", "override"), OTELC_ATTR_INT("shard", 7),
                        OTELC_ATTR_INT("process.pid", 1)};
  otelc_provider_options o = {.exporter = exp = otelc_memory_exporter_create(2), .export_interval_ms = -1,
                              .no_self_metrics = true, .resource_attrs = extra, .n_resource_attrs = 2};
  otelc_meter_provider *mp;
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  flush_one(mp);
  char buf[256];
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "service.name", buf, sizeof buf));
  CHECK_STR(buf, "checkout");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "deployment.environment", buf, sizeof buf));
  CHECK_STR(buf, "prod");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "team", buf, sizeof buf));
  CHECK_STR(buf, "override");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "shard", buf, sizeof buf));
  CHECK_STR(buf, "7");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "telemetry.sdk.name", buf, sizeof buf));
  CHECK_STR(buf, "otelc");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "telemetry.sdk.language", buf, sizeof buf));
  CHECK_STR(buf, "c");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "telemetry.sdk.version", buf, sizeof buf));
  CHECK_STR(buf, OTELC_VERSION_STRING);
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "process.pid", buf, sizeof buf));
  CHECK_EQ(atol(buf), getpid());
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "process.executable.name", buf, sizeof buf));
  CHECK_STR(buf, "sdk_test_env");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "host.name", buf, sizeof buf));
  otelc_meter_provider_free(mp);
  /* percent-decoding of a value, with the service name coming from the attributes */
  unsetenv("OTEL_SERVICE_NAME");
  setenv("OTEL_RESOURCE_ATTRIBUTES", "team=a%20b%2Cc,service.name=fromattrs", 1);
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  flush_one(mp);
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "team", buf, sizeof buf));
  CHECK_STR(buf, "a b,c");
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "service.name", buf, sizeof buf));
  CHECK_STR(buf, "fromattrs");
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}

static void bad_resource_attributes_are_discarded(void) {
  g_log[0] = 0;
  otelc_set_log_handler(capture_log, NULL);
  setenv("OTEL_RESOURCE_ATTRIBUTES", "good=1,bad%zz=2", 1);
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  flush_one(mp);
  char buf[256];
  CHECK(!otelc_memory_exporter_resource_attr(exp, 0, "good", buf, sizeof buf));
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "service.name", buf, sizeof buf));
  CHECK_STR(buf, "unknown_service:sdk_test_env");
  CHECK_CONTAINS(g_log, "OTEL_RESOURCE_ATTRIBUTES");
  otelc_meter_provider_free(mp);
  setenv("OTEL_RESOURCE_ATTRIBUTES", "novalue", 1);
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  flush_one(mp);
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "service.name", buf, sizeof buf));
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
  otelc_set_log_handler(NULL, NULL);
}

static void sdk_disabled(void) {
  setenv("OTEL_SDK_DISABLED", "TRUE", 1);
  otelc_meter_provider *mp;
  CHECK_EQ(otelc_meter_provider_create(&(otelc_provider_options){.exporter = otelc_memory_exporter_create(1)}, &mp),
           OTELC_OK);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_add_u64(c, 1, NULL, 0);
  otelc_series_add_u64(otelc_bind(c, NULL, 0), 1);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 100), OTELC_OK);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 100), OTELC_OK);
  otelc_meter_provider_free(mp);
  setenv("OTEL_SDK_DISABLED", "false", 1);
  otelc_exporter *exp;
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  flush_one(mp);
  CHECK_EQ(otelc_memory_exporter_batches(exp), 1);
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_SDK_DISABLED");
}

static void histogram_aggregation_and_bad_numbers(void) {
  g_log[0] = 0;
  otelc_set_log_handler(capture_log, NULL);
  setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "base2_exponential_bucket_histogram", 1);
  setenv("OTEL_METRIC_EXPORT_INTERVAL", "-5", 1);
  setenv("OTEL_METRIC_EXPORT_TIMEOUT", "soon", 1);
  otelc_exporter *exp = otelc_memory_exporter_create(2);
  otelc_meter_provider *mp;
  CHECK_EQ(otelc_meter_provider_create(&(otelc_provider_options){.exporter = exp, .no_self_metrics = true}, &mp),
           OTELC_OK);
  CHECK_CONTAINS(g_log, "OTEL_METRIC_EXPORT_INTERVAL");
  CHECK_CONTAINS(g_log, "OTEL_METRIC_EXPORT_TIMEOUT");
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_record_f64(otelc_histogram(m, "h", NULL), 1, NULL, 0);
  otelc_record_f64(otelc_histogram(m, "hx", &(otelc_instrument_options){
                                                .aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM}),
                   1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "h", NULL, 0).type, OTELC_POINT_EXP_HISTOGRAM);
  CHECK_EQ(SDK_POINT(exp, "hx", NULL, 0).type, OTELC_POINT_HISTOGRAM);
  otelc_meter_provider_free(mp);
  g_log[0] = 0;
  setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "summary", 1);
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  CHECK_CONTAINS(g_log, "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION");
  otelc_record_f64(otelc_histogram(otelc_meter_get(mp, "t", NULL, NULL), "h", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "h", NULL, 0).type, OTELC_POINT_HISTOGRAM);
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION");
  unsetenv("OTEL_METRIC_EXPORT_INTERVAL");
  unsetenv("OTEL_METRIC_EXPORT_TIMEOUT");
  otelc_set_log_handler(NULL, NULL);
}

static void exporter_selection_and_log_rate_limit(void) {
  setenv("OTEL_METRICS_EXPORTER", "none", 1);
  otelc_meter_provider *mp;
  CHECK_EQ(otelc_meter_provider_create(NULL, &mp), OTELC_OK);
  flush_one(mp);
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_METRICS_EXPORTER");
  /* a site logs once per window, then counts what it suppressed */
  g_log[0] = 0;
  otelc_set_log_handler(capture_log, NULL);
  otelc_exporter *exp;
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL);
  for (int i = 0; i < 100; i++) otelc_record_i64(c, -1, NULL, 0);
  size_t lines = 0;
  for (const char *p = g_log; (p = strstr(p, "negative counter")); p++) lines++;
  CHECK_EQ(lines, 1);
  otelc_set_log_level(OTELC_LOG_NONE);
  otelc_meter_provider_free(mp);
  otelc_set_log_level(OTELC_LOG_INFO);
  otelc_set_log_handler(NULL, NULL);
}

int main(void) {
  sdk_test_clear_env();
  RUN(resource_from_environment);
  RUN(bad_resource_attributes_are_discarded);
  RUN(sdk_disabled);
  RUN(histogram_aggregation_and_bad_numbers);
  RUN(exporter_selection_and_log_rate_limit);
  return test_finish();
}
