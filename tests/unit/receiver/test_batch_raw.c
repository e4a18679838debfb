/* test_batch_raw.c — the batch processor on batches that still have their raw form (pipeline.h): merging
 * concatenates the inputs' bytes (no decode), splitting at send_batch_max_size cuts between resource_metrics
 * (outputs are byte ranges of the input, in order), a resource_metrics alone over the maximum is decoded and
 * split inside, and a queue mixing raw and decoded inputs loses, duplicates and reorders nothing. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/batch.h"
#include "receiver/processors/batch.h"
#include "sample_otlp.h"
#include "testlib.h"

static int holds;
static void h_log(component_host *h, log_level l, const char *c, const char *m, ...) {
  (void)h, (void)l, (void)c, (void)m;
}
static bool h_log_enabled(component_host *h, log_level l) { return (void)h, (void)l, false; }
static void h_hold(component_host *h) { (void)h, holds++; }
static void h_release(component_host *h) { (void)h, holds--; }

#define OUT_MAX 64
static component_metrics *outs[OUT_MAX];
static size_t nouts;

static int next_consume(void *ctx, component_metrics *m, wire_err *err) {
  (void)ctx, (void)err;
  if (nouts < OUT_MAX) outs[nouts++] = m;
  else metrics_unref(m);
  return 0;
}

static void outs_reset(void) {
  for (size_t i = 0; i < nouts; i++) metrics_unref(outs[i]);
  nouts = 0;
}

typedef struct fixture {
  uv_loop_t loop;
  component_host host;
  batch_config cfg;
  void *state;
} fixture;

static void fx_init(fixture *f, int64_t size, int64_t max) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  f->host = (component_host){.loop = &f->loop, .log = h_log, .log_enabled = h_log_enabled, .hold = h_hold,
                             .release = h_release};
  f->cfg.timeout = 3600000LL * 1000000;
  f->cfg.send_batch_size = size;
  f->cfg.send_batch_max_size = max;
  f->cfg.metadata_cardinality_limit = 1000;
  component_create_args a = {.id = "batch", .kind = COMPONENT_PROCESSOR, .config = &f->cfg, .host = &f->host,
                             .next = {.consume_metrics = next_consume}};
  wire_err err = {0};
  CHECK(batch_processor_hooks.create(&a, &f->state, &err) == 0);
  CHECK(batch_processor_hooks.start(f->state, &err) == 0);
}

static void fx_shutdown(fixture *f) {
  wire_err err = {0};
  CHECK(batch_processor_hooks.shutdown(f->state, &err) == 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  CHECK_EQ(holds, 0);
  batch_processor_hooks.destroy(f->state);
  CHECK_EQ(uv_loop_close(&f->loop), 0);
}

static int consume(fixture *f, component_metrics *m) {
  wire_err err = {0};
  return batch_processor_hooks.consume_metrics(f->state, m, &err);
}

/* Appends the encoding of one resource_metrics of `metrics` x `points` points to `out`: concatenated, they make
 * one request with several resource_metrics. */
static void add_resource(wire_buf *out, size_t metrics, size_t points) {
  otlp_request *req = sample_otlp_parametric(metrics, points, 2);
  CHECK(wire_otlp_encode_request(req, out, NULL) == 0);
  sample_otlp_free(req);
}

/* A raw batch as the receiver makes it from `bytes`. */
static component_metrics *raw_batch(const wire_buf *bytes) {
  wire_err err = {0};
  component_metrics *m = metrics_receive(bytes->data, bytes->len, 0, 0, &err);
  CHECK_MSG(m != NULL, "receive: %s", err.msg);
  CHECK(m && metrics_has_raw(m));
  return m;
}

/* A decoded batch (no raw form), as one a processor changed or one received as JSON. */
static component_metrics *decoded_batch(const wire_buf *bytes) {
  component_metrics *m = metrics_decode(bytes->data, bytes->len, 0, 0, NULL);
  CHECK(m && !metrics_has_raw(m));
  return m;
}

/* Every data point of a request in order, as "metric-name|packed point bytes in hex" lines. */
static void flatten(const otlp_request *req, wire_buf *out) {
  for (size_t r = 0; req && r < req->n_resource_metrics; r++)
    for (size_t s = 0; s < req->resource_metrics[r]->n_scope_metrics; s++) {
      const otlp_scope_metrics *sm = req->resource_metrics[r]->scope_metrics[s];
      for (size_t i = 0; i < sm->n_metrics; i++) {
        const otlp_metric *m = sm->metrics[i];
        size_t n = 0;
        ProtobufCMessage **pts = NULL;
        switch (m->data_case) {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
          n = m->gauge->n_data_points, pts = (ProtobufCMessage **)m->gauge->data_points;
          break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
          n = m->sum->n_data_points, pts = (ProtobufCMessage **)m->sum->data_points;
          break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
          n = m->histogram->n_data_points, pts = (ProtobufCMessage **)m->histogram->data_points;
          break;
        default: break;
        }
        for (size_t p = 0; p < n; p++) {
          uint8_t buf[4096];
          size_t len = protobuf_c_message_pack(pts[p], buf);
          wire_buf_printf(out, NULL, "%s|", m->name);
          for (size_t k = 0; k < len; k++) wire_buf_printf(out, NULL, "%02x", buf[k]);
          wire_buf_append_str(out, "\n", NULL);
        }
      }
    }
}

static void flatten_bytes(const wire_buf *bytes, wire_buf *out) {
  otlp_request *r = wire_otlp_decode_request(bytes->data, bytes->len, 0, NULL, NULL);
  CHECK(r != NULL);
  flatten(r, out);
  wire_otlp_request_free(r, NULL);
}

/* The outputs' points, in order, flattened; checks each output's point count against its decode. */
static void flatten_outputs(wire_buf *out, size_t max) {
  for (size_t i = 0; i < nouts; i++) {
    otlp_request *r = metrics_request(outs[i], NULL);
    CHECK(r != NULL);
    CHECK_MSG(outs[i]->points == (r ? wire_otlp_count_points(r) : 0), "output %zu: points %zu", i, outs[i]->points);
    if (max) CHECK_MSG(outs[i]->points <= max, "output %zu has %zu points", i, outs[i]->points);
    flatten(r, out);
  }
}

static bool same(const wire_buf *a, const wire_buf *b) {
  return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static void merge_concatenates_bytes(void) {
  fixture f;
  fx_init(&f, 30, 0);
  wire_buf in[3], want;
  wire_buf_init(&want, 0);
  for (int i = 0; i < 3; i++) {
    wire_buf_init(&in[i], 0);
    add_resource(&in[i], 2, 5);
    wire_buf_append(&want, in[i].data, in[i].len, NULL);
    CHECK(consume(&f, raw_batch(&in[i])) == 0);
  }
  CHECK_EQ(nouts, 1);
  if (nouts == 1) {
    component_metrics *o = outs[0];
    CHECK(metrics_has_raw(o));
    CHECK(o->req == NULL); /* nothing was decoded */
    CHECK_EQ(o->points, 30);
    CHECK_EQ(o->nraw, 3);
    wire_buf got;
    wire_buf_init(&got, 0);
    CHECK(metrics_raw_copy(o, &got, NULL) == 0);
    CHECK(same(&got, &want));
    wire_buf_free(&got);
    otlp_request *r = metrics_request(o, NULL);
    CHECK(r && r->n_resource_metrics == 3 && wire_otlp_count_points(r) == 30);
  }
  outs_reset();
  fx_shutdown(&f);
  for (int i = 0; i < 3; i++) wire_buf_free(&in[i]);
  wire_buf_free(&want);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void split_at_resource_boundaries(void) {
  fixture f;
  fx_init(&f, 12, 12);
  wire_buf in;
  wire_buf_init(&in, 0);
  for (int i = 0; i < 4; i++) add_resource(&in, 1, 5); /* 4 resource_metrics of 5 points */
  CHECK(consume(&f, raw_batch(&in)) == 0);
  CHECK_EQ(nouts, 1); /* 5 + 5 (a third would pass 12); 10 left, under the send size */
  fx_shutdown(&f);
  CHECK_EQ(nouts, 2);
  wire_buf got;
  wire_buf_init(&got, 0);
  for (size_t i = 0; i < nouts; i++) {
    CHECK(metrics_has_raw(outs[i]) && outs[i]->req == NULL);
    CHECK_EQ(outs[i]->points, 10);
    CHECK(metrics_raw_copy(outs[i], &got, NULL) == 0);
  }
  CHECK(same(&got, &in)); /* the outputs are the input cut in two */
  wire_buf fl, fw;
  wire_buf_init(&fl, 0);
  wire_buf_init(&fw, 0);
  flatten_outputs(&fl, 12);
  flatten_bytes(&in, &fw);
  CHECK(same(&fl, &fw));
  outs_reset();
  wire_buf_free(&fl);
  wire_buf_free(&fw);
  wire_buf_free(&got);
  wire_buf_free(&in);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void resource_over_max_is_split_inside(void) {
  fixture f;
  fx_init(&f, 4, 4);
  wire_buf in;
  wire_buf_init(&in, 0);
  add_resource(&in, 1, 3);  /* 3 points: goes out raw */
  add_resource(&in, 2, 5);  /* 10 points: over the maximum, decoded and split */
  add_resource(&in, 1, 2);  /* 2 points */
  component_metrics *m = raw_batch(&in);
  CHECK_EQ(m ? m->points : 0, 15);
  CHECK(consume(&f, m) == 0);
  fx_shutdown(&f);
  CHECK(nouts >= 4);
  if (nouts >= 1) CHECK(metrics_has_raw(outs[0]) && outs[0]->points == 3);
  size_t total = 0;
  for (size_t i = 0; i < nouts; i++) total += outs[i]->points;
  CHECK_EQ(total, 15);
  wire_buf fl, fw;
  wire_buf_init(&fl, 0);
  wire_buf_init(&fw, 0);
  flatten_outputs(&fl, 4);
  flatten_bytes(&in, &fw);
  CHECK(same(&fl, &fw));
  outs_reset();
  wire_buf_free(&fl);
  wire_buf_free(&fw);
  wire_buf_free(&in);
  CHECK_EQ(pipeline_batches_live(), 0);

  /* timeout 0 (no buffering): a raw input over the maximum is split the same way */
  fixture g;
  fx_init(&g, 0, 7);
  g.cfg.timeout = 0;
  wire_buf_init(&in, 0);
  for (int i = 0; i < 3; i++) add_resource(&in, 1, 4);
  CHECK(consume(&g, raw_batch(&in)) == 0);
  CHECK_EQ(nouts, 3);
  wire_buf got;
  wire_buf_init(&got, 0);
  for (size_t i = 0; i < nouts; i++) {
    CHECK(metrics_has_raw(outs[i]) && outs[i]->points == 4);
    CHECK(metrics_raw_copy(outs[i], &got, NULL) == 0);
  }
  CHECK(same(&got, &in));
  outs_reset();
  fx_shutdown(&g);
  wire_buf_free(&got);
  wire_buf_free(&in);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void mixed_raw_and_decoded(void) {
  fixture f;
  fx_init(&f, 1000, 0);
  wire_buf in[4], all;
  wire_buf_init(&all, 0);
  for (int i = 0; i < 4; i++) {
    wire_buf_init(&in[i], 0);
    add_resource(&in[i], 2, (size_t)(i + 1));
    wire_buf_append(&all, in[i].data, in[i].len, NULL);
    CHECK(consume(&f, i == 2 ? decoded_batch(&in[i]) : raw_batch(&in[i])) == 0);
  }
  fx_shutdown(&f);
  /* raw (inputs 0 and 1 concatenated), decoded (input 2), raw (input 3) */
  CHECK_EQ(nouts, 3);
  if (nouts == 3) {
    CHECK(metrics_has_raw(outs[0]) && outs[0]->points == 6 && outs[0]->nraw == 2);
    CHECK(!metrics_has_raw(outs[1]) && outs[1]->points == 6);
    CHECK(metrics_has_raw(outs[2]) && outs[2]->points == 8);
  }
  wire_buf fl, fw;
  wire_buf_init(&fl, 0);
  wire_buf_init(&fw, 0);
  flatten_outputs(&fl, 0);
  flatten_bytes(&all, &fw);
  CHECK(same(&fl, &fw));
  outs_reset();
  wire_buf_free(&fl);
  wire_buf_free(&fw);
  for (int i = 0; i < 4; i++) wire_buf_free(&in[i]);
  wire_buf_free(&all);
  CHECK_EQ(pipeline_batches_live(), 0);
}

int main(void) {
  RUN(merge_concatenates_bytes);
  RUN(split_at_resource_boundaries);
  RUN(resource_over_max_is_split_inside);
  RUN(mixed_raw_and_decoded);
  return test_finish();
}
