/* otlp_exporters.h — configuration of the `otlp` (gRPC) and `otlphttp` exporters (Collector keys and defaults).
 *
 *   otlp:     endpoint (required, host:port or https://host:port), tls {insecure, insecure_skip_verify, ca_file,
 *             cert_file, key_file, server_name_override, ...}, headers, compression gzip, timeout 5s, auth,
 *             retry_on_failure, sending_queue, authority
 *   otlphttp: endpoint (base URL; /v1/metrics is appended) or metrics_endpoint (full URL), tls, headers,
 *             compression gzip, encoding proto|json, timeout 30s, auth, retry_on_failure, sending_queue,
 *             proxy_url, idle connection knobs
 * Header values are secrets: never printed, logged or echoed in errors. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_OTLP_EXPORTERS_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_OTLP_EXPORTERS_H

#include "receiver/config/components/common.h"

typedef struct otlp_exporter_config {
  char *endpoint;
  tls_client_config tls;
  cfg_strmap headers;    /* values secret */
  int compression;       /* COMPRESSION_GZIP or COMPRESSION_NONE */
  int64_t timeout;       /* ns, per export request */
  auth_config *auth;     /* client authenticator, NULL: none */
  char *authority;       /* :authority override, NULL: from endpoint */
  retry_config retry_on_failure;
  queue_config sending_queue;
} otlp_exporter_config;

enum { OTLP_ENCODING_PROTO = 0, OTLP_ENCODING_JSON };

typedef struct otlphttp_exporter_config {
  char *endpoint;         /* base URL: <endpoint>/v1/metrics */
  char *metrics_endpoint; /* full URL, overrides endpoint for metrics */
  tls_client_config tls;
  cfg_strmap headers;     /* values secret */
  int compression;
  int encoding;           /* OTLP_ENCODING_* */
  int64_t timeout;        /* ns */
  auth_config *auth;
  char *proxy_url;
  int64_t max_idle_conns, max_idle_conns_per_host, max_conns_per_host;
  int64_t idle_conn_timeout; /* ns */
  bool disable_keep_alives;
  retry_config retry_on_failure;
  queue_config sending_queue;
} otlphttp_exporter_config;

extern const cfg_schema otlp_exporter_schema;
extern const cfg_schema otlphttp_exporter_schema;

#endif
