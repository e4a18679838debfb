/* prometheus.c — the `prometheus` exporter component (see prometheus.h): pipeline batches into a prom_store,
 * scrapes answered from it.
 *
 * Threads: consume_metrics and the HTTP handler run on the receiver's loop thread. A scrape is streamed
 * (wire_exchange_respond_stream): the server asks for the next piece when the connection has sent the previous
 * one, and each piece is ~64 KiB of series rendered under one hold of the store's lock (prom_store_render_some),
 * gzipped by the server when the scraper accepts it. So a scrape of 100k series (65 MB of text) holds one piece,
 * not the exposition, and the loop serves pushes between pieces.
 *
 * What a scrape sees while pushes continue: each series as it was when its piece was rendered, every series once,
 * in order — the guarantee of Prometheus client libraries, which collect metric by metric while the application
 * keeps updating (see prom_store.h for new and removed series). A histogram's lines are never split. */
#include "receiver/exporters/prometheus.h"
#include "receiver/runtime/tls_config.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/exporters/prom_store.h"
#include "receiver/pipeline.h"
#include "wire/server/http_server.h"

typedef struct prom_exporter {
  char *id;
  component_host *host;
  prom_store *store;
  char *endpoint;
  bool open_metrics;
  const tls_server_config *tls; /* the config's `tls:` (the config outlives start) */
  prom_label_pair *consts;
  size_t n_consts;
  wire_server *server;
  uv_timer_t sweep_timer;
  uint64_t sweep_ms;
  bool timer_started;
  /* shutdown: pieces still finishing (server stop, timer close, scrapes in flight); released at 0 */
  int pending;
  bool shutting_down;
  bool held;
} prom_exporter;

/* One scrape being streamed. */
typedef struct scrape {
  prom_exporter *ex;
  prom_render_cursor cur;
  prom_format format;
} scrape;

static void log_msg(prom_exporter *e, log_level level, const char *msg, const char *k, const char *v) {
  if (e->host && e->host->log) e->host->log(e->host, level, e->id, msg, k, v, NULL);
}

static void count(prom_exporter *e, const char *metric, uint64_t n) {
  if (n && e->host && e->host->count) e->host->count(e->host, metric, e->id, n);
}

static void maybe_release(prom_exporter *e) {
  if (e->shutting_down && e->pending == 0 && e->held) {
    e->held = false;
    if (e->host && e->host->release) e->host->release(e->host);
  }
}

/* ---- scrape ---------------------------------------------------------------------------------------------------- */

static int scrape_next(void *ud, wire_buf *out, size_t want) {
  scrape *sc = ud;
  wire_err err;
  if (prom_store_render_some(sc->ex->store, sc->format, &sc->cur, want, out, &err) < 0) {
    log_msg(sc->ex, LOG_ERROR, "scrape failed", "error", err.msg);
    return -1;
  }
  return sc->cur.done ? WIRE_BODY_END : WIRE_BODY_MORE;
}

static void scrape_release(void *ud, bool completed) {
  (void)completed; /* an aborted scrape (scraper gone, timeout) needs no more than the release */
  scrape *sc = ud;
  prom_exporter *e = sc->ex;
  prom_render_cursor_reset(&sc->cur);
  free(sc);
  e->pending--;
  maybe_release(e);
}

static void handle(wire_exchange *xchg, void *ud) {
  prom_exporter *e = ud;
  const wire_http_request *req = wire_exchange_request(xchg);
  const char *path = req->path ? req->path : "";
  size_t plen = strcspn(path, "?");
  if (!(plen == 8 && memcmp(path, "/metrics", 8) == 0)) {
    wire_exchange_respond_text(xchg, 404, "not found: the metrics are at /metrics\n");
    return;
  }
  bool head = strcmp(req->method, "HEAD") == 0;
  if (!head && strcmp(req->method, "GET") != 0) {
    wire_exchange_respond_text_with(xchg, 405, "allow", "GET, HEAD", "method not allowed: use GET\n");
    return;
  }
  scrape *sc = calloc(1, sizeof *sc);
  if (!sc) {
    wire_exchange_respond_text(xchg, 503, "out of memory\n");
    return;
  }
  sc->ex = e;
  sc->format = prom_format_negotiate(wire_headers_get(&req->headers, "accept"), e->open_metrics);
  e->pending++; /* until scrape_release, which may run inside respond_stream */
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", prom_format_content_type(sc->format), NULL);
  wire_headers_add_cstr(&h, "vary", "Accept-Encoding", NULL);
  wire_body_source src = {.next = scrape_next, .release = scrape_release, .ud = sc};
  wire_exchange_respond_stream(xchg, 200, &h, &src, wire_request_accepts_gzip(req));
  wire_headers_free(&h);
}

/* ---- lifecycle --------------------------------------------------------------------------------------------------- */

static void sweep_tick(uv_timer_t *t) {
  prom_exporter *e = t->data;
  prom_store_sweep(e->store);
}


static void exporter_free(prom_exporter *e) {
  if (!e) return;
  prom_store_free(e->store);
  for (size_t i = 0; i < e->n_consts; i++) {
    free((char *)e->consts[i].name);
    free((char *)e->consts[i].value);
  }
  free(e->consts);
  free(e->endpoint);
  free(e->id);
  free(e);
}

static int prom_create(const component_create_args *args, void **state, wire_err *err) {
  const prometheus_exporter_config *cfg = args->config;
  prom_exporter *e = calloc(1, sizeof *e);
  if (!e) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  e->id = strdup(args->id);
  e->host = args->host;
  e->endpoint = strdup(cfg->endpoint ? cfg->endpoint : "127.0.0.1:8889");
  e->open_metrics = cfg->enable_open_metrics;
  if (!e->id || !e->endpoint) goto nomem;

  prom_store_config sc;
  prom_store_config_init(&sc);
  sc.metric_namespace = cfg->namespace_;
  sc.send_timestamps = cfg->send_timestamps;
  sc.resource_to_telemetry_conversion = cfg->resource_to_telemetry_conversion;
  sc.enable_open_metrics = cfg->enable_open_metrics;
  sc.add_metric_suffixes = cfg->add_metric_suffixes;
  switch (cfg->translation_strategy) {
  case PROM_TRANSLATION_UNDERSCORE_WITH_SUFFIXES: sc.add_metric_suffixes = true; break;
  case PROM_TRANSLATION_UNDERSCORE_WITHOUT_SUFFIXES: sc.add_metric_suffixes = false; break;
  case PROM_TRANSLATION_NO_UTF8_ESCAPING_WITH_SUFFIXES:
  case PROM_TRANSLATION_NONE:
    /* UTF-8 names need the escaping negotiation of Prometheus 3; names are escaped with underscores instead */
    sc.add_metric_suffixes = cfg->translation_strategy == PROM_TRANSLATION_NO_UTF8_ESCAPING_WITH_SUFFIXES;
    log_msg(e, LOG_WARN, "translation_strategy without UTF-8 escaping is not supported: names use underscores",
            "translation_strategy", cfg->translation_strategy == PROM_TRANSLATION_NONE ? "NoTranslation"
                                                                                       : "NoUTF8EscapingWithSuffixes");
    break;
  default: break;
  }
  if (cfg->metric_expiration > 0) {
    int64_t ms = cfg->metric_expiration / 1000000;
    sc.metric_expiration_ms = ms > 0 ? (uint64_t)ms : 1;
  }
  if (cfg->const_labels.n) {
    e->consts = calloc(cfg->const_labels.n, sizeof *e->consts);
    if (!e->consts) goto nomem;
    for (size_t i = 0; i < cfg->const_labels.n; i++) {
      e->consts[i].name = strdup(cfg->const_labels.v[i].key ? cfg->const_labels.v[i].key : "");
      e->consts[i].value = strdup(cfg->const_labels.v[i].value ? cfg->const_labels.v[i].value : "");
      e->n_consts++;
      if (!e->consts[i].name || !e->consts[i].value) goto nomem;
    }
    sc.const_labels = e->consts;
    sc.n_const_labels = e->n_consts;
  }
  e->store = prom_store_new(&sc, err);
  if (!e->store) {
    wire_err_prefix(err, "%s: ", args->id);
    exporter_free(e);
    return -1;
  }
  uint64_t exp_ms = sc.metric_expiration_ms ? sc.metric_expiration_ms : 5 * 60 * 1000;
  e->sweep_ms = exp_ms / 4 < 1000 ? 1000 : exp_ms / 4 > 60000 ? 60000 : exp_ms / 4;

  e->tls = cfg->tls;
  *state = e;
  return 0;
nomem:
  exporter_free(e);
  return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
}

static int prom_start(void *state, wire_err *err) {
  prom_exporter *e = state;
  wire_server_config scfg = {0};
  scfg.endpoint = e->endpoint;
  wire_tls_config tls;
  if (e->tls) {
    if (rt_tls_server_config(e->tls, e->id, &tls, err) < 0) return -1;
    scfg.tls = &tls;
  }
  scfg.max_body_bytes = 64 << 10;                    /* scrapes carry no body */
  scfg.max_pending_output = 4 << 20;                 /* scrapes are streamed a piece at a time */
  e->server = wire_server_start(e->host->loop, &scfg, handle, e, err);
  if (!e->server) {
    wire_err_prefix(err, "%s: ", e->id);
    return -1;
  }
  uv_timer_init(e->host->loop, &e->sweep_timer);
  e->sweep_timer.data = e;
  uv_timer_start(&e->sweep_timer, sweep_tick, e->sweep_ms, e->sweep_ms);
  e->timer_started = true;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)wire_server_port(e->server));
  if (e->host->log) e->host->log(e->host, LOG_INFO, e->id, "serving Prometheus metrics", "endpoint", e->endpoint, "port", port, NULL);
  return 0;
}

static int prom_consume(void *state, component_metrics *batch, wire_err *err) {
  prom_exporter *e = state;
  (void)err;
  prom_consume_result r = {0, 0};
  if (batch && metrics_request(batch, NULL)) prom_store_consume_request(e->store, batch->req, &r);
  count(e, "otelcol_exporter_sent_metric_points", r.accepted);
  count(e, "otelcol_exporter_send_failed_metric_points", r.dropped);
  metrics_unref(batch);
  return 0;
}

static void server_stopped(void *arg) {
  prom_exporter *e = arg;
  e->server = NULL;
  e->pending--;
  maybe_release(e);
}

static void timer_closed(uv_handle_t *h) {
  prom_exporter *e = h->data;
  e->pending--;
  maybe_release(e);
}

static int prom_shutdown(void *state, wire_err *err) {
  prom_exporter *e = state;
  (void)err;
  if (e->shutting_down) return 0;
  e->shutting_down = true;
  if (e->timer_started) {
    uv_timer_stop(&e->sweep_timer);
    e->pending++;
    uv_close((uv_handle_t *)&e->sweep_timer, timer_closed);
    e->timer_started = false;
  }
  if (e->server) {
    e->pending++;
    wire_server_stop(e->server, server_stopped, e);
  }
  if (e->pending > 0 && e->host && e->host->hold) {
    e->host->hold(e->host);
    e->held = true;
  }
  return 0;
}

static void prom_destroy(void *state) { exporter_free(state); }

uint16_t prometheus_exporter_port(void *state) {
  prom_exporter *e = state;
  return e && e->server ? wire_server_port(e->server) : 0;
}

const component_hooks prometheus_exporter_hooks = {
    .create = prom_create,
    .start = prom_start,
    .consume_metrics = prom_consume,
    .shutdown = prom_shutdown,
    .destroy = prom_destroy,
};
