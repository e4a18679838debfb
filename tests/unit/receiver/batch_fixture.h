/* batch_fixture.h — shared by the batch processor tests (test_batch*.c): the processor on its own, created
 * with a minimal host on a real libuv loop, its outputs captured by a next consumer (outs[0..nouts), which
 * refuses with WIRE_E_LIMIT while refuse_next is set), and flatten(), which lists a request's data points in
 * order so that tests can show nothing was lost, duplicated or reordered. Header-only (static functions). */
#ifndef OTELC_TESTS_BATCH_FIXTURE_H
#define OTELC_TESTS_BATCH_FIXTURE_H

#pragma GCC diagnostic ignored "-Wunused-function" /* each test uses a part */

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/batch.h"
#include "receiver/processors/batch.h"
#include "sample_otlp.h"
#include "testlib.h"

/* ---- a minimal host: holds counts hold() - release() ---- */

static int holds;
static void h_log(component_host *h, log_level l, const char *c, const char *m, ...) {
  (void)h, (void)l, (void)c, (void)m;
}
static bool h_log_enabled(component_host *h, log_level l) { return (void)h, (void)l, false; }
static void h_hold(component_host *h) { (void)h, holds++; }
static void h_release(component_host *h) { (void)h, holds--; }

/* ---- the next consumer ---- */

#define OUT_MAX 64
static component_metrics *outs[OUT_MAX];
static size_t nouts;
static bool refuse_next;

static int next_consume(void *ctx, component_metrics *m, wire_err *err) {
  (void)ctx;
  if (refuse_next) {
    metrics_unref(m);
    return wire_err_set(err, WIRE_E_LIMIT, "full");
  }
  if (nouts < OUT_MAX)
    outs[nouts++] = m;
  else
    metrics_unref(m);
  return 0;
}

/* Drops the captured outputs. */
static void outs_reset(void) {
  for (size_t i = 0; i < nouts; i++) metrics_unref(outs[i]);
  nouts = 0;
}

/* ---- the processor ---- */

typedef struct fixture {
  uv_loop_t loop;
  component_host host;
  batch_config cfg;
  void *state;
} fixture;

/* Creates and starts a batch processor with timeout (ms), send_batch_size and send_batch_max_size. */
static void fx_init(fixture *f, int64_t timeout_ms, int64_t size, int64_t max) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  f->host = (component_host){.loop = &f->loop, .log = h_log, .log_enabled = h_log_enabled, .hold = h_hold,
                             .release = h_release};
  f->cfg.timeout = timeout_ms * 1000000;
  f->cfg.send_batch_size = size;
  f->cfg.send_batch_max_size = max;
  f->cfg.metadata_cardinality_limit = 1000;
  component_create_args a = {.id = "batch", .kind = COMPONENT_PROCESSOR, .config = &f->cfg, .host = &f->host,
                             .next = {.consume_metrics = next_consume}};
  wire_err err = {0};
  CHECK(batch_processor_hooks.create(&a, &f->state, &err) == 0);
  CHECK(batch_processor_hooks.start(f->state, &err) == 0);
}

/* Shuts the processor down (flushing), runs the loop until its timer is closed, checks that every hold was
 * released, and frees it. */
static void fx_shutdown(fixture *f) {
  wire_err err = {0};
  CHECK(batch_processor_hooks.shutdown(f->state, &err) == 0);
  uv_run(&f->loop, UV_RUN_DEFAULT); /* timer close */
  CHECK_EQ(holds, 0);
  batch_processor_hooks.destroy(f->state);
  CHECK_EQ(uv_loop_close(&f->loop), 0);
}

/* Hands m to the processor; its return code. */
static int consume(fixture *f, component_metrics *m) {
  wire_err err = {0};
  return batch_processor_hooks.consume_metrics(f->state, m, &err);
}

/* Appends every data point of a request (none for NULL) in order to out, as "metric-name|packed point bytes in
 * hex" lines. */
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

#endif
