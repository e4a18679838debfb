/* reader.c — the periodic exporting metric reader: its thread (every OTEL_METRIC_EXPORT_INTERVAL, each export
 * bounded by OTEL_METRIC_EXPORT_TIMEOUT), collect + encode + export, force_flush and shutdown.
 *
 * There is no queue: each export sends what one collection produced, and a failed batch is not kept (with
 * cumulative temporality the next collection carries the whole state again), so memory stays bounded however
 * long the endpoint is down. Exports never overlap: collect_mu is held from collection to the end of export. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sdk/src/internal.h"
#include "sdk/src/log.h"
#include "wire/clock.h"

static struct timespec mono_ts(int64_t ns) {
  struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
  return ts;
}

/* Locks collect_mu until the monotonic deadline (pthread_mutex_timedlock takes a CLOCK_REALTIME time; the
 * conversion is done once, so a wall-clock jump only shifts this one wait). */
static int lock_until(pthread_mutex_t *mu, int64_t deadline_ns) {
  if (pthread_mutex_trylock(mu) == 0) return 0;
  int64_t left = deadline_ns - wire_now_ns();
  if (left < 0) left = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t abs_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + left;
  ts.tv_sec = abs_ns / 1000000000LL;
  ts.tv_nsec = abs_ns % 1000000000LL;
  return pthread_mutex_timedlock(mu, &ts);
}

int otelc_collect_and_export(otelc_meter_provider *p, int64_t deadline_ns) {
  if (lock_until(&p->collect_mu, deadline_ns) != 0) {
    OTELC_WARN("flush: another export is still running past the deadline");
    return OTELC_E_TIMEOUT;
  }
  size_t n_metrics, n_points;
  wire_buf_reset(&p->encoded);
  int rc = OTELC_OK;
  if (otelc_collect(p, &p->encoded, &n_metrics, &n_points) != 0) {
    rc = OTELC_E_NOMEM;
    goto out;
  }
  if (n_points == 0 || !p->exporter) goto out;
  /* The request is encoded straight from the series (collect.c): there is no decoded form to hand over; the
   * console exporter decodes the bytes itself. */
  otelc_export_batch batch = {.data = p->encoded.data, .len = p->encoded.len, .n_metrics = n_metrics,
                              .n_points = n_points, .request = NULL, .provider = p};
  int64_t t0 = wire_now_ns();
  otelc_export_result r = p->exporter->export_batch(p->exporter, &batch, deadline_ns);
  double seconds = (double)(wire_now_ns() - t0) / 1e9;
  otelc_health_export_done(p, r, n_points, seconds);
  if (r != OTELC_EXPORT_SUCCESS) {
    OTELC_WARN("exporter %s: export of %zu points failed (%s); %s", p->exporter->name ? p->exporter->name : "?",
               n_points, r == OTELC_EXPORT_RETRYABLE ? "retryable" : "permanent",
               "the next collection carries cumulative values again");
    rc = OTELC_E_EXPORT;
  }
out:
  /* Keep the big arena chunk for the next collection but not the structs. */
  pthread_mutex_unlock(&p->collect_mu);
  return rc;
}

static void *reader_main(void *arg) {
  otelc_meter_provider *p = arg;
  pthread_mutex_lock(&p->reader_mu);
  int64_t interval = p->interval_ms * 1000000LL;
  int64_t next = wire_now_ns() + interval;
  while (!p->stop) {
    struct timespec ts = mono_ts(next);
    int rc = pthread_cond_timedwait(&p->reader_cv, &p->reader_mu, &ts);
    if (p->stop) break;
    if (rc != ETIMEDOUT && wire_now_ns() < next) continue;
    pthread_mutex_unlock(&p->reader_mu);
    int64_t now = wire_now_ns();
    otelc_collect_and_export(p, now + p->timeout_ms * 1000000LL);
    pthread_mutex_lock(&p->reader_mu);
    next += interval;
    now = wire_now_ns();
    if (next <= now) next = now + interval; /* an export overran: skip, do not burst */
  }
  pthread_mutex_unlock(&p->reader_mu);
  return NULL;
}

/* Caller holds reader_mu. */
int otelc_reader_start(otelc_meter_provider *p) {
  if (p->thread_running || p->interval_ms <= 0 || !p->exporter) return OTELC_OK;
  /* The reader thread takes no signals: the application's handlers run on its own threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  p->stop = false;
  int rc = pthread_create(&p->thread, NULL, reader_main, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    OTELC_ERROR("cannot start the reader thread (%s); metrics are exported only on flush", strerror(rc));
    return OTELC_E_STATE;
  }
  p->thread_running = true;
  return OTELC_OK;
}

void otelc_reader_stop(otelc_meter_provider *p) {
  pthread_mutex_lock(&p->reader_mu);
  bool running = p->thread_running;
  p->stop = true;
  pthread_cond_broadcast(&p->reader_cv);
  p->thread_running = false;
  pthread_mutex_unlock(&p->reader_mu);
  if (running) pthread_join(p->thread, NULL);
}

static int64_t deadline_from(const otelc_meter_provider *p, int64_t timeout_ms) {
  if (timeout_ms < 0) timeout_ms = p->timeout_ms;
  return wire_now_ns() + timeout_ms * 1000000LL;
}

int otelc_meter_provider_force_flush(otelc_meter_provider *p, int64_t timeout_ms) {
  if (!p || p->disabled) return OTELC_OK;
  otelc_fork_check(p);
  pthread_mutex_lock(&p->reader_mu);
  bool down = p->shut_down;
  pthread_mutex_unlock(&p->reader_mu);
  if (down) return OTELC_E_STATE;
  int64_t deadline = deadline_from(p, timeout_ms);
  int rc = otelc_collect_and_export(p, deadline);
  if (p->exporter && p->exporter->force_flush) {
    int frc = p->exporter->force_flush(p->exporter, deadline);
    if (rc == OTELC_OK && frc != OTELC_OK) rc = frc;
  }
  return rc;
}

int otelc_meter_provider_shutdown(otelc_meter_provider *p, int64_t timeout_ms) {
  if (!p) return OTELC_E_INVALID;
  if (p->disabled) return OTELC_OK;
  otelc_fork_check(p);
  pthread_mutex_lock(&p->reader_mu);
  if (p->shut_down) {
    pthread_mutex_unlock(&p->reader_mu);
    return OTELC_E_STATE;
  }
  p->shut_down = true;
  pthread_mutex_unlock(&p->reader_mu);
  otelc_reader_stop(p);
  int64_t deadline = deadline_from(p, timeout_ms);
  int rc = otelc_collect_and_export(p, deadline);
  p->final_exported = true;
  if (p->exporter && p->exporter->shutdown) p->exporter->shutdown(p->exporter, deadline);
  return rc;
}
