/* bench_clock.c — what one clock read costs right after a system call, the place where the preload shim reads
 * its clock (autoinstr/clock.h): the first request byte has just been read, the last response byte just
 * written. A loop of getppid() alone is the baseline; the same loop with one CLOCK_MONOTONIC read (libc, which
 * goes to the vDSO), and with one rdtsc on x86-64, after each call. On a host with page-table isolation and no
 * PCID every system call flushes the TLB, so the clock's pages (vDSO code, its data, a hypervisor's clock page)
 * are walked again each time; a hot loop of reads alone does not show that. Rounds alternate the three loops;
 * the median added ns per read is printed. Nothing is asserted.
 *
 *   build/rel/bench/bench_clock [rounds]      (default 7) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

enum { CALLS = 200000, MAX_ROUNDS = 64 };

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint64_t g_sink;

/* ns per iteration of: a system call, then `what` (0: nothing, 1: CLOCK_MONOTONIC, 2: rdtsc) */
static double loop(int what) {
  struct timespec ts;
  double t0 = now_ns();
  for (int i = 0; i < CALLS; i++) {
    g_sink += (uint64_t)syscall(SYS_getppid);
    if (what == 1) {
      clock_gettime(CLOCK_MONOTONIC, &ts);
      g_sink += (uint64_t)ts.tv_nsec;
    }
#if defined(__x86_64__)
    if (what == 2) g_sink += __rdtsc();
#endif
  }
  return (now_ns() - t0) / CALLS;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 7;
  if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 7;
  double base[MAX_ROUNDS], mono[MAX_ROUNDS], tsc[MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    double b = loop(0), m = loop(1), t = loop(2);
    base[r] = b;
    mono[r] = m - b;
    tsc[r] = t - b;
  }
  printf("system call (getppid)            %7.1f ns\n", median(base, rounds));
  printf("+ CLOCK_MONOTONIC after it       %+7.1f ns per read (median of %d rounds)\n", median(mono, rounds), rounds);
#if defined(__x86_64__)
  printf("+ rdtsc after it                 %+7.1f ns per read\n", median(tsc, rounds));
#endif
  return 0;
}
