/* hot.h — the one cache line of globals that every watched call reads.
 *
 * Why one struct: the kernel's own path between two system calls evicts most of L1, so each distinct 64-byte
 * line the shim touches after a call returns is close to one cache miss, and on this kind of path misses cost
 * more than instructions (docs/performance.md, "Cache lines"). Scattered over interpose.c and metrics.c these
 * words sat on five lines of the hot data page (bench/bench_preload_pages.sh counts them per object); in one
 * aligned struct, in the order below, they are one line. Only words read on every watched call belong here;
 * autoinstr_layout.sh checks that the struct still fits one line. */
#ifndef OTELC_AUTOINSTR_HOT_H
#define OTELC_AUTOINSTR_HOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "autoinstr/layout.h"
#include "autoinstr/sniffer.h"

typedef int (*preload_vdso_clock_fn)(clockid_t, struct timespec *);

typedef struct preload_hot {
  sniff_sink sink;                  /* the sink every watched connection reports to (metrics.c) */
  preload_vdso_clock_fn vdso_clock; /* the vDSO's clock_gettime, NULL: libc's (clock.c) */
  /* &t_in_shim and &errno minus the thread pointer, measured by the constructor; 0 before (interpose.c) */
  int32_t tls_guard, tls_errno;
  _Atomic int state;                /* the recording thread: ST_IDLE, ST_STARTING... (metrics.c) */
  _Atomic bool enabled;             /* the shim works (false after OTELC_AUTOINSTR=off or a failure) */
  _Atomic bool cancel_possible;     /* interposers go through libc's wrappers from now on (interpose.c) */
  _Atomic uint8_t clock_kind;       /* PRELOAD_CLOCK_*: what the sink's timestamps are (clock.h) */
} preload_hot;

enum { PRELOAD_CLOCK_UNDECIDED = 0, PRELOAD_CLOCK_MONOTONIC, PRELOAD_CLOCK_TSC };

_Static_assert(sizeof(preload_hot) <= 64, "preload_hot must stay one cache line");

/* Defined in metrics.c, on the hot data page, aligned to its line. */
extern preload_hot preload_hot_line;

#endif
