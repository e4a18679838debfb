/* fdtable.h — which file descriptors the preload shim watches, and the memory of the watched connections.
 *
 * The table is indexed by fd: one atomic word per fd, 0 for every fd the shim knows nothing about, so an
 * interposed read() on any other fd costs one load. A word is either a connection pointer (an accepted HTTP
 * candidate) or, tagged with its low bit, what is cached about a listening socket (below): one table, so that
 * close() — which nginx calls for every file it serves — looks at one page, not two. A connection may be reachable through
 * several fds (dup/dup2: busybox httpd moves the accepted socket to fds 0 and 1); it counts its references
 * and is released when the last one is closed.
 *
 * Connections come from a pool of fixed-size slots in mmap'd chunks with a lock-free free list, so taking
 * and giving back a slot never calls malloc or takes a lock (a close() in a signal handler stays safe).
 *
 * The table also caches, per listening fd, whether accept() on it yields HTTP candidates (TCP or Unix stream
 * sockets) and the local port, so that accept pays the getsockname/getsockopt calls once per listening
 * socket, not once per connection. */
#ifndef OTELC_AUTOINSTR_FDTABLE_H
#define OTELC_AUTOINSTR_FDTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "autoinstr/sniffer.h"

#define PRELOAD_MAX_FD (1 << 18)        /* fds at or above this are never watched */
#define PRELOAD_POOL_CHUNK 256          /* connections per mmap'd chunk */
#define PRELOAD_POOL_CHUNKS 256         /* at most 65536 connections watched at once */

/* Cache-line aligned, and what every watched call touches first: busy and lost, then the sniffer's hot fields
 * (sniffer.h, "Field order"), so that a call on a simple exchange reads and writes two lines of its connection
 * (hot.h, why lines count). The pool's bookkeeping comes last. */
typedef struct __attribute__((aligned(64))) preload_conn {
  _Atomic uint32_t busy;  /* a thread is inside the sniffer for this connection */
  _Atomic uint32_t lost;  /* two threads met here: bytes were missed, stop watching */
  sniff_conn s;
  _Atomic uint32_t refs;  /* fds that point here */
  /* Pool free list: index + 1 of the next free slot, 0 for none. Atomic (relaxed) because a thread popping the
   * stack may read it while another pushes the slot back: the value read can be stale, and the tagged CAS on
   * the head then fails and retries, but the read itself must not be a data race. */
  _Atomic uint32_t next_free;
  uint32_t index;         /* this slot's index in the pool */
} preload_conn;

/* fd -> connection pointer, or (listening-socket info << 1) | 1, or 0. The words of the first
 * PRELOAD_LOW_FDS fds sit on the hot data page (layout.h), beside the words every interposed call reads
 * anyway, so that a server with few connections (most of them) looks up its fds without touching one more
 * page per call; the others are in a table of their own. */
#define PRELOAD_LOW_FDS 384 /* 3 KiB: with the other hot globals still one page (autoinstr_layout.sh checks) */
extern _Atomic uintptr_t preload_fd_low[PRELOAD_LOW_FDS];
extern _Atomic uintptr_t preload_fd_high[PRELOAD_MAX_FD - PRELOAD_LOW_FDS];

/* fd's word; fd < PRELOAD_MAX_FD. */
static inline _Atomic uintptr_t *fdt_word(unsigned fd) {
  return fd < PRELOAD_LOW_FDS ? &preload_fd_low[fd] : &preload_fd_high[fd - PRELOAD_LOW_FDS];
}

/* The connection watched on fd, or NULL. */
static inline preload_conn *fdt_get(int fd) {
  if ((unsigned)fd >= PRELOAD_MAX_FD) return 0;
  uintptr_t v = atomic_load_explicit(fdt_word((unsigned)fd), memory_order_acquire);
  return (v & 1) ? NULL : (preload_conn *)v;
}

/* Does the table hold anything for fd (a connection or listening-socket info)? close() asks. */
static inline bool fdt_known(int fd) {
  return (unsigned)fd < PRELOAD_MAX_FD && atomic_load_explicit(fdt_word((unsigned)fd), memory_order_relaxed) != 0;
}

/* Takes a slot from the pool (refs = 1, sniffer state uninitialised). NULL when the pool is exhausted or
 * mmap fails. */
preload_conn *fdt_conn_alloc(void);
/* Gives a slot back (its refs must be 0). */
void fdt_conn_free(preload_conn *c);

/* Makes fd point at c (c->refs is not changed: the caller counts). Returns the connection that fd pointed
 * at before (a stale entry, e.g. an fd closed behind the shim's back), or NULL; listening-socket info held
 * for fd is dropped. fd must be < PRELOAD_MAX_FD. */
preload_conn *fdt_set(int fd, preload_conn *c);
/* Clears fd's entry (connection or listening-socket info) and returns the connection it pointed at (or NULL). */
preload_conn *fdt_take(int fd);
/* Adds a reference to c for one more fd. */
static inline void fdt_conn_ref(preload_conn *c) { atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); }
/* Drops one reference; true when it was the last (the caller finishes and frees the connection). */
static inline bool fdt_conn_unref(preload_conn *c) {
  return atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1;
}

/* Enters the connection's sniffer for this thread; false if another thread is inside (the connection is
 * then marked lost). */
static inline bool fdt_conn_enter(preload_conn *c) {
  if (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire) == 0) return true;
  atomic_store_explicit(&c->lost, 1, memory_order_relaxed);
  return false;
}
static inline void fdt_conn_leave(preload_conn *c) { atomic_store_explicit(&c->busy, 0, memory_order_release); }

/* Listening-socket cache: 0 unknown, else PRELOAD_LISTEN_* flags with the port in the low 16 bits. */
#define PRELOAD_LISTEN_KNOWN (1u << 31)
#define PRELOAD_LISTEN_HTTP (1u << 30) /* accepted sockets are watched */
#define PRELOAD_LISTEN_UNIX (1u << 29)
uint32_t fdt_listen_get(int fd);
/* Caches info for listening fd (not when fd holds a connection); 0 forgets it. */
void fdt_listen_set(int fd, uint32_t info);
/* Forget what is known about listening fd (it was closed or replaced). */
static inline void fdt_listen_forget(int fd) { fdt_listen_set(fd, 0); }

/* Small index of distinct server ports (for the active-requests counters): slot of port, allocated on first
 * sight; slot 0 is Unix sockets; PRELOAD_PORT_SLOTS - 1 collects ports beyond the table. */
#define PRELOAD_PORT_SLOTS 16
uint8_t fdt_port_slot(uint16_t port);
uint16_t fdt_slot_port(uint8_t slot); /* 0 for slot 0 and for unused slots */

/* Calls fn(c, user) for every connection taken from the pool and not given back (at exit: finish what is
 * open; at each collection: sum the open requests). Safe while other threads take and give back slots: a slot
 * freed or taken during the walk may be seen either way. */
void fdt_for_each_live(void (*fn)(preload_conn *c, void *user), void *user);

/* Connections currently taken from the pool (for tests). */
uint32_t fdt_conns_in_use(void);

#endif
