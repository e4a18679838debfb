/* runtime.h — executes one validated configuration (service.h's graph): builds the component instances, wires
 * the consumers, starts them, and shuts them down in order with draining; plus service_run, the daemon's
 * main loop with signals (SIGTERM/SIGINT drain and exit, SIGHUP reload).
 *
 * Instances follow the Collector: receivers and exporters are shared by every pipeline that lists them, each
 * pipeline gets its own instance of each of its processors. A receiver in several pipelines fans out to each
 * pipeline's first processor; a pipeline with several exporters fans out to all of them (each consumer gets its
 * own reference to the batch; see pipeline.h). Fan-out errors: a permanent error wins over a retryable one
 * (WIRE_E_LIMIT), as the Collector's combined errors do.
 *
 * Order: create extensions, exporters, processors (last to first in each pipeline), receivers; start in the
 * same order (extensions → exporters → processors → receivers). Shutdown runs backwards in stages: receivers
 * (stop accepting; requests in flight are answered), processors (first to last, so that each flushes into a
 * live successor), exporters (drain), extensions; each stage waits for the components that took a hold
 * (component_host.hold) before the next begins. All of it runs on one libuv loop thread.
 *
 * Components whose factory has no runtime yet (hooks NULL) make runtime_new fail with a clear message. */
#ifndef OTELC_RECEIVER_RUNTIME_RUNTIME_H
#define OTELC_RECEIVER_RUNTIME_RUNTIME_H

#include <uv.h>

#include "receiver/config/config.h"
#include "receiver/pipeline.h"
#include "receiver/runtime/log.h"
#include "receiver/runtime/telemetry.h"
#include "receiver/service.h"

typedef struct runtime runtime;

typedef struct runtime_options {
  rt_logger *log;  /* NULL: the runtime makes a stderr logger of its own */
  telemetry *tel;  /* NULL: the runtime keeps private counters */
  /* Tests: the hooks to run a component with instead of its factory's (return NULL to keep the factory's). */
  const component_hooks *(*hooks_for)(const service_component *c, void *ud);
  void *hooks_ud;
} runtime_options;

/* Creates every component of `g` (no I/O yet). `g` (and the config it came from) must outlive the runtime.
 * On failure returns NULL with err naming the component; what was created is destroyed. */
runtime *runtime_new(uv_loop_t *loop, const service_graph *g, const runtime_options *opts, wire_err *err);
/* Starts extensions, exporters, processors, receivers. On failure (err names the component) the components
 * already started keep running: call runtime_shutdown, then runtime_free. */
int runtime_start(runtime *rt, wire_err *err);
/* Shuts down what was started, in stages (see above), without blocking the loop; `done` runs on the loop when
 * the last stage finished. Call once. */
void runtime_shutdown(runtime *rt, void (*done)(void *arg), void *arg);
/* Destroys every component; after runtime_shutdown's done (or when never started). The memory of the runtime
 * itself is released on the next loop iteration (its libuv handle must close). */
void runtime_free(runtime *rt);

service_state runtime_state(const runtime *rt);
/* The host given to components (tests build components against it). */
component_host *runtime_host(runtime *rt);
/* The state of an instance by kind and id (processors: the instance of pipeline `pipeline`, else ignored); NULL
 * when absent. For tests. */
void *runtime_component_state(runtime *rt, component_kind kind, const char *id, size_t pipeline);

/* ---- the daemon ---- */

typedef struct service_run_options {
  const char *version; /* for self-telemetry labels; NULL: "unknown" */
} service_run_options;

/* Runs `cfg` until SIGTERM or SIGINT, then drains and returns 0; returns 1 when the configuration could not be
 * started. SIGHUP reloads: the configuration is loaded again from `opts` (same files, env and --set) and
 * validated; if it is good the old pipelines stop (receivers first, buffered data flushed through their
 * exporters) and the new ones start; if it is bad (or cannot start) the errors are logged and the previous
 * configuration keeps (or goes back to) running. `cfg` stays the caller's. */
int service_run(otelc_config *cfg, const config_options *opts, const service_run_options *run_opts);

#endif
