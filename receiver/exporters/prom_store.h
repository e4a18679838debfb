/* prom_store.h — the series store behind the Prometheus exporter: OTLP metrics in, Prometheus text or OpenMetrics out.
 *
 * consume() translates every data point of an OTLP request into a Prometheus series (name and labels per the
 * OpenTelemetry Prometheus-compatibility spec, see prom_names.h) and keeps its latest state:
 *   gauge                       → gauge (latest value by point time)
 *   monotonic sum, cumulative   → counter
 *   monotonic sum, delta        → counter accumulated here (a point whose start time is the previous point's time
 *                                 adds; a later start time restarts the series; an overlapping one is dropped)
 *   non-monotonic sum, cumul.   → gauge;  delta non-monotonic sums and unspecified temporality are dropped
 *                                 (as the Collector does)
 *   histogram (cumul. or delta) → `_bucket{le}` / `_sum` / `_count` (deltas accumulated while bounds stay equal)
 *   exponential histogram       → kept exponential (deltas merged, downscaled to at most 1024 buckets a side),
 *                                 rendered as explicit cumulative buckets with le = base^(index+1)
 *   summary                     → `{quantile}` / `_sum` / `_count`
 *   NO_RECORDED_VALUE flag      → the series is removed (stale)
 * Labels: point attributes, then job (service.namespace/service.name), instance (service.instance.id),
 * otel_scope_name, otel_scope_version, otel_scope_<attr>, all resource attributes when
 * resource_to_telemetry_conversion, and const_labels. Labels with empty values are left out (Prometheus reads an
 * empty label as an absent one). A point attribute whose label name equals one of those context labels is dropped
 * (the context wins). One `target_info` gauge per (job, instance) carries the other resource attributes.
 *
 * Identity of a series is its family plus its rendered label text, so attributes that sanitise to the same labels
 * land in the same series instead of producing duplicate lines. Lookups of existing series hash that text once and
 * allocate nothing.
 *
 * Threads: every function takes the store's mutex; consume (pipeline thread) and render (HTTP loop thread) may run
 * on different threads. Render works under the lock, straight into the caller's buffer: copying 100k series out
 * would cost as much as rendering them. A scrape renders in slices (prom_store_render_some: ~64 KiB per hold of
 * the lock), so neither the lock nor the memory of a 65 MB exposition is held at once. */
#ifndef OTELC_RECEIVER_EXPORTERS_PROM_STORE_H
#define OTELC_RECEIVER_EXPORTERS_PROM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "wire/buf.h"
#include "wire/err.h"

typedef struct prom_store prom_store;

typedef struct prom_label_pair {
  const char *name;
  const char *value;
} prom_label_pair;

typedef struct prom_store_config {
  const char *metric_namespace;          /* `namespace`: prefix of every metric name; NULL or "" for none */
  const prom_label_pair *const_labels;   /* added to every series (names sanitised) */
  size_t n_const_labels;
  bool add_metric_suffixes;              /* unit and type suffixes (default true) */
  bool resource_to_telemetry_conversion; /* every resource attribute becomes a label of every series */
  bool send_timestamps;                  /* samples carry the point's time */
  bool enable_open_metrics;              /* keep exemplars (rendered only in OpenMetrics) */
  bool without_scope_labels;             /* leave out the otel_scope_* labels (spec: SHOULD be configurable) */
  bool om_created_samples;               /* OpenMetrics `_created` lines from start times (default false, as
                                            client_golang: older Prometheus stores them as separate series) */
  uint64_t metric_expiration_ms;         /* series not updated for this long disappear; 0: 5 minutes */
  size_t max_series;                     /* new series beyond this are dropped and counted; 0: 1,000,000 */
} prom_store_config;

/* Fills *c with the defaults (add_metric_suffixes true, expiration 5 min, everything else off). */
void prom_store_config_init(prom_store_config *c);

/* Copies what it needs from *c. Returns NULL with *err set on a bad config (e.g. a const label with no valid name). */
prom_store *prom_store_new(const prom_store_config *c, wire_err *err);
void prom_store_free(prom_store *s);

/* What one consume call did, in data points. */
typedef struct prom_consume_result {
  uint64_t accepted; /* stored (new or updated series) */
  uint64_t dropped;  /* everything else: see prom_store_stats for the reasons */
} prom_consume_result;

/* Stores every data point of the resource metrics. Never fails as a whole: points it cannot use are counted. */
void prom_store_consume(prom_store *s, Opentelemetry__Proto__Metrics__V1__ResourceMetrics *const *rms, size_t n,
                        prom_consume_result *res);
/* The same for a whole OTLP export request. */
void prom_store_consume_request(prom_store *s,
                                const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req,
                                prom_consume_result *res);

/* Removes series (and target_info entries) not updated within metric_expiration. render() does it too; the exporter
 * may also call it on a timer so that memory is returned without scrapes. */
void prom_store_sweep(prom_store *s);

typedef enum prom_format {
  PROM_FORMAT_TEXT,        /* Prometheus text exposition 0.0.4 */
  PROM_FORMAT_OPENMETRICS, /* OpenMetrics 1.0.0 text */
} prom_format;

/* Content-Type header value for a format. */
const char *prom_format_content_type(prom_format f);
/* Picks the format for a request's Accept header (may be NULL): OpenMetrics when it is offered with a q-value at
 * least that of text/plain and enable_open_metrics is set; otherwise the Prometheus text format. */
prom_format prom_format_negotiate(const char *accept, bool enable_open_metrics);

/* Appends the exposition of every live series to `out`: families sorted by name, each with its HELP (when the
 * metric has a description), TYPE (and UNIT in OpenMetrics), series sorted by labels; OpenMetrics ends with
 * "# EOF". Returns 0, or -1 with *err when `out` hits its limit (out then holds a partial body). */
int prom_store_render(prom_store *s, prom_format f, wire_buf *out, wire_err *err);

/* Incremental rendering, for scrapes streamed in bounded pieces: each call takes the lock once and appends
 * series in (family name, labels) order after the cursor until at least min_bytes were added (at least one
 * series per call); cur->done says when the exposition is complete ("# EOF" included in OpenMetrics). A family
 * may be split across calls (its HELP/TYPE lines go with its first series), a series never is: the lines of one
 * series (a histogram's buckets, _sum and _count) always come from one state.
 *
 * What a scrape sees while consume runs between calls (the rule of Prometheus client libraries, which collect
 * metric by metric while the application keeps updating): every series as it was when its slice was rendered,
 * each series at most once, families and series in order. Series and families created meanwhile appear when
 * they sort after the cursor and wait for the next scrape otherwise; series removed meanwhile (expiration,
 * staleness) are left out from then on. Expired series are swept once, at the first call. Start with a zeroed
 * cursor and release it with prom_render_cursor_reset. */
typedef struct prom_render_cursor {
  char *after;        /* name of the family rendered last (in_family: the one being rendered) */
  bool in_family;     /* `after` was rendered up to the series whose sort key is `key` */
  char *key;          /* that series' point labels then its context labels */
  size_t key_len, key_cap;
  uint32_t key_labels_len;
  bool key_has_ctx;
  bool started, done;
} prom_render_cursor;

int prom_store_render_some(prom_store *s, prom_format f, prom_render_cursor *cur, size_t min_bytes, wire_buf *out,
                           wire_err *err);
void prom_render_cursor_reset(prom_render_cursor *cur);

typedef struct prom_store_stats {
  size_t series;            /* live series, target_info included */
  size_t families;
  size_t bytes;             /* memory held by series, families and tables (approximate, without malloc overhead) */
  uint64_t dropped_invalid;     /* malformed points: bucket/bound mismatch, bad scale, labels too long, ... */
  uint64_t dropped_unsupported; /* delta non-monotonic sums, unspecified temporality */
  uint64_t dropped_conflict;    /* metric whose name is already used by a family of another type */
  uint64_t dropped_stale;       /* out of order or overlapping points */
  uint64_t dropped_limit;       /* new series beyond max_series */
  uint64_t expired;             /* series removed by metric_expiration */
} prom_store_stats;

void prom_store_get_stats(prom_store *s, prom_store_stats *st);

/* Tests: replaces the monotonic millisecond clock used for expiration (NULL restores it). */
void prom_store_set_clock(prom_store *s, int64_t (*now_ms)(void *ud), void *ud);

#endif
