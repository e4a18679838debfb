/* batch.h — the `batch` processor (the Collector's batchprocessor): groups incoming batches and sends one when
 * it holds send_batch_size data points or when `timeout` passed since the first one arrived; no sent batch
 * exceeds send_batch_max_size points (larger inputs are split, down to data points within a metric);
 * metadata_keys keep one batcher per distinct combination of those client metadata values (at most
 * metadata_cardinality_limit). Everything held is sent on shutdown.
 *
 * Merging copies no data. Batches still in their received bytes (pipeline.h, "raw") are merged by listing
 * their byte ranges — concatenated ExportMetricsServiceRequests are one valid request — and split between
 * resource_metrics; only a single resource_metrics larger than send_batch_max_size is decoded to be split
 * further, so a split raw batch may hold fewer points than send_batch_max_size. Decoded batches are merged by
 * listing the inputs' resource_metrics (or shallow copies of the parts a split takes). Either way the merged
 * batch holds references on the inputs (metrics_hold, pipeline.h). A send that the next
 * consumer refuses is dropped and logged, as the Collector does: the data was acknowledged when it came in. */
#ifndef OTELC_RECEIVER_PROCESSORS_BATCH_H
#define OTELC_RECEIVER_PROCESSORS_BATCH_H

#include "receiver/pipeline.h"

extern const component_hooks batch_processor_hooks;

#endif
