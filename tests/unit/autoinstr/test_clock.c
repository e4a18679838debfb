/* test_clock.c — the shim's request clock (autoinstr/clock.h): the choice made at the first timestamp, the
 * conversion of a duration to seconds against CLOCK_MONOTONIC (whichever clock was chosen), and the switch to
 * CLOCK_MONOTONIC before a thread forbids itself the time-stamp counter. Each duration is bracketed by two
 * CLOCK_MONOTONIC reads, so the checks hold however the scheduler delays the test: they test units and
 * arithmetic, not speed. */
#define _GNU_SOURCE
#include <stdint.h>
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
  /* TSC exactly when the CPU calls its counter invariant (the flag Linux shows as nonstop_tsc) */
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
  int invariant = 0;
  if (a >= 0x80000007u) {
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u), "c"(0));
    invariant = (d >> 8) & 1;
  }
  CHECK_EQ(kind, invariant && state == PR_TSC_ENABLE ? PRELOAD_CLOCK_TSC : PRELOAD_CLOCK_MONOTONIC);
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

int main(void) {
  RUN(test_first_timestamp_chooses);
  RUN(test_durations_in_seconds);
  RUN(test_forbidding_the_counter);
  return test_finish();
}
