/* tls_config.h — turns the Collector-style `tls:` config sections (config/components/common.h) into the wire
 * layer's wire_tls_config, for every server and client the receiver runs (otlp receiver, health_check,
 * exporters). The result points into the config: keep the config alive while it is used. */
#ifndef OTELC_RECEIVER_RUNTIME_TLS_CONFIG_H
#define OTELC_RECEIVER_RUNTIME_TLS_CONFIG_H

#include "receiver/config/components/common.h"
#include "wire/tls.h"

/* Server side: certificate and key from files or inline PEM (cert_pem/key_pem), client_ca_file (mTLS),
 * min/max_version, cipher_suites, reload_interval. Fails (WIRE_E_UNSUPPORTED) for TLS below 1.2; `what` names
 * the component in the message. */
int rt_tls_server_config(const tls_server_config *in, const char *what, wire_tls_config *out, wire_err *err);
/* Client side: ca_file/ca_pem (plus the system's CAs with include_system_ca_certs_pool), client certificate
 * from files or inline PEM, server_name_override, insecure_skip_verify, versions, cipher suites, reload_interval
 * (`insecure` is the caller's business: it decides whether TLS is used at all). */
int rt_tls_client_config(const tls_client_config *in, const char *what, wire_tls_config *out, wire_err *err);

#endif
