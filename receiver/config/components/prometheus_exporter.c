/* prometheus_exporter.c — config schema of the `prometheus` exporter (see prometheus_exporter.h). */
#include "receiver/config/components/prometheus_exporter.h"

#include <stddef.h>

static const char *const translation_names[] = {"",
                                                "UnderscoreEscapingWithSuffixes",
                                                "UnderscoreEscapingWithoutSuffixes",
                                                "NoUTF8EscapingWithSuffixes",
                                                "NoTranslation",
                                                NULL};

static const cfg_field rtc_fields[] = {
    CFG_FIELD(prometheus_exporter_config, resource_to_telemetry_conversion, "enabled", CFG_T_BOOL),
    {0}};
static const cfg_schema rtc_schema = {
    .name = "resource_to_telemetry_conversion", .size = sizeof(prometheus_exporter_config), .fields = rtc_fields};

static void check_prometheus(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  prometheus_exporter_config *c = obj;
  if (!c->endpoint || !*c->endpoint) cfg_error_key(ctx, node, "endpoint", "must not be empty");
}

static const cfg_field prometheus_fields[] = {
    CFG_FIELD(prometheus_exporter_config, endpoint, "endpoint", CFG_T_STRING, .def = "127.0.0.1:8889"),
    CFG_FIELD(prometheus_exporter_config, tls, "tls", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &tls_server_schema),
    CFG_FIELD(prometheus_exporter_config, namespace_, "namespace", CFG_T_STRING),
    CFG_FIELD(prometheus_exporter_config, const_labels, "const_labels", CFG_T_STRING_MAP),
    CFG_FIELD(prometheus_exporter_config, send_timestamps, "send_timestamps", CFG_T_BOOL),
    CFG_FIELD(prometheus_exporter_config, metric_expiration, "metric_expiration", CFG_T_DURATION, .def = "5m",
              CFG_RANGE(0, 9.2e18)),
    /* The section decodes into the same struct: its only key is a field of this config. */
    {.key = "resource_to_telemetry_conversion", .type = CFG_T_SECTION, .offset = 0, .sub = &rtc_schema},
    CFG_FIELD(prometheus_exporter_config, enable_open_metrics, "enable_open_metrics", CFG_T_BOOL),
    CFG_FIELD(prometheus_exporter_config, add_metric_suffixes, "add_metric_suffixes", CFG_T_BOOL, .def = "true"),
    CFG_FIELD(prometheus_exporter_config, translation_strategy, "translation_strategy", CFG_T_ENUM,
              .enums = translation_names),
    {0}};

const cfg_schema prometheus_exporter_schema = {.name = "prometheus exporter",
                                               .size = sizeof(prometheus_exporter_config),
                                               .fields = prometheus_fields,
                                               .check = check_prometheus};
