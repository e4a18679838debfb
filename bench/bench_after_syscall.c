/* bench_after_syscall.c — what the preload shim's per-call operations cost right after a system call, which is
 * where the shim runs them (the first request byte just read, a response just written). On a host with
 * page-table isolation and no PCID every system call flushes the TLB and the kernel's path evicts much of L1,
 * so an operation costs more here than in a hot loop of itself; these are the figures the shim's design
 * decisions rest on (docs/performance.md, "The clock" and what follows it).
 *
 * A loop of getppid() alone is the baseline; each row is the same loop with one operation after every call:
 *   CLOCK_MONOTONIC    clock_gettime (libc, which calls the vDSO)
 *   rdtsc              the time-stamp counter (x86-64)
 *   xchg + store       a busy flag taken with an atomic exchange and given back with a release store (the
 *                      shim's connection entry and exit)
 *   plain stores       the same flag with two plain stores (not safe between threads: the comparison)
 *   lock cmpxchg       a compare-exchange on a ring index (the shim's event push)
 *   4 code pages       calls to four functions on four different pages
 *   4 data pages       one load from each of four different pages
 * Rounds alternate the loops; the median of the per-round differences from the baseline is printed. Nothing
 * is asserted.
 *
 *   build/rel/bench/bench_after_syscall [rounds]      (default 9) */
#include <stdatomic.h>
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
enum { BASE, MONO, TSC, XCHG, PLAIN, CMPXCHG, CODE4, DATA4, OPS };
static const char *const k_names[OPS] = {"system call (getppid)", "+ CLOCK_MONOTONIC", "+ rdtsc",
                                         "+ xchg + release store",  "+ two plain stores", "+ lock cmpxchg",
                                         "+ calls on 4 code pages", "+ loads from 4 data pages"};

static struct {
  _Alignas(64) _Atomic int busy;
  _Alignas(64) _Atomic uint64_t index;
} g_words;
static _Alignas(4096) volatile uint64_t g_pages[4][512];
static volatile uint64_t g_sink;

#define PAGE_FN(n) \
  __attribute__((noinline, aligned(4096))) static uint64_t on_page_##n(uint64_t x) { return x * (n + 3) + 1; }
PAGE_FN(0)
PAGE_FN(1)
PAGE_FN(2)
PAGE_FN(3)

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per iteration of: a system call, then the operation `op` */
static double loop(int op) {
  struct timespec ts;
  double t0 = now_ns();
  for (int i = 0; i < CALLS; i++) {
    g_sink += (uint64_t)syscall(SYS_getppid);
    switch (op) {
    case MONO:
      clock_gettime(CLOCK_MONOTONIC, &ts);
      g_sink += (uint64_t)ts.tv_nsec;
      break;
#if defined(__x86_64__)
    case TSC: g_sink += __rdtsc(); break;
#endif
    case XCHG:
      if (atomic_exchange_explicit(&g_words.busy, 1, memory_order_acquire) == 0)
        atomic_store_explicit(&g_words.busy, 0, memory_order_release);
      break;
    case PLAIN:
      atomic_store_explicit(&g_words.busy, 1, memory_order_relaxed);
      __asm__ volatile("" ::: "memory");
      atomic_store_explicit(&g_words.busy, 0, memory_order_relaxed);
      break;
    case CMPXCHG: {
      uint64_t e = atomic_load_explicit(&g_words.index, memory_order_relaxed);
      atomic_compare_exchange_strong(&g_words.index, &e, e + 1);
      break;
    }
    case CODE4: g_sink += on_page_3(on_page_2(on_page_1(on_page_0((uint64_t)i)))); break;
    case DATA4: g_sink += g_pages[0][i & 511] + g_pages[1][i & 511] + g_pages[2][i & 511] + g_pages[3][i & 511]; break;
    default: break;
    }
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
  int rounds = argc > 1 ? atoi(argv[1]) : 9;
  if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 9;
  static double t[OPS][MAX_ROUNDS];
  for (int r = 0; r < rounds; r++)
    for (int op = 0; op < OPS; op++) t[op][r] = loop(op);
  double base[MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) base[r] = t[BASE][r];
  printf("%-28s %8.1f ns (median of %d rounds)\n", k_names[BASE], median(base, rounds), rounds);
  for (int op = 1; op < OPS; op++) {
#if !defined(__x86_64__)
    if (op == TSC) continue;
#endif
    double d[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) d[r] = t[op][r] - t[BASE][r];
    printf("%-28s %+8.1f ns\n", k_names[op], median(d, rounds));
  }
  return 0;
}
