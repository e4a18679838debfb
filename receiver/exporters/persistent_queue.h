/* persistent_queue.h — the on-disk side of an exporter's persistent sending_queue (`sending_queue.storage`
 * naming a file_storage extension): each queued request is one file, written before consume_metrics returns and
 * removed once the request is sent, so that a restart (or a crash) loses nothing that was accepted.
 *
 * Layout: <directory>/<queue name>/ holds one file per record, named by a 64-bit sequence number in hex
 * ("000000000000002a.rec"), so that records sort in arrival order. A record file is
 *   magic "OTQ1" | u32 payload length | u32 CRC-32 of the payload | u32 flags (0) | u64 data points | payload
 * (little-endian), written to "<name>.tmp" and renamed into place (optionally fsync'd, file and directory).
 * On open, records are listed in order; a file whose length does not match its header (a write cut short) or
 * whose header is not one, and leftover .tmp files, are reported through the log and removed; the CRC is
 * checked when the record is read back for sending.
 *
 * The store holds no payload in memory: the in-memory sending_queue keeps only ids, sizes and point counts.
 *
 * Threads: pq_append from the owner's thread; pq_read and pq_remove from any thread (distinct records). */
#ifndef OTELC_RECEIVER_EXPORTERS_PERSISTENT_QUEUE_H
#define OTELC_RECEIVER_EXPORTERS_PERSISTENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "receiver/pipeline.h"
#include "wire/buf.h"
#include "wire/err.h"

#define PQ_HEADER_LEN 24
#define PQ_MAX_RECORD (256u << 20) /* records larger than this are refused (and treated as corrupt on read) */

typedef struct persistent_queue persistent_queue;

/* A record found on disk at open. */
typedef struct pq_record {
  uint64_t id;
  uint64_t points;
  uint32_t len; /* payload bytes */
} pq_record;

/* Opens (creating if needed) the queue directory `<dir>/<name>` — `name` is sanitised to [A-Za-z0-9._-] — and
 * lists the records left by a previous run. `dir` must exist. host/id: where corrupt files are reported (may be
 * NULL). fsync: flush each record (and the directory) to stable storage before pq_append returns. */
persistent_queue *pq_open(const char *dir, const char *name, bool fsync, component_host *host, const char *id,
                          wire_err *err);
void pq_close(persistent_queue *pq);
/* The directory of the queue ("<dir>/<name>"). */
const char *pq_path(const persistent_queue *pq);

/* The records found at open, oldest first (valid until pq_close); *n receives their number. */
const pq_record *pq_recovered(const persistent_queue *pq, size_t *n);
/* Records skipped at open as corrupt or truncated. */
size_t pq_skipped(const persistent_queue *pq);

/* Writes a record and returns its id in *id. Fails with WIRE_E_IO (disk full, permissions: the message says)
 * or WIRE_E_LIMIT (larger than PQ_MAX_RECORD); nothing is left on disk on failure. */
int pq_append(persistent_queue *pq, const void *data, size_t len, uint64_t points, uint64_t *id, wire_err *err);
/* The same for a payload given as n ranges (a batch's raw form, see pipeline.h), written with writev: the record
 * is the ranges' concatenation, exactly as if pq_append had been given it in one buffer. */
int pq_appendv(persistent_queue *pq, const struct iovec *parts, size_t n, uint64_t points, uint64_t *id,
               wire_err *err);
/* Reads record `id` into out (reset first) and checks it: WIRE_E_INVALID when it is truncated or its CRC does
 * not match, WIRE_E_IO when it cannot be read. *points (may be NULL) receives its point count. */
int pq_read(persistent_queue *pq, uint64_t id, wire_buf *out, uint64_t *points, wire_err *err);
/* Deletes record `id` (sent, or dropped for good). */
void pq_remove(persistent_queue *pq, uint64_t id);

#endif
