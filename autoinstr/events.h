/* events.h — the hand-off between the host's I/O threads and the shim's own thread: finished exchanges go
 * into a bounded lock-free ring (one compare-exchange per event, no allocation, no lock, no system call
 * unless the ring is filling up and the consumer must be woken), and in-flight HTTP/2 requests are counted in
 * a small table of atomic counters that the collection reads (HTTP/1 requests in their connection, sniffer.h).
 *
 * The host's threads therefore never touch the SDK: instruments, attribute hashing and series creation all
 * happen on the shim's thread (metrics.c, drain), which is what keeps interposed calls signal-safe and cheap.
 * When the ring is full, events are dropped and counted (events_dropped; exported as
 * otelc.autoinstr.exchanges.dropped). */
#ifndef OTELC_AUTOINSTR_EVENTS_H
#define OTELC_AUTOINSTR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autoinstr/fdtable.h"
#include "autoinstr/sniffer.h"

/* Events; a power of two. Small on purpose: a cell is written once per request, and in a ring larger than the
 * core's L2 (16,384 cells, 768 KiB, before) every such write is a miss to memory. 2,048 and 4,096 cells (96
 * and 192 KiB) measured alike and about a point of nginx throughput better than 16,384 in three of four runs
 * here (docs/performance.md, "The event ring and the cache"); 4,096 for the room. Room: the consumer drains
 * every 20 ms while requests flow and is woken each time a quarter of the ring has been filled, so ~3,000 more
 * exchanges must end before it runs for any to be lost (15 ms at 200,000 requests/s; then they are counted,
 * events_dropped). Overridable at build time for experiments. */
#ifndef PRELOAD_RING_SIZE
#define PRELOAD_RING_SIZE 4096
#endif
#define PRELOAD_RING_WAKE (PRELOAD_RING_SIZE / 4) /* pushes between two wake-ups of the consumer */

/* Maps the ring (once; mmap). Returns 0, or -1 when mmap fails. Safe to call from several threads. */
int events_init(void);
/* Queues one event (multi-producer). False when the ring is full or not mapped (the event is dropped). */
bool events_push(const sniff_event *ev);
/* Pops up to max events into out (single consumer). Returns how many. */
size_t events_pop(sniff_event *out, size_t max);
/* Events dropped because the ring was full. */
uint64_t events_dropped(void);
/* Empties the ring and forgets the drop count (a forked child: the parent's events are the parent's). */
void events_reset(void);
/* A futex word the consumer sleeps on: events_push bumps it and wakes the consumer every PRELOAD_RING_WAKE pushes. */
int events_wait(int timeout_ms);
void events_wake(void);

/* In-flight HTTP/2 requests per method, scheme and port slot (HTTP/1 requests are counted in their connection,
 * sniffer.h: the observer adds those). */
void events_active_add(uint8_t method, uint8_t scheme, uint8_t port_slot, int delta);
int64_t events_active_get(uint8_t method, uint8_t scheme, uint8_t port_slot);
/* Remembers that this combination counted a request (events_active_add does it too). */
void events_active_touch(uint8_t method, uint8_t scheme, uint8_t port_slot);
/* Has this combination ever counted a request in this process? (Reported from then on, zero included.) */
bool events_active_touched(uint8_t method, uint8_t scheme, uint8_t port_slot);

#endif
