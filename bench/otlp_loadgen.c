/* otlp_loadgen.c — a load generator for OTLP metrics receivers: it replays fixed, pre-encoded OTLP export
 * requests over OTLP/HTTP (HTTP/1.1 keep-alive) or OTLP/gRPC (HTTP/2, unary calls) from N client threads, for D
 * seconds or R requests, and reports requests/s, data points/s and the status counts.
 *
 * Requests come from sample_otlp_parametric (tests/support/sample_otlp.h): M metrics × P points × K attributes,
 * metrics cycling through cumulative int sums, double gauges, delta double sums and histograms. Default 100 × 10 ×
 * 4 = 1,000 points per request. --sets S builds S variants that differ by their resource's
 * service.instance.id ("loadgen-<i>", which the Prometheus exporter turns into the `instance` label), replayed in
 * turn, so S × M × P distinct series reach the receiver (100 sets of 1,000 points: 100,000 series). All protocol work goes through the wire layer (wire_client, wire_grpc_unary).
 *
 *   otlp_loadgen --http http://127.0.0.1:4318 -c 4 -d 10
 *   otlp_loadgen --grpc 127.0.0.1:4317 -c 2 -n 5000 --sets 100
 *   otlp_loadgen --http http://127.0.0.1:4318 -c 2 -d 10 --rate 100     (paced: 100 requests/s in total)
 *
 * Output: one line of key=value figures on stdout (and, with --interval, one line per interval on stderr):
 *   proto=http clients=4 seconds=10.00 requests=... ok=... req_per_s=... points_per_s=... ok_points_per_s=...
 *   status[200]=... status[429]=... transport_errors=...   (gRPC: status[OK]=..., status[UNAVAILABLE]=...)
 * Exit status 0 when at least one request succeeded, 1 otherwise, 2 on usage errors. */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sample_otlp.h"
#include "wire/clock.h"
#include "wire/grpc.h"
#include "wire/grpc_client.h"
#include "wire/http_client.h"
#include "wire/otlp.h"

#define GRPC_EXPORT_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define MAX_HTTP_STATUS 600
#define MAX_GRPC_CODE 17
#define CALL_TIMEOUT_NS (30ll * 1000000000ll)

typedef struct loadgen_options {
  const char *endpoint;
  const char *path; /* OTLP/HTTP path */
  bool grpc;
  int clients;
  double seconds;        /* 0: until `requests` */
  long requests;         /* 0: until `seconds` */
  size_t metrics, points, attrs, sets;
  int backoff_ms;        /* sleep after a refused (non-2xx / non-OK) answer */
  double interval;       /* progress lines on stderr every this many seconds; 0: none */
  double rate;           /* total requests/s over all clients (each client paces itself); 0: as fast as possible */
} loadgen_options;

typedef struct encoded_request {
  uint8_t *data;
  size_t len;
  uint64_t points;
} encoded_request;

/* Counters of one client thread, summed by the reporter. */
typedef struct client_stats {
  _Atomic uint64_t requests, ok, ok_points, transport_errors;
  _Atomic uint64_t http_status[MAX_HTTP_STATUS];
  _Atomic uint64_t grpc_code[MAX_GRPC_CODE];
} client_stats;

typedef struct client_thread {
  pthread_t tid;
  int index;
  int64_t next_send_ns; /* --rate: when this client may send its next request */
  client_stats stats;
  char first_error[256];
} client_thread;

static loadgen_options g_opt = {
    .path = "/v1/metrics", .clients = 1, .seconds = 10, .metrics = 100, .points = 10, .attrs = 4, .sets = 1};
static encoded_request *g_reqs;
static _Atomic long g_requests_left; /* when --requests is given */
static atomic_bool g_stop;
static int64_t g_end_ns;

static void usage(FILE *f) {
  fprintf(f,
          "usage: otlp_loadgen (--http URL | --grpc HOST:PORT) [options]\n"
          "  --http URL        OTLP/HTTP base URL (http://127.0.0.1:4318); --path overrides /v1/metrics\n"
          "  --grpc HOST:PORT  OTLP/gRPC endpoint (plaintext HTTP/2)\n"
          "  -c, --clients N   client threads, one connection each (1)\n"
          "  -d, --duration S  run for S seconds (10; 0 with -n: until the requests are sent)\n"
          "  -n, --requests R  stop after R requests in total (0: no limit)\n"
          "  --metrics M --points P --attrs K   request shape (100 x 10 x 4 = 1,000 points)\n"
          "  --sets S          S request variants with distinct resources (S x M x P series; 1)\n"
          "  --backoff-ms MS   pause after a refused request (0)\n"
          "  --interval S      progress line on stderr every S seconds (0: none)\n"
          "  --rate R          at most R requests/s in total, spread over the clients (0: no limit)\n");
}

static void on_signal(int sig) {
  (void)sig;
  atomic_store(&g_stop, true);
}

/* Builds and encodes the request variants. */
static int build_requests(void) {
  g_reqs = calloc(g_opt.sets, sizeof *g_reqs);
  if (!g_reqs) return -1;
  for (size_t s = 0; s < g_opt.sets; s++) {
    otlp_request *req = sample_otlp_parametric(g_opt.metrics, g_opt.points, g_opt.attrs);
    char value[48];
    snprintf(value, sizeof value, "loadgen-%zu", s);
    otlp_resource *res = req->resource_metrics[0]->resource;
    SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_string("service.instance.id", value));
    wire_buf out;
    wire_buf_init(&out, 0);
    wire_err err;
    wire_err_clear(&err);
    if (wire_otlp_encode_request(req, &out, &err) < 0) {
      fprintf(stderr, "otlp_loadgen: encoding request %zu: %s\n", s, err.msg);
      sample_otlp_free(req);
      return -1;
    }
    g_reqs[s].points = wire_otlp_count_points(req);
    g_reqs[s].data = wire_buf_detach(&out, &g_reqs[s].len);
    sample_otlp_free(req);
  }
  return 0;
}

/* --rate: waits until this client's next slot (clients × 1/rate apart). */
static void pace(client_thread *t) {
  if (g_opt.rate <= 0) return;
  int64_t now = wire_now_ns();
  if (t->next_send_ns == 0) t->next_send_ns = now;
  if (t->next_send_ns > now) {
    int64_t wait = t->next_send_ns - now;
    struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000), .tv_nsec = (long)(wait % 1000000000)};
    nanosleep(&ts, NULL);
  }
  t->next_send_ns += (int64_t)((double)g_opt.clients * 1e9 / g_opt.rate);
}

/* Takes one request from the global budget (after pacing); false when the run is over. */
static bool take_request(client_thread *t) {
  pace(t);
  if (atomic_load_explicit(&g_stop, memory_order_relaxed)) return false;
  if (g_end_ns && wire_now_ns() >= g_end_ns) return false;
  if (g_opt.requests > 0 && atomic_fetch_sub(&g_requests_left, 1) <= 0) return false;
  return true;
}

static void note_error(client_thread *t, const char *msg) {
  if (!t->first_error[0]) snprintf(t->first_error, sizeof t->first_error, "%s", msg);
}

static void pause_ms(int ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void run_http(client_thread *t, wire_client *c) {
  wire_http_request req;
  wire_http_response resp;
  wire_http_request_init(&req, 0, 0);
  wire_http_response_init(&resp, 0, 1 << 20);
  wire_err err;
  wire_err_clear(&err);
  if (wire_http_request_set_target(&req, "POST", g_opt.path, NULL, &err) < 0 ||
      wire_headers_add_cstr(&req.headers, "content-type", "application/x-protobuf", &err) < 0) {
    note_error(t, err.msg);
    wire_http_request_free(&req);
    wire_http_response_free(&resp);
    return;
  }
  size_t next = (size_t)t->index;
  while (take_request(t)) {
    const encoded_request *e = &g_reqs[next++ % g_opt.sets];
    /* The body points at the shared pre-encoded request (read only); detached again before the free. */
    req.body.data = e->data;
    req.body.len = req.body.cap = e->len;
    wire_http_response_reset(&resp);
    wire_err_clear(&err);
    int rc = wire_client_do(c, &req, &resp, wire_now_ns() + CALL_TIMEOUT_NS, &err);
    req.body.data = NULL;
    req.body.len = req.body.cap = 0;
    atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
    if (rc < 0) {
      atomic_fetch_add_explicit(&t->stats.transport_errors, 1, memory_order_relaxed);
      note_error(t, err.msg);
      pause_ms(g_opt.backoff_ms > 0 ? g_opt.backoff_ms : 10);
      continue;
    }
    if (resp.status >= 0 && resp.status < MAX_HTTP_STATUS)
      atomic_fetch_add_explicit(&t->stats.http_status[resp.status], 1, memory_order_relaxed);
    if (resp.status >= 200 && resp.status < 300) {
      atomic_fetch_add_explicit(&t->stats.ok, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&t->stats.ok_points, e->points, memory_order_relaxed);
    } else {
      pause_ms(g_opt.backoff_ms);
    }
  }
  wire_http_request_free(&req);
  wire_http_response_free(&resp);
}

static void run_grpc(client_thread *t, wire_client *c) {
  size_t next = (size_t)t->index;
  wire_grpc_result r;
  wire_grpc_result_init(&r);
  while (take_request(t)) {
    const encoded_request *e = &g_reqs[next++ % g_opt.sets];
    wire_err err;
    wire_err_clear(&err);
    wire_grpc_result_free(&r);
    wire_grpc_result_init(&r);
    wire_grpc_call call = {
        .path = GRPC_EXPORT_PATH,
        .request = e->data,
        .request_len = e->len,
        .deadline_ns = wire_now_ns() + CALL_TIMEOUT_NS,
        .user_agent = "otelc-loadgen",
    };
    int rc = wire_grpc_unary(c, &call, &r, &err);
    atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
    if (rc < 0 && r.local && r.code == WIRE_GRPC_UNAVAILABLE) {
      atomic_fetch_add_explicit(&t->stats.transport_errors, 1, memory_order_relaxed);
      note_error(t, err.msg);
      pause_ms(g_opt.backoff_ms > 0 ? g_opt.backoff_ms : 10);
      continue;
    }
    if (r.code >= 0 && r.code < MAX_GRPC_CODE)
      atomic_fetch_add_explicit(&t->stats.grpc_code[r.code], 1, memory_order_relaxed);
    if (r.code == WIRE_GRPC_OK) {
      atomic_fetch_add_explicit(&t->stats.ok, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&t->stats.ok_points, e->points, memory_order_relaxed);
    } else {
      if (rc < 0) note_error(t, err.msg);
      pause_ms(g_opt.backoff_ms);
    }
  }
  wire_grpc_result_free(&r);
}

static void *client_main(void *arg) {
  client_thread *t = arg;
  wire_client_config cc = {
      .endpoint = g_opt.endpoint,
      .default_port = g_opt.grpc ? 4317 : 4318,
      .force_plaintext = true,
      .proto = g_opt.grpc ? WIRE_CLIENT_H2 : WIRE_CLIENT_H1,
      .max_response_bytes = 1 << 20,
  };
  wire_err err;
  wire_err_clear(&err);
  wire_client *c = wire_client_new(&cc, &err);
  if (!c) {
    note_error(t, err.msg);
    return NULL;
  }
  if (g_opt.grpc)
    run_grpc(t, c);
  else
    run_http(t, c);
  wire_client_free(c);
  return NULL;
}

/* Sums every thread's counters into *sum. */
static void collect(client_thread *threads, int n, client_stats *sum) {
  memset(sum, 0, sizeof *sum);
  for (int i = 0; i < n; i++) {
    client_stats *s = &threads[i].stats;
    sum->requests += atomic_load(&s->requests);
    sum->ok += atomic_load(&s->ok);
    sum->ok_points += atomic_load(&s->ok_points);
    sum->transport_errors += atomic_load(&s->transport_errors);
    for (int k = 0; k < MAX_HTTP_STATUS; k++) sum->http_status[k] += atomic_load(&s->http_status[k]);
    for (int k = 0; k < MAX_GRPC_CODE; k++) sum->grpc_code[k] += atomic_load(&s->grpc_code[k]);
  }
}

static void print_stats(FILE *f, const client_stats *s, double secs, uint64_t points_per_req) {
  if (secs <= 0) secs = 1e-9;
  fprintf(f, "proto=%s clients=%d seconds=%.2f requests=%llu ok=%llu req_per_s=%.0f points_per_s=%.0f "
             "ok_points_per_s=%.0f",
          g_opt.grpc ? "grpc" : "http", g_opt.clients, secs, (unsigned long long)s->requests,
          (unsigned long long)s->ok, (double)s->requests / secs, (double)(s->requests * points_per_req) / secs,
          (double)s->ok_points / secs);
  for (int k = 0; k < MAX_HTTP_STATUS; k++)
    if (s->http_status[k]) fprintf(f, " status[%d]=%llu", k, (unsigned long long)s->http_status[k]);
  for (int k = 0; k < MAX_GRPC_CODE; k++)
    if (s->grpc_code[k])
      fprintf(f, " status[%s]=%llu", wire_grpc_code_name(k), (unsigned long long)s->grpc_code[k]);
  fprintf(f, " transport_errors=%llu\n", (unsigned long long)s->transport_errors);
  fflush(f);
}

static int parse_options(int argc, char **argv) {
  enum { O_HTTP = 256, O_GRPC, O_PATH, O_METRICS, O_POINTS, O_ATTRS, O_SETS, O_BACKOFF, O_INTERVAL, O_RATE };
  static const struct option longopts[] = {
      {"http", required_argument, NULL, O_HTTP},       {"grpc", required_argument, NULL, O_GRPC},
      {"path", required_argument, NULL, O_PATH},       {"clients", required_argument, NULL, 'c'},
      {"duration", required_argument, NULL, 'd'},      {"requests", required_argument, NULL, 'n'},
      {"metrics", required_argument, NULL, O_METRICS}, {"points", required_argument, NULL, O_POINTS},
      {"attrs", required_argument, NULL, O_ATTRS},     {"sets", required_argument, NULL, O_SETS},
      {"backoff-ms", required_argument, NULL, O_BACKOFF}, {"interval", required_argument, NULL, O_INTERVAL},
      {"rate", required_argument, NULL, O_RATE},       {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool duration_set = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "c:d:n:h", longopts, NULL)) != -1) {
    switch (ch) {
    case O_HTTP: g_opt.endpoint = optarg; g_opt.grpc = false; break;
    case O_GRPC: g_opt.endpoint = optarg; g_opt.grpc = true; break;
    case O_PATH: g_opt.path = optarg; break;
    case 'c': g_opt.clients = atoi(optarg); break;
    case 'd': g_opt.seconds = atof(optarg); duration_set = true; break;
    case 'n': g_opt.requests = atol(optarg); break;
    case O_METRICS: g_opt.metrics = (size_t)atol(optarg); break;
    case O_POINTS: g_opt.points = (size_t)atol(optarg); break;
    case O_ATTRS: g_opt.attrs = (size_t)atol(optarg); break;
    case O_SETS: g_opt.sets = (size_t)atol(optarg); break;
    case O_BACKOFF: g_opt.backoff_ms = atoi(optarg); break;
    case O_INTERVAL: g_opt.interval = atof(optarg); break;
    case O_RATE: g_opt.rate = atof(optarg); break;
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
  }
  if (g_opt.requests > 0 && !duration_set) g_opt.seconds = 0;
  if (!g_opt.endpoint || g_opt.clients < 1 || g_opt.clients > 1024 || g_opt.metrics < 1 || g_opt.points < 1 ||
      g_opt.sets < 1 || g_opt.sets > 100000 || (g_opt.seconds <= 0 && g_opt.requests <= 0)) {
    usage(stderr);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (parse_options(argc, argv) < 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  if (build_requests() < 0) return 1;
  uint64_t points_per_req = g_reqs[0].points;
  fprintf(stderr, "otlp_loadgen: %s %s, %d clients, %zu request variants of %llu points (%zu bytes)\n",
          g_opt.grpc ? "gRPC" : "HTTP", g_opt.endpoint, g_opt.clients, g_opt.sets,
          (unsigned long long)points_per_req, g_reqs[0].len);

  atomic_store(&g_requests_left, g_opt.requests);
  int64_t start = wire_now_ns();
  g_end_ns = g_opt.seconds > 0 ? start + (int64_t)(g_opt.seconds * 1e9) : 0;
  client_thread *threads = calloc((size_t)g_opt.clients, sizeof *threads);
  if (!threads) return 1;
  int started = 0;
  for (int i = 0; i < g_opt.clients; i++) {
    threads[i].index = i;
    if (pthread_create(&threads[i].tid, NULL, client_main, &threads[i]) != 0) {
      fprintf(stderr, "otlp_loadgen: cannot start client thread %d\n", i);
      atomic_store(&g_stop, true);
      break;
    }
    started++;
  }

  /* Progress: every --interval seconds, the rates over that interval. */
  client_stats *prev = calloc(1, sizeof *prev), *now = calloc(1, sizeof *now);
  int64_t prev_ns = start;
  while (!atomic_load(&g_stop) && (g_end_ns == 0 || wire_now_ns() < g_end_ns)) {
    if (g_opt.requests > 0 && atomic_load(&g_requests_left) <= 0) break;
    double step = g_opt.interval > 0 ? g_opt.interval : 0.1;
    struct timespec ts = {.tv_sec = (time_t)step, .tv_nsec = (long)((step - (double)(time_t)step) * 1e9)};
    nanosleep(&ts, NULL);
    if (g_opt.interval > 0 && prev && now) {
      collect(threads, started, now);
      int64_t t = wire_now_ns();
      client_stats d;
      memset(&d, 0, sizeof d);
      d.requests = now->requests - prev->requests;
      d.ok = now->ok - prev->ok;
      d.ok_points = now->ok_points - prev->ok_points;
      d.transport_errors = now->transport_errors - prev->transport_errors;
      for (int k = 0; k < MAX_HTTP_STATUS; k++) d.http_status[k] = now->http_status[k] - prev->http_status[k];
      for (int k = 0; k < MAX_GRPC_CODE; k++) d.grpc_code[k] = now->grpc_code[k] - prev->grpc_code[k];
      fprintf(stderr, "t=%.1f ", (double)(t - start) / 1e9);
      print_stats(stderr, &d, (double)(t - prev_ns) / 1e9, points_per_req);
      memcpy(prev, now, sizeof *now);
      prev_ns = t;
    }
  }
  for (int i = 0; i < started; i++) pthread_join(threads[i].tid, NULL);
  double secs = (double)(wire_now_ns() - start) / 1e9;

  client_stats *total = calloc(1, sizeof *total);
  if (!total) return 1;
  collect(threads, started, total);
  print_stats(stdout, total, secs, points_per_req);
  for (int i = 0; i < started; i++)
    if (threads[i].first_error[0]) {
      fprintf(stderr, "otlp_loadgen: client %d: first error: %s\n", i, threads[i].first_error);
      break;
    }
  int rc = total->ok > 0 ? 0 : 1;
  for (size_t s = 0; s < g_opt.sets; s++) free(g_reqs[s].data);
  free(g_reqs);
  free(threads);
  free(prev);
  free(now);
  free(total);
  return rc;
}
