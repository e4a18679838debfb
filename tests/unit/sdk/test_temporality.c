/* test_temporality.c — cumulative (the default) versus delta and lowmemory: which instrument kinds each
 * preference makes delta, delta points resetting every interval and skipped when nothing happened, start
 * times (fixed for cumulative, the previous collection for delta), and the environment variable. */
#include "sdk_testutil.h"

static void cumulative_accumulates_with_a_fixed_start(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_instrument *h = otelc_histogram(m, "h", NULL);
  otelc_add_u64(c, 2, NULL, 0);
  otelc_record_f64(h, 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p1 = SDK_POINT(exp, "c", NULL, 0);
  CHECK(!p1.delta);
  CHECK_EQ(p1.as_int, 2);
  CHECK(p1.start_time_ns > 0 && p1.start_time_ns <= p1.time_ns);
  otelc_add_u64(c, 3, NULL, 0);
  otelc_record_f64(h, 7, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p2 = SDK_POINT(exp, "c", NULL, 0);
  CHECK_EQ(p2.as_int, 5);
  CHECK_EQ(p2.start_time_ns, p1.start_time_ns);
  CHECK(p2.time_ns >= p1.time_ns);
  otelc_point hp = SDK_POINT(exp, "h", NULL, 0);
  CHECK_EQ(hp.count, 2);
  CHECK_DBL(hp.min, 1);
  CHECK_DBL(hp.max, 7);
  CHECK_EQ(hp.start_time_ns, p1.start_time_ns);
  /* nothing new: cumulative still reports */
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "c", NULL, 0).as_int, 5);
  otelc_meter_provider_free(mp);
}

static void delta_resets_each_interval(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DELTA, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_instrument *cf = otelc_counter_f64(m, "cf", NULL);
  otelc_instrument *ud = otelc_updown_i64(m, "ud", NULL);
  otelc_instrument *h = otelc_histogram(m, "h", NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("k", "v")};
  otelc_series *bound = otelc_bind(c, a, 1);
  otelc_add_u64(c, 2, a, 1);
  otelc_series_add_u64(bound, 1);
  otelc_record_f64(cf, 0.5, NULL, 0);
  otelc_record_i64(ud, 4, NULL, 0);
  otelc_record_f64(h, 3, NULL, 0);
  otelc_record_f64(h, 9, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p1 = SDK_POINT(exp, "c", a, 1);
  CHECK(p1.delta);
  CHECK_EQ(p1.as_int, 3);
  otelc_point u1 = SDK_POINT(exp, "ud", NULL, 0);
  CHECK(!u1.delta); /* up-down counters stay cumulative under "delta" */
  CHECK_EQ(u1.as_int, 4);
  otelc_point h1 = SDK_POINT(exp, "h", NULL, 0);
  CHECK(h1.delta);
  CHECK_EQ(h1.count, 2);

  otelc_add_u64(c, 10, a, 1);
  otelc_series_add_u64(bound, 5);
  otelc_record_i64(ud, -1, NULL, 0);
  otelc_record_f64(h, 4, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p2 = SDK_POINT(exp, "c", a, 1);
  CHECK_EQ(p2.as_int, 15);
  CHECK_EQ(p2.start_time_ns, p1.time_ns); /* a delta interval starts where the previous one ended */
  CHECK(p2.time_ns >= p2.start_time_ns);
  CHECK_EQ(SDK_POINT(exp, "ud", NULL, 0).as_int, 3);
  otelc_point h2 = SDK_POINT(exp, "h", NULL, 0);
  CHECK_EQ(h2.count, 1);
  CHECK_DBL(h2.sum, 4);
  CHECK_DBL(h2.min, 4); /* min/max are per interval too */
  CHECK_DBL(h2.max, 4);
  CHECK_EQ(h2.bucket_counts[1], 1);
  CHECK_EQ(h2.bucket_counts[2], 0);
  /* the double counter had nothing this interval: no point */
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "cf"), -1);

  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "c"), -1);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "ud"), 1);
  otelc_series_release(bound);
  otelc_meter_provider_free(mp);
}

static void observe_total(otelc_observer *obs, void *user) {
  int64_t *total = user;
  otelc_observe_i64(obs, *total, NULL, 0);
}

static void lowmemory_and_observables(void) {
  int64_t total = 10;
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_LOWMEMORY, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_instrument *h = otelc_histogram(m, "h", NULL);
  otelc_observable_counter_i64(m, "oc", NULL, observe_total, &total);
  otelc_add_u64(c, 1, NULL, 0);
  otelc_record_f64(h, 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK(SDK_POINT(exp, "c", NULL, 0).delta);
  CHECK(SDK_POINT(exp, "h", NULL, 0).delta);
  otelc_point o = SDK_POINT(exp, "oc", NULL, 0);
  CHECK(!o.delta); /* lowmemory: observable counters stay cumulative */
  CHECK_EQ(o.as_int, 10);
  otelc_meter_provider_free(mp);

  /* delta: observable counters report the difference between observations */
  mp = sdk_test_provider(OTELC_TEMPORALITY_DELTA, &exp);
  m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_observable_counter_i64(m, "oc", NULL, observe_total, &total);
  otelc_meter_provider_force_flush(mp, 1000);
  o = SDK_POINT(exp, "oc", NULL, 0);
  CHECK(o.delta);
  CHECK_EQ(o.as_int, 10);
  total = 25;
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "oc", NULL, 0).as_int, 15);
  otelc_meter_provider_free(mp);
}

static void preference_from_the_environment(void) {
  otelc_exporter *exp;
  setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta", 1);
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK(SDK_POINT(exp, "c", NULL, 0).delta);
  otelc_meter_provider_free(mp);
  /* code wins over the environment */
  mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK(!SDK_POINT(exp, "c", NULL, 0).delta);
  otelc_meter_provider_free(mp);
  /* a bad value falls back to cumulative */
  setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", 1);
  mp = sdk_test_provider(OTELC_TEMPORALITY_DEFAULT, &exp);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK(!SDK_POINT(exp, "c", NULL, 0).delta);
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
}

int main(void) {
  sdk_test_clear_env();
  RUN(cumulative_accumulates_with_a_fixed_start);
  RUN(delta_resets_each_interval);
  RUN(lowmemory_and_observables);
  RUN(preference_from_the_environment);
  return test_finish();
}
