/* test_threads.c — recording from many threads: per-call adds, bound handles (one per thread, same series),
 * histograms (per call, shared handles, one exclusive handle per thread) and concurrent series creation all
 * give exact totals, also while another thread collects with delta temporality (the sum of the deltas equals
 * what was recorded). */
#include <pthread.h>

#include "sdk_testutil.h"

#define THREADS 4
#define OPS 20000

typedef struct ctx {
  otelc_instrument *c, *h, *many, *f;
  int id;
} ctx;

static void *worker(void *arg) {
  ctx *x = arg;
  otelc_attr shared[] = {OTELC_ATTR_STR("k", "shared")};
  otelc_series *mine = otelc_bind(x->c, shared, 1);
  otelc_series *hs = otelc_bind(x->h, shared, 1);
  otelc_series *hx = otelc_bind_exclusive(x->h, shared, 1); /* this thread's own cells */
  for (int i = 0; i < OPS; i++) {
    otelc_add_u64(x->c, 1, shared, 1);
    otelc_series_add_u64(mine, 2);
    otelc_record_f64(x->h, i % 100, shared, 1);
    otelc_series_record_f64(hs, 1);
    otelc_series_record_f64(hx, 3);
    otelc_record_f64(x->f, 0.5, NULL, 0);
    otelc_attr a[] = {OTELC_ATTR_INT("i", i % 500), OTELC_ATTR_INT("thread", x->id % 2)};
    otelc_add_u64(x->many, 1, a, 2);
  }
  otelc_series_release(mine);
  otelc_series_release(hs);
  otelc_series_release(hx);
  return NULL;
}

static void exact_totals(otelc_temporality_preference t) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(t, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  ctx x[THREADS];
  pthread_t th[THREADS];
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_instrument *h = otelc_histogram(m, "h", NULL);
  otelc_instrument *many = otelc_counter_u64(m, "many", NULL);
  otelc_instrument *f = otelc_counter_f64(m, "f", NULL);
  for (int i = 0; i < THREADS; i++) {
    x[i] = (ctx){.c = c, .h = h, .many = many, .f = f, .id = i};
    pthread_create(&th[i], NULL, worker, &x[i]);
  }
  /* collect concurrently; with delta, add up what each collection reports */
  int64_t c_sum = 0, many_sum = 0;
  uint64_t h_count = 0;
  double f_sum = 0;
  otelc_attr shared[] = {OTELC_ATTR_STR("k", "shared")};
  bool delta = t == OTELC_TEMPORALITY_DELTA;
  size_t seen = 0;
  for (int round = 0; round < 20; round++) {
    otelc_meter_provider_force_flush(mp, 5000);
    size_t batches = otelc_memory_exporter_batches(exp);
    if (!delta || batches == seen) continue; /* an empty collection exports nothing */
    seen = batches;
    otelc_point p;
    if (otelc_memory_exporter_find(exp, 0, "c", shared, 1, &p)) c_sum += p.as_int;
    if (otelc_memory_exporter_find(exp, 0, "h", shared, 1, &p)) h_count += p.count;
    if (otelc_memory_exporter_find(exp, 0, "f", NULL, 0, &p)) f_sum += p.as_double;
    for (int i = 0; i < 500; i++)
      for (int k = 0; k < 2; k++) {
        otelc_attr a[] = {OTELC_ATTR_INT("i", i), OTELC_ATTR_INT("thread", k)};
        if (otelc_memory_exporter_find(exp, 0, "many", a, 2, &p)) many_sum += p.as_int;
      }
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  otelc_meter_provider_force_flush(mp, 5000);
  if (otelc_memory_exporter_batches(exp) == seen) otelc_memory_exporter_clear(exp); /* nothing new */
  otelc_point p;
  if (otelc_memory_exporter_find(exp, 0, "c", shared, 1, &p)) c_sum = delta ? c_sum + p.as_int : p.as_int;
  if (otelc_memory_exporter_find(exp, 0, "h", shared, 1, &p)) h_count = delta ? h_count + p.count : p.count;
  if (otelc_memory_exporter_find(exp, 0, "f", NULL, 0, &p)) f_sum = delta ? f_sum + p.as_double : p.as_double;
  int64_t many_last = 0;
  for (int i = 0; i < 500; i++)
    for (int k = 0; k < 2; k++) {
      otelc_attr a[] = {OTELC_ATTR_INT("i", i), OTELC_ATTR_INT("thread", k)};
      if (otelc_memory_exporter_find(exp, 0, "many", a, 2, &p)) many_last += p.as_int;
    }
  many_sum = delta ? many_sum + many_last : many_last;
  CHECK_EQ(c_sum, (int64_t)THREADS * OPS * 3);
  CHECK_EQ(h_count, (uint64_t)THREADS * OPS * 3);
  CHECK_DBL(f_sum, THREADS * OPS * 0.5);
  CHECK_EQ(many_sum, (int64_t)THREADS * OPS);
  if (!delta) CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "many"), 1000);
  otelc_meter_provider_free(mp);
}

static void cumulative_totals(void) { exact_totals(OTELC_TEMPORALITY_CUMULATIVE); }
static void delta_totals(void) { exact_totals(OTELC_TEMPORALITY_DELTA); }

/* Many threads creating the same new series at once get one series each. */
static void *creator(void *arg) {
  otelc_instrument *c = arg;
  for (int i = 0; i < 3000; i++) {
    otelc_attr a[] = {OTELC_ATTR_INT("n", i)};
    otelc_add_u64(c, 1, a, 1);
  }
  return NULL;
}

static void concurrent_creation(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_instrument *c =
      otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", &(otelc_instrument_options){.cardinality_limit = 5000});
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, creator, c);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  otelc_meter_provider_force_flush(mp, 5000);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "c"), 3000);
  for (int i = 0; i < 3000; i += 97) {
    otelc_attr a[] = {OTELC_ATTR_INT("n", i)};
    CHECK_EQ(SDK_POINT(exp, "c", a, 1).as_int, THREADS);
  }
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(cumulative_totals);
  RUN(delta_totals);
  RUN(concurrent_creation);
  return test_finish();
}
