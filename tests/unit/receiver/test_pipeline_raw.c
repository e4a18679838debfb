/* test_pipeline_raw.c — batches that keep the serialized request (the raw form, receiver/pipeline.h):
 * metrics_receive keeps a clean request's bytes unchanged and undecoded, with the walk's point count (taking
 * the server's body buffer instead of copying it, with metrics_receive_body); anything
 * the semantic checks would change (bad UTF-8, NUL, rejected metrics or points, repairs) and encodings where
 * protobuf-c's reading is not a plain concatenation (a oneof or singular message given twice) is decoded instead;
 * malformed input fails with exactly metrics_decode's errors; a random-mutation property check of all that;
 * concatenated raw batches decode to the union; the lazy decode is shared by threads; copy on write and
 * metrics_update drop the raw form; memory accounting returns to zero. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/pipeline.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/pbwrite.h"

static void encode(const otlp_request *req, wire_buf *out) {
  wire_buf_init(out, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_request(req, out, &err), 0);
}

/* The bytes of a batch's raw form, gathered. */
static void raw_bytes(const component_metrics *m, wire_buf *out) {
  wire_buf_init(out, 0);
  wire_err err;
  CHECK_EQ(metrics_raw_copy(m, out, &err), 0);
}

static bool same_bytes(const wire_buf *a, const wire_buf *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void test_clean_request_kept_raw(void) {
  size_t base = pipeline_bytes_in_use();
  otlp_request *samples[2] = {sample_otlp_full(), sample_otlp_parametric(100, 10, 4)};
  uint64_t want_points[2] = {SAMPLE_FULL_POINTS, 1000};
  for (int i = 0; i < 2; i++) {
    wire_buf in;
    encode(samples[i], &in);
    wire_err err = {0};
    component_metrics *m = metrics_receive(in.data, in.len, 0, 0, &err);
    CHECK_MSG(m != NULL, "receive: %s", err.msg);
    if (!m) continue;
    CHECK(m->req == NULL); /* nothing decoded */
    CHECK(metrics_has_raw(m));
    CHECK_EQ(m->points, want_points[i]);
    CHECK(pipeline_bytes_in_use() >= base + in.len); /* the kept copy is accounted */
    const struct iovec *parts;
    size_t n;
    CHECK_EQ(metrics_raw(m, &parts, &n), in.len);
    CHECK_EQ(n, 1);
    CHECK(parts[0].iov_base != in.data); /* a copy: the server's buffer goes away */
    wire_buf raw;
    raw_bytes(m, &raw);
    CHECK(same_bytes(&raw, &in));
    /* the lazy decode gives what metrics_decode gives */
    otlp_request *r = metrics_request(m, &err);
    CHECK(r != NULL);
    CHECK(r == metrics_request(m, &err)); /* once */
    CHECK_EQ(r ? wire_otlp_count_points(r) : 0, want_points[i]);
    wire_buf again;
    if (r) encode(r, &again);
    if (r) CHECK(same_bytes(&again, &in));
    CHECK(metrics_has_raw(m)); /* reading does not drop the raw form */
    if (r) wire_buf_free(&again);
    wire_buf_free(&raw);
    wire_buf_free(&in);
    metrics_unref(m);
    sample_otlp_free(samples[i]);
  }
  CHECK_EQ(pipeline_bytes_in_use(), base);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void test_receive_takes_the_body(void) {
  otlp_request *r = sample_otlp_parametric(10, 3, 2);
  wire_buf msg;
  encode(r, &msg);
  sample_otlp_free(r);
  /* a gRPC-like body: 5 bytes of framing, then the message; grown larger than needed */
  wire_buf body;
  wire_buf_init(&body, 0);
  wire_buf_append(&body, "\0\0\0\0\0", 5, NULL);
  wire_buf_append(&body, msg.data, msg.len, NULL);
  wire_buf_reserve(&body, 4 * msg.len, NULL);
  wire_err err = {0};
  component_metrics *m = metrics_receive_body(&body, body.data + 5, msg.len, 0, 0, &err);
  CHECK(m != NULL && metrics_has_raw(m));
  CHECK(body.data == NULL && body.len == 0); /* taken, not copied */
  if (m) {
    wire_buf raw;
    raw_bytes(m, &raw);
    CHECK(same_bytes(&raw, &msg));
    CHECK(m->raw_own_len <= msg.len + 5 + (msg.len + 5) / 8); /* the slack was given back */
    CHECK_EQ(m->points, 30);
    wire_buf_free(&raw);
  }
  metrics_unref(m);
  /* not clean: decoded, the body stays with its owner */
  r = sample_otlp_full();
  r->resource_metrics[0]->scope_metrics[0]->metrics[0]->name[0] = (char)0xFE;
  wire_buf bad;
  encode(r, &bad);
  sample_otlp_free(r);
  m = metrics_receive_body(&bad, bad.data, bad.len, 0, 0, &err);
  CHECK(m != NULL && !metrics_has_raw(m) && m->req != NULL);
  CHECK(bad.data != NULL);
  metrics_unref(m);
  wire_buf_free(&bad);
  wire_buf_free(&body);
  wire_buf_free(&msg);
  CHECK_EQ(pipeline_bytes_in_use(), 0);
}

/* ---- requests the checks would change ---- */

/* Runs the receiver's two paths on `in` and checks that they agree: the raw path declines (decodes) exactly when
 * the check pass finds something, and the points match. Returns whether the raw form was kept. */
static bool receive_agrees(const uint8_t *data, size_t len, const char *what) {
  wire_err e1 = {0}, e2 = {0};
  component_metrics *a = metrics_receive(data, len, 0, 0, &e1);
  component_metrics *b = metrics_decode(data, len, 0, 0, &e2);
  CHECK_MSG((a == NULL) == (b == NULL), "%s: receive %s, decode %s", what, a ? "ok" : e1.msg, b ? "ok" : e2.msg);
  bool raw = false;
  if (!a && !b) {
    CHECK_EQ(e1.code, e2.code);
    CHECK_STR(e1.msg, e2.msg);
  }
  if (a && b) {
    wire_otlp_check_report rep;
    wire_otlp_check_request(b->req, &b->arena, WIRE_OTLP_FIX_UTF8, &rep);
    raw = metrics_has_raw(a);
    if (raw) {
      CHECK_MSG(rep.problems == 0, "%s: kept raw although the check finds: %s", what, rep.message);
      CHECK_MSG(a->points == wire_otlp_count_points(b->req), "%s: walk counted %zu points, decode %llu", what,
                a->points, (unsigned long long)wire_otlp_count_points(b->req));
      CHECK(a->req == NULL);
    } else if (len == 0) { /* an empty request: nothing kept, nothing decoded */
      CHECK(a->req == NULL && a->points == 0);
    } else {
      CHECK(a->req != NULL);
      if (a->req) CHECK_EQ(a->points, wire_otlp_count_points(a->req));
    }
  }
  metrics_unref(a);
  metrics_unref(b);
  return raw;
}

static bool receive_agrees_req(otlp_request *req, const char *what) {
  wire_buf in;
  encode(req, &in);
  bool raw = receive_agrees(in.data, in.len, what);
  wire_buf_free(&in);
  sample_otlp_free(req);
  return raw;
}

static otlp_metric *metric_at(otlp_request *r, size_t i) {
  return r->resource_metrics[0]->scope_metrics[0]->metrics[i];
}

static void test_unclean_requests_decoded(void) {
  otlp_request *r;
  CHECK(receive_agrees_req(sample_otlp_full(), "clean"));

  r = sample_otlp_full();
  metric_at(r, 0)->name[1] = (char)0xC3; /* "r\xC3quests": a lone lead byte */
  CHECK(!receive_agrees_req(r, "bad UTF-8 in a name"));

  r = sample_otlp_full();
  r->resource_metrics[0]->resource->attributes[0]->value->string_value[0] = (char)0xFF;
  CHECK(!receive_agrees_req(r, "bad UTF-8 in a resource attribute"));

  r = sample_otlp_full();
  metric_at(r, 0)->sum->aggregation_temporality = 0;
  CHECK(!receive_agrees_req(r, "unspecified temporality"));

  r = sample_otlp_full();
  metric_at(r, 3)->histogram->data_points[0]->n_bucket_counts = 3;
  CHECK(!receive_agrees_req(r, "bucket count mismatch"));

  r = sample_otlp_full();
  metric_at(r, 3)->histogram->data_points[0]->explicit_bounds[2] = 0.001;
  CHECK(!receive_agrees_req(r, "bounds out of order"));

  r = sample_otlp_full();
  metric_at(r, 1)->sum->data_points[1]->flags = 0; /* the point without value loses its NO_RECORDED_VALUE flag */
  CHECK(!receive_agrees_req(r, "number point without value"));

  r = sample_otlp_full();
  metric_at(r, 0)->sum->data_points[0]->exemplars[0]->trace_id.len = 3;
  CHECK(!receive_agrees_req(r, "bad exemplar trace id"));

  r = sample_otlp_full();
  metric_at(r, 4)->exponential_histogram->data_points[0]->scale = 30;
  CHECK(!receive_agrees_req(r, "exponential scale out of range"));

  r = sample_otlp_full();
  metric_at(r, 4)->exponential_histogram->data_points[0]->positive->offset = INT32_MAX - 1;
  CHECK(!receive_agrees_req(r, "bucket offset overflow"));

  r = sample_otlp_full();
  metric_at(r, 5)->summary->data_points[0]->quantile_values[1]->quantile = 1.5;
  CHECK(!receive_agrees_req(r, "quantile out of range"));

  r = sample_otlp_full();
  metric_at(r, 2)->name[0] = 0;
  CHECK(!receive_agrees_req(r, "empty name"));

  r = sample_otlp_full();
  sample_otlp_add_metric(r, sample_otlp_metric_new("no.data", "1"));
  CHECK(!receive_agrees_req(r, "metric without data"));
}

/* Hand-made encodings protobuf-c does not produce. */
static void test_odd_encodings_decoded(void) {
  wire_buf b;
  pbw w;
  /* a oneof given twice: a gauge, then a sum (protobuf-c keeps only the sum) */
  wire_buf_init(&b, 0);
  pbw_init(&w, &b, NULL);
  pbw_mark rm = pbw_begin(&w, 1, 1), sm = pbw_begin(&w, 2, 1), met = pbw_begin(&w, 2, 1);
  pbw_string(&w, 1, "m");
  pbw_mark g = pbw_begin(&w, 5, 1), dp = pbw_begin(&w, 1, 1);
  pbw_double(&w, 4, 1.0);
  pbw_end(&w, dp);
  pbw_end(&w, g);
  pbw_mark s = pbw_begin(&w, 7, 1);
  pbw_varint(&w, 2, 2);
  pbw_end(&w, s);
  pbw_end(&w, met);
  pbw_end(&w, sm);
  pbw_end(&w, rm);
  CHECK(pbw_ok(&w));
  CHECK(!receive_agrees(b.data, b.len, "oneof twice"));
  wire_buf_free(&b);

  /* the same metric, clean, but with its fields out of order and an unknown field: kept raw, bytes as they are */
  wire_buf_init(&b, 0);
  pbw_init(&w, &b, NULL);
  rm = pbw_begin(&w, 1, 1);
  sm = pbw_begin(&w, 2, 1);
  met = pbw_begin(&w, 2, 1);
  s = pbw_begin(&w, 7, 1);
  dp = pbw_begin(&w, 1, 1);
  pbw_fixed64(&w, 6, 7);
  pbw_fixed64(&w, 3, 1);
  pbw_end(&w, dp);
  pbw_varint(&w, 2, 2);
  pbw_end(&w, s);
  pbw_varint(&w, 99, 5); /* unknown to Metric */
  pbw_string(&w, 1, "m");
  pbw_end(&w, met);
  pbw_end(&w, sm);
  pbw_end(&w, rm);
  CHECK(receive_agrees(b.data, b.len, "out of order"));
  wire_err err;
  component_metrics *m = metrics_receive(b.data, b.len, 0, 0, &err);
  CHECK(m && metrics_has_raw(m) && m->points == 1);
  if (m) {
    wire_buf raw;
    raw_bytes(m, &raw);
    CHECK(same_bytes(&raw, &b));
    wire_buf_free(&raw);
  }
  metrics_unref(m);
  wire_buf_free(&b);

  /* a string with a NUL inside (protobuf-c's C string would end there) */
  wire_buf_init(&b, 0);
  pbw_init(&w, &b, NULL);
  rm = pbw_begin(&w, 1, 1);
  sm = pbw_begin(&w, 2, 1);
  met = pbw_begin(&w, 2, 1);
  pbw_bytes(&w, 1, "a\0b", 3);
  g = pbw_begin(&w, 5, 1);
  dp = pbw_begin(&w, 1, 1);
  pbw_double(&w, 4, 1.0);
  pbw_end(&w, dp);
  pbw_end(&w, g);
  pbw_end(&w, met);
  pbw_end(&w, sm);
  pbw_end(&w, rm);
  CHECK(!receive_agrees(b.data, b.len, "NUL in a string"));
  wire_buf_free(&b);

  /* a resource given twice (protobuf-c merges them) */
  wire_buf_init(&b, 0);
  pbw_init(&w, &b, NULL);
  rm = pbw_begin(&w, 1, 1);
  pbw_mark res = pbw_begin(&w, 1, 1);
  pbw_end(&w, res);
  res = pbw_begin(&w, 1, 1);
  pbw_varint(&w, 2, 1);
  pbw_end(&w, res);
  pbw_end(&w, rm);
  CHECK(!receive_agrees(b.data, b.len, "resource twice"));
  wire_buf_free(&b);
}

static void test_errors_match_decode(void) {
  wire_buf in;
  otlp_request *r = sample_otlp_full();
  encode(r, &in);
  sample_otlp_free(r);
  /* truncated at every length from 0 to 200 and a few bytes short of the end */
  for (size_t n = 0; n < in.len; n += (n < 200 || n + 8 > in.len) ? 1 : 37) receive_agrees(in.data, n, "truncated");
  /* over the limit */
  wire_err e1 = {0}, e2 = {0};
  CHECK(metrics_receive(in.data, in.len, in.len - 1, 0, &e1) == NULL);
  CHECK(metrics_decode(in.data, in.len, in.len - 1, 0, &e2) == NULL);
  CHECK_EQ(e1.code, WIRE_E_LIMIT);
  CHECK_STR(e1.msg, e2.msg);
  /* nesting deeper than the limit: AnyValue arrays inside arrays */
  wire_buf deep;
  wire_buf_init(&deep, 0);
  pbw w;
  pbw_init(&w, &deep, NULL);
  pbw_mark marks[80];
  size_t nm = 0;
  marks[nm++] = pbw_begin(&w, 1, 2); /* resource_metrics */
  marks[nm++] = pbw_begin(&w, 1, 2); /* resource */
  marks[nm++] = pbw_begin(&w, 1, 2); /* attributes */
  marks[nm++] = pbw_begin(&w, 2, 2); /* value */
  for (int i = 0; i < 35; i++) {
    marks[nm++] = pbw_begin(&w, 5, 2); /* array_value */
    marks[nm++] = pbw_begin(&w, 1, 2); /* values */
  }
  while (nm) pbw_end(&w, marks[--nm]);
  CHECK(pbw_ok(&w));
  receive_agrees(deep.data, deep.len, "too deep");
  CHECK(metrics_receive(deep.data, deep.len, 0, 0, &e1) == NULL);
  CHECK_CONTAINS(e1.msg, "nests deeper");
  wire_buf_free(&deep);
  /* empty input: a valid, empty request with no points */
  component_metrics *m = metrics_receive(NULL, 0, 0, 0, &e1);
  CHECK(m != NULL);
  if (m) CHECK_EQ(m->points, 0);
  metrics_unref(m);
  wire_buf_free(&in);
}

/* Random mutations of small valid requests: whatever the bytes, the two paths agree (see receive_agrees). */
static void test_random_mutations_agree(void) {
  otlp_request *seeds[2] = {sample_otlp_full(), sample_otlp_parametric(4, 2, 2)};
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  size_t kept = 0, total = 0;
  for (int s = 0; s < 2; s++) {
    wire_buf in;
    encode(seeds[s], &in);
    uint8_t *buf = malloc(in.len);
    for (int iter = 0; iter < 4000; iter++) {
      memcpy(buf, in.data, in.len);
      int flips = 1 + (int)(rng % 3);
      for (int k = 0; k < flips; k++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t at = (size_t)(rng >> 8) % in.len;
        uint8_t how = (uint8_t)(rng >> 40);
        buf[at] = (how & 1) ? (uint8_t)(buf[at] ^ (1u << (how >> 5))) : (uint8_t)(how >> 1);
      }
      kept += receive_agrees(buf, in.len, "mutation");
      total++;
    }
    free(buf);
    wire_buf_free(&in);
    sample_otlp_free(seeds[s]);
  }
  CHECK(kept > 0 && kept < total); /* both paths were exercised */
  CHECK_EQ(pipeline_batches_live(), 0);
}

/* ---- merging and copy on write ---- */

static component_metrics *received(otlp_request *req, wire_buf *bytes) {
  encode(req, bytes);
  sample_otlp_free(req);
  wire_err err;
  component_metrics *m = metrics_receive(bytes->data, bytes->len, 0, 0, &err);
  CHECK(m != NULL && metrics_has_raw(m));
  return m;
}

static void test_concatenation_is_union(void) {
  wire_buf ba, bb;
  component_metrics *a = received(sample_otlp_full(), &ba);
  component_metrics *b = received(sample_otlp_parametric(8, 3, 2), &bb);
  if (!a || !b) return;
  component_metrics *c = metrics_new(0);
  wire_err err;
  CHECK_EQ(metrics_raw_append(c, a, 0, a->raw_len, &err), 0);
  CHECK_EQ(metrics_raw_append(c, b, 0, b->raw_len, &err), 0);
  c->points = a->points + b->points;
  CHECK_EQ(c->nraw, 2);
  CHECK_EQ(c->nheld, 2);
  metrics_unref(a); /* c holds them */
  metrics_unref(b);
  wire_buf raw, want;
  raw_bytes(c, &raw);
  wire_buf_init(&want, 0);
  wire_buf_append(&want, ba.data, ba.len, NULL);
  wire_buf_append(&want, bb.data, bb.len, NULL);
  CHECK(same_bytes(&raw, &want));
  otlp_request *r = metrics_request(c, &err);
  CHECK(r != NULL);
  if (r) {
    CHECK_EQ(r->n_resource_metrics, 2);
    CHECK_EQ(wire_otlp_count_points(r), SAMPLE_FULL_POINTS + 24);
    CHECK_STR(r->resource_metrics[0]->scope_metrics[0]->metrics[0]->name, "requests");
    CHECK_STR(r->resource_metrics[1]->scope_metrics[0]->metrics[0]->name, "metric.0");
    wire_buf again;
    encode(r, &again);
    CHECK(same_bytes(&again, &want));
    wire_buf_free(&again);
  }
  /* a range that is the second input alone, taken out of the merged batch */
  component_metrics *d = metrics_new(0);
  CHECK_EQ(metrics_raw_append(d, c, ba.len, bb.len, &err), 0);
  wire_buf draw;
  raw_bytes(d, &draw);
  CHECK(same_bytes(&draw, &bb));
  CHECK(metrics_raw_append(d, c, ba.len, bb.len + 1, &err) < 0); /* out of range */
  wire_buf_free(&draw);
  metrics_unref(d);
  metrics_unref(c);
  wire_buf_free(&raw);
  wire_buf_free(&want);
  wire_buf_free(&ba);
  wire_buf_free(&bb);
  CHECK_EQ(pipeline_batches_live(), 0);
  CHECK_EQ(pipeline_bytes_in_use(), 0);
}

typedef struct racer {
  component_metrics *m;
  pthread_barrier_t *go;
  otlp_request *got;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  pthread_barrier_wait(r->go);
  r->got = metrics_request(r->m, NULL);
  return NULL;
}

static void test_lazy_decode_threads(void) {
  for (int round = 0; round < 20; round++) {
    wire_buf bytes;
    component_metrics *m = received(sample_otlp_parametric(50, 4, 3), &bytes);
    if (!m) return;
    enum { N = 4 };
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    racer rs[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
      rs[i] = (racer){.m = metrics_ref(m), .go = &go};
      pthread_create(&t[i], NULL, race, &rs[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
      CHECK(rs[i].got != NULL && rs[i].got == rs[0].got);
      metrics_unref(rs[i].m);
    }
    CHECK_EQ(rs[0].got ? wire_otlp_count_points(rs[0].got) : 0, 200);
    pthread_barrier_destroy(&go);
    metrics_unref(m);
    wire_buf_free(&bytes);
  }
}

static void test_writable_drops_raw(void) {
  wire_buf bytes;
  wire_err err;
  /* exclusive: decoded in place, raw form gone, the kept copy no longer accounted */
  component_metrics *m = received(sample_otlp_full(), &bytes);
  if (!m) return;
  CHECK(metrics_exclusive(m));
  component_metrics *w = metrics_make_writable(m, &err);
  CHECK(w == m);
  CHECK(w->req != NULL && !metrics_has_raw(w));
  CHECK(w->raw_own == NULL && w->raw_own_len == 0); /* the kept copy is freed (and no longer accounted) */
  CHECK_EQ(w->points, SAMPLE_FULL_POINTS);
  metrics_unref(w);
  wire_buf_free(&bytes);

  /* shared: the writer gets a decoded copy, the other holder keeps the raw form */
  m = received(sample_otlp_full(), &bytes);
  metrics_ref(m);
  m->metadata = calloc(1, sizeof *m->metadata);
  wire_headers_init(m->metadata, 0, 0);
  wire_headers_add_cstr(m->metadata, "x-tenant", "a", NULL);
  CHECK(!metrics_exclusive(m));
  w = metrics_make_writable(m, &err);
  CHECK(w != NULL && w != m);
  if (w) {
    CHECK(w->req != NULL && !metrics_has_raw(w));
    CHECK_EQ(w->points, SAMPLE_FULL_POINTS);
    CHECK(w->metadata && !strcmp(wire_headers_get(w->metadata, "x-tenant"), "a"));
  }
  CHECK(metrics_has_raw(m));
  metrics_unref(w);

  /* a merged raw batch is exclusive with its own single reference, even if its sources are shared */
  component_metrics *c = metrics_new(0);
  CHECK_EQ(metrics_raw_append(c, m, 0, m->raw_len, &err), 0);
  c->points = m->points;
  CHECK(metrics_exclusive(c));
  /* metrics_update after a change drops the raw form and the held sources */
  otlp_request *r = metrics_request(c, &err);
  CHECK(r != NULL);
  if (r) r->resource_metrics[0]->scope_metrics[0]->n_metrics = 1; /* keep "requests" only: 2 points */
  metrics_update(c);
  CHECK(!metrics_has_raw(c));
  CHECK_EQ(c->nheld, 0);
  CHECK_EQ(c->points, 2);
  metrics_unref(c);
  CHECK(metrics_has_raw(m));
  metrics_unref(m);
  wire_buf_free(&bytes);
  CHECK_EQ(pipeline_batches_live(), 0);
  CHECK_EQ(pipeline_bytes_in_use(), 0);
}

int main(void) {
  RUN(test_clean_request_kept_raw);
  RUN(test_receive_takes_the_body);
  RUN(test_unclean_requests_decoded);
  RUN(test_odd_encodings_decoded);
  RUN(test_errors_match_decode);
  RUN(test_random_mutations_agree);
  RUN(test_concatenation_is_union);
  RUN(test_lazy_decode_threads);
  RUN(test_writable_drops_raw);
  return test_finish();
}
