/* test_exphist.c — the base-2 exponential histogram: index mapping (exact at powers of two, every scale
 * sign), zero bucket, negative values, min/max/sum/count, downscaling on overflow of max_size, merging
 * histograms of different scales; then the aggregation end to end through an instrument. */
#include <float.h>
#include <math.h>

#include "sdk/src/exphist.h"
#include "sdk_testutil.h"

static void map_index_scale0_and_negative(void) {
  /* scale 0: bucket i holds (2^i, 2^(i+1)] */
  CHECK_EQ(otelc_exp_map_index(1.0, 0), -1);
  CHECK_EQ(otelc_exp_map_index(1.5, 0), 0);
  CHECK_EQ(otelc_exp_map_index(2.0, 0), 0);
  CHECK_EQ(otelc_exp_map_index(2.5, 0), 1);
  CHECK_EQ(otelc_exp_map_index(4.0, 0), 1);
  CHECK_EQ(otelc_exp_map_index(0.5, 0), -2);
  CHECK_EQ(otelc_exp_map_index(0.75, 0), -1);
  /* scale -1: base 4, bucket i holds (4^i, 4^(i+1)] */
  CHECK_EQ(otelc_exp_map_index(4.0, -1), 0);
  CHECK_EQ(otelc_exp_map_index(5.0, -1), 1);
  CHECK_EQ(otelc_exp_map_index(16.0, -1), 1);
  CHECK_EQ(otelc_exp_map_index(1.0, -1), -1);
  /* extremes stay in range */
  CHECK_EQ(otelc_exp_map_index(DBL_MAX, 0), 1023);
  CHECK_EQ(otelc_exp_map_index(4.9406564584124654e-324, 0), -1075);
}

static void map_index_positive_scales(void) {
  /* scale 1: base sqrt(2); 2 = sqrt2^2 ends bucket 1 */
  CHECK_EQ(otelc_exp_map_index(2.0, 1), 1);
  CHECK_EQ(otelc_exp_map_index(1.0, 1), -1);
  CHECK_EQ(otelc_exp_map_index(1.5, 1), 1);  /* sqrt2 = 1.414 < 1.5 <= 2 */
  CHECK_EQ(otelc_exp_map_index(1.4, 1), 0);
  /* every power of two at every scale is the upper edge of a bucket */
  for (int scale = 1; scale <= 20; scale++) {
    for (int e = -20; e <= 20; e++) {
      double v = ldexp(1.0, e);
      int64_t want = (int64_t)e * ((int64_t)1 << scale) - 1;
      CHECK_EQ(otelc_exp_map_index(v, scale), want);
      /* just above a power of two is the next bucket */
      CHECK_EQ(otelc_exp_map_index(nextafter(v, INFINITY), scale), want + 1);
    }
  }
  /* index grows monotonically with the value */
  int32_t last = otelc_exp_map_index(1e-3, 20);
  for (double v = 1e-3; v < 1e3; v *= 1.001) {
    int32_t i = otelc_exp_map_index(v, 20);
    CHECK(i >= last);
    last = i;
  }
}

static void record_counts_zero_negative_minmax(void) {
  uint64_t storage[2 * 160];
  otelc_exphist h;
  otelc_exphist_init(&h, 160, 20, storage);
  otelc_exphist_record(&h, 0);
  otelc_exphist_record(&h, 0);
  otelc_exphist_record(&h, 1.5);
  otelc_exphist_record(&h, -3);
  otelc_exphist_record(&h, NAN);      /* not recorded */
  otelc_exphist_record(&h, INFINITY); /* not recorded */
  CHECK_EQ(h.count, 4);
  CHECK_EQ(h.zero_count, 2);
  CHECK_DBL(h.sum, -1.5);
  CHECK_DBL(h.min, -3);
  CHECK_DBL(h.max, 1.5);
  CHECK_EQ(h.scale, 20);
  CHECK(h.pos.used && h.neg.used);
  int32_t off;
  uint64_t out[160];
  CHECK_EQ(otelc_exp_buckets_export(&h, &h.pos, &off, out), 1);
  CHECK_EQ(off, otelc_exp_map_index(1.5, 20));
  CHECK_EQ(out[0], 1);
  CHECK_EQ(otelc_exp_buckets_export(&h, &h.neg, &off, out), 1);
  CHECK_EQ(off, otelc_exp_map_index(3, 20));
}

static uint64_t side_total(const otelc_exphist *h, const otelc_exp_buckets *b) {
  int32_t off;
  uint64_t out[1024];
  size_t n = otelc_exp_buckets_export(h, b, &off, out);
  uint64_t t = 0;
  for (size_t i = 0; i < n; i++) t += out[i];
  return t;
}

static void downscale_on_overflow(void) {
  uint64_t storage[2 * 160];
  otelc_exphist h;
  otelc_exphist_init(&h, 160, 20, storage);
  /* 1 and 2 are 2^20 buckets apart at scale 20: must fit in 160 -> scale drops so that 2^s <= 159 */
  otelc_exphist_record(&h, 1.0);
  otelc_exphist_record(&h, 2.0);
  CHECK(h.scale <= 7);
  CHECK(h.pos.hi - h.pos.lo + 1 <= 160);
  CHECK_EQ(side_total(&h, &h.pos), 2);
  /* a wide range: 1e-9 .. 1e9 (about 60 powers of two) fits at scale 1 (120 buckets) */
  otelc_exphist_reset(&h, 20);
  for (double v = 1e-9; v <= 1e9; v *= 1.7) otelc_exphist_record(&h, v);
  CHECK(h.scale <= 1);
  CHECK(h.scale >= 0);
  CHECK(h.pos.hi - h.pos.lo + 1 <= 160);
  CHECK_EQ(side_total(&h, &h.pos), h.count);
  /* each value still lies in its bucket at the final scale */
  CHECK(otelc_exp_map_index(1e-9, h.scale) >= h.pos.lo);
  CHECK(otelc_exp_map_index(1e9, h.scale) <= h.pos.hi);
  /* a tiny max_size forces deep downscaling, still counting everything */
  uint64_t small_storage[2 * 4];
  otelc_exphist s;
  otelc_exphist_init(&s, 4, 20, small_storage);
  for (int i = 1; i <= 1000; i++) otelc_exphist_record(&s, i);
  for (int i = 1; i <= 10; i++) otelc_exphist_record(&s, -i);
  CHECK(s.pos.hi - s.pos.lo + 1 <= 4);
  CHECK(s.neg.hi - s.neg.lo + 1 <= 4);
  CHECK_EQ(side_total(&s, &s.pos), 1000);
  CHECK_EQ(side_total(&s, &s.neg), 10);
  CHECK_EQ(s.count, 1010);
}

static void merge_different_scales(void) {
  uint64_t sa[2 * 160], sb[2 * 160];
  otelc_exphist a, b;
  otelc_exphist_init(&a, 160, 20, sa);
  otelc_exphist_init(&b, 160, 20, sb);
  for (int i = 1; i <= 100; i++) otelc_exphist_record(&a, i * 0.01); /* 0.01 .. 1 */
  for (int i = 1; i <= 50; i++) otelc_exphist_record(&b, i * 100.0); /* 100 .. 5000 */
  otelc_exphist_record(&b, 0);
  otelc_exphist_record(&b, -7);
  int32_t sa_scale = a.scale, sb_scale = b.scale;
  otelc_exphist_merge(&a, &b);
  CHECK(a.scale <= sa_scale && a.scale <= sb_scale);
  CHECK_EQ(a.count, 152);
  CHECK_EQ(a.zero_count, 1);
  CHECK_EQ(side_total(&a, &a.pos), 150);
  CHECK_EQ(side_total(&a, &a.neg), 1);
  CHECK_DBL(a.min, -7);
  CHECK_DBL(a.max, 5000);
  CHECK(a.pos.hi - a.pos.lo + 1 <= 160);
  CHECK(otelc_exp_map_index(0.01, a.scale) >= a.pos.lo);
  CHECK(otelc_exp_map_index(5000, a.scale) <= a.pos.hi);
  /* merging an empty histogram changes nothing */
  otelc_exphist_reset(&b, 20);
  int32_t scale = a.scale;
  otelc_exphist_merge(&a, &b);
  CHECK_EQ(a.count, 152);
  CHECK_EQ(a.scale, scale);
  /* merge into an empty one gives the same buckets */
  otelc_exphist_merge(&b, &a);
  CHECK_EQ(b.scale, a.scale);
  CHECK_EQ(b.pos.lo, a.pos.lo);
  CHECK_EQ(b.pos.hi, a.pos.hi);
  CHECK_EQ(side_total(&b, &b.pos), 150);
}

static void exponential_instrument_end_to_end(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_DELTA, &exp);
  otelc_instrument *h = otelc_histogram(otelc_meter_get(mp, "t", NULL, NULL), "lat",
                                        &(otelc_instrument_options){.aggregation =
                                                                        OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM});
  otelc_record_f64(h, 2, NULL, 0);
  otelc_record_f64(h, 4, NULL, 0);
  otelc_record_f64(h, -1, NULL, 0);
  otelc_record_f64(h, 0, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_point p = SDK_POINT(exp, "lat", NULL, 0);
  CHECK_EQ(p.type, OTELC_POINT_EXP_HISTOGRAM);
  CHECK(p.delta);
  CHECK_EQ(p.count, 4);
  CHECK_EQ(p.zero_count, 1);
  CHECK_DBL(p.sum, 5);
  CHECK_DBL(p.min, -1);
  CHECK_DBL(p.max, 4);
  uint64_t pos = 0;
  for (size_t i = 0; i < p.n_pos; i++) pos += p.pos[i];
  CHECK_EQ(pos, 2);
  CHECK_EQ(p.n_neg, 1);
  CHECK_EQ(p.neg_offset, otelc_exp_map_index(1, p.scale));
  /* delta: the next interval starts empty */
  otelc_record_f64(h, 8, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  p = SDK_POINT(exp, "lat", NULL, 0);
  CHECK_EQ(p.count, 1);
  CHECK_DBL(p.min, 8);
  otelc_meter_provider_free(mp);

  /* cumulative: intervals are merged (with their different scales) */
  mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  h = otelc_histogram(otelc_meter_get(mp, "t", NULL, NULL), "lat",
                      &(otelc_instrument_options){.aggregation = OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM,
                                                  .exp_max_size = 8});
  otelc_record_f64(h, 1.1, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  CHECK_EQ(SDK_POINT(exp, "lat", NULL, 0).scale, 20);
  otelc_record_f64(h, 1000, NULL, 0);
  otelc_meter_provider_force_flush(mp, 1000);
  p = SDK_POINT(exp, "lat", NULL, 0);
  CHECK(!p.delta);
  CHECK_EQ(p.count, 2);
  CHECK(p.scale < 20);
  CHECK(p.n_pos <= 8);
  CHECK_DBL(p.sum, 1001.1);
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(map_index_scale0_and_negative);
  RUN(map_index_positive_scales);
  RUN(record_counts_zero_negative_minmax);
  RUN(downscale_on_overflow);
  RUN(merge_different_scales);
  RUN(exponential_instrument_end_to_end);
  return test_finish();
}
