/* preload_spin.c — a benchmark instrument, not part of the product: a preload library that, after each recv()
 * that returned bytes, burns SPIN_NS nanoseconds (default 500) of a dependent multiply-add chain — registers
 * only, no memory touched, no system call. Run beside the shim (bench_preload.sh SPIN=..., and the spinN
 * configurations of bench_preload_attrib.sh), it prices plain user-space work on the machine at hand: the
 * throughput a server loses for N ns of work per request, so the 2 % target reads as a budget in ns there
 * (docs/performance.md, "What 2 % buys"). One iteration's time is measured in the constructor over 20 ms, so
 * the burn is in ns whatever the clock rate (and under load, when the core is shared, it takes longer: that
 * is part of what it prices). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

static ssize_t (*next_recv)(int, void *, size_t, int);
static long iterations;
volatile uint64_t preload_spin_sink;

__attribute__((noinline)) static uint64_t burn(long n, uint64_t x) {
  for (long i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__("" : "+r"(x));
  }
  return x;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

__attribute__((constructor)) static void init(void) {
  next_recv = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
  const char *e = getenv("SPIN_NS");
  double want = e ? atof(e) : 500, t0 = now_ns(), t1;
  long n = 0;
  do {
    preload_spin_sink = burn(100000, (uint64_t)n);
    n += 100000;
    t1 = now_ns();
  } while (t1 - t0 < 2e7);
  iterations = (long)(want * (double)n / (t1 - t0));
}

__attribute__((visibility("default"))) ssize_t recv(int fd, void *buf, size_t len, int flags) {
  ssize_t r = next_recv(fd, buf, len, flags);
  if (r > 0) preload_spin_sink = burn(iterations, (uint64_t)r);
  return r;
}
