/* test_otlp_exporter_raw.c — the OTLP exporters on batches that still have their raw form (pipeline.h), against
 * a capture server that keeps the bytes it receives: what arrives over gRPC and OTLP/HTTP (plain and gzip) is
 * byte for byte what the receiver got, including an encoding protobuf-c would not produce (fields out of order,
 * an unknown field); a merged batch arrives as the concatenation of its inputs; a batch a processor changed is
 * encoded again and carries the change; fan-out of one batch to the prometheus exporter (which decodes it) and
 * the otlp exporter (which forwards the bytes) serves both; the persistent queue stores the raw bytes as they
 * are and sends them after a restart. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "exporter_testhost.h"
#include "receiver/config/components/extensions.h"
#include "receiver/config/components/otlp_exporters.h"
#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/exporters/otlp.h"
#include "receiver/exporters/persistent_queue.h"
#include "receiver/exporters/prometheus.h"
#include "receiver/pipeline.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/pbwrite.h"
#include "wire/server/grpc_server.h"
#include "wire/server/http_server.h"

#define MS 1000000LL

/* ---- a server that keeps the bytes ---- */

#define CS_MAX 32

typedef struct capture_server {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t thread;
  wire_server *srv;
  uint16_t port;
  pthread_mutex_t mu;
  wire_buf bodies[CS_MAX];
  bool grpc[CS_MAX];
  size_t n;
} capture_server;

static void cs_store(capture_server *s, const uint8_t *p, size_t n, bool grpc) {
  pthread_mutex_lock(&s->mu);
  if (s->n < CS_MAX) {
    wire_buf_init(&s->bodies[s->n], 0);
    wire_buf_append(&s->bodies[s->n], p, n, NULL);
    s->grpc[s->n] = grpc;
    s->n++;
  }
  pthread_mutex_unlock(&s->mu);
}

static void cs_handle(wire_exchange *ex, void *ud) {
  capture_server *s = ud;
  const wire_http_request *req = wire_exchange_request(ex);
  if (wire_grpc_is_grpc_request(req)) {
    const uint8_t *msg;
    size_t len;
    wire_err err;
    if (wire_grpc_read_request(ex, 64u << 20, &msg, &len, &err) < 0) return;
    cs_store(s, msg, len, true);
    wire_grpc_respond(ex, "", 0); /* an empty ExportMetricsServiceResponse */
    return;
  }
  cs_store(s, req->body.data, req->body.len, false);
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "application/x-protobuf", NULL);
  wire_exchange_respond(ex, 200, &h, NULL, 0, NULL);
  wire_headers_free(&h);
}

static void cs_stopped(void *arg) { (void)arg; }
static void cs_stop_cb(uv_async_t *a) {
  capture_server *s = a->data;
  wire_server_stop(s->srv, cs_stopped, s);
  uv_close((uv_handle_t *)a, NULL);
}
static void *cs_main(void *arg) {
  capture_server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

static capture_server *cs_start(void) {
  capture_server *s = calloc(1, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  uv_loop_init(&s->loop);
  wire_server_config sc = {.endpoint = "127.0.0.1:0", .max_body_bytes = 64u << 20, .decompress = true};
  wire_err err;
  s->srv = wire_server_start(&s->loop, &sc, cs_handle, s, &err);
  CHECK_MSG(s->srv != NULL, "capture server: %s", err.msg);
  if (!s->srv) {
    uv_loop_close(&s->loop);
    free(s);
    return NULL;
  }
  s->port = wire_server_port(s->srv);
  uv_async_init(&s->loop, &s->stop, cs_stop_cb);
  s->stop.data = s;
  pthread_create(&s->thread, NULL, cs_main, s);
  return s;
}

static void cs_free(capture_server *s) {
  if (!s) return;
  uv_async_send(&s->stop);
  pthread_join(s->thread, NULL);
  uv_loop_close(&s->loop);
  for (size_t i = 0; i < s->n; i++) wire_buf_free(&s->bodies[i]);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static bool cs_wait(capture_server *s, size_t n) {
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&s->mu);
    size_t have = s->n;
    pthread_mutex_unlock(&s->mu);
    if (have >= n) return true;
    usleep(1000);
  }
  return false;
}

static bool cs_got(capture_server *s, size_t i, const void *want, size_t len) {
  pthread_mutex_lock(&s->mu);
  bool ok = i < s->n && s->bodies[i].len == len && (len == 0 || !memcmp(s->bodies[i].data, want, len));
  pthread_mutex_unlock(&s->mu);
  return ok;
}

/* ---- exporters ---- */

static void set_common(retry_config *r, queue_config *q) {
  r->enabled = true;
  r->initial_interval = 5 * MS;
  r->max_interval = 20 * MS;
  r->multiplier = 1.5;
  q->enabled = true;
  q->num_consumers = 2;
  q->queue_size = 100;
}

/* The otlp (gRPC) exporter's config towards ep: plaintext, `compression`, a 5 s timeout, set_common's retry and
 * queue. */
static otlp_exporter_config grpc_config(char *ep, int compression) {
  otlp_exporter_config gc;
  memset(&gc, 0, sizeof gc);
  gc.endpoint = ep;
  gc.tls.insecure = true;
  gc.compression = compression;
  gc.timeout = 5000 * MS;
  set_common(&gc.retry_on_failure, &gc.sending_queue);
  return gc;
}

/* A clean request that protobuf-c would encode differently: a metric's fields out of order and an unknown
 * field, after a resource with one attribute. 1 point. */
static void odd_request(wire_buf *b) {
  wire_buf_init(b, 0);
  pbw w;
  pbw_init(&w, b, NULL);
  pbw_mark rm = pbw_begin(&w, 1, 1);
  pbw_mark res = pbw_begin(&w, 1, 1);
  pbw_mark kv = pbw_begin(&w, 1, 1);
  pbw_string(&w, 1, "service.name");
  pbw_mark v = pbw_begin(&w, 2, 1);
  pbw_string(&w, 1, "odd");
  pbw_end(&w, v);
  pbw_end(&w, kv);
  pbw_end(&w, res);
  pbw_mark sm = pbw_begin(&w, 2, 1);
  pbw_mark met = pbw_begin(&w, 2, 1);
  pbw_mark sum = pbw_begin(&w, 7, 1);
  pbw_mark dp = pbw_begin(&w, 1, 1);
  pbw_fixed64(&w, 6, 7);
  pbw_fixed64(&w, 3, 1700000000000000000ull);
  pbw_end(&w, dp);
  pbw_varint(&w, 3, 1);
  pbw_varint(&w, 2, 2);
  pbw_end(&w, sum);
  pbw_varint(&w, 99, 5);
  pbw_string(&w, 1, "odd.metric");
  pbw_end(&w, met);
  pbw_end(&w, sm);
  pbw_end(&w, rm);
  CHECK(pbw_ok(&w));
}

static component_metrics *received(const wire_buf *b) {
  wire_err err = {0};
  component_metrics *m = metrics_receive(b->data, b->len, 0, 0, &err);
  CHECK_MSG(m != NULL, "receive: %s", err.msg);
  CHECK(m && metrics_has_raw(m));
  return m;
}

static void test_forwards_bytes_unchanged(void) {
  th_reset();
  capture_server *s = cs_start();
  if (!s) return;
  char ep[64], url[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", s->port);
  snprintf(url, sizeof url, "http://127.0.0.1:%u", s->port);
  wire_buf odd, big;
  odd_request(&odd);
  otlp_request *r = sample_otlp_parametric(30, 5, 3);
  wire_buf_init(&big, 0);
  CHECK(wire_otlp_encode_request(r, &big, NULL) == 0);
  sample_otlp_free(r);

  otlp_exporter_config gc = grpc_config(ep, COMPRESSION_NONE);
  gc.sending_queue.num_consumers = 1; /* arrivals in order */
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/raw", &gc);
  wire_err err;
  CHECK_EQ(e.hooks->consume_metrics(e.state, received(&odd), &err), 0);
  CHECK(cs_wait(s, 1));
  CHECK(cs_got(s, 0, odd.data, odd.len));
  CHECK(s->grpc[0]);
  /* a merged batch (two inputs, as the batch processor makes it): the concatenation */
  component_metrics *a = received(&odd), *b = received(&big), *c = metrics_new(0);
  CHECK_EQ(metrics_raw_append(c, a, 0, a->raw_len, &err), 0);
  CHECK_EQ(metrics_raw_append(c, b, 0, b->raw_len, &err), 0);
  c->points = a->points + b->points;
  metrics_unref(a);
  metrics_unref(b);
  CHECK_EQ(e.hooks->consume_metrics(e.state, c, &err), 0);
  CHECK(cs_wait(s, 2));
  wire_buf cat;
  wire_buf_init(&cat, 0);
  wire_buf_append(&cat, odd.data, odd.len, NULL);
  wire_buf_append(&cat, big.data, big.len, NULL);
  CHECK(cs_got(s, 1, cat.data, cat.len));
  CHECK(wait_sent(1 + 1 + 150));
  stop_exporter(&e, true);

  /* OTLP/HTTP, plain then gzip (the server decompresses) */
  for (int gz = 0; gz < 2; gz++) {
    otlphttp_exporter_config hc;
    memset(&hc, 0, sizeof hc);
    hc.endpoint = url;
    hc.compression = gz ? COMPRESSION_GZIP : COMPRESSION_NONE;
    hc.timeout = 5000 * MS;
    set_common(&hc.retry_on_failure, &hc.sending_queue);
    e = start_exporter(&otlphttp_exporter_hooks, "otlphttp/raw", &hc);
    CHECK_EQ(e.hooks->consume_metrics(e.state, received(&odd), &err), 0);
    CHECK(cs_wait(s, (size_t)(3 + gz)));
    CHECK(cs_got(s, (size_t)(2 + gz), odd.data, odd.len));
    CHECK(!s->grpc[2 + gz]);
    stop_exporter(&e, true);
  }
  CHECK_EQ(pipeline_batches_live(), 0);
  wire_buf_free(&cat);
  wire_buf_free(&odd);
  wire_buf_free(&big);
  cs_free(s);
}

static void test_modified_batch_is_encoded(void) {
  th_reset();
  capture_server *s = cs_start();
  if (!s) return;
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", s->port);
  otlp_exporter_config gc = grpc_config(ep, COMPRESSION_GZIP);
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/changed", &gc);
  wire_buf odd;
  odd_request(&odd);
  wire_err err;
  /* a processor takes the batch, makes it writable and renames the metric */
  component_metrics *m = metrics_make_writable(received(&odd), &err);
  CHECK(m != NULL && !metrics_has_raw(m));
  if (!m) return;
  otlp_metric *met = m->req->resource_metrics[0]->scope_metrics[0]->metrics[0];
  met->name = otlp_arena_strdup(&m->arena, "renamed");
  metrics_update(m);
  wire_buf want;
  wire_buf_init(&want, 0);
  CHECK(wire_otlp_encode_request(m->req, &want, NULL) == 0);
  CHECK_EQ(e.hooks->consume_metrics(e.state, m, &err), 0);
  CHECK(cs_wait(s, 1));
  CHECK(cs_got(s, 0, want.data, want.len)); /* protobuf-c's encoding of the changed structs */
  CHECK(!cs_got(s, 0, odd.data, odd.len));
  stop_exporter(&e, true);
  wire_buf_free(&want);
  wire_buf_free(&odd);
  cs_free(s);
  CHECK_EQ(pipeline_batches_live(), 0);
}

/* ---- fan-out: prometheus decodes, otlp forwards ---- */

static uint64_t prom_sent;
static int prom_holds;
static void ph_log(component_host *h, log_level l, const char *c, const char *m, ...) {
  (void)h, (void)l, (void)c, (void)m;
}
static void ph_count(component_host *h, const char *metric, const char *id, uint64_t n) {
  (void)h, (void)id;
  if (!strcmp(metric, "otelcol_exporter_sent_metric_points")) prom_sent += n;
}
static void ph_hold(component_host *h) { (void)h, prom_holds++; }
static void ph_release(component_host *h) { (void)h, prom_holds--; }

static void test_fan_out_prometheus_and_otlp(void) {
  th_reset();
  capture_server *s = cs_start();
  if (!s) return;
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", s->port);
  otlp_exporter_config gc = grpc_config(ep, COMPRESSION_NONE);
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/fan", &gc);

  uv_loop_t loop;
  uv_loop_init(&loop);
  component_host ph = {.loop = &loop, .log = ph_log, .count = ph_count, .hold = ph_hold, .release = ph_release};
  prometheus_exporter_config pc = {0};
  pc.endpoint = "127.0.0.1:0";
  pc.add_metric_suffixes = true;
  pc.metric_expiration = 300000000000LL;
  component_create_args args = {.id = "prometheus", .kind = COMPONENT_EXPORTER, .config = &pc, .host = &ph};
  void *pstate = NULL;
  wire_err err = {0};
  CHECK_MSG(prometheus_exporter_hooks.create(&args, &pstate, &err) == 0, "create: %s", err.msg);
  CHECK_MSG(prometheus_exporter_hooks.start(pstate, &err) == 0, "start: %s", err.msg);

  otlp_request *r = sample_otlp_parametric(8, 2, 2); /* 16 points; prometheus drops the 4 delta sum points */
  wire_buf in;
  wire_buf_init(&in, 0);
  CHECK(wire_otlp_encode_request(r, &in, NULL) == 0);
  sample_otlp_free(r);
  for (int round = 0; round < 20; round++) {
    component_metrics *m = received(&in);
    if (!m) break;
    /* as the runtime's fan-out does: each exporter gets its own reference; the otlp one first, so that its
     * consumer thread reads the bytes while prometheus decodes on this thread */
    CHECK_EQ(e.hooks->consume_metrics(e.state, metrics_ref(m), &err), 0);
    CHECK_EQ(prometheus_exporter_hooks.consume_metrics(pstate, m, &err), 0);
  }
  CHECK_EQ(prom_sent, 20 * 12);
  CHECK(cs_wait(s, 20));
  for (size_t i = 0; i < 20; i++) CHECK(cs_got(s, i, in.data, in.len));
  CHECK(wait_sent(20 * 16));
  stop_exporter(&e, true);
  CHECK(prometheus_exporter_hooks.shutdown(pstate, &err) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(prom_holds, 0);
  prometheus_exporter_hooks.destroy(pstate);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(pipeline_batches_live(), 0);
  wire_buf_free(&in);
  cs_free(s);
}

/* ---- the persistent queue ---- */

static void test_persistent_queue_raw(void) {
  th_reset();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/file_storage_raw", test_tmpdir());
  test_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);

  /* pq_appendv writes the ranges' concatenation, read back whole */
  persistent_queue *pq = pq_open(dir, "direct", false, NULL, NULL, NULL);
  CHECK(pq != NULL);
  if (pq) {
    struct iovec parts[3] = {{(void *)"abc", 3}, {(void *)"", 0}, {(void *)"defgh", 5}};
    uint64_t id;
    CHECK_EQ(pq_appendv(pq, parts, 3, 7, &id, NULL), 0);
    wire_buf back;
    wire_buf_init(&back, 0);
    uint64_t pts = 0;
    CHECK_EQ(pq_read(pq, id, &back, &pts, NULL), 0);
    CHECK(back.len == 8 && !memcmp(back.data, "abcdefgh", 8));
    CHECK_EQ(pts, 7);
    wire_buf_free(&back);
    pq_close(pq);
  }

  /* an exporter with a persistent queue, backend down: the records are the received bytes */
  file_storage_config fs = {.directory = dir};
  th_host.storage_id = "file_storage";
  th_host.storage_state = &fs;
  capture_server *s = cs_start();
  if (!s) return;
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", s->port);
  otlp_exporter_config gc = grpc_config("127.0.0.1:1", COMPRESSION_NONE); /* nothing listens: records stay */
  gc.timeout = 1000 * MS;
  gc.sending_queue.storage = "file_storage";
  gc.sending_queue.num_consumers = 1;
  exporter e = start_exporter(&otlp_exporter_hooks, "otlp/pq", &gc);
  wire_buf odd, two;
  odd_request(&odd);
  wire_buf_init(&two, 0);
  wire_buf_append(&two, odd.data, odd.len, NULL);
  wire_buf_append(&two, odd.data, odd.len, NULL);
  wire_err err;
  CHECK_EQ(e.hooks->consume_metrics(e.state, received(&odd), &err), 0);
  component_metrics *a = received(&odd), *c = metrics_new(0);
  CHECK_EQ(metrics_raw_append(c, a, 0, a->raw_len, &err), 0);
  CHECK_EQ(metrics_raw_append(c, a, 0, a->raw_len, &err), 0); /* the same bytes twice: two ranges */
  c->points = 2;
  metrics_unref(a);
  CHECK_EQ(e.hooks->consume_metrics(e.state, c, &err), 0);
  CHECK_EQ(pipeline_batches_live(), 0); /* on disk only */
  stop_exporter(&e, false);
  CHECK_EQ(test_sh("test $(ls '%s'/otlp_pq/*.rec | wc -l) -eq 2", dir), 0);
  /* each record's payload (after the 24-byte header) is what was received */
  char want_file[1200];
  snprintf(want_file, sizeof want_file, "%s/want", dir);
  FILE *f = fopen(want_file, "wb");
  if (f) {
    fwrite(odd.data, 1, odd.len, f);
    fclose(f);
  }
  CHECK_EQ(test_sh("f=$(ls '%s'/otlp_pq/*.rec | head -1); tail -c +25 \"$f\" | cmp -s - '%s'", dir, want_file), 0);
  snprintf(want_file, sizeof want_file, "%s/want2", dir);
  f = fopen(want_file, "wb");
  if (f) {
    fwrite(two.data, 1, two.len, f);
    fclose(f);
  }
  CHECK_EQ(test_sh("f=$(ls '%s'/otlp_pq/*.rec | tail -1); tail -c +25 \"$f\" | cmp -s - '%s'", dir, want_file), 0);
  /* restart towards the capture server: both records are sent as stored */
  gc.endpoint = ep;
  e = start_exporter(&otlp_exporter_hooks, "otlp/pq", &gc);
  CHECK(cs_wait(s, 2));
  CHECK(cs_got(s, 0, odd.data, odd.len));
  CHECK(cs_got(s, 1, two.data, two.len));
  CHECK(wait_sent(3));
  stop_exporter(&e, true);
  th_host.storage_id = NULL;
  wire_buf_free(&odd);
  wire_buf_free(&two);
  cs_free(s);
}

int main(void) {
  th_host.quiet = true;
  RUN(test_forwards_bytes_unchanged);
  RUN(test_modified_batch_is_encoded);
  RUN(test_fan_out_prometheus_and_otlp);
  RUN(test_persistent_queue_raw);
  return test_finish();
}
