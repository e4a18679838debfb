/* test_metrics.c — from sniffed bytes to OpenTelemetry points: the preload sink, the event ring and the
 * recording side put exchanges into the HTTP server instruments with the semantic-convention attributes,
 * bucket boundaries and resource (exported through the SDK's in-memory exporter). Also the constructor's
 * settings snapshot (config.c). */
#include <stdlib.h>
#include <string.h>

#include "autoinstr/config.h"
#include "autoinstr/fdtable.h"
#include "autoinstr/metrics.h"
#include "autoinstr/sniffer.h"
#include "otelc/exporter.h"
#include "testlib.h"

#include "duration_checks.h"

static otelc_exporter *g_exp;

static void feed(sniff_conn *c, const char *req, const char *resp, int64_t t0, int64_t t1) {
  sniff_read(c, (const uint8_t *)req, strlen(req), t0);
  sniff_write(c, (const uint8_t *)resp, strlen(resp), t1);
}

static void test_config_snapshot(void) {
  char *envp[] = {"PATH=/bin", "OTEL_SERVICE_NAME=svc", "OTELC_HTTP_ROUTES=/users/{id}, bad", "OTEL_X=1",
                  "OTELC_AUTOINSTR=on", NULL};
  preload_config_load(envp, "prog");
  CHECK(preload_cfg.enabled);
  CHECK_EQ(preload_cfg.routes.n, 1);
  CHECK_EQ(preload_cfg.routes_skipped, 1);
  CHECK_STR(preload_cfg.program, "prog");
  CHECK_EQ(preload_cfg.n_env, 2);
  CHECK_STR(preload_config_env("OTEL_SERVICE_NAME"), "svc");
  CHECK_STR(preload_config_env("OTEL_X"), "1");
  CHECK(preload_config_env("OTEL_XY") == NULL);
  CHECK(preload_config_env("PATH") == NULL);
  CHECK_STR(preload_getenv("OTEL_SERVICE_NAME"), "svc"); /* from the snapshot, whatever the environment says */
  setenv("OTELC_TEST_LIVE", "yes", 1);
  CHECK_STR(preload_getenv("OTELC_TEST_LIVE"), "yes"); /* other names: the live environment */
  CHECK(!preload_cfg.clock_monotonic && !preload_cfg.clock_unknown); /* OTELC_AUTOINSTR_CLOCK unset: auto */
  char *mono[] = {"OTELC_AUTOINSTR_CLOCK=Monotonic", NULL};
  preload_config_load(mono, NULL);
  CHECK(preload_cfg.clock_monotonic && !preload_cfg.clock_unknown);
  char *autoc[] = {"OTELC_AUTOINSTR_CLOCK=auto", NULL};
  preload_config_load(autoc, NULL);
  CHECK(!preload_cfg.clock_monotonic && !preload_cfg.clock_unknown);
  char *bad[] = {"OTELC_AUTOINSTR_CLOCK=rdtsc", NULL};
  preload_config_load(bad, NULL);
  CHECK(!preload_cfg.clock_monotonic && preload_cfg.clock_unknown);
  char *off[] = {"OTELC_AUTOINSTR=off", NULL};
  preload_config_load(off, NULL);
  CHECK(!preload_cfg.enabled);
}

static void test_exchanges_become_points(void) {
  char *envp[] = {"OTELC_HTTP_ROUTES=/users/{id}", NULL};
  preload_config_load(envp, "unit-prog");
  unsetenv("OTEL_SERVICE_NAME");
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
  g_exp = otelc_memory_exporter_create(4);
  CHECK_EQ(preload_metrics_start_for_test(g_exp), 0);

  sniff_conn *c = malloc(sizeof *c);
  sniff_init(c, &preload_hot_line.sink, &preload_cfg.routes, 8080, fdt_port_slot(8080));
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  feed(c, "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n", ok, 0, 3000000);            /* 3 ms */
  feed(c, "GET /users/2 HTTP/1.1\r\nHost: a\r\n\r\n", ok, 10000000, 70000000);     /* 60 ms */
  feed(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
       "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", 0, 2000000000);           /* 2 s */
  sniff_read(c, (const uint8_t *)"GET /users/3 HTTP/1.1\r\n", 23, 0);
  sniff_read(c, NULL, 0, 1);
  sniff_close(c, 1000);
  free(c);
  CHECK_EQ(preload_metrics_flush_for_test(), 0);

  otelc_attr get200[] = {
      OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("url.scheme", "http"),
      OTELC_ATTR_STR("network.protocol.version", "1.1"), OTELC_ATTR_INT("http.response.status_code", 200),
      OTELC_ATTR_INT("server.port", 8080), OTELC_ATTR_STR("http.route", "/users/{id}"),
  };
  otelc_point p;
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.request.duration", get200, 6, &p));
  check_durations_3ms_60ms(&p);
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.response.body.size", get200, 6, &p));
  CHECK_EQ(p.count, 2);
  CHECK_DBL(p.sum, 10);
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.request.body.size", get200, 6, &p));
  CHECK_DBL(p.sum, 0);

  otelc_attr post503[] = {
      OTELC_ATTR_STR("http.request.method", "POST"), OTELC_ATTR_STR("url.scheme", "http"),
      OTELC_ATTR_STR("network.protocol.version", "1.1"), OTELC_ATTR_INT("http.response.status_code", 503),
      OTELC_ATTR_INT("server.port", 8080), OTELC_ATTR_STR("error.type", "503"),
  };
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.request.duration", post503, 6, &p));
  CHECK_EQ(p.count, 1);
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.request.body.size", post503, 6, &p));
  CHECK_DBL(p.sum, 3);

  otelc_attr aborted[] = {
      OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("url.scheme", "http"),
      OTELC_ATTR_STR("network.protocol.version", "1.1"), OTELC_ATTR_INT("server.port", 8080),
      OTELC_ATTR_STR("http.route", "/users/{id}"), OTELC_ATTR_STR("error.type", "request_aborted"),
  };
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.request.duration", aborted, 6, &p));
  CHECK_EQ(p.count, 1);

  otelc_attr act[] = {OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("url.scheme", "http"),
                      OTELC_ATTR_INT("server.port", 8080)};
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.active_requests", act, 3, &p));
  CHECK_EQ(p.as_int, 0);

  const char *desc, *unit, *scope;
  CHECK(otelc_memory_exporter_metric_info(g_exp, 0, "http.server.request.duration", &desc, &unit, &scope));
  CHECK_STR(unit, "s");
  CHECK(otelc_memory_exporter_metric_info(g_exp, 0, "http.server.request.body.size", &desc, &unit, &scope));
  CHECK_STR(unit, "By");

  char buf[128];
  CHECK(otelc_memory_exporter_resource_attr(g_exp, 0, "service.name", buf, sizeof buf));
  CHECK_STR(buf, "unit-prog");
  CHECK(otelc_memory_exporter_resource_attr(g_exp, 0, "service.instance.id", buf, sizeof buf));
  CHECK_EQ(strlen(buf), 36);
  CHECK(otelc_memory_exporter_resource_attr(g_exp, 0, "process.pid", buf, sizeof buf));
}

/* http.server.active_requests: the HTTP/1 requests open on the pool's live connections (each connection's
 * word, read at collection time), per method, scheme and server.port; back to 0 when they end. */
static void test_active_requests_from_connections(void) {
  preload_conn *a = fdt_conn_alloc(), *b = fdt_conn_alloc();
  CHECK(a && b);
  sniff_init(&a->s, &preload_hot_line.sink, NULL, 8080, fdt_port_slot(8080));
  sniff_init(&b->s, &preload_hot_line.sink, NULL, 9090, fdt_port_slot(9090));
  const char *put = "PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
  sniff_read(&a->s, (const uint8_t *)put, strlen(put), 0);
  sniff_read(&b->s, (const uint8_t *)put, strlen(put), 0);
  const char *two = "PUT /y HTTP/1.1\r\n\r\nPUT /z HTTP/1.1\r\n\r\n";
  sniff_read(&b->s, (const uint8_t *)"cde", 3, 0);
  sniff_read(&b->s, (const uint8_t *)two, strlen(two), 0);
  CHECK_EQ(preload_metrics_flush_for_test(), 0);
  otelc_attr put8080[] = {OTELC_ATTR_STR("http.request.method", "PUT"), OTELC_ATTR_STR("url.scheme", "http"),
                          OTELC_ATTR_INT("server.port", 8080)};
  otelc_attr put9090[] = {OTELC_ATTR_STR("http.request.method", "PUT"), OTELC_ATTR_STR("url.scheme", "http"),
                          OTELC_ATTR_INT("server.port", 9090)};
  otelc_point p;
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.active_requests", put8080, 3, &p));
  CHECK_EQ(p.as_int, 1);
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.active_requests", put9090, 3, &p));
  CHECK_EQ(p.as_int, 3);
  sniff_close(&a->s, 10);
  sniff_close(&b->s, 10);
  preload_conn *conns[] = {a, b};
  for (int i = 0; i < 2; i++) {
    atomic_store(&conns[i]->refs, 0);
    fdt_conn_free(conns[i]);
  }
  CHECK_EQ(preload_metrics_flush_for_test(), 0);
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.active_requests", put8080, 3, &p));
  CHECK_EQ(p.as_int, 0); /* still reported: the series was seen */
  CHECK(otelc_memory_exporter_find(g_exp, 0, "http.server.active_requests", put9090, 3, &p));
  CHECK_EQ(p.as_int, 0);
  /* the shim's own health: nothing was lost */
  CHECK(otelc_memory_exporter_find(g_exp, 0, "otelc.autoinstr.exchanges.dropped", NULL, 0, &p));
  CHECK_EQ(p.as_int, 0);
}

int main(void) {
  RUN(test_config_snapshot);
  RUN(test_exchanges_become_points);
  RUN(test_active_requests_from_connections);
  return test_finish();
}
