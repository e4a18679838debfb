/* otlp_receiver.h — configuration of the `otlp` receiver (OTLP over gRPC and HTTP), the Collector's keys:
 *
 *   otlp:
 *     protocols:
 *       grpc: {endpoint, transport, tls, max_recv_msg_size_mib, max_concurrent_streams, keepalive, auth,
 *              include_metadata}
 *       http: {endpoint, tls, cors, auth, max_request_body_size, include_metadata, response_headers,
 *              traces_url_path, metrics_url_path, logs_url_path, read/read_header/write/idle timeouts}
 *
 * A protocol is on when its key is present (`grpc:` alone enables it with defaults); at least one is required. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_OTLP_RECEIVER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_OTLP_RECEIVER_H

#include "receiver/config/components/common.h"

enum { TRANSPORT_TCP = 0, TRANSPORT_UNIX };

typedef struct grpc_keepalive_config {
  int64_t max_connection_idle, max_connection_age, max_connection_age_grace; /* ns, 0: infinite */
  int64_t time, timeout;                                                     /* ping interval and ack timeout */
  int64_t enforcement_min_time;                                              /* enforcement_policy.min_time */
  bool enforcement_permit_without_stream;
} grpc_keepalive_config;

typedef struct otlp_grpc_config {
  char *endpoint;                 /* 127.0.0.1:4317 (the Collector's is localhost:4317) */
  int transport;                  /* TRANSPORT_* */
  tls_server_config *tls;         /* NULL: plaintext */
  int64_t max_recv_msg_size;      /* bytes (key: max_recv_msg_size_mib, default 4) */
  int64_t max_concurrent_streams; /* 0: unlimited */
  grpc_keepalive_config keepalive;
  auth_config *auth;              /* NULL: no authentication */
  bool include_metadata;
} otlp_grpc_config;

typedef struct otlp_http_config {
  char *endpoint;                /* 127.0.0.1:4318 */
  tls_server_config *tls;
  cors_config *cors;
  auth_config *auth;
  int64_t max_request_body_size; /* bytes, 20 MiB */
  bool include_metadata;
  cfg_strmap response_headers;
  char *traces_url_path, *metrics_url_path, *logs_url_path; /* "/v1/metrics" ...; always start with '/' */
  int64_t read_timeout, read_header_timeout, write_timeout, idle_timeout; /* ns */
} otlp_http_config;

typedef struct otlp_receiver_config {
  otlp_grpc_config *grpc; /* protocols::grpc, NULL when absent */
  otlp_http_config *http; /* protocols::http, NULL when absent */
} otlp_receiver_config;

extern const cfg_schema otlp_receiver_schema;

#endif
