/* test_counter.c — counters and up-down counters end to end: per-call and bound recording, attribute sets
 * in any order are one series, type distinctions, invalid values ignored, exported through the memory
 * exporter (which also decodes what the SDK encoded). */
#include "sdk_testutil.h"

static void counter_sums_per_series(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "test", "1.0", NULL);
  otelc_instrument *c = otelc_counter_u64(m, "requests", &(otelc_instrument_options){.unit = "{request}"});
  otelc_attr a1[] = {OTELC_ATTR_STR("method", "GET"), OTELC_ATTR_INT("code", 200)};
  otelc_attr a2[] = {OTELC_ATTR_INT("code", 200), OTELC_ATTR_STR("method", "GET")}; /* same set, other order */
  otelc_attr b[] = {OTELC_ATTR_STR("method", "POST"), OTELC_ATTR_INT("code", 200)};
  otelc_add_u64(c, 3, a1, 2);
  otelc_add_u64(c, 4, a2, 2);
  otelc_add_u64(c, 10, b, 2);
  otelc_add_u64(c, 1, NULL, 0);
  otelc_record_i64(c, -5, a1, 2); /* ignored: counters only go up */
  otelc_record_f64(c, 2.0, a1, 2);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
  otelc_point p = SDK_POINT(exp, "requests", a1, 2);
  CHECK_EQ(p.type, OTELC_POINT_SUM);
  CHECK(p.monotonic);
  CHECK(!p.delta);
  CHECK(!p.is_double);
  CHECK_EQ(p.as_int, 9);
  CHECK_EQ(SDK_POINT(exp, "requests", b, 2).as_int, 10);
  CHECK_EQ(SDK_POINT(exp, "requests", NULL, 0).as_int, 1);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "requests"), 3);
  const char *desc, *unit, *scope;
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "requests", &desc, &unit, &scope));
  CHECK_STR(unit, "{request}");
  CHECK_STR(scope, "test");
  otelc_meter_provider_free(mp);
}

static void attribute_types_are_distinct(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL);
  otelc_attr as[] = {OTELC_ATTR_STR("k", "1")};
  otelc_attr ai[] = {OTELC_ATTR_INT("k", 1)};
  otelc_attr ad[] = {OTELC_ATTR_DOUBLE("k", 1.0)};
  otelc_attr ab[] = {OTELC_ATTR_BOOL("k", true)};
  otelc_add_u64(c, 1, as, 1);
  otelc_add_u64(c, 2, ai, 1);
  otelc_add_u64(c, 3, ad, 1);
  otelc_add_u64(c, 4, ab, 1);
  /* duplicate keys: the last value wins */
  otelc_attr dup[] = {OTELC_ATTR_INT("k", 7), OTELC_ATTR_INT("k", 1)};
  otelc_add_u64(c, 20, dup, 2);
  /* empty keys are ignored */
  otelc_attr empty[] = {OTELC_ATTR_STR("", "x"), OTELC_ATTR_BOOL("k", true)};
  otelc_add_u64(c, 40, empty, 2);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "c"), 4);
  CHECK_EQ(SDK_POINT(exp, "c", as, 1).as_int, 1);
  CHECK_EQ(SDK_POINT(exp, "c", ai, 1).as_int, 22);
  CHECK_EQ(SDK_POINT(exp, "c", ad, 1).as_int, 3);
  CHECK_EQ(SDK_POINT(exp, "c", ab, 1).as_int, 44);
  otelc_meter_provider_free(mp);
}

static void updown_and_double_counters(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *ud = otelc_updown_i64(m, "queue.depth", NULL);
  otelc_instrument *udf = otelc_updown_f64(m, "balance", NULL);
  otelc_instrument *cf = otelc_counter_f64(m, "bytes", NULL);
  otelc_record_i64(ud, 5, NULL, 0);
  otelc_record_i64(ud, -8, NULL, 0);
  otelc_record_f64(udf, 1.5, NULL, 0);
  otelc_record_f64(udf, -4.0, NULL, 0);
  otelc_record_f64(cf, 0.25, NULL, 0);
  otelc_record_f64(cf, -1, NULL, 0);       /* ignored */
  otelc_record_f64(cf, 1.0 / 0.0, NULL, 0); /* ignored */
  otelc_add_u64(cf, 2, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "queue.depth", NULL, 0);
  CHECK_EQ(p.as_int, -3);
  CHECK(!p.monotonic);
  p = SDK_POINT(exp, "balance", NULL, 0);
  CHECK(p.is_double);
  CHECK_DBL(p.as_double, -2.5);
  CHECK_DBL(SDK_POINT(exp, "bytes", NULL, 0).as_double, 2.25);
  otelc_meter_provider_free(mp);
}

static void bound_handles(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "hits", NULL);
  otelc_instrument *cf = otelc_counter_f64(m, "hits.f", NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("route", "/x")};
  otelc_series *s1 = otelc_bind(c, a, 1);
  otelc_series *s2 = otelc_bind(c, a, 1);
  CHECK(s1 != s2);
  for (int i = 0; i < 1000; i++) otelc_series_add_u64(s1, 1);
  otelc_series_add_u64(s2, 5);
  otelc_series_record_i64(s2, -1); /* ignored */
  otelc_add_u64(c, 100, a, 1);     /* per-call and bound land in one series */
  otelc_series *sf = otelc_bind(cf, a, 1);
  otelc_series_record_f64(sf, 0.5);
  otelc_series_add_u64(sf, 1);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "hits", a, 1).as_int, 1105);
  CHECK_DBL(SDK_POINT(exp, "hits.f", a, 1).as_double, 1.5);
  /* released cells stay counted and are reused */
  otelc_series_release(s1);
  otelc_series *s3 = otelc_bind(c, a, 1);
  CHECK(s3 == s1);
  otelc_series_add_u64(s3, 1);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "hits", a, 1).as_int, 1106);
  otelc_series_release(s2);
  otelc_series_release(s3);
  otelc_series_release(sf);
  otelc_meter_provider_free(mp);
}

static void invalid_names_and_noops(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *bad = otelc_counter_u64(m, "1starts.with.digit", NULL);
  CHECK(bad != NULL);
  otelc_add_u64(bad, 1, NULL, 0);
  otelc_series *s = otelc_bind(bad, NULL, 0);
  otelc_series_add_u64(s, 1);
  otelc_series_release(s);
  CHECK(otelc_counter_u64(m, "Same", NULL) == otelc_counter_u64(m, "same", NULL));
  CHECK(otelc_meter_get(mp, "t", NULL, NULL) == m);
  CHECK(otelc_meter_get(mp, "t", "2", NULL) != m);
  otelc_add_u64(otelc_counter_u64(m, "same", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "1starts.with.digit"), -1);
  CHECK_EQ(SDK_POINT(exp, "Same", NULL, 0).as_int, 1);
  otelc_meter_provider_free(mp);
  /* NULL-safety of the public API */
  otelc_add_u64(NULL, 1, NULL, 0);
  otelc_meter_provider_free(NULL);
  CHECK(otelc_meter_get(NULL, "x", NULL, NULL) != NULL);
}

int main(void) {
  sdk_test_clear_env();
  RUN(counter_sums_per_series);
  RUN(attribute_types_are_distinct);
  RUN(updown_and_double_counters);
  RUN(bound_handles);
  RUN(invalid_names_and_noops);
  return test_finish();
}
