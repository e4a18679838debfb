/* log.c — the internal logger (see log.h): level from OTEL_LOG_LEVEL, one line per site per 10 s. */
#include "sdk/src/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/clock.h"

#define LOG_SITE_INTERVAL_NS (10LL * 1000000000LL)

static _Atomic int g_level = -1; /* -1: not read from the environment yet */
static _Atomic(otelc_log_fn) g_handler;
static _Atomic(void *) g_handler_user;

static const char *level_name(otelc_log_level l) {
  switch (l) {
  case OTELC_LOG_DEBUG: return "debug";
  case OTELC_LOG_INFO: return "info";
  case OTELC_LOG_WARN: return "warn";
  case OTELC_LOG_ERROR: return "error";
  default: return "none";
  }
}

void otelc_log_init_from_env(void) {
  const char *v = getenv("OTEL_LOG_LEVEL");
  int level = OTELC_LOG_INFO;
  bool bad = false;
  if (v && *v) {
    if (!strcasecmp(v, "debug") || !strcasecmp(v, "trace")) level = OTELC_LOG_DEBUG;
    else if (!strcasecmp(v, "info")) level = OTELC_LOG_INFO;
    else if (!strcasecmp(v, "warn") || !strcasecmp(v, "warning")) level = OTELC_LOG_WARN;
    else if (!strcasecmp(v, "error") || !strcasecmp(v, "fatal")) level = OTELC_LOG_ERROR;
    else if (!strcasecmp(v, "none") || !strcasecmp(v, "off")) level = OTELC_LOG_NONE;
    else bad = true;
  }
  int expected = -1;
  atomic_compare_exchange_strong(&g_level, &expected, level);
  if (bad) OTELC_WARN("OTEL_LOG_LEVEL: unknown level (want debug|info|warn|error|none); using info");
}

void otelc_set_log_level(otelc_log_level level) { atomic_store(&g_level, (int)level); }

void otelc_set_log_handler(otelc_log_fn fn, void *user) {
  atomic_store(&g_handler_user, user);
  atomic_store(&g_handler, fn);
}

bool otelc_log_enabled(otelc_log_level level) {
  int cur = atomic_load_explicit(&g_level, memory_order_relaxed);
  if (cur < 0) {
    otelc_log_init_from_env();
    cur = atomic_load(&g_level);
  }
  return level != OTELC_LOG_NONE && (int)level >= cur;
}

void otelc_log_at(otelc_log_level level, otelc_log_site *site, const char *fmt, ...) {
  if (!otelc_log_enabled(level)) return;
  int64_t now = wire_now_ns();
  int64_t next = atomic_load_explicit(&site->next_ns, memory_order_relaxed);
  if (next != 0 && now < next) {
    atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
    return;
  }
  /* One thread wins the right to print for this window. */
  if (!atomic_compare_exchange_strong(&site->next_ns, &next, now + LOG_SITE_INTERVAL_NS)) {
    atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
    return;
  }
  uint32_t suppressed = atomic_exchange(&site->suppressed, 0);

  char line[768];
  int off = snprintf(line, sizeof line, "otelc: %s: ", level_name(level));
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
  va_end(ap);
  size_t used = (size_t)off + (n < 0 ? 0 : (size_t)n);
  if (used >= sizeof line) used = sizeof line - 1;
  if (suppressed > 0) {
    snprintf(line + used, sizeof line - used, " (%u similar lines suppressed)", suppressed);
  }
  otelc_log_fn fn = atomic_load(&g_handler);
  if (fn) {
    fn(level, line, atomic_load(&g_handler_user));
  } else {
    fprintf(stderr, "%s\n", line);
  }
}
