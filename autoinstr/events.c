/* events.c — the bounded multi-producer ring of finished exchanges and the HTTP/2 active-request counters (see
 * events.h). The ring is Dmitry Vyukov's bounded queue: each cell carries a sequence number that says whose
 * turn it is, producers claim a position with one compare-exchange, and the single consumer needs no atomic
 * read-modify-write at all. */
#include "autoinstr/events.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct ring_cell {
  _Atomic uint64_t seq;
  sniff_event ev;
} ring_cell;

#define RING_MASK (PRELOAD_RING_SIZE - 1)

/* An active-requests counter and whether it was ever used, side by side: an HTTP/2 stream reads and writes both,
 * and on one cache line that is one miss, not two. HTTP/1 requests, the common case, count in their connection
 * (sniffer.h) and only set `touched`, once per method and connection; so the table is off the hot data page. */
typedef struct active_counter {
  _Atomic int32_t n;
  _Atomic bool touched;
} active_counter;
static active_counter g_active[SNIFF_METHOD_COUNT][2][PRELOAD_PORT_SLOTS];
static _Atomic(ring_cell *) g_cells PRELOAD_HOT_DATA;
static _Atomic uint64_t g_enqueue PRELOAD_HOT_DATA; /* next position producers claim */
static uint64_t g_dequeue;         /* next position the consumer reads (consumer only) */
static _Atomic uint64_t g_dropped;
static _Atomic uint32_t g_futex;

static void cells_init(ring_cell *cells) {
  for (uint64_t i = 0; i < PRELOAD_RING_SIZE; i++) atomic_store_explicit(&cells[i].seq, i, memory_order_relaxed);
}

int events_init(void) {
  if (atomic_load_explicit(&g_cells, memory_order_acquire)) return 0;
  void *mem = mmap(NULL, sizeof(ring_cell) * PRELOAD_RING_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -1;
  ring_cell *cells = mem;
  cells_init(cells);
  ring_cell *expected = NULL;
  if (!atomic_compare_exchange_strong(&g_cells, &expected, cells)) {
    munmap(mem, sizeof(ring_cell) * PRELOAD_RING_SIZE);
  }
  return 0;
}

static void futex_wake_one(void) {
  atomic_fetch_add_explicit(&g_futex, 1, memory_order_release);
  syscall(SYS_futex, &g_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

PRELOAD_HOT bool events_push(const sniff_event *ev) {
  ring_cell *cells = atomic_load_explicit(&g_cells, memory_order_acquire);
  if (!cells) {
    atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
    return false;
  }
  uint64_t pos = atomic_load_explicit(&g_enqueue, memory_order_relaxed);
  ring_cell *cell;
  for (;;) {
    cell = &cells[pos & RING_MASK];
    uint64_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
    int64_t dif = (int64_t)(seq - pos);
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(&g_enqueue, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed))
        break;
    } else if (dif < 0) { /* full */
      atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
      return false;
    } else {
      pos = atomic_load_explicit(&g_enqueue, memory_order_relaxed);
    }
  }
  cell->ev = *ev;
  atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
  /* Every quarter of the ring: the consumer should not wait for its timer (events.h, PRELOAD_RING_SIZE). */
  if ((pos & (PRELOAD_RING_WAKE - 1)) == 0 && pos != 0) futex_wake_one();
  return true;
}

size_t events_pop(sniff_event *out, size_t max) {
  ring_cell *cells = atomic_load_explicit(&g_cells, memory_order_acquire);
  if (!cells) return 0;
  size_t n = 0;
  while (n < max) {
    ring_cell *cell = &cells[g_dequeue & RING_MASK];
    uint64_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
    if ((int64_t)(seq - (g_dequeue + 1)) < 0) break; /* empty */
    out[n++] = cell->ev;
    atomic_store_explicit(&cell->seq, g_dequeue + PRELOAD_RING_SIZE, memory_order_release);
    g_dequeue++;
  }
  return n;
}

uint64_t events_dropped(void) { return atomic_load_explicit(&g_dropped, memory_order_relaxed); }

void events_reset(void) {
  ring_cell *cells = atomic_load_explicit(&g_cells, memory_order_acquire);
  if (cells) cells_init(cells);
  atomic_store(&g_enqueue, 0);
  g_dequeue = 0;
  atomic_store(&g_dropped, 0);
  atomic_store(&g_futex, 0);
}

int events_wait(int timeout_ms) {
  uint32_t seen = atomic_load_explicit(&g_futex, memory_order_acquire);
  struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
  return (int)syscall(SYS_futex, &g_futex, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void events_wake(void) { futex_wake_one(); }

void events_active_add(uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  if (method >= SNIFF_METHOD_COUNT || scheme > 1 || port_slot >= PRELOAD_PORT_SLOTS) return;
  active_counter *a = &g_active[method][scheme][port_slot];
  atomic_fetch_add_explicit(&a->n, delta, memory_order_relaxed);
  if (!atomic_load_explicit(&a->touched, memory_order_relaxed)) atomic_store_explicit(&a->touched, true, memory_order_relaxed);
}

void events_active_touch(uint8_t method, uint8_t scheme, uint8_t port_slot) {
  if (method >= SNIFF_METHOD_COUNT || scheme > 1 || port_slot >= PRELOAD_PORT_SLOTS) return;
  atomic_store_explicit(&g_active[method][scheme][port_slot].touched, true, memory_order_relaxed);
}

bool events_active_touched(uint8_t method, uint8_t scheme, uint8_t port_slot) {
  if (method >= SNIFF_METHOD_COUNT || scheme > 1 || port_slot >= PRELOAD_PORT_SLOTS) return false;
  return atomic_load_explicit(&g_active[method][scheme][port_slot].touched, memory_order_relaxed);
}

int64_t events_active_get(uint8_t method, uint8_t scheme, uint8_t port_slot) {
  if (method >= SNIFF_METHOD_COUNT || scheme > 1 || port_slot >= PRELOAD_PORT_SLOTS) return 0;
  return atomic_load_explicit(&g_active[method][scheme][port_slot].n, memory_order_relaxed);
}
