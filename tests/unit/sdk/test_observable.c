/* test_observable.c — observable counters, up-down counters and gauges: callbacks run once per collection on
 * the collecting thread, report values per attribute set (the last report wins), sets not reported in a
 * collection are not exported, and negative counter observations are refused. */
#include <pthread.h>

#include "sdk_testutil.h"

typedef struct state {
  int calls;
  pthread_t thread;
  int64_t cpu;
  double temp;
  bool report_b;
} state;

static void observe_counter(otelc_observer *obs, void *user) {
  state *st = user;
  st->calls++;
  st->thread = pthread_self();
  otelc_attr user_mode[] = {OTELC_ATTR_STR("cpu.mode", "user")};
  otelc_attr sys_mode[] = {OTELC_ATTR_STR("cpu.mode", "system")};
  otelc_observe_i64(obs, st->cpu, user_mode, 1);
  otelc_observe_i64(obs, st->cpu / 2, sys_mode, 1);
  otelc_observe_i64(obs, -1, NULL, 0); /* refused */
}

static void observe_gauge(otelc_observer *obs, void *user) {
  state *st = user;
  otelc_attr a[] = {OTELC_ATTR_STR("sensor", "a")};
  otelc_attr b[] = {OTELC_ATTR_STR("sensor", "b")};
  otelc_observe_f64(obs, 1.0, a, 1);
  otelc_observe_f64(obs, st->temp, a, 1); /* the last report wins */
  if (st->report_b) otelc_observe_f64(obs, -40, b, 1);
}

static void observe_updown(otelc_observer *obs, void *user) { otelc_observe_f64(obs, -2.5, NULL, 0); }

static void callbacks_per_collection(void) {
  state st = {.cpu = 100, .temp = 21.5, .report_b = true};
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *oc = otelc_observable_counter_i64(m, "cpu.time", NULL, observe_counter, &st);
  otelc_observable_gauge_f64(m, "temperature", NULL, observe_gauge, &st);
  otelc_observable_updown_f64(m, "balance", NULL, observe_updown, NULL);
  CHECK(otelc_observable_counter_i64(m, "nocb", NULL, NULL, NULL) != NULL); /* a no-op */
  otelc_add_u64(oc, 5, NULL, 0); /* recording on an observable instrument is refused */
  CHECK_EQ(st.calls, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(st.calls, 1);
  CHECK(pthread_equal(st.thread, pthread_self())); /* force_flush collects on the calling thread */
  otelc_attr user_mode[] = {OTELC_ATTR_STR("cpu.mode", "user")};
  otelc_attr sys_mode[] = {OTELC_ATTR_STR("cpu.mode", "system")};
  otelc_point p = SDK_POINT(exp, "cpu.time", user_mode, 1);
  CHECK(p.monotonic);
  CHECK(!p.delta);
  CHECK_EQ(p.as_int, 100);
  CHECK_EQ(SDK_POINT(exp, "cpu.time", sys_mode, 1).as_int, 50);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "cpu.time"), 2);
  otelc_attr a[] = {OTELC_ATTR_STR("sensor", "a")};
  CHECK_DBL(SDK_POINT(exp, "temperature", a, 1).as_double, 21.5);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "temperature"), 2);
  p = SDK_POINT(exp, "balance", NULL, 0);
  CHECK(!p.monotonic);
  CHECK_DBL(p.as_double, -2.5);

  st.cpu = 300;
  st.temp = 19;
  st.report_b = false;
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(SDK_POINT(exp, "cpu.time", user_mode, 1).as_int, 300);
  CHECK_DBL(SDK_POINT(exp, "temperature", a, 1).as_double, 19);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "temperature"), 1); /* b was not reported this time */
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(callbacks_per_collection);
  return test_finish();
}
