/* prom_store.c — OTLP data points → Prometheus series, kept for scraping (see prom_store.h for the rules).
 *
 * Layout, chosen for the hot path (≥ 1M points/s, 100k series in a few tens of MiB):
 *   - a family per Prometheus metric name (HELP/TYPE, its series in an array, sorted lazily at render);
 *   - a "family cache" maps an OTLP (name, unit, kind) to its family, so names are translated once, not per point;
 *   - a "context" per distinct (resource, scope) label set — job, instance, otel_scope_*, resource attributes with
 *     resource_to_telemetry_conversion, const labels — rendered once and shared (refcounted) by its series, so each
 *     series stores only its own point labels;
 *   - series: one allocation each (header + rendered point labels), in one open-addressing table (linear probing,
 *     backward-shift deletion) keyed by XXH3 of (family, context, label text); histogram/summary state in a
 *     second allocation, explicit bucket bounds interned and shared.
 * Per point: attribute keys sanitised into a scratch buffer, sorted, values escaped into the label text, hashed,
 * probed, compared: no allocation unless the series is new. */
#define _GNU_SOURCE /* qsort_r */
#include "receiver/exporters/prom_store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "receiver/exporters/prom_names.h"
#include "wire/clock.h"
#include "wire/otlp.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_exp;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pb_exp_buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_summary;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar pb_exemplar;

#define TEMPORALITY_DELTA OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
#define TEMPORALITY_CUMULATIVE \
  OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define FLAG_NO_RECORDED_VALUE 1u

enum {
  MAX_POINT_LABEL_BYTES = 65536,   /* rendered point labels; longer points are dropped as invalid */
  RENDER_LIMIT_FACTOR = 4,         /* the scratch limit while rendering (reservations are pessimistic) */
  MAX_CONTEXT_LABEL_BYTES = 1 << 20,
  MAX_EXPLICIT_BOUNDS = 4096,
  EXP_MAX_BUCKETS = 1024,          /* per side, after downscaling */
  EXP_MIN_SCALE = -10,
  EXP_MAX_SCALE = 20,
  MAX_EXEMPLARS = 8,               /* kept per histogram series (the point's last ones) */
  FAMILY_CACHE_MAX = 65536,
  JSON_MAX_DEPTH = 16,
};

/* ---- data structures -------------------------------------------------------------------------------------------- */

typedef enum series_kind { SK_NUMBER, SK_HIST, SK_EXP, SK_SUMMARY, SK_TARGET } series_kind;
typedef enum fam_type { FT_GAUGE, FT_COUNTER, FT_HISTOGRAM, FT_SUMMARY, FT_TARGET } fam_type;
/* The OTLP side of a family-cache key. */
typedef enum otlp_kind { OK_GAUGE, OK_UPDOWN, OK_COUNTER, OK_HIST, OK_EXP, OK_SUMMARY } otlp_kind;

typedef struct prom_exemplar {
  double value;
  uint64_t time_ns;
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t has_trace, has_span;
} prom_exemplar;

typedef struct exemplar_list {
  uint32_t n;
  prom_exemplar e[];
} exemplar_list;

typedef struct bounds {
  uint64_t hash;
  uint32_t refs, n;
  char *le_text[2]; /* le label values, formatted on first render: [0] Prometheus text, [1] OpenMetrics */
  double b[];
} bounds;

typedef struct hist_data {
  uint64_t count;
  double sum;
  bounds *bounds;
  exemplar_list *ex;
  uint64_t counts[]; /* bounds->n + 1, per bucket (not cumulative) */
} hist_data;

typedef struct exp_data {
  uint64_t count, zero_count;
  double sum, zero_threshold;
  int32_t scale, pos_off, neg_off;
  uint32_t n_pos, n_neg;
  exemplar_list *ex;
  uint64_t counts[]; /* n_neg negative buckets, then n_pos positive ones */
} exp_data;

typedef struct quantile_value {
  double q, v;
} quantile_value;

typedef struct summary_data {
  uint64_t count;
  double sum;
  uint32_t n;
  quantile_value qv[];
} summary_data;

typedef struct target_data {
  uint64_t key_hash;
  uint32_t key_len;
  char key[]; /* job '\0' instance */
} target_data;

typedef struct prom_family prom_family;
typedef struct prom_ctx prom_ctx;

typedef struct prom_series {
  prom_family *fam;
  prom_ctx *ctx;     /* NULL for target_info */
  void *payload;     /* SK_NUMBER: prom_exemplar* or NULL; others: *_data */
  uint64_t start_ns, time_ns;
  int64_t touched_ms;
  union {
    double d;
    int64_t i;
  } v;
  uint32_t fam_idx;
  uint32_t labels_len;
  uint8_t kind;   /* series_kind */
  uint8_t is_int; /* v holds an int64 */
  char labels[];  /* rendered point labels: name="value",... (no braces) */
} prom_series;

struct prom_family {
  char *name;    /* sample name (counters: with _total when suffixes are on) */
  char *om_name; /* OpenMetrics family name (counters: without _total) */
  char *help;    /* raw description; "" for none */
  char *unit;    /* OpenMetrics UNIT, NULL when the name does not end with it */
  uint64_t seed;
  uint8_t type; /* fam_type */
  bool sorted;
  prom_series **series;
  uint32_t n, cap;
};

struct prom_ctx {
  uint64_t hash;
  uint64_t bloom; /* bit (name hash & 63) set for each label name */
  uint32_t refs;
  uint32_t len, names_len;
  char *names; /* label names, each NUL-terminated, after labels */
  char labels[];
};

typedef struct fam_key {
  prom_family *fam; /* NULL: the metric is dropped (conflict or no valid name) */
  bool conflict;
  uint8_t okind;
  uint32_t name_len, unit_len;
  char s[]; /* name then unit */
} fam_key;

typedef struct slot {
  uint64_t hash;
  void *p;
} slot;

typedef struct table {
  slot *s;
  size_t mask, n;
} table;

/* One label before rendering: its sanitised name lives in the names scratch buffer, its value either outside
 * (val_ext, e.g. the protobuf string itself) or in the values scratch buffer. */
typedef struct lbl {
  uint32_t name_off, name_len;
  const char *key;
  uint32_t key_len;
  uint32_t val_off, val_len;
  const char *val_ext;
  uint32_t name_hash;
  uint8_t prio; /* among context labels: lower wins a name clash */
} lbl;

struct prom_store {
  pthread_mutex_t mu;
  /* config */
  char *ns;
  prom_label_pair *const_labels; /* sanitised names, owned copies */
  size_t n_const;
  bool add_suffixes, r2t, send_ts, open_metrics, no_scope_labels, om_created;
  int64_t expiration_ms;
  size_t max_series;
  int64_t (*clock)(void *);
  void *clock_ud;
  uint64_t secret;
  /* state */
  table series_tab, fam_tab, fcache, ctx_tab, target_tab, bounds_tab;
  prom_family **fams;
  size_t n_fams, cap_fams;
  bool fams_sorted;
  prom_family *target_fam;
  size_t n_series;
  size_t bytes;
  int64_t now_ms;
  prom_store_stats st;
  /* scratch */
  wire_buf names, vals, lbuf, tmp;
  lbl *lbls;
  size_t cap_lbls;
  double *r_le;
  uint64_t *r_cum;
  size_t r_cap;
};

/* ---- small helpers ---------------------------------------------------------------------------------------------- */

static int64_t default_clock(void *ud) {
  (void)ud;
  return wire_now_ns() / 1000000;
}

static char *xstrdup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/* Ensures `extra` more bytes fit; -1 when the buffer limit or memory says no. */
static inline int reserve(wire_buf *b, size_t extra) {
  if (b->cap - b->len >= extra && (!b->limit || extra <= b->limit - b->len)) return 0;
  return wire_buf_reserve(b, extra, NULL);
}

static inline void put(wire_buf *b, const void *p, size_t n) {
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static inline void put_c(wire_buf *b, char c) { b->data[b->len++] = (uint8_t)c; }

/* ---- open-addressing table -------------------------------------------------------------------------------------- */

static int table_init(table *t, size_t cap) {
  t->s = calloc(cap, sizeof *t->s);
  if (!t->s) return -1;
  t->mask = cap - 1;
  t->n = 0;
  return 0;
}

static void table_free(table *t) {
  free(t->s);
  t->s = NULL;
  t->n = 0;
}

static int table_grow(table *t) {
  size_t cap = (t->mask + 1) * 2;
  slot *ns = calloc(cap, sizeof *ns);
  if (!ns) return -1;
  for (size_t i = 0; i <= t->mask; i++) {
    if (!t->s[i].p) continue;
    size_t j = t->s[i].hash & (cap - 1);
    while (ns[j].p) j = (j + 1) & (cap - 1);
    ns[j] = t->s[i];
  }
  free(t->s);
  t->s = ns;
  t->mask = cap - 1;
  return 0;
}

/* Inserts p (known absent). */
static int table_insert(table *t, uint64_t h, void *p) {
  if ((t->n + 1) * 4 > (t->mask + 1) * 3 && table_grow(t) < 0) return -1;
  size_t i = h & t->mask;
  while (t->s[i].p) i = (i + 1) & t->mask;
  t->s[i].hash = h;
  t->s[i].p = p;
  t->n++;
  return 0;
}

/* Removes the slot holding p (searched from h's home slot), shifting followers back so probes stay unbroken. */
static void table_remove(table *t, uint64_t h, const void *p) {
  size_t i = h & t->mask;
  while (t->s[i].p && t->s[i].p != p) i = (i + 1) & t->mask;
  if (!t->s[i].p) return;
  size_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    if (!t->s[j].p) break;
    size_t home = t->s[j].hash & t->mask;
    /* move j into the hole at i when its home is not in (i, j] (cyclically) */
    bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      t->s[i] = t->s[j];
      i = j;
    }
  }
  t->s[i].p = NULL;
  t->n--;
}

/* ---- AnyValue → label value text --------------------------------------------------------------------------------- */

static void json_string(wire_buf *b, const char *s, size_t n) {
  wire_buf_append(b, "\"", 1, NULL);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      wire_buf_append(b, esc, 2, NULL);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      wire_buf_append(b, esc, 6, NULL);
    } else {
      wire_buf_append(b, &s[i], 1, NULL);
    }
  }
  wire_buf_append(b, "\"", 1, NULL);
}

static void any_json(wire_buf *b, const pb_any *v, int depth);

static void base64(wire_buf *b, const uint8_t *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (reserve(b, (n + 2) / 3 * 4) < 0) return;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    put_c(b, tab[x >> 18]), put_c(b, tab[(x >> 12) & 63]), put_c(b, tab[(x >> 6) & 63]), put_c(b, tab[x & 63]);
  }
  if (i < n) {
    uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    put_c(b, tab[x >> 18]), put_c(b, tab[(x >> 12) & 63]);
    put_c(b, i + 1 < n ? tab[(x >> 6) & 63] : '='), put_c(b, '=');
  }
}

/* Appends the string form of an attribute value (the OTel attribute → string rules; arrays and maps as JSON). */
static void any_text(wire_buf *b, const pb_any *v, int depth) {
  char num[PROM_NUM_MAX];
  if (!v) return;
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
    wire_buf_append_str(b, str_or_empty(v->string_value), NULL);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
    wire_buf_append_str(b, v->bool_value ? "true" : "false", NULL);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    wire_buf_append(b, num, prom_fmt_i64(num, v->int_value), NULL);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
    wire_buf_append(b, num, prom_fmt_float_go(num, v->double_value), NULL);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
    base64(b, v->bytes_value.data, v->bytes_value.len);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
    any_json(b, v, depth);
    break;
  default:
    break;
  }
}

static void any_json(wire_buf *b, const pb_any *v, int depth) {
  if (!v || depth > JSON_MAX_DEPTH) {
    wire_buf_append_str(b, "null", NULL);
    return;
  }
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
    const char *s = str_or_empty(v->string_value);
    json_string(b, s, strlen(s));
    break;
  }
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
    wire_buf_append(b, "\"", 1, NULL);
    base64(b, v->bytes_value.data, v->bytes_value.len);
    wire_buf_append(b, "\"", 1, NULL);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
    if (!isfinite(v->double_value)) {
      char num[PROM_NUM_MAX];
      size_t n = prom_fmt_float_go(num, v->double_value);
      json_string(b, num, n);
    } else {
      any_text(b, v, depth);
    }
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
    wire_buf_append(b, "[", 1, NULL);
    const Opentelemetry__Proto__Common__V1__ArrayValue *a = v->array_value;
    for (size_t i = 0; a && i < a->n_values; i++) {
      if (i) wire_buf_append(b, ",", 1, NULL);
      any_json(b, a->values[i], depth + 1);
    }
    wire_buf_append(b, "]", 1, NULL);
    break;
  }
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
    wire_buf_append(b, "{", 1, NULL);
    const Opentelemetry__Proto__Common__V1__KeyValueList *l = v->kvlist_value;
    for (size_t i = 0; l && i < l->n_values; i++) {
      if (i) wire_buf_append(b, ",", 1, NULL);
      const char *k = l->values[i] ? str_or_empty(l->values[i]->key) : "";
      json_string(b, k, strlen(k));
      wire_buf_append(b, ":", 1, NULL);
      any_json(b, l->values[i] ? l->values[i]->value : NULL, depth + 1);
    }
    wire_buf_append(b, "}", 1, NULL);
    break;
  }
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    any_text(b, v, depth);
    break;
  default:
    wire_buf_append_str(b, "null", NULL);
    break;
  }
}

/* ---- label sets --------------------------------------------------------------------------------------------------- */

static lbl *lbl_slot(prom_store *s, size_t i) {
  if (i >= s->cap_lbls) {
    size_t cap = s->cap_lbls ? s->cap_lbls * 2 : 32;
    while (cap <= i) cap *= 2;
    lbl *l = realloc(s->lbls, cap * sizeof *l);
    if (!l) return NULL;
    s->lbls = l;
    s->cap_lbls = cap;
  }
  return &s->lbls[i];
}

/* Only feeds a 64-bit bloom filter (6 bits used): length and end characters are enough and cost nothing. */
static inline uint32_t name_hash(const char *p, size_t n) {
  return n ? (uint32_t)(n * 5 + (uint8_t)p[0] * 3 + (uint8_t)p[n - 1] * 11 + (n > 2 ? (uint8_t)p[n / 2] : 0)) : 0;
}

/* Characters outside [a-zA-Z0-9_] → '_', one per UTF-8 character. */
static size_t sanitize_label_chars(char *out, const char *key, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') out[o++] = (char)c;
    else if ((c & 0xC0) != 0x80) out[o++] = '_';
  }
  return o;
}

/* Adds a label from a raw attribute key (sanitised here) and a value; returns the new count (unchanged when the key
 * gives no valid name or memory is short). `prefix` (e.g. "otel_scope_") goes before the key. */
static size_t lbl_add(prom_store *s, size_t n, const char *prefix, const char *key, size_t key_len, const pb_any *v,
                      const char *val_str, size_t val_len, uint8_t prio) {
  lbl *l = lbl_slot(s, n);
  if (!l) return n;
  size_t plen = prefix ? strlen(prefix) : 0;
  if (reserve(&s->names, plen + key_len + 4) < 0) return n;
  char *out = (char *)s->names.data + s->names.len;
  size_t nl;
  if (plen) {
    /* the prefix is a valid name start: only the key's characters need replacing */
    memcpy(out, prefix, plen);
    size_t kl = sanitize_label_chars(out + plen, key, key_len);
    if (!kl) return n;
    nl = plen + kl;
  } else {
    nl = prom_label_name(out, key, key_len);
    if (!nl) return n;
  }
  l->name_off = (uint32_t)s->names.len;
  l->name_len = (uint32_t)nl;
  l->name_hash = name_hash(out, nl);
  s->names.len += nl;
  l->key = key;
  l->key_len = (uint32_t)key_len;
  l->prio = prio;
  l->val_ext = NULL;
  l->val_off = l->val_len = 0;
  if (val_str) {
    l->val_ext = val_str;
    l->val_len = (uint32_t)val_len;
  } else if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
    l->val_ext = str_or_empty(v->string_value);
    l->val_len = (uint32_t)strlen(l->val_ext);
  } else if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE) {
    l->val_ext = v->bool_value ? "true" : "false";
    l->val_len = v->bool_value ? 4 : 5;
  } else {
    size_t before = s->vals.len;
    any_text(&s->vals, v, 0);
    l->val_off = (uint32_t)before;
    l->val_len = (uint32_t)(s->vals.len - before);
  }
  if (l->val_len == 0) return n; /* empty values are absent labels */
  return n + 1;
}

static inline const char *lbl_name(const prom_store *s, const lbl *l) { return (const char *)s->names.data + l->name_off; }
static inline const char *lbl_val(const prom_store *s, const lbl *l) {
  return l->val_ext ? l->val_ext : (const char *)s->vals.data + l->val_off;
}

static int lbl_cmp(const prom_store *s, const lbl *a, const lbl *b) {
  size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  int c = memcmp(lbl_name(s, a), lbl_name(s, b), n);
  if (c) return c;
  if (a->name_len != b->name_len) return a->name_len < b->name_len ? -1 : 1;
  if (a->prio != b->prio) return a->prio < b->prio ? -1 : 1;
  n = a->key_len < b->key_len ? a->key_len : b->key_len;
  c = memcmp(a->key, b->key, n);
  if (c) return c;
  return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int lbl_qsort_cmp(const void *a, const void *b, void *ud) { return lbl_cmp(ud, a, b); }

static void lbl_sort(prom_store *s, size_t n) {
  lbl *l = s->lbls;
  if (n > 24) {
    qsort_r(l, n, sizeof *l, lbl_qsort_cmp, s);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    lbl x = l[i];
    size_t j = i;
    while (j > 0 && lbl_cmp(s, &l[j - 1], &x) > 0) {
      l[j] = l[j - 1];
      j--;
    }
    l[j] = x;
  }
}

/* Label names the exposition itself uses: a series label with one of these names would clash with the `le` of
 * histogram buckets, the `quantile` of summaries or the metric name, so such attributes are dropped. */
enum { RESERVED_LE = 1, RESERVED_QUANTILE = 2, RESERVED_NAME = 4 };

static bool is_reserved(const char *name, size_t n, unsigned reserved) {
  return ((reserved & RESERVED_LE) && n == 2 && memcmp(name, "le", 2) == 0) ||
         ((reserved & RESERVED_QUANTILE) && n == 8 && memcmp(name, "quantile", 8) == 0) ||
         ((reserved & RESERVED_NAME) && n == 8 && memcmp(name, "__name__", 8) == 0);
}

static bool ctx_has_name(const prom_ctx *c, const char *name, size_t n, uint32_t h) {
  if (!c || !(c->bloom & (1ULL << (h & 63)))) return false;
  const char *p = c->names, *end = c->names + c->names_len;
  while (p < end) {
    size_t l = strlen(p);
    if (l == n && memcmp(p, name, n) == 0) return true;
    p += l + 1;
  }
  return false;
}

/* Renders the sorted labels 0..n-1 as `name="value",...` into out (appending). Labels whose names clash after
 * sanitising: the best priority wins; equal priorities are joined with ';' in the order of their original keys.
 * Labels named like one of `ctx`'s are skipped. With names_out, the rendered names are also appended there,
 * NUL-terminated, and *bloom collects their hashes. Returns -1 when out's limit is hit. */
static int lbl_render(prom_store *s, size_t n, const prom_ctx *ctx, unsigned reserved, wire_buf *out,
                      wire_buf *names_out, uint64_t *bloom) {
  lbl_sort(s, n);
  bool first = out->len == 0;
  size_t i = 0;
  while (i < n) {
    const lbl *l = &s->lbls[i];
    size_t j = i + 1;
    while (j < n && s->lbls[j].name_len == l->name_len &&
           memcmp(lbl_name(s, &s->lbls[j]), lbl_name(s, l), l->name_len) == 0)
      j++;
    if (ctx_has_name(ctx, lbl_name(s, l), l->name_len, l->name_hash) ||
        is_reserved(lbl_name(s, l), l->name_len, reserved)) {
      i = j;
      continue;
    }
    size_t need = l->name_len + 4;
    for (size_t k = i; k < j && s->lbls[k].prio == l->prio; k++) need += PROM_ESCAPE_MAX(s->lbls[k].val_len) + 1;
    if (reserve(out, need) < 0) return -1;
    if (!first) put_c(out, ',');
    first = false;
    put(out, lbl_name(s, l), l->name_len);
    put_c(out, '='), put_c(out, '"');
    for (size_t k = i; k < j && s->lbls[k].prio == l->prio; k++) {
      if (k > i) put_c(out, ';');
      const lbl *m = &s->lbls[k];
      out->len += prom_escape_value((char *)out->data + out->len, lbl_val(s, m), m->val_len, false, false);
    }
    put_c(out, '"');
    if (names_out) {
      wire_buf_append(names_out, lbl_name(s, l), l->name_len, NULL);
      wire_buf_append(names_out, "", 1, NULL);
      *bloom |= 1ULL << (l->name_hash & 63);
    }
    i = j;
  }
  return 0;
}

static void scratch_reset(prom_store *s) {
  s->names.len = 0;
  s->vals.len = 0;
  s->lbuf.len = 0;
}

/* ---- contexts (resource + scope labels) --------------------------------------------------------------------------- */

static void ctx_release(prom_store *s, prom_ctx *c) {
  if (!c || --c->refs) return;
  table_remove(&s->ctx_tab, c->hash, c);
  s->bytes -= sizeof *c + c->len + c->names_len;
  free(c);
}

static bool attr_is(const pb_kv *kv, const char *key) { return kv && kv->key && strcmp(kv->key, key) == 0; }

/* job and instance of a resource, appended to s->tmp; offsets returned. */
typedef struct job_instance {
  size_t job_off, job_len, inst_off, inst_len;
} job_instance;

static job_instance resource_job_instance(prom_store *s, const Opentelemetry__Proto__Resource__V1__Resource *res) {
  job_instance ji = {0};
  const pb_any *name = NULL, *ns = NULL, *inst = NULL;
  for (size_t i = 0; res && i < res->n_attributes; i++) {
    const pb_kv *kv = res->attributes[i];
    if (attr_is(kv, "service.name")) name = kv->value;
    else if (attr_is(kv, "service.namespace")) ns = kv->value;
    else if (attr_is(kv, "service.instance.id")) inst = kv->value;
  }
  ji.job_off = s->tmp.len;
  if (name) {
    size_t b = s->tmp.len;
    any_text(&s->tmp, ns, 0);
    if (s->tmp.len > b) wire_buf_append(&s->tmp, "/", 1, NULL);
    any_text(&s->tmp, name, 0);
  }
  ji.job_len = s->tmp.len - ji.job_off;
  ji.inst_off = s->tmp.len;
  any_text(&s->tmp, inst, 0);
  ji.inst_len = s->tmp.len - ji.inst_off;
  return ji;
}

/* The context of one (resource, scope): renders its labels and finds or creates the shared object. The caller holds
 * one reference (released with ctx_release). NULL when out of memory or too long. */
static prom_ctx *ctx_get(prom_store *s, const Opentelemetry__Proto__Resource__V1__Resource *res,
                         const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope, const job_instance *ji) {
  scratch_reset(s);
  size_t n = 0;
  const char *tmp = (const char *)s->tmp.data;
  if (ji->job_len) n = lbl_add(s, n, NULL, "job", 3, NULL, tmp + ji->job_off, ji->job_len, 0);
  if (ji->inst_len) n = lbl_add(s, n, NULL, "instance", 8, NULL, tmp + ji->inst_off, ji->inst_len, 0);
  if (scope && !s->no_scope_labels) {
    const char *sn = str_or_empty(scope->name), *sv = str_or_empty(scope->version);
    n = lbl_add(s, n, NULL, "otel_scope_name", 15, NULL, sn, strlen(sn), 1);
    n = lbl_add(s, n, NULL, "otel_scope_version", 18, NULL, sv, strlen(sv), 1);
    for (size_t i = 0; i < scope->n_attributes; i++) {
      const pb_kv *kv = scope->attributes[i];
      if (!kv || !kv->key) continue;
      n = lbl_add(s, n, "otel_scope_", kv->key, strlen(kv->key), kv->value, NULL, 0, 2);
    }
  }
  for (size_t i = 0; i < s->n_const; i++) {
    const prom_label_pair *p = &s->const_labels[i];
    n = lbl_add(s, n, NULL, p->name, strlen(p->name), NULL, p->value, strlen(p->value), 3);
  }
  if (s->r2t && res) {
    for (size_t i = 0; i < res->n_attributes; i++) {
      const pb_kv *kv = res->attributes[i];
      if (!kv || !kv->key) continue;
      n = lbl_add(s, n, NULL, kv->key, strlen(kv->key), kv->value, NULL, 0, 4);
    }
  }
  wire_buf names;
  wire_buf_init(&names, 0);
  uint64_t bloom = 0;
  s->lbuf.limit = RENDER_LIMIT_FACTOR * MAX_CONTEXT_LABEL_BYTES;
  int rc = lbl_render(s, n, NULL, RESERVED_LE | RESERVED_QUANTILE | RESERVED_NAME, &s->lbuf, &names, &bloom);
  s->lbuf.limit = SIZE_MAX;
  if (rc < 0 || s->lbuf.len > MAX_CONTEXT_LABEL_BYTES) {
    wire_buf_free(&names);
    return NULL;
  }
  uint64_t h = XXH3_64bits_withSeed(s->lbuf.data, s->lbuf.len, s->secret);
  for (size_t i = h & s->ctx_tab.mask; s->ctx_tab.s[i].p; i = (i + 1) & s->ctx_tab.mask) {
    prom_ctx *c = s->ctx_tab.s[i].p;
    if (s->ctx_tab.s[i].hash == h && c->len == s->lbuf.len && memcmp(c->labels, s->lbuf.data, c->len) == 0) {
      wire_buf_free(&names);
      c->refs++;
      return c;
    }
  }
  prom_ctx *c = malloc(sizeof *c + s->lbuf.len + names.len + 1);
  if (!c) {
    wire_buf_free(&names);
    return NULL;
  }
  c->hash = h;
  c->bloom = bloom;
  c->refs = 1;
  c->len = (uint32_t)s->lbuf.len;
  c->names_len = (uint32_t)names.len;
  if (s->lbuf.len) memcpy(c->labels, s->lbuf.data, s->lbuf.len);
  c->names = c->labels + c->len;
  if (names.len) memcpy(c->names, names.data, names.len);
  c->names[names.len] = 0;
  wire_buf_free(&names);
  if (table_insert(&s->ctx_tab, h, c) < 0) {
    free(c);
    return NULL;
  }
  s->bytes += sizeof *c + c->len + c->names_len;
  return c;
}

/* ---- families ----------------------------------------------------------------------------------------------------- */

static const char *fam_type_name(uint8_t t) {
  switch (t) {
  case FT_COUNTER: return "counter";
  case FT_HISTOGRAM: return "histogram";
  case FT_SUMMARY: return "summary";
  default: return "gauge";
  }
}

static prom_family *family_find(prom_store *s, const char *name, size_t len, uint64_t h) {
  for (size_t i = h & s->fam_tab.mask; s->fam_tab.s[i].p; i = (i + 1) & s->fam_tab.mask) {
    prom_family *f = s->fam_tab.s[i].p;
    if (s->fam_tab.s[i].hash == h && strlen(f->name) == len && memcmp(f->name, name, len) == 0) return f;
  }
  return NULL;
}

static void family_free(prom_family *f) {
  if (!f) return;
  free(f->name);
  free(f->om_name);
  free(f->help);
  free(f->unit);
  free(f->series);
  free(f);
}

static prom_family *family_new(prom_store *s, const char *name, size_t len, uint64_t h, uint8_t type,
                               const char *help, const char *unit_words, size_t unit_len) {
  prom_family *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->name = xstrdup(name, len);
  size_t om_len = len;
  if (type == FT_COUNTER && len > 6 && memcmp(name + len - 6, "_total", 6) == 0) om_len -= 6;
  f->om_name = xstrdup(name, om_len);
  f->help = xstrdup(help, strlen(help));
  /* OpenMetrics wants the unit as the family name's suffix; say it only when that holds */
  if (unit_len && om_len > unit_len + 1 && name[om_len - unit_len - 1] == '_' &&
      memcmp(name + om_len - unit_len, unit_words, unit_len) == 0)
    f->unit = xstrdup(unit_words, unit_len);
  f->seed = mix64(h ^ s->secret);
  f->type = type;
  f->sorted = true;
  if (!f->name || !f->om_name || !f->help) goto fail;
  if (s->n_fams == s->cap_fams) {
    size_t cap = s->cap_fams ? s->cap_fams * 2 : 64;
    prom_family **a = realloc(s->fams, cap * sizeof *a);
    if (!a) goto fail;
    s->fams = a;
    s->cap_fams = cap;
  }
  if (table_insert(&s->fam_tab, h, f) < 0) goto fail;
  s->fams[s->n_fams++] = f;
  s->fams_sorted = false;
  s->bytes += sizeof *f + 2 * len + strlen(help) + unit_len + 3;
  return f;
fail:
  family_free(f);
  return NULL;
}

static void fcache_clear(prom_store *s) {
  for (size_t i = 0; i <= s->fcache.mask; i++) {
    fam_key *k = s->fcache.s[i].p;
    if (!k) continue;
    s->bytes -= sizeof *k + k->name_len + k->unit_len;
    free(k);
    s->fcache.s[i].p = NULL;
  }
  s->fcache.n = 0;
}

static uint8_t fam_type_of(otlp_kind k) {
  switch (k) {
  case OK_COUNTER: return FT_COUNTER;
  case OK_HIST:
  case OK_EXP: return FT_HISTOGRAM;
  case OK_SUMMARY: return FT_SUMMARY;
  default: return FT_GAUGE;
  }
}

static prom_name_kind name_kind_of(otlp_kind k) {
  switch (k) {
  case OK_GAUGE: return PROM_NAME_GAUGE;
  case OK_UPDOWN: return PROM_NAME_UPDOWN;
  case OK_COUNTER: return PROM_NAME_COUNTER;
  case OK_SUMMARY: return PROM_NAME_SUMMARY;
  default: return PROM_NAME_HISTOGRAM;
  }
}

/* The family for an OTLP metric, through the cache. NULL when its points must be dropped; *conflict tells why. */
static prom_family *family_for(prom_store *s, const pb_metric *m, otlp_kind okind, bool *conflict) {
  const char *name = str_or_empty(m->name), *unit = str_or_empty(m->unit);
  size_t nl = strlen(name), ul = strlen(unit);
  uint64_t h = XXH3_64bits_withSeed(name, nl, s->secret ^ okind) ^ mix64(XXH3_64bits(unit, ul) + okind);
  for (size_t i = h & s->fcache.mask; s->fcache.s[i].p; i = (i + 1) & s->fcache.mask) {
    fam_key *k = s->fcache.s[i].p;
    if (s->fcache.s[i].hash == h && k->okind == okind && k->name_len == nl && k->unit_len == ul &&
        memcmp(k->s, name, nl) == 0 && memcmp(k->s + nl, unit, ul) == 0) {
      *conflict = k->conflict;
      return k->fam;
    }
  }
  if (s->fcache.n >= FAMILY_CACHE_MAX) fcache_clear(s);

  uint8_t type = fam_type_of(okind);
  prom_family *fam = NULL;
  bool is_conflict = false;
  s->tmp.len = 0;
  size_t pl = prom_metric_name(&s->tmp, name, unit, name_kind_of(okind), s->ns, s->add_suffixes);
  if (pl) {
    const char *pname = (const char *)s->tmp.data;
    uint64_t fh = XXH3_64bits(pname, pl);
    fam = family_find(s, pname, pl, fh);
    if (fam && fam->type != type) {
      fam = NULL;
      is_conflict = true;
    } else if (fam) {
      if (!fam->help[0] && m->description && m->description[0]) {
        char *help = xstrdup(m->description, strlen(m->description));
        if (help) free(fam->help), fam->help = help;
      }
    } else {
      /* unit words for the OpenMetrics UNIT line, after the name in tmp */
      size_t uoff = s->tmp.len;
      size_t uwl = 0;
      if (okind == OK_GAUGE && strcmp(unit, "1") == 0) uwl = wire_buf_append_str(&s->tmp, "ratio", NULL) == 0 ? 5 : 0;
      else uwl = prom_unit_words(&s->tmp, unit);
      wire_buf_append(&s->tmp, "", 1, NULL);
      pname = (const char *)s->tmp.data; /* tmp may have moved */
      fam = family_new(s, pname, pl, fh, type, str_or_empty(m->description), pname + uoff, uwl);
    }
  }
  fam_key *k = malloc(sizeof *k + nl + ul);
  if (k) {
    k->fam = fam;
    k->conflict = is_conflict;
    k->okind = (uint8_t)okind;
    k->name_len = (uint32_t)nl;
    k->unit_len = (uint32_t)ul;
    memcpy(k->s, name, nl);
    memcpy(k->s + nl, unit, ul);
    if (table_insert(&s->fcache, h, k) < 0) free(k);
    else s->bytes += sizeof *k + nl + ul;
  }
  *conflict = is_conflict;
  return fam;
}

/* ---- series ------------------------------------------------------------------------------------------------------- */

static inline uint64_t series_hash(const prom_store *s, const prom_family *f, const prom_ctx *c, const void *labels,
                                   size_t len) {
  (void)s;
  return XXH3_64bits_withSeed(labels, len, f->seed ^ (c ? c->hash : 0));
}

static void bounds_free(bounds *b) {
  free(b->le_text[0]);
  free(b->le_text[1]);
  free(b);
}

static void bounds_release(prom_store *s, bounds *b) {
  if (!b || --b->refs) return;
  table_remove(&s->bounds_tab, b->hash, b);
  s->bytes -= sizeof *b + b->n * sizeof(double);
  bounds_free(b);
}

/* The formatted le values of a bounds array, each as <len byte><text>, made once per format. */
static const char *bounds_le_text(bounds *b, bool om) {
  char **cached = &b->le_text[om];
  if (*cached || b->n == 0) return *cached;
  char *t = malloc((size_t)b->n * (PROM_NUM_MAX + 1));
  if (!t) return NULL;
  char *p = t;
  for (uint32_t i = 0; i < b->n; i++) {
    size_t n = om ? prom_fmt_float_om(p + 1, b->b[i]) : prom_fmt_float_go(p + 1, b->b[i]);
    *p = (char)n;
    p += 1 + n;
  }
  return *cached = t;
}

static void payload_free(prom_store *s, prom_series *se) {
  if (!se->payload) return;
  switch (se->kind) {
  case SK_HIST: {
    hist_data *h = se->payload;
    s->bytes -= sizeof *h + (h->bounds->n + 1) * sizeof(uint64_t);
    bounds_release(s, h->bounds);
    free(h->ex);
    break;
  }
  case SK_EXP: {
    exp_data *e = se->payload;
    s->bytes -= sizeof *e + (e->n_pos + e->n_neg) * sizeof(uint64_t);
    free(e->ex);
    break;
  }
  case SK_SUMMARY: {
    summary_data *q = se->payload;
    s->bytes -= sizeof *q + q->n * sizeof(quantile_value);
    break;
  }
  case SK_TARGET: {
    target_data *t = se->payload;
    s->bytes -= sizeof *t + t->key_len;
    break;
  }
  default:
    s->bytes -= sizeof(prom_exemplar);
    break;
  }
  free(se->payload);
  se->payload = NULL;
}

static void family_remove(prom_store *s, prom_family *f) {
  table_remove(&s->fam_tab, XXH3_64bits(f->name, strlen(f->name)), f);
  for (size_t i = 0; i < s->n_fams; i++) {
    if (s->fams[i] == f) {
      s->fams[i] = s->fams[--s->n_fams];
      s->fams_sorted = false;
      break;
    }
  }
  if (s->target_fam == f) s->target_fam = NULL;
  s->bytes -= sizeof *f + 2 * strlen(f->name) + strlen(f->help) + (f->unit ? strlen(f->unit) : 0) + 3;
  s->bytes -= f->cap * sizeof(prom_series *);
  family_free(f);
}

/* Unlinks and frees a series. The family stays (the sweep removes empty families). */
static void series_remove(prom_store *s, prom_series *se) {
  prom_family *f = se->fam;
  if (se->kind == SK_TARGET) {
    target_data *t = se->payload;
    table_remove(&s->target_tab, t->key_hash, se);
  } else {
    table_remove(&s->series_tab, series_hash(s, f, se->ctx, se->labels, se->labels_len), se);
  }
  uint32_t idx = se->fam_idx;
  prom_series *last = f->series[--f->n];
  if (last != se) {
    f->series[idx] = last;
    last->fam_idx = idx;
    f->sorted = false;
  }
  payload_free(s, se);
  ctx_release(s, se->ctx);
  s->bytes -= sizeof *se + se->labels_len;
  s->n_series--;
  free(se);
}

static prom_series *series_new(prom_store *s, prom_family *f, prom_ctx *c, const void *labels, size_t len,
                               uint8_t kind) {
  if (s->n_series >= s->max_series) {
    s->st.dropped_limit++;
    return NULL;
  }
  if (f->n == f->cap) {
    uint32_t cap = f->cap ? f->cap * 2 : 8;
    prom_series **a = realloc(f->series, cap * sizeof *a);
    if (!a) return NULL;
    s->bytes += (cap - f->cap) * sizeof *a;
    f->series = a;
    f->cap = cap;
  }
  prom_series *se = malloc(sizeof *se + len);
  if (!se) return NULL;
  memset(se, 0, sizeof *se);
  se->fam = f;
  se->ctx = c;
  se->kind = kind;
  se->labels_len = (uint32_t)len;
  if (len) memcpy(se->labels, labels, len);
  se->fam_idx = f->n;
  f->series[f->n++] = se;
  if (f->n > 1) f->sorted = false;
  if (c) c->refs++;
  s->n_series++;
  s->bytes += sizeof *se + len;
  return se;
}

/* Finds the series of (fam, ctx, s->lbuf) or creates it with `kind`; *created says which. */
static prom_series *series_get(prom_store *s, prom_family *f, prom_ctx *c, uint8_t kind, bool *created) {
  const void *labels = s->lbuf.data;
  size_t len = s->lbuf.len;
  uint64_t h = series_hash(s, f, c, labels, len);
  table *t = &s->series_tab;
  for (size_t i = h & t->mask; t->s[i].p; i = (i + 1) & t->mask) {
    if (t->s[i].hash != h) continue;
    prom_series *se = t->s[i].p;
    if (se->fam == f && se->ctx == c && se->labels_len == len && memcmp(se->labels, labels, len) == 0) {
      *created = false;
      return se;
    }
  }
  prom_series *se = series_new(s, f, c, labels, len, kind);
  if (!se) return NULL;
  if (table_insert(t, h, se) < 0) {
    /* unlink again without the table */
    f->series[--f->n] = NULL;
    if (c) ctx_release(s, c);
    s->n_series--;
    s->bytes -= sizeof *se + len;
    free(se);
    return NULL;
  }
  *created = true;
  return se;
}

/* Looks the series up without creating it (NO_RECORDED_VALUE). */
static prom_series *series_find(prom_store *s, prom_family *f, prom_ctx *c) {
  uint64_t h = series_hash(s, f, c, s->lbuf.data, s->lbuf.len);
  table *t = &s->series_tab;
  for (size_t i = h & t->mask; t->s[i].p; i = (i + 1) & t->mask) {
    prom_series *se = t->s[i].p;
    if (t->s[i].hash == h && se->fam == f && se->ctx == c && se->labels_len == s->lbuf.len &&
        memcmp(se->labels, s->lbuf.data, s->lbuf.len) == 0)
      return se;
  }
  return NULL;
}

/* Renders a point's attributes into s->lbuf; false when they are too long (the point is invalid). */
static bool point_labels(prom_store *s, const prom_family *f, pb_kv *const *attrs, size_t n_attrs,
                         const prom_ctx *c) {
  scratch_reset(s);
  size_t n = 0;
  for (size_t i = 0; i < n_attrs; i++) {
    const pb_kv *kv = attrs[i];
    if (!kv || !kv->key) continue;
    n = lbl_add(s, n, NULL, kv->key, strlen(kv->key), kv->value, NULL, 0, 0);
  }
  s->lbuf.limit = RENDER_LIMIT_FACTOR * MAX_POINT_LABEL_BYTES;
  unsigned reserved = RESERVED_NAME | (f->type == FT_HISTOGRAM ? RESERVED_LE : 0) |
                      (f->type == FT_SUMMARY ? RESERVED_QUANTILE : 0);
  int rc = lbl_render(s, n, c, reserved, &s->lbuf, NULL, NULL);
  s->lbuf.limit = SIZE_MAX;
  return rc == 0 && s->lbuf.len <= MAX_POINT_LABEL_BYTES;
}

/* ---- exemplars ---------------------------------------------------------------------------------------------------- */

static void exemplar_from_pb(prom_exemplar *e, const pb_exemplar *p) {
  memset(e, 0, sizeof *e);
  e->value = p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT ? (double)p->as_int
                                                                                         : p->as_double;
  e->time_ns = p->time_unix_nano;
  if (p->trace_id.len == 16) {
    memcpy(e->trace_id, p->trace_id.data, 16);
    e->has_trace = 1;
  }
  if (p->span_id.len == 8) {
    memcpy(e->span_id, p->span_id.data, 8);
    e->has_span = 1;
  }
}

/* The point's last exemplars (at most MAX_EXEMPLARS), or NULL. Only kept when OpenMetrics is enabled. */
static exemplar_list *exemplars_take(prom_store *s, pb_exemplar *const *ex, size_t n) {
  if (!s->open_metrics || n == 0) return NULL;
  size_t from = n > MAX_EXEMPLARS ? n - MAX_EXEMPLARS : 0;
  exemplar_list *l = malloc(sizeof *l + (n - from) * sizeof(prom_exemplar));
  if (!l) return NULL;
  l->n = 0;
  for (size_t i = from; i < n; i++)
    if (ex[i]) exemplar_from_pb(&l->e[l->n++], ex[i]);
  return l;
}

/* ---- point consumption -------------------------------------------------------------------------------------------- */

/* What to do with a new point given the stored one: store (replace), add (delta accumulation) or drop (stale). */
typedef enum point_action { PA_REPLACE, PA_ADD, PA_DROP } point_action;

static point_action decide(const prom_series *se, uint64_t start, uint64_t time, bool delta) {
  if (time && se->time_ns && time < se->time_ns) return PA_DROP;
  if (!delta) return PA_REPLACE;
  if (start == 0 || start == se->time_ns) return PA_ADD;
  if (start > se->time_ns) return PA_REPLACE; /* a restart: the series begins again */
  return PA_DROP;                             /* overlaps what was already counted */
}

/* A point flagged NO_RECORDED_VALUE is a staleness marker: its series goes away (Prometheus then stops seeing
 * it). Counted as accepted. */
static void stale_marker(prom_store *s, prom_family *f, prom_ctx *c, prom_consume_result *res) {
  prom_series *se = series_find(s, f, c);
  if (se) series_remove(s, se);
  res->accepted++;
}

/* The series a point of `kind` lands in, and what to do with the point (*act: replace or add for delta
 * points); NULL (the drop counted) when the series cannot be had or the point is older than what it holds. */
static prom_series *point_series(prom_store *s, prom_family *f, prom_ctx *c, series_kind kind, uint64_t start_ns,
                                 uint64_t time_ns, bool delta, prom_consume_result *res, point_action *act,
                                 bool *created) {
  prom_series *se = series_get(s, f, c, kind, created);
  if (!se) {
    res->dropped++;
    return NULL;
  }
  *act = *created ? PA_REPLACE : decide(se, start_ns, time_ns, delta);
  if (*act == PA_DROP) {
    s->st.dropped_stale++, res->dropped++;
    return NULL;
  }
  return se;
}

static void consume_number(prom_store *s, prom_family *f, prom_ctx *c, const pb_number *dp, bool delta,
                           prom_consume_result *res) {
  if (!point_labels(s, f, dp->attributes, dp->n_attributes, c)) {
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  if (dp->flags & FLAG_NO_RECORDED_VALUE) return stale_marker(s, f, c, res);
  bool is_int;
  if (dp->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) is_int = true;
  else if (dp->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) is_int = false;
  else {
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  bool created;
  point_action act;
  prom_series *se = point_series(s, f, c, SK_NUMBER, dp->start_time_unix_nano, dp->time_unix_nano, delta, res, &act,
                                 &created);
  if (!se) return;
  if (se->kind != SK_NUMBER) {
    payload_free(s, se);
    se->kind = SK_NUMBER;
    act = PA_REPLACE;
  }
  if (act == PA_ADD) {
    int64_t sum;
    if (is_int && se->is_int && !__builtin_add_overflow(se->v.i, dp->as_int, &sum)) {
      se->v.i = sum;
    } else {
      double prev = se->is_int ? (double)se->v.i : se->v.d;
      se->v.d = prev + (is_int ? (double)dp->as_int : dp->as_double);
      se->is_int = 0;
    }
  } else {
    if (is_int) se->v.i = dp->as_int;
    else se->v.d = dp->as_double;
    se->is_int = is_int;
    se->start_ns = dp->start_time_unix_nano;
  }
  se->time_ns = dp->time_unix_nano;
  se->touched_ms = s->now_ms;
  /* exemplars: counters only, the point's last one */
  if (f->type == FT_COUNTER && s->open_metrics) {
    if (dp->n_exemplars && dp->exemplars[dp->n_exemplars - 1]) {
      if (!se->payload) {
        se->payload = malloc(sizeof(prom_exemplar));
        if (se->payload) s->bytes += sizeof(prom_exemplar);
      }
      if (se->payload) exemplar_from_pb(se->payload, dp->exemplars[dp->n_exemplars - 1]);
    } else if (se->payload) {
      payload_free(s, se);
    }
  }
  res->accepted++;
}

static bounds *bounds_get(prom_store *s, const double *b, size_t n) {
  uint64_t h = XXH3_64bits(b, n * sizeof(double));
  for (size_t i = h & s->bounds_tab.mask; s->bounds_tab.s[i].p; i = (i + 1) & s->bounds_tab.mask) {
    bounds *x = s->bounds_tab.s[i].p;
    if (s->bounds_tab.s[i].hash == h && x->n == n && (n == 0 || memcmp(x->b, b, n * sizeof(double)) == 0)) {
      x->refs++;
      return x;
    }
  }
  bounds *x = malloc(sizeof *x + n * sizeof(double));
  if (!x) return NULL;
  x->hash = h;
  x->refs = 1;
  x->n = (uint32_t)n;
  x->le_text[0] = x->le_text[1] = NULL;
  if (n) memcpy(x->b, b, n * sizeof(double));
  if (table_insert(&s->bounds_tab, h, x) < 0) {
    free(x);
    return NULL;
  }
  s->bytes += sizeof *x + n * sizeof(double);
  return x;
}

static bool hist_point_valid(const pb_hist *dp) {
  if (dp->n_explicit_bounds > MAX_EXPLICIT_BOUNDS) return false;
  if (dp->n_bucket_counts == 0) return dp->n_explicit_bounds == 0;
  if (dp->n_bucket_counts != dp->n_explicit_bounds + 1) return false;
  for (size_t i = 0; i < dp->n_explicit_bounds; i++) {
    double b = dp->explicit_bounds[i];
    if (isnan(b) || isinf(b)) return false;
    if (i && !(b > dp->explicit_bounds[i - 1])) return false;
  }
  return true;
}

static void consume_hist(prom_store *s, prom_family *f, prom_ctx *c, const pb_hist *dp, bool delta,
                         prom_consume_result *res) {
  if (!point_labels(s, f, dp->attributes, dp->n_attributes, c) || !hist_point_valid(dp)) {
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  if (dp->flags & FLAG_NO_RECORDED_VALUE) return stale_marker(s, f, c, res);
  bool created;
  point_action act;
  prom_series *se = point_series(s, f, c, SK_HIST, dp->start_time_unix_nano, dp->time_unix_nano, delta, res, &act,
                                 &created);
  if (!se) return;
  size_t nb = dp->n_explicit_bounds;
  hist_data *h = se->kind == SK_HIST ? se->payload : NULL;
  if (act == PA_ADD && h && h->bounds->n == nb &&
      (nb == 0 || memcmp(h->bounds->b, dp->explicit_bounds, nb * sizeof(double)) == 0)) {
    h->count += dp->count;
    h->sum += dp->sum_present_case ? dp->sum : 0;
    for (size_t i = 0; i < dp->n_bucket_counts; i++) h->counts[i] += dp->bucket_counts[i];
  } else {
    if (!h || h->bounds->n != nb || (nb && memcmp(h->bounds->b, dp->explicit_bounds, nb * sizeof(double)) != 0)) {
      bounds *b = bounds_get(s, dp->explicit_bounds, nb);
      hist_data *nh = b ? malloc(sizeof *nh + (nb + 1) * sizeof(uint64_t)) : NULL;
      if (!nh) {
        bounds_release(s, b);
        if (created) series_remove(s, se);
        res->dropped++;
        return;
      }
      payload_free(s, se);
      se->kind = SK_HIST;
      nh->bounds = b;
      nh->ex = NULL;
      se->payload = h = nh;
      s->bytes += sizeof *nh + (nb + 1) * sizeof(uint64_t);
    }
    h->count = dp->count;
    h->sum = dp->sum_present_case ? dp->sum : 0;
    if (dp->n_bucket_counts) memcpy(h->counts, dp->bucket_counts, (nb + 1) * sizeof(uint64_t));
    else h->counts[0] = dp->count;
    se->start_ns = dp->start_time_unix_nano;
  }
  se->time_ns = dp->time_unix_nano;
  se->touched_ms = s->now_ms;
  if (s->open_metrics) {
    free(h->ex);
    h->ex = exemplars_take(s, dp->exemplars, dp->n_exemplars);
  }
  res->accepted++;
}

/* ---- exponential histograms ---------------------------------------------------------------------------------------- */

typedef struct exp_side {
  int64_t off;
  size_t n;
  const uint64_t *c;
} exp_side;

typedef struct exp_view {
  int32_t scale;
  exp_side pos, neg;
} exp_view;

static int64_t floor_shift(int64_t i, int shift) {
  if (shift <= 0) return i;
  if (shift >= 63) return i < 0 ? -1 : 0;
  return i >= 0 ? i >> shift : -((-i + ((int64_t)1 << shift) - 1) >> shift);
}

/* Union range of one side over all views at `scale`; false when every view's side is empty. */
static bool side_range(const exp_view *v, size_t nv, bool pos, int32_t scale, int64_t *lo, int64_t *hi) {
  bool any = false;
  for (size_t i = 0; i < nv; i++) {
    const exp_side *sd = pos ? &v[i].pos : &v[i].neg;
    if (!sd->n) continue;
    int sh = v[i].scale - scale;
    int64_t a = floor_shift(sd->off, sh), b = floor_shift(sd->off + (int64_t)sd->n - 1, sh);
    if (!any || a < *lo) *lo = a;
    if (!any || b > *hi) *hi = b;
    any = true;
  }
  return any;
}

/* Combines views (one to normalise a point, two to merge a delta) into a new exp_data at the largest common scale
 * that keeps each side within EXP_MAX_BUCKETS. NULL when no valid scale exists or memory is short. */
static exp_data *exp_build(prom_store *s, const exp_view *v, size_t nv) {
  int32_t scale = v[0].scale;
  for (size_t i = 1; i < nv; i++)
    if (v[i].scale < scale) scale = v[i].scale;
  int64_t plo = 0, phi = -1, nlo = 0, nhi = -1;
  for (;; scale--) {
    if (scale < EXP_MIN_SCALE) return NULL;
    bool hp = side_range(v, nv, true, scale, &plo, &phi);
    bool hn = side_range(v, nv, false, scale, &nlo, &nhi);
    if (!hp) plo = 0, phi = -1;
    if (!hn) nlo = 0, nhi = -1;
    if (phi - plo + 1 <= EXP_MAX_BUCKETS && nhi - nlo + 1 <= EXP_MAX_BUCKETS) break;
  }
  if (plo < INT32_MIN || phi > INT32_MAX || nlo < INT32_MIN || nhi > INT32_MAX) return NULL;
  size_t np = (size_t)(phi - plo + 1), nn = (size_t)(nhi - nlo + 1);
  exp_data *e = calloc(1, sizeof *e + (np + nn) * sizeof(uint64_t));
  if (!e) return NULL;
  e->scale = scale;
  e->pos_off = (int32_t)plo;
  e->neg_off = (int32_t)nlo;
  e->n_pos = (uint32_t)np;
  e->n_neg = (uint32_t)nn;
  for (size_t i = 0; i < nv; i++) {
    int sh = v[i].scale - scale;
    for (size_t k = 0; k < v[i].neg.n; k++) e->counts[floor_shift(v[i].neg.off + (int64_t)k, sh) - nlo] += v[i].neg.c[k];
    for (size_t k = 0; k < v[i].pos.n; k++)
      e->counts[nn + (size_t)(floor_shift(v[i].pos.off + (int64_t)k, sh) - plo)] += v[i].pos.c[k];
  }
  s->bytes += sizeof *e + (np + nn) * sizeof(uint64_t);
  return e;
}

static exp_side side_of(const pb_exp_buckets *b) {
  exp_side sd = {0, 0, NULL};
  if (b && b->n_bucket_counts) {
    sd.off = b->offset;
    sd.n = b->n_bucket_counts;
    sd.c = b->bucket_counts;
  }
  return sd;
}

static void consume_exp(prom_store *s, prom_family *f, prom_ctx *c, const pb_exp *dp, bool delta,
                        prom_consume_result *res) {
  if (!point_labels(s, f, dp->attributes, dp->n_attributes, c) || dp->scale < EXP_MIN_SCALE ||
      dp->scale > EXP_MAX_SCALE) {
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  if (dp->flags & FLAG_NO_RECORDED_VALUE) return stale_marker(s, f, c, res);
  bool created;
  point_action act;
  prom_series *se = point_series(s, f, c, SK_EXP, dp->start_time_unix_nano, dp->time_unix_nano, delta, res, &act,
                                 &created);
  if (!se) return;
  exp_view views[2];
  size_t nv = 0;
  exp_data *old = se->kind == SK_EXP ? se->payload : NULL;
  if (act == PA_ADD && old) {
    views[nv++] = (exp_view){old->scale, {old->pos_off, old->n_pos, old->counts + old->n_neg},
                             {old->neg_off, old->n_neg, old->counts}};
  }
  views[nv++] = (exp_view){dp->scale, side_of(dp->positive), side_of(dp->negative)};
  exp_data *e = exp_build(s, views, nv);
  if (!e) {
    if (created) series_remove(s, se);
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  double zt = isnan(dp->zero_threshold) || dp->zero_threshold < 0 ? 0 : dp->zero_threshold;
  double sum = dp->sum_present_case ? dp->sum : 0;
  if (nv == 2) {
    e->count = old->count + dp->count;
    e->zero_count = old->zero_count + dp->zero_count;
    e->sum = old->sum + sum;
    e->zero_threshold = old->zero_threshold > zt ? old->zero_threshold : zt;
  } else {
    e->count = dp->count;
    e->zero_count = dp->zero_count;
    e->sum = sum;
    e->zero_threshold = zt;
    se->start_ns = dp->start_time_unix_nano;
  }
  payload_free(s, se);
  se->kind = SK_EXP;
  se->payload = e;
  e->ex = exemplars_take(s, dp->exemplars, dp->n_exemplars);
  se->time_ns = dp->time_unix_nano;
  se->touched_ms = s->now_ms;
  res->accepted++;
}

static int qv_cmp(const void *a, const void *b) {
  double x = ((const quantile_value *)a)->q, y = ((const quantile_value *)b)->q;
  return x < y ? -1 : x > y;
}

static void consume_summary(prom_store *s, prom_family *f, prom_ctx *c, const pb_summary *dp,
                            prom_consume_result *res) {
  if (!point_labels(s, f, dp->attributes, dp->n_attributes, c) || dp->n_quantile_values > MAX_EXPLICIT_BOUNDS) {
    s->st.dropped_invalid++, res->dropped++;
    return;
  }
  if (dp->flags & FLAG_NO_RECORDED_VALUE) return stale_marker(s, f, c, res);
  bool created;
  point_action act;
  prom_series *se = point_series(s, f, c, SK_SUMMARY, dp->start_time_unix_nano, dp->time_unix_nano, false, res,
                                 &act, &created);
  if (!se) return;
  size_t n = 0;
  for (size_t i = 0; i < dp->n_quantile_values; i++) {
    const Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q = dp->quantile_values[i];
    if (q && q->quantile >= 0 && q->quantile <= 1) n++;
  }
  summary_data *q = se->kind == SK_SUMMARY ? se->payload : NULL;
  if (!q || q->n != n) {
    summary_data *nq = malloc(sizeof *nq + n * sizeof(quantile_value));
    if (!nq) {
      if (created) series_remove(s, se);
      res->dropped++;
      return;
    }
    payload_free(s, se);
    se->kind = SK_SUMMARY;
    se->payload = q = nq;
    q->n = (uint32_t)n;
    s->bytes += sizeof *nq + n * sizeof(quantile_value);
  }
  n = 0;
  for (size_t i = 0; i < dp->n_quantile_values; i++) {
    const Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *v = dp->quantile_values[i];
    if (v && v->quantile >= 0 && v->quantile <= 1) q->qv[n++] = (quantile_value){v->quantile, v->value};
  }
  qsort(q->qv, n, sizeof(quantile_value), qv_cmp);
  q->count = dp->count;
  q->sum = dp->sum;
  se->start_ns = dp->start_time_unix_nano;
  se->time_ns = dp->time_unix_nano;
  se->touched_ms = s->now_ms;
  res->accepted++;
}

static void consume_metric(prom_store *s, const pb_metric *m, prom_ctx *c, prom_consume_result *res) {
  size_t npts = (size_t)wire_otlp_metric_points(m);
  if (!npts) return;
  otlp_kind okind;
  int temporality = TEMPORALITY_CUMULATIVE;
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: okind = OK_GAUGE; break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    temporality = m->sum->aggregation_temporality;
    okind = m->sum->is_monotonic ? OK_COUNTER : OK_UPDOWN;
    if (okind == OK_UPDOWN && temporality == TEMPORALITY_DELTA) temporality = -1; /* as the Collector: dropped */
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    temporality = m->histogram->aggregation_temporality;
    okind = OK_HIST;
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    temporality = m->exponential_histogram->aggregation_temporality;
    okind = OK_EXP;
    break;
  default: okind = OK_SUMMARY; break;
  }
  if (temporality != TEMPORALITY_DELTA && temporality != TEMPORALITY_CUMULATIVE) {
    s->st.dropped_unsupported += npts;
    res->dropped += npts;
    return;
  }
  bool conflict;
  prom_family *f = family_for(s, m, okind, &conflict);
  if (!f) {
    if (conflict) s->st.dropped_conflict += npts;
    else s->st.dropped_invalid += npts;
    res->dropped += npts;
    return;
  }
  bool delta = temporality == TEMPORALITY_DELTA;
  for (size_t i = 0; i < npts; i++) {
    switch (okind) {
    case OK_GAUGE:
      if (m->gauge->data_points[i]) consume_number(s, f, c, m->gauge->data_points[i], false, res);
      break;
    case OK_COUNTER:
    case OK_UPDOWN:
      if (m->sum->data_points[i]) consume_number(s, f, c, m->sum->data_points[i], delta, res);
      break;
    case OK_HIST:
      if (m->histogram->data_points[i]) consume_hist(s, f, c, m->histogram->data_points[i], delta, res);
      break;
    case OK_EXP:
      if (m->exponential_histogram->data_points[i])
        consume_exp(s, f, c, m->exponential_histogram->data_points[i], delta, res);
      break;
    case OK_SUMMARY:
      if (m->summary->data_points[i]) consume_summary(s, f, c, m->summary->data_points[i], res);
      break;
    }
  }
}

/* ---- target_info --------------------------------------------------------------------------------------------------- */

static prom_family *target_family(prom_store *s) {
  if (s->target_fam) return s->target_fam;
  wire_buf name;
  wire_buf_init(&name, 0);
  if (s->ns && *s->ns) prom_metric_name(&name, "target_info", "", PROM_NAME_UPDOWN, s->ns, false);
  else wire_buf_append_str(&name, "target_info", NULL);
  prom_family *f = NULL;
  if (name.len) {
    uint64_t h = XXH3_64bits(name.data, name.len);
    f = family_find(s, (const char *)name.data, name.len, h);
    if (f) f = f->type == FT_TARGET ? f : NULL; /* a user gauge took the name first */
    else f = family_new(s, (const char *)name.data, name.len, h, FT_TARGET, "Target metadata", NULL, 0);
  }
  wire_buf_free(&name);
  return s->target_fam = f;
}

/* Keeps one target_info series per (job, instance) with the resource's other attributes as labels. */
static void target_update(prom_store *s, const Opentelemetry__Proto__Resource__V1__Resource *res,
                          const job_instance *ji) {
  if (!res || res->n_attributes == 0) return;
  prom_family *f = target_family(s);
  if (!f) return;
  scratch_reset(s);
  size_t n = 0;
  const char *tmp = (const char *)s->tmp.data;
  if (ji->job_len) n = lbl_add(s, n, NULL, "job", 3, NULL, tmp + ji->job_off, ji->job_len, 0);
  if (ji->inst_len) n = lbl_add(s, n, NULL, "instance", 8, NULL, tmp + ji->inst_off, ji->inst_len, 0);
  for (size_t i = 0; i < res->n_attributes; i++) {
    const pb_kv *kv = res->attributes[i];
    if (!kv || !kv->key || attr_is(kv, "service.name") || attr_is(kv, "service.namespace") ||
        attr_is(kv, "service.instance.id"))
      continue;
    n = lbl_add(s, n, NULL, kv->key, strlen(kv->key), kv->value, NULL, 0, 1);
  }
  s->lbuf.limit = RENDER_LIMIT_FACTOR * MAX_CONTEXT_LABEL_BYTES;
  int rc = lbl_render(s, n, NULL, RESERVED_NAME, &s->lbuf, NULL, NULL);
  s->lbuf.limit = SIZE_MAX;
  if (rc < 0 || s->lbuf.len > MAX_CONTEXT_LABEL_BYTES) return;
  /* key: job NUL instance */
  size_t klen = ji->job_len + 1 + ji->inst_len;
  uint64_t kh = XXH3_64bits_withSeed(tmp + ji->job_off, ji->job_len, s->secret) ^
                mix64(XXH3_64bits(tmp + ji->inst_off, ji->inst_len) + 1);
  prom_series *found = NULL;
  for (size_t i = kh & s->target_tab.mask; s->target_tab.s[i].p; i = (i + 1) & s->target_tab.mask) {
    prom_series *se = s->target_tab.s[i].p;
    target_data *t = se->payload;
    if (s->target_tab.s[i].hash == kh && t->key_len == klen &&
        memcmp(t->key, tmp + ji->job_off, ji->job_len) == 0 &&
        memcmp(t->key + ji->job_len + 1, tmp + ji->inst_off, ji->inst_len) == 0) {
      found = se;
      break;
    }
  }
  if (found && found->labels_len == s->lbuf.len && memcmp(found->labels, s->lbuf.data, s->lbuf.len) == 0) {
    found->touched_ms = s->now_ms;
    return;
  }
  if (found) series_remove(s, found); /* the attributes changed: replace */
  target_data *t = malloc(sizeof *t + klen);
  if (!t) return;
  prom_series *se = series_new(s, f, NULL, s->lbuf.data, s->lbuf.len, SK_TARGET);
  if (!se) {
    free(t);
    return;
  }
  t->key_hash = kh;
  t->key_len = (uint32_t)klen;
  memcpy(t->key, tmp + ji->job_off, ji->job_len);
  t->key[ji->job_len] = 0;
  memcpy(t->key + ji->job_len + 1, tmp + ji->inst_off, ji->inst_len);
  se->payload = t;
  s->bytes += sizeof *t + klen;
  se->v.i = 1;
  se->is_int = 1;
  se->touched_ms = s->now_ms;
  if (table_insert(&s->target_tab, kh, se) < 0) {
    /* keep the family consistent: remove via the normal path needs the table entry; emulate it */
    prom_family *fam = se->fam;
    fam->series[se->fam_idx] = fam->series[--fam->n];
    fam->series[se->fam_idx]->fam_idx = se->fam_idx;
    payload_free(s, se);
    s->bytes -= sizeof *se + se->labels_len;
    s->n_series--;
    free(se);
  }
}

/* ---- public: lifecycle ---------------------------------------------------------------------------------------------- */

void prom_store_config_init(prom_store_config *c) {
  memset(c, 0, sizeof *c);
  c->add_metric_suffixes = true;
  c->metric_expiration_ms = 5 * 60 * 1000;
}

prom_store *prom_store_new(const prom_store_config *c, wire_err *err) {
  prom_store *s = calloc(1, sizeof *s);
  if (!s) {
    wire_err_set(err, WIRE_E_NOMEM, "prometheus exporter: out of memory creating the series store");
    return NULL;
  }
  pthread_mutex_init(&s->mu, NULL);
  wire_buf_init(&s->names, 0);
  wire_buf_init(&s->vals, 0);
  wire_buf_init(&s->lbuf, 0);
  wire_buf_init(&s->tmp, 0);
  s->ns = c->metric_namespace && *c->metric_namespace ? xstrdup(c->metric_namespace, strlen(c->metric_namespace))
                                                      : NULL;
  s->add_suffixes = c->add_metric_suffixes;
  s->r2t = c->resource_to_telemetry_conversion;
  s->send_ts = c->send_timestamps;
  s->open_metrics = c->enable_open_metrics;
  s->no_scope_labels = c->without_scope_labels;
  s->om_created = c->om_created_samples;
  s->expiration_ms = c->metric_expiration_ms ? (int64_t)c->metric_expiration_ms : 5 * 60 * 1000;
  s->max_series = c->max_series ? c->max_series : 1000000;
  s->clock = default_clock;
  s->secret = mix64((uint64_t)wire_now_ns() ^ (uint64_t)(uintptr_t)s);
  /* scratch buffers always have memory: memcmp/memcpy on them never see NULL */
  if (wire_buf_reserve(&s->names, 1024, NULL) < 0 || wire_buf_reserve(&s->vals, 1024, NULL) < 0 ||
      wire_buf_reserve(&s->lbuf, 4096, NULL) < 0 || wire_buf_reserve(&s->tmp, 1024, NULL) < 0)
    goto nomem;
  if (table_init(&s->series_tab, 1024) < 0 || table_init(&s->fam_tab, 64) < 0 || table_init(&s->fcache, 64) < 0 ||
      table_init(&s->ctx_tab, 64) < 0 || table_init(&s->target_tab, 16) < 0 || table_init(&s->bounds_tab, 16) < 0)
    goto nomem;
  if (c->n_const_labels) {
    s->const_labels = calloc(c->n_const_labels, sizeof *s->const_labels);
    if (!s->const_labels) goto nomem;
    for (size_t i = 0; i < c->n_const_labels; i++) {
      const char *k = str_or_empty(c->const_labels[i].name), *v = str_or_empty(c->const_labels[i].value);
      char *name = malloc(strlen(k) + 5);
      if (!name) goto nomem;
      size_t nl = prom_label_name(name, k, strlen(k));
      if (!nl) {
        free(name);
        wire_err_set(err, WIRE_E_INVALID, "prometheus exporter: const_labels[%zu]: the name gives no valid label", i);
        prom_store_free(s);
        return NULL;
      }
      name[nl] = 0;
      if (strcmp(name, "le") == 0 || strcmp(name, "quantile") == 0 || strcmp(name, "__name__") == 0) {
        wire_err_set(err, WIRE_E_INVALID, "prometheus exporter: const_labels: \"%s\" is reserved", name);
        free(name);
        prom_store_free(s);
        return NULL;
      }
      s->const_labels[s->n_const].name = name;
      s->const_labels[s->n_const].value = xstrdup(v, strlen(v));
      s->n_const++;
      if (!s->const_labels[s->n_const - 1].value) goto nomem;
    }
  }
  return s;
nomem:
  wire_err_set(err, WIRE_E_NOMEM, "prometheus exporter: out of memory creating the series store");
  prom_store_free(s);
  return NULL;
}

void prom_store_free(prom_store *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_fams; i++) {
    prom_family *f = s->fams[i];
    for (uint32_t j = 0; j < f->n; j++) {
      prom_series *se = f->series[j];
      payload_free(s, se);
      free(se);
    }
    family_free(f);
  }
  free(s->fams);
  for (size_t i = 0; s->ctx_tab.s && i <= s->ctx_tab.mask; i++) free(s->ctx_tab.s[i].p);
  for (size_t i = 0; s->bounds_tab.s && i <= s->bounds_tab.mask; i++)
    if (s->bounds_tab.s[i].p) bounds_free(s->bounds_tab.s[i].p);
  if (s->fcache.s) fcache_clear(s);
  table_free(&s->series_tab);
  table_free(&s->fam_tab);
  table_free(&s->fcache);
  table_free(&s->ctx_tab);
  table_free(&s->target_tab);
  table_free(&s->bounds_tab);
  for (size_t i = 0; i < s->n_const; i++) {
    free((char *)s->const_labels[i].name);
    free((char *)s->const_labels[i].value);
  }
  free(s->const_labels);
  free(s->ns);
  wire_buf_free(&s->names);
  wire_buf_free(&s->vals);
  wire_buf_free(&s->lbuf);
  wire_buf_free(&s->tmp);
  free(s->lbls);
  free(s->r_le);
  free(s->r_cum);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

void prom_store_set_clock(prom_store *s, int64_t (*now_ms)(void *ud), void *ud) {
  pthread_mutex_lock(&s->mu);
  s->clock = now_ms ? now_ms : default_clock;
  s->clock_ud = ud;
  pthread_mutex_unlock(&s->mu);
}

/* ---- public: consume ---------------------------------------------------------------------------------------------- */

void prom_store_consume(prom_store *s, Opentelemetry__Proto__Metrics__V1__ResourceMetrics *const *rms, size_t n,
                        prom_consume_result *res) {
  prom_consume_result local = {0, 0};
  if (!res) res = &local;
  res->accepted = res->dropped = 0;
  pthread_mutex_lock(&s->mu);
  s->now_ms = s->clock(s->clock_ud);
  for (size_t i = 0; i < n; i++) {
    const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = rms[i];
    if (!rm) continue;
    s->tmp.len = 0;
    job_instance ji = resource_job_instance(s, rm->resource);
    target_update(s, rm->resource, &ji);
    for (size_t j = 0; j < rm->n_scope_metrics; j++) {
      const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
      if (!sm || !sm->n_metrics) continue;
      /* target_update and family_for reuse tmp: recompute job/instance for each scope */
      s->tmp.len = 0;
      ji = resource_job_instance(s, rm->resource);
      prom_ctx *c = ctx_get(s, rm->resource, sm->scope, &ji);
      if (!c) {
        for (size_t k = 0; k < sm->n_metrics; k++) {
          size_t np = sm->metrics[k] ? (size_t)wire_otlp_metric_points(sm->metrics[k]) : 0;
          s->st.dropped_invalid += np;
          res->dropped += np;
        }
        continue;
      }
      for (size_t k = 0; k < sm->n_metrics; k++)
        if (sm->metrics[k]) consume_metric(s, sm->metrics[k], c, res);
      ctx_release(s, c);
    }
  }
  pthread_mutex_unlock(&s->mu);
}

void prom_store_consume_request(prom_store *s,
                                const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req,
                                prom_consume_result *res) {
  prom_store_consume(s, req ? req->resource_metrics : NULL, req ? req->n_resource_metrics : 0, res);
}

/* ---- sweep ---------------------------------------------------------------------------------------------------------- */

static void sweep_locked(prom_store *s, int64_t now) {
  bool removed_family = false;
  for (size_t i = s->n_fams; i-- > 0;) {
    prom_family *f = s->fams[i];
    for (uint32_t j = f->n; j-- > 0;) {
      prom_series *se = f->series[j];
      if (now - se->touched_ms > s->expiration_ms) {
        series_remove(s, se);
        s->st.expired++;
      }
    }
    if (f->n == 0) {
      family_remove(s, f);
      removed_family = true;
    }
  }
  if (removed_family) fcache_clear(s);
}

void prom_store_sweep(prom_store *s) {
  pthread_mutex_lock(&s->mu);
  sweep_locked(s, s->clock(s->clock_ud));
  pthread_mutex_unlock(&s->mu);
}

void prom_store_get_stats(prom_store *s, prom_store_stats *st) {
  pthread_mutex_lock(&s->mu);
  *st = s->st;
  st->series = s->n_series;
  st->families = s->n_fams;
  st->bytes = s->bytes + (s->series_tab.mask + 1 + s->fam_tab.mask + 1 + s->fcache.mask + 1 + s->ctx_tab.mask + 1 +
                          s->target_tab.mask + 1 + s->bounds_tab.mask + 1) * sizeof(slot) +
              s->cap_fams * sizeof(prom_family *);
  pthread_mutex_unlock(&s->mu);
}

/* ---- rendering -------------------------------------------------------------------------------------------------------- */

const char *prom_format_content_type(prom_format f) {
  return f == PROM_FORMAT_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                      : "text/plain; version=0.0.4; charset=utf-8";
}

/* q-value of one media range's parameters ("; version=1.0.0; q=0.5"); 1 when absent. */
static double accept_q(const char *p, const char *end) {
  while (p < end) {
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (!semi) break;
    p = semi + 1;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      char tmp[16];
      size_t n = 0;
      p += 2;
      while (p < end && n < sizeof tmp - 1 && *p != ';' && *p != ' ') tmp[n++] = *p++;
      tmp[n] = 0;
      return strtod(tmp, NULL);
    }
  }
  return 1;
}

prom_format prom_format_negotiate(const char *accept, bool enable_open_metrics) {
  if (!accept || !enable_open_metrics) return PROM_FORMAT_TEXT;
  double q_om = -1, q_text = -1;
  const char *p = accept;
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    const char *type_end = p;
    while (type_end < end && *type_end != ';' && *type_end != ' ') type_end++;
    size_t tl = (size_t)(type_end - p);
    double q = accept_q(p, end);
    if (tl == 28 && strncasecmp(p, "application/openmetrics-text", 28) == 0) {
      if (q > q_om) q_om = q;
    } else if ((tl == 10 && strncasecmp(p, "text/plain", 10) == 0) || (tl == 3 && memcmp(p, "*/*", 3) == 0)) {
      if (q > q_text) q_text = q;
    }
    p = *end ? end + 1 : end;
  }
  return q_om > 0 && q_om >= q_text ? PROM_FORMAT_OPENMETRICS : PROM_FORMAT_TEXT;
}

static int series_cmp(const void *pa, const void *pb) {
  const prom_series *a = *(prom_series *const *)pa, *b = *(prom_series *const *)pb;
  size_t n = a->labels_len < b->labels_len ? a->labels_len : b->labels_len;
  int c = memcmp(a->labels, b->labels, n);
  if (c) return c;
  if (a->labels_len != b->labels_len) return a->labels_len < b->labels_len ? -1 : 1;
  if (a->ctx == b->ctx) return 0;
  if (!a->ctx || !b->ctx) return a->ctx ? 1 : -1;
  n = a->ctx->len < b->ctx->len ? a->ctx->len : b->ctx->len;
  c = memcmp(a->ctx->labels, b->ctx->labels, n);
  if (c) return c;
  return a->ctx->len < b->ctx->len ? -1 : a->ctx->len > b->ctx->len;
}

static int family_cmp(const void *pa, const void *pb) {
  const prom_family *a = *(prom_family *const *)pa, *b = *(prom_family *const *)pb;
  return strcmp(a->name, b->name);
}

typedef struct render_ctx {
  prom_store *s;
  wire_buf *out;
  bool om;
} render_ctx;

/* Room needed for a sample line beyond its labels. */
enum { LINE_SLACK = 3 * PROM_NUM_MAX + 64, EXEMPLAR_SLACK = 2 * PROM_NUM_MAX + 96 };

static void put_str(wire_buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_ts(const render_ctx *r, uint64_t ns) {
  char num[PROM_NUM_MAX];
  put_c(r->out, ' ');
  if (r->om) {
    put(r->out, num, prom_fmt_u64(num, ns / 1000000000ULL));
    uint64_t ms = ns / 1000000ULL % 1000;
    put_c(r->out, '.');
    put_c(r->out, (char)('0' + ms / 100)), put_c(r->out, (char)('0' + ms / 10 % 10)), put_c(r->out, (char)('0' + ms % 10));
  } else {
    put(r->out, num, prom_fmt_u64(num, ns / 1000000ULL));
  }
}

static void hex(wire_buf *b, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) put_c(b, digits[p[i] >> 4]), put_c(b, digits[p[i] & 15]);
}

static void put_exemplar(const render_ctx *r, const prom_exemplar *e) {
  char num[PROM_NUM_MAX];
  put_str(r->out, " # {");
  if (e->has_trace) {
    put_str(r->out, "trace_id=\"");
    hex(r->out, e->trace_id, 16);
    put_c(r->out, '"');
  }
  if (e->has_span) {
    if (e->has_trace) put_c(r->out, ',');
    put_str(r->out, "span_id=\"");
    hex(r->out, e->span_id, 8);
    put_c(r->out, '"');
  }
  put_str(r->out, "} ");
  put(r->out, num, prom_fmt_value(num, e->value));
  if (e->time_ns) put_ts(r, e->time_ns);
}

/* Writes `name suffix{labels,ctx,extra="v"}` (the space before the value included). Room must be reserved. */
static void put_series_head(const render_ctx *r, const prom_family *f, const char *suffix, const prom_series *se,
                            const char *extra_name, const char *extra_val, size_t extra_len) {
  wire_buf *b = r->out;
  const char *name = r->om && f->type == FT_COUNTER ? f->om_name : f->name;
  put_str(b, name);
  if (suffix) put_str(b, suffix);
  size_t cl = se->ctx ? se->ctx->len : 0;
  if (se->labels_len || cl || extra_name) {
    put_c(b, '{');
    bool first = true;
    if (se->labels_len) put(b, se->labels, se->labels_len), first = false;
    if (cl) {
      if (!first) put_c(b, ',');
      put(b, se->ctx->labels, cl);
      first = false;
    }
    if (extra_name) {
      if (!first) put_c(b, ',');
      put_str(b, extra_name);
      put_c(b, '='), put_c(b, '"');
      put(b, extra_val, extra_len);
      put_c(b, '"');
    }
    put_c(b, '}');
  }
  put_c(b, ' ');
}

static size_t line_room(const prom_family *f, const prom_series *se) {
  return strlen(f->name) + se->labels_len + (se->ctx ? se->ctx->len : 0) + LINE_SLACK + EXEMPLAR_SLACK;
}

static void put_end(const render_ctx *r, const prom_series *se) {
  if (r->s->send_ts && se->time_ns) put_ts(r, se->time_ns);
}

static int render_created(const render_ctx *r, const prom_family *f, const prom_series *se) {
  if (!r->om || !r->s->om_created || !se->start_ns) return 0;
  if (reserve(r->out, line_room(f, se)) < 0) return -1;
  char num[PROM_NUM_MAX];
  put_series_head(r, f, "_created", se, NULL, NULL, 0);
  put(r->out, num, prom_fmt_float_go(num, (double)se->start_ns / 1e9));
  put_c(r->out, '\n');
  return 0;
}

/* Bucket lines from (le, cumulative) arrays; exemplars assigned per the spec: the largest in each bucket, else the
 * highest one below. */
static int render_buckets(const render_ctx *r, const prom_family *f, const prom_series *se, const double *le,
                          const char *le_text, const uint64_t *cum, size_t n, uint64_t total,
                          const exemplar_list *ex) {
  char num[PROM_NUM_MAX], lev[PROM_NUM_MAX];
  prom_exemplar sorted[MAX_EXEMPLARS];
  size_t nex = 0;
  if (r->om && ex) {
    for (uint32_t i = 0; i < ex->n && nex < MAX_EXEMPLARS; i++) sorted[nex++] = ex->e[i];
    for (size_t i = 1; i < nex; i++) /* insertion sort by value */
      for (size_t j = i; j > 0 && sorted[j - 1].value > sorted[j].value; j--) {
        prom_exemplar t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
  }
  size_t next_ex = 0;
  const prom_exemplar *carry = NULL;
  for (size_t i = 0; i <= n; i++) {
    if (reserve(r->out, line_room(f, se)) < 0) return -1;
    bool inf = i == n;
    const char *lp = lev;
    size_t ll;
    if (inf) {
      memcpy(lev, "+Inf", 4);
      ll = 4;
    } else if (le_text) {
      ll = (uint8_t)*le_text;
      lp = le_text + 1;
      le_text += 1 + ll;
    } else {
      ll = r->om ? prom_fmt_float_om(lev, le[i]) : prom_fmt_float_go(lev, le[i]);
    }
    put_series_head(r, f, "_bucket", se, "le", lp, ll);
    put(r->out, num, prom_fmt_u64(num, inf ? total : cum[i]));
    put_end(r, se);
    if (nex) {
      while (next_ex < nex && (inf || sorted[next_ex].value <= le[i])) carry = &sorted[next_ex++];
      if (carry) put_exemplar(r, carry);
    }
    put_c(r->out, '\n');
  }
  return 0;
}

static int render_sum_count(const render_ctx *r, const prom_family *f, const prom_series *se, double sum,
                            uint64_t count) {
  char num[PROM_NUM_MAX];
  if (reserve(r->out, 2 * line_room(f, se)) < 0) return -1;
  put_series_head(r, f, "_sum", se, NULL, NULL, 0);
  put(r->out, num, prom_fmt_value(num, sum));
  put_end(r, se);
  put_c(r->out, '\n');
  put_series_head(r, f, "_count", se, NULL, NULL, 0);
  put(r->out, num, prom_fmt_u64(num, count));
  put_end(r, se);
  put_c(r->out, '\n');
  return render_created(r, f, se);
}

static int ensure_render_scratch(prom_store *s, size_t n) {
  if (n <= s->r_cap) return 0;
  double *le = realloc(s->r_le, n * sizeof *le);
  if (le) s->r_le = le;
  uint64_t *cum = realloc(s->r_cum, n * sizeof *cum);
  if (cum) s->r_cum = cum;
  if (!le || !cum) return -1;
  s->r_cap = n;
  return 0;
}

/* base^idx for an exponential histogram at `scale` (base = 2^(2^-scale)). */
static double exp_bound(int64_t idx, int32_t scale) {
  if (scale <= 0) {
    double e = ldexp((double)idx, -scale);
    if (e > 2000) return INFINITY;
    if (e < -2000) return 0;
    return ldexp(1.0, (int)e);
  }
  int64_t q = floor_shift(idx, scale);
  int64_t rem = idx - q * ((int64_t)1 << scale);
  if (q > 2000) return INFINITY;
  if (q < -2000) return 0;
  double m = rem ? exp2((double)rem / (double)((int64_t)1 << scale)) : 1.0;
  return ldexp(m, (int)q);
}

/* Exponential → explicit: negative buckets (le = -base^idx, most negative first), the zero bucket
 * (le = zero_threshold), positive buckets (le = base^(idx+1)); non-increasing or infinite bounds fold into the
 * neighbouring line so that the result is a valid cumulative histogram. */
static int render_exp(const render_ctx *r, const prom_family *f, const prom_series *se, const exp_data *e) {
  prom_store *s = r->s;
  size_t cap = (size_t)e->n_neg + e->n_pos + 1;
  if (ensure_render_scratch(s, cap) < 0) return -1;
  size_t n = 0;
  uint64_t cum = 0;
  double last = -INFINITY;
#define EMIT(bound)                                                 \
  do {                                                              \
    double b_ = (bound);                                            \
    if (b_ == 0) b_ = 0; /* no "-0" */                              \
    if (isfinite(b_) && b_ > last) {                                \
      s->r_le[n] = b_, s->r_cum[n] = cum, n++, last = b_;           \
    } else if (n && isfinite(b_)) {                                 \
      s->r_cum[n - 1] = cum;                                        \
    }                                                               \
  } while (0)
  for (uint32_t k = e->n_neg; k-- > 0;) {
    cum += e->counts[k];
    EMIT(-exp_bound((int64_t)e->neg_off + k, e->scale));
  }
  cum += e->zero_count;
  EMIT(e->zero_threshold);
  for (uint32_t k = 0; k < e->n_pos; k++) {
    cum += e->counts[e->n_neg + k];
    EMIT(exp_bound((int64_t)e->pos_off + k + 1, e->scale));
  }
#undef EMIT
  uint64_t total = e->count > cum ? e->count : cum;
  if (render_buckets(r, f, se, s->r_le, NULL, s->r_cum, n, total, e->ex) < 0) return -1;
  return render_sum_count(r, f, se, e->sum, total);
}

static int render_hist(const render_ctx *r, const prom_family *f, const prom_series *se, const hist_data *h) {
  prom_store *s = r->s;
  size_t nb = h->bounds->n;
  if (ensure_render_scratch(s, nb + 1) < 0) return -1;
  uint64_t cum = 0;
  for (size_t i = 0; i < nb; i++) {
    cum += h->counts[i];
    s->r_cum[i] = cum;
  }
  cum += h->counts[nb];
  uint64_t total = h->count > cum ? h->count : cum;
  if (render_buckets(r, f, se, h->bounds->b, bounds_le_text(h->bounds, r->om), s->r_cum, nb, total, h->ex) < 0)
    return -1;
  return render_sum_count(r, f, se, h->sum, total);
}

static int render_summary(const render_ctx *r, const prom_family *f, const prom_series *se, const summary_data *q) {
  char num[PROM_NUM_MAX], qv[PROM_NUM_MAX];
  for (uint32_t i = 0; i < q->n; i++) {
    if (reserve(r->out, line_room(f, se)) < 0) return -1;
    size_t ql = r->om ? prom_fmt_float_om(qv, q->qv[i].q) : prom_fmt_float_go(qv, q->qv[i].q);
    put_series_head(r, f, NULL, se, "quantile", qv, ql);
    put(r->out, num, prom_fmt_value(num, q->qv[i].v));
    put_end(r, se);
    put_c(r->out, '\n');
  }
  return render_sum_count(r, f, se, q->sum, q->count);
}

static int render_number(const render_ctx *r, const prom_family *f, const prom_series *se) {
  char num[PROM_NUM_MAX];
  if (reserve(r->out, line_room(f, se)) < 0) return -1;
  put_series_head(r, f, r->om && f->type == FT_COUNTER ? "_total" : NULL, se, NULL, NULL, 0);
  put(r->out, num, se->is_int ? prom_fmt_i64(num, se->v.i) : prom_fmt_value(num, se->v.d));
  if (se->kind != SK_TARGET) put_end(r, se);
  if (r->om && f->type == FT_COUNTER && se->payload) put_exemplar(r, se->payload);
  put_c(r->out, '\n');
  if (f->type == FT_COUNTER) return render_created(r, f, se);
  return 0;
}

static int render_family_header(const render_ctx *r, const prom_family *f) {
  const char *name = r->om ? f->om_name : f->name;
  size_t hl = strlen(f->help);
  if (reserve(r->out, 3 * strlen(name) + PROM_ESCAPE_MAX(hl) + (f->unit ? strlen(f->unit) : 0) + 64) < 0) return -1;
  if (hl) {
    put_str(r->out, "# HELP ");
    put_str(r->out, name);
    put_c(r->out, ' ');
    r->out->len += prom_escape_value((char *)r->out->data + r->out->len, f->help, hl, true, r->om);
    put_c(r->out, '\n');
  }
  put_str(r->out, "# TYPE ");
  put_str(r->out, name);
  put_c(r->out, ' ');
  put_str(r->out, fam_type_name(f->type));
  put_c(r->out, '\n');
  if (r->om && f->unit) {
    put_str(r->out, "# UNIT ");
    put_str(r->out, name);
    put_c(r->out, ' ');
    put_str(r->out, f->unit);
    put_c(r->out, '\n');
  }
  return 0;
}

static void family_sort(prom_family *f) {
  if (f->sorted) return;
  qsort(f->series, f->n, sizeof *f->series, series_cmp);
  for (uint32_t j = 0; j < f->n; j++) f->series[j]->fam_idx = j;
  f->sorted = true;
}

static int render_series(const render_ctx *r, const prom_family *f, const prom_series *se) {
  switch (se->kind) {
  case SK_HIST: return render_hist(r, f, se, se->payload);
  case SK_EXP: return render_exp(r, f, se, se->payload);
  case SK_SUMMARY: return render_summary(r, f, se, se->payload);
  default: return render_number(r, f, se);
  }
}

/* Order of a series against the cursor's saved key (the last series rendered), as series_cmp orders series. */
static int series_key_cmp(const prom_series *se, const prom_render_cursor *cur) {
  size_t n = se->labels_len < cur->key_labels_len ? se->labels_len : cur->key_labels_len;
  int c = memcmp(se->labels, cur->key, n);
  if (c) return c;
  if (se->labels_len != cur->key_labels_len) return se->labels_len < cur->key_labels_len ? -1 : 1;
  if (!se->ctx || !cur->key_has_ctx) return (se->ctx ? 1 : 0) - (cur->key_has_ctx ? 1 : 0);
  const char *kc = cur->key + cur->key_labels_len;
  size_t kcl = cur->key_len - cur->key_labels_len;
  n = se->ctx->len < kcl ? se->ctx->len : kcl;
  c = memcmp(se->ctx->labels, kc, n);
  if (c) return c;
  return se->ctx->len < kcl ? -1 : se->ctx->len > kcl;
}

/* Remembers `se` as the last series rendered of the family being rendered. */
static int cursor_save_key(prom_render_cursor *cur, const prom_series *se) {
  size_t cl = se->ctx ? se->ctx->len : 0;
  size_t n = (size_t)se->labels_len + cl;
  if (n > cur->key_cap || !cur->key) {
    char *k = realloc(cur->key, n ? n : 1);
    if (!k) return -1;
    cur->key = k;
    cur->key_cap = n ? n : 1;
  }
  memcpy(cur->key, se->labels, se->labels_len);
  if (cl) memcpy(cur->key + se->labels_len, se->ctx->labels, cl);
  cur->key_len = n;
  cur->key_labels_len = se->labels_len;
  cur->key_has_ctx = se->ctx != NULL;
  return 0;
}

static int cursor_set_family(prom_render_cursor *cur, const prom_family *f) {
  if (cur->after && strcmp(cur->after, f->name) == 0) return 0;
  char *name = strdup(f->name);
  if (!name) return -1;
  free(cur->after);
  cur->after = name;
  return 0;
}

/* Renders series in (family name, labels) order after the cursor until min_bytes were appended or none is left,
 * under one hold of the lock. At least one series is rendered per call (progress), and a series is never split:
 * its lines (a histogram's buckets, _sum and _count) always come from one state. A family's HELP/TYPE lines go
 * with its first series. */
static int render_some(prom_store *s, prom_format fmt, prom_render_cursor *cur, size_t min_bytes, wire_buf *out,
                       wire_err *err) {
  pthread_mutex_lock(&s->mu);
  if (!cur->started) {
    sweep_locked(s, s->clock(s->clock_ud));
    cur->started = true;
  }
  if (!s->fams_sorted && s->n_fams) {
    qsort(s->fams, s->n_fams, sizeof *s->fams, family_cmp);
    s->fams_sorted = true;
  }
  size_t i = 0;
  if (cur->after) { /* the family being rendered (in_family), else the first one named after the last rendered */
    size_t lo = 0, hi = s->n_fams;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      int c = strcmp(s->fams[mid]->name, cur->after);
      if (c < 0 || (c == 0 && !cur->in_family)) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  render_ctx r = {s, out, fmt == PROM_FORMAT_OPENMETRICS};
  size_t start = out->len;
  bool rendered = false;
  int rc = 0;
  for (; i < s->n_fams && rc == 0 && !(rendered && out->len - start >= min_bytes); i++) {
    prom_family *f = s->fams[i];
    bool resume = cur->in_family && strcmp(f->name, cur->after) == 0;
    cur->in_family = false;
    if (!f->n) continue;
    family_sort(f);
    uint32_t j = 0;
    if (resume) { /* first series after the saved key */
      uint32_t lo = 0, hi = f->n;
      while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (series_key_cmp(f->series[mid], cur) <= 0) lo = mid + 1;
        else hi = mid;
      }
      j = lo;
    } else {
      rc = render_family_header(&r, f);
    }
    for (uint32_t first = j; j < f->n && rc == 0; j++) { /* at least one series of a family entered */
      if (j > first && out->len - start >= min_bytes) break;
      rc = render_series(&r, f, f->series[j]);
      rendered = true;
    }
    if (rc == 0) rc = cursor_set_family(cur, f);
    if (rc == 0 && j < f->n) { /* stopped inside the family: resume after its last rendered series */
      rc = cursor_save_key(cur, f->series[j - 1]);
      cur->in_family = rc == 0;
      break;
    }
  }
  if (rc == 0 && i >= s->n_fams && !cur->in_family) {
    cur->done = true;
    if (r.om) rc = wire_buf_append_str(out, "# EOF\n", NULL);
  }
  pthread_mutex_unlock(&s->mu);
  if (rc < 0)
    return wire_err_set(err, WIRE_E_LIMIT, "prometheus exporter: exposition exceeds the buffer limit of %zu bytes",
                        out->limit);
  return 0;
}

int prom_store_render_some(prom_store *s, prom_format fmt, prom_render_cursor *cur, size_t min_bytes, wire_buf *out,
                           wire_err *err) {
  if (cur->done) return 0;
  return render_some(s, fmt, cur, min_bytes ? min_bytes : 1, out, err);
}

void prom_render_cursor_reset(prom_render_cursor *cur) {
  free(cur->after);
  free(cur->key);
  memset(cur, 0, sizeof *cur);
}

int prom_store_render(prom_store *s, prom_format fmt, wire_buf *out, wire_err *err) {
  prom_render_cursor cur = {0};
  int rc = render_some(s, fmt, &cur, SIZE_MAX, out, err);
  prom_render_cursor_reset(&cur);
  return rc;
}
