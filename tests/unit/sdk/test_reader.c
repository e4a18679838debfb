/* test_reader.c — the periodic reader and the exporters around it: periodic exports on the reader thread,
 * shutdown exporting the final state exactly once (then refusing), flush after shutdown, export failures
 * counted in the SDK's own metrics (otelc.sdk.*) with the exporter hooks, the console exporter's text, and
 * the in-memory exporter's window of kept batches. */
#include <pthread.h>
#include <unistd.h>

#include "sdk_testutil.h"

static void shutdown_exports_once(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL);
  otelc_add_u64(c, 3, NULL, 0);
  CHECK_EQ(otelc_memory_exporter_batches(exp), 0);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 1000), OTELC_OK);
  CHECK_EQ(otelc_memory_exporter_batches(exp), 1);
  CHECK_EQ(SDK_POINT(exp, "c", NULL, 0).as_int, 3);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 1000), OTELC_E_STATE);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_E_STATE);
  otelc_add_u64(c, 3, NULL, 0); /* ignored, harmless */
  CHECK_EQ(otelc_memory_exporter_batches(exp), 1);
  otelc_meter_provider_free(mp); /* does not export again */
}

static void periodic_reader(void) {
  otelc_exporter *exp = otelc_memory_exporter_create(4);
  otelc_meter_provider *mp;
  otelc_provider_options o = {.exporter = exp, .export_interval_ms = 10, .no_self_metrics = true};
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL);
  otelc_add_u64(c, 1, NULL, 0);
  for (int i = 0; i < 500 && otelc_memory_exporter_batches(exp) < 3; i++) usleep(10 * 1000);
  CHECK(otelc_memory_exporter_batches(exp) >= 3);
  size_t before = otelc_memory_exporter_batches(exp);
  otelc_add_u64(c, 1, NULL, 0);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 1000), OTELC_OK);
  size_t after = otelc_memory_exporter_batches(exp);
  CHECK(after >= before + 1);
  CHECK_EQ(SDK_POINT(exp, "c", NULL, 0).as_int, 2);
  usleep(50 * 1000);
  CHECK_EQ(otelc_memory_exporter_batches(exp), after); /* the reader thread is gone */
  otelc_meter_provider_free(mp);
}

/* An exporter that fails, reporting retries and errors through the health hooks. */
static int g_calls;
static otelc_export_result failing_export(otelc_exporter *self, const otelc_export_batch *b, int64_t deadline) {
  g_calls++;
  otelc_health_add(b->provider, OTELC_HEALTH_EXPORT_RETRIES, 2, "unavailable");
  otelc_health_add(b->provider, OTELC_HEALTH_EXPORT_ERRORS, 3, "unavailable");
  otelc_health_add(b->provider, OTELC_HEALTH_POINTS_REJECTED, 1, NULL);
  return g_calls == 1 ? OTELC_EXPORT_RETRYABLE : OTELC_EXPORT_SUCCESS;
}
static void failing_destroy(otelc_exporter *self) { free(self); }

static void health_metrics(void) {
  /* The flaky exporter fails once, then succeeds; afterwards the provider's exporter is pointed at a memory
   * exporter to read back what the SDK recorded about itself. */
  otelc_exporter *mem = otelc_memory_exporter_create(4);
  otelc_exporter *fail = calloc(1, sizeof *fail);
  fail->name = "flaky";
  fail->export_batch = failing_export;
  fail->destroy = failing_destroy;
  otelc_meter_provider *mp;
  otelc_provider_options o = {.exporter = fail, .export_interval_ms = -1};
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_E_EXPORT);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
  /* swap in the memory exporter to read what the SDK recorded about itself */
  otelc_exporter saved = *fail;
  fail->export_batch = mem->export_batch;
  fail->user = mem->user;
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
  otelc_attr flaky[] = {OTELC_ATTR_STR("otelc.exporter", "flaky")};
  otelc_attr flaky_retry[] = {OTELC_ATTR_STR("otelc.exporter", "flaky"), OTELC_ATTR_STR("error.type", "retryable")};
  otelc_attr flaky_unavail[] = {OTELC_ATTR_STR("otelc.exporter", "flaky"),
                                OTELC_ATTR_STR("error.type", "unavailable")};
  CHECK_EQ(SDK_POINT(mem, "otelc.sdk.exporter.exports.failed", flaky_retry, 2).as_int, 1);
  CHECK_EQ(SDK_POINT(mem, "otelc.sdk.exporter.points.dropped", flaky_retry, 2).as_int, 1);
  CHECK(SDK_POINT(mem, "otelc.sdk.exporter.points.exported", flaky, 1).as_int >= 1);
  CHECK_EQ(SDK_POINT(mem, "otelc.sdk.exporter.export.retries", flaky_unavail, 2).as_int, 4);
  CHECK_EQ(SDK_POINT(mem, "otelc.sdk.exporter.export.errors", flaky_unavail, 2).as_int, 6);
  CHECK_EQ(SDK_POINT(mem, "otelc.sdk.exporter.points.rejected", flaky, 1).as_int, 2);
  otelc_point d = SDK_POINT(mem, "otelc.sdk.exporter.export.duration", flaky, 1);
  CHECK_EQ(d.type, OTELC_POINT_HISTOGRAM);
  CHECK_EQ(d.count, 2);
  const char *desc, *unit, *scope;
  CHECK(otelc_memory_exporter_metric_info(mem, 0, "otelc.sdk.exporter.export.duration", &desc, &unit, &scope));
  CHECK_STR(unit, "s");
  CHECK_STR(scope, "otelc");
  otelc_meter_provider_shutdown(mp, 1000);
  fail->export_batch = saved.export_batch;
  fail->user = saved.user;
  otelc_meter_provider_free(mp);
  mem->destroy(mem);
}

static void console_exporter(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/console.txt", test_tmpdir());
  FILE *f = fopen(path, "w+");
  CHECK(f != NULL);
  otelc_meter_provider *mp;
  otelc_provider_options o = {.exporter = otelc_console_exporter_create(f), .export_interval_ms = -1,
                              .no_self_metrics = true};
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("queue", "mail"), OTELC_ATTR_BOOL("retry", false)};
  otelc_add_u64(otelc_counter_u64(m, "jobs.done", NULL), 42, a, 2);
  otelc_record_f64(otelc_histogram(m, "job.duration", NULL), 7, a, 2);
  otelc_record_f64(otelc_histogram(m, "job.size", &(otelc_instrument_options){
                                                      .aggregation = OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM}),
                   2, NULL, 0);
  otelc_record_i64(otelc_gauge_i64(m, "temp", NULL), -4, NULL, 0);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 1000), OTELC_OK);
  otelc_meter_provider_free(mp);
  fclose(f);
  char *text = test_read_file(path, NULL);
  CHECK_CONTAINS(text, "otelc export: 4 metrics, 4 points");
  CHECK_CONTAINS(text, "telemetry.sdk.name=\"otelc\"");
  CHECK_CONTAINS(text, "jobs.done{queue=\"mail\", retry=false} sum(int,monotonic,cumulative) 42");
  CHECK_CONTAINS(text, "job.duration{queue=\"mail\", retry=false} histogram(cumulative) count=1 sum=7 min=7 max=7");
  CHECK_CONTAINS(text, "le10=1");
  CHECK_CONTAINS(text, "job.size{} exp_histogram(cumulative) count=1 sum=2 scale=20");
  CHECK_CONTAINS(text, "temp{} gauge -4");
  free(text);
}

static void memory_exporter_window(void) {
  otelc_exporter *exp = otelc_memory_exporter_create(2);
  otelc_meter_provider *mp;
  otelc_provider_options o = {.exporter = exp, .export_interval_ms = -1, .no_self_metrics = true};
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_instrument *g = otelc_gauge_i64(otelc_meter_get(mp, "t", NULL, NULL), "g", NULL);
  for (int i = 1; i <= 3; i++) {
    otelc_record_i64(g, i, NULL, 0);
    otelc_meter_provider_force_flush(mp, 1000);
  }
  CHECK_EQ(otelc_memory_exporter_batches(exp), 3);
  otelc_point p;
  CHECK(otelc_memory_exporter_find(exp, 0, "g", NULL, 0, &p) && p.as_int == 3);
  CHECK(otelc_memory_exporter_find(exp, 1, "g", NULL, 0, &p) && p.as_int == 2);
  CHECK(!otelc_memory_exporter_find(exp, 2, "g", NULL, 0, &p)); /* fell out of the window */
  size_t len = 0;
  uint8_t *bytes = otelc_memory_exporter_bytes(exp, 0, &len);
  CHECK(bytes != NULL && len > 0);
  free(bytes);
  otelc_attr wrong[] = {OTELC_ATTR_STR("x", "y")};
  CHECK(!otelc_memory_exporter_find(exp, 0, "g", wrong, 1, &p));
  CHECK(!otelc_memory_exporter_find(exp, 0, "absent", NULL, 0, &p));
  otelc_memory_exporter_clear(exp);
  CHECK_EQ(otelc_memory_exporter_batches(exp), 0);
  CHECK(!otelc_memory_exporter_find(exp, 0, "g", NULL, 0, &p));
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(shutdown_exports_once);
  RUN(periodic_reader);
  RUN(health_metrics);
  RUN(console_exporter);
  RUN(memory_exporter_window);
  return test_finish();
}
