/* service_config.h — the `service:` section: which extensions run, the pipelines, and self-telemetry.
 *
 *   service:
 *     extensions: [health_check, bearertokenauth/in]
 *     pipelines:                     # decoded by service.c (keys are pipeline ids)
 *       metrics: {receivers: [...], processors: [...], exporters: [...]}
 *     telemetry:
 *       logs:    {level: info, encoding: console|json, ...}
 *       metrics: {level: normal, address: 127.0.0.1:8888}   # or readers: [{pull: {exporter: {prometheus:
 *                                                            #   {host, port}}}}]
 *       resource: {service.name: ...}
 * Self-metrics default to 127.0.0.1:8888/metrics (the Collector's port, bound to loopback). */
#ifndef OTELC_RECEIVER_CONFIG_SERVICE_CONFIG_H
#define OTELC_RECEIVER_CONFIG_SERVICE_CONFIG_H

#include "receiver/config/schema.h"

enum { TELEMETRY_LEVEL_NONE = 0, TELEMETRY_LEVEL_BASIC, TELEMETRY_LEVEL_NORMAL, TELEMETRY_LEVEL_DETAILED };
enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum { LOG_ENCODING_CONSOLE = 0, LOG_ENCODING_JSON };

typedef struct telemetry_prometheus_reader {
  char *host;
  int64_t port;
  bool without_scope_info, without_type_suffix, without_units;
} telemetry_prometheus_reader;

typedef struct telemetry_reader_config {
  telemetry_prometheus_reader *prometheus; /* pull::exporter::prometheus, NULL when absent */
  const cfg_node *periodic;                /* periodic readers: not supported (error) */
} telemetry_reader_config;

typedef struct telemetry_metrics_config {
  int level;           /* TELEMETRY_LEVEL_*, normal */
  char *address;       /* deprecated Collector key, host:port */
  cfg_list readers;    /* telemetry_reader_config */
  char *listen;        /* derived: where /metrics is served ("127.0.0.1:8888"), NULL when level is none */
} telemetry_metrics_config;

typedef struct telemetry_logs_config {
  int level;     /* LOG_LEVEL_*, info */
  int encoding;  /* LOG_ENCODING_*, console */
  bool development, disable_caller, disable_stacktrace;
  cfg_strlist output_paths;       /* default stderr */
  cfg_strlist error_output_paths;
  cfg_strmap initial_fields;
} telemetry_logs_config;

typedef struct telemetry_config {
  telemetry_logs_config logs;
  telemetry_metrics_config metrics;
  cfg_strmap resource;
} telemetry_config;

typedef struct service_config {
  cfg_strlist extensions;
  const cfg_node *pipelines; /* raw: service.c builds the graph */
  telemetry_config telemetry;
} service_config;

extern const cfg_schema service_schema;

#endif
