/* events.h — the hand-off between the host's I/O threads and the shim's own thread: finished exchanges go
 * into a bounded lock-free ring (one compare-exchange per event, no allocation, no lock, no system call
 * unless the ring is filling up and the consumer must be woken), and in-flight requests are counted in a
 * small table of atomic counters that the collection reads.
 *
 * The recording thread therefore never touches the SDK: instruments, attribute hashing and series creation
 * all happen on the shim's thread (events_drain), which is what keeps interposed calls signal-safe and cheap.
 * When the ring is full, events are dropped and counted (events_dropped). */
#ifndef OTELC_AUTOINSTR_EVENTS_H
#define OTELC_AUTOINSTR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autoinstr/fdtable.h"
#include "autoinstr/sniffer.h"

#define PRELOAD_RING_SIZE 16384 /* events; a power of two */

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
/* A futex word the consumer sleeps on: events_push bumps it and wakes the consumer when the ring is half full. */
int events_wait(int timeout_ms);
void events_wake(void);

/* In-flight requests per method, scheme and port slot. */
void events_active_add(uint8_t method, uint8_t scheme, uint8_t port_slot, int delta);
int64_t events_active_get(uint8_t method, uint8_t scheme, uint8_t port_slot);
/* Has this combination ever counted a request in this process? (Reported from then on, zero included.) */
bool events_active_touched(uint8_t method, uint8_t scheme, uint8_t port_slot);

#endif
