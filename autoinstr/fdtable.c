/* fdtable.c — the fd → connection table, the connection pool and the listening-socket cache (see fdtable.h).
 *
 * The pool's free list is a Treiber stack whose head packs a 32-bit tag with the slot index, so that a slot
 * popped and pushed back between another thread's load and compare-exchange cannot fool it (ABA). Chunks are
 * mmap'd on demand and never returned: the pool's size is the high-water mark of watched connections. */
#include "autoinstr/fdtable.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

_Atomic uintptr_t preload_fd_low[PRELOAD_LOW_FDS] PRELOAD_HOT_DATA;
_Atomic uintptr_t preload_fd_high[PRELOAD_MAX_FD - PRELOAD_LOW_FDS];
_Static_assert(sizeof(uintptr_t) >= 8, "a listening-socket word holds 32 bits of info above the tag bit");

static _Atomic(preload_conn *) g_chunks[PRELOAD_POOL_CHUNKS];
static _Atomic uint64_t g_free_head; /* tag << 32 | (index + 1); 0 in the low half: empty */
static _Atomic uint32_t g_next_fresh; /* slots ever handed out from fresh chunk space */
static _Atomic uint32_t g_in_use;
static _Atomic uint16_t g_ports[PRELOAD_PORT_SLOTS]; /* slot -> port; slot 0 is Unix */

static preload_conn *slot_at(uint32_t index) {
  preload_conn *chunk = atomic_load_explicit(&g_chunks[index / PRELOAD_POOL_CHUNK], memory_order_acquire);
  return chunk ? &chunk[index % PRELOAD_POOL_CHUNK] : NULL;
}

static preload_conn *ensure_chunk(uint32_t ci) {
  preload_conn *chunk = atomic_load_explicit(&g_chunks[ci], memory_order_acquire);
  if (chunk) return chunk;
  void *mem = mmap(NULL, sizeof(preload_conn) * PRELOAD_POOL_CHUNK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return NULL;
  preload_conn *expected = NULL;
  if (!atomic_compare_exchange_strong(&g_chunks[ci], &expected, (preload_conn *)mem)) {
    munmap(mem, sizeof(preload_conn) * PRELOAD_POOL_CHUNK); /* another thread mapped it first */
    return expected;
  }
  return mem;
}

preload_conn *fdt_conn_alloc(void) {
  preload_conn *c = NULL;
  uint64_t head = atomic_load_explicit(&g_free_head, memory_order_acquire);
  while ((uint32_t)head != 0) {
    preload_conn *top = slot_at((uint32_t)head - 1);
    uint64_t next = ((head >> 32) + 1) << 32 | atomic_load_explicit(&top->next_free, memory_order_relaxed);
    if (atomic_compare_exchange_weak_explicit(&g_free_head, &head, next, memory_order_acq_rel,
                                              memory_order_acquire)) {
      c = top;
      break;
    }
  }
  if (!c) {
    uint32_t index = atomic_fetch_add(&g_next_fresh, 1);
    if (index >= (uint32_t)PRELOAD_POOL_CHUNK * PRELOAD_POOL_CHUNKS) {
      atomic_fetch_sub(&g_next_fresh, 1);
      return NULL;
    }
    preload_conn *chunk = ensure_chunk(index / PRELOAD_POOL_CHUNK);
    if (!chunk) {
      /* The index is lost for good; harmless, and mmap failing means bigger trouble anyway. */
      return NULL;
    }
    c = &chunk[index % PRELOAD_POOL_CHUNK];
    c->index = index;
  }
  atomic_store_explicit(&c->refs, 1, memory_order_relaxed);
  atomic_store_explicit(&c->busy, 0, memory_order_relaxed);
  atomic_store_explicit(&c->lost, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&g_in_use, 1, memory_order_relaxed);
  return c;
}

void fdt_conn_free(preload_conn *c) {
  if (!c) return;
  atomic_fetch_sub_explicit(&g_in_use, 1, memory_order_relaxed);
  uint64_t head = atomic_load_explicit(&g_free_head, memory_order_acquire);
  for (;;) {
    atomic_store_explicit(&c->next_free, (uint32_t)head, memory_order_relaxed);
    uint64_t next = ((head >> 32) + 1) << 32 | (c->index + 1);
    if (atomic_compare_exchange_weak_explicit(&g_free_head, &head, next, memory_order_acq_rel,
                                              memory_order_acquire))
      return;
  }
}

static preload_conn *conn_of(uintptr_t v) { return (v & 1) ? NULL : (preload_conn *)v; }

preload_conn *fdt_set(int fd, preload_conn *c) {
  return conn_of(atomic_exchange_explicit(fdt_word((unsigned)fd), (uintptr_t)c, memory_order_acq_rel));
}

preload_conn *fdt_take(int fd) {
  if ((unsigned)fd >= PRELOAD_MAX_FD) return NULL;
  if (!atomic_load_explicit(fdt_word((unsigned)fd), memory_order_relaxed)) return NULL;
  return conn_of(atomic_exchange_explicit(fdt_word((unsigned)fd), 0, memory_order_acq_rel));
}

uint32_t fdt_listen_get(int fd) {
  if ((unsigned)fd >= PRELOAD_MAX_FD) return 0;
  uintptr_t v = atomic_load_explicit(fdt_word((unsigned)fd), memory_order_relaxed);
  return (v & 1) ? (uint32_t)(v >> 1) : 0;
}

void fdt_listen_set(int fd, uint32_t info) {
  if ((unsigned)fd >= PRELOAD_MAX_FD) return;
  uintptr_t v = atomic_load_explicit(fdt_word((unsigned)fd), memory_order_relaxed);
  for (;;) {
    if (v != 0 && !(v & 1)) return; /* a connection lives on this fd: it is not a listening socket */
    uintptr_t want = info ? ((uintptr_t)info << 1) | 1 : 0;
    if (v == want) return;
    if (atomic_compare_exchange_weak_explicit(fdt_word((unsigned)fd), &v, want, memory_order_relaxed,
                                              memory_order_relaxed))
      return;
  }
}

uint8_t fdt_port_slot(uint16_t port) {
  if (port == 0) return 0;
  for (uint8_t i = 1; i < PRELOAD_PORT_SLOTS - 1; i++) {
    uint16_t cur = atomic_load_explicit(&g_ports[i], memory_order_relaxed);
    if (cur == port) return i;
    if (cur == 0) {
      uint16_t expected = 0;
      if (atomic_compare_exchange_strong(&g_ports[i], &expected, port) || expected == port) return i;
    }
  }
  return PRELOAD_PORT_SLOTS - 1;
}

uint16_t fdt_slot_port(uint8_t slot) {
  if (slot == 0 || slot >= PRELOAD_PORT_SLOTS - 1) return 0;
  return atomic_load_explicit(&g_ports[slot], memory_order_relaxed);
}

uint32_t fdt_conns_in_use(void) { return atomic_load_explicit(&g_in_use, memory_order_relaxed); }

void fdt_for_each_live(void (*fn)(preload_conn *c, void *user), void *user) {
  uint32_t n = atomic_load(&g_next_fresh);
  for (uint32_t i = 0; i < n; i++) {
    preload_conn *c = slot_at(i);
    if (c && atomic_load_explicit(&c->refs, memory_order_acquire) > 0) fn(c, user);
  }
}
