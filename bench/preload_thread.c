/* preload_thread.c — a benchmark instrument, not part of the product: a preload library that only starts one
 * thread, which sleeps. Beside the shim (the `thread` configuration of bench_preload_attrib.sh) it prices being
 * a multi-threaded process, which the shim's lazily started thread makes the host (docs/performance.md,
 * "What 2 % buys"). */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg) {
  for (;;) sleep(1000);
  return arg;
}

__attribute__((constructor)) static void start(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, idle, NULL) == 0) pthread_detach(t);
}
