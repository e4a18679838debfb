/* test_otlp_exporter.c — the OTLP exporters end to end: the SDK collects, the exporter sends to the in-process
 * OTLP server (tests/support/otlp_test_server.h) over gRPC and OTLP/HTTP, plaintext, TLS and mutual TLS, with
 * gzip on and off, and the decoded request holds exactly the metrics, values and resource recorded. Then the
 * retry policy (503 / UNAVAILABLE retried, Retry-After and RetryInfo honoured, 400 / INVALID_ARGUMENT and
 * RESOURCE_EXHAUSTED without RetryInfo not retried, the deadline respected), partial success, the health
 * counters that show it all, log lines without header values, and fork (the child exports its own data with
 * its own pid, and leaves the parent's connection alone). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "otelc/otlp_exporter.h"
#include "otlp_test_server.h"
#include "testcerts.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/grpc.h"

#define WAIT_MS 15000

static test_certs g_certs;
static bool g_have_certs;

/* ---- helpers ---------------------------------------------------------------------------------------- */

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[65536];

static void capture_log(otelc_log_level level, const char *line, void *user) {
  (void)level;
  (void)user;
  pthread_mutex_lock(&g_log_mu);
  size_t n = strlen(g_log);
  if (n + strlen(line) + 2 < sizeof g_log) snprintf(g_log + n, sizeof g_log - n, "%s\n", line);
  pthread_mutex_unlock(&g_log_mu);
}

static bool log_contains(const char *needle) {
  pthread_mutex_lock(&g_log_mu);
  bool yes = strstr(g_log, needle) != NULL;
  pthread_mutex_unlock(&g_log_mu);
  return yes;
}

static void log_reset(void) {
  pthread_mutex_lock(&g_log_mu);
  g_log[0] = 0;
  pthread_mutex_unlock(&g_log_mu);
}

static otelc_meter_provider *make_provider(const otelc_otlp_options *o) {
  otelc_provider_options po = {0};
  po.exporter = otelc_otlp_exporter_create(o);
  CHECK(po.exporter != NULL);
  po.export_interval_ms = -1; /* tests flush explicitly */
  po.export_timeout_ms = 20000;
  otelc_meter_provider *mp = NULL;
  CHECK_EQ(otelc_meter_provider_create(&po, &mp), OTELC_OK);
  return mp;
}

/* The value of a health counter point (otelc.sdk.exporter.*) with error.type = type (NULL: any point). */
static double health_value(const otlp_request *req, const char *name, const char *type) {
  const otlp_metric *m = otlp_test_find_metric(req, name);
  if (!m) return 0;
  const otlp_number_point *p =
      type ? otlp_test_find_number(m, "error.type", type) : otlp_test_find_number(m, "otelc.exporter", "otlp-http");
  if (!p && !type) p = otlp_test_find_number(m, "otelc.exporter", "otlp-grpc");
  return otlp_test_number_value(p);
}

/* Flushes and returns the request the server received for it (the newest). */
static const otlp_test_request *flush_and_get(otelc_meter_provider *mp, otlp_test_server *s, int want_rc) {
  size_t before = otlp_test_server_count(s);
  int rc = otelc_meter_provider_force_flush(mp, 20000);
  CHECK_MSG(rc == want_rc, "flush returned %d (%s), want %d", rc, otelc_status_str(rc), want_rc);
  CHECK(otlp_test_server_wait(s, before + 1, WAIT_MS));
  size_t n = otlp_test_server_count(s);
  return n ? otlp_test_server_request(s, n - 1) : NULL;
}

/* ---- the data model round trip ---------------------------------------------------------------------- */

typedef struct variant {
  otelc_otlp_protocol protocol;
  bool tls, mtls, gzip;
} variant;

static void roundtrip(variant v) {
  if ((v.tls || v.mtls) && !g_have_certs) return;
  wire_tls_config stls = {.cert_file = g_certs.server_cert, .key_file = g_certs.server_key};
  if (v.mtls) stls.client_ca_file = g_certs.ca;
  otlp_test_server_options so = {.tls = v.tls || v.mtls ? &stls : NULL};
  otlp_test_server *s = otlp_test_server_start(&so);
  CHECK(s != NULL);
  if (!s) return;
  bool grpc = v.protocol == OTELC_OTLP_GRPC;
  otelc_otlp_options o = {
      .protocol = v.protocol,
      .endpoint = grpc ? otlp_test_server_url(s) : otlp_test_server_http_url(s),
      .headers = "x-test-header=hello%20world,x-tenant=t1",
      .compression = v.gzip ? OTELC_OTLP_COMPRESSION_GZIP : OTELC_OTLP_COMPRESSION_NONE,
      .timeout_ms = 10000,
  };
  if (v.tls || v.mtls) o.certificate = g_certs.ca;
  if (v.mtls) {
    o.client_certificate = g_certs.client_cert;
    o.client_key = g_certs.client_key;
  }
  otelc_meter_provider *mp = make_provider(&o);
  otelc_meter *m = otelc_meter_get(mp, "jobs", "1.2.3", NULL);
  otelc_instrument_options co = {.unit = "{job}", .description = "Jobs done"};
  otelc_instrument *done = otelc_counter_u64(m, "jobs.done", &co);
  otelc_instrument *inflight = otelc_updown_i64(m, "jobs.in_flight", NULL);
  otelc_instrument *temp = otelc_gauge_f64(m, "oven.temperature", NULL);
  static const double bounds[] = {0.1, 1, 10};
  otelc_instrument_options ho = {.unit = "s", .boundaries = bounds, .n_boundaries = 3,
                                 .aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM};
  otelc_instrument *dur = otelc_histogram(m, "jobs.duration", &ho);
  otelc_attr mail[] = {OTELC_ATTR_STR("queue", "mail")};
  otelc_attr sms[] = {OTELC_ATTR_STR("queue", "sms")};
  otelc_add_u64(done, 3, mail, 1);
  otelc_add_u64(done, 2, sms, 1);
  otelc_record_i64(inflight, 4, NULL, 0);
  otelc_record_i64(inflight, -1, NULL, 0);
  otelc_record_f64(temp, 180.5, NULL, 0);
  otelc_record_f64(dur, 0.05, mail, 1);
  otelc_record_f64(dur, 5, mail, 1);
  otelc_record_f64(dur, 50, mail, 1);

  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  CHECK(q && q->req);
  if (q && q->req) {
    CHECK_EQ(q->grpc, grpc);
    CHECK_EQ(q->tls, v.tls || v.mtls);
    CHECK_EQ(q->gzip, v.gzip);
    if (!grpc) {
      CHECK_STR(q->path, "/v1/metrics");
      CHECK_STR(q->content_type, "application/x-protobuf");
    }
    CHECK_STR(wire_headers_get(&q->headers, "x-test-header"), "hello world");
    CHECK_STR(wire_headers_get(&q->headers, "x-tenant"), "t1");
    CHECK_CONTAINS(wire_headers_get(&q->headers, "user-agent"), "OTel-OTLP-Exporter-C/");
    char buf[64];
    CHECK(otlp_test_resource_attr(q->req, "service.name", buf, sizeof buf));
    CHECK_STR(buf, "otlp-exporter-test");
    CHECK(otlp_test_resource_attr(q->req, "process.pid", buf, sizeof buf));
    CHECK_EQ(strtoll(buf, NULL, 10), getpid());
    CHECK(otlp_test_resource_attr(q->req, "telemetry.sdk.language", buf, sizeof buf));
    const otlp_metric *md = otlp_test_find_metric(q->req, "jobs.done");
    CHECK(md != NULL);
    if (md) {
      CHECK_STR(md->unit, "{job}");
      CHECK_STR(md->description, "Jobs done");
      CHECK_EQ(md->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
      CHECK(md->sum->is_monotonic);
      CHECK_EQ(md->sum->n_data_points, 2);
      CHECK_DBL(otlp_test_number_value(otlp_test_find_number(md, "queue", "mail")), 3);
      CHECK_DBL(otlp_test_number_value(otlp_test_find_number(md, "queue", "sms")), 2);
    }
    const otlp_metric *mi = otlp_test_find_metric(q->req, "jobs.in_flight");
    CHECK(mi && mi->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM && !mi->sum->is_monotonic);
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(mi, NULL, NULL)), 3);
    const otlp_metric *mt = otlp_test_find_metric(q->req, "oven.temperature");
    CHECK(mt && mt->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(mt, NULL, NULL)), 180.5);
    const otlp_histogram_point *hp = otlp_test_find_histogram(otlp_test_find_metric(q->req, "jobs.duration"),
                                                              "queue", "mail");
    CHECK(hp != NULL);
    if (hp) {
      CHECK_EQ(hp->count, 3);
      CHECK_DBL(hp->sum, 55.05);
      CHECK_EQ(hp->n_explicit_bounds, 3);
      CHECK_EQ(hp->n_bucket_counts, 4);
      if (hp->n_bucket_counts == 4) {
        CHECK_EQ(hp->bucket_counts[0], 1);
        CHECK_EQ(hp->bucket_counts[1], 0);
        CHECK_EQ(hp->bucket_counts[2], 1);
        CHECK_EQ(hp->bucket_counts[3], 1);
      }
      CHECK_DBL(hp->min, 0.05);
      CHECK_DBL(hp->max, 50);
    }
  }
  /* cumulative: the next export carries the totals */
  otelc_add_u64(done, 10, mail, 1);
  q = flush_and_get(mp, s, OTELC_OK);
  if (q && q->req)
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(otlp_test_find_metric(q->req, "jobs.done"), "queue",
                                                           "mail")),
              13);
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 10000), OTELC_OK);
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_grpc_plaintext(void) { roundtrip((variant){OTELC_OTLP_GRPC, false, false, false}); }
static void test_grpc_plaintext_gzip(void) { roundtrip((variant){OTELC_OTLP_GRPC, false, false, true}); }
static void test_grpc_tls(void) { roundtrip((variant){OTELC_OTLP_GRPC, true, false, false}); }
static void test_grpc_mtls_gzip(void) { roundtrip((variant){OTELC_OTLP_GRPC, true, true, true}); }
static void test_http_plaintext(void) { roundtrip((variant){OTELC_OTLP_HTTP_PROTOBUF, false, false, false}); }
static void test_http_plaintext_gzip(void) { roundtrip((variant){OTELC_OTLP_HTTP_PROTOBUF, false, false, true}); }
static void test_http_tls_gzip(void) { roundtrip((variant){OTELC_OTLP_HTTP_PROTOBUF, true, false, true}); }
static void test_http_mtls(void) { roundtrip((variant){OTELC_OTLP_HTTP_PROTOBUF, true, true, false}); }

/* The exporter configured only by the environment (what OTEL_METRICS_EXPORTER=otlp gives). */
static void test_env_configured_grpc(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  char port[16];
  snprintf(port, sizeof port, "%u", otlp_test_server_port(s));
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%s", port); /* no scheme: TLS unless insecure */
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", ep, 1);
  setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
  setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-from-env=yes", 1);
  setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
  setenv("OTEL_METRICS_EXPORTER", "otlp", 1);
  otelc_provider_options po = {.export_interval_ms = -1};
  otelc_meter_provider *mp = NULL;
  CHECK_EQ(otelc_meter_provider_create(&po, &mp), OTELC_OK);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "env", NULL, NULL), "env.counter", NULL), 7, NULL, 0);
  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  CHECK(q && q->grpc && q->gzip && !q->tls);
  if (q && q->req) {
    CHECK_STR(wire_headers_get(&q->headers, "x-from-env"), "yes");
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(otlp_test_find_metric(q->req, "env.counter"), NULL, NULL)),
              7);
  }
  otelc_meter_provider_free(mp);
  unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  unsetenv("OTEL_EXPORTER_OTLP_INSECURE");
  unsetenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS");
  unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
  unsetenv("OTEL_METRICS_EXPORTER");
  otlp_test_server_stop(s);
}

/* ---- retry policy ----------------------------------------------------------------------------------- */

static otelc_meter_provider *retry_provider(otlp_test_server *s, otelc_otlp_protocol proto, int64_t timeout_ms) {
  otelc_otlp_options o = {
      .protocol = proto,
      .endpoint = proto == OTELC_OTLP_GRPC ? otlp_test_server_url(s) : otlp_test_server_http_url(s),
      .timeout_ms = timeout_ms,
      .retry_initial_backoff_ms = 20,
      .retry_max_backoff_ms = 100,
  };
  return make_provider(&o);
}

static void retry_then_success(otelc_otlp_protocol proto) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  bool grpc = proto == OTELC_OTLP_GRPC;
  otelc_meter_provider *mp = retry_provider(s, proto, 10000);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "retry.counter", NULL);
  otelc_add_u64(c, 5, NULL, 0);
  otlp_test_reply fail = {.http_status = 503, .retry_after = "0", .grpc_code = WIRE_GRPC_UNAVAILABLE};
  otlp_test_server_push_reply(s, &fail, 2);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_OK);
  CHECK_EQ(otlp_test_server_count(s), 3); /* two failures, then the success */
  for (size_t i = 0; i < 3; i++) {
    const otlp_test_request *q = otlp_test_server_request(s, i);
    CHECK(q && q->req);
    if (q && q->req)
      CHECK_DBL(otlp_test_number_value(otlp_test_find_number(otlp_test_find_metric(q->req, "retry.counter"), NULL,
                                                             NULL)),
                5);
  }
  /* the next export shows the retries in the SDK's own metrics */
  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  if (q && q->req) {
    const char *type = grpc ? "unavailable" : "http_503";
    CHECK_DBL(health_value(q->req, "otelc.sdk.exporter.export.retries", type), 2);
    CHECK_DBL(health_value(q->req, "otelc.sdk.exporter.export.errors", type), 2);
    CHECK(otlp_test_find_metric(q->req, "otelc.sdk.exporter.exports.failed") == NULL ||
          health_value(q->req, "otelc.sdk.exporter.exports.failed", "retryable") == 0);
  }
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_http_503_retried(void) { retry_then_success(OTELC_OTLP_HTTP_PROTOBUF); }
static void test_grpc_unavailable_retried(void) { retry_then_success(OTELC_OTLP_GRPC); }

static void no_retry(otelc_otlp_protocol proto, int http_status, int grpc_code, const char *type) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_meter_provider *mp = retry_provider(s, proto, 10000);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  otlp_test_reply bad = {.http_status = http_status, .grpc_code = grpc_code, .message = "bad request: field 7"};
  otlp_test_server_push_reply(s, &bad, 1);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_E_EXPORT);
  CHECK_EQ(otlp_test_server_count(s), 1); /* not retried */
  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  if (q && q->req) {
    CHECK_DBL(health_value(q->req, "otelc.sdk.exporter.export.errors", type), 1);
    CHECK(otlp_test_find_metric(q->req, "otelc.sdk.exporter.export.retries") == NULL ||
          health_value(q->req, "otelc.sdk.exporter.export.retries", type) == 0);
    CHECK_DBL(health_value(q->req, "otelc.sdk.exporter.exports.failed", "permanent"), 1);
  }
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_http_400_not_retried(void) { no_retry(OTELC_OTLP_HTTP_PROTOBUF, 400, 0, "http_400"); }
static void test_grpc_invalid_argument_not_retried(void) {
  no_retry(OTELC_OTLP_GRPC, 0, WIRE_GRPC_INVALID_ARGUMENT, "invalid_argument");
}
static void test_grpc_resource_exhausted_without_retry_info_not_retried(void) {
  no_retry(OTELC_OTLP_GRPC, 0, WIRE_GRPC_RESOURCE_EXHAUSTED, "resource_exhausted");
}

/* Server-requested delays are honoured: the retry comes no earlier than asked. */
static void test_retry_after_honoured(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_meter_provider *mp = retry_provider(s, OTELC_OTLP_HTTP_PROTOBUF, 10000);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  otlp_test_reply slow = {.http_status = 429, .retry_after = "1"};
  otlp_test_server_push_reply(s, &slow, 1);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_OK);
  CHECK_EQ(otlp_test_server_count(s), 2);
  const otlp_test_request *a = otlp_test_server_request(s, 0), *b = otlp_test_server_request(s, 1);
  if (a && b) CHECK_MSG(b->received_ns - a->received_ns >= 990000000LL, "retried after %lld ns",
                        (long long)(b->received_ns - a->received_ns));
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_grpc_retry_info_honoured(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_meter_provider *mp = retry_provider(s, OTELC_OTLP_GRPC, 10000);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  otlp_test_reply throttle = {.grpc_code = WIRE_GRPC_RESOURCE_EXHAUSTED, .retry_info = true,
                              .retry_delay_ns = 700000000LL, .message = "slow down"};
  otlp_test_server_push_reply(s, &throttle, 1);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_OK);
  CHECK_EQ(otlp_test_server_count(s), 2);
  const otlp_test_request *a = otlp_test_server_request(s, 0), *b = otlp_test_server_request(s, 1);
  if (a && b) CHECK(b->received_ns - a->received_ns >= 690000000LL);
  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  if (q && q->req) CHECK_DBL(health_value(q->req, "otelc.sdk.exporter.export.retries", "resource_exhausted"), 1);
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

/* A server that asks for a delay beyond the deadline: give up at once, without waiting. */
static void test_retry_after_beyond_deadline(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_meter_provider *mp = retry_provider(s, OTELC_OTLP_HTTP_PROTOBUF, 2000);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  otlp_test_reply slow = {.http_status = 503, .retry_after = "3600"};
  otlp_test_server_push_reply(s, &slow, 1);
  log_reset();
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_E_EXPORT);
  CHECK_EQ(otlp_test_server_count(s), 1);
  CHECK(log_contains("asked to wait past the export deadline"));
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

/* Always failing: the export ends (retryable) once the deadline leaves no room for another attempt. */
static void test_retries_stop_at_deadline(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlp_test_reply fail = {.http_status = 502, .grpc_code = WIRE_GRPC_UNAVAILABLE};
  otlp_test_server_set_default(s, &fail);
  otelc_meter_provider *mp = retry_provider(s, OTELC_OTLP_GRPC, 800);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_E_EXPORT);
  CHECK(otlp_test_server_count(s) >= 2);
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

/* A server slower than the timeout: the export returns at its deadline. */
static void test_slow_server_deadline(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlp_test_reply slow = {.delay_ms = 3000};
  otlp_test_server_push_reply(s, &slow, 10);
  for (int proto = OTELC_OTLP_GRPC; proto <= OTELC_OTLP_HTTP_PROTOBUF; proto++) {
    otelc_meter_provider *mp = retry_provider(s, (otelc_otlp_protocol)proto, 300);
    otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
    CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_E_EXPORT);
    otelc_meter_provider_free(mp);
  }
  otlp_test_server_stop(s);
}

/* Shutdown while the reader sits in a backoff: the reader's retry is abandoned (shutdown does not wait it
 * out) and the final export is still made, once, by the thread shutting down. */
static void test_shutdown_interrupts_backoff(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlp_test_reply fail = {.http_status = 503, .grpc_code = WIRE_GRPC_UNAVAILABLE};
  otlp_test_server_set_default(s, &fail);
  otelc_otlp_options o = {
      .protocol = OTELC_OTLP_HTTP_PROTOBUF,
      .endpoint = otlp_test_server_http_url(s),
      .timeout_ms = 60000,
      .retry_initial_backoff_ms = 20000,
      .retry_max_backoff_ms = 20000,
  };
  otelc_provider_options po = {0};
  po.exporter = otelc_otlp_exporter_create(&o);
  po.export_interval_ms = 50;
  po.export_timeout_ms = 60000;
  otelc_meter_provider *mp = NULL;
  CHECK_EQ(otelc_meter_provider_create(&po, &mp), OTELC_OK);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
  CHECK(otlp_test_server_wait(s, 1, WAIT_MS)); /* the reader's first attempt failed: it is waiting to retry */
  usleep(100000);
  otelc_set_log_level(OTELC_LOG_INFO);
  log_reset();
  CHECK_EQ(otelc_meter_provider_shutdown(mp, 1000), OTELC_E_EXPORT);
  CHECK(log_contains("retry abandoned: the provider is shutting down"));
  otelc_set_log_level(OTELC_LOG_WARN);
  CHECK_EQ(otlp_test_server_count(s), 2); /* the reader's attempt and the final one */
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

/* ---- partial success and logs ----------------------------------------------------------------------- */

/* Log sites are rate-limited (one line per site every 10 s): only the first test to reach a site checks its
 * line. */
static void partial_success(otelc_otlp_protocol proto, bool check_log) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otelc_meter_provider *mp = retry_provider(s, proto, 10000);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL);
  otelc_add_u64(c, 1, NULL, 0);
  otlp_test_reply partial = {.rejected_points = 2, .partial_message = "2 points had NaN\nvalues"};
  otlp_test_server_push_reply(s, &partial, 1);
  log_reset();
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_OK);
  if (check_log) {
    CHECK(log_contains("rejected 2 of"));
    CHECK(log_contains("2 points had NaN?values")); /* cleaned: no raw control characters in logs */
  }
  const otlp_test_request *q = flush_and_get(mp, s, OTELC_OK);
  if (q && q->req) {
    const otlp_metric *m = otlp_test_find_metric(q->req, "otelc.sdk.exporter.points.rejected");
    CHECK(m != NULL);
    const otlp_number_point *p = otlp_test_find_number(m, "otelc.exporter", proto == OTELC_OTLP_GRPC ? "otlp-grpc"
                                                                                                    : "otlp-http");
    CHECK_DBL(otlp_test_number_value(p), 2);
  }
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_http_partial_success(void) { partial_success(OTELC_OTLP_HTTP_PROTOBUF, true); }
static void test_grpc_partial_success(void) { partial_success(OTELC_OTLP_GRPC, false); }

static void test_no_header_values_in_logs(void) {
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  otlp_test_reply denied = {.http_status = 401, .grpc_code = WIRE_GRPC_UNAUTHENTICATED, .message = "bad token"};
  otlp_test_server_set_default(s, &denied);
  otelc_set_log_level(OTELC_LOG_DEBUG);
  log_reset();
  for (int proto = OTELC_OTLP_HTTP_PROTOBUF; proto >= OTELC_OTLP_GRPC; proto--) {
    otelc_otlp_options o = {
        .protocol = (otelc_otlp_protocol)proto,
        .endpoint = proto == OTELC_OTLP_GRPC ? otlp_test_server_url(s) : otlp_test_server_http_url(s),
        .headers = "authorization=Bearer%20supersecret-token,x-api-key=hunter2,broken-entry",
    };
    otelc_meter_provider *mp = make_provider(&o);
    otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "r", NULL, NULL), "c", NULL), 1, NULL, 0);
    CHECK_EQ(otelc_meter_provider_force_flush(mp, 20000), OTELC_E_EXPORT);
    otelc_meter_provider_free(mp);
  }
  CHECK_EQ(otlp_test_server_count(s), 4); /* flush and final export of each provider */
  const otlp_test_request *q = otlp_test_server_request(s, 0);
  if (q) CHECK_STR(wire_headers_get(&q->headers, "authorization"), "Bearer supersecret-token");
  CHECK(log_contains("HTTP 401 Unauthorized: bad token")); /* the first line of its site (see above) */
  CHECK(!log_contains("supersecret"));
  CHECK(!log_contains("hunter2"));
  otelc_set_log_level(OTELC_LOG_WARN);
  otlp_test_server_stop(s);
}

/* ---- fork ------------------------------------------------------------------------------------------- */

static void fork_case(otelc_otlp_protocol proto, bool tls) {
  if (tls && !g_have_certs) return;
  wire_tls_config stls = {.cert_file = g_certs.server_cert, .key_file = g_certs.server_key};
  otlp_test_server_options so = {.tls = tls ? &stls : NULL};
  otlp_test_server *s = otlp_test_server_start(&so);
  CHECK(s != NULL);
  if (!s) return;
  otelc_otlp_options o = {
      .protocol = proto,
      .endpoint = proto == OTELC_OTLP_GRPC ? otlp_test_server_url(s) : otlp_test_server_http_url(s),
      .certificate = tls ? g_certs.ca : NULL,
  };
  otelc_meter_provider *mp = make_provider(&o);
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "f", NULL, NULL), "fork.counter", NULL);
  otelc_add_u64(c, 5, NULL, 0);
  flush_and_get(mp, s, OTELC_OK); /* the parent's connection is open and kept alive */

  pid_t child = fork();
  if (child == 0) {
    otelc_add_u64(c, 7, NULL, 0);
    int rc = otelc_meter_provider_force_flush(mp, 10000);
    int rc2 = otelc_meter_provider_shutdown(mp, 10000);
    _exit(rc == OTELC_OK && rc2 == OTELC_OK ? 0 : 1);
  }
  CHECK(child > 0);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

  /* the child's export: its own pid, its own data only */
  const otlp_test_request *cq = otlp_test_server_latest_with(s, "fork.counter", child);
  CHECK(cq != NULL);
  if (cq) {
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(otlp_test_find_metric(cq->req, "fork.counter"), NULL,
                                                           NULL)),
              7);
  }
  /* the parent goes on, on its own connection, with its own totals */
  otelc_add_u64(c, 1, NULL, 0);
  log_reset();
  const otlp_test_request *pq = flush_and_get(mp, s, OTELC_OK);
  if (pq && pq->req) {
    char buf[32];
    CHECK(otlp_test_resource_attr(pq->req, "process.pid", buf, sizeof buf));
    CHECK_EQ(strtoll(buf, NULL, 10), getpid());
    CHECK_DBL(otlp_test_number_value(otlp_test_find_number(otlp_test_find_metric(pq->req, "fork.counter"), NULL,
                                                           NULL)),
              6);
  }
  CHECK(!log_contains("attempt 1 failed")); /* the parent's connection was not disturbed by the child */
  otelc_meter_provider_free(mp);
  otlp_test_server_stop(s);
}

static void test_fork_grpc_tls(void) { fork_case(OTELC_OTLP_GRPC, true); }
static void test_fork_http(void) { fork_case(OTELC_OTLP_HTTP_PROTOBUF, false); }

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  setenv("OTEL_SERVICE_NAME", "otlp-exporter-test", 1);
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
  otelc_set_log_handler(capture_log, NULL);
  otelc_set_log_level(OTELC_LOG_WARN);
  g_have_certs = test_certs_make(&g_certs) == 0;
  CHECK(g_have_certs);
  RUN(test_grpc_plaintext);
  RUN(test_grpc_plaintext_gzip);
  RUN(test_grpc_tls);
  RUN(test_grpc_mtls_gzip);
  RUN(test_http_plaintext);
  RUN(test_http_plaintext_gzip);
  RUN(test_http_tls_gzip);
  RUN(test_http_mtls);
  RUN(test_env_configured_grpc);
  RUN(test_no_header_values_in_logs);
  RUN(test_http_503_retried);
  RUN(test_grpc_unavailable_retried);
  RUN(test_http_400_not_retried);
  RUN(test_grpc_invalid_argument_not_retried);
  RUN(test_grpc_resource_exhausted_without_retry_info_not_retried);
  RUN(test_retry_after_honoured);
  RUN(test_grpc_retry_info_honoured);
  RUN(test_retry_after_beyond_deadline);
  RUN(test_retries_stop_at_deadline);
  RUN(test_slow_server_deadline);
  RUN(test_shutdown_interrupts_backoff);
  RUN(test_http_partial_success);
  RUN(test_grpc_partial_success);
  RUN(test_fork_grpc_tls);
  RUN(test_fork_http);
  return test_finish();
}
