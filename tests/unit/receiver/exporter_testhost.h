/* exporter_testhost.h — a component_host for the exporter and sending-queue tests (header only, one instance per
 * test program): records log lines, sums otelcol_* counters, keeps the last gauge values, and serves a
 * file_storage extension's config by id. Thread-safe like the real host (consumers call it from their threads). */
#ifndef OTELC_TESTS_EXPORTER_TESTHOST_H
#define OTELC_TESTS_EXPORTER_TESTHOST_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/pipeline.h"
#include "testlib.h"

#define TH_MAX_METRICS 32

typedef struct th_metric {
  char name[96];
  int64_t value;
} th_metric;

typedef struct test_host {
  component_host host;
  pthread_mutex_t mu;
  char log[1 << 16];
  size_t log_len;
  th_metric counters[TH_MAX_METRICS], gauges[TH_MAX_METRICS];
  const char *storage_id;
  void *storage_state;
  bool quiet;
} test_host;

static test_host th_host = {.mu = PTHREAD_MUTEX_INITIALIZER};

static inline void th_log(component_host *h, log_level level, const char *component, const char *msg, ...) {
  (void)h;
  static const char *const names[] = {"debug", "info", "warn", "error"};
  char line[2048];
  int n = snprintf(line, sizeof line, "%s %s: %s", names[level], component ? component : "-", msg);
  va_list ap;
  va_start(ap, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    if (n > 0 && (size_t)n < sizeof line) n += snprintf(line + n, sizeof line - (size_t)n, " %s=%s", k, v ? v : "");
  }
  va_end(ap);
  pthread_mutex_lock(&th_host.mu);
  if (!th_host.quiet) fprintf(stderr, "  [log] %s\n", line);
  size_t l = strlen(line);
  if (th_host.log_len + l + 2 < sizeof th_host.log) {
    memcpy(th_host.log + th_host.log_len, line, l);
    th_host.log_len += l;
    th_host.log[th_host.log_len++] = '\n';
    th_host.log[th_host.log_len] = 0;
  }
  pthread_mutex_unlock(&th_host.mu);
}

static inline th_metric *th_slot(th_metric *v, const char *name) {
  for (int i = 0; i < TH_MAX_METRICS; i++) {
    if (!strcmp(v[i].name, name)) return &v[i];
    if (!v[i].name[0]) {
      snprintf(v[i].name, sizeof v[i].name, "%s", name);
      return &v[i];
    }
  }
  return &v[TH_MAX_METRICS - 1];
}

static inline void th_count(component_host *h, const char *metric, const char *id, uint64_t n) {
  (void)h;
  (void)id;
  pthread_mutex_lock(&th_host.mu);
  th_slot(th_host.counters, metric)->value += (int64_t)n;
  pthread_mutex_unlock(&th_host.mu);
}

static inline void th_gauge(component_host *h, const char *metric, const char *id, int64_t v) {
  (void)h;
  (void)id;
  pthread_mutex_lock(&th_host.mu);
  th_slot(th_host.gauges, metric)->value = v;
  pthread_mutex_unlock(&th_host.mu);
}

static inline void *th_extension(component_host *h, const char *id) {
  (void)h;
  return th_host.storage_id && id && !strcmp(id, th_host.storage_id) ? th_host.storage_state : NULL;
}

/* Resets the records and returns the host. */
static inline component_host *th_reset(void) {
  pthread_mutex_lock(&th_host.mu);
  th_host.host.log = th_log;
  th_host.host.count = th_count;
  th_host.host.gauge = th_gauge;
  th_host.host.extension = th_extension;
  th_host.log_len = 0;
  th_host.log[0] = 0;
  memset(th_host.counters, 0, sizeof th_host.counters);
  memset(th_host.gauges, 0, sizeof th_host.gauges);
  pthread_mutex_unlock(&th_host.mu);
  return &th_host.host;
}

static inline int64_t th_counter(const char *name) {
  pthread_mutex_lock(&th_host.mu);
  int64_t v = 0;
  for (int i = 0; i < TH_MAX_METRICS; i++)
    if (!strcmp(th_host.counters[i].name, name)) v = th_host.counters[i].value;
  pthread_mutex_unlock(&th_host.mu);
  return v;
}

static inline int64_t th_gauge_value(const char *name) {
  pthread_mutex_lock(&th_host.mu);
  int64_t v = -1;
  for (int i = 0; i < TH_MAX_METRICS; i++)
    if (!strcmp(th_host.gauges[i].name, name)) v = th_host.gauges[i].value;
  pthread_mutex_unlock(&th_host.mu);
  return v;
}

static inline bool th_log_has(const char *needle) {
  pthread_mutex_lock(&th_host.mu);
  bool has = strstr(th_host.log, needle) != NULL;
  pthread_mutex_unlock(&th_host.mu);
  return has;
}

/* ---- one exporter driven directly by a test, on th_host ---- */

typedef struct exporter {
  const component_hooks *hooks;
  void *state; /* NULL when not created, or stopped */
} exporter;

/* Creates and starts an exporter (CHECKs both steps). */
static inline exporter start_exporter(const component_hooks *hooks, const char *id, const void *cfg) {
  exporter e = {.hooks = hooks};
  component_create_args a = {.id = id, .kind = COMPONENT_EXPORTER, .config = cfg, .host = &th_host.host};
  wire_err err;
  wire_err_clear(&err);
  int rc = hooks->create(&a, &e.state, &err);
  CHECK_MSG(rc == 0, "create: %s", err.msg);
  if (rc == 0) CHECK_MSG(hooks->start(e.state, &err) == 0, "start: %s", err.msg);
  return e;
}

/* Shuts the exporter down (graceful: CHECKed to succeed; otherwise not at all) and destroys it. */
static inline void stop_exporter(exporter *e, bool graceful) {
  wire_err err;
  if (!e->state) return;
  if (graceful) CHECK_EQ(e->hooks->shutdown(e->state, &err), 0);
  e->hooks->destroy(e->state);
  e->state = NULL;
}

/* Waits (bounded, 10 s) until the exporter's counters say `points` were sent. */
static inline bool wait_sent(int64_t points) {
  for (int i = 0; i < 10000 && th_counter("otelcol_exporter_sent_metric_points") < points; i++) usleep(1000);
  return th_counter("otelcol_exporter_sent_metric_points") >= points;
}

/* Waits (bounded, 10 s) until some points are counted as failed; returns how many. */
static inline int64_t wait_failed(void) {
  for (int i = 0; i < 10000 && th_counter("otelcol_exporter_send_failed_metric_points") == 0; i++) usleep(1000);
  return th_counter("otelcol_exporter_send_failed_metric_points");
}

#endif
