/* prometheus_exporter.h — configuration of the `prometheus` exporter (Collector keys and defaults), which serves
 * the metrics it holds on <endpoint>/metrics for Prometheus to scrape:
 *   endpoint (otelc default 127.0.0.1:8889; the Collector has none), tls, namespace, const_labels,
 *   send_timestamps false, metric_expiration 5m, resource_to_telemetry_conversion.enabled false,
 *   enable_open_metrics false, add_metric_suffixes true, translation_strategy. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_PROMETHEUS_EXPORTER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_PROMETHEUS_EXPORTER_H

#include "receiver/config/components/common.h"

enum {
  PROM_TRANSLATION_DEFAULT = 0, /* "": follow add_metric_suffixes */
  PROM_TRANSLATION_UNDERSCORE_WITH_SUFFIXES,
  PROM_TRANSLATION_UNDERSCORE_WITHOUT_SUFFIXES,
  PROM_TRANSLATION_NO_UTF8_ESCAPING_WITH_SUFFIXES,
  PROM_TRANSLATION_NONE,
};

typedef struct prometheus_exporter_config {
  char *endpoint;
  tls_server_config *tls;
  char *namespace_;          /* key "namespace": prefix of every metric name */
  cfg_strmap const_labels;
  bool send_timestamps;
  int64_t metric_expiration; /* ns: series not updated for this long are dropped */
  bool resource_to_telemetry_conversion; /* resource_to_telemetry_conversion.enabled */
  bool enable_open_metrics;
  bool add_metric_suffixes;
  int translation_strategy;  /* PROM_TRANSLATION_* */
} prometheus_exporter_config;

extern const cfg_schema prometheus_exporter_schema;

#endif
