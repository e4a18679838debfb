/* test_histogram.c — explicit-bucket histograms: the default boundaries, values exactly on a boundary
 * (buckets are upper-inclusive), below the first and above the last boundary, custom boundaries (and bad ones
 * falling back to the defaults), min/max/sum/count, exclusive handles (their own cells, added to the series'
 * at collection, in both temporalities, and reused after a release), and gauges (last value wins). */
#include "sdk_testutil.h"

static const double k_defaults[] = {0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

static void default_boundaries_and_edges(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_instrument *h = otelc_histogram(otelc_meter_get(mp, "t", NULL, NULL), "h", NULL);
  double values[] = {-1, 0, 0.0001, 5, 5.0001, 10000, 10000.5, 1e9};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) otelc_record_f64(h, values[i], NULL, 0);
  otelc_record_i64(h, 25, NULL, 0);
  otelc_record_f64(h, 0.0 / 0.0, NULL, 0); /* NaN: ignored */
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "h", NULL, 0);
  CHECK_EQ(p.type, OTELC_POINT_HISTOGRAM);
  CHECK_EQ(p.n_bounds, 15);
  for (size_t i = 0; i < 15; i++) CHECK_DBL(p.bounds[i], k_defaults[i]);
  CHECK_EQ(p.count, 9);
  CHECK_EQ(p.bucket_counts[0], 2);  /* (-inf, 0]: -1 and 0 */
  CHECK_EQ(p.bucket_counts[1], 2);  /* (0, 5]: 0.0001 and 5 */
  CHECK_EQ(p.bucket_counts[2], 1);  /* (5, 10]: 5.0001 */
  CHECK_EQ(p.bucket_counts[3], 1);  /* (10, 25]: 25 */
  CHECK_EQ(p.bucket_counts[14], 1); /* (7500, 10000]: 10000 */
  CHECK_EQ(p.bucket_counts[15], 2); /* (10000, +inf) */
  CHECK(p.has_min_max);
  CHECK_DBL(p.min, -1);
  CHECK_DBL(p.max, 1e9);
  CHECK_DBL(p.sum, -1 + 0 + 0.0001 + 5 + 5.0001 + 10000 + 10000.5 + 1e9 + 25);
  otelc_meter_provider_free(mp);
}

static void custom_boundaries(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  double b[] = {0.1, 0.5, 1};
  otelc_instrument *h = otelc_histogram(m, "latency", &(otelc_instrument_options){.boundaries = b, .n_boundaries = 3,
                                                                                  .unit = "s"});
  double bad[] = {1, 1, 2};
  otelc_instrument *hb = otelc_histogram(m, "bad", &(otelc_instrument_options){.boundaries = bad, .n_boundaries = 3});
  otelc_instrument *h0 = otelc_histogram(m, "nobounds", &(otelc_instrument_options){.boundaries = b, .n_boundaries = 0});
  otelc_attr a[] = {OTELC_ATTR_STR("op", "read")};
  otelc_record_f64(h, 0.1, a, 1);
  otelc_record_f64(h, 0.3, a, 1);
  otelc_record_f64(h, 2, a, 1);
  otelc_series *s = otelc_bind(h, a, 1);
  otelc_series_record_f64(s, 0.7);
  otelc_series_record_i64(s, 1);
  otelc_record_f64(hb, 3, NULL, 0);
  otelc_record_f64(h0, 3, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "latency", a, 1);
  CHECK_EQ(p.n_bounds, 3);
  CHECK_EQ(p.count, 5);
  CHECK_EQ(p.bucket_counts[0], 1);
  CHECK_EQ(p.bucket_counts[1], 1);
  CHECK_EQ(p.bucket_counts[2], 2);
  CHECK_EQ(p.bucket_counts[3], 1);
  CHECK_DBL(p.sum, 4.1);
  CHECK_DBL(p.min, 0.1);
  CHECK_DBL(p.max, 2);
  CHECK_EQ(SDK_POINT(exp, "bad", NULL, 0).n_bounds, 15); /* invalid boundaries: the defaults */
  p = SDK_POINT(exp, "nobounds", NULL, 0);               /* no boundaries: one bucket */
  CHECK_EQ(p.n_bounds, 0);
  CHECK_EQ(p.bucket_counts[0], 1);
  otelc_series_release(s);
  otelc_meter_provider_free(mp);
}

/* otelc_bind_exclusive: what an exclusive handle records lands in the same point as per-call records and a
 * shared handle's, bucket by bucket; deltas are per interval; a released handle's counts stay, and a new
 * exclusive bind of the series takes its cells over. */
static void exclusive_handles(otelc_temporality_preference t) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(t, &exp);
  bool delta = t == OTELC_TEMPORALITY_DELTA;
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  double b[] = {0.1, 0.5, 1};
  otelc_instrument *h = otelc_histogram(m, "latency", &(otelc_instrument_options){.boundaries = b, .n_boundaries = 3});
  otelc_attr a[] = {OTELC_ATTR_STR("op", "read")};
  otelc_series *mine = otelc_bind_exclusive(h, a, 1);
  otelc_series *shared = otelc_bind(h, a, 1);
  CHECK(mine != shared);
  otelc_record_f64(h, 0.3, a, 1);
  otelc_series_record_f64(mine, 0.05);
  otelc_series_record_f64(mine, 0.7);
  otelc_series_record_i64(mine, 2);
  otelc_series_add_u64(mine, 1);
  otelc_series_record_f64(mine, 0.0 / 0.0); /* NaN: ignored, as everywhere */
  otelc_series_record_f64(shared, 0.4);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "latency", a, 1);
  CHECK_EQ(p.count, 6);
  CHECK_EQ(p.bucket_counts[0], 1); /* 0.05 */
  CHECK_EQ(p.bucket_counts[1], 2); /* 0.3, 0.4 */
  CHECK_EQ(p.bucket_counts[2], 2); /* 0.7, 1 */
  CHECK_EQ(p.bucket_counts[3], 1); /* 2 */
  CHECK_DBL(p.sum, 0.3 + 0.05 + 0.7 + 2 + 1 + 0.4);
  CHECK_DBL(p.min, 0.05);
  CHECK_DBL(p.max, 2);

  /* second interval: released, then bound again (the same cells, still counted) */
  otelc_series_release(mine);
  otelc_series *again = otelc_bind_exclusive(h, a, 1);
  CHECK(again == mine);
  otelc_series_record_f64(again, 0.2);
  otelc_meter_provider_force_flush(mp, 1000);
  p = SDK_POINT(exp, "latency", a, 1);
  CHECK_EQ(p.count, delta ? 1 : 7);
  CHECK_EQ(p.bucket_counts[1], delta ? 1 : 3);
  CHECK_DBL(p.sum, delta ? 0.2 : 0.3 + 0.05 + 0.7 + 2 + 1 + 0.4 + 0.2);
  if (delta) {
    CHECK_DBL(p.min, 0.2);
    CHECK_DBL(p.max, 0.2);
  }
  /* a counter's exclusive handle is its ordinary bound cell */
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_series *cs = otelc_bind_exclusive(c, a, 1);
  otelc_series_add_u64(cs, 3);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "c", a, 1).as_int, 3);
  otelc_series_release(cs);
  otelc_series_release(again);
  otelc_series_release(shared);
  otelc_meter_provider_free(mp);
}

static void exclusive_handles_cumulative(void) { exclusive_handles(OTELC_TEMPORALITY_CUMULATIVE); }
static void exclusive_handles_delta(void) { exclusive_handles(OTELC_TEMPORALITY_DELTA); }

static void gauges_keep_the_last_value(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DELTA, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *g = otelc_gauge_i64(m, "temp", NULL);
  otelc_instrument *gf = otelc_gauge_f64(m, "ratio", NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("room", "a")};
  otelc_record_i64(g, 20, a, 1);
  otelc_record_i64(g, -3, a, 1);
  otelc_record_f64(gf, 0.5, NULL, 0);
  otelc_series *s = otelc_bind(gf, NULL, 0);
  otelc_series_record_f64(s, 0.75);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "temp", a, 1);
  CHECK_EQ(p.type, OTELC_POINT_GAUGE);
  CHECK_EQ(p.as_int, -3);
  CHECK_DBL(SDK_POINT(exp, "ratio", NULL, 0).as_double, 0.75);
  /* a gauge keeps reporting its last value */
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "temp", a, 1).as_int, -3);
  otelc_series_release(s);
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(default_boundaries_and_edges);
  RUN(custom_boundaries);
  RUN(exclusive_handles_cumulative);
  RUN(exclusive_handles_delta);
  RUN(gauges_keep_the_last_value);
  return test_finish();
}
