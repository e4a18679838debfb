/* otlp.h — the `otlp` (OTLP/gRPC) and `otlphttp` (OTLP/HTTP) exporters of otelc-receiver.
 *
 * Both share one implementation (otlp.c): a sending_queue whose consumer threads each own a wire_client, the
 * Collector's retry_on_failure policy, and, when sending_queue.storage names a file_storage extension, a
 * persistent_queue so that a restart loses nothing.
 *
 * Storage contract: host->extension(host, storage_id) returns the file_storage extension's state, which is (or
 * begins with) its decoded file_storage_config (receiver/config/components/extensions.h): the queue lives in
 * <directory>/<exporter id, sanitised>. */
#ifndef OTELC_RECEIVER_EXPORTERS_OTLP_H
#define OTELC_RECEIVER_EXPORTERS_OTLP_H

#include "receiver/component.h"

extern const component_hooks otlp_exporter_hooks;     /* config: otlp_exporter_config */
extern const component_hooks otlphttp_exporter_hooks; /* config: otlphttp_exporter_config */

/* How long shutdown lets the queue drain before it stops the consumers (what is left is dropped and counted, or
 * kept on disk by a persistent queue). */
#define OTLP_EXPORTER_DRAIN_NS (5LL * 1000000000LL)
/* The same with a persistent queue, which keeps what is left for the next start. */
#define OTLP_EXPORTER_PERSISTENT_DRAIN_NS (1LL * 1000000000LL)

#endif
