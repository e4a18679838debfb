/* runtime.c — the process runtime collector (otelc/runtime.h): observable instruments with the OpenTelemetry
 * process semantic conventions, fed from one snapshot of the process taken per collection.
 *
 * Every instrument has its own callback, but the SDK calls them one after the other within one collection
 * (all under the provider's collect_mu, with the same observer epoch). The first callback of a collection
 * takes the snapshot — getrusage(2), one read of /proc/self/stat and of /proc/self/io, a getdents64 walk of
 * /proc/self/fd, mallinfo2() — and the others reuse it. Nothing is allocated: the buffers are on the stack.
 *
 * Fork: a child's rusage and /proc figures are its own; the CPU-utilization baseline is moved to the child's
 * start (zero CPU at its start time) the first time a snapshot sees a new pid. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "otelc/runtime.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define HAVE_MALLINFO2 1
#endif

typedef struct runtime_snapshot {
  double cpu_user_s, cpu_system_s;
  double util_user, util_system;
  int64_t rss_bytes, vsize_bytes;
  int64_t threads;
  int64_t fds;
  int64_t ctx_voluntary, ctx_involuntary;
  int64_t faults_major, faults_minor;
  int64_t disk_read, disk_write;
  double uptime_s;
  int64_t heap_allocated, heap_free, heap_mapped;
  bool have_stat, have_io, have_fds, have_heap;
} runtime_snapshot;

/* Touched only by the callbacks, which the SDK runs one at a time under the provider's collect_mu: no lock of
 * its own (a lock held by the parent's reader at fork time would be inherited locked by the child). */
typedef struct otelc_runtime {
  uint32_t epoch;          /* the collection the snapshot belongs to (0: none yet) */
  runtime_snapshot snap;
  /* utilization baseline */
  double prev_user_s, prev_system_s;
  int64_t prev_boot_ns;
  pid_t pid;
  long clk_tck, page_size;
  struct otelc_runtime *next;
} otelc_runtime;

/* Every collector ever started (kept reachable: a provider has no hook to free its callbacks' state). The
 * mutex also makes concurrent starts on one provider create the instruments once; it is taken around fork so
 * that a child never inherits it locked. */
static pthread_mutex_t g_runtimes_mu = PTHREAD_MUTEX_INITIALIZER;
static otelc_runtime *g_runtimes;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void runtimes_lock(void) { pthread_mutex_lock(&g_runtimes_mu); }
static void runtimes_unlock(void) { pthread_mutex_unlock(&g_runtimes_mu); }
static void register_atfork(void) { pthread_atfork(runtimes_lock, runtimes_unlock, runtimes_unlock); }

static int64_t boottime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads a small /proc file into buf (NUL-terminated); returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0) {
      close(fd);
      return -1;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

/* /proc/self/stat fields 20 (num_threads), 22 (starttime), 23 (vsize), 24 (rss). The command name (field 2)
 * may hold spaces and parentheses: fields are counted after its last ')'. */
static bool parse_stat(const char *buf, int64_t *threads, uint64_t *starttime, int64_t *vsize, int64_t *rss_pages) {
  const char *p = strrchr(buf, ')');
  if (!p) return false;
  p++;
  int field = 2;
  uint64_t vals[25] = {0};
  while (*p && field < 24) {
    while (*p == ' ') p++;
    if (!*p) break;
    field++;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p) { /* non-numeric field (state) */
      while (*p && *p != ' ') p++;
      continue;
    }
    vals[field] = v;
    p = end;
  }
  if (field < 24) return false;
  *threads = (int64_t)vals[20];
  *starttime = vals[22];
  *vsize = (int64_t)vals[23];
  *rss_pages = (int64_t)vals[24];
  return true;
}

static bool parse_io(const char *buf, int64_t *rd, int64_t *wr) {
  const char *r = strstr(buf, "\nread_bytes:");
  const char *w = strstr(buf, "\nwrite_bytes:");
  if (!r || !w) return false;
  *rd = strtoll(r + 12, NULL, 10);
  *wr = strtoll(w + 13, NULL, 10);
  return true;
}

struct linux_dirent64_hdr {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Open file descriptors: the entries of /proc/self/fd, minus the one this walk opens. */
static int64_t count_fds(void) {
  int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int64_t n = 0;
  _Alignas(8) char buf[4096];
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (got < 0) {
      close(fd);
      return -1;
    }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
      if (d->d_reclen == 0) break;
      if (d->d_name[0] != '.') n++;
      off += d->d_reclen;
    }
  }
  close(fd);
  return n > 0 ? n - 1 : 0;
}

static int online_cpus(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Takes the snapshot (on the collecting thread). */
static void take_snapshot(otelc_runtime *rt) {
  runtime_snapshot *s = &rt->snap;
  memset(s, 0, sizeof *s);
  int64_t now_boot = boottime_ns();

  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s->cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    s->cpu_system_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    s->faults_minor = ru.ru_minflt;
    s->faults_major = ru.ru_majflt;
    s->ctx_voluntary = ru.ru_nvcsw;
    s->ctx_involuntary = ru.ru_nivcsw;
  }

  char buf[1024];
  uint64_t starttime = 0;
  if (read_small("/proc/self/stat", buf, sizeof buf) > 0) {
    int64_t rss_pages = 0;
    s->have_stat = parse_stat(buf, &s->threads, &starttime, &s->vsize_bytes, &rss_pages);
    s->rss_bytes = rss_pages * rt->page_size;
  }
  int64_t start_boot_ns = s->have_stat ? (int64_t)(starttime * (1000000000.0 / (double)rt->clk_tck)) : 0;
  if (s->have_stat) s->uptime_s = (double)(now_boot - start_boot_ns) / 1e9;
  if (s->uptime_s < 0) s->uptime_s = 0;

  if (read_small("/proc/self/io", buf, sizeof buf) > 0) s->have_io = parse_io(buf, &s->disk_read, &s->disk_write);
  s->fds = count_fds();
  s->have_fds = s->fds >= 0;

#ifdef HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  s->heap_allocated = (int64_t)(mi.uordblks + mi.hblkhd);
  s->heap_free = (int64_t)mi.fordblks;
  s->heap_mapped = (int64_t)mi.hblkhd;
  /* All zero: the allocator in use is not glibc's (a sanitizer's, jemalloc, ...): report nothing. */
  s->have_heap = mi.arena != 0 || mi.hblkhd != 0 || mi.uordblks != 0;
#endif

  /* utilization since the previous snapshot (a forked child: since its own start, from zero) */
  pid_t pid = getpid();
  if (pid != rt->pid) {
    rt->pid = pid;
    rt->prev_user_s = rt->prev_system_s = 0;
    rt->prev_boot_ns = start_boot_ns ? start_boot_ns : now_boot;
  }
  double dt = (double)(now_boot - rt->prev_boot_ns) / 1e9 * online_cpus();
  if (dt > 0) {
    s->util_user = (s->cpu_user_s - rt->prev_user_s) / dt;
    s->util_system = (s->cpu_system_s - rt->prev_system_s) / dt;
    if (s->util_user < 0) s->util_user = 0;
    if (s->util_system < 0) s->util_system = 0;
  }
  rt->prev_user_s = s->cpu_user_s;
  rt->prev_system_s = s->cpu_system_s;
  rt->prev_boot_ns = now_boot;
}

/* The snapshot of the current collection (taken by its first callback). Returns a copy. */
static const runtime_snapshot *snapshot(otelc_runtime *rt, const otelc_observer *obs) {
  if (rt->epoch == 0 || rt->epoch != obs->epoch || rt->pid != getpid()) {
    take_snapshot(rt);
    rt->epoch = obs->epoch;
  }
  return &rt->snap;
}

/* ---- callbacks -------------------------------------------------------------------------------------- */

static const otelc_attr k_user[] = {OTELC_ATTR_STR("cpu.mode", "user")};
static const otelc_attr k_system[] = {OTELC_ATTR_STR("cpu.mode", "system")};
static const otelc_attr k_voluntary[] = {OTELC_ATTR_STR("process.context_switch.type", "voluntary")};
static const otelc_attr k_involuntary[] = {OTELC_ATTR_STR("process.context_switch.type", "involuntary")};
static const otelc_attr k_major[] = {OTELC_ATTR_STR("process.paging.fault_type", "major")};
static const otelc_attr k_minor[] = {OTELC_ATTR_STR("process.paging.fault_type", "minor")};
static const otelc_attr k_read[] = {OTELC_ATTR_STR("disk.io.direction", "read")};
static const otelc_attr k_write[] = {OTELC_ATTR_STR("disk.io.direction", "write")};

static void cb_cpu_time(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  otelc_observe_f64(o, s->cpu_user_s, k_user, 1);
  otelc_observe_f64(o, s->cpu_system_s, k_system, 1);
}

static void cb_cpu_util(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  otelc_observe_f64(o, s->util_user, k_user, 1);
  otelc_observe_f64(o, s->util_system, k_system, 1);
}

static void cb_memory_usage(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_stat) otelc_observe_i64(o, s->rss_bytes, NULL, 0);
}

static void cb_memory_virtual(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_stat) otelc_observe_i64(o, s->vsize_bytes, NULL, 0);
}

static void cb_fds(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_fds) otelc_observe_i64(o, s->fds, NULL, 0);
}

static void cb_threads(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_stat) otelc_observe_i64(o, s->threads, NULL, 0);
}

static void cb_ctx(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  otelc_observe_i64(o, s->ctx_voluntary, k_voluntary, 1);
  otelc_observe_i64(o, s->ctx_involuntary, k_involuntary, 1);
}

static void cb_faults(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  otelc_observe_i64(o, s->faults_major, k_major, 1);
  otelc_observe_i64(o, s->faults_minor, k_minor, 1);
}

static void cb_disk(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (!s->have_io) return;
  otelc_observe_i64(o, s->disk_read, k_read, 1);
  otelc_observe_i64(o, s->disk_write, k_write, 1);
}

static void cb_uptime(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_stat) otelc_observe_f64(o, s->uptime_s, NULL, 0);
}

static void cb_heap_allocated(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_heap) otelc_observe_i64(o, s->heap_allocated, NULL, 0);
}

static void cb_heap_free(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_heap) otelc_observe_i64(o, s->heap_free, NULL, 0);
}

static void cb_heap_mapped(otelc_observer *o, void *u) {
  const runtime_snapshot *s = snapshot(u, o);
  if (s->have_heap) otelc_observe_i64(o, s->heap_mapped, NULL, 0);
}

/* ---- start ------------------------------------------------------------------------------------------ */

/* Whether mp already has the collector's instruments (asked of the provider itself: a registry keyed by the
 * provider's address would be fooled by a new provider allocated where a freed one was). */
static bool already_started(otelc_meter_provider *mp) {
  bool found = false;
  pthread_mutex_lock(&mp->mu);
  for (otelc_meter *m = atomic_load(&mp->meters); m && !found; m = atomic_load(&m->next)) {
    if (strcmp(m->name, "otelc.runtime") != 0) continue;
    for (otelc_instrument *in = atomic_load(&m->instruments); in && !found; in = atomic_load(&in->next))
      found = in->name && strcmp(in->name, "process.cpu.time") == 0;
  }
  pthread_mutex_unlock(&mp->mu);
  return found;
}

int otelc_runtime_start(otelc_meter_provider *mp) {
  if (!mp) return OTELC_E_INVALID;
  if (mp->disabled) return OTELC_OK;
  pthread_once(&g_atfork_once, register_atfork);
  pthread_mutex_lock(&g_runtimes_mu);
  if (already_started(mp)) {
    pthread_mutex_unlock(&g_runtimes_mu);
    return OTELC_OK;
  }
  otelc_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) {
    pthread_mutex_unlock(&g_runtimes_mu);
    OTELC_ERROR("runtime collector: out of memory");
    return OTELC_E_NOMEM;
  }
  rt->clk_tck = sysconf(_SC_CLK_TCK);
  if (rt->clk_tck <= 0) rt->clk_tck = 100;
  rt->page_size = sysconf(_SC_PAGESIZE);
  if (rt->page_size <= 0) rt->page_size = 4096;
  rt->pid = getpid();
  rt->prev_boot_ns = boottime_ns();
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    rt->prev_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    rt->prev_system_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  }
  rt->next = g_runtimes;
  g_runtimes = rt;

  otelc_meter *m = otelc_meter_get(mp, "otelc.runtime", OTELC_VERSION_STRING, NULL);
  otelc_instrument_options o = {0};
#define OPTS(u, d) (o.unit = (u), o.description = (d), &o)
  otelc_observable_counter_f64(m, "process.cpu.time",
                               OPTS("s", "Total CPU seconds broken down by different CPU modes."), cb_cpu_time, rt);
  otelc_observable_gauge_f64(m, "process.cpu.utilization",
                             OPTS("1", "Difference in process.cpu.time since the last measurement, divided by the "
                                       "elapsed time and number of CPUs available to the process."),
                             cb_cpu_util, rt);
  otelc_observable_updown_i64(m, "process.memory.usage", OPTS("By", "The amount of physical memory in use."),
                              cb_memory_usage, rt);
  otelc_observable_updown_i64(m, "process.memory.virtual", OPTS("By", "The amount of committed virtual memory."),
                              cb_memory_virtual, rt);
  otelc_observable_updown_i64(m, "process.unix.file_descriptor.count",
                              OPTS("{file_descriptor}", "Number of unix file descriptors in use by the process."),
                              cb_fds, rt);
  otelc_observable_updown_i64(m, "process.thread.count", OPTS("{thread}", "Process threads count."), cb_threads, rt);
  otelc_observable_counter_i64(m, "process.context_switches",
                               OPTS("{context_switch}", "Number of times the process has been context switched."),
                               cb_ctx, rt);
  otelc_observable_counter_i64(m, "process.paging.faults",
                               OPTS("{fault}", "Number of page faults the process has made."), cb_faults, rt);
  otelc_observable_counter_i64(m, "process.disk.io", OPTS("By", "Disk bytes transferred."), cb_disk, rt);
  otelc_observable_gauge_f64(m, "process.uptime", OPTS("s", "The time the process has been running."), cb_uptime,
                             rt);
#ifdef HAVE_MALLINFO2
  otelc_observable_updown_i64(m, "process.runtime.c.heap.allocated",
                              OPTS("By", "Bytes the C allocator has handed out and not yet been given back "
                                         "(mallinfo2 uordblks + hblkhd)."),
                              cb_heap_allocated, rt);
  otelc_observable_updown_i64(m, "process.runtime.c.heap.free",
                              OPTS("By", "Free bytes the C allocator holds without returning them to the system "
                                         "(mallinfo2 fordblks)."),
                              cb_heap_free, rt);
  otelc_observable_updown_i64(m, "process.runtime.c.heap.mapped",
                              OPTS("By", "Of the allocated bytes, those in blocks mapped with mmap "
                                         "(mallinfo2 hblkhd)."),
                              cb_heap_mapped, rt);
#else
  (void)cb_heap_allocated;
  (void)cb_heap_free;
  (void)cb_heap_mapped;
#endif
#undef OPTS
  pthread_mutex_unlock(&g_runtimes_mu);
  return OTELC_OK;
}
