/* test_cardinality.c — the cardinality limit: limit-1 attribute sets get their own series, every further
 * set goes to the single otel.metric.overflow=true series (totals stay exact), existing sets keep their
 * series, bound handles past the limit land in the overflow series, and the limit comes from the provider,
 * the instrument or a view. */
#include "sdk_testutil.h"

static void overflow_series(void) {
  otelc_exporter *exp;
  otelc_provider_options o = {.exporter = exp = otelc_memory_exporter_create(2), .export_interval_ms = -1,
                              .no_self_metrics = true, .cardinality_limit = 10};
  otelc_meter_provider *mp;
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL);
  uint64_t total = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 100; i++) {
      otelc_attr a[] = {OTELC_ATTR_INT("i", i)};
      otelc_add_u64(c, (uint64_t)i + 1, a, 1);
      total += (uint64_t)i + 1;
    }
  }
  otelc_attr past[] = {OTELC_ATTR_INT("i", 500)};
  otelc_series *s = otelc_bind(c, past, 1);
  otelc_series_add_u64(s, 1000);
  total += 1000;
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "c"), 10);
  uint64_t sum = 0;
  for (int i = 0; i < 9; i++) {
    otelc_attr a[] = {OTELC_ATTR_INT("i", i)};
    otelc_point p = SDK_POINT(exp, "c", a, 1);
    CHECK_EQ(p.as_int, 3 * (i + 1));
    sum += (uint64_t)p.as_int;
  }
  otelc_attr ovf[] = {OTELC_ATTR_BOOL("otel.metric.overflow", true)};
  otelc_point p = SDK_POINT(exp, "c", ovf, 1);
  sum += (uint64_t)p.as_int;
  CHECK_EQ(sum, total);
  otelc_series_release(s);
  otelc_meter_provider_free(mp);
}

static void limit_from_instrument_and_view(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "v", .cardinality_limit = 3});
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *v = otelc_counter_u64(m, "v", &(otelc_instrument_options){.cardinality_limit = 50});
  otelc_instrument *i5 = otelc_histogram(m, "i5", &(otelc_instrument_options){.cardinality_limit = 5});
  otelc_instrument *d = otelc_counter_u64(m, "d", NULL);
  for (int i = 0; i < 3000; i++) {
    otelc_attr a[] = {OTELC_ATTR_INT("i", i)};
    otelc_add_u64(v, 1, a, 1);
    otelc_record_f64(i5, i, a, 1);
    otelc_add_u64(d, 1, a, 1);
  }
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "v"), 3);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "i5"), 5);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "d"), 2000); /* the default limit */
  otelc_attr ovf[] = {OTELC_ATTR_BOOL("otel.metric.overflow", true)};
  CHECK_EQ(SDK_POINT(exp, "v", ovf, 1).as_int, 3000 - 2);
  CHECK_EQ(SDK_POINT(exp, "i5", ovf, 1).count, 3000 - 4);
  CHECK_EQ(SDK_POINT(exp, "d", ovf, 1).as_int, 3000 - 1999);
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(overflow_series);
  RUN(limit_from_instrument_and_view);
  return test_finish();
}
