/* test_attrs_series.c — attribute-set identity end to end (per-call recording, the series table, collection,
 * the in-memory exporter): the same set in any order is one series; content decides, never the caller's
 * buffers (reused with new content, garbage after the NUL); sets that hash alike by design (swapped values,
 * other keys with the same values) stay apart; repeated and empty keys; 0-9 attributes; mixed types; sets that
 * differ only past 16 or 32 bytes; explicit histograms; threads recording the same set from their own buffers
 * while new series are created; many sets that differ only in their keys (the table switches to keyed
 * placement), from several threads at once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sdk/src/internal.h"
#include "sdk_testutil.h"

static otelc_meter_provider *g_mp;
static otelc_exporter *g_exp;

static otelc_instrument *counter(const char *name) {
  otelc_exporter *exp;
  g_mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  g_exp = exp;
  return otelc_counter_u64(otelc_meter_get(g_mp, "t", NULL, NULL), name, NULL);
}

static void flush(void) { CHECK_EQ(otelc_meter_provider_force_flush(g_mp, 1000), OTELC_OK); }

static void done(void) {
  otelc_meter_provider_free(g_mp);
  g_mp = NULL;
}

static void any_order_one_series(void) {
  otelc_instrument *c = counter("c");
  otelc_attr base[] = {OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("http.route", "/api/users"),
                       OTELC_ATTR_INT("http.response.status_code", 200), OTELC_ATTR_BOOL("error", false)};
  static const int orders[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}, {2, 3, 0, 1}, {0, 2, 1, 3}, {3, 1, 2, 0}};
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    otelc_attr a[4];
    for (int k = 0; k < 4; k++) a[k] = base[orders[o][k]];
    for (int rep = 0; rep < 3; rep++) otelc_add_u64(c, 1, a, 4); /* the first order stored, the others found */
  }
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), 1);
  CHECK_EQ(SDK_POINT(g_exp, "c", base, 4).as_int, 18);
  done();
}

static void buffers_reused_with_new_content(void) {
  otelc_instrument *c = counter("c");
  char key[40], val[40];
  memset(key, '#', sizeof key);
  memset(val, '#', sizeof val);
  otelc_attr a[] = {OTELC_ATTR_STR(key, val), OTELC_ATTR_INT("n", 1)};
  strcpy(key, "method");
  strcpy(val, "GET");
  otelc_add_u64(c, 1, a, 2);
  strcpy(val, "PUT"); /* same buffer, same length, new content */
  otelc_add_u64(c, 10, a, 2);
  strcpy(key, "verb"); /* the key buffer too */
  otelc_add_u64(c, 100, a, 2);
  strcpy(key, "method");
  strcpy(val, "GET");
  memset(val + 4, 'Z', 10); /* other garbage after the NUL */
  otelc_add_u64(c, 1000, a, 2);
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), 3);
  otelc_attr get[] = {OTELC_ATTR_STR("method", "GET"), OTELC_ATTR_INT("n", 1)};
  otelc_attr put[] = {OTELC_ATTR_STR("method", "PUT"), OTELC_ATTR_INT("n", 1)};
  otelc_attr verb[] = {OTELC_ATTR_STR("verb", "PUT"), OTELC_ATTR_INT("n", 1)};
  CHECK_EQ(SDK_POINT(g_exp, "c", get, 2).as_int, 1001);
  CHECK_EQ(SDK_POINT(g_exp, "c", put, 2).as_int, 10);
  CHECK_EQ(SDK_POINT(g_exp, "c", verb, 2).as_int, 100);
  done();
}

static void alike_hashes_stay_apart(void) {
  otelc_instrument *c = counter("c");
  otelc_attr xy[] = {OTELC_ATTR_STR("a", "x"), OTELC_ATTR_STR("b", "y")};
  otelc_attr yx[] = {OTELC_ATTR_STR("a", "y"), OTELC_ATTR_STR("b", "x")};
  otelc_attr ka[] = {OTELC_ATTR_STR("user", "alice")};
  otelc_attr kb[] = {OTELC_ATTR_STR("admin", "alice")};
  otelc_attr kc[] = {OTELC_ATTR_STR("user0", "alice")};
  otelc_add_u64(c, 1, xy, 2);
  otelc_add_u64(c, 2, yx, 2);
  otelc_add_u64(c, 4, ka, 1);
  otelc_add_u64(c, 8, kb, 1);
  otelc_add_u64(c, 16, kc, 1);
  otelc_add_u64(c, 32, xy, 2);
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), 5);
  CHECK_EQ(SDK_POINT(g_exp, "c", xy, 2).as_int, 33);
  CHECK_EQ(SDK_POINT(g_exp, "c", yx, 2).as_int, 2);
  CHECK_EQ(SDK_POINT(g_exp, "c", ka, 1).as_int, 4);
  CHECK_EQ(SDK_POINT(g_exp, "c", kb, 1).as_int, 8);
  CHECK_EQ(SDK_POINT(g_exp, "c", kc, 1).as_int, 16);
  done();
}

static void repeated_empty_and_counted_keys(void) {
  otelc_instrument *c = counter("c");
  otelc_attr rep[] = {OTELC_ATTR_INT("a", 1), OTELC_ATTR_STR("", "dropped"), OTELC_ATTR_INT("a", 2)};
  otelc_attr two[] = {OTELC_ATTR_INT("a", 2)};
  otelc_attr one[] = {OTELC_ATTR_INT("a", 1)};
  otelc_add_u64(c, 1, rep, 3); /* creates {a=2} */
  otelc_add_u64(c, 2, two, 1);
  otelc_add_u64(c, 4, rep, 3); /* found again through the canonical form */
  otelc_add_u64(c, 8, one, 1);
  flush();
  CHECK_EQ(SDK_POINT(g_exp, "c", two, 1).as_int, 7);
  CHECK_EQ(SDK_POINT(g_exp, "c", one, 1).as_int, 8);
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), 2);
  done();

  /* 0 to 9 attributes: ten series, each found again in reverse order */
  c = counter("n");
  static char keys[9][8];
  otelc_attr a[9], r[9];
  for (int i = 0; i < 9; i++) {
    snprintf(keys[i], sizeof keys[i], "key%d", i);
    a[i] = i % 3 == 0 ? OTELC_ATTR_STR(keys[i], keys[i]) : i % 3 == 1 ? OTELC_ATTR_INT(keys[i], i)
                                                                     : OTELC_ATTR_DOUBLE(keys[i], i / 2.0);
  }
  for (int n = 0; n <= 9; n++) {
    otelc_add_u64(c, 1, a, (size_t)n);
    for (int i = 0; i < n; i++) r[i] = a[n - 1 - i];
    otelc_add_u64(c, 2, r, (size_t)n);
  }
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "n"), 10);
  for (int n = 0; n <= 9; n++) CHECK_EQ(SDK_POINT(g_exp, "n", a, (size_t)n).as_int, 3);
  done();
}

/* Values and keys that share their first 15, 16, 17, 31, 32 or 33 bytes. */
static void long_common_prefixes(void) {
  otelc_instrument *c = counter("c");
  static const int lens[] = {15, 16, 17, 31, 32, 33, 47, 48, 100};
  char kbuf[128], vbuf[128];
  long expect = 0;
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    int len = lens[i];
    memset(kbuf, 'k', (size_t)len);
    memset(vbuf, 'v', (size_t)len);
    kbuf[len] = vbuf[len] = 0;
    otelc_attr a[] = {OTELC_ATTR_STR(kbuf, vbuf)};
    otelc_add_u64(c, 1, a, 1);      /* k..k = v..v */
    vbuf[len - 1] = 'w';
    otelc_add_u64(c, 2, a, 1);      /* the value's last byte */
    kbuf[len - 1] = 'l';
    otelc_add_u64(c, 4, a, 1);      /* and the key's */
    vbuf[len - 1] = 'v';
    otelc_add_u64(c, 8, a, 1);      /* the key's only */
    kbuf[len - 1] = 'k';
    otelc_add_u64(c, 16, a, 1);     /* back to the first */
    expect += 4;
  }
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), expect);
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    int len = lens[i];
    memset(kbuf, 'k', (size_t)len);
    memset(vbuf, 'v', (size_t)len);
    kbuf[len] = vbuf[len] = 0;
    otelc_attr a[] = {OTELC_ATTR_STR(kbuf, vbuf)};
    CHECK_EQ(SDK_POINT(g_exp, "c", a, 1).as_int, 17);
    vbuf[len - 1] = 'w';
    CHECK_EQ(SDK_POINT(g_exp, "c", a, 1).as_int, 2);
    kbuf[len - 1] = 'l';
    CHECK_EQ(SDK_POINT(g_exp, "c", a, 1).as_int, 4);
    vbuf[len - 1] = 'v';
    CHECK_EQ(SDK_POINT(g_exp, "c", a, 1).as_int, 8);
  }
  done();
}

static void histogram_sets(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_instrument *h = otelc_histogram(otelc_meter_get(mp, "t", NULL, NULL), "h", NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("route", "/a"), OTELC_ATTR_INT("code", 200), OTELC_ATTR_DOUBLE("w", 0.5)};
  otelc_attr r[] = {a[2], a[0], a[1]};
  otelc_attr t[] = {OTELC_ATTR_STR("route", "/a"), OTELC_ATTR_DOUBLE("code", 200.0), OTELC_ATTR_DOUBLE("w", 0.5)};
  for (int i = 0; i < 40; i++) otelc_record_f64(h, i * 300.0, i % 2 ? a : r, 3);
  otelc_record_f64(h, 1, t, 3);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "h"), 2);
  otelc_point p = SDK_POINT(exp, "h", a, 3);
  CHECK_EQ(p.count, 40);
  CHECK_DBL(p.sum, 300.0 * 39 * 40 / 2);
  CHECK_EQ(SDK_POINT(exp, "h", t, 3).count, 1);
  /* boundaries: values at and between the defaults land upper-inclusive */
  otelc_attr b[] = {OTELC_ATTR_STR("k", "bounds")};
  static const double v[] = {0, 0.1, 5, 5.5, 10000, 10000.5, -3, 7500};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) otelc_record_f64(h, v[i], b, 1);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
  p = SDK_POINT(exp, "h", b, 1);
  CHECK_EQ(p.count, 8);
  CHECK_EQ(p.n_bounds, 15);
  if (p.n_bounds == 15) {
    CHECK_EQ(p.bucket_counts[0], 2);  /* -3, 0 */
    CHECK_EQ(p.bucket_counts[1], 2);  /* 0.1, 5 */
    CHECK_EQ(p.bucket_counts[2], 1);  /* 5.5 */
    CHECK_EQ(p.bucket_counts[13], 1); /* 7500 */
    CHECK_EQ(p.bucket_counts[14], 1); /* 10000 */
    CHECK_EQ(p.bucket_counts[15], 1); /* 10000.5 */
  }
  otelc_meter_provider_free(mp);
}

/* The bucket search against a plain count, for boundary counts on both sides of the fixed 16-wide search. */
static void bucket_search_sizes(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  static const size_t sizes[] = {1, 2, 15, 16, 17, 20, 40};
  double b[40];
  for (int i = 0; i < 40; i++) b[i] = i * 10.0 - 50;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    char name[16];
    snprintf(name, sizeof name, "h%zu", sizes[s]);
    otelc_instrument *h =
        otelc_histogram(m, name, &(otelc_instrument_options){.boundaries = b, .n_boundaries = sizes[s]});
    for (int v = -70; v <= 400; v += 5) otelc_record_f64(h, v, NULL, 0);
    CHECK_EQ(otelc_meter_provider_force_flush(mp, 1000), OTELC_OK);
    otelc_point p = SDK_POINT(exp, name, NULL, 0);
    CHECK_EQ(p.n_bounds, sizes[s]);
    if (p.n_bounds != sizes[s]) continue;
    uint64_t expect[41] = {0};
    for (int v = -70; v <= 400; v += 5) {
      size_t i = 0;
      while (i < sizes[s] && v > b[i]) i++;
      expect[i]++;
    }
    for (size_t i = 0; i <= sizes[s]; i++)
      CHECK_MSG(p.bucket_counts[i] == expect[i], "%zu bounds, bucket %zu", sizes[s], i);
  }
  otelc_meter_provider_free(mp);
}

/* Two threads record the same set from their own buffers (same content) while a third creates new series. */
typedef struct {
  otelc_instrument *c;
  int id;
} worker_arg;

static void *same_set_worker(void *arg) {
  worker_arg *w = arg;
  char key[32], val[32];
  for (int i = 0; i < 20000; i++) {
    strcpy(key, "http.route");
    strcpy(val, "/api/users");
    otelc_attr a[] = {OTELC_ATTR_INT("code", 200), OTELC_ATTR_STR(key, val)};
    otelc_add_u64(w->c, 1, a, 2);
    snprintf(val, sizeof val, "/t%d/%d", w->id, i % 50); /* reuse the buffer for other series */
    otelc_add_u64(w->c, 1, a, 2);
  }
  return NULL;
}

static void threads_share_series(void) {
  otelc_instrument *c = counter("c");
  pthread_t t[3];
  worker_arg args[3] = {{c, 0}, {c, 1}, {c, 2}};
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, same_set_worker, &args[i]);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  flush();
  otelc_attr a[] = {OTELC_ATTR_STR("http.route", "/api/users"), OTELC_ATTR_INT("code", 200)};
  CHECK_EQ(SDK_POINT(g_exp, "c", a, 2).as_int, 60000);
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "c"), 1 + 3 * 50);
  otelc_attr one[] = {OTELC_ATTR_STR("http.route", "/t1/7"), OTELC_ATTR_INT("code", 200)};
  CHECK_EQ(SDK_POINT(g_exp, "c", one, 2).as_int, 400);
  done();
}

/* 600 flag sets {flag.<i>=true, on=1}: equal hashes by design, so the table switches to the keyed hash. Each
 * thread records every set (i + 1) times, in its own order, from its own key buffers. */
#define FLAGS 600
typedef struct {
  otelc_instrument *c;
  int stride;
} flags_arg;

static void *flags_worker(void *arg) {
  flags_arg *w = arg;
  char key[32];
  for (int round = 0; round < 3; round++) {
    for (int k = 0; k < FLAGS; k++) {
      int i = (k * w->stride) % FLAGS;
      snprintf(key, sizeof key, "flag.%d", i);
      otelc_attr a[] = {OTELC_ATTR_BOOL(key, true), OTELC_ATTR_INT("on", 1)};
      if (round == 0) otelc_add_u64(w->c, (uint64_t)i + 1, a, 2);
      else otelc_add_u64(w->c, 0, a, 2);
    }
  }
  return NULL;
}

static void keys_only_sets(void) {
  otelc_instrument *c = counter("flags");
  pthread_t t[2];
  flags_arg args[2] = {{c, 1}, {c, 7}}; /* 7 is prime to 600: another order over every set */
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, flags_worker, &args[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  otelc_series_table *tab = atomic_load(&((otelc_instrument *)c)->table);
  CHECK(tab->keyed);
  flags_worker(&args[0]); /* and again on the keyed table */
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "flags"), FLAGS);
  char key[32];
  for (int i = 0; i < FLAGS; i += 37) {
    snprintf(key, sizeof key, "flag.%d", i);
    otelc_attr a[] = {OTELC_ATTR_INT("on", 1), OTELC_ATTR_BOOL(key, true)};
    CHECK_EQ(SDK_POINT(g_exp, "flags", a, 2).as_int, 3 * (i + 1));
  }
  otelc_attr off[] = {OTELC_ATTR_BOOL("flag.1", false), OTELC_ATTR_INT("on", 1)};
  otelc_add_u64(c, 5, off, 2); /* the value differs: another set */
  flush();
  CHECK_EQ(otelc_memory_exporter_point_count(g_exp, 0, "flags"), FLAGS + 1);
  CHECK_EQ(SDK_POINT(g_exp, "flags", off, 2).as_int, 5);
  done();
}

int main(void) {
  sdk_test_clear_env();
  RUN(any_order_one_series);
  RUN(buffers_reused_with_new_content);
  RUN(alike_hashes_stay_apart);
  RUN(repeated_empty_and_counted_keys);
  RUN(long_common_prefixes);
  RUN(histogram_sets);
  RUN(bucket_search_sizes);
  RUN(threads_share_series);
  RUN(keys_only_sets);
  return test_finish();
}
