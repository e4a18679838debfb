/* log.h — the receiver's structured logger: one line per event with time, level, component, message and
 * key/value fields, as text ("console", the default) or JSON (service.telemetry.logs.encoding), written to
 * stderr, stdout or files (output_paths).
 *
 *   2024-05-01T12:00:00.123Z  info  otlp  Starting HTTP server  endpoint=127.0.0.1:4318 port=4318
 *   {"level":"info","ts":"2024-05-01T12:00:00.123Z","component":"otlp","msg":"Starting HTTP server",...}
 *
 * Values of fields whose key looks like a credential (token, password, secret, authorization, api_key) are
 * printed as "[REDACTED]": a safety net, callers must not pass secrets in the first place. Control characters
 * in messages and values are escaped, so a peer cannot forge log lines. Thread-safe: each line is one write. */
#ifndef OTELC_RECEIVER_RUNTIME_LOG_H
#define OTELC_RECEIVER_RUNTIME_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "receiver/config/service_config.h"
#include "receiver/pipeline.h"

typedef struct rt_logger rt_logger;

/* A logger configured from service.telemetry.logs (NULL: info, console, stderr). Output files are opened in
 * append mode; a file that cannot be opened is reported in err. */
rt_logger *rt_logger_new(const telemetry_logs_config *cfg, wire_err *err);
void rt_logger_free(rt_logger *l);
/* Applies a new configuration (SIGHUP reload); on error the old one stays. */
int rt_logger_configure(rt_logger *l, const telemetry_logs_config *cfg, wire_err *err);
/* Sends every line (also) to this file descriptor instead of the configured outputs (tests); -1 restores. */
void rt_logger_redirect(rt_logger *l, int fd);

bool rt_log_enabled(const rt_logger *l, log_level level);
/* Logs one line; after `msg` come key/value string pairs ending with NULL (a NULL value prints as null). */
void rt_log(rt_logger *l, log_level level, const char *component, const char *msg, ...);
void rt_logv(rt_logger *l, log_level level, const char *component, const char *msg, va_list fields);

/* "debug", "info", "warn", "error". */
const char *rt_log_level_name(log_level level);

#endif
