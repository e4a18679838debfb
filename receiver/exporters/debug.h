/* debug.h — the `debug` exporter (and its deprecated alias `logging`): prints what reaches it, in the layouts of
 * the OpenTelemetry Collector's debug exporter:
 *   basic     one line per batch: "Metrics {resource metrics: N, metrics: M, data points: P}"
 *   normal    that line, then one line per data point: name{attr=value,...} value
 *   detailed  that line, then every resource, scope, metric and data point ("ResourceMetrics #0",
 *             "Resource attributes:", "     -> service.name: Str(x)", "NumberDataPoints #0", ...)
 * Batches are sampled like the Collector's logger: in each second the first sampling_initial are printed, then
 * every sampling_thereafter-th. Output goes to stderr (use_internal_logger: true, the receiver's log stream) or
 * stdout (false), written once per batch. */
#ifndef OTELC_RECEIVER_EXPORTERS_DEBUG_H
#define OTELC_RECEIVER_EXPORTERS_DEBUG_H

#include <stdio.h>

#include "receiver/component.h"
#include "wire/buf.h"
#include "wire/otlp.h"

extern const component_hooks debug_exporter_hooks; /* config: debug_exporter_config */

/* Redirects a debug exporter's output (tests). `state` is what its create hook returned. */
void debug_exporter_set_output(void *state, FILE *out);

/* Appends the text of `req` at `verbosity` (DEBUG_VERBOSITY_*) to out: the summary line, then the normal or
 * detailed lines. Returns 0, or -1 when out's limit is reached. */
int debug_exporter_format(const otlp_request *req, int verbosity, wire_buf *out, wire_err *err);

#endif
