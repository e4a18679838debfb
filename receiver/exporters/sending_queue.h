/* sending_queue.h — the bounded queue between an exporter's consume_metrics (the loop thread) and the threads
 * that send, with the Collector's exporterhelper policies: `sending_queue` (bounded, num_consumers) and
 * `retry_on_failure` (exponential backoff with jitter, bounded by max_elapsed_time, at least the delay the server
 * asked for).
 *
 * The queue knows nothing of protocols: an item is an opaque payload plus its size and point count, and the
 * exporter supplies callbacks (sq_ops) that make one attempt to send an item on a consumer thread. The queue
 *   - refuses an item when full (sending_queue_push fails with WIRE_E_LIMIT: the receiver answers with a
 *     retryable refusal) and counts otelcol_exporter_enqueue_failed_metric_points;
 *   - runs num_consumers threads, each with its own worker state (its own connection);
 *   - retries retryable failures, gives up on permanent ones or when max_elapsed_time would pass, and counts
 *     otelcol_exporter_sent_metric_points / otelcol_exporter_send_failed_metric_points;
 *   - keeps otelcol_exporter_queue_size and otelcol_exporter_queue_capacity up to date;
 *   - on shutdown stops taking, drains within a deadline, joins its threads, and hands back what is left
 *     (SQ_FATE_UNSENT: dropped, or kept by a persistent queue for the next start).
 * Log lines about failures are rate-limited (one per second per queue, with a count of the ones left out).
 *
 * Threads: push/size/shutdown from the owner's thread (the loop); ops callbacks run on consumer threads, except
 * finish() for items never dequeued, which runs in sending_queue_shutdown. host->log, ->count and ->gauge are
 * called from consumer threads. */
#ifndef OTELC_RECEIVER_EXPORTERS_SENDING_QUEUE_H
#define OTELC_RECEIVER_EXPORTERS_SENDING_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "receiver/pipeline.h"
#include "wire/err.h"

typedef struct sending_queue sending_queue;

/* One queued request. */
typedef struct sq_item {
  void *data;      /* the exporter's payload (e.g. a component_metrics reference), may be NULL */
  uint64_t id;     /* the exporter's id for it (persistent queue record), free for the exporter to use */
  uint64_t points; /* data points it carries (counters) */
  uint64_t size;   /* its size in the queue's unit (1 per request, points, or bytes); 0 counts as 1 */
} sq_item;

/* What one attempt came to. */
typedef enum sq_outcome {
  SQ_SENT,      /* delivered (including a partial success: the backend has it) */
  SQ_RETRYABLE, /* worth another attempt (OTLP's retryable statuses, connection trouble) */
  SQ_PERMANENT, /* never worth retrying (bad request, auth, malformed item) */
} sq_outcome;

typedef struct sq_attempt {
  sq_outcome outcome;
  int64_t retry_after_ns; /* the server's requested delay (Retry-After, RetryInfo), -1 when none */
  char reason[640];       /* why it failed, for the log (never payloads or header values) */
} sq_attempt;

/* How an item left the queue. */
typedef enum sq_fate {
  SQ_FATE_SENT,   /* delivered */
  SQ_FATE_FAILED, /* dropped: permanent failure, retries exhausted, or prepare failed */
  SQ_FATE_UNSENT, /* not delivered when the queue shut down (a persistent queue keeps it) */
} sq_fate;

typedef struct sq_ops {
  /* Per-consumer state (a connection), made in sending_queue_start on the caller's thread. Optional. */
  void *(*worker_new)(void *ctx, unsigned index, wire_err *err);
  void (*worker_free)(void *ctx, void *worker);
  /* Called once per item before its first attempt (encode, compress, read from disk). Optional. -1 (err set):
   * the item is dropped as SQ_FATE_FAILED. */
  int (*prepare)(void *ctx, void *worker, sq_item *item, wire_err *err);
  /* One attempt, bounded by deadline_ns (absolute monotonic). Must fill *out. Required. */
  void (*attempt)(void *ctx, void *worker, sq_item *item, int64_t deadline_ns, sq_attempt *out);
  /* The item leaves the queue; release its payload. worker is NULL for items finished at shutdown without a
   * consumer. Required. */
  void (*finish)(void *ctx, void *worker, sq_item *item, sq_fate fate);
} sq_ops;

typedef struct sq_config {
  const char *id;         /* component id, for logs and self-telemetry ("otlp/backend") */
  component_host *host;   /* log, count and gauge; NULL: silent */
  uint64_t capacity;      /* in the unit of sq_item.size; >= 1 */
  unsigned num_consumers; /* >= 1 */
  int64_t attempt_timeout_ns; /* per attempt; 0: 30 s */
  bool retry_enabled;
  int64_t initial_interval_ns;
  int64_t max_interval_ns;
  int64_t max_elapsed_ns;     /* 0: retry forever */
  double multiplier;          /* >= 1 */
  double randomization_factor; /* 0..1 */
  bool unsent_kept;           /* a persistent queue keeps unsent items: not counted as send failures */
} sq_config;

/* Makes a stopped queue (no thread yet). The config is copied (id too). */
sending_queue *sending_queue_new(const sq_config *cfg, const sq_ops *ops, void *ctx, wire_err *err);
/* Makes the workers and starts the consumer threads. */
int sending_queue_start(sending_queue *q, wire_err *err);
/* Appends an item. Fails with WIRE_E_LIMIT when the queue is full (unless `force`: items recovered from a
 * persistent queue at start go in whatever the capacity) and WIRE_E_CLOSED after shutdown began; on failure the
 * item stays the caller's (and enqueue_failed is counted for refusals). */
int sending_queue_push(sending_queue *q, const sq_item *item, bool force, wire_err *err);
/* Current size (sum of item sizes, in flight excluded) and capacity. */
uint64_t sending_queue_size(sending_queue *q);
uint64_t sending_queue_capacity(const sending_queue *q);
/* Items queued or being sent. */
size_t sending_queue_pending(sending_queue *q);
/* Stops taking items, lets the consumers send what is queued until drain_deadline_ns (absolute monotonic; an
 * attempt started before may run to its own deadline), then stops them and finishes whatever is left as
 * SQ_FATE_UNSENT. Idempotent. Returns the number of items left unsent. */
size_t sending_queue_shutdown(sending_queue *q, int64_t drain_deadline_ns);
/* Shuts down (with an immediate deadline) if needed, frees the workers and the queue. NULL is fine. */
void sending_queue_free(sending_queue *q);

/* The backoff delay before retry number `retry` (1 = the first retry): initial * multiplier^(retry-1) capped at
 * max_interval, then randomised by ±randomization_factor. `rng` is the caller's xorshift state (nonzero). */
int64_t sending_queue_backoff_ns(const sq_config *cfg, unsigned retry, uint64_t *rng);

#endif
