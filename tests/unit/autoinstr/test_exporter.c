/* test_exporter.c — the preload shim's exporter choice (autoinstr/exporter.c): the SDK's OTLP exporter over
 * plaintext, OTLP/HTTP or OTLP/gRPC, gzip or not, with TLS (which the shim's wire build leaves out) refused up
 * front with a reason that names the variable, never its value. */
#include <stdlib.h>
#include <string.h>

#include "autoinstr/exporter.h"
#include "testlib.h"

static void clear_env(void) {
  static const char *const names[] = {
      "OTEL_EXPORTER_OTLP_PROTOCOL",         "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
      "OTEL_EXPORTER_OTLP_ENDPOINT",         "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
      "OTEL_EXPORTER_OTLP_COMPRESSION",      "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
      "OTEL_EXPORTER_OTLP_INSECURE",         "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unsetenv(names[i]);
}

static void drop(otelc_exporter *e) {
  if (e->shutdown) e->shutdown(e, 0);
  e->destroy(e);
}

static void test_default_is_sdk_otlp_http(void) {
  clear_env();
  char why[320] = "";
  otelc_exporter *e = preload_exporter_create(why, sizeof why);
  CHECK(e != NULL);
  if (!e) return;
  CHECK_STR(e->name, "otlp-http"); /* the SDK's exporter, not one of the shim's own */
  drop(e);
}

static void test_grpc_is_sdk_otlp_grpc(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1); /* default endpoint: http://localhost:4317, plaintext */
  char why[320] = "";
  otelc_exporter *e = preload_exporter_create(why, sizeof why);
  CHECK(e != NULL);
  if (e) {
    CHECK_STR(e->name, "otlp-grpc");
    drop(e);
  }
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:4317", 1);
  setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
  e = preload_exporter_create(why, sizeof why);
  CHECK(e != NULL);
  if (e) {
    CHECK_STR(e->name, "otlp-grpc");
    drop(e);
  }
  clear_env();
}

static void test_grpc_without_scheme_is_tls_and_refused(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector.example:4317", 1); /* no scheme: TLS unless INSECURE */
  char why[320] = "";
  CHECK(preload_exporter_create(why, sizeof why) == NULL);
  CHECK(strstr(why, "OTEL_EXPORTER_OTLP_ENDPOINT: TLS is not supported by the preload shim") != NULL);
  CHECK(strstr(why, "OTEL_EXPORTER_OTLP_INSECURE=true") != NULL);
  CHECK(strstr(why, "collector.example") == NULL);
  setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
  otelc_exporter *e = preload_exporter_create(why, sizeof why);
  CHECK(e != NULL);
  if (e) drop(e);
  clear_env();
}

static void test_tls_refused(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://collector.example:4318/v1/metrics", 1);
  char why[320] = "";
  CHECK(preload_exporter_create(why, sizeof why) == NULL);
  CHECK(strstr(why, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: TLS is not supported by the preload shim") != NULL);
  CHECK(strstr(why, "collector.example") == NULL); /* names the variable, never its value */
  clear_env();
}

static void test_gzip_and_unix_endpoint(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "unix:///run/otelc/otlp.sock", 1);
  char why[320] = "";
  otelc_exporter *e = preload_exporter_create(why, sizeof why);
  CHECK(e != NULL);
  if (e) drop(e);
  clear_env();
}

static void test_unusable_endpoint(void) {
  clear_env();
  setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://[::1/v1/metrics", 1);
  char why[320] = "";
  CHECK(preload_exporter_create(why, sizeof why) == NULL);
  CHECK(why[0] != '\0');
  clear_env();
}

int main(void) {
  RUN(test_default_is_sdk_otlp_http);
  RUN(test_grpc_is_sdk_otlp_grpc);
  RUN(test_grpc_without_scheme_is_tls_and_refused);
  RUN(test_tls_refused);
  RUN(test_gzip_and_unix_endpoint);
  RUN(test_unusable_endpoint);
  return test_finish();
}
