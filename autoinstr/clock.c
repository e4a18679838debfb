/* clock.c — the shim's request clock (clock.h says which and why). */
#define _GNU_SOURCE
#include "autoinstr/clock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "autoinstr/hot.h"
#include "autoinstr/layout.h"

/* The counter and CLOCK_MONOTONIC read together at the choice: the rate is measured from there. Written once,
 * by the thread that claimed it, before clock_kind says TSC (release); read by the recording thread. */
static int64_t g_base_tsc, g_base_ns;
/* The recording thread's: seconds per counter tick (0: not measured yet). */
static double g_sec_per_tick;

/* CLOCK_MONOTONIC in ns, through the vDSO when the constructor found it: libc's clock_gettime touches three
 * pages the request path otherwise does not (the PLT stub, its own code, and ld.so's data, where it keeps the
 * vDSO pointer). CLOCK_MONOTONIC_COARSE would be cheaper but ticks every 4 ms (HZ=250), coarser than the first
 * duration bucket (5 ms). */
static int64_t monotonic_ns(void) {
  struct timespec ts;
  if (__builtin_expect(preload_hot_line.vdso_clock == NULL, 0) || preload_hot_line.vdso_clock(CLOCK_MONOTONIC, &ts) != 0)
    clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void preload_clock_init(void) {
#if defined(__x86_64__)
  static const char name[] = "__vdso_clock_gettime";
#elif defined(__aarch64__)
  static const char name[] = "__kernel_clock_gettime";
#else
  static const char name[] = "";
#endif
  void *vdso = name[0] ? dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD) : NULL;
  if (!vdso) return; /* no vDSO (valgrind, some sandboxes): libc's clock_gettime */
  preload_vdso_clock_fn fn = (preload_vdso_clock_fn)dlsym(vdso, name);
  struct timespec ts;
  if (fn && fn(CLOCK_MONOTONIC, &ts) == 0) preload_hot_line.vdso_clock = fn;
  dlclose(vdso);
}

#if defined(__x86_64__)
/* The counter and CLOCK_MONOTONIC at (nearly) one instant: the clock read between two counter reads, the
 * tightest of four tries (a try the scheduler interrupted is wide). */
static void tsc_and_ns(int64_t *tsc, int64_t *ns) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 4; i++) {
    uint64_t a = __rdtsc();
    int64_t t = monotonic_ns();
    uint64_t b = __rdtsc();
    if (b >= a && b - a < best) {
      best = b - a;
      *tsc = (int64_t)(a + (b - a) / 2);
      *ns = t;
    }
  }
  if (best == UINT64_MAX) { /* the counter went backwards every time (a migration between unsynchronised CPUs) */
    *tsc = (int64_t)__rdtsc();
    *ns = monotonic_ns();
  }
}

/* The kernel's own verdict: the clocksource it runs on reads the counter ("tsc"; kvm-clock and Hyper-V's TSC
 * page scale it). A kernel that found its CPUs' counters out of step, or was told not to trust them, runs on
 * another (hpet, acpi_pm), and so does the shim. Unreadable (no /sys in a sandbox): the CPU's word alone. */
static bool kernel_clock_reads_tsc(void) {
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char name[64];
  ssize_t n = read(fd, name, sizeof name - 1);
  close(fd);
  if (n <= 0) return true;
  name[n] = 0;
  name[strcspn(name, "\n")] = 0;
  return !strcmp(name, "tsc") || !strcmp(name, "kvm-clock") || !strcmp(name, "hyperv_clocksource_tsc_page");
}

/* Invariant counter (CPUID 0x80000007 EDX bit 8), this thread allowed to read it, and a kernel that keeps time
 * with it. Leaves errno as it found it (the caller is inside one of the host's calls). */
static bool tsc_usable(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d) || !(d & (1u << 8))) return false;
  int saved = errno, state = 0;
  bool ok = prctl(PR_GET_TSC, &state, 0, 0, 0) == 0 && state == PR_TSC_ENABLE && kernel_clock_reads_tsc();
  errno = saved;
  return ok;
}
#endif

/* The first timestamp of the process (and of any thread that comes here before the choice is published). The
 * first thread to find the counter usable takes the baseline and only then publishes TSC (release: the
 * recording thread reads the baseline after it sees TSC); the others read the counter meanwhile, which is the
 * same unit. Without a usable counter, CLOCK_MONOTONIC is published. */
PRELOAD_COLD static int64_t clock_choose_and_read(void) {
#if defined(__x86_64__)
  if (tsc_usable()) {
    static _Atomic int claimed;
    if (!atomic_exchange(&claimed, 1)) {
      tsc_and_ns(&g_base_tsc, &g_base_ns);
      uint8_t undecided = PRELOAD_CLOCK_UNDECIDED; /* a prctl() that forbade the counter meanwhile wins */
      atomic_compare_exchange_strong(&preload_hot_line.clock_kind, &undecided, (uint8_t)PRELOAD_CLOCK_TSC);
    }
    return (int64_t)__rdtsc();
  }
#endif
  uint8_t undecided = PRELOAD_CLOCK_UNDECIDED;
  atomic_compare_exchange_strong(&preload_hot_line.clock_kind, &undecided, (uint8_t)PRELOAD_CLOCK_MONOTONIC);
  return monotonic_ns();
}

PRELOAD_HOT int64_t preload_clock_now(void *user) {
  (void)user;
  uint8_t kind = atomic_load_explicit(&preload_hot_line.clock_kind, memory_order_relaxed);
#if defined(__x86_64__)
  if (__builtin_expect(kind == PRELOAD_CLOCK_TSC, 1)) return (int64_t)__rdtsc();
#endif
  if (__builtin_expect(kind == PRELOAD_CLOCK_UNDECIDED, 0)) return clock_choose_and_read();
  return monotonic_ns();
}

void preload_clock_forbid_tsc(void) {
  atomic_store(&preload_hot_line.clock_kind, (uint8_t)PRELOAD_CLOCK_MONOTONIC);
}

/* The rate is measured over a window that starts at the choice and is restarted every 10 s, so that a counter
 * that jumps (a VM restored from a snapshot, a host that stepped it) spoils one window, not the rate from
 * then on. A window whose rate differs by more than 1 % from the rate in use is a jump or a real change of
 * rate (a VM moved to a host with another counter frequency and no scaling): it is not used, and the window
 * restarts; a second window that agrees with it confirms a change. Durations that span a jump are wrong
 * either way; the ones after it are not. */
#define CLOCK_WINDOW_NS 10000000000LL
#define CLOCK_MIN_WINDOW_NS 2000000LL

static int64_t g_win_tsc, g_win_ns; /* the window's start (0: not started) */
static double g_candidate;          /* the rate of a window that disagreed, waiting for a second opinion */

void preload_clock_calibrate_at(int64_t tsc, int64_t ns) {
  if (!g_win_ns) {
    g_win_tsc = g_base_tsc;
    g_win_ns = g_base_ns;
  }
  if (tsc <= g_win_tsc || ns <= g_win_ns) { /* the counter or the clock went backwards: start again */
    g_win_tsc = tsc;
    g_win_ns = ns;
    return;
  }
  if (ns - g_win_ns < CLOCK_MIN_WINDOW_NS) return; /* too short to be exact (jitter ~1e-4 at 1 ms) */
  double rate = (double)(ns - g_win_ns) / 1e9 / (double)(tsc - g_win_tsc);
  double off = g_sec_per_tick > 0 ? rate / g_sec_per_tick - 1 : 0;
  if (off > -0.01 && off < 0.01) {
    g_sec_per_tick = rate;
    g_candidate = 0;
  } else {
    double agree = g_candidate > 0 ? rate / g_candidate - 1 : 1;
    if (agree > -0.01 && agree < 0.01) {
      g_sec_per_tick = rate;
      g_candidate = 0;
    } else {
      g_candidate = rate;
    }
    g_win_tsc = tsc;
    g_win_ns = ns;
    return;
  }
  if (ns - g_win_ns >= CLOCK_WINDOW_NS) {
    g_win_tsc = tsc;
    g_win_ns = ns;
  }
}

void preload_clock_calibrate(int may_sleep) {
#if defined(__x86_64__)
  if (atomic_load_explicit(&preload_hot_line.clock_kind, memory_order_acquire) != PRELOAD_CLOCK_TSC) return;
  int64_t tsc, ns;
  tsc_and_ns(&tsc, &ns);
  /* The first rate needs a window of 2 ms: the recording thread waits that long once. */
  if (may_sleep && g_sec_per_tick == 0 && ns - g_base_ns < CLOCK_MIN_WINDOW_NS && ns >= g_base_ns) {
    struct timespec pause = {0, (long)(CLOCK_MIN_WINDOW_NS - (ns - g_base_ns))};
    nanosleep(&pause, NULL);
    tsc_and_ns(&tsc, &ns);
  }
  preload_clock_calibrate_at(tsc, ns);
#else
  (void)may_sleep;
#endif
}

double preload_clock_rate(void) { return g_sec_per_tick; }

void preload_clock_forget_rate_for_test(void) {
  g_win_tsc = g_win_ns = INT64_MAX; /* "backwards" for any pair: the next one starts the window */
  g_candidate = 0;
  g_sec_per_tick = 0;
}

double preload_clock_seconds(int64_t duration) {
  if (atomic_load_explicit(&preload_hot_line.clock_kind, memory_order_relaxed) == PRELOAD_CLOCK_TSC)
    return g_sec_per_tick > 0 ? (double)duration * g_sec_per_tick : 0;
  return (double)duration / 1e9;
}
