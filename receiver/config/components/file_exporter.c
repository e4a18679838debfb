/* file_exporter.c — config schema of the `file` exporter (see file_exporter.h). */
#include "receiver/config/components/file_exporter.h"

#include <stddef.h>

static const char *const format_names[] = {"json", "proto", NULL};
static const char *const file_compression_names[] = {"", "zstd", NULL};

static const cfg_field rotation_fields[] = {
    CFG_FIELD(file_rotation_config, max_megabytes, "max_megabytes", CFG_T_INT, .def = "100", CFG_RANGE(1, 1 << 20)),
    CFG_FIELD(file_rotation_config, max_days, "max_days", CFG_T_INT, .def = "0", CFG_RANGE(0, 36500)),
    CFG_FIELD(file_rotation_config, max_backups, "max_backups", CFG_T_INT, .def = "100", CFG_RANGE(0, 1e6)),
    CFG_FIELD(file_rotation_config, localtime, "localtime", CFG_T_BOOL),
    {0}};
static const cfg_schema rotation_schema = {
    .name = "rotation", .size = sizeof(file_rotation_config), .fields = rotation_fields};

static void check_file(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  file_exporter_config *c = obj;
  if (c->compression != 0) cfg_error_key(ctx, node, "compression", "zstd compression is not supported by otelc");
}

static const cfg_field file_fields[] = {
    CFG_FIELD(file_exporter_config, path, "path", CFG_T_STRING, .flags = CFG_REQUIRED),
    CFG_FIELD(file_exporter_config, format, "format", CFG_T_ENUM, .enums = format_names, .def = "json"),
    CFG_FIELD(file_exporter_config, rotation, "rotation", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &rotation_schema),
    CFG_FIELD(file_exporter_config, flush_interval, "flush_interval", CFG_T_DURATION, .def = "1s",
              CFG_RANGE(0, 9.2e18)),
    CFG_FIELD(file_exporter_config, append, "append", CFG_T_BOOL),
    CFG_FIELD(file_exporter_config, compression, "compression", CFG_T_ENUM, .enums = file_compression_names),
    {0}};

const cfg_schema file_exporter_schema = {
    .name = "file exporter", .size = sizeof(file_exporter_config), .fields = file_fields, .check = check_file};
