/* bench_sdk.c — libotelc hot-path figures: bound counter add (1 and 2 threads), bound histogram record (shared
 * and exclusive handles), per-call adds (also with the set passed in another order than its series was created
 * with) and histogram records with 3 attributes, new-series cost with 10,000 present, collect + encode of
 * 10,000 series, and memory per series. Prints one line per figure; asserts nothing (see docs/performance.md,
 * "SDK").
 * Times are the calling thread's CPU time, best of REPS runs (the machine these figures come from is shared);
 * nothing but the measured calls runs inside a timed region (attribute strings are formatted beforehand).
 *   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release && cmake --build build/bench --target bench_sdk
 *   build/bench/bench/bench_sdk */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"

/* CPU time of the calling thread: the figures stay meaningful on a shared, loaded machine (a preempted
 * thread does not count the time it was not running). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_used(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static size_t rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return res * 4;
}

static otelc_export_result null_export(otelc_exporter *self, const otelc_export_batch *b, int64_t deadline) {
  (void)self;
  (void)deadline;
  *(volatile size_t *)&b->len; /* touch */
  return OTELC_EXPORT_SUCCESS;
}
static void null_destroy(otelc_exporter *self) { (void)self; }
static otelc_exporter g_null = {.name = "null", .export_batch = null_export, .destroy = null_destroy};

static otelc_meter_provider *provider(void) {
  otelc_provider_options o = {.exporter = &g_null, .export_interval_ms = -1, .no_self_metrics = true,
                              .cardinality_limit = 1000000};
  otelc_meter_provider *mp;
  otelc_meter_provider_create(&o, &mp);
  return mp;
}

/* ---- bound counter ---- */

#define BOUND_OPS 200000000ULL

typedef struct {
  otelc_instrument *c;
  double seconds;
  pthread_barrier_t *bar;
} bound_arg;

static void *bound_thread(void *arg) {
  bound_arg *a = arg;
  otelc_attr attrs[] = {OTELC_ATTR_STR("route", "/api")};
  otelc_series *s = otelc_bind(a->c, attrs, 1);
  if (a->bar) pthread_barrier_wait(a->bar);
  double t0 = now_s();
  for (uint64_t i = 0; i < BOUND_OPS; i++) otelc_series_add_u64(s, 1);
  a->seconds = now_s() - t0;
  otelc_series_release(s);
  return NULL;
}

static void bench_bound(void) {
  otelc_meter_provider *mp = provider();
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "bench", NULL, NULL), "bound", NULL);
  bound_arg one = {.c = c};
  bound_thread(&one);
  double single_rate = BOUND_OPS / one.seconds;
  printf("bound counter add, 1 thread:              %6.2f ns/op\n", one.seconds * 1e9 / BOUND_OPS);

  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, 2);
  bound_arg two[2] = {{.c = c, .bar = &bar}, {.c = c, .bar = &bar}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, bound_thread, &two[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  double slowest = two[0].seconds > two[1].seconds ? two[0].seconds : two[1].seconds;
  double rate2 = 2.0 * BOUND_OPS / slowest;
  printf("bound counter add, 2 threads, same series: %6.2f ns/op per thread (CPU time), %.2fx the 1-thread rate\n",
         slowest * 1e9 / BOUND_OPS, rate2 / single_rate);
  pthread_barrier_destroy(&bar);

  /* bound histogram handles: shared (any thread; lock-prefixed bucket and sum) and exclusive (one thread at a
   * time; own cells, plain stores). Values cycle over the buckets, as request durations do. */
  otelc_instrument *h = otelc_histogram(otelc_meter_get(mp, "bench", NULL, NULL), "bound.hist", NULL);
  otelc_attr attrs[] = {OTELC_ATTR_STR("route", "/api")};
  for (int exclusive = 0; exclusive < 2; exclusive++) {
    otelc_series *s = exclusive ? otelc_bind_exclusive(h, attrs, 1) : otelc_bind(h, attrs, 1);
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
      double t0 = now_s();
      for (uint64_t i = 0; i < BOUND_OPS / 10; i++) otelc_series_record_f64(s, (double)(i & 1023));
      double took = now_s() - t0;
      best = took < best ? took : best;
    }
    printf("bound histogram record, %s:      %6.2f ns/op\n", exclusive ? "exclusive" : "shared   ",
           best * 1e9 / (BOUND_OPS / 10));
    otelc_series_release(s);
  }
  otelc_meter_provider_free(mp);
}

/* ---- per-call with attributes ---- */

static uint64_t CALL_OPS = 10000000ULL; /* per run; argv[2] overrides (for profiling runs) */
#define REPS 3

static double min2(double a, double b) { return a < b ? a : b; }

static void bench_calls(void) {
  otelc_meter_provider *mp = provider();
  otelc_meter *m = otelc_meter_get(mp, "bench", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "calls", NULL);
  otelc_instrument *h = otelc_histogram(m, "latency", NULL);
  otelc_attr attrs[] = {OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("http.route", "/api/users"),
                        OTELC_ATTR_INT("http.response.status_code", 200)};
  otelc_add_u64(c, 1, attrs, 3);
  double best = 1e9;
  for (int r = 0; r < REPS; r++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < CALL_OPS; i++) otelc_add_u64(c, 1, attrs, 3);
    best = min2(best, now_s() - t0);
  }
  printf("counter add, 3 attributes per call:        %6.2f ns/op\n", best * 1e9 / CALL_OPS);

  /* the same set in another order than the one its series was created with (the any-order comparison) */
  otelc_attr other[] = {attrs[2], attrs[0], attrs[1]};
  best = 1e9;
  for (int r = 0; r < REPS; r++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < CALL_OPS; i++) otelc_add_u64(c, 1, other, 3);
    best = min2(best, now_s() - t0);
  }
  printf("counter add, 3 attributes, another order:  %6.2f ns/op\n", best * 1e9 / CALL_OPS);

  otelc_record_f64(h, 1, attrs, 3);
  best = 1e9;
  for (int r = 0; r < REPS; r++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < CALL_OPS; i++) otelc_record_f64(h, (double)(i & 1023), attrs, 3);
    best = min2(best, now_s() - t0);
  }
  printf("histogram record, 3 attributes per call:   %6.2f ns/op\n", best * 1e9 / CALL_OPS);

  otelc_instrument *e = otelc_histogram(m, "latency.exp",
                                        &(otelc_instrument_options){.aggregation =
                                                                        OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM});
  otelc_record_f64(e, 1, attrs, 3);
  best = 1e9;
  for (int r = 0; r < REPS; r++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < CALL_OPS; i++) otelc_record_f64(e, (double)(i & 1023) + 0.5, attrs, 3);
    best = min2(best, now_s() - t0);
  }
  printf("exponential histogram record, 3 attributes: %5.2f ns/op\n", best * 1e9 / CALL_OPS);
  otelc_meter_provider_free(mp);
}

/* ---- series creation, collection, memory ---- */

#define NSERIES 10000

/* The routes "/api/item/<i>" for i in [0, 2 * NSERIES), formatted once, outside every timed region. */
static char g_routes[2 * NSERIES][24];

static void make_routes(void) {
  for (int i = 0; i < 2 * NSERIES; i++) snprintf(g_routes[i], sizeof g_routes[i], "/api/item/%d", i);
}

static void add_series(otelc_instrument *in, int base, int n, bool histogram) {
  for (int i = base; i < base + n; i++) {
    otelc_attr attrs[] = {OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("http.route", g_routes[i]),
                          OTELC_ATTR_INT("http.response.status_code", 200)};
    if (histogram) otelc_record_f64(in, 42.0, attrs, 3);
    else otelc_add_u64(in, 1, attrs, 3);
  }
}

static void bench_series(void) {
  make_routes();
  otelc_meter_provider *mp = provider();
  otelc_meter *m = otelc_meter_get(mp, "bench", NULL, NULL);

  otelc_instrument *c = otelc_counter_u64(m, "series", NULL);
  size_t heap0 = heap_used(), rss0 = rss_kb();
  add_series(c, 0, NSERIES, false);
  size_t heap1 = heap_used(), rss1 = rss_kb();
  printf("memory per counter series (3 attributes):  %6.0f B heap, %6.0f B RSS\n",
         (double)(heap1 - heap0) / NSERIES, (double)(rss1 - rss0) * 1024 / NSERIES);
  /* Each run: a fresh instrument with NSERIES series, then NSERIES new ones timed. */
  double best = 1e9;
  for (int r = 0; r < REPS; r++) {
    otelc_instrument *in = c;
    if (r > 0) {
      char name[32];
      snprintf(name, sizeof name, "series.%d", r);
      in = otelc_counter_u64(m, name, NULL);
      add_series(in, 0, NSERIES, false);
    }
    double t0 = now_s();
    add_series(in, NSERIES, NSERIES, false);
    best = min2(best, now_s() - t0);
  }
  printf("new series with %d present (3 attributes): %6.0f ns/op\n", NSERIES, best * 1e9 / NSERIES);

  otelc_instrument *h = otelc_histogram(m, "series.hist", NULL);
  heap0 = heap_used();
  add_series(h, 0, NSERIES, true);
  heap1 = heap_used();
  printf("memory per explicit histogram series:      %6.0f B heap (16 buckets)\n",
         (double)(heap1 - heap0) / NSERIES);
  otelc_meter_provider_free(mp);

  /* collect + encode exactly 10,000 counter series */
  mp = provider();
  c = otelc_counter_u64(otelc_meter_get(mp, "bench", NULL, NULL), "collect", NULL);
  add_series(c, 0, NSERIES, false);
  otelc_meter_provider_force_flush(mp, 10000); /* warm the arena */
  int rounds = 10;
  best = 1e9;
  for (int r = 0; r < 5; r++) {
    double t0 = now_s();
    for (int i = 0; i < rounds; i++) otelc_meter_provider_force_flush(mp, 10000);
    best = min2(best, (now_s() - t0) / rounds);
  }
  printf("collect + encode %d counter series:     %6.2f ms\n", NSERIES, best * 1e3);
  otelc_meter_provider_free(mp);
}

int main(int argc, char **argv) {
  otelc_set_log_level(OTELC_LOG_ERROR);
  const char *only = argc > 1 ? argv[1] : "";
  if (argc > 2) CALL_OPS = strtoull(argv[2], NULL, 10);
  if (!*only || !strcmp(only, "bound")) bench_bound();
  if (!*only || !strcmp(only, "calls")) bench_calls();
  if (!*only || !strcmp(only, "series")) bench_series();
  return 0;
}
