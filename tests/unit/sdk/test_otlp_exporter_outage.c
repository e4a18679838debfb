/* test_otlp_exporter_outage.c — the endpoint goes away and comes back while the application keeps recording
 * and the periodic reader keeps exporting: nothing crashes, memory stays bounded (the SDK keeps no queue: the
 * process RSS stays flat within a generous bound while hundreds of exports fail), the cumulative values are
 * exactly right once the endpoint is back, and the retries and errors show in the SDK's own metrics.
 * Run for OTLP/gRPC and OTLP/HTTP. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otelc/otelc.h"
#include "otelc/otlp_exporter.h"
#include "otlp_test_server.h"
#include "testlib.h"

#define SERIES 16
#define RSS_BOUND_BYTES (48LL << 20)

/* Under AddressSanitizer freed memory sits in a quarantine (256 MB by default) and would look like growth. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=8:thread_local_quarantine_size_kb=64"; }

static int64_t rss_bytes(void) {
  char *s = test_read_file("/proc/self/statm", NULL);
  if (!s) return -1;
  long long size = 0, resident = 0;
  sscanf(s, "%lld %lld", &size, &resident);
  free(s);
  return resident * sysconf(_SC_PAGESIZE);
}

/* The newest request holding the counter: the sum over its series. */
static double exported_total(otlp_test_server *s, const char *name) {
  const otlp_test_request *q = otlp_test_server_latest_with(s, name, 0);
  if (!q) return -1;
  const otlp_metric *m = otlp_test_find_metric(q->req, name);
  if (!m || m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) return -1;
  double t = 0;
  for (size_t i = 0; i < m->sum->n_data_points; i++) t += otlp_test_number_value(m->sum->data_points[i]);
  return t;
}

/* Waits (bounded) until the server has received the expected total. */
static bool wait_total(otlp_test_server *s, const char *name, double want) {
  for (int i = 0; i < 3000; i++) {
    if (exported_total(s, name) == want) return true;
    usleep(10000);
  }
  return false;
}

static double health_sum(const otlp_request *req, const char *name) {
  const otlp_metric *m = otlp_test_find_metric(req, name);
  if (!m || m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) return 0;
  double t = 0;
  for (size_t i = 0; i < m->sum->n_data_points; i++) t += otlp_test_number_value(m->sum->data_points[i]);
  return t;
}

static void outage(otelc_otlp_protocol proto) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_otlp_options o = {
      .protocol = proto,
      .endpoint = proto == OTELC_OTLP_GRPC ? otlp_test_server_url(s) : otlp_test_server_http_url(s),
      .timeout_ms = 150,
      .retry_initial_backoff_ms = 10,
      .retry_max_backoff_ms = 40,
  };
  otelc_provider_options po = {0};
  po.exporter = otelc_otlp_exporter_create(&o);
  CHECK(po.exporter != NULL);
  po.export_interval_ms = 20;
  po.export_timeout_ms = 300;
  otelc_meter_provider *mp = NULL;
  CHECK_EQ(otelc_meter_provider_create(&po, &mp), OTELC_OK);
  otelc_meter *m = otelc_meter_get(mp, "outage", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "outage.counter", NULL);
  otelc_instrument *h = otelc_histogram(m, "outage.latency", NULL);
  char names[SERIES][16];
  for (int i = 0; i < SERIES; i++) snprintf(names[i], sizeof names[i], "s%d", i);

  /* up: the first exports arrive */
  uint64_t total = 0;
  for (int i = 0; i < 100; i++) {
    otelc_attr a[] = {OTELC_ATTR_STR("series", names[i % SERIES])};
    otelc_add_u64(c, 1, a, 1);
    total++;
  }
  CHECK(wait_total(s, "outage.counter", (double)total));

  /* down: the reader's exports fail and are retried; the application keeps recording */
  CHECK_EQ(otlp_test_server_down(s), 0);
  size_t seen_before = otlp_test_server_count(s);
  int64_t rss_warm = -1;
  for (int i = 0; i < 3000; i++) {
    otelc_attr a[] = {OTELC_ATTR_STR("series", names[i % SERIES])};
    otelc_add_u64(c, 2, a, 1);
    otelc_record_f64(h, (double)(i % 100), a, 1);
    total += 2;
    if (i == 1000) rss_warm = rss_bytes();
    usleep(1000);
  }
  int64_t rss_end = rss_bytes();
  CHECK_EQ(otlp_test_server_count(s), seen_before); /* nothing got through */
  printf("outage (%s): RSS %lld KiB after warm-up, %lld KiB at the end of the outage\n",
         proto == OTELC_OTLP_GRPC ? "grpc" : "http", (long long)(rss_warm >> 10), (long long)(rss_end >> 10));
  CHECK_MSG(rss_end - rss_warm < RSS_BOUND_BYTES, "RSS grew by %lld bytes during the outage",
            (long long)(rss_end - rss_warm));

  /* up again: the next export carries the exact cumulative totals */
  CHECK_EQ(otlp_test_server_up(s), 0);
  CHECK(wait_total(s, "outage.counter", (double)total));
  /* the failures are visible in the SDK's own metrics (the export after the recovery reports them) */
  bool seen = false;
  for (int i = 0; i < 1500 && !seen; i++) {
    const otlp_test_request *q = otlp_test_server_latest_with(s, "otelc.sdk.exporter.export.retries", 0);
    seen = q && health_sum(q->req, "otelc.sdk.exporter.export.retries") > 0 &&
           health_sum(q->req, "otelc.sdk.exporter.export.errors") > 0 &&
           health_sum(q->req, "otelc.sdk.exporter.exports.failed") > 0;
    if (!seen) usleep(10000);
  }
  CHECK_MSG(seen, "retries, errors and failed exports should show in otelc.sdk.exporter.*");
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 5000), OTELC_OK);
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_outage_grpc(void) { outage(OTELC_OTLP_GRPC); }
static void test_outage_http(void) { outage(OTELC_OTLP_HTTP_PROTOBUF); }

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  otelc_set_log_level(OTELC_LOG_ERROR);
  RUN(test_outage_grpc);
  RUN(test_outage_http);
  return test_finish();
}
