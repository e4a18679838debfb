/* prometheus.h — the `prometheus` exporter component: keeps what the pipeline sends in a prom_store and serves it
 * on GET <endpoint>/metrics (Prometheus text, or OpenMetrics when enable_open_metrics and the scraper asks for it;
 * gzip when Accept-Encoding allows). Config: receiver/config/components/prometheus_exporter.h. */
#ifndef OTELC_RECEIVER_EXPORTERS_PROMETHEUS_H
#define OTELC_RECEIVER_EXPORTERS_PROMETHEUS_H

#include <stdint.h>

#include "receiver/component.h"

extern const component_hooks prometheus_exporter_hooks;

/* The port the exporter listens on once started (an endpoint with port 0 gets an ephemeral one); 0 before. */
uint16_t prometheus_exporter_port(void *state);

#endif
