/* test_fork.c — fork safety: a forked child exports only what it records itself (cumulative values restart
 * from zero, histograms too, exclusive histogram handles included), with its own process.pid in the resource
 * and a fresh start time, while the parent keeps its own state; a child that never uses the SDK exports
 * nothing. The child reports its findings through its exit status. */
#include <sys/wait.h>
#include <unistd.h>

#include "sdk_testutil.h"

/* Checks run in the child: returns a bit per failed check (0 = all good). */
static int child_checks(otelc_meter_provider *mp, otelc_exporter *exp, otelc_instrument *c, otelc_instrument *h,
                        otelc_series *bound, otelc_series *hx, uint64_t parent_start) {
  int bad = 0;
  otelc_attr a[] = {OTELC_ATTR_STR("k", "v")};
  otelc_add_u64(c, 7, a, 1);
  otelc_series_add_u64(bound, 1);
  otelc_record_f64(h, 3, NULL, 0);
  otelc_series_record_f64(hx, 4); /* an exclusive handle's own cells restart from zero too */
  size_t before = otelc_memory_exporter_batches(exp);
  if (otelc_meter_provider_force_flush(mp, 2000) != OTELC_OK) bad |= 1;
  if (otelc_memory_exporter_batches(exp) != before + 1) bad |= 2;
  otelc_point p;
  if (!otelc_memory_exporter_find(exp, 0, "c", a, 1, &p) || p.as_int != 8) bad |= 4;
  if (!otelc_memory_exporter_find(exp, 0, "h", NULL, 0, &p) || p.count != 2 || p.sum != 7) bad |= 8;
  if (p.start_time_ns <= parent_start) bad |= 16;
  char buf[32];
  if (!otelc_memory_exporter_resource_attr(exp, 0, "process.pid", buf, sizeof buf) || atol(buf) != getpid())
    bad |= 32;
  /* the parent's other series: zero since the fork */
  otelc_attr other[] = {OTELC_ATTR_STR("k", "parent-only")};
  if (otelc_memory_exporter_find(exp, 0, "c", other, 1, &p) && p.as_int != 0) bad |= 64;
  if (otelc_meter_provider_shutdown(mp, 2000) != OTELC_OK) bad |= 128;
  return bad;
}

static void child_exports_only_its_own_data(void) {
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  otelc_meter *m = otelc_meter_get(mp, "t", NULL, NULL);
  otelc_instrument *c = otelc_counter_u64(m, "c", NULL);
  otelc_instrument *h = otelc_histogram(m, "h", NULL);
  otelc_attr a[] = {OTELC_ATTR_STR("k", "v")};
  otelc_attr other[] = {OTELC_ATTR_STR("k", "parent-only")};
  otelc_series *bound = otelc_bind(c, a, 1);
  otelc_series *hx = otelc_bind_exclusive(h, NULL, 0);
  otelc_series_record_f64(hx, 20);
  otelc_add_u64(c, 100, a, 1);
  otelc_series_add_u64(bound, 1000);
  otelc_add_u64(c, 5, other, 1);
  otelc_record_f64(h, 50, NULL, 0);
  otelc_meter_provider_force_flush(mp, 2000);
  otelc_point pp = SDK_POINT(exp, "c", a, 1);
  CHECK_EQ(pp.as_int, 1100);
  uint64_t parent_start = pp.start_time_ns;

  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) _exit(child_checks(mp, exp, c, h, bound, hx, parent_start));
  CHECK(pid > 0);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK_MSG(WEXITSTATUS(status) == 0, "child checks failed: mask %d", WEXITSTATUS(status));

  /* the parent is unaffected */
  otelc_add_u64(c, 1, a, 1);
  otelc_meter_provider_force_flush(mp, 2000);
  otelc_point p = SDK_POINT(exp, "c", a, 1);
  CHECK_EQ(p.as_int, 1101);
  CHECK_EQ(p.start_time_ns, parent_start);
  char buf[32];
  CHECK(otelc_memory_exporter_resource_attr(exp, 0, "process.pid", buf, sizeof buf));
  CHECK_EQ(atol(buf), getpid());
  otelc_series_release(bound);
  otelc_series_release(hx);
  otelc_meter_provider_free(mp);
}

static void idle_child_exports_nothing(void) {
  /* A periodic reader is running in the parent; a child that never touches the SDK starts no thread. */
  otelc_exporter *exp = otelc_memory_exporter_create(4);
  otelc_meter_provider *mp;
  otelc_provider_options o = {.exporter = exp, .export_interval_ms = 20, .no_self_metrics = true};
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  otelc_add_u64(otelc_counter_u64(otelc_meter_get(mp, "t", NULL, NULL), "c", NULL), 1, NULL, 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    size_t before = otelc_memory_exporter_batches(exp);
    usleep(150 * 1000);
    _exit(otelc_memory_exporter_batches(exp) == before ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  otelc_meter_provider_free(mp);
}

int main(void) {
  sdk_test_clear_env();
  RUN(child_exports_only_its_own_data);
  RUN(idle_child_exports_nothing);
  return test_finish();
}
