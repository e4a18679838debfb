/* memory_limiter.h — the `memory_limiter` processor (the Collector's memorylimiterprocessor): keeps the
 * receiver's memory under a limit by refusing data (retryable, WIRE_E_LIMIT: receivers answer 503/UNAVAILABLE)
 * instead of letting memory grow.
 *
 * Limits: limit_mib (hard) and spike_limit_mib (default 20% of it), or limit_percentage and
 * spike_limit_percentage of the total memory (cgroup v2 memory.max / v1 limit when set, else MemTotal). Data is
 * refused while usage is above the soft limit (hard - spike).
 *
 * Usage: every check_interval the RSS is read (/proc/self/statm) and split into what the pipelines hold
 * (pipeline_bytes_in_use) and the rest; each batch is then judged against rest + what the pipelines hold at
 * that moment, so a burst between two checks is caught too. Free heap memory is handed back to the system
 * (malloc_trim, then RSS is read again) at a check above the soft limit (at most every 250 ms), once when usage
 * falls back under it, and above half of it when malloc keeps much memory free or the pipelines released much of
 * what they held, so that memory glibc keeps after a burst does not keep light load refused. State changes are
 * logged once. */
#ifndef OTELC_RECEIVER_PROCESSORS_MEMORY_LIMITER_H
#define OTELC_RECEIVER_PROCESSORS_MEMORY_LIMITER_H

#include "receiver/pipeline.h"

extern const component_hooks memory_limiter_processor_hooks;

/* Tests: replaces the RSS reader (NULL restores /proc/self/statm). */
void memory_limiter_set_rss_reader(size_t (*read_rss)(void));
/* Tests: replaces malloc_trim(0) (NULL restores it). */
void memory_limiter_set_trimmer(void (*trim)(void));
/* Total memory the percentages refer to (cgroup limit or MemTotal), in bytes; 0 when unknown. */
size_t memory_limiter_total_memory(void);

#endif
