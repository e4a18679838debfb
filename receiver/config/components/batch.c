/* batch.c — config schema of the `batch` processor (see batch.h). */
#include "receiver/config/components/batch.h"

#include <stddef.h>

static void check_batch(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  batch_config *c = obj;
  if (c->send_batch_max_size > 0 && c->send_batch_max_size < c->send_batch_size)
    cfg_error_key(ctx, node, "send_batch_max_size", "must be 0 or at least send_batch_size (%lld)",
                  (long long)c->send_batch_size);
}

static const cfg_field batch_fields[] = {
    CFG_FIELD(batch_config, timeout, "timeout", CFG_T_DURATION, .def = "200ms", CFG_RANGE(0, 9.2e18)),
    CFG_FIELD(batch_config, send_batch_size, "send_batch_size", CFG_T_INT, .def = "8192", CFG_RANGE(0, 1e9)),
    CFG_FIELD(batch_config, send_batch_max_size, "send_batch_max_size", CFG_T_INT, .def = "0", CFG_RANGE(0, 1e9)),
    CFG_FIELD(batch_config, metadata_keys, "metadata_keys", CFG_T_STRING_LIST),
    CFG_FIELD(batch_config, metadata_cardinality_limit, "metadata_cardinality_limit", CFG_T_INT, .def = "1000",
              CFG_RANGE(0, 1e6)),
    {0}};

const cfg_schema batch_schema = {
    .name = "batch processor", .size = sizeof(batch_config), .fields = batch_fields, .check = check_batch};
