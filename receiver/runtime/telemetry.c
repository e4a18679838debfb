/* telemetry.c — the receiver's own metrics (see telemetry.h): a small table of series under a mutex (components
 * report per batch, not per point, so a lock and a short scan cost nothing next to the data), process metrics
 * read at scrape time, the Prometheus text rendering and the /metrics server. */
#include "receiver/runtime/telemetry.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wire/clock.h"
#include "wire/grow.h"
#include "wire/server/http_server.h"

typedef enum series_type { SERIES_COUNTER, SERIES_GAUGE, SERIES_HISTOGRAM } series_type;

typedef struct series {
  char *metric;
  char *component;
  char *transport; /* NULL: none; "name=value": that label instead of transport= */
  series_type type;
  int64_t value;   /* histograms: the count */
  /* Histograms (recvops): per-bucket counts (not cumulative) for `bounds` (static, ascending), and the sum. */
  const double *bounds;
  size_t nbounds;
  uint64_t *buckets;
  double sum;
} series;

struct telemetry {
  pthread_mutex_t mu;
  series *v;
  size_t n, cap;
  char version[64];
  char instance_id[40];
  int64_t start_ns;
  wire_server *server;
  char *listen;
  void (*stop_done)(void *);
  void *stop_arg;
};

/* HELP text of the metrics otelc reports (others get a generic one). */
static const struct {
  const char *name, *help;
} known[] = {
    {"otelcol_receiver_accepted_metric_points", "Number of metric points successfully pushed into the pipeline."},
    {"otelcol_receiver_refused_metric_points", "Number of metric points that could not be pushed into the pipeline."},
    {"otelcol_exporter_sent_metric_points", "Number of metric points successfully sent to destination."},
    {"otelcol_exporter_send_failed_metric_points", "Number of metric points in failed attempts to send to destination."},
    {"otelcol_exporter_enqueue_failed_metric_points", "Number of metric points failed to be added to the sending queue."},
    {"otelcol_exporter_queue_size", "Current size of the retry queue (in batches)."},
    {"otelcol_exporter_queue_capacity", "Fixed capacity of the retry queue (in batches)."},
    {"otelcol_processor_incoming_items", "Number of items passed to the processor."},
    {"otelcol_processor_outgoing_items", "Number of items emitted from the processor."},
    {"otelcol_processor_batch_batch_send_size", "Number of units in the batch"},
    {"otelcol_processor_batch_batch_size_trigger_send", "Number of times the batch was sent due to a size trigger"},
    {"otelcol_processor_batch_timeout_trigger_send", "Number of times the batch was sent due to a timeout trigger"},
};

static const char *help_of(const char *metric) {
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(known[i].name, metric)) return known[i].help;
  return "otelc-receiver internal metric.";
}

/* receiver= / exporter= / processor= / extension= from the metric's prefix. */
static const char *label_of(const char *metric) {
  if (!strncmp(metric, "otelcol_receiver_", 17)) return "receiver";
  if (!strncmp(metric, "otelcol_exporter_", 17)) return "exporter";
  if (!strncmp(metric, "otelcol_processor_", 18)) return "processor";
  if (!strncmp(metric, "otelcol_extension_", 18)) return "extension";
  return "component";
}

static void make_instance_id(char out[40]) {
  unsigned char b[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
  if (fd >= 0) close(fd);
  if (got != (ssize_t)sizeof b) {
    uint64_t x = wire_wall_ns() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < sizeof b; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      b[i] = (unsigned char)(x >> 56);
    }
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
           b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

telemetry *telemetry_new(const char *service_version) {
  telemetry *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  pthread_mutex_init(&t->mu, NULL);
  snprintf(t->version, sizeof t->version, "%s", service_version ? service_version : "unknown");
  make_instance_id(t->instance_id);
  t->start_ns = wire_now_ns();
  return t;
}

void telemetry_free(telemetry *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].metric);
    free(t->v[i].component);
    free(t->v[i].transport);
    free(t->v[i].buckets);
  }
  free(t->v);
  free(t->listen);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* The series (created when missing), with t->mu held. NULL when out of memory. */
static series *find(telemetry *t, const char *metric, const char *component, const char *transport,
                    series_type type, bool create) {
  for (size_t i = 0; i < t->n; i++) {
    series *s = &t->v[i];
    if (!strcmp(s->metric, metric) && same(s->component, component) && same(s->transport, transport)) return s;
  }
  if (!create) return NULL;
  if (t->n == t->cap) {
    series *v = wire_grow_array(t->v, &t->cap, sizeof *v, 16);
    if (!v) return NULL;
    t->v = v;
  }
  series *s = &t->v[t->n];
  memset(s, 0, sizeof *s);
  s->metric = strdup(metric);
  s->component = strdup(component ? component : "");
  s->transport = transport ? strdup(transport) : NULL;
  s->type = type;
  if (!s->metric || !s->component || (transport && !s->transport)) {
    free(s->metric);
    free(s->component);
    free(s->transport);
    return NULL;
  }
  t->n++;
  return s;
}

void telemetry_add(telemetry *t, const char *metric, const char *component_id, const char *transport, uint64_t n) {
  if (!t || !metric) return;
  pthread_mutex_lock(&t->mu);
  series *s = find(t, metric, component_id ? component_id : "", transport, SERIES_COUNTER, true);
  if (s) s->value += (int64_t)n;
  pthread_mutex_unlock(&t->mu);
}

void telemetry_set(telemetry *t, const char *metric, const char *component_id, int64_t value) {
  if (!t || !metric) return;
  pthread_mutex_lock(&t->mu);
  series *s = find(t, metric, component_id ? component_id : "", NULL, SERIES_GAUGE, true);
  if (s) s->value = value;
  pthread_mutex_unlock(&t->mu);
}

void telemetry_observe(telemetry *t, const char *metric, const char *component_id, const double *bounds,
                       size_t nbounds, double value) {
  if (!t || !metric || !bounds) return;
  pthread_mutex_lock(&t->mu);
  series *s = find(t, metric, component_id ? component_id : "", NULL, SERIES_HISTOGRAM, true);
  if (s && s->type == SERIES_HISTOGRAM && !s->buckets) { /* new: its bounds are fixed now */
    s->buckets = calloc(nbounds + 1, sizeof *s->buckets);
    s->bounds = bounds;
    s->nbounds = s->buckets ? nbounds : 0;
  }
  if (s && s->buckets) {
    size_t b = 0;
    while (b < s->nbounds && value > s->bounds[b]) b++; /* le: the first bound >= value; nbounds: +Inf */
    s->buckets[b]++;
    s->sum += value;
    s->value++;
  }
  pthread_mutex_unlock(&t->mu);
}

int64_t telemetry_get(telemetry *t, const char *metric, const char *component_id, const char *transport) {
  if (!t) return 0;
  pthread_mutex_lock(&t->mu);
  series *s = find(t, metric, component_id ? component_id : "", transport, SERIES_COUNTER, false);
  int64_t v = s ? s->value : 0;
  pthread_mutex_unlock(&t->mu);
  return v;
}

/* ---- rendering ---- */

static int put_label_value(wire_buf *out, const char *v, wire_err *err) {
  for (const char *p = v; *p; p++) {
    const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
    int rc = esc ? wire_buf_append_str(out, esc, err) : wire_buf_append(out, p, 1, err);
    if (rc < 0) return -1;
  }
  return 0;
}

/* {component label, service labels, extra label[, le]}: `le` is a histogram bucket's bound (NULL: none). */
static int put_labels(telemetry *t, wire_buf *out, const char *metric, const series *s, const char *le,
                      wire_err *err) {
  if (wire_buf_append_str(out, "{", err) < 0) return -1;
  if (s) {
    if (wire_buf_printf(out, err, "%s=\"", label_of(metric)) < 0 || put_label_value(out, s->component, err) < 0 ||
        wire_buf_append_str(out, "\",", err) < 0)
      return -1;
  }
  if (wire_buf_printf(out, err, "service_instance_id=\"%s\",service_name=\"otelc-receiver\",service_version=\"",
                      t->instance_id) < 0 ||
      put_label_value(out, t->version, err) < 0 || wire_buf_append_str(out, "\"", err) < 0)
    return -1;
  if (s && s->transport) {
    const char *eq = strchr(s->transport, '='); /* "otel_signal=metrics": that label (recvops) */
    int rc = eq ? wire_buf_printf(out, err, ",%.*s=\"", (int)(eq - s->transport), s->transport)
                : wire_buf_append_str(out, ",transport=\"", err);
    if (rc < 0 || put_label_value(out, eq ? eq + 1 : s->transport, err) < 0 || wire_buf_append_str(out, "\"", err) < 0)
      return -1;
  }
  if (le && wire_buf_printf(out, err, ",le=\"%s\"", le) < 0) return -1;
  return wire_buf_append_str(out, "}", err);
}

static int cmp_series(const void *a, const void *b) {
  const series *x = a, *y = b;
  int c = strcmp(x->metric, y->metric);
  if (c) return c;
  c = strcmp(x->component, y->component);
  if (c) return c;
  return strcmp(x->transport ? x->transport : "", y->transport ? y->transport : "");
}

static int64_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  if (!f) return 0;
  long long size = 0, resident = 0;
  int n = fscanf(f, "%lld %lld", &size, &resident);
  fclose(f);
  return n == 2 ? resident * (int64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* <metric>_bucket{...,le="B"} (cumulative), le="+Inf", _sum and _count (recvops). */
static int render_histogram(telemetry *t, wire_buf *out, const series *s, wire_err *err) {
  uint64_t cumulative = 0;
  char le[32];
  for (size_t b = 0; b <= s->nbounds; b++) {
    cumulative += s->buckets ? s->buckets[b] : 0;
    if (b < s->nbounds)
      snprintf(le, sizeof le, "%.17g", s->bounds[b]);
    else
      snprintf(le, sizeof le, "+Inf");
    if (b == s->nbounds) cumulative = (uint64_t)s->value; /* (also when the buckets could not be copied) */
    if (wire_buf_printf(out, err, "%s_bucket", s->metric) < 0 || put_labels(t, out, s->metric, s, le, err) < 0 ||
        wire_buf_printf(out, err, " %llu\n", (unsigned long long)cumulative) < 0)
      return -1;
  }
  if (wire_buf_printf(out, err, "%s_sum", s->metric) < 0 || put_labels(t, out, s->metric, s, NULL, err) < 0 ||
      wire_buf_printf(out, err, " %.17g\n", s->sum) < 0 || wire_buf_printf(out, err, "%s_count", s->metric) < 0 ||
      put_labels(t, out, s->metric, s, NULL, err) < 0 ||
      wire_buf_printf(out, err, " %lld\n", (long long)s->value) < 0)
    return -1;
  return 0;
}

int telemetry_render(telemetry *t, wire_buf *out, wire_err *err) {
  pthread_mutex_lock(&t->mu);
  series *copy = NULL;
  size_t n = t->n;
  if (n) {
    copy = malloc(n * sizeof *copy);
    if (!copy) {
      pthread_mutex_unlock(&t->mu);
      return wire_err_set(err, WIRE_E_NOMEM, "telemetry: out of memory");
    }
    memcpy(copy, t->v, n * sizeof *copy); /* strings stay valid: series are never removed */
  }
  uint64_t *bucket_copy = NULL; /* histogram buckets change: copied under the lock too */
  size_t nb = 0;
  for (size_t i = 0; i < n; i++) nb += copy[i].buckets ? copy[i].nbounds + 1 : 0;
  if (nb && (bucket_copy = malloc(nb * sizeof *bucket_copy)) != NULL) {
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
      if (!copy[i].buckets) continue;
      memcpy(bucket_copy + off, copy[i].buckets, (copy[i].nbounds + 1) * sizeof *bucket_copy);
      copy[i].buckets = bucket_copy + off;
      off += copy[i].nbounds + 1;
    }
  } else if (nb) {
    for (size_t i = 0; i < n; i++) copy[i].buckets = NULL, copy[i].nbounds = 0; /* out of memory: counts only */
  }
  pthread_mutex_unlock(&t->mu);
  if (n) qsort(copy, n, sizeof *copy, cmp_series);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const series *s = &copy[i];
    if (i == 0 || strcmp(copy[i - 1].metric, s->metric)) {
      rc = wire_buf_printf(out, err, "# HELP %s %s\n# TYPE %s %s\n", s->metric, help_of(s->metric), s->metric,
                           s->type == SERIES_COUNTER ? "counter" : s->type == SERIES_GAUGE ? "gauge" : "histogram");
      if (rc < 0) break;
    }
    if (s->type == SERIES_HISTOGRAM) {
      rc = render_histogram(t, out, s, err);
      continue;
    }
    rc = wire_buf_append_str(out, s->metric, err);
    if (rc == 0) rc = put_labels(t, out, s->metric, s, NULL, err);
    if (rc == 0) rc = wire_buf_printf(out, err, " %lld\n", (long long)s->value);
  }
  free(copy);
  free(bucket_copy);
  if (rc < 0) return -1;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6;
  double uptime = (double)(wire_now_ns() - t->start_ns) / 1e9;
  struct {
    const char *name, *type, *help;
    double value;
  } proc[] = {
      {"otelcol_process_cpu_seconds", "counter", "Total CPU user and system time in seconds.", cpu},
      {"otelcol_process_memory_rss", "gauge", "Total physical memory (resident set size) in bytes.",
       (double)rss_bytes()},
      {"otelcol_process_uptime", "counter", "Uptime of the process in seconds.", uptime},
  };
  for (size_t i = 0; i < sizeof proc / sizeof proc[0]; i++) {
    if (wire_buf_printf(out, err, "# HELP %s %s\n# TYPE %s %s\n%s", proc[i].name, proc[i].help, proc[i].name,
                        proc[i].type, proc[i].name) < 0 ||
        put_labels(t, out, proc[i].name, NULL, NULL, err) < 0 || wire_buf_printf(out, err, " %.9g\n", proc[i].value) < 0)
      return -1;
  }
  return 0;
}

/* ---- /metrics server ---- */

static void handle(wire_exchange *ex, void *ud) {
  telemetry *t = ud;
  const wire_http_request *req = wire_exchange_request(ex);
  const char *path = req->path ? req->path : "";
  size_t plen = strcspn(path, "?");
  if (plen != 8 || strncmp(path, "/metrics", 8) != 0) {
    wire_exchange_respond_text(ex, 404, "404 page not found\n");
    return;
  }
  if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
    wire_headers h;
    wire_headers_init(&h, 0, 0);
    wire_headers_add_cstr(&h, "allow", "GET, HEAD", NULL);
    wire_exchange_respond(ex, 405, &h, NULL, 0, NULL);
    wire_headers_free(&h);
    return;
  }
  wire_buf out;
  wire_buf_init(&out, 16 * 1024 * 1024);
  wire_err err;
  if (telemetry_render(t, &out, &err) < 0) {
    wire_buf_free(&out);
    wire_exchange_respond_text(ex, 500, "telemetry: cannot render metrics\n");
    return;
  }
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "text/plain; version=0.0.4; charset=utf-8", NULL);
  bool head = !strcmp(req->method, "HEAD");
  wire_exchange_respond(ex, 200, &h, head ? NULL : out.data, head ? 0 : out.len, NULL);
  wire_headers_free(&h);
  wire_buf_free(&out);
}

int telemetry_serve(telemetry *t, uv_loop_t *loop, const char *listen, wire_err *err) {
  if (t->server && listen && t->listen && !strcmp(t->listen, listen)) return 0;
  if (t->server) telemetry_stop(t, NULL, NULL);
  if (!listen) return 0;
  wire_server_config sc = {.endpoint = listen, .max_body_bytes = 64 * 1024, .max_connections = 64};
  t->server = wire_server_start(loop, &sc, handle, t, err);
  if (!t->server) {
    wire_err_prefix(err, "telemetry: ");
    return -1;
  }
  free(t->listen);
  t->listen = strdup(listen);
  return 0;
}

uint16_t telemetry_port(const telemetry *t) { return t->server ? wire_server_port(t->server) : 0; }

void telemetry_stop(telemetry *t, void (*done)(void *arg), void *arg) {
  if (!t->server) {
    if (done) done(arg);
    return;
  }
  wire_server *s = t->server;
  t->server = NULL;
  free(t->listen);
  t->listen = NULL;
  wire_server_stop(s, done, arg);
}
