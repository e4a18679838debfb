/* test_sending_queue.c — the exporters' bounded queue and retry loop (receiver/exporters/sending_queue.h) against
 * a scripted sender: bounded (a full queue refuses with WIRE_E_LIMIT and counts enqueue failures), parallel
 * consumers, retries with backoff and the server's delay, max_elapsed_time giving up, permanent failures,
 * draining on shutdown, and what is left when the drain deadline passes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "exporter_testhost.h"
#include "receiver/exporters/sending_queue.h"
#include "testlib.h"
#include "wire/clock.h"

#define MS 1000000LL

typedef struct script {
  /* per item id: how many attempts fail before one succeeds (-1: always fail) */
  int fail_first;
  sq_outcome fail_as;
  int64_t retry_after_ns;
  int attempt_sleep_ms;
  /* gate: attempts wait until `open` (bounded) */
  atomic_bool gate_closed;
  atomic_int in_attempt, max_in_attempt;
  atomic_int attempts[64];
  atomic_int fates[3];
  atomic_int finished;
  atomic_int prepared;
  int64_t first_attempt_ns[64], last_attempt_ns[64];
} script;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int s_prepare(void *ctx, void *w, sq_item *it, wire_err *err) {
  (void)w;
  (void)it;
  (void)err;
  script *s = ctx;
  atomic_fetch_add(&s->prepared, 1);
  return 0;
}

static void s_attempt(void *ctx, void *w, sq_item *it, int64_t deadline, sq_attempt *out) {
  (void)w;
  (void)deadline;
  script *s = ctx;
  int now_in = atomic_fetch_add(&s->in_attempt, 1) + 1;
  int m = atomic_load(&s->max_in_attempt);
  while (now_in > m && !atomic_compare_exchange_weak(&s->max_in_attempt, &m, now_in)) {
  }
  for (int i = 0; i < 5000 && atomic_load(&s->gate_closed); i++) sleep_ms(1);
  if (s->attempt_sleep_ms) sleep_ms(s->attempt_sleep_ms);
  size_t id = it->id % 64;
  int n = atomic_fetch_add(&s->attempts[id], 1);
  if (n == 0) s->first_attempt_ns[id] = wire_now_ns();
  s->last_attempt_ns[id] = wire_now_ns();
  if (s->fail_first < 0 || n < s->fail_first) {
    out->outcome = s->fail_as;
    out->retry_after_ns = s->retry_after_ns;
    snprintf(out->reason, sizeof out->reason, "scripted failure %d", n + 1);
  } else {
    out->outcome = SQ_SENT;
  }
  atomic_fetch_sub(&s->in_attempt, 1);
}

static void s_finish(void *ctx, void *w, sq_item *it, sq_fate fate) {
  (void)w;
  (void)it;
  script *s = ctx;
  atomic_fetch_add(&s->fates[fate], 1);
  atomic_fetch_add(&s->finished, 1);
}

static const sq_ops ops = {.prepare = s_prepare, .attempt = s_attempt, .finish = s_finish};

static sq_config base_config(uint64_t capacity, unsigned consumers) {
  sq_config c = {
      .id = "otlp/test",
      .host = th_reset(),
      .capacity = capacity,
      .num_consumers = consumers,
      .attempt_timeout_ns = 1000 * MS,
      .retry_enabled = true,
      .initial_interval_ns = 1 * MS,
      .max_interval_ns = 5 * MS,
      .max_elapsed_ns = 10000 * MS,
      .multiplier = 2,
      .randomization_factor = 0,
  };
  return c;
}

static bool wait_finished(script *s, int n) {
  for (int i = 0; i < 10000 && atomic_load(&s->finished) < n; i++) sleep_ms(1);
  return atomic_load(&s->finished) >= n;
}

static void test_bounded_full_refuses(void) {
  script s = {0};
  sq_config c = base_config(3, 1);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK(q != NULL);
  CHECK_EQ(th_gauge_value("otelcol_exporter_queue_capacity"), 3);
  for (uint64_t i = 0; i < 3; i++) {
    sq_item it = {.id = i, .points = 10};
    CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  }
  CHECK_EQ(sending_queue_size(q), 3);
  CHECK_EQ(th_gauge_value("otelcol_exporter_queue_size"), 3);
  sq_item extra = {.id = 3, .points = 7};
  CHECK_EQ(sending_queue_push(q, &extra, false, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "full");
  CHECK_EQ(th_counter("otelcol_exporter_enqueue_failed_metric_points"), 7);
  /* force (recovered items) goes past the capacity */
  CHECK_EQ(sending_queue_push(q, &extra, true, &err), 0);
  CHECK_EQ(sending_queue_size(q), 4);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  CHECK(wait_finished(&s, 4));
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_SENT]), 4);
  CHECK_EQ(atomic_load(&s.prepared), 4);
  CHECK_EQ(th_counter("otelcol_exporter_sent_metric_points"), 37);
  CHECK_EQ(sending_queue_shutdown(q, wire_now_ns() + 1000 * MS), 0);
  CHECK_EQ(th_gauge_value("otelcol_exporter_queue_size"), 0);
  sending_queue_free(q);
}

static void test_sizer_items(void) {
  script s = {0};
  sq_config c = base_config(100, 1);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  sq_item a = {.id = 1, .points = 60, .size = 60}, b = {.id = 2, .points = 50, .size = 50};
  CHECK_EQ(sending_queue_push(q, &a, false, &err), 0);
  CHECK_EQ(sending_queue_push(q, &b, false, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  b.size = b.points = 40;
  CHECK_EQ(sending_queue_push(q, &b, false, &err), 0);
  /* many small items make the ring grow */
  sending_queue_free(q); /* never started: both finished as unsent and counted as failed */
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_UNSENT]), 2);
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 100);
}

static void test_consumers_run_in_parallel(void) {
  script s = {0};
  atomic_store(&s.gate_closed, true);
  sq_config c = base_config(100, 4);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  for (uint64_t i = 0; i < 8; i++) {
    sq_item it = {.id = i, .points = 1};
    CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  }
  for (int i = 0; i < 5000 && atomic_load(&s.in_attempt) < 4; i++) sleep_ms(1);
  CHECK_EQ(atomic_load(&s.in_attempt), 4); /* four consumers, each blocked in one attempt */
  CHECK_EQ(sending_queue_pending(q), 8);
  atomic_store(&s.gate_closed, false);
  CHECK(wait_finished(&s, 8));
  CHECK_EQ(atomic_load(&s.max_in_attempt), 4);
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_SENT]), 8);
  sending_queue_free(q);
}

static void test_retry_then_success(void) {
  script s = {.fail_first = 3, .fail_as = SQ_RETRYABLE, .retry_after_ns = -1};
  sq_config c = base_config(10, 1);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  sq_item it = {.id = 5, .points = 9};
  CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  CHECK(wait_finished(&s, 1));
  CHECK_EQ(atomic_load(&s.attempts[5]), 4);
  CHECK_EQ(atomic_load(&s.prepared), 1); /* encoded once, sent four times */
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_SENT]), 1);
  CHECK_EQ(th_counter("otelcol_exporter_sent_metric_points"), 9);
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 0);
  /* delays 1 + 2 + 4 ms at least (randomization 0) */
  CHECK(s.last_attempt_ns[5] - s.first_attempt_ns[5] >= 7 * MS);
  CHECK(th_log_has("Will retry the request after interval"));
  sending_queue_free(q);
}

static void test_server_delay_is_respected(void) {
  script s = {.fail_first = 1, .fail_as = SQ_RETRYABLE, .retry_after_ns = 60 * MS};
  sq_config c = base_config(10, 1);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  sq_item it = {.id = 1, .points = 1};
  CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  CHECK(wait_finished(&s, 1));
  CHECK_EQ(atomic_load(&s.attempts[1]), 2);
  CHECK(s.last_attempt_ns[1] - s.first_attempt_ns[1] >= 60 * MS); /* a lower bound only */
  sending_queue_free(q);
}

static void test_max_elapsed_gives_up(void) {
  script s = {.fail_first = -1, .fail_as = SQ_RETRYABLE, .retry_after_ns = -1};
  sq_config c = base_config(10, 1);
  c.initial_interval_ns = 5 * MS;
  c.max_interval_ns = 10 * MS;
  c.max_elapsed_ns = 40 * MS;
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  sq_item it = {.id = 2, .points = 11};
  CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  CHECK(wait_finished(&s, 1));
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_FAILED]), 1);
  CHECK(atomic_load(&s.attempts[2]) >= 2);
  CHECK(atomic_load(&s.attempts[2]) <= 9); /* 40 ms of waits of at least 5 ms */
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 11);
  CHECK_EQ(th_counter("otelcol_exporter_sent_metric_points"), 0);
  CHECK(th_log_has("No more retries left"));
  sending_queue_free(q);
}

static void test_permanent_and_disabled_retry(void) {
  script s = {.fail_first = -1, .fail_as = SQ_PERMANENT, .retry_after_ns = -1};
  sq_config c = base_config(10, 1);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  sq_item it = {.id = 3, .points = 4};
  CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  CHECK(wait_finished(&s, 1));
  CHECK_EQ(atomic_load(&s.attempts[3]), 1);
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_FAILED]), 1);
  CHECK(th_log_has("not retryable"));
  sending_queue_free(q);

  script s2 = {.fail_first = -1, .fail_as = SQ_RETRYABLE, .retry_after_ns = -1};
  c = base_config(10, 1);
  c.retry_enabled = false;
  q = sending_queue_new(&c, &ops, &s2, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  CHECK(wait_finished(&s2, 1));
  CHECK_EQ(atomic_load(&s2.attempts[3]), 1);
  CHECK_EQ(atomic_load(&s2.fates[SQ_FATE_FAILED]), 1);
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 4);
  sending_queue_free(q);
}

static void test_backoff_growth(void) {
  sq_config c = base_config(1, 1);
  c.initial_interval_ns = 100 * MS;
  c.max_interval_ns = 1000 * MS;
  c.multiplier = 2;
  uint64_t rng = 42;
  CHECK_EQ(sending_queue_backoff_ns(&c, 1, &rng) / MS, 100);
  CHECK_EQ(sending_queue_backoff_ns(&c, 2, &rng) / MS, 200);
  CHECK_EQ(sending_queue_backoff_ns(&c, 4, &rng) / MS, 800);
  CHECK_EQ(sending_queue_backoff_ns(&c, 5, &rng) / MS, 1000); /* capped */
  CHECK_EQ(sending_queue_backoff_ns(&c, 50, &rng) / MS, 1000);
  c.randomization_factor = 0.5;
  bool differ = false;
  int64_t prev = -1;
  for (int i = 0; i < 200; i++) {
    int64_t d = sending_queue_backoff_ns(&c, 2, &rng);
    CHECK(d >= 100 * MS && d <= 300 * MS + 1);
    if (prev >= 0 && d != prev) differ = true;
    prev = d;
  }
  CHECK(differ); /* jitter */
}

static void test_drains_on_shutdown(void) {
  script s = {.attempt_sleep_ms = 2};
  sq_config c = base_config(50, 2);
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  for (uint64_t i = 0; i < 20; i++) {
    sq_item it = {.id = i, .points = 1};
    CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  }
  CHECK_EQ(sending_queue_shutdown(q, wire_now_ns() + 20000 * MS), 0);
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_SENT]), 20);
  sq_item late = {.id = 99, .points = 1};
  CHECK_EQ(sending_queue_push(q, &late, false, &err), -1);
  CHECK_EQ(err.code, WIRE_E_CLOSED);
  sending_queue_free(q);
}

static void test_shutdown_deadline_leaves_unsent(void) {
  script s = {.fail_first = -1, .fail_as = SQ_RETRYABLE, .retry_after_ns = -1};
  sq_config c = base_config(50, 1);
  c.initial_interval_ns = 60000 * MS; /* a long wait the shutdown must interrupt */
  c.max_interval_ns = 60000 * MS;
  c.max_elapsed_ns = 0;
  c.unsent_kept = true;
  wire_err err;
  sending_queue *q = sending_queue_new(&c, &ops, &s, &err);
  CHECK_EQ(sending_queue_start(q, &err), 0);
  for (uint64_t i = 0; i < 5; i++) {
    sq_item it = {.id = i, .points = 2};
    CHECK_EQ(sending_queue_push(q, &it, false, &err), 0);
  }
  for (int i = 0; i < 5000 && atomic_load(&s.attempts[0]) < 1; i++) sleep_ms(1);
  int64_t t0 = wire_now_ns();
  size_t left = sending_queue_shutdown(q, wire_now_ns() + 50 * MS);
  CHECK(wire_now_ns() - t0 < 30000 * MS); /* the 60 s backoff was interrupted */
  CHECK_EQ(left, 4);
  CHECK_EQ(atomic_load(&s.fates[SQ_FATE_UNSENT]), 5); /* the one in its retry wait too */
  CHECK_EQ(th_counter("otelcol_exporter_send_failed_metric_points"), 0); /* kept (persistent) */
  sending_queue_free(q);
}

int main(void) {
  th_host.quiet = getenv("VERBOSE") == NULL;
  RUN(test_bounded_full_refuses);
  RUN(test_sizer_items);
  RUN(test_consumers_run_in_parallel);
  RUN(test_retry_then_success);
  RUN(test_server_delay_is_respected);
  RUN(test_max_elapsed_gives_up);
  RUN(test_permanent_and_disabled_retry);
  RUN(test_backoff_growth);
  RUN(test_drains_on_shutdown);
  RUN(test_shutdown_deadline_leaves_unsent);
  return test_finish();
}
