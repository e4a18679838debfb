/* test_batch_raw.c — the batch processor on batches that still have their raw form (pipeline.h): merging
 * concatenates the inputs' bytes (no decode), splitting at send_batch_max_size cuts between resource_metrics
 * (outputs are byte ranges of the input, in order), a resource_metrics alone over the maximum is decoded and
 * split inside, and a queue mixing raw and decoded inputs loses, duplicates and reorders nothing. */
#include "batch_fixture.h"

/* Appends the encoding of one resource_metrics of `metrics` x `points` points to `out`: concatenated, they make
 * one request with several resource_metrics. */
static void add_resource(wire_buf *out, size_t metrics, size_t points) {
  otlp_request *req = sample_otlp_parametric(metrics, points, 2);
  CHECK(wire_otlp_encode_request(req, out, NULL) == 0);
  sample_otlp_free(req);
}

#define HOUR_MS 3600000 /* a batch timeout that never fires in a test */

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

/* The outputs' points, flattened in order, are the input's (nothing lost, duplicated or reordered), and each
 * output holds at most max points (0: no maximum). */
static void check_outputs_are_input(const wire_buf *in, size_t max) {
  wire_buf fl, fw;
  wire_buf_init(&fl, 0);
  wire_buf_init(&fw, 0);
  flatten_outputs(&fl, max);
  flatten_bytes(in, &fw);
  CHECK(same(&fl, &fw));
  wire_buf_free(&fl);
  wire_buf_free(&fw);
}

static void merge_concatenates_bytes(void) {
  fixture f;
  fx_init(&f, HOUR_MS, 30, 0);
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
  fx_init(&f, HOUR_MS, 12, 12);
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
  check_outputs_are_input(&in, 12);
  outs_reset();
  wire_buf_free(&got);
  wire_buf_free(&in);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void resource_over_max_is_split_inside(void) {
  fixture f;
  fx_init(&f, HOUR_MS, 4, 4);
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
  check_outputs_are_input(&in, 4);
  outs_reset();
  wire_buf_free(&in);
  CHECK_EQ(pipeline_batches_live(), 0);

  /* timeout 0 (no buffering): a raw input over the maximum is split the same way */
  fixture g;
  fx_init(&g, HOUR_MS, 0, 7);
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
  fx_init(&f, HOUR_MS, 1000, 0);
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
  check_outputs_are_input(&all, 0);
  outs_reset();
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
