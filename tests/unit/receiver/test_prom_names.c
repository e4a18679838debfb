/* test_prom_names.c — OTLP → Prometheus metric names, unit suffixes, label names, escaping and number formatting
 * (receiver/exporters/prom_names.h), against the strings the Collector's prometheusexporter produces. */
#include <math.h>
#include <stdlib.h>

#include "receiver/exporters/prom_names.h"
#include "testlib.h"

static char name_buf[512];

static const char *mname_ns(const char *name, const char *unit, prom_name_kind kind, const char *ns, bool suffixes) {
  wire_buf b;
  wire_buf_init(&b, 0);
  size_t n = prom_metric_name(&b, name, unit, kind, ns, suffixes);
  if (n != b.len) test_fail(__FILE__, __LINE__, "returned length %zu != appended %zu", n, b.len);
  snprintf(name_buf, sizeof name_buf, "%.*s", (int)b.len, b.data ? (char *)b.data : "");
  wire_buf_free(&b);
  return name_buf;
}

static const char *mname(const char *name, const char *unit, prom_name_kind kind) {
  return mname_ns(name, unit, kind, NULL, true);
}

static void test_metric_names_with_suffixes(void) {
  CHECK_STR(mname("http.server.duration", "s", PROM_NAME_HISTOGRAM), "http_server_duration_seconds");
  CHECK_STR(mname("http.server.request.size", "By", PROM_NAME_HISTOGRAM), "http_server_request_size_bytes");
  CHECK_STR(mname("requests", "1", PROM_NAME_COUNTER), "requests_total");
  CHECK_STR(mname("system.cpu.utilization", "1", PROM_NAME_GAUGE), "system_cpu_utilization_ratio");
  CHECK_STR(mname("system.cpu.utilization", "1", PROM_NAME_UPDOWN), "system_cpu_utilization");
  CHECK_STR(mname("queue.size", "{items}", PROM_NAME_UPDOWN), "queue_size");
  CHECK_STR(mname("throughput", "By/s", PROM_NAME_GAUGE), "throughput_bytes_per_second");
  CHECK_STR(mname("speed", "m/s", PROM_NAME_GAUGE), "speed_meters_per_second");
  CHECK_STR(mname("rate", "{req}/s", PROM_NAME_GAUGE), "rate_per_second");
  CHECK_STR(mname("latency", "ms", PROM_NAME_HISTOGRAM), "latency_milliseconds");
  CHECK_STR(mname("memory", "KiBy", PROM_NAME_GAUGE), "memory_kibibytes");
  CHECK_STR(mname("disk", "TiBy", PROM_NAME_GAUGE), "disk_tebibytes");
  CHECK_STR(mname("temp", "Cel", PROM_NAME_GAUGE), "temp_celsius");
  CHECK_STR(mname("cpu", "%", PROM_NAME_GAUGE), "cpu_percent");
  CHECK_STR(mname("things", "widgets", PROM_NAME_GAUGE), "things_widgets");
  CHECK_STR(mname("uptime", " s ", PROM_NAME_COUNTER), "uptime_seconds_total");
  CHECK_STR(mname("jobs", "1/h", PROM_NAME_GAUGE), "jobs_per_hour"); /* `_ratio` only for exactly "1" */
  /* the unit or type word already in the name is not repeated; "total" moves to the end */
  CHECK_STR(mname("request.duration.seconds", "s", PROM_NAME_HISTOGRAM), "request_duration_seconds");
  CHECK_STR(mname("bytes_per_second", "By/s", PROM_NAME_GAUGE), "bytes_per_second");
  CHECK_STR(mname("total.requests", "", PROM_NAME_COUNTER), "requests_total");
  CHECK_STR(mname("requests_total", "", PROM_NAME_COUNTER), "requests_total");
  CHECK_STR(mname("ratio.x", "1", PROM_NAME_GAUGE), "x_ratio");
  /* sanitising: invalid characters split tokens, runs collapse, a leading digit gets '_' */
  CHECK_STR(mname("foo__bar..baz", "", PROM_NAME_GAUGE), "foo_bar_baz");
  CHECK_STR(mname("_leading.and.trailing_", "", PROM_NAME_GAUGE), "leading_and_trailing");
  CHECK_STR(mname("1st.metric", "", PROM_NAME_GAUGE), "_1st_metric");
  CHECK_STR(mname("caf\xc3\xa9.latte", "", PROM_NAME_GAUGE), "caf_latte");
  CHECK_STR(mname("ns:sub.name", "", PROM_NAME_GAUGE), "ns:sub_name");
  CHECK_STR(mname_ns("requests", "", PROM_NAME_COUNTER, "myapp", true), "myapp_requests_total");
  CHECK_STR(mname_ns("1x", "", PROM_NAME_GAUGE, "my.app", true), "my_app_1x");
  CHECK_STR(mname("...", "", PROM_NAME_GAUGE), "");
  CHECK_STR(mname("", "", PROM_NAME_GAUGE), "");
}

static void test_metric_names_without_suffixes(void) {
  CHECK_STR(mname_ns("http.server.duration", "s", PROM_NAME_HISTOGRAM, NULL, false), "http_server_duration");
  CHECK_STR(mname_ns("requests", "1", PROM_NAME_COUNTER, NULL, false), "requests");
  CHECK_STR(mname_ns("a__b", "", PROM_NAME_GAUGE, NULL, false), "a__b");
  CHECK_STR(mname_ns("a..b", "", PROM_NAME_GAUGE, NULL, false), "a_b");
  CHECK_STR(mname_ns("1x", "", PROM_NAME_GAUGE, NULL, false), "_1x");
  CHECK_STR(mname_ns("1x", "", PROM_NAME_GAUGE, "ns", false), "ns_1x");
  CHECK_STR(mname_ns("___", "", PROM_NAME_GAUGE, NULL, false), "");
}

static void test_unit_words(void) {
  struct {
    const char *unit, *want;
  } cases[] = {{"s", "seconds"}, {"By/s", "bytes_per_second"}, {"1", ""},          {"{req}", ""},
               {"{req}/s", "per_second"}, {"m/s", "meters_per_second"}, {"", ""}, {"foo.bar", "foo_bar"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wire_buf b;
    wire_buf_init(&b, 0);
    size_t n = prom_unit_words(&b, cases[i].unit);
    snprintf(name_buf, sizeof name_buf, "%.*s", (int)n, b.data ? (char *)b.data : "");
    CHECK_STR(name_buf, cases[i].want);
    wire_buf_free(&b);
  }
}

static const char *lname(const char *key) {
  size_t n = prom_label_name(name_buf, key, strlen(key));
  name_buf[n] = 0;
  return name_buf;
}

static void test_label_names(void) {
  CHECK_STR(lname("http.method"), "http_method");
  CHECK_STR(lname("http_method"), "http_method");
  CHECK_STR(lname("a-b/c"), "a_b_c");
  CHECK_STR(lname("a..b"), "a__b"); /* the Collector does not collapse label names */
  CHECK_STR(lname("123abc"), "key_123abc");
  CHECK_STR(lname("_private"), "key_private");
  CHECK_STR(lname("__reserved"), "__reserved");
  CHECK_STR(lname("caf\xc3\xa9"), "caf_");
  CHECK_STR(lname(".dot"), "key_dot");
  CHECK_STR(lname(""), "");
  CHECK_STR(lname("..."), "");
  CHECK_STR(lname("\xe2\x82\xac"), "");
}

static const char *esc(const char *v, bool help, bool om) {
  size_t n = prom_escape_value(name_buf, v, strlen(v), help, om);
  name_buf[n] = 0;
  return name_buf;
}

static void test_escaping(void) {
  CHECK_STR(esc("plain value", false, false), "plain value");
  CHECK_STR(esc("a\\b\"c\nd", false, false), "a\\\\b\\\"c\\nd");
  CHECK_STR(esc("say \"hi\"\n", true, false), "say \"hi\"\\n");   /* Prometheus HELP: quotes stay */
  CHECK_STR(esc("say \"hi\"\n", true, true), "say \\\"hi\\\"\\n"); /* OpenMetrics HELP: quotes escaped */
  CHECK_STR(esc("caf\xc3\xa9 \xe2\x82\xac", false, false), "caf\xc3\xa9 \xe2\x82\xac");
  CHECK_STR(esc("bad\xff!", false, false), "bad\xef\xbf\xbd!");
  CHECK_STR(esc("trunc\xe2\x82", false, false), "trunc\xef\xbf\xbd\xef\xbf\xbd");
  CHECK_STR(esc("\xed\xa0\x80", false, false), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
  CHECK_STR(esc("tab\tkept", false, false), "tab\tkept");
}

static const char *fgo(double v) {
  size_t n = prom_fmt_float_go(name_buf, v);
  name_buf[n] = 0;
  return name_buf;
}
static const char *fom(double v) {
  size_t n = prom_fmt_float_om(name_buf, v);
  name_buf[n] = 0;
  return name_buf;
}
static const char *fval(double v) {
  size_t n = prom_fmt_value(name_buf, v);
  name_buf[n] = 0;
  return name_buf;
}

static void test_number_formatting(void) {
  CHECK_STR(fgo(1), "1");
  CHECK_STR(fgo(0), "0");
  CHECK_STR(fgo(-0.0), "-0");
  CHECK_STR(fgo(0.5), "0.5");
  CHECK_STR(fgo(-2.5), "-2.5");
  CHECK_STR(fgo(100000), "100000");
  CHECK_STR(fgo(1e6), "1e+06");
  CHECK_STR(fgo(123456789), "1.23456789e+08");
  CHECK_STR(fgo(123456.7), "123456.7");
  CHECK_STR(fgo(0.0001), "0.0001");
  CHECK_STR(fgo(0.00001), "1e-05");
  CHECK_STR(fgo(2.5e-7), "2.5e-07");
  CHECK_STR(fgo(1e21), "1e+21");
  CHECK_STR(fgo(1e100), "1e+100");
  CHECK_STR(fgo(0.1 + 0.2), "0.30000000000000004");
  CHECK_STR(fgo(1.0 / 3), "0.3333333333333333");
  CHECK_STR(fgo(5e-324), "5e-324");
  CHECK_STR(fgo(1.7976931348623157e308), "1.7976931348623157e+308");
  CHECK_STR(fgo(NAN), "NaN");
  CHECK_STR(fgo(INFINITY), "+Inf");
  CHECK_STR(fgo(-INFINITY), "-Inf");
  CHECK_STR(fom(1), "1.0");
  CHECK_STR(fom(0.25), "0.25");
  CHECK_STR(fom(1e6), "1e+06");
  CHECK_STR(fom(INFINITY), "+Inf");
  CHECK_STR(fval(1e6), "1000000");
  CHECK_STR(fval(-42), "-42");
  CHECK_STR(fval(1.5), "1.5");
  CHECK_STR(fval(9007199254740992.0), "9.007199254740992e+15");
  CHECK_STR(fval(NAN), "NaN");
  char b[PROM_NUM_MAX + 1];
  b[prom_fmt_i64(b, INT64_MIN)] = 0;
  CHECK_STR(b, "-9223372036854775808");
  b[prom_fmt_u64(b, UINT64_MAX)] = 0;
  CHECK_STR(b, "18446744073709551615");
  /* round trip of awkward values */
  double vals[] = {0.1, 1e-300, 123.456, 6.02214076e23, 2.2250738585072014e-308, 4.35, 0.3};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) CHECK_DBL(strtod(fgo(vals[i]), NULL), vals[i]);
}

int main(void) {
  RUN(test_metric_names_with_suffixes);
  RUN(test_metric_names_without_suffixes);
  RUN(test_unit_words);
  RUN(test_label_names);
  RUN(test_escaping);
  RUN(test_number_formatting);
  return test_finish();
}
