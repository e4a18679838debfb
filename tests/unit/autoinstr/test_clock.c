/* test_clock.c — the shim's request clock (autoinstr/clock.h): the choice made at the first timestamp, the
 * conversion of a duration to seconds against CLOCK_MONOTONIC (whichever clock was chosen), the switch to
 * CLOCK_MONOTONIC before a thread forbids itself the time-stamp counter, and the rate's windows (jumps, a
 * change of rate) with made-up readings. Each duration is bracketed by two
 * CLOCK_MONOTONIC reads, so the checks hold however the scheduler delays the test: they test units and
 * arithmetic, not speed. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "autoinstr/clock.h"
#include "autoinstr/hot.h"
#include "testlib.h"

static double mono_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0) {
  }
}

/* A duration of at least `ms` measured with the shim's clock, in seconds, and the CLOCK_MONOTONIC span that
 * contains it. */
static double measured(long ms, double *outer) {
  double m0 = mono_seconds();
  int64_t t0 = preload_clock_now(NULL);
  sleep_ms(ms);
  int64_t t1 = preload_clock_now(NULL);
  double m1 = mono_seconds();
  preload_clock_calibrate(1);
  *outer = m1 - m0;
  return preload_clock_seconds(t1 - t0);
}

static void test_first_timestamp_chooses(void) {
  CHECK_EQ(atomic_load(&preload_hot_line.clock_kind), PRELOAD_CLOCK_UNDECIDED);
  preload_clock_init();
  (void)preload_clock_now(NULL);
  int kind = atomic_load(&preload_hot_line.clock_kind);
#if defined(__x86_64__)
  int state = 0;
  CHECK_EQ(prctl(PR_GET_TSC, &state, 0, 0, 0), 0);
  /* TSC exactly when the CPU calls its counter invariant (the flag Linux shows as nonstop_tsc), the thread may
   * read it ... */
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
  int invariant = 0;
  if (a >= 0x80000007u) {
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u), "c"(0));
    invariant = (d >> 8) & 1;
  }
  /* and the kernel keeps time with the counter */
  char source[64] = "";
  FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  bool kernel_tsc = true; /* unreadable: the CPU's word alone */
  if (f) {
    if (fgets(source, sizeof source, f)) {
      source[strcspn(source, "\n")] = 0;
      kernel_tsc = !strcmp(source, "tsc") || !strcmp(source, "kvm-clock") ||
                   !strcmp(source, "hyperv_clocksource_tsc_page");
    }
    fclose(f);
  }
  CHECK_EQ(kind, invariant && state == PR_TSC_ENABLE && kernel_tsc ? PRELOAD_CLOCK_TSC : PRELOAD_CLOCK_MONOTONIC);
#else
  CHECK_EQ(kind, PRELOAD_CLOCK_MONOTONIC);
#endif
}

static void test_durations_in_seconds(void) {
  /* within the span that contains it, and no shorter than the sleep (a rate error of 1e-3 would show) */
  for (long ms = 5; ms <= 120; ms *= 4) {
    double outer, s = measured(ms, &outer);
    CHECK_MSG(s >= (double)ms / 1000 * 0.999, "%ld ms measured as %.9f s", ms, s);
    CHECK_MSG(s <= outer * 1.001 + 1e-6, "%ld ms measured as %.9f s, within a span of %.9f s", ms, s, outer);
  }
  CHECK_DBL(preload_clock_seconds(0), 0.0);
}

static void test_forbidding_the_counter(void) {
  preload_clock_forbid_tsc();
  CHECK_EQ(atomic_load(&preload_hot_line.clock_kind), PRELOAD_CLOCK_MONOTONIC);
#if defined(__x86_64__)
  /* the thread may no longer read the counter: the clock must not (rdtsc would raise SIGSEGV) */
  CHECK_EQ(prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0), 0);
#endif
  double outer, s = measured(20, &outer);
#if defined(__x86_64__)
  CHECK_EQ(prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0), 0);
#endif
  CHECK_MSG(s >= 0.02 && s <= outer + 1e-6, "20 ms measured as %.9f s within %.9f s", s, outer);
  /* a later first-timestamp path does not choose again */
  (void)preload_clock_now(NULL);
  CHECK_EQ(atomic_load(&preload_hot_line.clock_kind), PRELOAD_CLOCK_MONOTONIC);
}

/* The rate's windows, with made-up pairs (a counter at 2.5 GHz, then one at 3 GHz): a steady counter gives
 * its rate; a jump spoils one window, which is not used; a real change of rate is taken once two windows
 * agree on it. */
static int near(double a, double b) { return a > b * (1 - 1e-6) && a < b * (1 + 1e-6); }

static void test_rate_windows(void) {
  preload_clock_forget_rate_for_test();
  const int64_t t0 = 1000000000000000LL, n0 = 400000000000000LL; /* far from any real reading */
  preload_clock_calibrate_at(t0, n0);                            /* the window starts here */
  CHECK(preload_clock_rate() == 0);
  preload_clock_calibrate_at(t0 + 2500000, n0 + 1000000); /* 1 ms: too short to measure */
  CHECK(preload_clock_rate() == 0);
  preload_clock_calibrate_at(t0 + 50000000, n0 + 20000000); /* 20 ms at 2.5 GHz */
  CHECK_MSG(near(preload_clock_rate(), 0.4e-9), "rate %.6g", preload_clock_rate());
  /* the counter jumps 1 s ahead within the next window: that window is not used */
  preload_clock_calibrate_at(t0 + 2500000000LL + 100000000, n0 + 40000000);
  CHECK_MSG(near(preload_clock_rate(), 0.4e-9), "rate %.6g", preload_clock_rate());
  /* the next window (from the jump on) is steady again */
  preload_clock_calibrate_at(t0 + 2500000000LL + 150000000, n0 + 60000000);
  CHECK_MSG(near(preload_clock_rate(), 0.4e-9), "rate %.6g", preload_clock_rate());
  /* the counter goes backwards: the window restarts, the rate stays */
  preload_clock_calibrate_at(t0, n0 + 80000000);
  CHECK_MSG(near(preload_clock_rate(), 0.4e-9), "rate %.6g", preload_clock_rate());
  /* from here on 3 GHz: the first window that says so waits for a second opinion, the second confirms it */
  int64_t t = t0, n = n0 + 80000000;
  t += 60000000, n += 20000000;
  preload_clock_calibrate_at(t, n);
  CHECK_MSG(near(preload_clock_rate(), 0.4e-9), "rate %.6g", preload_clock_rate());
  t += 60000000, n += 20000000;
  preload_clock_calibrate_at(t, n);
  CHECK_MSG(near(preload_clock_rate(), 1e-9 / 3), "rate %.6g", preload_clock_rate());
  /* windows restart every 10 s; the rate holds across */
  for (int i = 0; i < 30; i++) {
    t += 1500000000, n += 500000000;
    preload_clock_calibrate_at(t, n);
  }
  CHECK_MSG(near(preload_clock_rate(), 1e-9 / 3), "rate %.6g", preload_clock_rate());
}

int main(void) {
  RUN(test_first_timestamp_chooses);
  RUN(test_durations_in_seconds);
  RUN(test_forbidding_the_counter);
  RUN(test_rate_windows);
  return test_finish();
}
