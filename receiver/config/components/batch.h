/* batch.h — configuration of the `batch` processor (Collector keys and defaults):
 *   timeout 200ms, send_batch_size 8192, send_batch_max_size 0 (no limit), metadata_keys [],
 *   metadata_cardinality_limit 1000. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_BATCH_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_BATCH_H

#include "receiver/config/schema.h"

typedef struct batch_config {
  int64_t timeout;             /* ns: send a partial batch after this long */
  int64_t send_batch_size;     /* data points that trigger a send */
  int64_t send_batch_max_size; /* upper bound of one batch, 0: none; else >= send_batch_size */
  cfg_strlist metadata_keys;   /* one batcher per distinct value set of these client metadata keys */
  int64_t metadata_cardinality_limit;
} batch_config;

extern const cfg_schema batch_schema;

#endif
