/* metrics.h — the preload shim's recording side: the sink its connections report to, and the shim's one thread,
 * started lazily when the first HTTP request is seen, that turns events into OpenTelemetry HTTP server metrics
 * through libotelc and owns the meter provider (whose reader thread exports them).
 *
 * Metrics (HTTP server semantic conventions):
 *   http.server.request.duration   histogram s   boundaries 0.005 ... 10 (the conventions')
 *   http.server.request.body.size  histogram By
 *   http.server.response.body.size histogram By
 *   http.server.active_requests    up-down   {request}  (observed from atomic counters at each collection)
 * with http.request.method, http.response.status_code, network.protocol.version, url.scheme, server.port,
 * http.route (from OTELC_HTTP_ROUTES only) and error.type. The resource adds service.name (OTEL_SERVICE_NAME,
 * else the program name), service.instance.id (random, one per process) and the SDK's own detection.
 *
 * Process model: each process that serves HTTP has its own provider and thread. A forked child forgets the
 * parent's (events_reset, new provider on its first request), so it exports only its own series under its
 * own service.instance.id. */
#ifndef OTELC_AUTOINSTR_METRICS_H
#define OTELC_AUTOINSTR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "autoinstr/hot.h"
#include "autoinstr/sniffer.h"
#include "otelc/otelc.h"

/* The sink every watched connection reports to is preload_hot_line.sink (hot.h): on the one cache line of
 * globals every watched call reads. */


/* Is the shim working? preload_hot_line.enabled (hot.h): false after OTELC_AUTOINSTR=off or an internal
 * failure. */

/* True on the threads the shim itself runs (its recording thread, and the SDK's reader thread it creates):
 * thread creation there is the shim's, not the host's (see interpose.c, "system calls"). */
extern __thread bool preload_shim_thread __attribute__((tls_model("initial-exec")));

/* Disables the shim for the rest of the process with one line on stderr ("otelc-preload: disabled: why"). */
void preload_disable(const char *why);

/* In a forked child: forget the parent's thread, provider and queued events. */
void preload_metrics_after_fork_child(void);

/* Is the recording thread running in this process? */
bool preload_metrics_running(void);

/* At exit: stops the thread after a final drain and export, waiting at most timeout_ms. */
void preload_metrics_shutdown(int timeout_ms);

/* The http.server.request.duration bucket boundaries (seconds), for tests. */
extern const double preload_duration_bounds[14];

/* For tests, the recording thread's work done synchronously: _start sets up the provider with the given
 * exporter (taken over; NULL: from the settings) and accepts events from then on, without a thread; _flush
 * drains the queued events into the instruments and forces an export. Return 0 or an otelc_status. */
int preload_metrics_start_for_test(otelc_exporter *exporter);
int preload_metrics_flush_for_test(void);

#endif
