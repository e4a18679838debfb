/* provider.c — the meter provider: configuration from options and OTEL_* variables, meters, views, freeing,
 * and fork safety.
 *
 * Fork: pthread_atfork handlers (registered once) take every provider's and instrument's creation mutex
 * before fork, so the child never inherits a half-inserted series. In the child, with one thread and no
 * locks held, each provider rebases every series on what it holds at the fork (the child reports only what
 * it records itself, from a fresh start time), forgets the parent's reader thread and re-initialises its
 * collection locks (the parent's reader may have held them mid-export). The rest happens lazily on the
 * child's first use of the provider (otelc_provider_after_fork): its own process.pid in the resource, the
 * exporter told to drop inherited connections, and a new reader thread. A child that never touches the SDK
 * never starts a thread and never exports. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/src/env.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"
#include "wire/clock.h"

_Atomic uint32_t otelc_fork_generation;

static pthread_mutex_t g_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static otelc_meter_provider *g_registry;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

const char *otelc_status_str(int status) {
  switch (status) {
  case OTELC_OK: return "ok";
  case OTELC_E_INVALID: return "invalid argument";
  case OTELC_E_NOMEM: return "out of memory";
  case OTELC_E_STATE: return "invalid state (shut down)";
  case OTELC_E_TIMEOUT: return "timed out";
  case OTELC_E_EXPORT: return "export failed";
  default: return "unknown status";
  }
}

/* ---- fork ------------------------------------------------------------------------------------------- */

static void lock_all_for_fork(void) {
  pthread_mutex_lock(&g_registry_mu);
  for (otelc_meter_provider *p = g_registry; p; p = p->global_next) {
    pthread_mutex_lock(&p->mu);
    for (otelc_meter *m = atomic_load(&p->meters); m; m = atomic_load(&m->next))
      for (otelc_instrument *in = atomic_load(&m->instruments); in; in = atomic_load(&in->next))
        pthread_mutex_lock(&in->mu);
  }
}

static void unlock_all_after_fork(void) {
  for (otelc_meter_provider *p = g_registry; p; p = p->global_next) {
    for (otelc_meter *m = atomic_load(&p->meters); m; m = atomic_load(&m->next))
      for (otelc_instrument *in = atomic_load(&m->instruments); in; in = atomic_load(&in->next))
        pthread_mutex_unlock(&in->mu);
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_unlock(&g_registry_mu);
}

static void init_reader_sync(otelc_meter_provider *p) {
  pthread_mutex_init(&p->collect_mu, NULL);
  pthread_mutex_init(&p->reader_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->reader_cv, &ca);
  pthread_condattr_destroy(&ca);
}

static void atfork_child(void) {
  atomic_fetch_add(&otelc_fork_generation, 1);
  uint64_t now = wire_wall_ns();
  for (otelc_meter_provider *p = g_registry; p; p = p->global_next) {
    /* The parent's reader thread does not exist here, and it may have held these. */
    init_reader_sync(p);
    p->thread_running = false;
    p->stop = false;
    for (otelc_meter *m = atomic_load(&p->meters); m; m = atomic_load(&m->next))
      for (otelc_instrument *in = atomic_load(&m->instruments); in; in = atomic_load(&in->next))
        otelc_instrument_reset_after_fork(in);
    p->start_ns = now;
    p->last_collect_ns = now;
  }
  unlock_all_after_fork();
}

static void register_atfork(void) { pthread_atfork(lock_all_for_fork, unlock_all_after_fork, atfork_child); }

void otelc_provider_after_fork(otelc_meter_provider *p) {
  pthread_mutex_lock(&p->reader_mu);
  uint32_t gen = atomic_load(&otelc_fork_generation);
  if (atomic_load(&p->fork_gen) != gen) {
    pthread_mutex_lock(&p->collect_mu);
    if (otelc_resource_build(p) != OTELC_OK) OTELC_ERROR("out of memory rebuilding the resource after fork");
    pthread_mutex_unlock(&p->collect_mu);
    if (p->exporter && p->exporter->after_fork_child) p->exporter->after_fork_child(p->exporter);
    atomic_store(&p->fork_gen, gen);
    if (!p->shut_down) otelc_reader_start(p);
  }
  pthread_mutex_unlock(&p->reader_mu);
}

/* ---- creation --------------------------------------------------------------------------------------- */

static const char *const k_temporality_names[] = {"cumulative", "delta", "lowmemory", NULL};
static const char *const k_hist_names[] = {"explicit_bucket_histogram", "base2_exponential_bucket_histogram", NULL};

static void read_config(otelc_meter_provider *p, const otelc_provider_options *o) {
  p->interval_ms = o && o->export_interval_ms ? o->export_interval_ms
                                               : otelc_env_int("OTEL_METRIC_EXPORT_INTERVAL", 60000, 1, INT32_MAX);
  p->timeout_ms = o && o->export_timeout_ms > 0 ? o->export_timeout_ms
                                                 : otelc_env_int("OTEL_METRIC_EXPORT_TIMEOUT", 30000, 1, INT32_MAX);
  if (o && o->temporality != OTELC_TEMPORALITY_DEFAULT) {
    p->temporality = o->temporality;
  } else {
    int t = otelc_env_choice("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", k_temporality_names, 0);
    p->temporality = (otelc_temporality_preference)(t + 1);
  }
  if (o && (o->default_histogram_aggregation == OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM ||
            o->default_histogram_aggregation == OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM)) {
    p->hist_agg = o->default_histogram_aggregation;
  } else {
    int h = otelc_env_choice("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", k_hist_names, 0);
    p->hist_agg = h == 1 ? OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM : OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM;
  }
  p->card_limit = o && o->cardinality_limit ? o->cardinality_limit : OTELC_DEFAULT_CARDINALITY_LIMIT;
  p->self_metrics = !(o && o->no_self_metrics);
}

static void exporter_destroy(otelc_exporter *e) {
  if (e && e->destroy) e->destroy(e);
}

int otelc_meter_provider_create(const otelc_provider_options *o, otelc_meter_provider **out) {
  if (out) *out = NULL;
  otelc_log_init_from_env();
  otelc_meter_provider *p = calloc(1, sizeof *p);
  if (!p || !out) {
    free(p);
    if (o) exporter_destroy(o->exporter);
    return out ? OTELC_E_NOMEM : OTELC_E_INVALID;
  }
  pthread_mutex_init(&p->mu, NULL);
  init_reader_sync(p);
  otelc_arena_init(&p->arena, 256 * 1024);
  otelc_arena_init(&p->res_arena, 4096);
  wire_buf_init(&p->encoded, 0);
  p->epoch = 1;
  p->start_ns = p->last_collect_ns = wire_wall_ns();
  atomic_store(&p->fork_gen, atomic_load(&otelc_fork_generation));
  *out = p;

  if ((o && o->disabled) || otelc_env_bool("OTEL_SDK_DISABLED", false)) {
    p->disabled = true;
    if (o) exporter_destroy(o->exporter);
    return OTELC_OK;
  }
  read_config(p, o);
  int rc = otelc_resource_detect(p, o ? o->resource_attrs : NULL, o ? o->n_resource_attrs : 0);
  if (rc == OTELC_OK) rc = otelc_resource_build(p);
  if (rc != OTELC_OK) {
    p->disabled = true;
    if (o) exporter_destroy(o->exporter);
    OTELC_ERROR("out of memory creating the meter provider; the SDK is disabled");
    return rc;
  }
  p->exporter = o && o->exporter ? o->exporter : otelc_exporter_from_env();

  pthread_once(&g_atfork_once, register_atfork);
  pthread_mutex_lock(&g_registry_mu);
  p->global_next = g_registry;
  g_registry = p;
  pthread_mutex_unlock(&g_registry_mu);

  otelc_health_init(p);
  pthread_mutex_lock(&p->reader_mu);
  otelc_reader_start(p);
  pthread_mutex_unlock(&p->reader_mu);
  return OTELC_OK;
}

int otelc_meter_provider_add_view(otelc_meter_provider *p, const otelc_view *v) {
  if (!p || !v) return OTELC_E_INVALID;
  if (p->disabled) return OTELC_OK;
  otelc_view_entry *e;
  int rc = otelc_view_copy(v, &e);
  if (rc != OTELC_OK) return rc;
  pthread_mutex_lock(&p->mu);
  if (p->views_tail) p->views_tail->next = e;
  else p->views = e;
  p->views_tail = e;
  pthread_mutex_unlock(&p->mu);
  return OTELC_OK;
}

/* ---- meters ----------------------------------------------------------------------------------------- */

static bool same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

otelc_meter *otelc_meter_get(otelc_meter_provider *p, const char *name, const char *version,
                             const char *schema_url) {
  if (!p || p->disabled) return &otelc_noop_meter;
  otelc_fork_check(p);
  if (!name) name = "";
  if (!name[0]) OTELC_WARN("meter with an empty name");
  pthread_mutex_lock(&p->mu);
  otelc_meter *m;
  for (m = atomic_load(&p->meters); m; m = atomic_load(&m->next)) {
    if (same(m->name, name) && same(m->version, version) && same(m->schema_url, schema_url)) break;
  }
  if (!m) {
    m = calloc(1, sizeof *m);
    if (m) {
      m->provider = p;
      m->name = strdup(name);
      m->version = strdup(version ? version : "");
      m->schema_url = strdup(schema_url ? schema_url : "");
      if (!m->name || !m->version || !m->schema_url) {
        free(m->name);
        free(m->version);
        free(m->schema_url);
        free(m);
        m = NULL;
      } else {
        if (p->meters_tail) atomic_store_explicit(&p->meters_tail->next, m, memory_order_release);
        else atomic_store_explicit(&p->meters, m, memory_order_release);
        p->meters_tail = m;
      }
    }
  }
  pthread_mutex_unlock(&p->mu);
  if (!m) {
    OTELC_ERROR("out of memory creating a meter; it records nothing");
    return &otelc_noop_meter;
  }
  return m;
}

/* ---- freeing ---------------------------------------------------------------------------------------- */

void otelc_meter_provider_free(otelc_meter_provider *p) {
  if (!p) return;
  if (!p->disabled) {
    pthread_mutex_lock(&p->reader_mu);
    bool down = p->shut_down;
    pthread_mutex_unlock(&p->reader_mu);
    if (!down) otelc_meter_provider_shutdown(p, -1);
    pthread_mutex_lock(&g_registry_mu);
    for (otelc_meter_provider **pp = &g_registry; *pp; pp = &(*pp)->global_next) {
      if (*pp == p) {
        *pp = p->global_next;
        break;
      }
    }
    pthread_mutex_unlock(&g_registry_mu);
  }
  exporter_destroy(p->exporter);
  for (otelc_meter *m = atomic_load(&p->meters), *mn; m; m = mn) {
    mn = atomic_load(&m->next);
    for (otelc_instrument *in = atomic_load(&m->instruments), *inn; in; in = inn) {
      inn = atomic_load(&in->next);
      otelc_instrument_free(in);
    }
    free(m->name);
    free(m->version);
    free(m->schema_url);
    free(m);
  }
  for (otelc_view_entry *e = p->views, *en; e; e = en) {
    en = e->next;
    otelc_view_free(e);
  }
  for (size_t i = 0; i < p->n_res; i++) {
    free(p->res[i].key);
    free(p->res[i].s);
  }
  free(p->res);
  free(p->exe_name);
  otelc_arena_free(&p->arena);
  otelc_arena_free(&p->res_arena);
  wire_buf_free(&p->encoded);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->collect_mu);
  pthread_mutex_destroy(&p->reader_mu);
  pthread_cond_destroy(&p->reader_cv);
  free(p);
}
