/* test_views.c — views: selection by exact name, wildcard, kind and meter name; rename, description,
 * explicit boundaries, exponential aggregation, attribute-key allow-list, drop, cardinality limit; the first
 * matching view wins; invalid views are refused. */
#include "sdk_testutil.h"

static void rename_describe_and_select(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  CHECK_EQ(otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "http.server.requests",
                                                            .name = "requests", .description = "All requests"}),
           OTELC_OK);
  CHECK_EQ(otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "http.server.requests",
                                                            .name = "shadowed"}),
           OTELC_OK); /* the first matching view wins */
  CHECK_EQ(otelc_meter_provider_add_view(mp, &(otelc_view){.meter_name = "other", .kind = OTELC_KIND_COUNTER,
                                                            .description = "from other"}),
           OTELC_OK);
  otelc_meter *m = otelc_meter_get(mp, "web", NULL, NULL);
  otelc_meter *o = otelc_meter_get(mp, "other", NULL, NULL);
  otelc_add_u64(otelc_counter_u64(m, "http.server.requests", NULL), 1, NULL, 0);
  otelc_add_u64(otelc_counter_u64(o, "x", &(otelc_instrument_options){.description = "mine"}), 1, NULL, 0);
  otelc_record_i64(otelc_updown_i64(o, "y", &(otelc_instrument_options){.description = "mine"}), 1, NULL, 0);
  otelc_add_u64(otelc_counter_u64(m, "z", &(otelc_instrument_options){.description = "mine"}), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  const char *desc, *unit, *scope;
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "http.server.requests"), -1);
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "requests", &desc, &unit, &scope));
  CHECK_STR(desc, "All requests");
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "x", &desc, &unit, &scope));
  CHECK_STR(desc, "from other");
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "y", &desc, &unit, &scope));
  CHECK_STR(desc, "mine"); /* kind does not match */
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "z", &desc, &unit, &scope));
  CHECK_STR(desc, "mine"); /* meter does not match */
  otelc_meter_provider_free(mp);
}

static void wildcard_drop_and_allow_list(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "debug.*", .aggregation = OTELC_AGGREGATION_DROP});
  const char *keys[] = {"method"};
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "req?", .attribute_keys = keys,
                                                  .n_attribute_keys = 1});
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *dropped = otelc_counter_u64(m, "debug.calls", NULL);
  otelc_instrument *dropped2 = otelc_histogram(m, "DEBUG.latency", NULL);
  otelc_instrument *reqs = otelc_counter_u64(m, "reqs", NULL);
  otelc_instrument *kept = otelc_counter_u64(m, "debugx", NULL);
  otelc_add_u64(dropped, 1, NULL, 0);
  otelc_record_f64(dropped2, 1, NULL, 0);
  otelc_add_u64(kept, 1, NULL, 0);
  otelc_attr a1[] = {OTELC_ATTR_STR("method", "GET"), OTELC_ATTR_STR("user", "alice")};
  otelc_attr a2[] = {OTELC_ATTR_STR("user", "bob"), OTELC_ATTR_STR("method", "GET")};
  otelc_attr a3[] = {OTELC_ATTR_STR("user", "carol")};
  otelc_add_u64(reqs, 1, a1, 2);
  otelc_add_u64(reqs, 2, a2, 2);
  otelc_add_u64(reqs, 4, a3, 1);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "debug.calls"), -1);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "DEBUG.latency"), -1);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "debugx"), 1);
  otelc_attr get[] = {OTELC_ATTR_STR("method", "GET")};
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "reqs"), 2);
  CHECK_EQ(SDK_POINT(exp, "reqs", get, 1).as_int, 3);
  CHECK_EQ(SDK_POINT(exp, "reqs", NULL, 0).as_int, 4);
  otelc_meter_provider_free(mp);
}

static void histogram_streams(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  double b[] = {1, 2};
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "a", .boundaries = b, .n_boundaries = 2});
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "e", .kind = OTELC_KIND_HISTOGRAM,
                                                  .aggregation = OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM});
  double bad[] = {2, 1};
  CHECK_EQ(otelc_meter_provider_add_view(mp, &(otelc_view){.boundaries = bad, .n_boundaries = 2}), OTELC_E_INVALID);
  CHECK_EQ(otelc_meter_provider_add_view(mp, NULL), OTELC_E_INVALID);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  double ob[] = {10, 20, 30};
  otelc_instrument *a = otelc_histogram(m, "a", &(otelc_instrument_options){.boundaries = ob, .n_boundaries = 3});
  otelc_instrument *e = otelc_histogram(m, "e", NULL);
  otelc_record_f64(a, 1.5, NULL, 0);
  otelc_record_f64(e, 1.5, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "a", NULL, 0);
  CHECK_EQ(p.n_bounds, 2); /* the view's boundaries win over the instrument's */
  CHECK_EQ(p.bucket_counts[1], 1);
  CHECK_EQ(SDK_POINT(exp, "e", NULL, 0).type, OTELC_POINT_EXP_HISTOGRAM);
  otelc_meter_provider_free(mp);
}

static void name_patterns(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter_provider_add_view(mp, &(otelc_view){.instrument_name = "*", .description = "all"});
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "any.thing", NULL), 1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  const char *desc, *unit, *scope;
  CHECK(otelc_memory_exporter_metric_info(exp, 0, "any.thing", &desc, &unit, &scope));
  CHECK_STR(desc, "all");
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(rename_describe_and_select);
  RUN(wildcard_drop_and_allow_list);
  RUN(histogram_streams);
  RUN(name_patterns);
  return test_finish();
}
