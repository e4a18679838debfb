/* test_metrics_rpc.c — gRPC calls as RPC server metrics (autoinstr/metrics_rpc.h): events marked as gRPC by the
 * HTTP/2 sniffer go through the preload sink, the event ring and the recording side into
 * rpc.server.call.duration with the semantic conventions' attributes (rpc.system.name, rpc.method from the
 * method table or _OTHER, rpc.response.status_code as the code's name, error.type, server.port), exported
 * through the SDK's in-memory exporter; the HTTP metrics of the same events are still recorded. */
#include <string.h>

#include "autoinstr/config.h"
#include "autoinstr/hot.h"
#include "autoinstr/metrics.h"
#include "autoinstr/metrics_rpc.h"
#include "autoinstr/sniffer.h"
#include "autoinstr/sniffer_h2.h"
#include "otelc/exporter.h"
#include "testlib.h"

#include "duration_checks.h"

static sniff_event grpc_event(int64_t ns, unsigned method, int rpc_status, int error) {
  return (sniff_event){.duration = ns, .status = error == SNIFF_ERR_REQUEST_ABORTED ? 0 : 200, .port = 50051,
                       .method = SNIFF_POST, .version = 20, .scheme = SNIFF_HTTP, .error = (uint8_t)error,
                       .route = -1, .rpc_status = (uint8_t)rpc_status, .rpc_method = (uint16_t)method};
}

static void push(sniff_event ev) { preload_hot_line.sink.exchange_done(preload_hot_line.sink.user, &ev); }

static void test_status_names(void) {
  CHECK_STR(metrics_rpc_status_name(0), "OK");
  CHECK_STR(metrics_rpc_status_name(4), "DEADLINE_EXCEEDED");
  CHECK_STR(metrics_rpc_status_name(14), "UNAVAILABLE");
  CHECK_STR(metrics_rpc_status_name(16), "UNAUTHENTICATED");
  CHECK(metrics_rpc_status_name(17) == NULL);
  CHECK(metrics_rpc_status_name(-1) == NULL);
  /* errors on a server: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS */
  int errors = 0;
  for (int c = 0; c <= 16; c++) errors += metrics_rpc_status_is_error(c);
  CHECK_EQ(errors, 6);
  CHECK(metrics_rpc_status_is_error(2) && metrics_rpc_status_is_error(15));
  CHECK(!metrics_rpc_status_is_error(0) && !metrics_rpc_status_is_error(5) && !metrics_rpc_status_is_error(16));
  CHECK(metrics_rpc_status_is_error(42));
}

static void test_calls_become_points(void) {
  char *envp[] = {NULL};
  preload_config_load(envp, "unit-grpc");
  otelc_exporter *exp = otelc_memory_exporter_create(4);
  CHECK_EQ(preload_metrics_start_for_test(exp), 0);
  sniff_rpc_methods_reset();
  unsigned hello = sniff_rpc_method_index("pkg.Greeter/SayHello", 20, true);
  CHECK(hello != 0);

  push(grpc_event(3000000, hello, SNIFF_RPC_STATUS + 0, SNIFF_ERR_NONE));  /* 3 ms, OK */
  push(grpc_event(60000000, hello, SNIFF_RPC_STATUS + 0, SNIFF_ERR_NONE)); /* 60 ms, OK */
  push(grpc_event(1000000, hello, SNIFF_RPC_STATUS + 14, SNIFF_ERR_NONE)); /* UNAVAILABLE: an error */
  push(grpc_event(1000000, hello, SNIFF_RPC_STATUS + 5, SNIFF_ERR_NONE));  /* NOT_FOUND: the client's */
  push(grpc_event(1000000, 0, SNIFF_RPC_STATUS + 12, SNIFF_ERR_NONE));     /* UNIMPLEMENTED, _OTHER */
  push(grpc_event(1000000, hello, SNIFF_RPC_STATUS + 42, SNIFF_ERR_NONE)); /* a code beyond 16 */
  push(grpc_event(1000000, hello, SNIFF_RPC_NO_STATUS, SNIFF_ERR_RESPONSE_INCOMPLETE));
  push(grpc_event(1000000, 0, SNIFF_RPC_NO_STATUS, SNIFF_ERR_REQUEST_ABORTED));
  push(grpc_event(1000000, 0, SNIFF_RPC_NO_STATUS, SNIFF_ERR_NONE));       /* answered without grpc-status */
  sniff_event plain = grpc_event(1000000, 0, 0, SNIFF_ERR_NONE);          /* plain HTTP/2: no RPC point */
  plain.method = SNIFF_GET;
  push(plain);
  CHECK_EQ(preload_metrics_flush_for_test(), 0);

#define BASE(method) OTELC_ATTR_STR("rpc.system.name", "grpc"), OTELC_ATTR_STR("rpc.method", method), \
                     OTELC_ATTR_INT("server.port", 50051)
  const char *name = "rpc.server.call.duration";
  otelc_point p;
  otelc_attr ok[] = {BASE("pkg.Greeter/SayHello"), OTELC_ATTR_STR("rpc.response.status_code", "OK")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, ok, 4, &p));
  check_durations_3ms_60ms(&p);
  otelc_attr unavailable[] = {BASE("pkg.Greeter/SayHello"), OTELC_ATTR_STR("rpc.response.status_code", "UNAVAILABLE"),
                              OTELC_ATTR_STR("error.type", "UNAVAILABLE")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, unavailable, 5, &p) && p.count == 1);
  otelc_attr not_found[] = {BASE("pkg.Greeter/SayHello"), OTELC_ATTR_STR("rpc.response.status_code", "NOT_FOUND")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, not_found, 4, &p) && p.count == 1);
  otelc_attr unimpl[] = {BASE("_OTHER"), OTELC_ATTR_STR("rpc.response.status_code", "UNIMPLEMENTED"),
                         OTELC_ATTR_STR("error.type", "UNIMPLEMENTED")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, unimpl, 5, &p) && p.count == 1);
  otelc_attr custom[] = {BASE("pkg.Greeter/SayHello"), OTELC_ATTR_STR("rpc.response.status_code", "42"),
                         OTELC_ATTR_STR("error.type", "42")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, custom, 5, &p) && p.count == 1);
  otelc_attr incomplete[] = {BASE("pkg.Greeter/SayHello"), OTELC_ATTR_STR("error.type", "response_incomplete")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, incomplete, 4, &p) && p.count == 1);
  otelc_attr aborted[] = {BASE("_OTHER"), OTELC_ATTR_STR("error.type", "request_aborted")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, aborted, 4, &p) && p.count == 1);
  otelc_attr none[] = {BASE("_OTHER"), OTELC_ATTR_STR("error.type", "no_grpc_status")};
  CHECK(otelc_memory_exporter_find(exp, 0, name, none, 4, &p) && p.count == 1);
  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, name), 8); /* nothing for the plain request */

  /* the HTTP side of the same calls is unchanged */
  otelc_attr http[] = {OTELC_ATTR_STR("http.request.method", "POST"), OTELC_ATTR_STR("url.scheme", "http"),
                       OTELC_ATTR_STR("network.protocol.version", "2"),
                       OTELC_ATTR_INT("http.response.status_code", 200), OTELC_ATTR_INT("server.port", 50051)};
  CHECK(otelc_memory_exporter_find(exp, 0, "http.server.request.duration", http, 5, &p));
  CHECK_EQ(p.count, 7);
  const char *desc, *unit, *scope;
  CHECK(otelc_memory_exporter_metric_info(exp, 0, name, &desc, &unit, &scope));
  CHECK_STR(unit, "s");
  CHECK_STR(scope, "otelc.autoinstr.http");
  sniff_rpc_methods_reset();
}

int main(void) {
  RUN(test_status_names);
  RUN(test_calls_become_points);
  return test_finish();
}
