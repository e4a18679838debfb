/* test_memory_limiter.c — the memory_limiter processor with a simulated RSS: data passes below the soft limit,
 * is refused (retryably, WIRE_E_LIMIT) above it after a check, is refused at once when batches held by the
 * pipelines push usage over between two checks, passes again when memory falls; state changes are logged once;
 * limits from percentages of the total memory. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/memory_limiter.h"
#include "receiver/processors/memory_limiter.h"
#include "testlib.h"
#include "wire/clock.h"

#define MIB (1024u * 1024u)

static size_t fake_rss;
static size_t read_fake_rss(void) { return fake_rss; }

static int refusing_logs, resuming_logs, holds;
static void h_log(component_host *h, log_level l, const char *c, const char *m, ...) {
  (void)h, (void)l, (void)c;
  if (strstr(m, "Refusing")) refusing_logs++;
  if (strstr(m, "Resuming")) resuming_logs++;
}
static bool h_log_enabled(component_host *h, log_level l) { return (void)h, (void)l, false; }
static void h_hold(component_host *h) { (void)h, holds++; }
static void h_release(component_host *h) { (void)h, holds--; }

static size_t passed;
static int next_consume(void *ctx, component_metrics *m, wire_err *err) {
  (void)ctx, (void)err;
  passed++;
  metrics_unref(m);
  return 0;
}

typedef struct fixture {
  uv_loop_t loop;
  component_host host;
  memory_limiter_config cfg;
  void *state;
} fixture;

static int fx_init(fixture *f, const memory_limiter_config *cfg, wire_err *err) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  f->host = (component_host){.loop = &f->loop, .log = h_log, .log_enabled = h_log_enabled, .hold = h_hold,
                             .release = h_release};
  f->cfg = *cfg;
  component_create_args a = {.id = "memory_limiter", .kind = COMPONENT_PROCESSOR, .config = &f->cfg,
                             .host = &f->host, .next = {.consume_metrics = next_consume}};
  if (memory_limiter_processor_hooks.create(&a, &f->state, err) < 0) return -1;
  return memory_limiter_processor_hooks.start(f->state, err);
}

static void fx_shutdown(fixture *f) {
  memory_limiter_processor_hooks.shutdown(f->state, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  CHECK_EQ(holds, 0);
  memory_limiter_processor_hooks.destroy(f->state);
  CHECK_EQ(uv_loop_close(&f->loop), 0);
}

/* Runs the loop until the check timer fired at least once more. */
static void wait_check(fixture *f) {
  int64_t until = wire_now_ns() + 30 * 1000000LL; /* > check_interval (10ms) */
  while (wire_now_ns() < until) uv_run(&f->loop, UV_RUN_ONCE);
}

static int consume_one(fixture *f, wire_err *err) {
  component_metrics *m = metrics_new(0);
  return memory_limiter_processor_hooks.consume_metrics(f->state, m, err);
}

static void refuses_above_soft_limit_and_recovers(void) {
  memory_limiter_set_rss_reader(read_fake_rss);
  fake_rss = 10 * MIB;
  fixture f;
  memory_limiter_config cfg = {.check_interval = 10 * 1000000LL, .limit = 100 * MIB, .spike_limit = 20 * MIB};
  wire_err err = {0};
  CHECK_MSG(fx_init(&f, &cfg, &err) == 0, "%s", err.msg);
  passed = 0;
  CHECK(consume_one(&f, &err) == 0);
  CHECK_EQ(passed, 1);

  fake_rss = 90 * MIB; /* over the soft limit (80) */
  wait_check(&f);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(consume_one(&f, &err), -1);
    CHECK_EQ(err.code, WIRE_E_LIMIT);
  }
  CHECK_EQ(passed, 1);
  CHECK_EQ(refusing_logs, 1);

  fake_rss = 30 * MIB;
  wait_check(&f);
  CHECK(consume_one(&f, &err) == 0);
  CHECK_EQ(passed, 2);
  CHECK_EQ(resuming_logs, 1);

  /* Between two checks, batches held in the pipelines count at once. */
  fake_rss = 70 * MIB;
  wait_check(&f);
  component_metrics *held = metrics_new(0);
  CHECK(otlp_arena_alloc(&held->arena, 15 * MIB) != NULL);
  metrics_update(held);
  CHECK_EQ(consume_one(&f, &err), -1);
  metrics_unref(held);
  CHECK(consume_one(&f, &err) == 0);
  CHECK_EQ(passed, 3);
  fx_shutdown(&f);
  memory_limiter_set_rss_reader(NULL);
}

static void limits_from_percentages(void) {
  size_t total = memory_limiter_total_memory();
  CHECK(total > 0);
  fixture f;
  memory_limiter_config cfg = {.check_interval = 10 * 1000000LL, .limit_percentage = 50,
                               .spike_limit_percentage = 10};
  wire_err err = {0};
  CHECK_MSG(fx_init(&f, &cfg, &err) == 0, "%s", err.msg);
  passed = 0;
  memory_limiter_set_rss_reader(read_fake_rss);
  fake_rss = total / 100 * 45; /* above 40% */
  wait_check(&f);
  CHECK_EQ(consume_one(&f, &err), -1);
  fake_rss = total / 100 * 20;
  wait_check(&f);
  CHECK(consume_one(&f, &err) == 0);
  fx_shutdown(&f);
  memory_limiter_set_rss_reader(NULL);
}

static void bad_limits_are_refused(void) {
  fixture f;
  memory_limiter_config cfg = {.check_interval = 10 * 1000000LL, .limit = 10 * MIB, .spike_limit = 10 * MIB};
  wire_err err = {0};
  CHECK(fx_init(&f, &cfg, &err) < 0);
  CHECK_CONTAINS(err.msg, "spike");
  uv_loop_close(&f.loop);
}

int main(void) {
  RUN(refuses_above_soft_limit_and_recovers);
  RUN(limits_from_percentages);
  RUN(bad_limits_are_refused);
  CHECK_EQ(pipeline_batches_live(), 0);
  return test_finish();
}
