/* file.h — the `file` exporter: appends each batch to a file as one OTLP/JSON line (format: json, JSON Lines) or
 * as protobuf preceded by its length as a 4-byte big-endian integer (format: proto), like the Collector's file
 * exporter. The loop thread only queues a reference (bounded: a full queue refuses with WIRE_E_LIMIT); a writer
 * thread encodes, writes through a buffer and flushes every flush_interval.
 *
 * rotation (optional, lumberjack's rules as in the Collector): when a write would take the file past
 * max_megabytes, it is renamed to <name>-<UTC or local time 2006-01-02T15-04-05.000><ext> and a new file is
 * started; backups beyond max_backups (0: keep all) and older than max_days (0: keep) are deleted. */
#ifndef OTELC_RECEIVER_EXPORTERS_FILE_H
#define OTELC_RECEIVER_EXPORTERS_FILE_H

#include "receiver/component.h"

extern const component_hooks file_exporter_hooks; /* config: file_exporter_config */

/* Batches the writer queue holds at most. */
#define FILE_EXPORTER_QUEUE_MAX 128

#endif
