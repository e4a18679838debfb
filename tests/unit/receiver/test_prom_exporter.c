/* test_prom_exporter.c — the `prometheus` exporter component (receiver/exporters/prometheus.c) over real HTTP on
 * 127.0.0.1: a batch goes in through consume_metrics, scrapes come out as Prometheus text or OpenMetrics, gzip when
 * asked, 404/405 for the rest; self-telemetry counts and an orderly shutdown. A large store is scraped as a
 * streamed body (many chunks over HTTP/1.1, close-delimited over HTTP/1.0, gzip, HEAD) that must equal a whole
 * render of the same data, also when the scraper goes away mid-body. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/exporters/prom_store.h"
#include "receiver/exporters/prometheus.h"
#include "receiver/pipeline.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/gzip.h"

/* ---- a host for one component ------------------------------------------------------------------------------------ */

static uint64_t sent_points, failed_points;
static int holds;

static void host_log(component_host *h, log_level level, const char *component, const char *msg, ...) {
  (void)h, (void)level, (void)component, (void)msg;
}
static void host_count(component_host *h, const char *metric, const char *id, uint64_t n) {
  (void)h, (void)id;
  if (strcmp(metric, "otelcol_exporter_sent_metric_points") == 0) sent_points += n;
  if (strcmp(metric, "otelcol_exporter_send_failed_metric_points") == 0) failed_points += n;
}
static void host_hold(component_host *h) { (void)h, holds++; }
static void host_release(component_host *h) { (void)h, holds--; }

/* ---- a blocking HTTP/1.1 client (runs on its own thread while the loop serves) ------------------------------------- */

typedef struct reply {
  int status;
  char headers[4096];
  char *body; /* de-chunked, decompressed when content-encoding: gzip; NUL-terminated */
  size_t body_len;
  bool chunked;
  int chunks;
} reply;

/* Decodes a chunked body (RFC 9112 7.1); -1 when it is malformed or ends before the last chunk. */
static int dechunk(const char *p, size_t n, wire_buf *out, int *chunks) {
  const char *end = p + n;
  for (;;) {
    char *e;
    unsigned long long len = strtoull(p, &e, 16);
    if (e == p || e + 2 > end || e[0] != '\r' || e[1] != '\n') return -1;
    p = e + 2;
    if (len == 0) return end - p >= 2 && p[0] == '\r' && p[1] == '\n' ? 0 : -1;
    if ((size_t)(end - p) < len + 2 || p[len] != '\r' || p[len + 1] != '\n') return -1;
    wire_buf_append(out, p, len, NULL);
    (*chunks)++;
    p += len + 2;
  }
}

static int http_get(uint16_t port, const char *request, reply *r) {
  memset(r, 0, sizeof *r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
    close(fd);
    return -1;
  }
  wire_buf in;
  wire_buf_init(&in, 64 << 20);
  char chunk[65536];
  for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) wire_buf_append(&in, chunk, (size_t)n, NULL);
  close(fd);
  wire_buf_append(&in, "", 1, NULL);
  char *text = (char *)in.data;
  char *hdr_end = strstr(text, "\r\n\r\n");
  if (!hdr_end || sscanf(text, "HTTP/1.%*d %d", &r->status) != 1) {
    wire_buf_free(&in);
    return -1;
  }
  size_t hl = (size_t)(hdr_end - text);
  snprintf(r->headers, sizeof r->headers, "%.*s", (int)(hl < sizeof r->headers - 1 ? hl : sizeof r->headers - 1), text);
  for (char *p = r->headers; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  const char *body = hdr_end + 4;
  size_t blen = in.len - 1 - (size_t)(body - text);
  wire_buf raw;
  wire_buf_init(&raw, 0);
  bool head = strncmp(request, "HEAD ", 5) == 0; /* headers as for GET, no body */
  if (strstr(r->headers, "transfer-encoding: chunked")) r->chunked = true;
  if (head) {
    if (blen) r->status = -3;
  } else if (r->chunked) {
    if (dechunk(body, blen, &raw, &r->chunks) < 0) r->status = -1; /* truncated or malformed */
  } else {
    wire_buf_append(&raw, body, blen, NULL);
  }
  wire_buf out;
  wire_buf_init(&out, 0);
  if (!head && strstr(r->headers, "content-encoding: gzip")) {
    if (wire_gzip_decompress(raw.data, raw.len, 256 << 20, &out, NULL) < 0) r->status = -2;
  } else {
    wire_buf_append(&out, raw.data, raw.len, NULL);
  }
  wire_buf_free(&raw);
  wire_buf_append(&out, "", 1, NULL);
  r->body = (char *)out.data;
  r->body_len = out.len - 1;
  wire_buf_free(&in);
  return 0;
}

/* ---- the test ------------------------------------------------------------------------------------------------------- */

static uint16_t port;
static atomic_int client_done;
static reply r_om_gzip, r_text, r_404, r_405, r_head;

static void *client(void *arg) {
  (void)arg;
  http_get(port,
           "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n"
           "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n",
           &r_om_gzip);
  http_get(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\nConnection: close\r\n\r\n",
           &r_text);
  http_get(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r_404);
  http_get(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", &r_405);
  http_get(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r_head);
  atomic_store(&client_done, 1);
  return NULL;
}

static void poll_done(uv_timer_t *t) {
  if (atomic_load(&client_done)) uv_stop(t->loop);
}

/* The exporter's config in the scrape tests: a port of its own, suffixes and OpenMetrics on, 5 min expiry. */
static prometheus_exporter_config scrape_config(void) {
  prometheus_exporter_config cfg = {0};
  cfg.endpoint = "127.0.0.1:0";
  cfg.add_metric_suffixes = true;
  cfg.enable_open_metrics = true;
  cfg.metric_expiration = 300000000000LL;
  return cfg;
}

/* Creates and starts the prometheus exporter with cfg on host (CHECKs both); its state. */
static void *start_prometheus(component_host *host, const prometheus_exporter_config *cfg) {
  component_create_args args = {.id = "prometheus", .kind = COMPONENT_EXPORTER, .config = cfg, .host = host};
  void *state = NULL;
  wire_err err = {0};
  CHECK_MSG(prometheus_exporter_hooks.create(&args, &state, &err) == 0, "create: %s", err.msg);
  CHECK_MSG(prometheus_exporter_hooks.start(state, &err) == 0, "start: %s", err.msg);
  return state;
}

static void test_scrape_over_http(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  component_host host = {.loop = &loop, .log = host_log, .count = host_count, .hold = host_hold, .release = host_release};
  prometheus_exporter_config cfg = scrape_config();
  cfg_kv consts[] = {{"env", "test"}};
  cfg.const_labels.v = consts;
  cfg.const_labels.n = 1;
  void *state = start_prometheus(&host, &cfg);
  wire_err err = {0};
  port = prometheus_exporter_port(state);
  CHECK(port != 0);

  /* one batch through consume_metrics: sample_otlp_parametric (the delta non-monotonic sum is dropped) */
  otlp_request *req = sample_otlp_parametric(8, 2, 2);
  wire_buf enc;
  wire_buf_init(&enc, 0);
  CHECK(wire_otlp_encode_request(req, &enc, NULL) == 0);
  component_metrics *batch = metrics_decode(enc.data, enc.len, 0, 0, &err);
  CHECK(batch != NULL);
  CHECK(prometheus_exporter_hooks.consume_metrics(state, batch, &err) == 0);
  CHECK_EQ(sent_points, 12);
  CHECK_EQ(failed_points, 4);

  pthread_t t;
  pthread_create(&t, NULL, client, NULL);
  uv_timer_t poll;
  uv_timer_init(&loop, &poll);
  uv_timer_start(&poll, poll_done, 5, 5);
  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);

  CHECK_EQ(r_om_gzip.status, 200);
  CHECK_CONTAINS(r_om_gzip.headers, "content-type: application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK_CONTAINS(r_om_gzip.headers, "content-encoding: gzip");
  CHECK_CONTAINS(r_om_gzip.body, "# TYPE metric_0 counter\n");
  CHECK_CONTAINS(r_om_gzip.body, "metric_0_total{attr_0=\"value-0-0\",attr_1=\"value-1-0\",env=\"test\",job=\"bench\",otel_scope_name=\"otelc.bench\"} 0\n");
  CHECK_CONTAINS(r_om_gzip.body, "# TYPE metric_3_seconds histogram\n# UNIT metric_3_seconds seconds\n");
  CHECK(r_om_gzip.body_len > 6 && strcmp(r_om_gzip.body + r_om_gzip.body_len - 6, "# EOF\n") == 0);

  CHECK_EQ(r_text.status, 200);
  CHECK_CONTAINS(r_text.headers, "content-type: text/plain; version=0.0.4; charset=utf-8");
  CHECK(strstr(r_text.headers, "content-encoding") == NULL);
  CHECK_CONTAINS(r_text.body, "# TYPE metric_0_total counter\n");
  CHECK_CONTAINS(r_text.body, "metric_1_ratio{");
  CHECK_CONTAINS(r_text.body, "target_info{host_name=\"node-1\",job=\"bench\",process_pid=\"4242\"} 1\n");
  CHECK(strstr(r_text.body, "# EOF") == NULL);

  CHECK_EQ(r_404.status, 404);
  CHECK_EQ(r_405.status, 405);
  CHECK_CONTAINS(r_405.headers, "allow: get, head");
  CHECK_EQ(r_head.status, 200);
  CHECK_EQ(r_head.body_len, 0);

  /* shutdown: the server stops, the loop drains, the hold is released */
  CHECK(prometheus_exporter_hooks.shutdown(state, &err) == 0);
  uv_close((uv_handle_t *)&poll, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(holds, 0);
  prometheus_exporter_hooks.destroy(state);
  CHECK_EQ(uv_loop_close(&loop), 0);

  free(r_om_gzip.body), free(r_text.body), free(r_404.body), free(r_405.body), free(r_head.body);
  wire_buf_free(&enc);
  sample_otlp_free(req);
}

/* ---- a large exposition, streamed ------------------------------------------------------------------------------- */

static reply r_big, r_big_gzip, r_big_om, r_big_10, r_big_head;
static atomic_int abandoned;

/* Reads the head and a little of the body, then closes: the server must release the scrape. */
static void abandon_scrape(uint16_t p) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[8192];
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1 &&
      read(fd, buf, sizeof buf) > 0)
    atomic_store(&abandoned, 1);
  close(fd);
}

static void *big_client(void *arg) {
  (void)arg;
  http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r_big);
  http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate, gzip\r\nConnection: close\r\n\r\n",
           &r_big_gzip);
  http_get(port,
           "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\n"
           "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n",
           &r_big_om);
  http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", &r_big_10);
  http_get(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
           &r_big_head);
  abandon_scrape(port);
  atomic_store(&client_done, 1);
  return NULL;
}

/* What the exporter must serve: the same request rendered whole by a store configured alike. */
static char *reference_render(const otlp_request *req, prom_format f) {
  prom_store_config sc;
  prom_store_config_init(&sc);
  sc.enable_open_metrics = true;
  prom_store *st = prom_store_new(&sc, NULL);
  prom_consume_result res;
  prom_store_consume_request(st, req, &res);
  wire_buf b;
  wire_buf_init(&b, 0);
  CHECK(prom_store_render(st, f, &b, NULL) == 0);
  wire_buf_append(&b, "", 1, NULL);
  prom_store_free(st);
  return (char *)b.data;
}

static void test_large_scrape_is_streamed(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  component_host host = {.loop = &loop, .log = host_log, .count = host_count, .hold = host_hold, .release = host_release};
  prometheus_exporter_config cfg = scrape_config();
  void *state = start_prometheus(&host, &cfg);
  wire_err err = {0};
  port = prometheus_exporter_port(state);

  otlp_request *req = sample_otlp_parametric(16, 400, 2); /* 12 kept families × 400 series, ~1.5 MB of text */
  wire_buf enc;
  wire_buf_init(&enc, 0);
  CHECK(wire_otlp_encode_request(req, &enc, NULL) == 0);
  component_metrics *batch = metrics_decode(enc.data, enc.len, 0, 0, &err);
  CHECK(batch != NULL);
  CHECK(prometheus_exporter_hooks.consume_metrics(state, batch, &err) == 0);
  char *text = reference_render(req, PROM_FORMAT_TEXT), *om = reference_render(req, PROM_FORMAT_OPENMETRICS);
  CHECK(strlen(text) > 1000000);

  atomic_store(&client_done, 0);
  pthread_t t;
  pthread_create(&t, NULL, big_client, NULL);
  uv_timer_t poll;
  uv_timer_init(&loop, &poll);
  uv_timer_start(&poll, poll_done, 5, 5);
  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);

  CHECK_EQ(r_big.status, 200);
  CHECK(r_big.chunked);
  CHECK_MSG(r_big.chunks > 10, "%d chunks", r_big.chunks);
  CHECK(strstr(r_big.headers, "content-length") == NULL);
  CHECK(r_big.body && strcmp(r_big.body, text) == 0);
  CHECK_EQ(r_big_gzip.status, 200);
  CHECK_CONTAINS(r_big_gzip.headers, "content-encoding: gzip");
  CHECK(r_big_gzip.body && strcmp(r_big_gzip.body, text) == 0);
  CHECK_EQ(r_big_om.status, 200);
  CHECK(r_big_om.body && strcmp(r_big_om.body, om) == 0);
  CHECK_EQ(r_big_10.status, 200); /* HTTP/1.0: no chunked coding, the body ends with the connection */
  CHECK(!r_big_10.chunked);
  CHECK_CONTAINS(r_big_10.headers, "connection: close");
  CHECK(r_big_10.body && strcmp(r_big_10.body, text) == 0);
  CHECK_EQ(r_big_head.status, 200);
  CHECK_CONTAINS(r_big_head.headers, "content-encoding: gzip");
  CHECK_CONTAINS(r_big_head.headers, "content-type: text/plain; version=0.0.4");
  CHECK_EQ(r_big_head.body_len, 0);
  CHECK_EQ(atomic_load(&abandoned), 1);

  /* shutdown with the abandoned scrape: the hold is released once the server let go of every scrape */
  CHECK(prometheus_exporter_hooks.shutdown(state, &err) == 0);
  uv_close((uv_handle_t *)&poll, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(holds, 0);
  prometheus_exporter_hooks.destroy(state);
  CHECK_EQ(uv_loop_close(&loop), 0);
  reply *all[] = {&r_big, &r_big_gzip, &r_big_om, &r_big_10, &r_big_head};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->body);
  free(text);
  free(om);
  wire_buf_free(&enc);
  sample_otlp_free(req);
}

static void test_bad_config(void) {
  prometheus_exporter_config cfg = {0};
  cfg.endpoint = "127.0.0.1:0";
  cfg_kv consts[] = {{"quantile", "x"}};
  cfg.const_labels.v = consts;
  cfg.const_labels.n = 1;
  component_host host = {0};
  component_create_args args = {.id = "prometheus/bad", .kind = COMPONENT_EXPORTER, .config = &cfg, .host = &host};
  void *state = NULL;
  wire_err err = {0};
  CHECK(prometheus_exporter_hooks.create(&args, &state, &err) == -1);
  CHECK_CONTAINS(err.msg, "prometheus/bad: prometheus exporter: const_labels: \"quantile\" is reserved");
}

int main(void) {
  RUN(test_scrape_over_http);
  RUN(test_large_scrape_is_streamed);
  RUN(test_bad_config);
  return test_finish();
}
