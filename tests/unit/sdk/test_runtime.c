/* test_runtime.c — the process runtime collector (otelc/runtime.h): every instrument is there with its
 * semantic-convention name, unit, kind and attributes, and the values are sane: CPU time > 0 and growing when
 * the process burns CPU, utilization within [0, 1], memory > 0, thread count follows a new thread, the file
 * descriptor count matches /proc/self/fd exactly, page faults and context switches counted, uptime positive. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "otelc/runtime.h"
#include "sdk_testutil.h"
#include "testlib.h"

/* Sanitizers bring their own allocator: glibc's heap figures are then absent. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static const otelc_attr k_user[] = {OTELC_ATTR_STR("cpu.mode", "user")};
static const otelc_attr k_system[] = {OTELC_ATTR_STR("cpu.mode", "system")};

static volatile double g_sink;
static void burn_cpu(int ms) {
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  double x = 1;
  for (;;) {
    for (int i = 0; i < 100000; i++) x = x * 1.0000001 + 0.5;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    if ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= ms) break;
  }
  g_sink = x;
}

static long count_fds_now(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

static void check_info(otelc_exporter *exp, const char *name, const char *want_unit) {
  const char *desc = NULL, *unit = NULL, *scope = NULL;
  CHECK_MSG(otelc_memory_exporter_metric_info(exp, 0, name, &desc, &unit, &scope), "metric %s missing", name);
  if (unit) CHECK_MSG(strcmp(unit, want_unit) == 0, "%s: unit %s, want %s", name, unit, want_unit);
  if (desc) CHECK_MSG(desc[0] != 0, "%s has no description", name);
  if (scope) CHECK_STR(scope, "otelc.runtime");
}

static otelc_point point(otelc_exporter *exp, const char *name, const otelc_attr *a, size_t n) {
  otelc_point p;
  memset(&p, 0, sizeof p);
  CHECK_MSG(otelc_memory_exporter_find(exp, 0, name, a, n, &p), "no point for %s", name);
  return p;
}

static void *sleeper(void *arg) {
  int *fd = arg;
  char c;
  (void)!read(*fd, &c, 1); /* until the test writes */
  return NULL;
}

static void test_runtime_metrics(void) {
  sdk_test_clear_env();
  otelc_exporter *exp;
  otelc_meter_provider *mp = sdk_test_provider(OTELC_TEMPORALITY_CUMULATIVE, &exp);
  CHECK_EQ(otelc_runtime_start(mp), OTELC_OK);
  CHECK_EQ(otelc_runtime_start(mp), OTELC_OK); /* idempotent */
  CHECK_EQ(otelc_runtime_start(NULL), OTELC_E_INVALID);

  burn_cpu(60);
  usleep(2000);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 5000), OTELC_OK);
  long fds_expected = count_fds_now();
  /* nothing opened or closed a descriptor since the collection (no reader thread here) */
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 5000), OTELC_OK);

  check_info(exp, "process.cpu.time", "s");
  check_info(exp, "process.cpu.utilization", "1");
  check_info(exp, "process.memory.usage", "By");
  check_info(exp, "process.memory.virtual", "By");
  check_info(exp, "process.unix.file_descriptor.count", "{file_descriptor}");
  check_info(exp, "process.thread.count", "{thread}");
  check_info(exp, "process.context_switches", "{context_switch}");
  check_info(exp, "process.paging.faults", "{fault}");
  check_info(exp, "process.uptime", "s");
  /* glibc's heap figures; absent when another allocator is in use (e.g. under a sanitizer) */
  bool have_heap = otelc_memory_exporter_point_count(exp, 0, "process.runtime.c.heap.allocated") >= 0;
#ifndef UNDER_SANITIZER
  CHECK(have_heap);
#endif
  if (have_heap) {
    check_info(exp, "process.runtime.c.heap.allocated", "By");
    check_info(exp, "process.runtime.c.heap.free", "By");
    check_info(exp, "process.runtime.c.heap.mapped", "By");
  }

  CHECK_EQ(otelc_memory_exporter_point_count(exp, 0, "process.cpu.time"), 2); /* user, system; started once */
  otelc_point cu = point(exp, "process.cpu.time", k_user, 1);
  otelc_point cs = point(exp, "process.cpu.time", k_system, 1);
  CHECK(cu.type == OTELC_POINT_SUM && cu.monotonic && cu.is_double);
  CHECK(cu.as_double >= 0.05);
  CHECK(cs.as_double >= 0);
  otelc_point uu = point(exp, "process.cpu.utilization", k_user, 1);
  CHECK(uu.type == OTELC_POINT_GAUGE && uu.is_double);
  CHECK(uu.as_double >= 0 && uu.as_double <= 1.0001);
  otelc_point rss = point(exp, "process.memory.usage", NULL, 0);
  otelc_point vsz = point(exp, "process.memory.virtual", NULL, 0);
  CHECK(rss.type == OTELC_POINT_SUM && !rss.monotonic);
  CHECK(rss.as_int > 1 << 20);
  CHECK(vsz.as_int >= rss.as_int);
  otelc_point thr = point(exp, "process.thread.count", NULL, 0);
  CHECK(thr.as_int >= 1);
  otelc_point fds = point(exp, "process.unix.file_descriptor.count", NULL, 0);
  CHECK_EQ(fds.as_int, fds_expected);
  otelc_attr minor[] = {OTELC_ATTR_STR("process.paging.fault_type", "minor")};
  otelc_attr major[] = {OTELC_ATTR_STR("process.paging.fault_type", "major")};
  CHECK(point(exp, "process.paging.faults", minor, 1).as_int > 0);
  CHECK(point(exp, "process.paging.faults", major, 1).as_int >= 0);
  otelc_attr vol[] = {OTELC_ATTR_STR("process.context_switch.type", "voluntary")};
  otelc_attr invol[] = {OTELC_ATTR_STR("process.context_switch.type", "involuntary")};
  otelc_point cv = point(exp, "process.context_switches", vol, 1);
  CHECK(cv.type == OTELC_POINT_SUM && cv.monotonic && !cv.is_double);
  CHECK(cv.as_int > 0); /* usleep above */
  CHECK(point(exp, "process.context_switches", invol, 1).as_int >= 0);
  otelc_point up = point(exp, "process.uptime", NULL, 0);
  CHECK(up.type == OTELC_POINT_GAUGE && up.is_double);
  CHECK(up.as_double > 0 && up.as_double < 24 * 3600);
  /* /proc/self/io may be unreadable in some sandboxes: then the metric is absent */
  if (otelc_memory_exporter_point_count(exp, 0, "process.disk.io") >= 0) {
    otelc_attr rd[] = {OTELC_ATTR_STR("disk.io.direction", "read")};
    otelc_attr wr[] = {OTELC_ATTR_STR("disk.io.direction", "write")};
    CHECK(point(exp, "process.disk.io", rd, 1).as_int >= 0);
    CHECK(point(exp, "process.disk.io", wr, 1).as_int >= 0);
  }
  if (have_heap) {
    otelc_point ha = point(exp, "process.runtime.c.heap.allocated", NULL, 0);
    otelc_point hf = point(exp, "process.runtime.c.heap.free", NULL, 0);
    otelc_point hm = point(exp, "process.runtime.c.heap.mapped", NULL, 0);
    CHECK(ha.as_int > 0);
    CHECK(ha.as_int >= hm.as_int && hf.as_int >= 0 && hm.as_int >= 0);
  }

  /* changes show up: more descriptors, one more thread, more CPU */
  int pfd[2];
  CHECK_EQ(pipe(pfd), 0);
  int extra = dup(pfd[0]);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, sleeper, &pfd[0]), 0);
  burn_cpu(50);
  CHECK_EQ(otelc_meter_provider_force_flush(mp, 5000), OTELC_OK);
  CHECK_EQ(point(exp, "process.unix.file_descriptor.count", NULL, 0).as_int, fds_expected + 3);
  CHECK(point(exp, "process.thread.count", NULL, 0).as_int >= thr.as_int + 1);
  otelc_point cu2 = point(exp, "process.cpu.time", k_user, 1);
  CHECK(cu2.as_double + point(exp, "process.cpu.time", k_system, 1).as_double >=
        cu.as_double + cs.as_double + 0.04);
  otelc_point uu2 = point(exp, "process.cpu.utilization", k_user, 1);
  otelc_point us2 = point(exp, "process.cpu.utilization", k_system, 1);
  CHECK(uu2.as_double + us2.as_double > 0 && uu2.as_double + us2.as_double <= 1.0001);
  (void)!write(pfd[1], "x", 1);
  pthread_join(t, NULL);
  close(extra);
  close(pfd[0]);
  close(pfd[1]);
  otelc_meter_provider_free(mp);
}

/* A disabled provider takes the call and records nothing. */
static void test_runtime_disabled_provider(void) {
  otelc_provider_options o = {.disabled = true};
  otelc_meter_provider *mp = NULL;
  CHECK_EQ(otelc_meter_provider_create(&o, &mp), OTELC_OK);
  CHECK_EQ(otelc_runtime_start(mp), OTELC_OK);
  otelc_meter_provider_free(mp);
}

int main(void) {
  otelc_set_log_level(OTELC_LOG_ERROR);
  RUN(test_runtime_metrics);
  RUN(test_runtime_disabled_provider);
  return test_finish();
}
