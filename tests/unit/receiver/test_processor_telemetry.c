/* test_processor_telemetry.c — processors' self-telemetry with the Collector's names, as served on /metrics:
 * otelcol_processor_incoming_items / otelcol_processor_outgoing_items {processor, otel_signal="metrics"} counted
 * by the runtime around every processor (a filter that drops points emits fewer than it got), and the batch
 * processor's otelcol_processor_batch_batch_send_size histogram and its size/timeout trigger counters. Values are
 * checked exactly on the rendered Prometheus text. */
#include <stdarg.h>

#include "rt_harness.h"

/* An OTLP/JSON request with `keep` points of gauge keep.me and `drop` points of gauge drop.me. */
static size_t json_request(char *out, size_t cap, int keep, int drop) {
  size_t n = (size_t)snprintf(out, cap, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[");
  const char *names[] = {"keep.me", "drop.me"};
  int counts[] = {keep, drop};
  bool first_metric = true;
  for (int m = 0; m < 2; m++) {
    if (!counts[m]) continue;
    n += (size_t)snprintf(out + n, cap - n, "%s{\"name\":\"%s\",\"gauge\":{\"dataPoints\":[", first_metric ? "" : ",",
                          names[m]);
    first_metric = false;
    for (int i = 0; i < counts[m]; i++)
      n += (size_t)snprintf(out + n, cap - n,
                            "%s{\"attributes\":[{\"key\":\"i\",\"value\":{\"intValue\":\"%d\"}}],\"asInt\":\"%d\"}",
                            i ? "," : "", i, i);
    n += (size_t)snprintf(out + n, cap - n, "]}}");
  }
  n += (size_t)snprintf(out + n, cap - n, "]}]}]}");
  return n;
}

static void post(uint16_t port, int keep, int drop) {
  char body[16384];
  size_t len = json_request(body, sizeof body, keep, drop);
  wire_client *c = http_client(port, WIRE_CLIENT_H1);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  if (c) http_do(c, "POST", "/v1/metrics", "application/json", body, len, NULL, NULL, &resp);
  CHECK_EQ(resp.status, 200);
  wire_http_response_free(&resp);
  wire_client_free(c);
}

/* The value of the series `name` whose label set contains every "label=\"value\"" fragment given (NULL-terminated);
 * -1 when there is none. */
static double scrape(telemetry *tel, const char *name, ...) {
  wire_buf out;
  wire_buf_init(&out, 0);
  CHECK(telemetry_render(tel, &out, NULL) == 0);
  wire_buf_append(&out, "", 1, NULL);
  const char *frags[8];
  size_t nf = 0;
  va_list ap;
  va_start(ap, name);
  for (const char *f; nf < 8 && (f = va_arg(ap, const char *)) != NULL;) frags[nf++] = f;
  va_end(ap);
  double value = -1;
  size_t nlen = strlen(name);
  for (char *line = (char *)out.data; line && *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    if (!strncmp(line, name, nlen) && line[nlen] == '{') {
      char *close = strchr(line, '}');
      bool all = close != NULL;
      for (size_t i = 0; all && i < nf; i++) {
        char *hit = strstr(line, frags[i]);
        all = hit && hit < close;
      }
      if (all) value = strtod(close + 1, NULL);
    }
    line = end ? end + 1 : NULL;
  }
  wire_buf_free(&out);
  return value;
}

/* Waits (bounded) until the series reaches `want`. */
static bool wait_value(telemetry *tel, double want, const char *name, const char *a, const char *b) {
  for (int i = 0; i < 2500; i++) {
    if (scrape(tel, name, a, b, (const char *)NULL) == want) return true;
    usleep(2000);
  }
  return false;
}

#define SIGNAL "otel_signal=\"metrics\""

/* filter drops drop.me; batch (timeout only) merges what is left. */
static void incoming_outgoing_and_timeout_batches(void) {
  capture_reset();
  const char *yaml =
      "receivers:\n"
      "  otlp:\n"
      "    protocols:\n"
      "      http: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  filter/drop:\n"
      "    metrics:\n"
      "      exclude: {match_type: strict, metric_names: [drop.me]}\n"
      "  batch:\n"
      "    timeout: 50ms\n"
      "    send_batch_size: 100000\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [filter/drop, batch], exporters: [debug]}\n";
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  const int requests = 4, keep = 7, drop = 3;
  for (int r = 0; r < requests; r++) post(hport, keep, drop);
  CHECK(wait_points("debug", (uint64_t)requests * keep, 5000));
  CHECK(wait_value(h.tel, requests * keep, "otelcol_processor_outgoing_items", "processor=\"batch\"", SIGNAL));
  CHECK_DBL(scrape(h.tel, "otelcol_processor_incoming_items", "processor=\"filter/drop\"", SIGNAL, NULL),
            requests * (keep + drop));
  CHECK_DBL(scrape(h.tel, "otelcol_processor_outgoing_items", "processor=\"filter/drop\"", SIGNAL, NULL),
            requests * keep);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_incoming_items", "processor=\"batch\"", SIGNAL, NULL), requests * keep);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_outgoing_items", "processor=\"batch\"", SIGNAL, NULL), requests * keep);
  /* every batch went out on the timer: as many sends as timeout triggers, no size trigger */
  double sends = scrape(h.tel, "otelcol_processor_batch_batch_send_size_count", "processor=\"batch\"", NULL);
  CHECK(sends >= 1 && sends <= requests);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_timeout_trigger_send", "processor=\"batch\"", NULL), sends);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_size_trigger_send", "processor=\"batch\"", NULL), -1);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_sum", "processor=\"batch\"", NULL),
            requests * keep);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_bucket", "processor=\"batch\"", "le=\"+Inf\"",
                   NULL),
            sends);
  /* HELP/TYPE lines name a histogram and the Collector's descriptions */
  wire_buf out;
  wire_buf_init(&out, 0);
  telemetry_render(h.tel, &out, NULL);
  wire_buf_append(&out, "", 1, NULL);
  CHECK_CONTAINS((char *)out.data, "# TYPE otelcol_processor_batch_batch_send_size histogram\n");
  CHECK_CONTAINS((char *)out.data, "# HELP otelcol_processor_incoming_items Number of items passed to the processor.");
  CHECK_CONTAINS((char *)out.data, "# TYPE otelcol_processor_outgoing_items counter\n");
  wire_buf_free(&out);
  harness_stop(&h);
  capture_reset();
}

/* send_batch_size reached by every request: one size-triggered send each, sizes in the right buckets. */
static void size_triggered_batches(void) {
  capture_reset();
  const char *yaml =
      "receivers:\n"
      "  otlp:\n"
      "    protocols:\n"
      "      http: {endpoint: 127.0.0.1:0}\n"
      "processors:\n"
      "  batch/size:\n"
      "    timeout: 10s\n"
      "    send_batch_size: 30\n"
      "exporters:\n"
      "  debug:\n"
      "service:\n"
      "  pipelines:\n"
      "    metrics: {receivers: [otlp], processors: [batch/size], exporters: [debug]}\n";
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  const int requests = 3, points = 30;
  for (int r = 0; r < requests; r++) post(hport, points, 0);
  CHECK(wait_points("debug", (uint64_t)requests * points, 5000));
  const char *id = "processor=\"batch/size\"";
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_size_trigger_send", id, NULL), requests);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_timeout_trigger_send", id, NULL), -1);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_count", id, NULL), requests);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_sum", id, NULL), requests * points);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_bucket", id, "le=\"25\"", NULL), 0);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_bucket", id, "le=\"50\"", NULL), requests);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_batch_batch_send_size_bucket", id, "le=\"100000\"", NULL), requests);
  CHECK_DBL(scrape(h.tel, "otelcol_processor_outgoing_items", id, SIGNAL, NULL), requests * points);
  harness_stop(&h);
  capture_reset();
}

int main(void) {
  RUN(incoming_outgoing_and_timeout_batches);
  RUN(size_triggered_batches);
  return test_finish();
}
