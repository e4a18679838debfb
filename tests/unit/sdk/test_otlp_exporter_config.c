/* test_otlp_exporter_config.c — how the OTLP exporter resolves its configuration: options, then
 * OTEL_EXPORTER_OTLP_METRICS_*, then OTEL_EXPORTER_OTLP_*, then defaults; the OTLP/HTTP /v1/metrics rule; TLS
 * from scheme and INSECURE; the headers list; and the retry-policy pieces (retryable statuses, Retry-After,
 * backoff with jitter). No network. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otelc/otlp_exporter.h"
#include "sdk/src/exporter_otlp.h"
#include "testlib.h"

static const char *const k_vars[] = {
    "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_METRICS_INSECURE", NULL};

static void clear_env(void) {
  for (int i = 0; k_vars[i]; i++) unsetenv(k_vars[i]);
}

/* Log lines of the SDK, to check what is (not) logged. */
static char g_log[16384];
static void capture_log(otelc_log_level level, const char *line, void *user) {
  (void)level;
  (void)user;
  size_t n = strlen(g_log);
  snprintf(g_log + n, sizeof g_log - n, "%s\n", line);
}

static bool resolve(const otelc_otlp_options *o, otelc_otlp_config *cfg) {
  char why[300];
  int rc = otelc_otlp_config_resolve(o, cfg, why, sizeof why);
  if (rc != 0) fprintf(stderr, "resolve failed: %s\n", why);
  return rc == 0;
}

static void test_defaults_http(void) {
  clear_env();
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_HTTP_PROTOBUF);
  CHECK_STR(c.endpoint, "http://localhost:4318");
  CHECK_STR(c.ep.host, "localhost");
  CHECK_EQ(c.ep.port, 4318);
  CHECK_STR(c.http_path, "/v1/metrics");
  CHECK(!c.tls);
  CHECK_EQ(c.timeout_ms, 10000);
  CHECK(!c.gzip);
  CHECK_EQ(c.headers.n, 0);
  CHECK(c.certificate == NULL && c.client_certificate == NULL && c.client_key == NULL);
  otelc_otlp_config_free(&c);
}

static void test_defaults_grpc(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_GRPC);
  CHECK_STR(c.endpoint, "http://localhost:4317");
  CHECK_EQ(c.ep.port, 4317);
  CHECK(!c.tls);
  CHECK(c.http_path == NULL);
  otelc_otlp_config_free(&c);
}

static void test_protocol_choice(void) {
  clear_env();
  otelc_otlp_config c;
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_HTTP_PROTOBUF); /* signal-specific wins */
  otelc_otlp_config_free(&c);
  setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_HTTP_PROTOBUF); /* not supported: warned, protobuf */
  otelc_otlp_config_free(&c);
  setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", " GRPC ", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_GRPC);
  otelc_otlp_config_free(&c);
  setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "carrier-pigeon", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_HTTP_PROTOBUF);
  otelc_otlp_config_free(&c);
  otelc_otlp_options o = {.protocol = OTELC_OTLP_GRPC};
  CHECK(resolve(&o, &c));
  CHECK_EQ(c.protocol, OTELC_OTLP_GRPC); /* options win */
  otelc_otlp_config_free(&c);
  clear_env();
}

/* The /v1/metrics rule: appended to the generic endpoint, never to the signal-specific one. */
static void check_http_path(const char *var, const char *endpoint, const char *want_path) {
  clear_env();
  setenv(var, endpoint, 1);
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_MSG(c.http_path && strcmp(c.http_path, want_path) == 0, "%s=%s: path %s, want %s", var, endpoint,
            c.http_path ? c.http_path : "(null)", want_path);
  otelc_otlp_config_free(&c);
}

static void test_http_paths(void) {
  check_http_path("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "/v1/metrics");
  check_http_path("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", "/v1/metrics");
  check_http_path("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp", "/otlp/v1/metrics");
  check_http_path("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp/", "/otlp/v1/metrics");
  check_http_path("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318/v1/metrics", "/v1/metrics");
  check_http_path("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318/custom/path", "/custom/path");
  check_http_path("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318", "/");
  otelc_otlp_options o = {.endpoint = "http://x:1/as/is"};
  otelc_otlp_config c;
  CHECK(resolve(&o, &c));
  CHECK_STR(c.http_path, "/as/is");
  otelc_otlp_config_free(&c);
}

static void test_endpoint_precedence_and_ports(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:1111", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://specific:2222/m", 1);
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_STR(c.ep.host, "specific");
  CHECK_EQ(c.ep.port, 2222);
  CHECK_STR(c.http_path, "/m");
  CHECK_STR(c.endpoint_source, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
  otelc_otlp_config_free(&c);

  clear_env();
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.ep.port, 443); /* URL semantics for OTLP/HTTP */
  CHECK_EQ(c.default_port, 443);
  CHECK(c.tls);
  otelc_otlp_config_free(&c);

  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.ep.port, 4317); /* gRPC without a port: the OTLP port */
  CHECK(c.tls);
  otelc_otlp_config_free(&c);
  clear_env();
}

/* gRPC transport security: the scheme decides; without one, INSECURE (TLS by default). */
static void check_grpc_tls(const char *endpoint, const char *insecure, const char *metrics_insecure, bool want_tls) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
  if (insecure) setenv("OTEL_EXPORTER_OTLP_INSECURE", insecure, 1);
  if (metrics_insecure) setenv("OTEL_EXPORTER_OTLP_METRICS_INSECURE", metrics_insecure, 1);
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_MSG(c.tls == want_tls, "%s insecure=%s/%s: tls %d, want %d", endpoint, insecure ? insecure : "-",
            metrics_insecure ? metrics_insecure : "-", c.tls, want_tls);
  otelc_otlp_config_free(&c);
}

static void test_grpc_insecure(void) {
  check_grpc_tls("collector:4317", NULL, NULL, true);
  check_grpc_tls("collector:4317", "true", NULL, false);
  check_grpc_tls("collector:4317", "false", NULL, true);
  check_grpc_tls("collector:4317", "true", "false", true); /* signal-specific wins */
  check_grpc_tls("collector:4317", "false", "TRUE", false);
  check_grpc_tls("https://collector:4317", "true", NULL, true); /* https takes precedence */
  check_grpc_tls("http://collector:4317", NULL, NULL, false);
  check_grpc_tls("http://collector:4317", "false", NULL, false);
  check_grpc_tls("dns:///collector:4317", "true", NULL, false);
  check_grpc_tls("unix:///run/otel.sock", NULL, NULL, false);
  otelc_otlp_options o = {.protocol = OTELC_OTLP_GRPC, .endpoint = "collector:4317", .insecure = 1};
  otelc_otlp_config c;
  clear_env();
  CHECK(resolve(&o, &c));
  CHECK(!c.tls);
  otelc_otlp_config_free(&c);
}

static void test_headers_parse(void) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  int bad = -1;
  int n = otelc_otlp_headers_parse(" api-key = secret%20value , X-Tenant=a%3Db%2Cc,noequals, =empty-key,k=%zz,"
                                   "ok2=,sp ace=x, cr=a%0Db,,  ",
                                   &h, &bad);
  CHECK_EQ(n, 3);
  CHECK_EQ(bad, 5);
  CHECK_STR(wire_headers_get(&h, "api-key"), "secret value");
  CHECK_STR(wire_headers_get(&h, "x-tenant"), "a=b,c");
  CHECK_STR(wire_headers_get(&h, "ok2"), "");
  CHECK(wire_headers_get(&h, "k") == NULL);
  CHECK(wire_headers_get(&h, "cr") == NULL);
  wire_headers_free(&h);

  wire_headers_init(&h, 0, 0);
  CHECK_EQ(otelc_otlp_headers_parse("", &h, &bad), 0);
  CHECK_EQ(bad, 0);
  CHECK_EQ(otelc_otlp_headers_parse("a=1%", &h, &bad), 0); /* truncated escape */
  CHECK_EQ(bad, 1);
  wire_headers_free(&h);
}

static void test_headers_env_precedence(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2", 1);
  otelc_otlp_config c;
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.headers.n, 2);
  otelc_otlp_config_free(&c);
  setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "c=3", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.headers.n, 1); /* the signal-specific list replaces the generic one */
  CHECK_STR(wire_headers_get(&c.headers, "c"), "3");
  otelc_otlp_config_free(&c);
  otelc_otlp_options o = {.headers = "d=4,e=5,f=6"};
  CHECK(resolve(&o, &c));
  CHECK_EQ(c.headers.n, 3);
  otelc_otlp_config_free(&c);
  clear_env();
}

static void test_timeout_compression_certs(void) {
  clear_env();
  otelc_otlp_config c;
  setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
  setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
  setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.pem", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.timeout_ms, 2500);
  CHECK(c.gzip);
  CHECK_STR(c.certificate, "/generic/ca.pem");
  otelc_otlp_config_free(&c);

  setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/metrics/ca.pem", 1);
  setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/generic/client.pem", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/metrics/client.key", 1);
  CHECK(resolve(NULL, &c));
  CHECK_EQ(c.timeout_ms, 700);
  CHECK(!c.gzip);
  CHECK_STR(c.certificate, "/metrics/ca.pem");
  CHECK_STR(c.client_certificate, "/generic/client.pem");
  CHECK_STR(c.client_key, "/metrics/client.key");
  otelc_otlp_config_free(&c);

  /* a client certificate without its key is not used; bad values fall back to defaults */
  unsetenv("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY");
  setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "soon", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "brotli", 1);
  CHECK(resolve(NULL, &c));
  CHECK(c.client_certificate == NULL && c.client_key == NULL);
  CHECK_EQ(c.timeout_ms, 2500); /* the generic value, the specific one being bad */
  CHECK(c.gzip);
  otelc_otlp_config_free(&c);

  /* options win, and ignore_env ignores everything */
  otelc_otlp_options o = {.timeout_ms = 42, .compression = OTELC_OTLP_COMPRESSION_NONE};
  CHECK(resolve(&o, &c));
  CHECK_EQ(c.timeout_ms, 42);
  CHECK(!c.gzip);
  otelc_otlp_config_free(&c);
  otelc_otlp_options ign = {.ignore_env = true};
  CHECK(resolve(&ign, &c));
  CHECK_EQ(c.timeout_ms, 10000);
  CHECK(!c.gzip);
  CHECK(c.certificate == NULL);
  CHECK_STR(c.endpoint, "http://localhost:4318");
  otelc_otlp_config_free(&c);
  clear_env();
}

static void test_bad_endpoint_not_echoed(void) {
  clear_env();
  g_log[0] = 0;
  otelc_set_log_handler(capture_log, NULL);
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://user:hunter2@collector:4318/v1/metrics", 1);
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20topsecret,broken", 1);
  otelc_exporter *e = otelc_otlp_exporter_create(NULL);
  CHECK(e == NULL);
  CHECK_CONTAINS(g_log, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
  CHECK(strstr(g_log, "hunter2") == NULL);
  CHECK(strstr(g_log, "topsecret") == NULL);
  otelc_set_log_handler(NULL, NULL);
  clear_env();
}

static void test_create_and_destroy(void) {
  clear_env();
  otelc_exporter *e = otelc_otlp_exporter_create(NULL);
  CHECK(e != NULL);
  if (e) {
    CHECK_STR(e->name, "otlp-http");
    e->shutdown(e, 0);
    e->destroy(e);
  }
  otelc_otlp_options o = {.protocol = OTELC_OTLP_GRPC, .endpoint = "collector.invalid:4317"};
  e = otelc_otlp_exporter_create(&o); /* TLS with the system CAs; nothing connects yet */
  CHECK(e != NULL);
  if (e) {
    CHECK_STR(e->name, "otlp-grpc");
    e->destroy(e);
  }
  otelc_otlp_options missing = {.protocol = OTELC_OTLP_GRPC, .endpoint = "https://c:4317",
                                .certificate = "/nonexistent/ca.pem"};
  CHECK(otelc_otlp_exporter_create(&missing) == NULL);
}

static void test_retryable_statuses(void) {
  int yes[] = {429, 502, 503, 504};
  int no[] = {200, 400, 401, 403, 404, 405, 413, 415, 500, 501, 505};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) CHECK_MSG(otelc_otlp_http_retryable(yes[i]), "%d", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) CHECK_MSG(!otelc_otlp_http_retryable(no[i]), "%d", no[i]);
}

static void test_retry_after(void) {
  const int64_t s = 1000000000LL;
  int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK_EQ(otelc_otlp_retry_after_parse("5", now), 5 * s);
  CHECK_EQ(otelc_otlp_retry_after_parse(" 0 ", now), 0);
  CHECK_EQ(otelc_otlp_retry_after_parse("99999999999999999999", now), 3600 * s); /* capped, no overflow */
  CHECK_EQ(otelc_otlp_retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT", now), 10 * s);
  CHECK_EQ(otelc_otlp_retry_after_parse("Sunday, 06-Nov-94 08:49:57 GMT", now), 20 * s);
  CHECK_EQ(otelc_otlp_retry_after_parse("Sun Nov  6 08:50:07 1994", now), 30 * s);
  CHECK_EQ(otelc_otlp_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now), 0); /* in the past */
  CHECK_EQ(otelc_otlp_retry_after_parse(NULL, now), -1);
  CHECK_EQ(otelc_otlp_retry_after_parse("", now), -1);
  CHECK_EQ(otelc_otlp_retry_after_parse("soon", now), -1);
  CHECK_EQ(otelc_otlp_retry_after_parse("5s", now), -1);
  CHECK_EQ(otelc_otlp_retry_after_parse("-5", now), -1);
  CHECK_EQ(otelc_otlp_retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT trailing", now), -1);
}

static void test_backoff(void) {
  uint64_t rng = 12345;
  for (int round = 0; round < 200; round++) {
    int64_t d1 = otelc_otlp_backoff_ns(1, 100, 1000, &rng);
    CHECK(d1 >= 50 * 1000000LL && d1 <= 100 * 1000000LL);
    int64_t d3 = otelc_otlp_backoff_ns(3, 100, 1000, &rng);
    CHECK(d3 >= 200 * 1000000LL && d3 <= 400 * 1000000LL);
    int64_t d20 = otelc_otlp_backoff_ns(20, 100, 1000, &rng);
    CHECK(d20 >= 500 * 1000000LL && d20 <= 1000 * 1000000LL); /* capped */
  }
  /* jitter: not always the same value */
  int64_t first = otelc_otlp_backoff_ns(2, 1000, 5000, &rng);
  bool differs = false;
  for (int i = 0; i < 20 && !differs; i++) differs = otelc_otlp_backoff_ns(2, 1000, 5000, &rng) != first;
  CHECK(differs);
}

int main(void) {
  otelc_set_log_level(OTELC_LOG_ERROR);
  RUN(test_defaults_http);
  RUN(test_defaults_grpc);
  RUN(test_protocol_choice);
  RUN(test_http_paths);
  RUN(test_endpoint_precedence_and_ports);
  RUN(test_grpc_insecure);
  RUN(test_headers_parse);
  RUN(test_headers_env_precedence);
  RUN(test_timeout_compression_certs);
  otelc_set_log_level(OTELC_LOG_DEBUG);
  RUN(test_bad_endpoint_not_echoed);
  otelc_set_log_level(OTELC_LOG_ERROR);
  RUN(test_create_and_destroy);
  RUN(test_retryable_statuses);
  RUN(test_retry_after);
  RUN(test_backoff);
  return test_finish();
}
