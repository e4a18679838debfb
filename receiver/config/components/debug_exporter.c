/* debug_exporter.c — config schema of the `debug` exporter (see debug_exporter.h). */
#include "receiver/config/components/debug_exporter.h"

#include <stddef.h>

static const char *const verbosity_names[] = {"basic", "normal", "detailed", NULL};
enum { LOGLEVEL_UNSET = 0, LOGLEVEL_DEBUG, LOGLEVEL_INFO, LOGLEVEL_WARN, LOGLEVEL_ERROR };
static const char *const loglevel_names[] = {"", "debug", "info", "warn", "error", NULL};

static void check_debug(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  debug_exporter_config *c = obj;
  (void)ctx;
  if (c->loglevel != LOGLEVEL_UNSET && !cfg_map_get(node, "verbosity"))
    c->verbosity = c->loglevel == LOGLEVEL_DEBUG  ? DEBUG_VERBOSITY_DETAILED
                   : c->loglevel == LOGLEVEL_INFO ? DEBUG_VERBOSITY_NORMAL
                                                  : DEBUG_VERBOSITY_BASIC;
}

static const cfg_field debug_fields[] = {
    CFG_FIELD(debug_exporter_config, verbosity, "verbosity", CFG_T_ENUM, .enums = verbosity_names, .def = "basic"),
    CFG_FIELD(debug_exporter_config, sampling_initial, "sampling_initial", CFG_T_INT, .def = "2", CFG_RANGE(0, 1e9)),
    CFG_FIELD(debug_exporter_config, sampling_thereafter, "sampling_thereafter", CFG_T_INT, .def = "1",
              CFG_RANGE(1, 1e9)),
    CFG_FIELD(debug_exporter_config, use_internal_logger, "use_internal_logger", CFG_T_BOOL, .def = "true"),
    CFG_FIELD(debug_exporter_config, loglevel, "loglevel", CFG_T_ENUM, .flags = CFG_DEPRECATED,
              .enums = loglevel_names, .doc = "use verbosity (basic, normal, detailed)"),
    {0}};

const cfg_schema debug_exporter_schema = {
    .name = "debug exporter", .size = sizeof(debug_exporter_config), .fields = debug_fields, .check = check_debug};
