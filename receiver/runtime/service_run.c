/* service_run.c — the daemon's life (see runtime.h, service_run): one libuv loop, the logger and the
 * self-telemetry server that outlive config reloads, and the signals:
 *   SIGTERM / SIGINT  stop: receivers stop accepting, processors flush, exporters drain; exit 0. A second
 *                     signal while draining exits at once with status 1.
 *   SIGHUP            reload: load and validate the configuration again; if it is good, stop the running
 *                     pipelines (draining as above) and start the new ones; if it is bad, or the new pipelines
 *                     cannot start, log why and keep (or go back to) the previous configuration.
 * Signals arriving during a reload are remembered and handled when it finishes.
 *
 * Listening sockets survive a reload: from the moment the old pipelines begin to stop until the new ones have
 * started (or the old ones are running again), stopped listeners park their sockets and new listeners on the
 * same address adopt them (wire_listener_reload_begin/_end, listener.h). Clients connecting meanwhile wait in
 * the backlog and are served by the new receivers; nobody is refused. Sockets the new configuration does not
 * use are closed when the reload ends.
 *
 * Allocator: glibc serves the decode arenas' chunks (up to 1 MiB) with mmap and trims the heap top eagerly, so
 * every request faulted in fresh pages — a third of the CPU at 1000-point requests. The daemon keeps such
 * chunks in the heap (mmap threshold 8 MiB, trim threshold 32 MiB, two malloc arenas for all threads) and
 * gives free memory back every few seconds (malloc_trim) so that idle RSS stays low. MALLOC_*_ environment
 * variables still win. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/runtime/runtime.h"
#include "wire/server/listener.h"

typedef struct service {
  uv_loop_t loop;
  const config_options *opts;
  rt_logger *log;
  telemetry *tel;
  /* What runs: cfg (main's, or loaded here when cfg_owned) and its runtime. */
  otelc_config *cfg;
  bool cfg_owned;
  runtime *rt;
  /* A reload in progress: the configuration and runtime waiting to start. */
  otelc_config *next_cfg;
  runtime *next_rt;
  bool busy, stopping, reload_pending, stop_pending;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t trim_timer;
  int exit_code;
} service;

#define TRIM_INTERVAL_MS 5000

static void tune_allocator(void) {
  if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 8 << 20);
  if (!getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 32 << 20);
  if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
}

static void trim_cb(uv_timer_t *t) {
  (void)t;
  malloc_trim(0);
}

static void begin_stop(service *s);
static void begin_reload(service *s);

static runtime_options rt_options(service *s) { return (runtime_options){.log = s->log, .tel = s->tel}; }

static const char *metrics_listen(const otelc_config *cfg) {
  return config_graph(cfg)->service.telemetry.metrics.listen;
}

/* Logs every configuration diagnostic. */
static void log_diags(service *s, const cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++)
    rt_log(s->log, d->v[i].severity == CFG_ERROR ? LOG_ERROR : LOG_WARN, NULL, "Configuration problem", "problem",
           d->v[i].msg, NULL);
  if (d->dropped) {
    char n[32];
    snprintf(n, sizeof n, "%zu", d->dropped);
    rt_log(s->log, LOG_ERROR, NULL, "More configuration problems were not shown", "count", n, NULL);
  }
}

static void close_signals(service *s) {
  uv_close((uv_handle_t *)&s->trim_timer, NULL);
  uv_close((uv_handle_t *)&s->sig_term, NULL);
  uv_close((uv_handle_t *)&s->sig_int, NULL);
  uv_close((uv_handle_t *)&s->sig_hup, NULL);
}

/* ---- stop ---- */

static void stopped(void *arg) {
  service *s = arg;
  runtime_free(s->rt);
  s->rt = NULL;
  telemetry_stop(s->tel, NULL, NULL);
  close_signals(s);
  rt_log(s->log, LOG_INFO, NULL, "Shutdown complete.", NULL);
}

static void begin_stop(service *s) {
  if (s->stopping) return;
  s->stopping = s->busy = true;
  rt_log(s->log, LOG_INFO, NULL, "Starting shutdown...", NULL);
  if (s->rt)
    runtime_shutdown(s->rt, stopped, s);
  else
    stopped(s);
}

/* ---- reload ---- */

static void finish_busy(service *s) {
  s->busy = false;
  if (s->stop_pending) {
    s->stop_pending = false;
    begin_stop(s);
  } else if (s->reload_pending) {
    s->reload_pending = false;
    begin_reload(s);
  }
}

/* Applies the logging and self-telemetry settings of `cfg` (best effort: problems are logged). */
static void apply_service_settings(service *s, const otelc_config *cfg) {
  wire_err err = {0};
  if (rt_logger_configure(s->log, &config_graph(cfg)->service.telemetry.logs, &err) < 0)
    rt_log(s->log, LOG_ERROR, NULL, "Cannot apply the logging configuration", "error", err.msg, NULL);
  if (telemetry_serve(s->tel, &s->loop, metrics_listen(cfg), &err) < 0)
    rt_log(s->log, LOG_ERROR, NULL, "Cannot serve self-telemetry", "error", err.msg, NULL);
}

/* The reload is over, one way or the other: listening sockets no new listener took are closed. */
static void reload_finished(void) { wire_listener_reload_end(); }

static void old_restored_failed(void *arg) {
  service *s = arg;
  reload_finished();
  runtime_free(s->rt);
  s->rt = NULL;
  s->exit_code = 1;
  s->busy = false;
  begin_stop(s);
}

/* The new configuration could not start and is stopped: run the previous one again. */
static void new_stopped_after_failure(void *arg) {
  service *s = arg;
  runtime_free(s->next_rt);
  s->next_rt = NULL;
  config_free(s->next_cfg);
  s->next_cfg = NULL;
  apply_service_settings(s, s->cfg);
  wire_err err = {0};
  s->rt = runtime_new(&s->loop, config_graph(s->cfg), &(runtime_options){.log = s->log, .tel = s->tel}, &err);
  if (s->rt && runtime_start(s->rt, &err) == 0) {
    rt_log(s->log, LOG_WARN, NULL, "Reload failed; the previous configuration is running again", NULL);
    reload_finished();
    finish_busy(s);
    return;
  }
  rt_log(s->log, LOG_ERROR, NULL, "Cannot restart the previous configuration", "error", err.msg, NULL);
  if (s->rt)
    runtime_shutdown(s->rt, old_restored_failed, s);
  else
    old_restored_failed(s);
}

static void old_stopped_for_reload(void *arg) {
  service *s = arg;
  runtime_free(s->rt);
  s->rt = NULL;
  apply_service_settings(s, s->next_cfg);
  wire_err err = {0};
  if (runtime_start(s->next_rt, &err) < 0) {
    rt_log(s->log, LOG_ERROR, NULL, "Cannot start the new configuration", "error", err.msg, NULL);
    runtime_shutdown(s->next_rt, new_stopped_after_failure, s);
    return;
  }
  if (s->cfg_owned) config_free(s->cfg);
  s->cfg = s->next_cfg;
  s->cfg_owned = true;
  s->rt = s->next_rt;
  s->next_cfg = NULL;
  s->next_rt = NULL;
  reload_finished();
  rt_log(s->log, LOG_INFO, NULL, "Reload complete. Everything is ready. Begin running and processing data.", NULL);
  finish_busy(s);
}

static void begin_reload(service *s) {
  if (s->stopping) return;
  if (s->busy) {
    s->reload_pending = true;
    return;
  }
  rt_log(s->log, LOG_INFO, NULL, "Reloading the configuration (SIGHUP)", NULL);
  cfg_diags diags;
  cfg_diags_init(&diags);
  otelc_config *cfg = config_load(s->opts, &diags);
  log_diags(s, &diags);
  cfg_diags_free(&diags);
  if (!cfg) {
    rt_log(s->log, LOG_ERROR, NULL, "Reload failed: the new configuration is invalid; keeping the running one", NULL);
    return;
  }
  wire_err err = {0};
  runtime_options o = rt_options(s);
  runtime *rt = runtime_new(&s->loop, config_graph(cfg), &o, &err);
  if (!rt) {
    rt_log(s->log, LOG_ERROR, NULL, "Reload failed; keeping the running configuration", "error", err.msg, NULL);
    config_free(cfg);
    return;
  }
  s->busy = true;
  s->next_cfg = cfg;
  s->next_rt = rt;
  rt_log(s->log, LOG_INFO, NULL, "New configuration is valid; stopping the running pipelines", NULL);
  wire_listener_reload_begin(); /* the old receivers' sockets wait for the new ones (see the top) */
  runtime_shutdown(s->rt, old_stopped_for_reload, s);
}

/* ---- signals ---- */

static void on_signal(uv_signal_t *h, int signum) {
  service *s = h->data;
  const char *name = signum == SIGTERM ? "SIGTERM" : signum == SIGINT ? "SIGINT" : "SIGHUP";
  rt_log(s->log, LOG_INFO, NULL, "Received signal from OS", "signal", name, NULL);
  if (signum == SIGHUP) {
    begin_reload(s);
    return;
  }
  if (s->stopping) {
    rt_log(s->log, LOG_WARN, NULL, "Second stop signal: exiting without draining", NULL);
    _exit(1);
  }
  if (s->busy) {
    s->stop_pending = true;
    return;
  }
  begin_stop(s);
}

static int start_signal(service *s, uv_signal_t *h, int signum) {
  if (uv_signal_init(&s->loop, h) < 0) return -1;
  h->data = s;
  return uv_signal_start(h, on_signal, signum);
}

/* ---- entry point ---- */

static void start_failed_stopped(void *arg) {
  service *s = arg;
  runtime_free(s->rt);
  s->rt = NULL;
  telemetry_stop(s->tel, NULL, NULL);
  close_signals(s);
}

int service_run(otelc_config *cfg, const config_options *opts, const service_run_options *run_opts) {
  signal(SIGPIPE, SIG_IGN);
  tune_allocator();
  service *s = calloc(1, sizeof *s);
  if (!s) {
    fprintf(stderr, "otelc-receiver: out of memory\n");
    return 1;
  }
  s->opts = opts;
  s->cfg = cfg;
  wire_err err = {0};
  s->log = rt_logger_new(&config_graph(cfg)->service.telemetry.logs, &err);
  if (!s->log) {
    fprintf(stderr, "otelc-receiver: %s\n", err.msg);
    free(s);
    return 1;
  }
  s->tel = telemetry_new(run_opts && run_opts->version ? run_opts->version : NULL);
  if (!s->tel || uv_loop_init(&s->loop) < 0) {
    fprintf(stderr, "otelc-receiver: out of memory\n");
    telemetry_free(s->tel);
    rt_logger_free(s->log);
    free(s);
    return 1;
  }
  if (start_signal(s, &s->sig_term, SIGTERM) < 0 || start_signal(s, &s->sig_int, SIGINT) < 0 ||
      start_signal(s, &s->sig_hup, SIGHUP) < 0 || uv_timer_init(&s->loop, &s->trim_timer) < 0) {
    fprintf(stderr, "otelc-receiver: cannot install signal handlers\n");
    return 1;
  }
  uv_timer_start(&s->trim_timer, trim_cb, TRIM_INTERVAL_MS, TRIM_INTERVAL_MS);
  char pid[24];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  rt_log(s->log, LOG_INFO, NULL, "Starting otelc-receiver...", "version",
         run_opts && run_opts->version ? run_opts->version : "unknown", "pid", pid, NULL);

  s->exit_code = 0;
  const char *listen = metrics_listen(cfg);
  if (telemetry_serve(s->tel, &s->loop, listen, &err) < 0) {
    rt_log(s->log, LOG_ERROR, NULL, "Cannot serve self-telemetry", "error", err.msg, NULL);
    s->exit_code = 1;
    close_signals(s);
  } else {
    if (listen) {
      char port[8];
      snprintf(port, sizeof port, "%u", telemetry_port(s->tel));
      rt_log(s->log, LOG_INFO, NULL, "Serving self-telemetry", "endpoint", listen, "port", port, NULL);
    }
    runtime_options o = rt_options(s);
    s->rt = runtime_new(&s->loop, config_graph(cfg), &o, &err);
    if (!s->rt) {
      rt_log(s->log, LOG_ERROR, NULL, "Cannot build the pipelines", "error", err.msg, NULL);
      s->exit_code = 1;
      telemetry_stop(s->tel, NULL, NULL);
      close_signals(s);
    } else if (runtime_start(s->rt, &err) < 0) {
      rt_log(s->log, LOG_ERROR, NULL, "Cannot start the pipelines", "error", err.msg, NULL);
      s->exit_code = 1;
      s->stopping = s->busy = true;
      runtime_shutdown(s->rt, start_failed_stopped, s);
    } else {
      rt_log(s->log, LOG_INFO, NULL, "Everything is ready. Begin running and processing data.", NULL);
    }
  }
  uv_run(&s->loop, UV_RUN_DEFAULT);
  if (s->rt) runtime_free(s->rt); /* (only if the loop ended early) */
  uv_run(&s->loop, UV_RUN_NOWAIT);  /* close callbacks of freed runtimes */
  if (uv_loop_close(&s->loop) < 0)
    rt_log(s->log, LOG_DEBUG, NULL, "Event loop closed with handles still open", NULL);
  if (s->cfg_owned) config_free(s->cfg);
  int code = s->exit_code;
  telemetry_free(s->tel);
  rt_logger_free(s->log);
  free(s);
  return code;
}
