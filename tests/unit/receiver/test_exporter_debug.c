/* test_exporter_debug.c — the `debug` exporter's layouts for the sample request (tests/support/sample_otlp.h),
 * compared with the Collector debug exporter's text: the basic summary line, normal's one line per data point,
 * detailed's resource / scope / metric / data point blocks; sampling; the hooks writing to a chosen stream.
 * DUMP=1 prints the texts. */
#include <stdlib.h>

#include "exporter_testhost.h"
#include "receiver/config/components/debug_exporter.h"
#include "receiver/exporters/debug.h"
#include "sample_otlp.h"
#include "testlib.h"

static char *format(int verbosity) {
  otlp_request *req = sample_otlp_full();
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(debug_exporter_format(req, verbosity, &b, &err), 0);
  wire_buf_append(&b, "", 1, &err);
  sample_otlp_free(req);
  if (getenv("DUMP")) fprintf(stderr, "----- verbosity %d -----\n%s", verbosity, (char *)b.data);
  return (char *)b.data;
}

static void test_basic(void) {
  char *t = format(DEBUG_VERBOSITY_BASIC);
  CHECK_STR(t, "Metrics {resource metrics: 1, metrics: 6, data points: 10}\n");
  free(t);
}

static void test_detailed_layout(void) {
  char *t = format(DEBUG_VERBOSITY_DETAILED);
  CHECK_CONTAINS(t, "Metrics {resource metrics: 1, metrics: 6, data points: 10}\n"
                    "ResourceMetrics #0\n"
                    "Resource SchemaURL: https://opentelemetry.io/schemas/1.21.0\n"
                    "Resource attributes:\n"
                    "     -> service.name: Str(checkout)\n"
                    "     -> host.cores: Int(8)\n"
                    "     -> sampled: Bool(true)\n"
                    "     -> ratio: Double(0.25)\n"
                    "     -> blob: Bytes(3q2+7w==)\n"
                    "     -> tags: Slice([\"a\",-1,[\"x\"]])\n"
                    "     -> labels: Map({\"k1\":\"v1\",\"k2\":2})\n"
                    "ScopeMetrics #0\n"
                    "ScopeMetrics SchemaURL: \n"
                    "InstrumentationScope otelc.test 1.2.3\n"
                    "InstrumentationScope attributes:\n"
                    "     -> scope.attr: Str(s)\n"
                    "Metric #0\n"
                    "Descriptor:\n"
                    "     -> Name: requests\n"
                    "     -> Description: ");
  CHECK_CONTAINS(t, "     -> Unit: 1\n"
                    "     -> DataType: Sum\n"
                    "     -> Metadata:\n"
                    "          -> origin: Str(sample)\n"
                    "     -> IsMonotonic: true\n"
                    "     -> AggregationTemporality: Cumulative\n"
                    "NumberDataPoints #0\n"
                    "Data point attributes:\n"
                    "     -> method: Str(GET)\n"
                    "StartTimestamp: 2023-11-14 22:13:20 +0000 UTC\n"
                    "Timestamp: 2023-11-14 22:14:20 +0000 UTC\n"
                    "Value: 42\n"
                    "Exemplars:\n"
                    "Exemplar #0\n"
                    "     -> Trace ID: 0102030405060708090a0b0c0d0e0f10\n");
  CHECK_CONTAINS(t, "     -> Value: 5\n"
                    "     -> FilteredAttributes:\n"
                    "          -> user: Str(u1)\n"
                    "NumberDataPoints #1\n");
  CHECK_CONTAINS(t, "Value: -7\n");
  CHECK_CONTAINS(t, "     -> Name: queue.depth\n");
  CHECK_CONTAINS(t, "     -> IsMonotonic: false\n     -> AggregationTemporality: Delta\n");
  CHECK_CONTAINS(t, "Value: 3.500000\n");
  CHECK_CONTAINS(t, "     -> DataType: Gauge\n");
  CHECK_CONTAINS(t, "Value: -12.250000\n");
  CHECK_CONTAINS(t, "     -> DataType: Histogram\n     -> AggregationTemporality: Cumulative\nHistogramDataPoints #0\n");
  CHECK_CONTAINS(t, "Count: 15\nSum: 12.500000\nMin: 0.001000\nMax: 3.000000\n"
                    "ExplicitBounds #0: 0.005000\nExplicitBounds #1: 0.010000\nExplicitBounds #2: 0.100000\n"
                    "ExplicitBounds #3: 1.000000\n"
                    "Buckets #0, Count: 1\nBuckets #1, Count: 2\nBuckets #2, Count: 3\nBuckets #3, Count: 4\n"
                    "Buckets #4, Count: 5\n");
  CHECK_CONTAINS(t, "HistogramDataPoints #1\n");
  CHECK_CONTAINS(t, "     -> DataType: ExponentialHistogram\n     -> AggregationTemporality: Delta\n"
                    "ExponentialHistogramDataPoints #0\n");
  CHECK_CONTAINS(t, "Count: 9\nSum: -1.500000\nMin: -4.000000\nMax: 10.000000\n");
  CHECK_CONTAINS(t, "Bucket [0, 0], Count: 2\n");
  CHECK_CONTAINS(t, "     -> Value: 2.500000\n");
  CHECK_CONTAINS(t, "     -> DataType: Summary\nSummaryDataPoints #0\n");
  CHECK_CONTAINS(t, "Count: 10\nSum: 99.500000\nQuantileValue #0: Quantile 0.000000, Value 1.000000\n"
                    "QuantileValue #1: Quantile 0.500000, Value 9.000000\n");
  /* exponential buckets: scale 3 (base 2^(1/8)), positive offset 5 → first bucket (2^(5/8), 2^(6/8)] */
  CHECK_CONTAINS(t, "Bucket (1.542211, 1.681793], Count: 1\n");
  free(t);
}

static void test_normal_layout(void) {
  char *t = format(DEBUG_VERBOSITY_NORMAL);
  CHECK_CONTAINS(t, "Metrics {resource metrics: 1, metrics: 6, data points: 10}\n"
                    "ResourceMetrics #0 https://opentelemetry.io/schemas/1.21.0 service.name=checkout host.cores=8 "
                    "sampled=true ratio=0.25");
  CHECK_CONTAINS(t, "ScopeMetrics #0 otelc.test@1.2.3 scope.attr=s\n");
  CHECK_CONTAINS(t, "requests{method=GET} 42\n");
  CHECK_CONTAINS(t, "requests{method=POST} -7\n");
  CHECK_CONTAINS(t, "queue.depth{} 3.5\n");
  CHECK_CONTAINS(t, "temperature{} -12.25\n");
  CHECK_CONTAINS(t, "latency{} count=15 sum=12.5 min=0.001 max=3 le0.005=1 le0.01=2 le0.1=3 le1=4 5\n");
  CHECK_CONTAINS(t, "rpc.duration{} count=10 sum=99.500000 q0=1 q0.5=9 q0.99=20 q1=25\n");
  /* one line per data point after the two headers and the summary line */
  int lines = 0;
  for (const char *p = t; *p; p++) lines += *p == '\n';
  CHECK_EQ(lines, 3 + SAMPLE_FULL_POINTS);
  free(t);
}

static void test_hooks_and_sampling(void) {
  component_host *h = th_reset();
  debug_exporter_config c = {.verbosity = DEBUG_VERBOSITY_BASIC, .sampling_initial = 2, .sampling_thereafter = 1000,
                             .use_internal_logger = true};
  component_create_args a = {.id = "debug", .kind = COMPONENT_EXPORTER, .config = &c, .host = h};
  void *state = NULL;
  wire_err err;
  CHECK_EQ(debug_exporter_hooks.create(&a, &state, &err), 0);
  CHECK_EQ(debug_exporter_hooks.start(state, &err), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  debug_exporter_set_output(state, out);
  otlp_request *req = sample_otlp_full();
  wire_buf b;
  wire_buf_init(&b, 0);
  CHECK_EQ(wire_otlp_encode_request(req, &b, &err), 0);
  for (int i = 0; i < 10; i++) {
    component_metrics *m = metrics_decode(b.data, b.len, 0, 0, &err);
    CHECK(m != NULL);
    CHECK_EQ(debug_exporter_hooks.consume_metrics(state, m, &err), 0);
  }
  CHECK_EQ(debug_exporter_hooks.shutdown(state, &err), 0);
  fflush(out);
  int printed = 0;
  for (const char *p = text; p && (p = strstr(p, "Metrics {")) != NULL; p++) printed++;
  /* the first two of each second, then every 1000th: 2 (4 if the loop crossed a second boundary) */
  CHECK(printed >= 2 && printed <= 4);
  CHECK_EQ(th_counter("otelcol_exporter_sent_metric_points"), 10 * SAMPLE_FULL_POINTS);
  CHECK_EQ(pipeline_batches_live(), 0);
  debug_exporter_hooks.destroy(state);
  fclose(out);
  free(text);
  wire_buf_free(&b);
  sample_otlp_free(req);
}

int main(void) {
  th_host.quiet = getenv("VERBOSE") == NULL;
  RUN(test_basic);
  RUN(test_detailed_layout);
  RUN(test_normal_layout);
  RUN(test_hooks_and_sampling);
  return test_finish();
}
