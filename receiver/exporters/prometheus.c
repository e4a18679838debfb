/* prometheus.c — the `prometheus` exporter component (see prometheus.h): pipeline batches into a prom_store,
 * scrapes answered from it.
 *
 * Threads: consume_metrics and the HTTP handler run on the receiver's loop thread. A scrape renders (and gzips)
 * on libuv's thread pool so that a large exposition never stalls the loop; the store's mutex keeps the render
 * consistent, and a consume that arrives meanwhile waits for the render (tens of ms for 100k series), not for the
 * compression. The response is sent from the loop thread when the work is done. */
#define _GNU_SOURCE /* strcasestr */
#include "receiver/exporters/prometheus.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/exporters/prom_store.h"
#include "receiver/pipeline.h"
#include "wire/gzip.h"
#include "wire/server/http_server.h"

#define MAX_EXPOSITION_BYTES (512u << 20) /* a render past this answers 500 instead of growing further */

typedef struct prom_exporter {
  char *id;
  component_host *host;
  prom_store *store;
  char *endpoint;
  bool open_metrics;
  bool has_tls;
  wire_tls_config tls;
  char *tls_strings[4];
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

/* One scrape on its way through the thread pool. */
typedef struct scrape {
  uv_work_t work;
  prom_exporter *ex;
  wire_exchange *xchg;
  prom_format format;
  bool gzip;
  bool head;
  int status;
  wire_buf body;
  wire_err err;
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

/* Renders a few families at a time; with gzip each ~1 MiB piece becomes its own gzip member (RFC 1952 allows
 * concatenated members; Go's reader in Prometheus, zlib and curl read them), so only the compressed body is held
 * whole, and the store's lock is free between pieces. */
#define SCRAPE_CHUNK (1u << 20)

static void scrape_work(uv_work_t *w) {
  scrape *sc = w->data;
  prom_render_cursor cur = {0};
  sc->status = 500;
  wire_buf_init(&sc->body, MAX_EXPOSITION_BYTES);
  if (!sc->gzip) {
    if (prom_store_render_some(sc->ex->store, sc->format, &cur, SIZE_MAX, &sc->body, &sc->err) == 0) sc->status = 200;
    prom_render_cursor_reset(&cur);
    return;
  }
  wire_buf piece;
  wire_buf_init(&piece, MAX_EXPOSITION_BYTES);
  while (!cur.done) {
    piece.len = 0;
    if (prom_store_render_some(sc->ex->store, sc->format, &cur, SCRAPE_CHUNK, &piece, &sc->err) < 0) break;
    if (piece.len && wire_gzip_compress(piece.data, piece.len, 1, &sc->body, &sc->err) < 0) break;
  }
  if (cur.done) {
    sc->status = 200;
    if (sc->body.len == 0) wire_gzip_compress("", 0, 1, &sc->body, &sc->err); /* an empty but valid gzip body */
  }
  wire_buf_free(&piece);
  prom_render_cursor_reset(&cur);
}

static void scrape_done(uv_work_t *w, int status) {
  scrape *sc = w->data;
  prom_exporter *e = sc->ex;
  if (status != 0 || sc->status != 200) {
    if (status == 0) log_msg(e, LOG_ERROR, "scrape failed", "error", sc->err.msg);
    wire_exchange_respond_text(sc->xchg, 500, "metrics exposition failed\n");
  } else {
    wire_headers h;
    wire_headers_init(&h, 0, 0);
    wire_headers_add_cstr(&h, "content-type", prom_format_content_type(sc->format), NULL);
    if (sc->gzip) wire_headers_add_cstr(&h, "content-encoding", "gzip", NULL);
    wire_headers_add_cstr(&h, "vary", "Accept-Encoding", NULL);
    wire_exchange_respond(sc->xchg, 200, &h, sc->head ? NULL : sc->body.data, sc->head ? 0 : sc->body.len, NULL);
    wire_headers_free(&h);
  }
  wire_buf_free(&sc->body);
  free(sc);
  e->pending--;
  maybe_release(e);
}

/* gzip unless the client refuses it ("gzip;q=0") or does not list it. */
static bool accepts_gzip(const char *ae) {
  if (!ae) return false;
  for (const char *p = ae; (p = strcasestr(p, "gzip")) != NULL; p += 4) {
    const char *q = p + 4;
    while (*q == ' ') q++;
    if (*q == ';') {
      const char *qv = strstr(q, "q=");
      const char *comma = strchr(q, ',');
      if (qv && (!comma || qv < comma) && strtod(qv + 2, NULL) <= 0) return false;
    }
    return true;
  }
  return false;
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
    wire_headers h;
    wire_headers_init(&h, 0, 0);
    wire_headers_add_cstr(&h, "allow", "GET, HEAD", NULL);
    wire_headers_add_cstr(&h, "content-type", "text/plain; charset=utf-8", NULL);
    static const char msg[] = "method not allowed: use GET\n";
    wire_exchange_respond(xchg, 405, &h, msg, sizeof msg - 1, NULL);
    wire_headers_free(&h);
    return;
  }
  scrape *sc = calloc(1, sizeof *sc);
  if (!sc) {
    wire_exchange_respond_text(xchg, 503, "out of memory\n");
    return;
  }
  sc->ex = e;
  sc->xchg = xchg;
  sc->head = head;
  sc->format = prom_format_negotiate(wire_headers_get(&req->headers, "accept"), e->open_metrics);
  sc->gzip = accepts_gzip(wire_headers_get(&req->headers, "accept-encoding"));
  sc->work.data = sc;
  if (uv_queue_work(e->host->loop, &sc->work, scrape_work, scrape_done) != 0) {
    free(sc);
    wire_exchange_respond_text(xchg, 503, "busy\n");
    return;
  }
  e->pending++;
}

/* ---- lifecycle --------------------------------------------------------------------------------------------------- */

static void sweep_tick(uv_timer_t *t) {
  prom_exporter *e = t->data;
  prom_store_sweep(e->store);
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

static void exporter_free(prom_exporter *e) {
  if (!e) return;
  prom_store_free(e->store);
  for (size_t i = 0; i < e->n_consts; i++) {
    free((char *)e->consts[i].name);
    free((char *)e->consts[i].value);
  }
  free(e->consts);
  for (size_t i = 0; i < 4; i++) free(e->tls_strings[i]);
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

  if (cfg->tls) {
    const tls_server_config *t = cfg->tls;
    if ((t->cert_pem && *t->cert_pem) || (t->key_pem && *t->key_pem)) {
      exporter_free(e);
      return wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: tls: cert_pem/key_pem are not supported, use cert_file/key_file",
                          args->id);
    }
    e->has_tls = true;
    e->tls.cert_file = e->tls_strings[0] = dup_or_null(t->cert_file);
    e->tls.key_file = e->tls_strings[1] = dup_or_null(t->key_file);
    e->tls.client_ca_file = e->tls_strings[2] = dup_or_null(t->client_ca_file);
    e->tls.ca_file = e->tls_strings[3] = dup_or_null(t->ca_file);
    e->tls.min_version = t->min_version == TLS_VERSION_1_3 ? "1.3" : "1.2";
  }
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
  scfg.tls = e->has_tls ? &e->tls : NULL;
  scfg.max_body_bytes = 64 << 10;                    /* scrapes carry no body */
  scfg.max_pending_output = MAX_EXPOSITION_BYTES + (1 << 20); /* one whole uncompressed exposition */
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
  if (batch && batch->req) prom_store_consume_request(e->store, batch->req, &r);
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
