/* otlp_exporters.c — config schemas of the `otlp` and `otlphttp` exporters (see otlp_exporters.h). */
#include "receiver/config/components/otlp_exporters.h"

#include <stddef.h>
#include <string.h>

#define MAX_NS 9.2e18

static const char *const encoding_names[] = {"proto", "json", NULL};

static void check_otlp_exporter(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  otlp_exporter_config *c = obj;
  check_compression(&c->compression, node, "compression", ctx);
  if (c->endpoint && strstr(c->endpoint, "://") && !is_http_url(c->endpoint) && strncmp(c->endpoint, "dns:", 4))
    cfg_error_key(ctx, node, "endpoint", "\"%s\" is not host:port or an http(s):// URL", c->endpoint);
}

static const cfg_field otlp_fields[] = {
    CFG_FIELD(otlp_exporter_config, endpoint, "endpoint", CFG_T_STRING, .flags = CFG_REQUIRED,
              .doc = "host:port of the OTLP/gRPC backend"),
    CFG_FIELD(otlp_exporter_config, tls, "tls", CFG_T_SECTION, .sub = &tls_client_schema),
    CFG_FIELD(otlp_exporter_config, headers, "headers", CFG_T_STRING_MAP, .flags = CFG_SECRET),
    CFG_FIELD(otlp_exporter_config, compression, "compression", CFG_T_ENUM, .enums = compression_names,
              .def = "gzip"),
    CFG_FIELD(otlp_exporter_config, timeout, "timeout", CFG_T_DURATION, .def = "5s", CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlp_exporter_config, auth, "auth", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &client_auth_schema),
    CFG_FIELD(otlp_exporter_config, authority, "authority", CFG_T_STRING),
    CFG_FIELD(otlp_exporter_config, retry_on_failure, "retry_on_failure", CFG_T_SECTION, .sub = &retry_schema),
    CFG_FIELD(otlp_exporter_config, sending_queue, "sending_queue", CFG_T_SECTION, .sub = &queue_schema),
    CFG_IGNORED("balancer_name", CFG_T_STRING),
    CFG_IGNORED("read_buffer_size", CFG_T_BYTES),
    CFG_IGNORED("write_buffer_size", CFG_T_BYTES),
    CFG_IGNORED("wait_for_ready", CFG_T_BOOL),
    CFG_IGNORED("keepalive", CFG_T_RAW),
    {0}};

const cfg_schema otlp_exporter_schema = {
    .name = "otlp exporter", .size = sizeof(otlp_exporter_config), .fields = otlp_fields, .check = check_otlp_exporter};

static void check_otlphttp_exporter(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  otlphttp_exporter_config *c = obj;
  check_compression(&c->compression, node, "compression", ctx);
  bool has_base = c->endpoint && *c->endpoint, has_metrics = c->metrics_endpoint && *c->metrics_endpoint;
  if (!has_base && !has_metrics) {
    cfg_error(ctx, node, "needs \"endpoint\" or \"metrics_endpoint\"");
    return;
  }
  if (has_base && !is_http_url(c->endpoint))
    cfg_error_key(ctx, node, "endpoint", "\"%s\" is not an http:// or https:// URL", c->endpoint);
  if (has_metrics && !is_http_url(c->metrics_endpoint))
    cfg_error_key(ctx, node, "metrics_endpoint", "\"%s\" is not an http:// or https:// URL", c->metrics_endpoint);
}

static const cfg_field otlphttp_fields[] = {
    CFG_FIELD(otlphttp_exporter_config, endpoint, "endpoint", CFG_T_STRING,
              .doc = "base URL; /v1/metrics is appended"),
    CFG_FIELD(otlphttp_exporter_config, metrics_endpoint, "metrics_endpoint", CFG_T_STRING,
              .doc = "full URL for metrics"),
    CFG_IGNORED("traces_endpoint", CFG_T_STRING),
    CFG_IGNORED("logs_endpoint", CFG_T_STRING),
    CFG_FIELD(otlphttp_exporter_config, tls, "tls", CFG_T_SECTION, .sub = &tls_client_schema),
    CFG_FIELD(otlphttp_exporter_config, headers, "headers", CFG_T_STRING_MAP, .flags = CFG_SECRET),
    CFG_FIELD(otlphttp_exporter_config, compression, "compression", CFG_T_ENUM, .enums = compression_names,
              .def = "gzip"),
    CFG_FIELD(otlphttp_exporter_config, encoding, "encoding", CFG_T_ENUM, .enums = encoding_names, .def = "proto"),
    CFG_FIELD(otlphttp_exporter_config, timeout, "timeout", CFG_T_DURATION, .def = "30s", CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlphttp_exporter_config, auth, "auth", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &client_auth_schema),
    CFG_FIELD(otlphttp_exporter_config, proxy_url, "proxy_url", CFG_T_STRING),
    CFG_FIELD(otlphttp_exporter_config, max_idle_conns, "max_idle_conns", CFG_T_INT, .def = "100",
              CFG_RANGE(0, 100000)),
    CFG_FIELD(otlphttp_exporter_config, max_idle_conns_per_host, "max_idle_conns_per_host", CFG_T_INT,
              CFG_RANGE(0, 100000)),
    CFG_FIELD(otlphttp_exporter_config, max_conns_per_host, "max_conns_per_host", CFG_T_INT, CFG_RANGE(0, 100000)),
    CFG_FIELD(otlphttp_exporter_config, idle_conn_timeout, "idle_conn_timeout", CFG_T_DURATION, .def = "90s",
              CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlphttp_exporter_config, disable_keep_alives, "disable_keep_alives", CFG_T_BOOL),
    CFG_FIELD(otlphttp_exporter_config, retry_on_failure, "retry_on_failure", CFG_T_SECTION, .sub = &retry_schema),
    CFG_FIELD(otlphttp_exporter_config, sending_queue, "sending_queue", CFG_T_SECTION, .sub = &queue_schema),
    CFG_IGNORED("read_buffer_size", CFG_T_BYTES),
    CFG_IGNORED("write_buffer_size", CFG_T_BYTES),
    CFG_IGNORED("http2_read_idle_timeout", CFG_T_DURATION),
    CFG_IGNORED("http2_ping_timeout", CFG_T_DURATION),
    {0}};

const cfg_schema otlphttp_exporter_schema = {.name = "otlphttp exporter",
                                             .size = sizeof(otlphttp_exporter_config),
                                             .fields = otlphttp_fields,
                                             .check = check_otlphttp_exporter};
