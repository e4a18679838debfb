/* metrics.c — the recording thread of the preload shim (see metrics.h).
 *
 * States: IDLE (no HTTP seen in this process) -> STARTING -> RUNNING, or FAILED. The first request any
 * connection reports moves IDLE to STARTING exactly once (compare-exchange) and creates the thread with every
 * signal blocked, so the host's signals keep going to the host's threads. The thread builds the provider
 * (configuration from the constructor's environment snapshot), then drains the event ring every 20 ms while
 * requests flow (200 ms when idle), or at once when a quarter of it has been filled. Attribute sets are bound
 * once per distinct combination (a small cache of bound series), so steady-state recording hashes nothing. */
#define _GNU_SOURCE
#include "autoinstr/metrics.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "autoinstr/config.h"
#include "autoinstr/events.h"
#include "autoinstr/exporter.h"
#include "autoinstr/fdtable.h"
#include "autoinstr/bind_cache.h"
#include "autoinstr/clock.h"
#include "autoinstr/metrics_rpc.h"
#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "wire/clock.h"

#define PRELOAD_SCOPE "otelc.autoinstr.http"

const double preload_duration_bounds[14] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,   5,    7.5,  10};

enum { ST_IDLE = 0, ST_STARTING, ST_RUNNING, ST_FAILED };

__thread bool preload_shim_thread __attribute__((tls_model("initial-exec")));

static _Atomic bool g_stop;
static pthread_t g_thread;
static _Atomic int g_thread_done;

static otelc_meter_provider *g_mp;
static otelc_exporter *g_exporter; /* the OTLP exporter the shim made (preload_exporter_create; owned by g_mp) */
static otelc_instrument *g_duration, *g_req_size, *g_resp_size, *g_active, *g_dropped;

/* ---- bound series per attribute combination ------------------------------------------------------- */

#define BIND_SLOTS 1024 /* a power of two; distinct combinations beyond it are recorded per call */

typedef struct bind_entry {
  uint64_t key; /* 0: empty */
  otelc_series *duration, *req_size, *resp_size;
} bind_entry;

static bind_entry g_bind[BIND_SLOTS];

static uint64_t event_key(const sniff_event *ev) {
  /* status: 10 bits, port: 16, route+1: 7, method: 4, version: 1+1, scheme: 1, error: 2, and a marker bit */
  return 1ull << 60 | (uint64_t)(ev->status & 0x3ff) | (uint64_t)ev->port << 10 |
         (uint64_t)((ev->route + 1) & 0x7f) << 26 | (uint64_t)(ev->method & 0xf) << 33 |
         (uint64_t)(ev->version == 10) << 37 | (uint64_t)(ev->scheme & 1) << 38 | (uint64_t)(ev->error & 3) << 39 |
         (uint64_t)(ev->version == 20) << 41;
}

/* Fills attrs for an event; returns how many. status_text must outlive the call. */
static size_t event_attrs(const sniff_event *ev, otelc_attr *a, char *status_text, size_t status_len) {
  size_t n = 0;
  a[n++] = OTELC_ATTR_STR("http.request.method", sniff_method_name(ev->method));
  a[n++] = OTELC_ATTR_STR("url.scheme", ev->scheme == SNIFF_HTTPS ? "https" : "http");
  a[n++] = OTELC_ATTR_STR("network.protocol.version", ev->version == 10 ? "1.0" : ev->version == 20 ? "2" : "1.1");
  if (ev->status) a[n++] = OTELC_ATTR_INT("http.response.status_code", ev->status);
  if (ev->port) a[n++] = OTELC_ATTR_INT("server.port", ev->port);
  if (ev->route >= 0 && (size_t)ev->route < preload_cfg.routes.n)
    a[n++] = OTELC_ATTR_STR("http.route", preload_cfg.routes.tmpl[ev->route]);
  const char *err = sniff_error_name(ev->error);
  if (!err && ev->status >= 500) {
    snprintf(status_text, status_len, "%u", (unsigned)ev->status);
    err = status_text;
  }
  if (err) a[n++] = OTELC_ATTR_STR("error.type", err);
  return n;
}

static void record(const sniff_event *ev) {
  if (ev->rpc_status) metrics_rpc_record(ev); /* a gRPC call: rpc.server.call.duration too (metrics_rpc.h) */
  double seconds = preload_clock_seconds(ev->duration);
  uint64_t key = event_key(ev);
  bool fresh;
  bind_entry *slot = bind_cache_slot(g_bind, sizeof g_bind[0], BIND_SLOTS, key, &fresh);
  if (slot && fresh) {
    otelc_attr a[8];
    char st[8];
    size_t n = event_attrs(ev, a, st, sizeof st);
    slot->duration = otelc_bind_exclusive(g_duration, a, n); /* recorded by this thread only */
    slot->req_size = otelc_bind_exclusive(g_req_size, a, n);
    slot->resp_size = otelc_bind_exclusive(g_resp_size, a, n);
    slot->key = key;
  }
  if (slot) {
    otelc_series_record_f64(slot->duration, seconds);
    otelc_series_record_i64(slot->req_size, (int64_t)ev->req_body);
    otelc_series_record_i64(slot->resp_size, (int64_t)ev->resp_body);
    return;
  }
  otelc_attr a[8];
  char st[8];
  size_t n = event_attrs(ev, a, st, sizeof st);
  otelc_record_f64(g_duration, seconds, a, n);
  otelc_record_i64(g_req_size, (int64_t)ev->req_body, a, n);
  otelc_record_i64(g_resp_size, (int64_t)ev->resp_body, a, n);
}

/* Records every queued event; returns how many. The clock's rate is measured again first, when there is
 * something to record (clock.h; may_sleep: on the recording thread). */
static size_t drain(int may_sleep) {
  sniff_event evs[256];
  size_t n, total = 0;
  while ((n = events_pop(evs, 256)) > 0) {
    if (total == 0) preload_clock_calibrate(may_sleep);
    for (size_t i = 0; i < n; i++) record(&evs[i]);
    total += n;
  }
  return total;
}

/* How long the thread sleeps between drains. While requests flow, 20 ms: a drain then records at most 20 ms of
 * requests (~40 µs of CPU at 40,000 requests/s, measured ~46 ns per event), so when the thread shares a CPU with
 * a host thread it holds it that long, not the ~0.5 ms a 200 ms batch took (the tail latency the host would
 * see), and it reads ring cells written moments before, still in cache. With nothing queued, 200 ms: an idle
 * server's process wakes 5 times a second, not 50. A ring filling up wakes it at once (events.h). */
#define DRAIN_BUSY_MS 20
#define DRAIN_IDLE_MS 200

/* ---- active requests ------------------------------------------------------------------------------- */

typedef int32_t open_table[SNIFF_METHOD_COUNT][2][PRELOAD_PORT_SLOTS];

/* Adds one connection's open HTTP/1 requests (sniffer.h, sniff_conn.open) to the table. */
static void add_open(preload_conn *c, void *user) {
  open_table *t = user;
  uint64_t w = sniff_open_word(&c->s);
  uint8_t slot = sniff_open_port_slot(w);
  if (slot >= PRELOAD_PORT_SLOTS) return;
  for (int m = 0; m < SNIFF_METHOD_COUNT; m++) (*t)[m][sniff_open_scheme(w)][slot] += (int32_t)sniff_open_count(w, m);
}

/* HTTP/1 requests open on the live connections (a walk over the pool, once per collection: a read of one word
 * per connection) plus the HTTP/2 streams' counters. */
static void observe_active(otelc_observer *obs, void *user) {
  open_table open = {{{0}}};
  fdt_for_each_live(add_open, &open);
  for (int m = 0; m < SNIFF_METHOD_COUNT; m++)
    for (int s = 0; s < 2; s++)
      for (int p = 0; p < PRELOAD_PORT_SLOTS; p++) {
        if (!events_active_touched((uint8_t)m, (uint8_t)s, (uint8_t)p)) continue;
        int64_t v = events_active_get((uint8_t)m, (uint8_t)s, (uint8_t)p) + open[m][s][p];
        otelc_attr a[3];
        size_t n = 0;
        a[n++] = OTELC_ATTR_STR("http.request.method", sniff_method_name(m));
        a[n++] = OTELC_ATTR_STR("url.scheme", s ? "https" : "http");
        uint16_t port = fdt_slot_port((uint8_t)p);
        if (port) a[n++] = OTELC_ATTR_INT("server.port", port);
        otelc_observe_i64(obs, v, a, n);
      }
}

static void observe_dropped(otelc_observer *obs, void *user) {
  otelc_observe_i64(obs, (int64_t)events_dropped(), NULL, 0);
}

/* ---- provider --------------------------------------------------------------------------------------- */

static void instance_id(char *out, size_t len) {
  uint8_t b[16];
  if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
    uint64_t x = wire_wall_ns() ^ (uint64_t)getpid() << 32 ^ (uint64_t)wire_now_ns();
    for (int i = 0; i < 16; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      b[i] = (uint8_t)x;
    }
  }
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* UUID version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool env_names_service(void) {
  if (preload_config_env("OTEL_SERVICE_NAME")) return true;
  const char *ra = preload_config_env("OTEL_RESOURCE_ATTRIBUTES");
  return ra && strstr(ra, "service.name=") != NULL;
}

/* Creates the provider and the instruments. exporter: taken over; NULL picks one from the settings. */
static int provider_setup(otelc_exporter *exporter, char *why, size_t why_len) {
  if (!exporter) {
    const char *kind = preload_config_env("OTEL_METRICS_EXPORTER");
    if (!kind || !strncasecmp(kind, "otlp", 4)) {
      exporter = preload_exporter_create(why, why_len);
      if (!exporter) return -1;
      g_exporter = exporter;
    } /* console and none: the SDK's own choice below */
  }
  char iid[40];
  instance_id(iid, sizeof iid);
  otelc_attr res[2];
  size_t nres = 0;
  res[nres++] = OTELC_ATTR_STR("service.instance.id", iid);
  if (!env_names_service() && preload_cfg.program[0])
    res[nres++] = OTELC_ATTR_STR("service.name", preload_cfg.program);
  otelc_provider_options po = {
      .exporter = exporter,
      .resource_attrs = res,
      .n_resource_attrs = nres,
      .no_self_metrics = true,
  };
  int rc = otelc_meter_provider_create(&po, &g_mp);
  if (!g_mp) {
    snprintf(why, why_len, "cannot create the meter provider: %s", otelc_status_str(rc));
    return -1;
  }
  otelc_meter *m = otelc_meter_get(g_mp, PRELOAD_SCOPE, OTELC_VERSION_STRING, NULL);
  otelc_instrument_options dur = {
      .description = "Duration of HTTP server requests.",
      .unit = "s",
      .aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM,
      .boundaries = preload_duration_bounds,
      .n_boundaries = 14,
  };
  otelc_instrument_options req = {.description = "Size of HTTP server request bodies.", .unit = "By"};
  otelc_instrument_options resp = {.description = "Size of HTTP server response bodies.", .unit = "By"};
  otelc_instrument_options act = {.description = "Number of active HTTP server requests.", .unit = "{request}"};
  g_duration = otelc_histogram(m, "http.server.request.duration", &dur);
  g_req_size = otelc_histogram(m, "http.server.request.body.size", &req);
  g_resp_size = otelc_histogram(m, "http.server.response.body.size", &resp);
  g_active = otelc_observable_updown_i64(m, "http.server.active_requests", &act, observe_active, NULL);
  otelc_instrument_options drop = {
      .description = "Finished HTTP exchanges the shim could not record: its event ring was full.",
      .unit = "{exchange}"};
  g_dropped = otelc_observable_counter_i64(m, "otelc.autoinstr.exchanges.dropped", &drop, observe_dropped, NULL);
  metrics_rpc_create(m);
  return 0;
}

static int shutdown_timeout_ms = 3000;

static void *recording_thread(void *arg) {
  (void)arg;
  preload_shim_thread = true; /* threads created from here (the SDK's reader) are the shim's */
  preload_config_warn();      /* this process serves HTTP: now unusable settings are worth a line (config.h) */
  char why[320];
  if (provider_setup(NULL, why, sizeof why) < 0) {
    preload_disable(why);
    atomic_store(&preload_hot_line.state, ST_FAILED);
    atomic_store(&g_thread_done, 1);
    return NULL;
  }
  while (!atomic_load(&g_stop)) events_wait(drain(1) ? DRAIN_BUSY_MS : DRAIN_IDLE_MS);
  drain(1);
  otelc_meter_provider_shutdown(g_mp, shutdown_timeout_ms);
  atomic_store(&g_thread_done, 1);
  return NULL;
}

static void start_thread(void) {
  if (events_init() < 0) {
    preload_disable("cannot map the event ring");
    atomic_store(&preload_hot_line.state, ST_FAILED);
    return;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  atomic_store(&g_thread_done, 0);
  int rc = pthread_create(&g_thread, &attr, recording_thread, NULL);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    preload_disable("cannot start the recording thread");
    atomic_store(&preload_hot_line.state, ST_FAILED);
    return;
  }
  pthread_setname_np(g_thread, "otelc-preload");
  atomic_store(&preload_hot_line.state, ST_RUNNING);
}

/* ---- the sink --------------------------------------------------------------------------------------- */

/* The first request of the process starts the recording thread (so that a first request that lasts, a long
 * poll or a stream, is seen in http.server.active_requests while it lasts); exactly once (compare-exchange). */
static void start_if_idle(void) {
  int expected = ST_IDLE;
  if (atomic_load_explicit(&preload_hot_line.state, memory_order_relaxed) == ST_IDLE &&
      atomic_compare_exchange_strong(&preload_hot_line.state, &expected, ST_STARTING))
    start_thread();
}

/* An exchange finished while no thread runs: a forked child's first, on a connection whose requests its parent
 * had already told the sink of (so method_seen did not start the thread). Start it, then record. */
PRELOAD_COLD static void sink_done_first(const sniff_event *ev) {
  start_if_idle();
  if (atomic_load(&preload_hot_line.state) == ST_RUNNING) events_push(ev);
}

PRELOAD_HOT static void sink_done(void *user, const sniff_event *ev) {
  int state = atomic_load_explicit(&preload_hot_line.state, memory_order_relaxed);
  if (__builtin_expect(state == ST_RUNNING, 1)) events_push(ev);
  else if (state == ST_IDLE) sink_done_first(ev);
}

static void sink_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  if (delta > 0) start_if_idle();
  events_active_add(method, scheme, port_slot, delta);
}

/* Once per method per connection (sniffer.h), so it may start the thread too. */
static void sink_method_seen(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot) {
  start_if_idle();
  events_active_touch(method, scheme, port_slot);
}

/* hot.h: the sink, the clock, the state and the on/off switch, on one cache line of the hot data page. */
preload_hot preload_hot_line PRELOAD_HOT_DATA __attribute__((aligned(64))) = {
    .sink = {.exchange_done = sink_done, .active = sink_active, .method_seen = sink_method_seen, .user = NULL,
             .clock = preload_clock_now}};

void preload_disable(const char *why) {
  bool was = atomic_exchange(&preload_hot_line.enabled, false);
  if (was) {
    char line[400];
    int n = snprintf(line, sizeof line, "otelc-preload: disabled: %s\n", why);
    if (n > 0) {
      ssize_t w = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
      (void)w;
    }
  }
}

void preload_metrics_after_fork_child(void) {
  /* The parent's thread does not exist here; its provider is left alone (never used again), and the child
   * gets a provider of its own, with its own service.instance.id, on its first request. */
  if (atomic_load(&preload_hot_line.state) == ST_IDLE && !g_mp) return; /* this process never served HTTP: nothing to forget */
  /* The parent's kept-alive export connection is the parent's: close the child's copy of the socket. */
  if (g_exporter && g_exporter->after_fork_child) g_exporter->after_fork_child(g_exporter);
  g_exporter = NULL;
  atomic_store(&preload_hot_line.state, ST_IDLE);
  atomic_store(&g_stop, false);
  g_mp = NULL;
  g_duration = g_req_size = g_resp_size = g_active = g_dropped = NULL;
  memset(g_bind, 0, sizeof g_bind);
  events_reset();
}

bool preload_metrics_running(void) { return atomic_load(&preload_hot_line.state) == ST_RUNNING; }

void preload_metrics_shutdown(int timeout_ms) {
  if (atomic_load(&preload_hot_line.state) != ST_RUNNING) return;
  atomic_store(&g_stop, true);
  events_wake();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  if (pthread_timedjoin_np(g_thread, NULL, &ts) == 0) atomic_store(&preload_hot_line.state, ST_IDLE);
}

int preload_metrics_start_for_test(otelc_exporter *exporter) {
  if (events_init() < 0) return OTELC_E_NOMEM;
  if (!g_mp) {
    char why[320];
    if (provider_setup(exporter, why, sizeof why) < 0) {
      fprintf(stderr, "preload test: %s\n", why);
      return OTELC_E_INVALID;
    }
  }
  atomic_store(&preload_hot_line.state, ST_RUNNING);
  return OTELC_OK;
}

int preload_metrics_flush_for_test(void) {
  if (!g_mp) return OTELC_E_STATE;
  drain(0);
  return otelc_meter_provider_force_flush(g_mp, 5000);
}
