/* test_job_worker.c — the example service (examples/job_worker.c) end to end: it runs as its own process,
 * configured only by OTEL_* variables, and exports to the in-process OTLP test server over OTLP/gRPC and
 * OTLP/HTTP, plaintext and TLS. The last request it sends holds exactly the job counts its deterministic
 * schedule produces, the histogram counts that go with them, zero jobs in progress, the runtime metrics and
 * the resource from the environment. A run stopped by SIGTERM exits 0 after exporting its final state. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "otlp_test_server.h"
#include "testcerts.h"
#include "testlib.h"

#define JOBS 30
static const char *const k_queues[] = {"email", "billing", "reports"};
#define FAIL_EVERY 7

static const char *g_worker;
static test_certs g_certs;
static bool g_have_certs;

/* The job_worker schedule: job i goes to queue i % 3 and fails when i % 7 == 6. */
static long expected_jobs(int queue, bool failure) {
  long n = 0;
  for (long i = 0; i < JOBS; i++)
    if (i % 3 == queue && (i % FAIL_EVERY == FAIL_EVERY - 1) == failure) n++;
  return n;
}

static bool has_attr(otlp_kv **kv, size_t n, const char *key, const char *value) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kv[i]->key, key) && kv[i]->value &&
        kv[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
        !strcmp(kv[i]->value->string_value, value))
      return true;
  return false;
}

/* Sum of the points of a sum metric that carry key=value (NULL: all); -1 when the metric is absent. */
static double sum_where(const otlp_request *req, const char *name, const char *k1, const char *v1, const char *k2,
                        const char *v2) {
  const otlp_metric *m = otlp_test_find_metric(req, name);
  if (!m || m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) return -1;
  double t = 0;
  for (size_t i = 0; i < m->sum->n_data_points; i++) {
    const otlp_number_point *p = m->sum->data_points[i];
    if (k1 && !has_attr(p->attributes, p->n_attributes, k1, v1)) continue;
    if (k2 && !has_attr(p->attributes, p->n_attributes, k2, v2)) continue;
    t += otlp_test_number_value(p);
  }
  return t;
}

static uint64_t hist_count_where(const otlp_request *req, const char *name, const char *k1, const char *v1,
                                 const char *k2, const char *v2) {
  const otlp_metric *m = otlp_test_find_metric(req, name);
  if (!m || m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM) return 0;
  uint64_t t = 0;
  for (size_t i = 0; i < m->histogram->n_data_points; i++) {
    const otlp_histogram_point *p = m->histogram->data_points[i];
    if (k1 && !has_attr(p->attributes, p->n_attributes, k1, v1)) continue;
    if (k2 && !has_attr(p->attributes, p->n_attributes, k2, v2)) continue;
    t += p->count;
  }
  return t;
}

/* Starts job_worker with a clean OTEL_* environment plus `env` ("NAME=value", NULL-terminated). */
static pid_t spawn_worker(const char *const *env) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  extern char **environ;
  for (char **e = environ; *e;) {
    if (!strncmp(*e, "OTEL_", 5) || !strncmp(*e, "JOB_WORKER_", 11)) {
      char name[128];
      size_t n = strcspn(*e, "=");
      snprintf(name, sizeof name, "%.*s", (int)n, *e);
      unsetenv(name);
    } else {
      e++;
    }
  }
  for (int i = 0; env[i]; i++) putenv((char *)env[i]);
  execl(g_worker, "job_worker", (char *)NULL);
  _exit(127);
}

/* Waits at most timeout_ms for the child; kills it past that. Returns its exit status, or -1. */
static int wait_worker(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

static void check_runtime_and_resource(const otlp_request *req, pid_t pid) {
  char buf[128];
  CHECK(otlp_test_resource_attr(req, "service.name", buf, sizeof buf));
  CHECK_STR(buf, "job-worker-it");
  CHECK(otlp_test_resource_attr(req, "deployment.environment.name", buf, sizeof buf));
  CHECK_STR(buf, "test");
  CHECK(otlp_test_resource_attr(req, "process.executable.name", buf, sizeof buf));
  CHECK_STR(buf, "job_worker");
  CHECK(otlp_test_resource_attr(req, "process.pid", buf, sizeof buf));
  CHECK_EQ(strtoll(buf, NULL, 10), pid);
  static const char *const runtime[] = {"process.cpu.time", "process.cpu.utilization", "process.memory.usage",
                                        "process.memory.virtual", "process.unix.file_descriptor.count",
                                        "process.thread.count", "process.context_switches", "process.paging.faults",
                                        "process.uptime", NULL};
  for (int i = 0; runtime[i]; i++) CHECK_MSG(otlp_test_find_metric(req, runtime[i]) != NULL, "%s missing", runtime[i]);
  CHECK(sum_where(req, "process.cpu.time", NULL, NULL, NULL, NULL) > 0);
  CHECK(sum_where(req, "process.memory.usage", NULL, NULL, NULL, NULL) > 0);
}

static void bounded_run(const char *protocol, bool tls, bool gzip) {
  if (!g_worker) return;
  if (tls && !g_have_certs) return;
  wire_tls_config stls = {.cert_file = g_certs.server_cert, .key_file = g_certs.server_key};
  otlp_test_server_options so = {.tls = tls ? &stls : NULL};
  otlp_test_server *s = otlp_test_server_start(&so);
  CHECK(s != NULL);
  if (!s) return;
  char ep[128], proto[64], cert[700], comp[64], jobs[32];
  snprintf(ep, sizeof ep, "OTEL_EXPORTER_OTLP_ENDPOINT=%s", otlp_test_server_url(s));
  snprintf(proto, sizeof proto, "OTEL_EXPORTER_OTLP_PROTOCOL=%s", protocol);
  snprintf(cert, sizeof cert, "OTEL_EXPORTER_OTLP_CERTIFICATE=%s", tls ? g_certs.ca : "");
  snprintf(comp, sizeof comp, "OTEL_EXPORTER_OTLP_COMPRESSION=%s", gzip ? "gzip" : "none");
  snprintf(jobs, sizeof jobs, "JOB_WORKER_JOBS=%d", JOBS);
  const char *env[] = {ep, proto, cert, comp, jobs,
                       "OTEL_SERVICE_NAME=job-worker-it",
                       "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test",
                       "OTEL_METRIC_EXPORT_INTERVAL=200",
                       "OTEL_EXPORTER_OTLP_HEADERS=x-demo-tenant=integration",
                       "JOB_WORKER_WORK_MS=6",
                       NULL};
  pid_t pid = spawn_worker(env);
  CHECK(pid > 0);
  int rc = wait_worker(pid, 60000);
  CHECK_MSG(rc == 0, "job_worker (%s%s) exited with %d", protocol, tls ? ", tls" : "", rc);

  const otlp_test_request *q = otlp_test_server_latest_with(s, "jobs.processed", pid);
  CHECK_MSG(q != NULL, "no export from job_worker (%s%s)", protocol, tls ? ", tls" : "");
  if (q) {
    CHECK_EQ(q->grpc, strcmp(protocol, "grpc") == 0);
    CHECK_EQ(q->tls, tls);
    CHECK_EQ(q->gzip, gzip);
    if (!q->grpc) CHECK_STR(q->path, "/v1/metrics");
    CHECK_STR(wire_headers_get(&q->headers, "x-demo-tenant"), "integration");
    const otlp_request *req = q->req;
    CHECK_EQ(sum_where(req, "jobs.processed", NULL, NULL, NULL, NULL), JOBS);
    for (int qi = 0; qi < 3; qi++) {
      for (int f = 0; f < 2; f++) {
        const char *outcome = f ? "failure" : "success";
        long want = expected_jobs(qi, f);
        double got = sum_where(req, "jobs.processed", "job.queue", k_queues[qi], "job.outcome", outcome);
        CHECK_MSG(got == (double)want, "jobs.processed{%s,%s} = %g, want %ld", k_queues[qi], outcome, got, want);
        CHECK_EQ(hist_count_where(req, "job.duration", "job.queue", k_queues[qi], "job.outcome", outcome),
                 (uint64_t)want);
      }
      CHECK_EQ(sum_where(req, "jobs.in_progress", "job.queue", k_queues[qi], NULL, NULL), 0);
    }
    const otlp_metric *d = otlp_test_find_metric(req, "job.duration");
    CHECK(d && !strcmp(d->unit, "s") && d->histogram->n_data_points > 0 &&
          d->histogram->data_points[0]->n_explicit_bounds == 13);
    check_runtime_and_resource(req, pid);
  }
  otlp_test_server_stop(s);
}

static void test_grpc(void) { bounded_run("grpc", false, false); }
static void test_http_gzip(void) { bounded_run("http/protobuf", false, true); }
static void test_grpc_tls_gzip(void) { bounded_run("grpc", true, true); }
static void test_http_tls(void) { bounded_run("http/protobuf", true, false); }

/* Runs until SIGTERM: exits 0 and its last export is consistent (nothing in progress, counts = histogram). */
static void test_sigterm(void) {
  if (!g_worker) return;
  otlp_test_server *s = otlp_test_server_start(NULL);
  CHECK(s != NULL);
  if (!s) return;
  char ep[128];
  snprintf(ep, sizeof ep, "OTEL_EXPORTER_OTLP_ENDPOINT=%s", otlp_test_server_url(s));
  const char *env[] = {ep, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_SERVICE_NAME=job-worker-it",
                       "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test",
                       "OTEL_METRIC_EXPORT_INTERVAL=100", "JOB_WORKER_WORK_MS=5", NULL};
  pid_t pid = spawn_worker(env);
  CHECK(pid > 0);
  /* let it export at least twice with jobs done */
  bool exporting = false;
  for (int i = 0; i < 3000 && !exporting; i++) {
    const otlp_test_request *q = otlp_test_server_latest_with(s, "jobs.processed", pid);
    exporting = q && sum_where(q->req, "jobs.processed", NULL, NULL, NULL, NULL) >= 5;
    if (!exporting) usleep(10000);
  }
  CHECK(exporting);
  kill(pid, SIGTERM);
  int rc = wait_worker(pid, 30000);
  CHECK_EQ(rc, 0);
  const otlp_test_request *q = otlp_test_server_latest_with(s, "jobs.processed", pid);
  if (q) {
    double total = sum_where(q->req, "jobs.processed", NULL, NULL, NULL, NULL);
    CHECK(total >= 5);
    CHECK_EQ(hist_count_where(q->req, "job.duration", NULL, NULL, NULL, NULL), (uint64_t)total);
    CHECK_EQ(sum_where(q->req, "jobs.in_progress", NULL, NULL, NULL, NULL), 0);
    check_runtime_and_resource(q->req, pid);
  }
  otlp_test_server_stop(s);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  g_worker = getenv("OTELC_JOB_WORKER");
  if (!g_worker || access(g_worker, X_OK) != 0) {
    fprintf(stderr, "OTELC_JOB_WORKER is not set to the job_worker binary; nothing to test\n");
    CHECK(g_worker != NULL);
    g_worker = NULL;
  }
  g_have_certs = test_certs_make(&g_certs) == 0;
  CHECK(g_have_certs);
  RUN(test_grpc);
  RUN(test_http_gzip);
  RUN(test_grpc_tls_gzip);
  RUN(test_http_tls);
  RUN(test_sigterm);
  return test_finish();
}
