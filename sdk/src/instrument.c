/* instrument.c — instruments: creation (with views and temporality), the per-instrument series table, and
 * every recording path (per call with attributes, and through bound handles).
 *
 * The hot paths, in cost order:
 *   bound counter add:   one relaxed load + store on the handle's own cache line (no lock prefix);
 *   per-call record:     scan, hash and order the attributes on the stack (attrs.c), probe the table
 *                        published with an acquire load, compare, then one atomic read-modify-write on the
 *                        series cell;
 *   new series:          the same probe, then the instrument's mutex, an arena allocation and a release
 *                        store into the table (growing it by publishing a doubled copy).
 * Nothing on these paths waits for a collection. See docs/sdk.md. */
#include <math.h>
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string.h>
#include <strings.h>

#include "sdk/src/double_bits.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"

#define INITIAL_TABLE_CAPACITY 16
#define SERIES_ARENA_CHUNK (16 * 1024)       /* the first chunk; each next one doubles, up to: */
#define SERIES_ARENA_MAX_CHUNK (64 * 1024)

static const double k_default_bounds[] = {0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

otelc_meter otelc_noop_meter = {.name = "", .version = "", .schema_url = ""};
otelc_instrument otelc_noop_instrument = {
    .meter = &otelc_noop_meter, .agg = OTELC_AGG_DROP, .name = "", .description = "", .unit = "",
    .mu = PTHREAD_MUTEX_INITIALIZER};
static otelc_series g_noop_series = {.mode = OTELC_BOUND_NOOP, .inst = &otelc_noop_instrument};

/* ---- small helpers ---------------------------------------------------------------------------------- */

static inline void atomic_add_double(_Atomic uint64_t *cell, double v) {
  uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(cell, &old, d2u(u2d(old) + v), memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

static inline void atomic_min_double(_Atomic uint64_t *cell, double v) {
  uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
  while (v < u2d(old) &&
         !atomic_compare_exchange_weak_explicit(cell, &old, d2u(v), memory_order_relaxed, memory_order_relaxed)) {
  }
}

static inline void atomic_max_double(_Atomic uint64_t *cell, double v) {
  uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
  while (v > u2d(old) &&
         !atomic_compare_exchange_weak_explicit(cell, &old, d2u(v), memory_order_relaxed, memory_order_relaxed)) {
  }
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline void spin_lock(_Atomic uint32_t *l) {
  while (atomic_exchange_explicit(l, 1, memory_order_acquire)) {
    while (atomic_load_explicit(l, memory_order_relaxed)) cpu_relax();
  }
}
static inline void spin_unlock(_Atomic uint32_t *l) { atomic_store_explicit(l, 0, memory_order_release); }

/* Converts a double to int64 without undefined behaviour (saturating; NaN -> 0). */
static inline int64_t d2i64(double v) {
  if (!(v == v)) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

/* ---- creation --------------------------------------------------------------------------------------- */

static bool valid_name(const char *name) {
  if (!name) return false;
  size_t n = strlen(name);
  if (n == 0 || n > 255) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return false;
  for (size_t i = 1; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

static bool valid_bounds(const double *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(b[i])) return false;
    if (i > 0 && !(b[i] > b[i - 1])) return false;
  }
  return true;
}

static bool kind_is_delta(otelc_temporality_preference pref, otelc_instrument_kind kind) {
  switch (pref) {
  case OTELC_TEMPORALITY_DELTA:
    return kind == OTELC_KIND_COUNTER || kind == OTELC_KIND_HISTOGRAM || kind == OTELC_KIND_OBSERVABLE_COUNTER;
  case OTELC_TEMPORALITY_LOWMEMORY:
    return kind == OTELC_KIND_COUNTER || kind == OTELC_KIND_HISTOGRAM;
  default:
    return false;
  }
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void table_free_all(otelc_series_table *t) {
  while (t) {
    otelc_series_table *next = t->retired_next;
    free(t);
    t = next;
  }
}

void otelc_instrument_free(otelc_instrument *inst) {
  if (!inst || inst == &otelc_noop_instrument) return;
  for (otelc_srec *s = atomic_load(&inst->head); s; s = atomic_load(&s->next)) {
    otelc_series *b = atomic_load(&s->bound);
    while (b) {
      otelc_series *next = b->next_bound;
      free(b);
      b = next;
    }
  }
  otelc_arena_free(&inst->series_arena);
  free(inst->keys.slots);
  table_free_all(atomic_load(&inst->table));
  pthread_mutex_destroy(&inst->mu);
  otelc_allow_list_free(inst->allow);
  free(inst->bounds);
  free(inst->name);
  free(inst->description);
  free(inst->unit);
  free(inst);
}

/* Chooses the aggregation and its parameters from the kind, the options, the view and the provider. */
static void choose_aggregation(otelc_instrument *in, const otelc_meter_provider *p, const otelc_instrument_options *o,
                               const otelc_view *v) {
  bool sum = in->kind == OTELC_KIND_COUNTER || in->kind == OTELC_KIND_UP_DOWN_COUNTER ||
             in->kind == OTELC_KIND_OBSERVABLE_COUNTER || in->kind == OTELC_KIND_OBSERVABLE_UP_DOWN_COUNTER;
  bool gauge = in->kind == OTELC_KIND_GAUGE || in->kind == OTELC_KIND_OBSERVABLE_GAUGE;
  if (v && v->aggregation == OTELC_AGGREGATION_DROP) {
    in->agg = OTELC_AGG_DROP;
    return;
  }
  if (sum) {
    in->agg = in->is_double ? OTELC_AGG_SUM_F64 : OTELC_AGG_SUM_I64;
  } else if (gauge) {
    in->agg = in->is_double ? OTELC_AGG_GAUGE_F64 : OTELC_AGG_GAUGE_I64;
  } else {
    otelc_aggregation a = OTELC_AGGREGATION_DEFAULT;
    if (v && v->aggregation != OTELC_AGGREGATION_DEFAULT) a = v->aggregation;
    else if (o && o->aggregation != OTELC_AGGREGATION_DEFAULT) a = o->aggregation;
    else a = p->hist_agg;
    if (o && o->aggregation == OTELC_AGGREGATION_DROP && !(v && v->aggregation != OTELC_AGGREGATION_DEFAULT)) {
      in->agg = OTELC_AGG_DROP;
      return;
    }
    in->agg = a == OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM ? OTELC_AGG_EXP_HISTOGRAM : OTELC_AGG_HISTOGRAM;
  }
  if (v && v->aggregation > OTELC_AGGREGATION_DROP && in->kind != OTELC_KIND_HISTOGRAM) {
    OTELC_WARN("view: histogram aggregation on the non-histogram instrument \"%s\" ignored", in->name);
  }
}

static int setup_histogram(otelc_instrument *in, const otelc_instrument_options *o, const otelc_view *v) {
  if (in->agg == OTELC_AGG_HISTOGRAM) {
    const double *b = k_default_bounds;
    size_t n = sizeof k_default_bounds / sizeof k_default_bounds[0];
    if (v && v->boundaries) {
      b = v->boundaries;
      n = v->n_boundaries;
    } else if (o && o->boundaries) {
      if (valid_bounds(o->boundaries, o->n_boundaries)) {
        b = o->boundaries;
        n = o->n_boundaries;
      } else {
        OTELC_WARN("histogram \"%s\": boundaries must be finite and strictly increasing; using the defaults",
                   in->name);
      }
    }
    size_t padded = n > OTELC_HIST_PADDED_BOUNDS ? n : OTELC_HIST_PADDED_BOUNDS;
    in->bounds = malloc(padded * sizeof(double));
    if (!in->bounds) return -1;
    memcpy(in->bounds, b, n * sizeof(double));
    for (size_t i = n; i < padded; i++) in->bounds[i] = INFINITY; /* no value is above: counts nothing */
    in->n_bounds = n;
    in->area_size = sizeof(otelc_hist_cells) + 2 * (n + 1) * sizeof(uint64_t) + sizeof(double);
  } else if (in->agg == OTELC_AGG_EXP_HISTOGRAM) {
    int32_t size = o && o->exp_max_size > 0 ? o->exp_max_size : OTELC_EXP_DEFAULT_MAX_SIZE;
    int32_t scale = o && o->exp_max_scale != 0 ? o->exp_max_scale : OTELC_EXP_MAX_SCALE;
    if (size < 2) size = 2;
    if (size > OTELC_EXP_MAX_MAX_SIZE) size = OTELC_EXP_MAX_MAX_SIZE;
    if (scale > OTELC_EXP_MAX_SCALE) scale = OTELC_EXP_MAX_SCALE;
    if (scale < OTELC_EXP_MIN_SCALE) scale = OTELC_EXP_MIN_SCALE;
    in->exp_max_size = size;
    in->exp_max_scale = scale;
    in->area_size = sizeof(otelc_exp_cells) + 2 * otelc_exphist_storage(size);
  }
  in->area_size = (in->area_size + 15) & ~(size_t)15;
  return 0;
}

otelc_instrument *otelc_instrument_create(otelc_meter *m, const char *name, otelc_instrument_kind kind,
                                          bool is_double, const otelc_instrument_options *opts,
                                          otelc_observe_fn fn, void *user) {
  if (!m || !m->provider || m->provider->disabled) return &otelc_noop_instrument;
  otelc_meter_provider *p = m->provider;
  otelc_fork_check(p);
  if (!valid_name(name)) {
    OTELC_WARN("invalid instrument name (1-255 of [A-Za-z0-9_.-/], starting with a letter); it records nothing");
    return &otelc_noop_instrument;
  }
  bool observable = kind >= OTELC_KIND_OBSERVABLE_COUNTER;
  if (observable && !fn) {
    OTELC_WARN("observable instrument \"%s\" without a callback; it records nothing", name);
    return &otelc_noop_instrument;
  }

  pthread_mutex_lock(&p->mu);
  for (otelc_instrument *it = atomic_load(&m->instruments); it; it = atomic_load(&it->next)) {
    if (strcasecmp(it->name, name) == 0 && it->kind == kind && it->is_double == is_double && !it->observable) {
      pthread_mutex_unlock(&p->mu);
      return it;
    }
    if (strcasecmp(it->name, name) == 0) {
      OTELC_WARN("instrument \"%s\" registered twice with a different kind or type; both are exported", name);
    }
  }
  const otelc_view *view = NULL;
  for (otelc_view_entry *e = p->views; e; e = e->next) {
    if (otelc_view_matches(&e->v, m, name, kind)) {
      view = &e->v;
      break;
    }
  }
  otelc_instrument *in = calloc(1, sizeof *in);
  if (!in) goto oom;
  in->meter = m;
  in->kind = kind;
  in->is_double = is_double;
  in->observable = observable;
  in->monotonic = kind == OTELC_KIND_COUNTER || kind == OTELC_KIND_OBSERVABLE_COUNTER;
  in->delta = kind_is_delta(p->temporality, kind);
  in->cb = fn;
  in->cb_user = user;
  in->name = strdup(view && view->name ? view->name : name);
  in->description = dup_or_empty(view && view->description ? view->description : opts ? opts->description : NULL);
  in->unit = dup_or_empty(opts ? opts->unit : NULL);
  if (!in->name || !in->description || !in->unit) goto oom;
  choose_aggregation(in, p, opts, view);
  if (setup_histogram(in, opts, view) != 0) goto oom;
  in->card_limit = p->card_limit;
  if (opts && opts->cardinality_limit) in->card_limit = opts->cardinality_limit;
  if (view && view->cardinality_limit) in->card_limit = view->cardinality_limit;
  if (view) {
    otelc_view_entry *e = (otelc_view_entry *)((char *)view - offsetof(otelc_view_entry, v));
    if (e->allow) {
      in->allow = otelc_allow_list_copy(e->allow);
      if (!in->allow) goto oom;
    }
  }
  otelc_series_table *t = calloc(1, sizeof *t + INITIAL_TABLE_CAPACITY * sizeof(t->slots[0]));
  if (!t) goto oom;
  t->mask = INITIAL_TABLE_CAPACITY - 1;
  atomic_init(&in->table, t);
  pthread_mutex_init(&in->mu, NULL);
  otelc_arena_init(&in->series_arena, SERIES_ARENA_CHUNK);
  in->series_arena.prefault = true;
  in->series_arena.max_chunk_size = SERIES_ARENA_MAX_CHUNK;

  if (m->tail) atomic_store_explicit(&m->tail->next, in, memory_order_release);
  else atomic_store_explicit(&m->instruments, in, memory_order_release);
  m->tail = in;
  pthread_mutex_unlock(&p->mu);
  return in;

oom:
  pthread_mutex_unlock(&p->mu);
  if (in) {
    otelc_allow_list_free(in->allow);
    free(in->bounds);
    free(in->name);
    free(in->description);
    free(in->unit);
    free(in);
  }
  OTELC_ERROR("out of memory creating instrument \"%s\"; it records nothing", name);
  return &otelc_noop_instrument;
}

/* ---- series table ----------------------------------------------------------------------------------- */

/* The instrument's stored copy of r's key (r canonical), added if new (NULL when out of memory). Caller holds
 * inst->mu. */
static const char *key_intern(otelc_instrument *in, const otelc_attr_ref *r) {
  otelc_key_table *kt = &in->keys;
  if (!kt->slots || (kt->n + 1) * 2 > kt->mask + 1) {
    size_t cap = kt->slots ? (kt->mask + 1) * 2 : 16;
    otelc_key_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return NULL;
    for (size_t i = 0; kt->slots && i <= kt->mask; i++) {
      if (!kt->slots[i].key) continue;
      size_t j = kt->slots[i].hash & (cap - 1);
      while (slots[j].key) j = (j + 1) & (cap - 1);
      slots[j] = kt->slots[i];
    }
    free(kt->slots);
    kt->slots = slots;
    kt->mask = cap - 1;
  }
  size_t i = r->key_hash & kt->mask;
  for (; kt->slots[i].key; i = (i + 1) & kt->mask) {
    const otelc_key_slot *sl = &kt->slots[i];
    if (sl->hash == r->key_hash && otelc_attrs_key_equal(r, sl->key, sl->klen)) return sl->key;
  }
  char *k = otelc_arena_alloc(&in->series_arena, otelc_attrs_str_size(r->klen));
  if (!k) return NULL;
  otelc_attrs_key_store(r, k);
  kt->slots[i] = (otelc_key_slot){.hash = r->key_hash, .key = k, .klen = r->klen};
  kt->n++;
  return k;
}

/* Allocates and initialises a series (not yet published) for a canonical set. Caller holds inst->mu. */
static otelc_srec *series_new(otelc_instrument *in, const otelc_attrs_prepared *p) {
  const char *keys[OTELC_MAX_ATTRS];
  for (size_t k = 0; k < p->n; k++) {
    keys[k] = key_intern(in, &p->a[k]);
    if (!keys[k]) return NULL;
  }
  size_t size = sizeof(otelc_srec) + in->area_size + p->store_size;
  otelc_srec *s = otelc_arena_alloc(&in->series_arena, size);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  s->hash = p->hash;
  s->n_attrs = (uint32_t)p->n;
  otelc_attrs_store(p, otelc_srec_attrs(in, s), keys);
  if (in->agg == OTELC_AGG_HISTOGRAM) {
    otelc_hist_cells *c = otelc_hist_area(s);
    memset(c, 0, in->area_size);
    atomic_init(&c->min_bits, d2u(INFINITY));
    atomic_init(&c->max_bits, d2u(-INFINITY));
  } else if (in->agg == OTELC_AGG_EXP_HISTOGRAM) {
    otelc_exp_cells *c = otelc_exp_area(s);
    uint64_t *storage = (uint64_t *)(c + 1);
    atomic_init(&c->lock, 0);
    otelc_exphist_init(&c->live, in->exp_max_size, in->exp_max_scale, storage);
    otelc_exphist_init(&c->cum, in->exp_max_size, in->exp_max_scale, storage + 2 * in->exp_max_size);
  }
  return s;
}

static void list_append(otelc_instrument *in, otelc_srec *s) {
  if (in->tail) atomic_store_explicit(&in->tail->next, s, memory_order_release);
  else atomic_store_explicit(&in->head, s, memory_order_release);
  in->tail = s;
}

/* Keyed tables. A set's hash leaves its keys out (attrs.h): sets that differ only in their keys — {a=1} and
 * {b=1}, or flags as keys — share a hash, so a table holding many of them would probe through all of them. When
 * an insertion meets KEYED_AFTER such collisions on its probe, the instrument switches to a keyed table: the same
 * series placed by their keyed hash (which hashes the keys too), published like a grown table. A keyed table
 * stays keyed when it grows; readers see from the table which hash it wants and compute the keyed hash only then
 * (a reader that computed a hash for an older table just probes that table, which stays valid). Probes still
 * check the set hash before comparing. */
#define KEYED_AFTER 8

static size_t table_slot_hash(const otelc_instrument *in, const otelc_series_table *t, const otelc_srec *s) {
  return t->keyed ? otelc_attrs_stored_keyed_hash(s->hash, otelc_srec_attrs(in, s), s->n_attrs) : s->hash;
}

static void table_put(const otelc_instrument *in, otelc_series_table *t, otelc_srec *s) {
  size_t i = table_slot_hash(in, t, s) & t->mask;
  while (atomic_load_explicit(&t->slots[i], memory_order_relaxed)) i = (i + 1) & t->mask;
  atomic_store_explicit(&t->slots[i], s, memory_order_release);
}

/* Publishes a copy of t with capacity cap, keyed or not; the old one stays readable (retired, freed with the
 * instrument). Caller holds inst->mu. */
static otelc_series_table *table_rebuild(otelc_instrument *in, otelc_series_table *t, size_t cap, bool keyed) {
  size_t bytes = sizeof(otelc_series_table) + cap * sizeof(_Atomic(otelc_srec *));
  otelc_series_table *nt = calloc(1, bytes);
  if (!nt) return NULL;
  otelc_prefault(nt, bytes); /* re-inserting touches every page of it at random */
  nt->mask = cap - 1;
  nt->keyed = keyed;
  for (size_t i = 0; i <= t->mask; i++) {
    otelc_srec *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
    if (s) table_put(in, nt, s);
  }
  nt->retired_next = t;
  atomic_store_explicit(&in->table, nt, memory_order_release);
  return nt;
}

/* Probes t for p; *collisions counts the series met whose hash is p's but whose set is not. */
static inline __attribute__((always_inline)) otelc_srec *table_probe(const otelc_instrument *in,
                                                                    otelc_series_table *t, otelc_attrs_prepared *p,
                                                                    unsigned *collisions) {
  size_t i = (__builtin_expect(t->keyed, 0) ? otelc_attrs_keyed_hash(p) : p->hash) & t->mask;
  for (;;) {
    otelc_srec *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
    if (!s) return NULL;
    if (s->hash == p->hash) {
      if (otelc_attrs_equal(p, otelc_srec_attrs(in, s), s->n_attrs)) return s;
      ++*collisions;
    }
    i = (i + 1) & t->mask;
  }
}

static inline __attribute__((always_inline)) otelc_srec *table_find(const otelc_instrument *in, otelc_series_table *t,
                                                                   otelc_attrs_prepared *p) {
  unsigned collisions = 0;
  return table_probe(in, t, p, &collisions);
}

static otelc_srec *overflow_series(otelc_instrument *in) {
  otelc_srec *s = atomic_load_explicit(&in->overflow, memory_order_acquire);
  if (s) return s;
  pthread_mutex_lock(&in->mu);
  s = atomic_load_explicit(&in->overflow, memory_order_relaxed);
  if (!s) {
    otelc_attr a = OTELC_ATTR_BOOL("otel.metric.overflow", true);
    otelc_attrs_prepared p;
    otelc_attrs_prepare(&a, 1, NULL, &p);
    otelc_attrs_canonicalize(&p);
    s = series_new(in, &p);
    if (s) {
      list_append(in, s);
      atomic_store_explicit(&in->overflow, s, memory_order_release);
      OTELC_WARN("instrument \"%s\": cardinality limit %u reached; new attribute sets are recorded with "
                 "otel.metric.overflow=true", in->name, in->card_limit);
    }
  }
  pthread_mutex_unlock(&in->mu);
  return s;
}

/* A canonical set not in the table: creates its series (or finds it, if another thread just did). */
static otelc_srec *series_insert(otelc_instrument *in, otelc_attrs_prepared *p) {
  uint32_t limit = in->card_limit ? in->card_limit : OTELC_DEFAULT_CARDINALITY_LIMIT;
  if (atomic_load_explicit(&in->n_series, memory_order_relaxed) + 1 >= limit) {
    /* Past the limit nothing allocates, and nothing takes the mutex once the overflow series exists. But a
     * set that does exist must still find its own series: probe once more before overflowing. */
    otelc_srec *s = table_find(in, atomic_load_explicit(&in->table, memory_order_acquire), p);
    return s ? s : overflow_series(in);
  }
  pthread_mutex_lock(&in->mu);
  otelc_series_table *t = atomic_load_explicit(&in->table, memory_order_relaxed);
  unsigned collisions = 0;
  otelc_srec *s = table_probe(in, t, p, &collisions);
  if (s) goto out;
  uint32_t n = atomic_load_explicit(&in->n_series, memory_order_relaxed);
  if (n + 1 >= limit) {
    pthread_mutex_unlock(&in->mu);
    return overflow_series(in);
  }
  if (collisions >= KEYED_AFTER && !t->keyed) { /* sets differing only in their keys pile up: key the table */
    otelc_series_table *nt = table_rebuild(in, t, t->mask + 1, true);
    if (nt) t = nt;
  }
  if ((size_t)(n + 1) * 4 > (t->mask + 1) * 3) { /* keep the load factor at most 3/4 */
    otelc_series_table *nt = table_rebuild(in, t, (t->mask + 1) * 2, t->keyed);
    if (nt) t = nt;
    else if ((size_t)(n + 1) * 8 > (t->mask + 1) * 7) goto out; /* out of memory and nearly full */
  }
  s = series_new(in, p);
  if (!s) goto out;
  table_put(in, t, s);
  list_append(in, s);
  atomic_store_explicit(&in->n_series, n + 1, memory_order_release);
  if (p->n == 0) atomic_store_explicit(&in->empty, s, memory_order_release);
out:
  pthread_mutex_unlock(&in->mu);
  if (!s) OTELC_ERROR("instrument \"%s\": out of memory for a new series; measurement dropped", in->name);
  return s;
}

/* After a miss: the canonical form, which may find an existing series after all when it dropped a repeated or
 * over-long key (the set, and so its hash, changed); otherwise the set is new. Off the hot path. */
__attribute__((noinline)) static otelc_srec *series_miss(otelc_instrument *in, otelc_attrs_prepared *p) {
  if (otelc_attrs_canonicalize(p)) {
    otelc_srec *s = table_find(in, atomic_load_explicit(&in->table, memory_order_acquire), p);
    if (s) return s;
  }
  return series_insert(in, p);
}

otelc_srec *otelc_series_get(otelc_instrument *in, otelc_attrs_prepared *p) {
  otelc_srec *s = table_find(in, atomic_load_explicit(&in->table, memory_order_acquire), p);
  if (__builtin_expect(s != NULL, 1)) return s;
  return series_miss(in, p);
}

static inline __attribute__((always_inline)) otelc_srec *resolve(otelc_instrument *in, const otelc_attr *attrs,
                                                                 size_t n) {
  if (n == 0 || !attrs) {
    otelc_srec *s = atomic_load_explicit(&in->empty, memory_order_acquire);
    if (s) return s;
    n = 0;
  }
  otelc_attrs_prepared p;
  otelc_attrs_prepare(attrs, n, in->allow, &p);
  otelc_srec *s = table_find(in, atomic_load_explicit(&in->table, memory_order_acquire), &p);
  if (__builtin_expect(s != NULL, 1)) return s;
  return series_miss(in, &p);
}

uint64_t otelc_series_total(const otelc_instrument *in, otelc_srec *s) {
  uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
  otelc_series *b = atomic_load_explicit(&s->bound, memory_order_acquire);
  if (in->agg == OTELC_AGG_SUM_F64) {
    double d = u2d(v);
    for (; b; b = b->next_bound) d += u2d(atomic_load_explicit(&b->cell, memory_order_relaxed));
    return d2u(d);
  }
  for (; b; b = b->next_bound) v += atomic_load_explicit(&b->cell, memory_order_relaxed);
  return v;
}

void otelc_hist_totals(const otelc_instrument *in, otelc_srec *s, uint64_t *buckets, double *sum) {
  otelc_hist_cells *c = otelc_hist_area(s);
  size_t nb = in->n_bounds + 1;
  for (size_t i = 0; i < nb; i++) buckets[i] = atomic_load_explicit(&c->buckets[i], memory_order_relaxed);
  double total = u2d(atomic_load_explicit(&c->sum_bits, memory_order_relaxed));
  for (otelc_series *b = atomic_load_explicit(&s->bound, memory_order_acquire); b; b = b->next_bound) {
    if (b->mode != OTELC_BOUND_HIST_OWN) continue;
    otelc_hist_own *own = otelc_series_hist_own(b);
    for (size_t i = 0; i < nb; i++) buckets[i] += atomic_load_explicit(&own->buckets[i], memory_order_relaxed);
    total += u2d(atomic_load_explicit(&own->sum_bits, memory_order_relaxed));
  }
  *sum = total;
}

/* ---- recording -------------------------------------------------------------------------------------- */

static inline size_t bucket_index(const double *b, size_t n, double v) {
  if (n <= OTELC_HIST_PADDED_BOUNDS) {
    /* Branch-free: count the boundaries below v (they are increasing, so that is the index), over the array
     * padded with +inf to a fixed 16, two at a time. A scan that stops early mispredicts its exit whenever
     * consecutive values land in different buckets. v is finite (NaN and infinities are ignored). */
#if defined(__SSE2__)
    __m128d x = _mm_set1_pd(v);
    __m128i a0 = _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b)));
    __m128i a1 = _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 2)));
    a0 = _mm_add_epi64(a0, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 4))));
    a1 = _mm_add_epi64(a1, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 6))));
    a0 = _mm_add_epi64(a0, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 8))));
    a1 = _mm_add_epi64(a1, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 10))));
    a0 = _mm_add_epi64(a0, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 12))));
    a1 = _mm_add_epi64(a1, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + 14))));
    a0 = _mm_add_epi64(a0, a1); /* each lane: minus the count of boundaries below v */
    a0 = _mm_add_epi64(a0, _mm_unpackhi_epi64(a0, a0));
    return (size_t)-_mm_cvtsi128_si64(a0);
#else
    size_t i = 0;
    for (size_t k = 0; k < OTELC_HIST_PADDED_BOUNDS; k++) i += v > b[k];
    return i;
#endif
  }
  size_t lo = 0, hi = n; /* first i with v <= b[i], or n */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v > b[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void hist_record(otelc_instrument *in, otelc_srec *s, double v) {
  otelc_hist_cells *c = otelc_hist_area(s);
  atomic_fetch_add_explicit(&c->buckets[bucket_index(in->bounds, in->n_bounds, v)], 1, memory_order_relaxed);
  atomic_add_double(&c->sum_bits, v);
  atomic_min_double(&c->min_bits, v);
  atomic_max_double(&c->max_bits, v);
}

/* One writer at a time (otelc_bind_exclusive): the handle's own bucket and sum are loaded and stored, no lock
 * prefix; the extremes are the series' shared cells, written only when v is a new one. */
static void hist_record_own(otelc_series *h, double v) {
  otelc_instrument *in = h->inst;
  otelc_hist_own *own = otelc_series_hist_own(h);
  _Atomic uint64_t *b = &own->buckets[bucket_index(in->bounds, in->n_bounds, v)];
  atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1, memory_order_relaxed);
  atomic_store_explicit(&own->sum_bits, d2u(u2d(atomic_load_explicit(&own->sum_bits, memory_order_relaxed)) + v),
                        memory_order_relaxed);
  otelc_hist_cells *c = otelc_hist_area(h->rec);
  atomic_min_double(&c->min_bits, v);
  atomic_max_double(&c->max_bits, v);
}

static void exp_record(otelc_srec *s, double v) {
  otelc_exp_cells *c = otelc_exp_area(s);
  spin_lock(&c->lock);
  otelc_exphist_record(&c->live, v);
  spin_unlock(&c->lock);
}

static inline void set_gauge(otelc_srec *s, uint64_t bits) {
  atomic_store_explicit(&s->value, bits, memory_order_relaxed);
  atomic_store_explicit(&s->touched, 1, memory_order_release);
}

/* Applies a double measurement (already checked for the instrument's rules). */
static inline void apply_f64(otelc_instrument *in, otelc_srec *s, double v) {
  switch (in->agg) {
  case OTELC_AGG_SUM_I64: atomic_fetch_add_explicit(&s->value, (uint64_t)d2i64(v), memory_order_relaxed); break;
  case OTELC_AGG_SUM_F64: atomic_add_double(&s->value, v); break;
  case OTELC_AGG_GAUGE_I64: set_gauge(s, (uint64_t)d2i64(v)); break;
  case OTELC_AGG_GAUGE_F64: set_gauge(s, d2u(v)); break;
  case OTELC_AGG_HISTOGRAM: hist_record(in, s, v); break;
  case OTELC_AGG_EXP_HISTOGRAM: exp_record(s, v); break;
  default: break;
  }
}

static inline void apply_i64(otelc_instrument *in, otelc_srec *s, int64_t v) {
  switch (in->agg) {
  case OTELC_AGG_SUM_I64: atomic_fetch_add_explicit(&s->value, (uint64_t)v, memory_order_relaxed); break;
  case OTELC_AGG_SUM_F64: atomic_add_double(&s->value, (double)v); break;
  case OTELC_AGG_GAUGE_I64: set_gauge(s, (uint64_t)v); break;
  case OTELC_AGG_GAUGE_F64: set_gauge(s, d2u((double)v)); break;
  case OTELC_AGG_HISTOGRAM: hist_record(in, s, (double)v); break;
  case OTELC_AGG_EXP_HISTOGRAM: exp_record(s, (double)v); break;
  default: break;
  }
}

/* False for values an instrument must ignore: negative or non-finite for counters, non-finite for sums and
 * histograms. Gauges take anything. */
static inline bool accept_f64(const otelc_instrument *in, double v) {
  if (in->agg == OTELC_AGG_GAUGE_F64 || in->agg == OTELC_AGG_GAUGE_I64) return true;
  if (!isfinite(v)) return false;
  return !(in->monotonic && v < 0);
}

static void warn_misuse(const otelc_instrument *in, const char *what) {
  OTELC_WARN("instrument \"%s\": %s; measurement ignored", in->name, what);
}

void otelc_record_f64(otelc_instrument *in, double v, const otelc_attr *attrs, size_t n) {
  if (!in || in->agg == OTELC_AGG_DROP) return;
  otelc_fork_check(in->meter->provider);
  if (in->observable) return warn_misuse(in, "recording on an observable instrument");
  if (!accept_f64(in, v)) return warn_misuse(in, in->monotonic ? "negative or non-finite counter increment"
                                                                : "non-finite value");
  otelc_srec *s = resolve(in, attrs, n);
  if (s) apply_f64(in, s, v);
}

void otelc_record_i64(otelc_instrument *in, int64_t v, const otelc_attr *attrs, size_t n) {
  if (!in || in->agg == OTELC_AGG_DROP) return;
  otelc_fork_check(in->meter->provider);
  if (in->observable) return warn_misuse(in, "recording on an observable instrument");
  if (in->monotonic && v < 0) return warn_misuse(in, "negative counter increment");
  otelc_srec *s = resolve(in, attrs, n);
  if (s) apply_i64(in, s, v);
}

void otelc_add_u64(otelc_instrument *in, uint64_t v, const otelc_attr *attrs, size_t n) {
  if (!in || in->agg == OTELC_AGG_DROP) return;
  otelc_fork_check(in->meter->provider);
  if (in->observable) return warn_misuse(in, "recording on an observable instrument");
  otelc_srec *s = resolve(in, attrs, n);
  if (!s) return;
  if (in->agg == OTELC_AGG_SUM_I64) atomic_fetch_add_explicit(&s->value, v, memory_order_relaxed);
  else apply_f64(in, s, (double)v);
}

/* ---- observable instruments ------------------------------------------------------------------------- */

static void observe(otelc_observer *obs, uint64_t bits, bool is_double, const otelc_attr *attrs, size_t n) {
  otelc_instrument *in = obs->inst;
  otelc_srec *s = resolve(in, attrs, n);
  if (!s) return;
  if (in->agg == OTELC_AGG_SUM_F64 || in->agg == OTELC_AGG_GAUGE_F64) {
    if (!is_double) bits = d2u((double)(int64_t)bits);
  } else if (is_double) {
    bits = (uint64_t)d2i64(u2d(bits));
  }
  atomic_store_explicit(&s->value, bits, memory_order_relaxed);
  atomic_store_explicit(&s->touched, obs->epoch, memory_order_relaxed);
}

void otelc_observe_i64(otelc_observer *obs, int64_t v, const otelc_attr *attrs, size_t n) {
  if (!obs || !obs->inst || obs->inst->agg == OTELC_AGG_DROP) return;
  if (obs->inst->monotonic && v < 0) return warn_misuse(obs->inst, "negative observable counter value");
  observe(obs, (uint64_t)v, false, attrs, n);
}

void otelc_observe_f64(otelc_observer *obs, double v, const otelc_attr *attrs, size_t n) {
  if (!obs || !obs->inst || obs->inst->agg == OTELC_AGG_DROP) return;
  if (obs->inst->agg != OTELC_AGG_GAUGE_F64 && obs->inst->agg != OTELC_AGG_GAUGE_I64 &&
      (!isfinite(v) || (obs->inst->monotonic && v < 0)))
    return warn_misuse(obs->inst, "negative or non-finite observable counter value");
  observe(obs, d2u(v), true, attrs, n);
}

/* ---- bound series ----------------------------------------------------------------------------------- */

/* The handle mode a bind gives: counters always get their own cell (one writer at a time, otelc.h), histograms
 * only when the caller promised one writer at a time (otelc_bind_exclusive). */
static uint32_t bound_mode(const otelc_instrument *in, bool exclusive) {
  if (in->agg == OTELC_AGG_SUM_I64) return OTELC_BOUND_CELL_I64;
  if (in->agg == OTELC_AGG_SUM_F64) return OTELC_BOUND_CELL_F64;
  if (in->agg == OTELC_AGG_HISTOGRAM && exclusive) return OTELC_BOUND_HIST_OWN;
  return OTELC_BOUND_SHARED;
}

static otelc_series *bind_series(otelc_instrument *in, const otelc_attr *attrs, size_t n, bool exclusive) {
  if (!in || in->agg == OTELC_AGG_DROP || in->observable) return &g_noop_series;
  otelc_fork_check(in->meter->provider);
  otelc_srec *s = resolve(in, attrs, n);
  if (!s) return &g_noop_series;
  uint32_t mode = bound_mode(in, exclusive);
  pthread_mutex_lock(&in->mu);
  otelc_series *h = NULL;
  for (otelc_series **pp = &in->free_bound; *pp; pp = &(*pp)->next_free) {
    if ((*pp)->rec == s && (*pp)->mode == mode) { /* a released handle's cells, still counted: reused */
      h = *pp;
      *pp = h->next_free;
      break;
    }
  }
  if (!h) {
    /* An own-cells histogram handle carries its sum and bucket counts after the struct (otelc_hist_own). */
    size_t own = mode == OTELC_BOUND_HIST_OWN ? sizeof(otelc_hist_own) + (in->n_bounds + 1) * sizeof(uint64_t) : 0;
    size_t size = (sizeof *h + own + OTELC_CACHE_LINE - 1) / OTELC_CACHE_LINE * OTELC_CACHE_LINE;
    h = aligned_alloc(OTELC_CACHE_LINE, size);
    if (!h) {
      pthread_mutex_unlock(&in->mu);
      OTELC_ERROR("instrument \"%s\": out of memory binding a series", in->name);
      return &g_noop_series;
    }
    memset(h, 0, size);
    h->rec = s;
    h->inst = in;
    h->mode = mode;
    /* Every handle goes on the series' list, so it is freed with it; the collector adds the cells of those
     * that have some (published with release: their zeroed cells come first). */
    h->next_bound = atomic_load_explicit(&s->bound, memory_order_relaxed);
    atomic_store_explicit(&s->bound, h, memory_order_release);
  }
  h->released = 0;
  h->next_free = NULL;
  pthread_mutex_unlock(&in->mu);
  return h;
}

otelc_series *otelc_bind(otelc_instrument *in, const otelc_attr *attrs, size_t n) {
  return bind_series(in, attrs, n, false);
}

otelc_series *otelc_bind_exclusive(otelc_instrument *in, const otelc_attr *attrs, size_t n) {
  return bind_series(in, attrs, n, true);
}

void otelc_series_add_u64(otelc_series *h, uint64_t v) {
  if (__builtin_expect(h->mode == OTELC_BOUND_CELL_I64, 1)) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, c + v, memory_order_relaxed);
    return;
  }
  if (h->mode == OTELC_BOUND_CELL_F64) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, d2u(u2d(c) + (double)v), memory_order_relaxed);
  } else if (h->mode == OTELC_BOUND_HIST_OWN) {
    hist_record_own(h, (double)v);
  } else if (h->mode == OTELC_BOUND_SHARED) {
    apply_f64(h->inst, h->rec, (double)v);
  }
}

void otelc_series_record_i64(otelc_series *h, int64_t v) {
  if (h->mode == OTELC_BOUND_NOOP) return;
  if (h->inst->monotonic && v < 0) return warn_misuse(h->inst, "negative counter increment");
  if (h->mode == OTELC_BOUND_CELL_I64) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, c + (uint64_t)v, memory_order_relaxed);
  } else if (h->mode == OTELC_BOUND_CELL_F64) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, d2u(u2d(c) + (double)v), memory_order_relaxed);
  } else if (h->mode == OTELC_BOUND_HIST_OWN) {
    hist_record_own(h, (double)v);
  } else {
    apply_i64(h->inst, h->rec, v);
  }
}

void otelc_series_record_f64(otelc_series *h, double v) {
  if (h->mode == OTELC_BOUND_NOOP) return;
  if (!accept_f64(h->inst, v)) return warn_misuse(h->inst, "negative or non-finite value");
  if (h->mode == OTELC_BOUND_CELL_F64) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, d2u(u2d(c) + v), memory_order_relaxed);
  } else if (h->mode == OTELC_BOUND_CELL_I64) {
    uint64_t c = atomic_load_explicit(&h->cell, memory_order_relaxed);
    atomic_store_explicit(&h->cell, c + (uint64_t)d2i64(v), memory_order_relaxed);
  } else if (h->mode == OTELC_BOUND_HIST_OWN) {
    hist_record_own(h, v);
  } else {
    apply_f64(h->inst, h->rec, v);
  }
}

void otelc_series_release(otelc_series *h) {
  if (!h || h->mode == OTELC_BOUND_NOOP) return;
  otelc_instrument *in = h->inst;
  pthread_mutex_lock(&in->mu);
  if (!h->released) {
    h->released = 1;
    h->next_free = in->free_bound;
    in->free_bound = h;
  }
  pthread_mutex_unlock(&in->mu);
}

/* ---- fork ------------------------------------------------------------------------------------------- */

void otelc_instrument_reset_after_fork(otelc_instrument *in) {
  for (otelc_srec *s = atomic_load(&in->head); s; s = atomic_load(&s->next)) {
    switch (in->agg) {
    case OTELC_AGG_SUM_I64:
    case OTELC_AGG_SUM_F64:
      if (in->observable) {
        s->prev = 0;
        atomic_store(&s->touched, 0);
      } else {
        s->prev = otelc_series_total(in, s);
      }
      break;
    case OTELC_AGG_GAUGE_I64:
    case OTELC_AGG_GAUGE_F64:
      atomic_store(&s->touched, 0);
      break;
    case OTELC_AGG_HISTOGRAM: {
      otelc_hist_cells *c = otelc_hist_area(s);
      uint64_t *prev = otelc_hist_prev(in, s);
      double sum;
      otelc_hist_totals(in, s, prev, &sum);
      memcpy(&prev[in->n_bounds + 1], &sum, sizeof sum);
      atomic_store(&c->min_bits, d2u(INFINITY));
      atomic_store(&c->max_bits, d2u(-INFINITY));
      break;
    }
    case OTELC_AGG_EXP_HISTOGRAM: {
      otelc_exp_cells *c = otelc_exp_area(s);
      atomic_store(&c->lock, 0); /* a thread of the parent may have held it: it does not exist here */
      otelc_exphist_reset(&c->live, in->exp_max_scale);
      otelc_exphist_reset(&c->cum, in->exp_max_scale);
      break;
    }
    default:
      break;
    }
  }
}

/* ---- public creation wrappers ----------------------------------------------------------------------- */

otelc_instrument *otelc_counter_u64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_COUNTER, false, o, NULL, NULL);
}
otelc_instrument *otelc_counter_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_COUNTER, true, o, NULL, NULL);
}
otelc_instrument *otelc_updown_i64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_UP_DOWN_COUNTER, false, o, NULL, NULL);
}
otelc_instrument *otelc_updown_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_UP_DOWN_COUNTER, true, o, NULL, NULL);
}
otelc_instrument *otelc_gauge_i64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_GAUGE, false, o, NULL, NULL);
}
otelc_instrument *otelc_gauge_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_GAUGE, true, o, NULL, NULL);
}
otelc_instrument *otelc_histogram(otelc_meter *m, const char *name, const otelc_instrument_options *o) {
  return otelc_instrument_create(m, name, OTELC_KIND_HISTOGRAM, true, o, NULL, NULL);
}
otelc_instrument *otelc_observable_counter_i64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                               otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_COUNTER, false, o, fn, user);
}
otelc_instrument *otelc_observable_counter_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                               otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_COUNTER, true, o, fn, user);
}
otelc_instrument *otelc_observable_updown_i64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                              otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_UP_DOWN_COUNTER, false, o, fn, user);
}
otelc_instrument *otelc_observable_updown_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                              otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_UP_DOWN_COUNTER, true, o, fn, user);
}
otelc_instrument *otelc_observable_gauge_i64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                             otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_GAUGE, false, o, fn, user);
}
otelc_instrument *otelc_observable_gauge_f64(otelc_meter *m, const char *name, const otelc_instrument_options *o,
                                             otelc_observe_fn fn, void *user) {
  return otelc_instrument_create(m, name, OTELC_KIND_OBSERVABLE_GAUGE, true, o, fn, user);
}
