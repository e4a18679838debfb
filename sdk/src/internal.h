/* internal.h — libotelc's internal data structures: provider, meter, instrument, series record, bound handle,
 * and the functions the SDK's files share. Nothing here is public API.
 *
 * Ownership: the provider owns its meters and instruments; an instrument owns its series (allocated from a
 * per-instrument arena, freed with the instrument), its series tables and its bound handles.
 *
 * Concurrency (docs/sdk.md has the full story):
 *   - recording threads: lock-free reads of the series table and of the series; cells updated with atomics;
 *   - creation (meter, instrument, series, bound handle): the provider's `mu` or the instrument's `mu`;
 *   - collection: the provider's `collect_mu`; it walks the append-only lists of meters, instruments and
 *     series with acquire loads, so recording and creation never wait for it.
 * Series are never freed while the provider lives (see docs/sdk.md, "Series table"). */
#ifndef OTELC_SDK_INTERNAL_H
#define OTELC_SDK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "sdk/src/arena.h"
#include "sdk/src/attrs.h"
#include "sdk/src/exphist.h"
#include "wire/buf.h"
#include "wire/otlp.h"

#define OTELC_DEFAULT_CARDINALITY_LIMIT 2000
#define OTELC_CACHE_LINE 64
/* Explicit histograms with at most this many boundaries find their bucket with a fixed, branch-free count over
 * this many (the array is padded with +inf). */
#define OTELC_HIST_PADDED_BOUNDS 16

/* How an instrument aggregates (after views). */
typedef enum otelc_agg {
  OTELC_AGG_DROP = 0,
  OTELC_AGG_SUM_I64,
  OTELC_AGG_SUM_F64,
  OTELC_AGG_GAUGE_I64,
  OTELC_AGG_GAUGE_F64,
  OTELC_AGG_HISTOGRAM,     /* explicit buckets */
  OTELC_AGG_EXP_HISTOGRAM, /* base-2 exponential */
} otelc_agg;

/* One series (one attribute set of one instrument). Header of a block laid out as
 *   [otelc_srec][aggregation area, inst->area_size bytes][attributes, see attrs.h]
 * Sums and gauges need no area: `value` is their cell. */
typedef struct otelc_srec {
  _Atomic uint64_t value;                 /* sum total (int64 or double bits) / gauge or observed value */
  _Atomic(struct otelc_series *) bound;   /* bound handles of this series (each with its own cell) */
  _Atomic(struct otelc_srec *) next;      /* the instrument's list of series, in creation order */
  uint64_t hash;                          /* of the attribute set */
  uint64_t prev;                          /* collector-owned: total at the last delta export / fork base */
  _Atomic uint32_t touched;               /* gauges: set since start; observables: epoch last observed */
  uint32_t n_attrs;                       /* the attributes follow the aggregation area: otelc_srec_attrs() */
} otelc_srec;
_Static_assert(sizeof(otelc_srec) % 16 == 0, "the aggregation area and the attributes after it are 16-aligned");

/* The aggregation area of an explicit-bucket histogram series (n = bucket count = boundaries + 1):
 *   _Atomic uint64_t sum_bits, min_bits, max_bits, buckets[n];   live cells, lock-free
 *   uint64_t prev_buckets[n]; double prev_sum;                    collector-owned (delta / fork base) */
typedef struct otelc_hist_cells {
  _Atomic uint64_t sum_bits, min_bits, max_bits;
  _Atomic uint64_t buckets[];
} otelc_hist_cells;

/* The aggregation area of an exponential histogram series. `live` is written under `lock` by recording
 * threads; the collector moves it into `cum` (cumulative) or reports it (delta), then resets it. */
typedef struct otelc_exp_cells {
  _Atomic uint32_t lock;
  uint32_t pad;
  otelc_exphist live;
  otelc_exphist cum; /* collector-owned */
  /* bucket storage for live, then for cum, follows */
} otelc_exp_cells;

/* Bound handle modes. */
enum { OTELC_BOUND_NOOP = 0, OTELC_BOUND_CELL_I64, OTELC_BOUND_CELL_F64, OTELC_BOUND_SHARED, OTELC_BOUND_HIST_OWN };

/* A bound series handle (public as otelc_series). Counters and up-down counters add into `cell`, written
 * only by the owning thread (relaxed load + store, no lock prefix) and summed by the collector. An exclusive
 * histogram handle (OTELC_BOUND_HIST_OWN, otelc_bind_exclusive) has its own sum and bucket counts after the
 * struct (otelc_series_hist_own), written the same way and added to the series' shared cells at collection;
 * min and max stay in the shared cells, where a record writes (compare-exchange) only a new extreme. */
struct otelc_series {
  _Atomic uint64_t cell;
  uint32_t mode;
  uint32_t released;
  otelc_srec *rec;
  struct otelc_instrument *inst;
  struct otelc_series *next_bound; /* in rec->bound (immutable once published) */
  struct otelc_series *next_free;  /* the instrument's free list (under inst->mu) */
} __attribute__((aligned(OTELC_CACHE_LINE)));

/* The own cells of an OTELC_BOUND_HIST_OWN handle: sum_bits, then one count per bucket. */
typedef struct otelc_hist_own {
  _Atomic uint64_t sum_bits;
  _Atomic uint64_t buckets[];
} otelc_hist_own;
static inline otelc_hist_own *otelc_series_hist_own(struct otelc_series *h) { return (otelc_hist_own *)(h + 1); }

/* The keys of an instrument's series, each stored once (from the series arena, in the layout of
 * otelc_attrs_key_store); the stored attribute entries point at them. Used only under the instrument's mutex,
 * when a series is created (open addressing, linear probing, load factor <= 1/2). */
typedef struct otelc_key_slot {
  uint64_t hash;
  const char *key; /* NULL: empty slot */
  size_t klen;
} otelc_key_slot;

typedef struct otelc_key_table {
  size_t mask; /* capacity - 1 (0 with no slots yet) */
  size_t n;
  otelc_key_slot *slots;
} otelc_key_table;

/* An open-addressing table of series pointers; readers probe it without locks. A keyed table places series by
 * their keyed hash (otelc_attrs_keyed_hash) instead of their hash (see instrument.c, "keyed tables"). */
typedef struct otelc_series_table {
  struct otelc_series_table *retired_next; /* older tables, kept until the instrument is freed */
  size_t mask;                             /* capacity - 1 (capacity is a power of two) */
  bool keyed;                              /* set before publication, never changed */
  _Atomic(otelc_srec *) slots[];
} otelc_series_table;

typedef struct otelc_instrument {
  struct otelc_meter *meter;
  otelc_instrument_kind kind;
  otelc_agg agg;
  bool is_double;      /* the instrument's value type */
  bool observable;
  bool monotonic;
  bool delta;          /* temporality of the exported stream (sums, histograms) */
  char *name, *description, *unit;
  /* explicit histogram */
  double *bounds;      /* n_bounds boundaries, then +inf up to OTELC_HIST_PADDED_BOUNDS (see bucket_index) */
  size_t n_bounds;
  /* exponential histogram */
  int32_t exp_max_size, exp_max_scale;
  /* streams */
  otelc_allow_list *allow;  /* attribute-key allow-list from a view, or NULL */
  uint32_t card_limit;
  size_t area_size;         /* bytes of aggregation area per series */
  /* series */
  _Atomic(otelc_series_table *) table;
  _Atomic(otelc_srec *) head;     /* list of all series, oldest first */
  otelc_srec *tail;               /* under mu */
  _Atomic uint32_t n_series;      /* regular series (not the overflow one) */
  _Atomic(otelc_srec *) empty;    /* the series with no attributes, once created */
  _Atomic(otelc_srec *) overflow; /* the otel.metric.overflow=true series, once created */
  pthread_mutex_t mu;             /* series creation, bound handles */
  otelc_arena series_arena;       /* under mu */
  otelc_key_table keys;           /* under mu */
  otelc_series *free_bound;       /* released handles, under mu */
  /* observable */
  otelc_observe_fn cb;
  void *cb_user;
  _Atomic(struct otelc_instrument *) next; /* the meter's list */
} otelc_instrument;

typedef struct otelc_meter {
  struct otelc_meter_provider *provider;
  char *name, *version, *schema_url;
  _Atomic(otelc_instrument *) instruments; /* oldest first */
  otelc_instrument *tail;                   /* under provider->mu */
  _Atomic(struct otelc_meter *) next;
} otelc_meter;

/* A copied view. */
typedef struct otelc_view_entry {
  otelc_view v; /* strings and arrays point into copies owned by the entry */
  otelc_allow_list *allow;
  struct otelc_view_entry *next;
} otelc_view_entry;

/* A resource attribute (own copies). */
typedef struct otelc_res_attr {
  char *key;
  otelc_attr_type type;
  char *s;
  int64_t i;
  double d;
  bool b;
} otelc_res_attr;

struct otelc_meter_provider {
  bool disabled;
  bool self_metrics;
  int64_t interval_ms, timeout_ms;
  otelc_temporality_preference temporality;
  otelc_aggregation hist_agg;
  uint32_t card_limit;
  otelc_exporter *exporter;

  pthread_mutex_t mu; /* meters, instruments, views, resource attributes */
  _Atomic(otelc_meter *) meters;
  otelc_meter *meters_tail;
  otelc_view_entry *views, *views_tail;
  otelc_res_attr *res;
  size_t n_res;
  char *exe_name;

  /* collection (collect_mu) */
  pthread_mutex_t collect_mu;
  otelc_arena arena;          /* scratch space of one collection */
  otelc_arena res_arena;      /* the resource message (rebuilt after fork) */
  otlp_resource *resource_pb;
  wire_buf encoded;           /* the encoded request, reused across collections */
  uint64_t start_ns;          /* wall clock: start of cumulative streams (creation, or fork in a child) */
  uint64_t last_collect_ns;   /* wall clock: end of the previous collection (start of delta points) */
  uint32_t epoch;             /* observation epoch, one per collection */
  bool final_exported;

  /* reader thread (reader_mu) */
  pthread_mutex_t reader_mu;
  pthread_cond_t reader_cv;
  pthread_t thread;
  bool thread_running;
  bool stop;
  bool shut_down;
  _Atomic uint32_t fork_gen; /* the fork generation this provider's state belongs to */

  /* health instruments (NULL when self metrics are off) */
  otelc_instrument *h_exported, *h_dropped, *h_failed, *h_duration, *h_retries, *h_rejected, *h_errors;

  struct otelc_meter_provider *global_next; /* the fork registry */
};

struct otelc_observer {
  otelc_instrument *inst;
  uint32_t epoch;
};

/* ---- shared by the SDK's files ---- */

extern otelc_instrument otelc_noop_instrument;
extern otelc_meter otelc_noop_meter;
extern _Atomic uint32_t otelc_fork_generation; /* bumped in every forked child */

/* instrument.c */
otelc_instrument *otelc_instrument_create(otelc_meter *m, const char *name, otelc_instrument_kind kind,
                                          bool is_double, const otelc_instrument_options *opts,
                                          otelc_observe_fn fn, void *user);
void otelc_instrument_free(otelc_instrument *inst);
/* The series for a prepared attribute set: looked up without locks, created under inst->mu, or the overflow
 * series past the cardinality limit. NULL only when out of memory. */
otelc_srec *otelc_series_get(otelc_instrument *inst, otelc_attrs_prepared *p);
/* Sum of a sum series: its shared cell plus every bound cell (int64 or double bits). */
uint64_t otelc_series_total(const otelc_instrument *inst, otelc_srec *s);
/* Totals of an explicit-bucket histogram series: its shared cells plus every exclusive handle's own cells.
 * buckets: n_bounds + 1 counts. */
void otelc_hist_totals(const otelc_instrument *inst, otelc_srec *s, uint64_t *buckets, double *sum);
static inline otelc_hist_cells *otelc_hist_area(otelc_srec *s) { return (otelc_hist_cells *)(s + 1); }
static inline otelc_sattr *otelc_srec_attrs(const otelc_instrument *inst, const otelc_srec *s) {
  return (otelc_sattr *)((char *)(s + 1) + inst->area_size);
}
static inline otelc_exp_cells *otelc_exp_area(otelc_srec *s) { return (otelc_exp_cells *)(s + 1); }
static inline uint64_t *otelc_hist_prev(const otelc_instrument *inst, otelc_srec *s) {
  return (uint64_t *)&otelc_hist_area(s)->buckets[inst->n_bounds + 1];
}
/* In a forked child: makes every series start from zero (see provider.c). Single-threaded context only. */
void otelc_instrument_reset_after_fork(otelc_instrument *inst);

/* view.c */
bool otelc_view_matches(const otelc_view *v, const otelc_meter *m, const char *name, otelc_instrument_kind kind);
bool otelc_name_pattern_match(const char *pattern, const char *name);
int otelc_view_copy(const otelc_view *src, otelc_view_entry **out);
void otelc_view_free(otelc_view_entry *e);
otelc_allow_list *otelc_allow_list_copy(const otelc_allow_list *a);
void otelc_allow_list_free(otelc_allow_list *a);

/* resource.c */
int otelc_resource_detect(otelc_meter_provider *p, const otelc_attr *extra, size_t n_extra);
/* Builds p->resource_pb in p->res_arena from p->res, with the current process.pid. */
int otelc_resource_build(otelc_meter_provider *p);
/* Parses OTEL_RESOURCE_ATTRIBUTES syntax: calls fn for every decoded pair; returns 0, or -1 on a syntax or
 * percent-decoding error (fn is then not called at all). */
int otelc_resource_parse_list(const char *s, void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* collect.c */
/* Collects every instrument and appends the encoded ExportMetricsServiceRequest to `out` (caller holds
 * collect_mu). Returns 0, or -1 when out of memory (the export is skipped; `out` holds garbage). */
int otelc_collect(otelc_meter_provider *p, wire_buf *out, size_t *n_metrics, size_t *n_points);

/* reader.c */
int otelc_reader_start(otelc_meter_provider *p);
void otelc_reader_stop(otelc_meter_provider *p);
/* Collect + encode + export under collect_mu. Returns an otelc_status. */
int otelc_collect_and_export(otelc_meter_provider *p, int64_t deadline_ns);

/* provider.c */
/* In a forked child (lazily, on first use): rebuild the resource, reset the exporter, restart the reader. */
void otelc_provider_after_fork(otelc_meter_provider *p);
static inline void otelc_fork_check(otelc_meter_provider *p) {
  if (__builtin_expect(atomic_load_explicit(&otelc_fork_generation, memory_order_relaxed) !=
                           atomic_load_explicit(&p->fork_gen, memory_order_relaxed), 0))
    otelc_provider_after_fork(p);
}

/* health.c */
void otelc_health_init(otelc_meter_provider *p);
void otelc_health_export_done(otelc_meter_provider *p, otelc_export_result r, size_t n_points, double seconds);

/* exporter_select.c */
/* The exporter named by OTEL_METRICS_EXPORTER (NULL for none). */
otelc_exporter *otelc_exporter_from_env(void);

#endif
