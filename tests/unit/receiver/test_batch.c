/* test_batch.c — the batch processor on its own (a small host and a capturing next consumer on a real libuv
 * loop): sends at send_batch_size, splits at send_batch_max_size down to data points with nothing lost,
 * duplicated or reordered, flushes on timeout and on shutdown, passes through with timeout 0, keeps one
 * batcher per metadata_keys value, and makes split outputs copy-on-write. */
#include <stdarg.h>

#include "batch_fixture.h"
#include "wire/clock.h"

/* A batch decoded from a sample request (as a receiver would make it). */
static component_metrics *make_batch(size_t metrics, size_t points) {
  otlp_request *req = sample_otlp_parametric(metrics, points, 2);
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_otlp_encode_request(req, &b, NULL);
  sample_otlp_free(req);
  component_metrics *m = metrics_decode(b.data, b.len, 0, 0, NULL);
  wire_buf_free(&b);
  return m;
}

/* flatten() as a NUL-terminated string (malloc'd). */
static char *flatten_str(const otlp_request *req) {
  wire_buf out;
  wire_buf_init(&out, 0);
  flatten(req, &out);
  wire_buf_append(&out, "", 1, NULL);
  return (char *)out.data;
}

static void sends_at_batch_size(void) {
  fixture f;
  fx_init(&f, 3600000, 30, 0);
  CHECK(consume(&f, make_batch(2, 5)) == 0);
  CHECK(consume(&f, make_batch(2, 5)) == 0);
  CHECK_EQ(nouts, 0);
  CHECK(consume(&f, make_batch(2, 5)) == 0);
  CHECK_EQ(nouts, 1);
  if (nouts == 1) {
    CHECK_EQ(outs[0]->points, 30);
    CHECK_EQ(outs[0]->req->n_resource_metrics, 3);
    CHECK_EQ(wire_otlp_count_points(outs[0]->req), 30);
    /* the merged batch encodes and decodes like any other */
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK(wire_otlp_encode_request(outs[0]->req, &b, NULL) == 0);
    otlp_request *back = wire_otlp_decode_request(b.data, b.len, 0, NULL, NULL);
    CHECK(back && wire_otlp_count_points(back) == 30);
    wire_otlp_request_free(back, NULL);
    wire_buf_free(&b);
  }
  /* One batch at or above the size goes out as it is. */
  component_metrics *big = make_batch(4, 10);
  CHECK(consume(&f, metrics_ref(big)) == 0);
  CHECK_EQ(nouts, 2);
  CHECK(nouts == 2 && outs[1] == big);
  metrics_unref(big);
  outs_reset();
  fx_shutdown(&f);
  CHECK_EQ(nouts, 0);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void splits_at_max_size_without_loss(void) {
  fixture f;
  fx_init(&f, 3600000, 10, 10);
  /* 5 metrics x 5 points, then 2 x 3: 31 points in all */
  component_metrics *a = make_batch(5, 5), *b = make_batch(2, 3);
  char *want_a = flatten_str(a->req), *want_b = flatten_str(b->req);
  CHECK(consume(&f, a) == 0);
  CHECK_EQ(nouts, 2); /* 10 + 10, 5 left */
  CHECK(consume(&f, b) == 0);
  CHECK_EQ(nouts, 3); /* 5 + 5 of b, 1 left */
  fx_shutdown(&f);
  CHECK_EQ(nouts, 4);
  size_t want_sizes[] = {10, 10, 10, 1};
  wire_buf all;
  wire_buf_init(&all, 0);
  for (size_t i = 0; i < nouts && i < 4; i++) {
    CHECK_EQ(outs[i]->points, want_sizes[i]);
    CHECK_EQ(wire_otlp_count_points(outs[i]->req), want_sizes[i]);
    char *s = flatten_str(outs[i]->req);
    wire_buf_append_str(&all, s, NULL);
    free(s);
  }
  wire_buf_append(&all, "", 1, NULL);
  size_t la = strlen(want_a);
  CHECK(all.len == la + strlen(want_b) + 1);
  CHECK(!strncmp((const char *)all.data, want_a, la));
  CHECK_STR((const char *)all.data + la, want_b);
  /* Outputs that share an input are not exclusive: a mutating consumer gets a copy. */
  component_metrics *w = metrics_make_writable(metrics_ref(outs[2]), NULL);
  CHECK(w != NULL && w != outs[2]); /* outs[2] holds a, which outs[0..1] hold too */
  if (w) {
    CHECK_EQ(w->points, 10);
    CHECK(metrics_exclusive(w));
    metrics_unref(w);
  }
  free(want_a);
  free(want_b);
  wire_buf_free(&all);
  outs_reset();
  CHECK_EQ(pipeline_batches_live(), 0);
  CHECK_EQ(pipeline_bytes_in_use(), 0);
}

static void flushes_on_timeout(void) {
  fixture f;
  fx_init(&f, 20, 100000, 0);
  CHECK(consume(&f, make_batch(1, 3)) == 0);
  CHECK(consume(&f, make_batch(1, 4)) == 0);
  CHECK_EQ(nouts, 0);
  int64_t deadline = wire_now_ns() + 5000000000LL;
  while (nouts == 0 && wire_now_ns() < deadline) uv_run(&f.loop, UV_RUN_ONCE);
  CHECK_EQ(nouts, 1);
  CHECK(nouts == 1 && outs[0]->points == 7);
  /* and again for the next batch */
  CHECK(consume(&f, make_batch(1, 2)) == 0);
  while (nouts == 1 && wire_now_ns() < deadline) uv_run(&f.loop, UV_RUN_ONCE);
  CHECK_EQ(nouts, 2);
  outs_reset();
  fx_shutdown(&f);
  CHECK_EQ(nouts, 0);
}

static void timeout_zero_passes_through_and_splits(void) {
  fixture f;
  fx_init(&f, 0, 8192, 4);
  component_metrics *m = make_batch(1, 3);
  CHECK(consume(&f, metrics_ref(m)) == 0);
  CHECK(nouts == 1 && outs[0] == m);
  metrics_unref(m);
  CHECK(consume(&f, make_batch(1, 9)) == 0);
  CHECK_EQ(nouts, 4); /* 3, then 4 + 4 + 1 */
  /* a refusal downstream comes back when nothing is buffered */
  refuse_next = true;
  CHECK(consume(&f, make_batch(1, 2)) < 0);
  refuse_next = false;
  outs_reset();
  fx_shutdown(&f);
}

static void one_batcher_per_metadata_value(void) {
  fixture f;
  memset(&f, 0, sizeof f);
  char *keys[] = {"x-tenant"};
  uv_loop_init(&f.loop);
  f.host = (component_host){.loop = &f.loop, .log = h_log, .log_enabled = h_log_enabled, .hold = h_hold,
                            .release = h_release};
  f.cfg = (batch_config){.timeout = 3600000000000LL, .send_batch_size = 10, .metadata_keys = {keys, 1},
                         .metadata_cardinality_limit = 2};
  component_create_args a = {.id = "batch", .kind = COMPONENT_PROCESSOR, .config = &f.cfg, .host = &f.host,
                             .next = {.consume_metrics = next_consume}};
  CHECK(batch_processor_hooks.create(&a, &f.state, NULL) == 0);
  CHECK(batch_processor_hooks.start(f.state, NULL) == 0);
  const char *tenants[] = {"a", "b", "a", "b", "c"};
  for (int i = 0; i < 5; i++) {
    component_metrics *m = make_batch(1, 5);
    m->metadata = calloc(1, sizeof *m->metadata);
    wire_headers_init(m->metadata, 0, 0);
    wire_headers_add_cstr(m->metadata, "x-tenant", tenants[i], NULL);
    wire_headers_add_cstr(m->metadata, "authorization", "Bearer t", NULL);
    int rc = consume(&f, m);
    CHECK_EQ(rc, i == 4 ? -1 : 0); /* a third tenant is over the cardinality limit */
  }
  CHECK_EQ(nouts, 2);
  for (size_t i = 0; i < nouts; i++) {
    CHECK_EQ(outs[i]->points, 10);
    CHECK(outs[i]->metadata != NULL);
    if (outs[i]->metadata) {
      CHECK_STR(wire_headers_get(outs[i]->metadata, "x-tenant"), i == 0 ? "a" : "b");
      CHECK(wire_headers_get(outs[i]->metadata, "authorization") == NULL);
    }
  }
  outs_reset();
  fx_shutdown(&f);
}

int main(void) {
  RUN(sends_at_batch_size);
  RUN(splits_at_max_size_without_loss);
  RUN(flushes_on_timeout);
  RUN(timeout_zero_passes_through_and_splits);
  RUN(one_batcher_per_metadata_value);
  return test_finish();
}
