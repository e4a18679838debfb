/* sending_queue.c — the bounded queue, consumer threads and retry loop behind the network exporters (see
 * sending_queue.h).
 *
 * Layout: a ring of sq_item values (no allocation per item; the ring doubles when a sizer other than "requests"
 * lets more items in), one mutex, two condition variables (`work` wakes consumers, `idle` wakes a draining
 * shutdown). Consumers take an item, prepare it, then loop on attempts; a retry waits on `work` with a timeout so
 * that a shutdown whose drain deadline has passed interrupts the wait at once.
 *
 * The retry policy is the Collector's (exporterhelper's retry sender over cenkalti/backoff): delays grow from
 * initial_interval by `multiplier` up to max_interval, each randomised by ±randomization_factor; the server's
 * delay (Retry-After, RetryInfo) is used when longer; the item is dropped when the next wait would take the time
 * since the first attempt past max_elapsed_time. */
#include "receiver/exporters/sending_queue.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/clock.h"

#define DEFAULT_ATTEMPT_TIMEOUT_NS (30LL * 1000000000LL)
#define LOG_INTERVAL_NS 1000000000LL /* at most one failure line per second per queue */

struct sending_queue {
  sq_config cfg;
  char *id;
  sq_ops ops;
  void *ctx;

  pthread_mutex_t mu;
  pthread_cond_t work; /* items arrived, or shutdown */
  pthread_cond_t idle; /* an item finished (for the draining shutdown) */
  pthread_cond_t abort_cv; /* retry waits: the drain deadline passed */
  sq_item *ring;
  size_t ring_cap, head, count;
  uint64_t used;      /* sum of queued item sizes */
  size_t in_flight;   /* items taken by consumers and not finished */
  bool closing;       /* no more pushes */
  bool aborting;      /* drain deadline passed: consumers stop */
  bool started, shut_down;
  int64_t drain_deadline_ns;

  pthread_t *threads;
  void **workers;
  unsigned nthreads;

  /* failure log rate limit */
  pthread_mutex_t log_mu;
  int64_t last_log_ns;
  uint64_t suppressed;
};

/* ---- small helpers ------------------------------------------------------------------------------------- */

static uint64_t item_size(const sq_item *it) { return it->size ? it->size : 1; }

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void format_duration(int64_t ns, char *out, size_t n) {
  if (ns < 1000000000LL) snprintf(out, n, "%lldms", (long long)(ns / 1000000));
  else snprintf(out, n, "%.3gs", (double)ns / 1e9);
}

static void count(sending_queue *q, const char *metric, uint64_t n) {
  if (q->cfg.host && q->cfg.host->count && n) q->cfg.host->count(q->cfg.host, metric, q->id, n);
}

static void gauge_size(sending_queue *q, uint64_t used) {
  if (q->cfg.host && q->cfg.host->gauge)
    q->cfg.host->gauge(q->cfg.host, "otelcol_exporter_queue_size", q->id, (int64_t)used);
}

/* A failure log line, at most one per LOG_INTERVAL_NS (warnings about dropped data are never suppressed). */
static void log_failure(sending_queue *q, log_level level, bool always, const char *msg, const char *reason,
                        const char *k2, const char *v2) {
  component_host *h = q->cfg.host;
  if (!h || !h->log) return;
  char suppressed[32] = "";
  pthread_mutex_lock(&q->log_mu);
  int64_t now = wire_now_ns();
  bool emit = always || q->last_log_ns == 0 || now - q->last_log_ns >= LOG_INTERVAL_NS;
  if (emit) {
    if (!always) q->last_log_ns = now;
    if (q->suppressed) snprintf(suppressed, sizeof suppressed, "%" PRIu64, q->suppressed);
    q->suppressed = 0;
  } else {
    q->suppressed++;
  }
  pthread_mutex_unlock(&q->log_mu);
  if (!emit) return;
  if (suppressed[0])
    h->log(h, level, q->id, msg, "error", reason, k2, v2, "similar_lines_suppressed", suppressed, (char *)NULL);
  else h->log(h, level, q->id, msg, "error", reason, k2, v2, (char *)NULL);
}

int64_t sending_queue_backoff_ns(const sq_config *cfg, unsigned retry, uint64_t *rng) {
  double interval = (double)cfg->initial_interval_ns;
  double mult = cfg->multiplier < 1 ? 1 : cfg->multiplier;
  double cap = cfg->max_interval_ns > 0 ? (double)cfg->max_interval_ns : 9e18;
  for (unsigned i = 1; i < retry && interval < cap; i++) interval *= mult;
  if (interval > cap) interval = cap;
  double f = cfg->randomization_factor;
  if (f < 0) f = 0;
  if (f > 1) f = 1;
  double r = (double)(xorshift(rng) >> 11) / (double)(1ull << 53); /* [0, 1) */
  double v = interval - f * interval + r * (2 * f * interval + 1);
  if (v < 0) v = 0;
  if (v > 9e18) v = 9e18;
  return (int64_t)v;
}

/* ---- the ring ------------------------------------------------------------------------------------------ */

static int ring_grow(sending_queue *q) {
  size_t ncap = q->ring_cap ? q->ring_cap * 2 : 16;
  sq_item *n = malloc(ncap * sizeof *n);
  if (!n) return -1;
  for (size_t i = 0; i < q->count; i++) n[i] = q->ring[(q->head + i) % q->ring_cap];
  free(q->ring);
  q->ring = n;
  q->ring_cap = ncap;
  q->head = 0;
  return 0;
}

static void ring_pop(sending_queue *q, sq_item *out) {
  *out = q->ring[q->head];
  q->head = (q->head + 1) % q->ring_cap;
  q->count--;
  q->used -= item_size(out);
}

/* ---- consumers ----------------------------------------------------------------------------------------- */

typedef struct consumer_arg {
  sending_queue *q;
  unsigned index;
} consumer_arg;

/* Waits on cv (with mu held) for at most `left_ns`: condvar timeouts are CLOCK_REALTIME by default, so the remaining
 * monotonic time is added to the realtime clock. */
static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t left_ns) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = ts.tv_nsec + left_ns % 1000000000LL;
  ts.tv_sec += left_ns / 1000000000LL + ns / 1000000000LL;
  ts.tv_nsec = ns % 1000000000LL;
  pthread_cond_timedwait(cv, mu, &ts);
}

/* Waits until `until_ns` or until the queue aborts. Called with q->mu held. Returns true when aborted. */
static bool wait_or_abort(sending_queue *q, int64_t until_ns) {
  while (!q->aborting) {
    int64_t now = wire_now_ns();
    if (now >= until_ns) return false;
    timed_wait(&q->abort_cv, &q->mu, until_ns - now);
  }
  return true;
}

/* Sends one item: prepare, attempts, retries. Returns its fate. Called without the lock. */
static sq_fate send_item(sending_queue *q, void *worker, sq_item *it, uint64_t *rng) {
  wire_err err;
  wire_err_clear(&err);
  if (q->ops.prepare && q->ops.prepare(q->ctx, worker, it, &err) < 0) {
    char pts[32];
    snprintf(pts, sizeof pts, "%" PRIu64, it->points);
    log_failure(q, LOG_ERROR, true, "Exporting failed. Dropping data.", err.msg, "dropped_items", pts);
    return SQ_FATE_FAILED;
  }
  int64_t timeout = q->cfg.attempt_timeout_ns > 0 ? q->cfg.attempt_timeout_ns : DEFAULT_ATTEMPT_TIMEOUT_NS;
  int64_t first = wire_now_ns();
  for (unsigned attempt = 1;; attempt++) {
    int64_t now = wire_now_ns();
    int64_t deadline = now + timeout;
    pthread_mutex_lock(&q->mu);
    bool aborting = q->aborting;
    if (q->closing && q->drain_deadline_ns && q->drain_deadline_ns < deadline) deadline = q->drain_deadline_ns;
    pthread_mutex_unlock(&q->mu);
    if (aborting) return SQ_FATE_UNSENT;

    sq_attempt res = {.outcome = SQ_PERMANENT, .retry_after_ns = -1};
    q->ops.attempt(q->ctx, worker, it, deadline, &res);
    if (res.outcome == SQ_SENT) return SQ_FATE_SENT;

    char pts[32];
    snprintf(pts, sizeof pts, "%" PRIu64, it->points);
    if (res.outcome == SQ_PERMANENT) {
      log_failure(q, LOG_ERROR, true, "Exporting failed. The error is not retryable. Dropping data.", res.reason,
                  "dropped_items", pts);
      return SQ_FATE_FAILED;
    }
    if (!q->cfg.retry_enabled) {
      log_failure(q, LOG_ERROR, true, "Exporting failed. Retries are disabled. Dropping data.", res.reason,
                  "dropped_items", pts);
      return SQ_FATE_FAILED;
    }
    int64_t delay = sending_queue_backoff_ns(&q->cfg, attempt, rng);
    if (res.retry_after_ns > delay) delay = res.retry_after_ns;
    now = wire_now_ns();
    if (q->cfg.max_elapsed_ns > 0 && now - first + delay > q->cfg.max_elapsed_ns) {
      log_failure(q, LOG_ERROR, true, "Exporting failed. No more retries left (max_elapsed_time). Dropping data.",
                  res.reason, "dropped_items", pts);
      return SQ_FATE_FAILED;
    }
    char iv[32];
    format_duration(delay, iv, sizeof iv);
    log_failure(q, LOG_INFO, false, "Exporting failed. Will retry the request after interval.", res.reason,
                "interval", iv);
    pthread_mutex_lock(&q->mu);
    bool aborted = wait_or_abort(q, now + delay);
    pthread_mutex_unlock(&q->mu);
    if (aborted) return SQ_FATE_UNSENT;
  }
}

static void finish_item(sending_queue *q, void *worker, sq_item *it, sq_fate fate) {
  switch (fate) {
  case SQ_FATE_SENT: count(q, "otelcol_exporter_sent_metric_points", it->points); break;
  case SQ_FATE_FAILED: count(q, "otelcol_exporter_send_failed_metric_points", it->points); break;
  case SQ_FATE_UNSENT:
    if (!q->cfg.unsent_kept) count(q, "otelcol_exporter_send_failed_metric_points", it->points);
    break;
  }
  q->ops.finish(q->ctx, worker, it, fate);
}

static void *consumer_main(void *p) {
  consumer_arg *a = p;
  sending_queue *q = a->q;
  void *worker = q->workers ? q->workers[a->index] : NULL;
  uint64_t rng = (uint64_t)wire_now_ns() ^ ((uint64_t)(a->index + 1) * 0x9E3779B97F4A7C15ull);
  free(a);
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (q->count == 0 && !q->closing && !q->aborting) pthread_cond_wait(&q->work, &q->mu);
    if (q->aborting || q->count == 0) break; /* aborted, or closing with nothing left */
    sq_item it;
    ring_pop(q, &it);
    q->in_flight++;
    gauge_size(q, q->used); /* under the lock: published in the order the size changed */
    pthread_mutex_unlock(&q->mu);

    sq_fate fate = send_item(q, worker, &it, &rng);
    finish_item(q, worker, &it, fate);

    pthread_mutex_lock(&q->mu);
    q->in_flight--;
    pthread_cond_broadcast(&q->idle);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* ---- public -------------------------------------------------------------------------------------------- */

sending_queue *sending_queue_new(const sq_config *cfg, const sq_ops *ops, void *ctx, wire_err *err) {
  if (!ops || !ops->attempt || !ops->finish) {
    wire_err_set(err, WIRE_E_INVALID, "sending queue: attempt and finish callbacks are required");
    return NULL;
  }
  sending_queue *q = calloc(1, sizeof *q);
  if (!q) {
    wire_err_set(err, WIRE_E_NOMEM, "sending queue: out of memory");
    return NULL;
  }
  q->cfg = *cfg;
  if (q->cfg.capacity < 1) q->cfg.capacity = 1;
  if (q->cfg.num_consumers < 1) q->cfg.num_consumers = 1;
  if (q->cfg.multiplier < 1) q->cfg.multiplier = 1;
  q->id = strdup(cfg->id ? cfg->id : "exporter");
  q->cfg.id = q->id;
  q->ops = *ops;
  q->ctx = ctx;
  pthread_mutex_init(&q->mu, NULL);
  pthread_mutex_init(&q->log_mu, NULL);
  pthread_cond_init(&q->work, NULL);
  pthread_cond_init(&q->idle, NULL);
  pthread_cond_init(&q->abort_cv, NULL);
  if (!q->id || ring_grow(q) < 0) {
    sending_queue_free(q);
    wire_err_set(err, WIRE_E_NOMEM, "sending queue: out of memory");
    return NULL;
  }
  if (q->cfg.host && q->cfg.host->gauge) {
    q->cfg.host->gauge(q->cfg.host, "otelcol_exporter_queue_capacity", q->id, (int64_t)q->cfg.capacity);
    q->cfg.host->gauge(q->cfg.host, "otelcol_exporter_queue_size", q->id, 0);
  }
  return q;
}

int sending_queue_start(sending_queue *q, wire_err *err) {
  if (q->started) return 0;
  unsigned n = q->cfg.num_consumers;
  q->workers = calloc(n, sizeof *q->workers);
  q->threads = calloc(n, sizeof *q->threads);
  if (!q->workers || !q->threads) return wire_err_set(err, WIRE_E_NOMEM, "sending queue: out of memory");
  if (q->ops.worker_new) {
    for (unsigned i = 0; i < n; i++) {
      q->workers[i] = q->ops.worker_new(q->ctx, i, err);
      if (!q->workers[i]) return -1; /* workers made so far are freed by sending_queue_free */
    }
  }
  q->started = true;
  for (unsigned i = 0; i < n; i++) {
    consumer_arg *a = malloc(sizeof *a);
    if (!a) return wire_err_set(err, WIRE_E_NOMEM, "sending queue: out of memory");
    a->q = q;
    a->index = i;
    int rc = pthread_create(&q->threads[i], NULL, consumer_main, a);
    if (rc != 0) {
      free(a);
      return wire_err_set(err, WIRE_E_NOMEM, "sending queue %s: cannot start consumer thread: %s", q->id,
                          strerror(rc));
    }
    q->nthreads++;
  }
  return 0;
}

int sending_queue_push(sending_queue *q, const sq_item *item, bool force, wire_err *err) {
  pthread_mutex_lock(&q->mu);
  if (q->closing) {
    pthread_mutex_unlock(&q->mu);
    return wire_err_set(err, WIRE_E_CLOSED, "exporter %s is shutting down", q->id);
  }
  uint64_t sz = item_size(item);
  if (!force && q->used + sz > q->cfg.capacity) {
    uint64_t used = q->used;
    pthread_mutex_unlock(&q->mu);
    count(q, "otelcol_exporter_enqueue_failed_metric_points", item->points);
    return wire_err_set(err, WIRE_E_LIMIT, "sending queue of %s is full (%" PRIu64 " of %" PRIu64 " used)", q->id,
                        used, q->cfg.capacity);
  }
  if (q->count == q->ring_cap && ring_grow(q) < 0) {
    pthread_mutex_unlock(&q->mu);
    count(q, "otelcol_exporter_enqueue_failed_metric_points", item->points);
    return wire_err_set(err, WIRE_E_NOMEM, "sending queue of %s: out of memory", q->id);
  }
  q->ring[(q->head + q->count) % q->ring_cap] = *item;
  q->count++;
  q->used += sz;
  gauge_size(q, q->used); /* under the lock, so that a consumer's newer value is never overwritten */
  pthread_cond_signal(&q->work);
  pthread_mutex_unlock(&q->mu);
  return 0;
}

uint64_t sending_queue_size(sending_queue *q) {
  pthread_mutex_lock(&q->mu);
  uint64_t u = q->used;
  pthread_mutex_unlock(&q->mu);
  return u;
}

uint64_t sending_queue_capacity(const sending_queue *q) { return q->cfg.capacity; }

size_t sending_queue_pending(sending_queue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->count + q->in_flight;
  pthread_mutex_unlock(&q->mu);
  return n;
}

/* Waits on `idle` until the deadline (monotonic). Called with the lock held. */
static void wait_idle_until(sending_queue *q, int64_t until_ns) {
  int64_t now = wire_now_ns();
  if (now >= until_ns) return;
  timed_wait(&q->idle, &q->mu, until_ns - now);
}

size_t sending_queue_shutdown(sending_queue *q, int64_t drain_deadline_ns) {
  pthread_mutex_lock(&q->mu);
  if (q->shut_down) {
    pthread_mutex_unlock(&q->mu);
    return 0;
  }
  q->closing = true;
  q->drain_deadline_ns = drain_deadline_ns;
  pthread_cond_broadcast(&q->work);
  if (q->nthreads > 0) {
    while ((q->count > 0 || q->in_flight > 0) && wire_now_ns() < drain_deadline_ns)
      wait_idle_until(q, drain_deadline_ns);
  }
  q->aborting = true;
  pthread_cond_broadcast(&q->work);
  pthread_cond_broadcast(&q->abort_cv);
  pthread_mutex_unlock(&q->mu);

  for (unsigned i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
  q->nthreads = 0;

  /* No consumer is left: hand back what is still queued. */
  size_t left = 0;
  for (;;) {
    pthread_mutex_lock(&q->mu);
    if (q->count == 0) {
      q->shut_down = true;
      pthread_mutex_unlock(&q->mu);
      break;
    }
    sq_item it;
    ring_pop(q, &it);
    pthread_mutex_unlock(&q->mu);
    finish_item(q, NULL, &it, SQ_FATE_UNSENT);
    left++;
  }
  gauge_size(q, 0);
  return left;
}

void sending_queue_free(sending_queue *q) {
  if (!q) return;
  sending_queue_shutdown(q, wire_now_ns());
  if (q->workers && q->ops.worker_free)
    for (unsigned i = 0; i < q->cfg.num_consumers; i++)
      if (q->workers[i]) q->ops.worker_free(q->ctx, q->workers[i]);
  free(q->workers);
  free(q->threads);
  free(q->ring);
  pthread_mutex_destroy(&q->mu);
  pthread_mutex_destroy(&q->log_mu);
  pthread_cond_destroy(&q->work);
  pthread_cond_destroy(&q->idle);
  pthread_cond_destroy(&q->abort_cv);
  free(q->id);
  free(q);
}
