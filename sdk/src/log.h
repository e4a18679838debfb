/* log.h — libotelc's internal logger: levelled, rate-limited per message site, to stderr or a handler.
 *
 * OTELC_LOG(level, fmt, ...) keeps a static state per call site: the first line goes out, then at most one
 * line per site every 10 seconds, the next one saying how many were suppressed. Never pass header values,
 * tokens or payloads as arguments. */
#ifndef OTELC_SDK_LOG_H
#define OTELC_SDK_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "otelc/otelc.h"

typedef struct otelc_log_site {
  _Atomic int64_t next_ns;       /* monotonic time before which this site stays quiet */
  _Atomic uint32_t suppressed;   /* lines dropped since the last one printed */
} otelc_log_site;

void otelc_log_at(otelc_log_level level, otelc_log_site *site, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True if `level` would be printed (cheap; lets callers skip formatting work). */
bool otelc_log_enabled(otelc_log_level level);
/* Reads OTEL_LOG_LEVEL once (idempotent; also done lazily by the first log call). */
void otelc_log_init_from_env(void);

#define OTELC_LOG(level, ...)                         \
  do {                                                \
    static otelc_log_site otelc_site_;                \
    otelc_log_at((level), &otelc_site_, __VA_ARGS__); \
  } while (0)
#define OTELC_DEBUG(...) OTELC_LOG(OTELC_LOG_DEBUG, __VA_ARGS__)
#define OTELC_INFO(...) OTELC_LOG(OTELC_LOG_INFO, __VA_ARGS__)
#define OTELC_WARN(...) OTELC_LOG(OTELC_LOG_WARN, __VA_ARGS__)
#define OTELC_ERROR(...) OTELC_LOG(OTELC_LOG_ERROR, __VA_ARGS__)

#endif
