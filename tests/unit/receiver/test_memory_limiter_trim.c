/* test_memory_limiter_trim.c — when memory_limiter hands freed heap back (malloc_trim, simulated here together
 * with the RSS): at a check above the soft limit, so that memory glibc kept after a burst stops refusing data at
 * once; not at every check while the overload lasts (rate-limited); once when usage falls back under the soft
 * limit after being above it; after the pipelines released much of what they held; never on a steady, light
 * load. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/memory_limiter.h"
#include "receiver/pipeline.h"
#include "receiver/processors/memory_limiter.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/clock.h"

#define MIB (1024u * 1024u)

static size_t fake_rss, rss_after_trim;
static int trims, checks;
static bool in_trim_reread;
/* Each check reads the RSS once, and once more after a trim. */
static size_t read_fake_rss(void) {
  if (in_trim_reread) in_trim_reread = false;
  else checks++;
  return fake_rss;
}
static void fake_trim(void) {
  trims++;
  in_trim_reread = true;
  if (rss_after_trim && fake_rss > rss_after_trim) fake_rss = rss_after_trim;
}

static void h_log(component_host *h, log_level l, const char *c, const char *m, ...) { (void)h, (void)l, (void)c, (void)m; }
static bool h_log_enabled(component_host *h, log_level l) { return (void)h, (void)l, false; }
static void h_hold(component_host *h) { (void)h; }
static void h_release(component_host *h) { (void)h; }
static int next_consume(void *ctx, component_metrics *m, wire_err *err) {
  (void)ctx, (void)err;
  metrics_unref(m);
  return 0;
}

typedef struct fixture {
  uv_loop_t loop;
  component_host host;
  memory_limiter_config cfg;
  void *state;
} fixture;

/* limit 64 MiB, spike 16: soft limit 48 MiB; checks every 10 ms */
static void fx_init(fixture *f) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  f->host = (component_host){.loop = &f->loop, .log = h_log, .log_enabled = h_log_enabled, .hold = h_hold,
                             .release = h_release};
  f->cfg = (memory_limiter_config){.check_interval = 10 * 1000000LL, .limit = 64 * MIB, .spike_limit = 16 * MIB};
  component_create_args a = {.id = "memory_limiter", .kind = COMPONENT_PROCESSOR, .config = &f->cfg,
                             .host = &f->host, .next = {.consume_metrics = next_consume}};
  wire_err err;
  CHECK(memory_limiter_processor_hooks.create(&a, &f->state, &err) == 0);
  CHECK(memory_limiter_processor_hooks.start(f->state, &err) == 0);
}

static void fx_free(fixture *f) {
  memory_limiter_processor_hooks.shutdown(f->state, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  memory_limiter_processor_hooks.destroy(f->state);
  CHECK_EQ(uv_loop_close(&f->loop), 0);
}

/* Runs the loop until n more checks ran (bounded). */
static void run_checks(fixture *f, int n) {
  int want = checks + n;
  int64_t deadline = wire_now_ns() + 10000 * 1000000LL;
  while (checks < want && wire_now_ns() < deadline) uv_run(&f->loop, UV_RUN_ONCE);
  CHECK(checks >= want);
}

static bool accepts(fixture *f) {
  wire_err err;
  return memory_limiter_processor_hooks.consume_metrics(f->state, metrics_new(0), &err) == 0;
}

static void setup_fakes(void) {
  memory_limiter_set_rss_reader(read_fake_rss);
  memory_limiter_set_trimmer(fake_trim);
  trims = 0;
  rss_after_trim = 0;
}

static void teardown_fakes(void) {
  memory_limiter_set_rss_reader(NULL);
  memory_limiter_set_trimmer(NULL);
}

/* RSS above the soft limit only because of freed memory malloc kept: the check trims and data passes at once. */
static void kept_memory_is_trimmed_instead_of_refusing(void) {
  setup_fakes();
  fake_rss = 20 * MIB;
  fixture f;
  fx_init(&f);
  run_checks(&f, 5);
  CHECK_EQ(trims, 0); /* light and steady: nothing to hand back */
  CHECK(accepts(&f));
  fake_rss = 55 * MIB;
  rss_after_trim = 18 * MIB;
  run_checks(&f, 2);
  CHECK(trims >= 1);
  CHECK(accepts(&f));
  fx_free(&f);
  teardown_fakes();
}

/* A real overload (trimming does not help): refused, and trimmed at most every 250 ms, not at every check. */
static void sustained_overload_trims_rate_limited(void) {
  setup_fakes();
  fake_rss = 60 * MIB;
  fixture f;
  fx_init(&f);
  int64_t t0 = wire_now_ns();
  run_checks(&f, 30);
  int64_t ms = (wire_now_ns() - t0) / 1000000;
  CHECK(!accepts(&f));
  CHECK(trims >= 1);
  CHECK_MSG(trims <= 2 + ms / 250, "%d trims in %lld ms", trims, (long long)ms);
  CHECK(trims < 30);
  /* usage falls back under the soft limit: one trim as the state flips, then none while it stays there */
  int before = trims;
  fake_rss = 30 * MIB;
  run_checks(&f, 2);
  CHECK(accepts(&f));
  CHECK_EQ(trims, before + 1);
  run_checks(&f, 10);
  CHECK_EQ(trims, before + 1);
  fx_free(&f);
  teardown_fakes();
}

/* The pipelines release a good share of what they held while RSS is past half the soft limit: trimmed. */
static void released_pipeline_memory_is_trimmed(void) {
  setup_fakes();
  fake_rss = 30 * MIB; /* between half the soft limit (24) and the soft limit (48) */
  fixture f;
  fx_init(&f);
  otlp_request *req = sample_otlp_parametric(100, 100, 4);
  wire_buf enc;
  wire_buf_init(&enc, 0);
  CHECK(wire_otlp_encode_request(req, &enc, NULL) == 0);
  size_t base = pipeline_bytes_in_use();
  component_metrics *held[64];
  size_t n = 0;
  while (n < 64 && pipeline_bytes_in_use() - base < 7 * MIB) { /* > soft / 8 = 6 MiB */
    wire_err err;
    held[n] = metrics_receive(enc.data, enc.len, 0, 0, &err);
    CHECK(held[n] != NULL);
    if (!held[n]) break;
    n++;
  }
  run_checks(&f, 3); /* the peak is seen */
  CHECK_EQ(trims, 0);
  for (size_t i = 0; i < n; i++) metrics_unref(held[i]);
  run_checks(&f, 3);
  CHECK_EQ(trims, 1);
  run_checks(&f, 5);
  CHECK_EQ(trims, 1);
  fx_free(&f);
  wire_buf_free(&enc);
  sample_otlp_free(req);
  teardown_fakes();
}

int main(void) {
  RUN(kept_memory_is_trimmed_instead_of_refusing);
  RUN(sustained_overload_trims_rate_limited);
  RUN(released_pipeline_memory_is_trimmed);
  return test_finish();
}
