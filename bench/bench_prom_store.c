/* bench_prom_store.c — the Prometheus exporter's series store: data points/s into the store, ms to render 100k
 * series, bytes per series.
 *
 * Requests are sample_otlp_parametric(100 metrics × 10 points × 4 attributes): a cumulative int counter, a double
 * gauge, a delta double sum (made monotonic here: the Collector drops delta non-monotonic sums, which would make
 * the figure look better than it is) and a cumulative 10-bound histogram, repeating. Timestamps advance on every
 * round so that no point is dropped as stale and delta sums really accumulate.
 *   1. memory: 100 requests with distinct service.instance.id → 100,000 series; RSS growth and the store's own count;
 *   2. render: the 100k series as Prometheus text and as OpenMetrics (best of 5), and a gzip scrape the way the
 *      exporter does it (1 MiB pieces, one gzip member each);
 *   3. consume: one request again and again into (a) a fresh store (1,000 series) and (b) the 100k store;
 *   4. decode + consume: the encoded request through wire_otlp_decode_request (arena) and the store.
 * Usage: bench_prom_store [consume iterations]. Build in Release without sanitizers for figures worth recording. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/exporters/prom_store.h"
#include "sample_otlp.h"
#include "wire/clock.h"
#include "wire/gzip.h"
#include "wire/otlp.h"

#define METRICS 100
#define POINTS 10
#define ATTRS 4
#define INSTANCES 100
#define ROUNDS 5

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
  fclose(f);
  return kib;
}

/* Delta sums monotonic, a distinct instance per variant. */
static otlp_request *make_request(int variant) {
  otlp_request *req = sample_otlp_parametric(METRICS, POINTS, ATTRS);
  otlp_resource *res = req->resource_metrics[0]->resource;
  char inst[32];
  snprintf(inst, sizeof inst, "instance-%d", variant);
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_string("service.instance.id", inst));
  otlp_scope_metrics *sm = req->resource_metrics[0]->scope_metrics[0];
  for (size_t i = 0; i < sm->n_metrics; i++)
    if (sm->metrics[i]->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM)
      sm->metrics[i]->sum->is_monotonic = 1;
  return req;
}

/* Moves every point one minute on: start = previous time, so delta points line up. */
static void advance(otlp_request *req, uint64_t round) {
  uint64_t start = SAMPLE_TIME_NS + (round - 1) * 60000000000ull, time = start + 60000000000ull;
  for (size_t r = 0; r < req->n_resource_metrics; r++)
    for (size_t s = 0; s < req->resource_metrics[r]->n_scope_metrics; s++) {
      otlp_scope_metrics *sm = req->resource_metrics[r]->scope_metrics[s];
      for (size_t m = 0; m < sm->n_metrics; m++) {
        otlp_metric *mt = sm->metrics[m];
        size_t n = 0;
        void **pts = NULL;
        switch (mt->data_case) {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: n = mt->sum->n_data_points, pts = (void **)mt->sum->data_points; break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: n = mt->gauge->n_data_points, pts = (void **)mt->gauge->data_points; break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
          for (size_t i = 0; i < mt->histogram->n_data_points; i++)
            mt->histogram->data_points[i]->start_time_unix_nano = start, mt->histogram->data_points[i]->time_unix_nano = time;
          break;
        default: break;
        }
        for (size_t i = 0; i < n; i++) {
          otlp_number_point *p = pts[i];
          p->start_time_unix_nano = start;
          p->time_unix_nano = time;
        }
      }
    }
}

static double consume_rate(prom_store *s, otlp_request *req, long iters, uint64_t *round, uint64_t *dropped) {
  uint64_t points = wire_otlp_count_points(req);
  int64_t best = INT64_MAX;
  *dropped = 0;
  for (int r = 0; r < ROUNDS; r++) {
    int64_t t0 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      advance(req, ++*round);
      prom_consume_result res;
      prom_store_consume_request(s, req, &res);
      *dropped += res.dropped;
    }
    int64_t dt = wire_now_ns() - t0;
    if (dt < best) best = dt;
  }
  return (double)points * (double)iters / ((double)best / 1e9);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 300;
  if (iters <= 0) iters = 300;
  prom_store_config cfg;
  prom_store_config_init(&cfg);

  /* 1. memory for 100k series */
  long rss0 = rss_kib();
  prom_store *big = prom_store_new(&cfg, NULL);
  uint64_t round = 1;
  for (int v = 0; v < INSTANCES; v++) {
    otlp_request *req = make_request(v);
    advance(req, round);
    prom_store_consume_request(big, req, NULL);
    sample_otlp_free(req);
  }
  long rss1 = rss_kib();
  prom_store_stats st;
  prom_store_get_stats(big, &st);
  printf("series: %zu in %zu families\n", st.series, st.families);
  printf("memory: RSS %ld KiB total, +%ld KiB for the store = %.0f bytes/series (store's own count %.0f bytes/series)\n",
         rss1, rss1 - rss0, (double)(rss1 - rss0) * 1024 / (double)st.series, (double)st.bytes / (double)st.series);

  /* 2. render */
  for (int om = 0; om < 2; om++) {
    int64_t best = INT64_MAX;
    size_t len = 0;
    wire_buf out;
    wire_buf_init(&out, 0);
    for (int r = 0; r < ROUNDS; r++) {
      out.len = 0;
      int64_t t0 = wire_now_ns();
      prom_store_render(big, om ? PROM_FORMAT_OPENMETRICS : PROM_FORMAT_TEXT, &out, NULL);
      int64_t dt = wire_now_ns() - t0;
      if (dt < best) best = dt;
      len = out.len;
    }
    printf("render %-12s %zu series: %7.1f ms, %zu bytes (%.1f MB/s)\n", om ? "openmetrics" : "text", st.series,
           (double)best / 1e6, len, (double)len / ((double)best / 1e9) / 1e6);
    wire_buf_free(&out);
  }

  /* 2b. what a gzip scrape costs: families rendered ~1 MiB at a time, each piece one gzip member (as the exporter) */
  {
    int64_t best = INT64_MAX;
    size_t zlen = 0;
    long rss_before = rss_kib();
    for (int r = 0; r < ROUNDS; r++) {
      wire_buf piece, gz;
      wire_buf_init(&piece, 0);
      wire_buf_init(&gz, 0);
      prom_render_cursor cur = {0};
      int64_t t0 = wire_now_ns();
      while (!cur.done) {
        piece.len = 0;
        prom_store_render_some(big, PROM_FORMAT_TEXT, &cur, 1u << 20, &piece, NULL);
        wire_gzip_compress(piece.data, piece.len, 1, &gz, NULL);
      }
      int64_t dt = wire_now_ns() - t0;
      if (dt < best) best = dt;
      zlen = gz.len;
      prom_render_cursor_reset(&cur);
      wire_buf_free(&piece);
      wire_buf_free(&gz);
    }
    printf("scrape (render + gzip -1 in 1 MiB members): %7.1f ms, %zu bytes gzip, RSS %ld KiB after\n",
           (double)best / 1e6, zlen, rss_before);
  }

  /* 3. consume, existing series */
  otlp_request *req = make_request(0);
  uint64_t points = wire_otlp_count_points(req);
  uint64_t dropped;
  prom_store *fresh = prom_store_new(&cfg, NULL);
  uint64_t fround = 1;
  advance(req, fround);
  prom_store_consume_request(fresh, req, NULL);
  double rate = consume_rate(fresh, req, iters, &fround, &dropped);
  printf("consume into 1k series:   %10.0f points/s  (%.0f ns/point, %llu dropped)\n", rate, 1e9 / rate,
         (unsigned long long)dropped);
  rate = consume_rate(big, req, iters, &round, &dropped);
  printf("consume into 100k series: %10.0f points/s  (%.0f ns/point, %llu dropped)\n", rate, 1e9 / rate,
         (unsigned long long)dropped);

  /* 4. decode (arena) + consume */
  wire_buf enc;
  wire_buf_init(&enc, 0);
  wire_otlp_encode_request(req, &enc, NULL);
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  int64_t best = INT64_MAX;
  for (int r = 0; r < ROUNDS; r++) {
    int64_t t0 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      otlp_request *d = wire_otlp_decode_request(enc.data, enc.len, 0, &arena, NULL);
      if (!d) return 1;
      advance(d, ++fround);
      prom_store_consume_request(fresh, d, NULL);
      otlp_arena_reset(&arena);
    }
    int64_t dt = wire_now_ns() - t0;
    if (dt < best) best = dt;
  }
  rate = (double)points * (double)iters / ((double)best / 1e9);
  printf("decode + consume:         %10.0f points/s  (%.0f ns/point, request %zu bytes)\n", rate, 1e9 / rate, enc.len);

  otlp_arena_free(&arena);
  wire_buf_free(&enc);
  sample_otlp_free(req);
  prom_store_free(fresh);
  prom_store_free(big);
  return 0;
}
