/* memory_limiter.h — configuration of the `memory_limiter` processor (Collector keys):
 *   check_interval (required, > 0), limit_mib or limit_percentage (of total memory), spike_limit_mib or
 *   spike_limit_percentage. The soft limit is limit - spike; a zero spike_limit_mib means 20% of limit_mib.
 *   Above the soft limit the receivers refuse data with retryable errors instead of letting memory grow. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_MEMORY_LIMITER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_MEMORY_LIMITER_H

#include "receiver/config/schema.h"

typedef struct memory_limiter_config {
  int64_t check_interval;         /* ns */
  int64_t limit;                  /* bytes (key limit_mib) */
  int64_t spike_limit;            /* bytes (key spike_limit_mib); 0: 20% of limit */
  int64_t limit_percentage;       /* of total (cgroup or physical) memory, 0..100 */
  int64_t spike_limit_percentage; /* 0..100 */
} memory_limiter_config;

extern const cfg_schema memory_limiter_schema;

#endif
