/* pending.h — components whose configuration otelc accepts today and whose runtime arrives with a later issue
 * (scraping and Kubernetes enrichment). Their configs are kept as raw trees (open schemas), so users' Collector
 * configs load and validate; the later implementation replaces these with real schemas.
 *   receiver  prometheus     (scrape_configs under `config`, target_allocator, ...)
 *   processor k8sattributes  (auth_type, extract, pod_association, filter, ...) */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_PENDING_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_PENDING_H

#include "receiver/config/schema.h"

typedef struct pending_config {
  const cfg_node *raw; /* the component's whole map as written (NULL or null: empty) */
} pending_config;

extern const cfg_schema prometheus_receiver_schema;
extern const cfg_schema k8sattributes_schema;

#endif
