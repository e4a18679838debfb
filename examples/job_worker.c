/* job_worker.c — a small C service instrumented with libotelc: a loop that takes jobs from a few queues and
 * processes them (simulated work), reporting
 *
 *   jobs.processed     counter         {job}  job.queue, job.outcome (success | failure)
 *   jobs.in_progress   up-down counter {job}  job.queue
 *   job.duration       histogram       s      job.queue, job.outcome (buckets from 5 ms to 60 s)
 *
 * plus the process runtime metrics (otelc_runtime_start). It is configured only by the environment: the
 * OTEL_* variables of the SDK and the OTLP exporter (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_METRIC_EXPORT_INTERVAL, ...), and these for the demo:
 *
 *   JOB_WORKER_JOBS=N          stop after N jobs (default 0: run until SIGTERM/SIGINT)
 *   JOB_WORKER_QUEUES=a,b,c    queue names, taken in turn (default email,billing,reports)
 *   JOB_WORKER_WORK_MS=N       base simulated work per job in milliseconds (default 50; job i works
 *                              N * (1 + i % 5) / 3 ms)
 *   JOB_WORKER_FAIL_EVERY=K    every K-th job fails (default 7; 0: none fail)
 *
 * On SIGTERM or SIGINT it finishes the job in hand, shuts the SDK down (which exports the final state once)
 * and exits 0. Example:
 *
 *   OTEL_SERVICE_NAME=job-worker OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 ./job_worker */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otelc/otelc.h"
#include "otelc/runtime.h"

#define MAX_QUEUES 16

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static long env_long(const char *name, long def) {
  const char *v = getenv(name);
  if (!v || !*v) return def;
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || x < 0) {
    fprintf(stderr, "job_worker: %s is not a non-negative integer; using %ld\n", name, def);
    return def;
  }
  return x;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Simulated work: sleeps, but returns early when a stop signal arrives. */
static void work(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !g_stop) {
  }
}

int main(void) {
  long max_jobs = env_long("JOB_WORKER_JOBS", 0);
  long work_ms = env_long("JOB_WORKER_WORK_MS", 50);
  long fail_every = env_long("JOB_WORKER_FAIL_EVERY", 7);
  char queues_buf[512];
  snprintf(queues_buf, sizeof queues_buf, "%s", getenv("JOB_WORKER_QUEUES") ? getenv("JOB_WORKER_QUEUES")
                                                                              : "email,billing,reports");
  const char *queues[MAX_QUEUES];
  int nq = 0;
  for (char *save = NULL, *q = strtok_r(queues_buf, ",", &save); q && nq < MAX_QUEUES;
       q = strtok_r(NULL, ",", &save))
    if (*q) queues[nq++] = q;
  if (nq == 0) queues[nq++] = "default";

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: the sleep in work() wakes up */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  /* Everything from the environment: exporter, endpoint, interval, resource. */
  otelc_meter_provider *mp = NULL;
  int rc = otelc_meter_provider_create(NULL, &mp);
  if (!mp) {
    fprintf(stderr, "job_worker: cannot create the meter provider: %s\n", otelc_status_str(rc));
    return 1;
  }
  otelc_runtime_start(mp);
  otelc_meter *meter = otelc_meter_get(mp, "job_worker", "1.0.0", NULL);
  otelc_instrument_options co = {.unit = "{job}", .description = "Jobs processed, by queue and outcome"};
  otelc_instrument *processed = otelc_counter_u64(meter, "jobs.processed", &co);
  otelc_instrument_options uo = {.unit = "{job}", .description = "Jobs being processed now"};
  otelc_instrument *in_progress = otelc_updown_i64(meter, "jobs.in_progress", &uo);
  static const double duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  otelc_instrument_options ho = {
      .unit = "s",
      .description = "Time to process a job",
      .aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM,
      .boundaries = duration_bounds,
      .n_boundaries = sizeof duration_bounds / sizeof duration_bounds[0],
  };
  otelc_instrument *duration = otelc_histogram(meter, "job.duration", &ho);

  /* The in-progress series are recorded on every job: bind them once (hot-path style). */
  otelc_series *busy[MAX_QUEUES];
  for (int q = 0; q < nq; q++) {
    otelc_attr a[] = {OTELC_ATTR_STR("job.queue", queues[q])};
    busy[q] = otelc_bind(in_progress, a, 1);
  }

  fprintf(stderr, "job_worker: started (%d queues, %s)\n", nq, max_jobs ? "bounded run" : "until SIGTERM");
  long done = 0, failed = 0;
  for (long i = 0; !g_stop && (max_jobs == 0 || i < max_jobs); i++) {
    int q = (int)(i % nq);
    bool fails = fail_every > 0 && i % fail_every == fail_every - 1;
    double t0 = now_s();
    otelc_series_record_i64(busy[q], 1);
    work(work_ms * (1 + i % 5) / 3);
    otelc_series_record_i64(busy[q], -1);
    otelc_attr a[] = {OTELC_ATTR_STR("job.queue", queues[q]),
                      OTELC_ATTR_STR("job.outcome", fails ? "failure" : "success")};
    otelc_add_u64(processed, 1, a, 2);
    otelc_record_f64(duration, now_s() - t0, a, 2);
    done++;
    failed += fails;
  }

  /* Final state out once, then exit 0 (also after SIGTERM). */
  rc = otelc_meter_provider_shutdown(mp, -1);
  if (rc != OTELC_OK) fprintf(stderr, "job_worker: final export: %s\n", otelc_status_str(rc));
  for (int q = 0; q < nq; q++) otelc_series_release(busy[q]);
  otelc_meter_provider_free(mp);
  fprintf(stderr, "job_worker: processed %ld jobs (%ld failed)%s; exiting\n", done, failed,
          g_stop ? " until a stop signal" : "");
  return 0;
}
