/* service_config.c — schema of the `service:` section (see service_config.h). */
#include "receiver/config/service_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {"none", "basic", "normal", "detailed", NULL};
static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_encoding_names[] = {"console", "json", NULL};

static const cfg_field prom_reader_fields[] = {
    CFG_FIELD(telemetry_prometheus_reader, host, "host", CFG_T_STRING, .def = "127.0.0.1"),
    CFG_FIELD(telemetry_prometheus_reader, port, "port", CFG_T_INT, .def = "8888", CFG_RANGE(0, 65535)),
    CFG_FIELD(telemetry_prometheus_reader, without_scope_info, "without_scope_info", CFG_T_BOOL),
    CFG_FIELD(telemetry_prometheus_reader, without_type_suffix, "without_type_suffix", CFG_T_BOOL),
    CFG_FIELD(telemetry_prometheus_reader, without_units, "without_units", CFG_T_BOOL),
    CFG_IGNORED("with_resource_constant_labels", CFG_T_RAW),
    {0}};
static const cfg_schema prom_reader_schema = {
    .name = "prometheus", .size = sizeof(telemetry_prometheus_reader), .fields = prom_reader_fields};

static const cfg_field pull_exporter_fields[] = {
    CFG_FIELD(telemetry_reader_config, prometheus, "prometheus", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &prom_reader_schema),
    {0}};
static const cfg_schema pull_exporter_schema = {
    .name = "exporter", .size = sizeof(telemetry_reader_config), .fields = pull_exporter_fields};

static const cfg_field pull_fields[] = {
    {.key = "exporter", .type = CFG_T_SECTION, .offset = 0, .sub = &pull_exporter_schema},
    {0}};
static const cfg_schema pull_schema = {.name = "pull", .size = sizeof(telemetry_reader_config), .fields = pull_fields};

static void check_reader(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  telemetry_reader_config *r = obj;
  if (r->periodic)
    cfg_error_key(ctx, node, "periodic", "periodic (push) readers are not supported: use pull with prometheus");
  else if (!r->prometheus) cfg_error(ctx, node, "needs pull::exporter::prometheus");
}

static const cfg_field reader_fields[] = {
    {.key = "pull", .type = CFG_T_SECTION, .offset = 0, .sub = &pull_schema},
    CFG_FIELD(telemetry_reader_config, periodic, "periodic", CFG_T_RAW),
    {0}};
static const cfg_schema reader_schema = {
    .name = "reader", .size = sizeof(telemetry_reader_config), .fields = reader_fields, .check = check_reader};

static void free_metrics_extra(void *obj) {
  telemetry_metrics_config *m = obj;
  free(m->listen);
  m->listen = NULL;
}

static void check_metrics(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  telemetry_metrics_config *m = obj;
  free_metrics_extra(m);
  if (m->address && m->readers.n)
    cfg_error_key(ctx, node, "address", "set either address or readers, not both");
  if (m->readers.n > 1) cfg_error_key(ctx, node, "readers", "otelc serves self-metrics on one endpoint only");
  if (m->level == TELEMETRY_LEVEL_NONE) return;
  char buf[300];
  const char *listen = "127.0.0.1:8888";
  if (m->address && *m->address) {
    listen = m->address;
  } else if (m->readers.n) {
    const telemetry_reader_config *r = m->readers.v;
    if (r->prometheus) {
      const char *host = r->prometheus->host ? r->prometheus->host : "127.0.0.1";
      snprintf(buf, sizeof buf, strchr(host, ':') ? "[%s]:%lld" : "%s:%lld", host, (long long)r->prometheus->port);
      listen = buf;
    }
  }
  m->listen = strdup(listen);
}

static const cfg_field metrics_fields[] = {
    CFG_FIELD(telemetry_metrics_config, level, "level", CFG_T_ENUM, .enums = level_names, .def = "normal"),
    CFG_FIELD(telemetry_metrics_config, address, "address", CFG_T_STRING),
    CFG_FIELD(telemetry_metrics_config, readers, "readers", CFG_T_SECTION_LIST, .sub = &reader_schema),
    {0}};
static const cfg_schema metrics_schema = {.name = "telemetry::metrics",
                                          .size = sizeof(telemetry_metrics_config),
                                          .fields = metrics_fields,
                                          .check = check_metrics,
                                          .free_extra = free_metrics_extra};

static const cfg_field logs_fields[] = {
    CFG_FIELD(telemetry_logs_config, level, "level", CFG_T_ENUM, .enums = log_level_names, .def = "info"),
    CFG_FIELD(telemetry_logs_config, encoding, "encoding", CFG_T_ENUM, .enums = log_encoding_names,
              .def = "console"),
    CFG_FIELD(telemetry_logs_config, development, "development", CFG_T_BOOL),
    CFG_FIELD(telemetry_logs_config, disable_caller, "disable_caller", CFG_T_BOOL),
    CFG_FIELD(telemetry_logs_config, disable_stacktrace, "disable_stacktrace", CFG_T_BOOL),
    CFG_FIELD(telemetry_logs_config, output_paths, "output_paths", CFG_T_STRING_LIST),
    CFG_FIELD(telemetry_logs_config, error_output_paths, "error_output_paths", CFG_T_STRING_LIST),
    CFG_FIELD(telemetry_logs_config, initial_fields, "initial_fields", CFG_T_STRING_MAP),
    CFG_IGNORED("sampling", CFG_T_RAW),
    CFG_IGNORED("processors", CFG_T_RAW),
    {0}};
static const cfg_schema logs_schema = {
    .name = "telemetry::logs", .size = sizeof(telemetry_logs_config), .fields = logs_fields};

static const cfg_field telemetry_fields[] = {
    CFG_FIELD(telemetry_config, logs, "logs", CFG_T_SECTION, .sub = &logs_schema),
    CFG_FIELD(telemetry_config, metrics, "metrics", CFG_T_SECTION, .sub = &metrics_schema),
    CFG_FIELD(telemetry_config, resource, "resource", CFG_T_STRING_MAP),
    CFG_IGNORED("traces", CFG_T_RAW),
    {0}};
static const cfg_schema telemetry_schema = {
    .name = "telemetry", .size = sizeof(telemetry_config), .fields = telemetry_fields};

static const cfg_field service_fields[] = {
    CFG_FIELD(service_config, extensions, "extensions", CFG_T_STRING_LIST),
    CFG_FIELD(service_config, pipelines, "pipelines", CFG_T_RAW),
    CFG_FIELD(service_config, telemetry, "telemetry", CFG_T_SECTION, .sub = &telemetry_schema),
    {0}};

const cfg_schema service_schema = {.name = "service", .size = sizeof(service_config), .fields = service_fields};
