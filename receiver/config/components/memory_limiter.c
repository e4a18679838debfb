/* memory_limiter.c — config schema of the `memory_limiter` processor (see memory_limiter.h). */
#include "receiver/config/components/memory_limiter.h"

#include <stddef.h>

static void check_memory_limiter(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  memory_limiter_config *c = obj;
  if (c->check_interval <= 0) cfg_error_key(ctx, node, "check_interval", "must be greater than zero");
  if (c->limit == 0 && c->limit_percentage == 0) {
    cfg_error(ctx, node, "limit_mib or limit_percentage must be greater than zero");
    return;
  }
  if (c->limit > 0 && c->limit_percentage > 0)
    cfg_error_key(ctx, node, "limit_percentage", "limit_mib and limit_percentage are mutually exclusive");
  if (c->limit > 0 && c->spike_limit >= c->limit)
    cfg_error_key(ctx, node, "spike_limit_mib", "must be smaller than limit_mib");
  if (c->limit_percentage > 0 && c->spike_limit_percentage >= c->limit_percentage)
    cfg_error_key(ctx, node, "spike_limit_percentage", "must be smaller than limit_percentage");
}

static const cfg_field memory_limiter_fields[] = {
    CFG_FIELD(memory_limiter_config, check_interval, "check_interval", CFG_T_DURATION, CFG_RANGE(0, 9.2e18)),
    CFG_FIELD(memory_limiter_config, limit, "limit_mib", CFG_T_MIB, CFG_RANGE(0, 1 << 30)),
    CFG_FIELD(memory_limiter_config, spike_limit, "spike_limit_mib", CFG_T_MIB, CFG_RANGE(0, 1 << 30)),
    CFG_FIELD(memory_limiter_config, limit_percentage, "limit_percentage", CFG_T_INT, CFG_RANGE(0, 100)),
    CFG_FIELD(memory_limiter_config, spike_limit_percentage, "spike_limit_percentage", CFG_T_INT, CFG_RANGE(0, 100)),
    CFG_IGNORED("min_gc_interval_when_soft_limited", CFG_T_DURATION),
    CFG_IGNORED("min_gc_interval_when_hard_limited", CFG_T_DURATION),
    CFG_IGNORED("ballast_size_mib", CFG_T_MIB),
    {0}};

const cfg_schema memory_limiter_schema = {.name = "memory_limiter processor",
                                          .size = sizeof(memory_limiter_config),
                                          .fields = memory_limiter_fields,
                                          .check = check_memory_limiter};
