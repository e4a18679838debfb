/* otelc.h — libotelc, the OpenTelemetry metrics SDK for C: the public API.
 *
 * The model is OpenTelemetry's: a meter provider owns the resource, the views, one periodic reader and its
 * exporter; meters (one per instrumentation scope) create instruments; instruments record measurements with
 * attributes. See docs/sdk.md for the design and the threading contract.
 *
 *   otelc_meter_provider *mp;
 *   otelc_meter_provider_create(NULL, &mp);                 // configured by OTEL_* variables
 *   otelc_meter *m = otelc_meter_get(mp, "jobs", "1.0", NULL);
 *   otelc_instrument *done = otelc_counter_u64(m, "jobs.done", NULL);
 *   otelc_attr a[] = { OTELC_ATTR_STR("queue", "mail") };
 *   otelc_add_u64(done, 1, a, 1);                            // per call with attributes
 *   otelc_series *s = otelc_bind(done, a, 1);                // or bound once, for hot paths
 *   otelc_series_add_u64(s, 1);
 *   otelc_meter_provider_shutdown(mp, 5000);                 // exports the final state once
 *   otelc_meter_provider_free(mp);
 *
 * Conventions
 *   - Functions that can fail return an otelc_status (0 = OTELC_OK, negative = error). Functions that create
 *     instruments, meters and bound series never return NULL: on error (bad name, OTEL_SDK_DISABLED, out of
 *     memory) they return a no-op object whose recording functions do nothing, and log the reason once.
 *   - Strings passed in are copied; callers keep ownership of everything they pass.
 *   - Every function is thread-safe unless its comment says otherwise (bound series: see otelc_bind).
 *   - Recording never blocks on export, never allocates for an existing series, and never touches the network.
 *   - Times are nanoseconds; durations in options are milliseconds.
 * No protobuf type appears here: the exporter interface (otelc/exporter.h) carries encoded OTLP bytes. */
#ifndef OTELC_OTELC_H
#define OTELC_OTELC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OTELC_API __attribute__((visibility("default")))
#else
#define OTELC_API
#endif

#define OTELC_VERSION_STRING "0.1.0"

/* ---- Status codes ---------------------------------------------------------------------------------- */

typedef enum otelc_status {
  OTELC_OK = 0,
  OTELC_E_INVALID = -1,   /* a bad argument (NULL, malformed name, bad boundaries) */
  OTELC_E_NOMEM = -2,     /* an allocation failed */
  OTELC_E_STATE = -3,     /* the provider is shut down, or the call is not allowed in this state */
  OTELC_E_TIMEOUT = -4,   /* a flush or shutdown did not finish before its deadline */
  OTELC_E_EXPORT = -5,    /* the exporter reported a failure */
} otelc_status;

/* A constant English name for a status ("ok", "invalid argument", ...). */
OTELC_API const char *otelc_status_str(int status);

/* ---- Opaque handles -------------------------------------------------------------------------------- */

typedef struct otelc_meter_provider otelc_meter_provider; /* owns everything below; freed by _free */
typedef struct otelc_meter otelc_meter;                   /* one instrumentation scope; owned by the provider */
typedef struct otelc_instrument otelc_instrument;         /* any instrument; owned by its provider */
typedef struct otelc_series otelc_series;                 /* a bound series handle (see otelc_bind) */
typedef struct otelc_observer otelc_observer;             /* passed to observable callbacks */
typedef struct otelc_exporter otelc_exporter;             /* see otelc/exporter.h */

/* ---- Attributes ------------------------------------------------------------------------------------ */

typedef enum otelc_attr_type {
  OTELC_ATTR_STRING = 0,
  OTELC_ATTR_INT = 1,     /* int64_t */
  OTELC_ATTR_DOUBLE = 2,
  OTELC_ATTR_BOOL = 3,
} otelc_attr_type;

/* One attribute. The key and a string value are NUL-terminated and only read during the call. A set of
 * attributes is canonical: the order does not matter, a repeated key keeps its last value, and values of
 * different types are different (int 1, double 1.0, "1" and true are four series). Empty keys are ignored. */
typedef struct otelc_attr {
  const char *key;
  otelc_attr_type type;
  union {
    const char *s;
    int64_t i;
    double d;
    bool b;
  } v;
} otelc_attr;

#define OTELC_ATTR_STR(k, val) ((otelc_attr){.key = (k), .type = OTELC_ATTR_STRING, .v.s = (val)})
#define OTELC_ATTR_INT(k, val) ((otelc_attr){.key = (k), .type = OTELC_ATTR_INT, .v.i = (val)})
#define OTELC_ATTR_DOUBLE(k, val) ((otelc_attr){.key = (k), .type = OTELC_ATTR_DOUBLE, .v.d = (val)})
#define OTELC_ATTR_BOOL(k, val) ((otelc_attr){.key = (k), .type = OTELC_ATTR_BOOL, .v.b = (val)})

/* Attributes per measurement beyond this many are dropped (with one log line per call site). */
#define OTELC_MAX_ATTRS 64

/* ---- Temporality and aggregation ------------------------------------------------------------------- */

typedef enum otelc_temporality_preference {
  OTELC_TEMPORALITY_DEFAULT = 0,    /* from OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else cumulative */
  OTELC_TEMPORALITY_CUMULATIVE = 1, /* everything cumulative */
  OTELC_TEMPORALITY_DELTA = 2,      /* counters, histograms, observable counters delta; up-down cumulative */
  OTELC_TEMPORALITY_LOWMEMORY = 3,  /* synchronous counters and histograms delta; the rest cumulative */
} otelc_temporality_preference;

typedef enum otelc_aggregation {
  OTELC_AGGREGATION_DEFAULT = 0,     /* the instrument's default (histograms: the provider's default) */
  OTELC_AGGREGATION_DROP = 1,        /* the instrument records nothing and exports nothing */
  OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM = 2,
  OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM = 3,
} otelc_aggregation;

typedef enum otelc_instrument_kind {
  OTELC_KIND_ANY = 0, /* only for view selection */
  OTELC_KIND_COUNTER,
  OTELC_KIND_UP_DOWN_COUNTER,
  OTELC_KIND_GAUGE,
  OTELC_KIND_HISTOGRAM,
  OTELC_KIND_OBSERVABLE_COUNTER,
  OTELC_KIND_OBSERVABLE_UP_DOWN_COUNTER,
  OTELC_KIND_OBSERVABLE_GAUGE,
} otelc_instrument_kind;

/* ---- Views ----------------------------------------------------------------------------------------- */

/* A view selects instruments and changes the stream they produce. Selection: every non-NULL/non-zero
 * criterion must match. Views apply to instruments created after otelc_meter_provider_add_view; when several
 * views match one instrument, the first added wins (otelc produces one stream per instrument). */
typedef struct otelc_view {
  /* selection */
  const char *instrument_name;   /* exact, or a pattern where '*' matches any run and '?' one character */
  otelc_instrument_kind kind;    /* OTELC_KIND_ANY matches every kind */
  const char *meter_name;        /* exact */
  /* stream */
  const char *name;              /* rename (use with a selection that matches one instrument) */
  const char *description;       /* replaces the instrument's description */
  otelc_aggregation aggregation; /* DROP, or a histogram aggregation for histograms */
  const double *boundaries;      /* explicit bucket boundaries (strictly increasing, finite) */
  size_t n_boundaries;
  const char *const *attribute_keys; /* allow-list: only these keys are kept; NULL keeps all */
  size_t n_attribute_keys;
  uint32_t cardinality_limit;    /* 0 keeps the instrument's or the default (2000) */
} otelc_view;

/* ---- Meter provider -------------------------------------------------------------------------------- */

/* Options for otelc_meter_provider_create. Zero-initialise (or pass NULL); every zero field takes its value
 * from the environment, then from the default. */
typedef struct otelc_provider_options {
  otelc_exporter *exporter;        /* taken over by the provider (shut down and freed with it). NULL: chosen by
                                      OTEL_METRICS_EXPORTER (otlp | console | none; default otlp) */
  int64_t export_interval_ms;      /* OTEL_METRIC_EXPORT_INTERVAL, default 60000. <0: no periodic export */
  int64_t export_timeout_ms;       /* OTEL_METRIC_EXPORT_TIMEOUT, default 30000 */
  otelc_temporality_preference temporality;
  otelc_aggregation default_histogram_aggregation; /* OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION */
  uint32_t cardinality_limit;      /* per instrument, default 2000 */
  const otelc_attr *resource_attrs; /* added to the resource (override env and detected values) */
  size_t n_resource_attrs;
  bool no_self_metrics;            /* true: do not export the otelc.sdk.* health metrics */
  bool disabled;                   /* true: a no-op provider (also OTEL_SDK_DISABLED=true) */
} otelc_provider_options;

/* Creates a provider: reads the environment, builds the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * telemetry.sdk.*, process.pid, process.executable.name, host.name) and starts the periodic reader thread.
 * opts may be NULL. On error *out is still a usable no-op provider unless out is NULL or memory runs out
 * (then *out is NULL). Returns OTELC_OK or an error. If opts->exporter is given, the provider owns it even
 * when creation fails. */
OTELC_API int otelc_meter_provider_create(const otelc_provider_options *opts, otelc_meter_provider **out);

/* Adds a view; it applies to instruments created afterwards. The view's strings and arrays are copied. */
OTELC_API int otelc_meter_provider_add_view(otelc_meter_provider *mp, const otelc_view *view);

/* Collects every instrument now and exports on the calling thread (waits for a running periodic export
 * first). Returns OTELC_OK, OTELC_E_EXPORT or OTELC_E_TIMEOUT. timeout_ms < 0: OTEL_METRIC_EXPORT_TIMEOUT. */
OTELC_API int otelc_meter_provider_force_flush(otelc_meter_provider *mp, int64_t timeout_ms);

/* Stops the reader thread, exports the final state exactly once and shuts the exporter down. Later calls
 * return OTELC_E_STATE; recording after shutdown is allowed and ignored. timeout_ms < 0: the export timeout. */
OTELC_API int otelc_meter_provider_shutdown(otelc_meter_provider *mp, int64_t timeout_ms);

/* Shuts down (if not done) and frees the provider with its meters, instruments, bound series and exporter.
 * No other thread may use any of them during or after this call. NULL is a no-op. */
OTELC_API void otelc_meter_provider_free(otelc_meter_provider *mp);

/* ---- Meters ---------------------------------------------------------------------------------------- */

/* Returns the meter for the scope (name, version, schema_url); the same triple returns the same meter.
 * version and schema_url may be NULL. Never NULL (a no-op meter on error). */
OTELC_API otelc_meter *otelc_meter_get(otelc_meter_provider *mp, const char *name, const char *version,
                                       const char *schema_url);

/* ---- Instruments ----------------------------------------------------------------------------------- */

/* Optional per-instrument settings; zero-initialise. Views override them. */
typedef struct otelc_instrument_options {
  const char *description;
  const char *unit;                  /* UCUM, e.g. "s", "By", "{request}" */
  otelc_aggregation aggregation;     /* histograms: EXPLICIT_BUCKET_HISTOGRAM or BASE2_EXPONENTIAL_HISTOGRAM */
  const double *boundaries;          /* explicit buckets; NULL: 0,5,10,25,50,75,100,250,500,750,1000,2500,
                                        5000,7500,10000 */
  size_t n_boundaries;
  int32_t exp_max_size;              /* exponential: buckets per sign, default 160 */
  int32_t exp_max_scale;             /* exponential: starting scale, default 20 (range -10..20) */
  uint32_t cardinality_limit;        /* default: the provider's */
} otelc_instrument_options;

/* Instrument names follow the API rules: 1..255 characters, a letter first, then letters, digits, '_', '.',
 * '-', '/'. An invalid name gives a no-op instrument. Creating an instrument with the same name (compared
 * case-insensitively) and kind on the same meter returns the existing one. opts may be NULL. */
OTELC_API otelc_instrument *otelc_counter_u64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
OTELC_API otelc_instrument *otelc_counter_f64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
OTELC_API otelc_instrument *otelc_updown_i64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
OTELC_API otelc_instrument *otelc_updown_f64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
OTELC_API otelc_instrument *otelc_gauge_i64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
OTELC_API otelc_instrument *otelc_gauge_f64(otelc_meter *m, const char *name, const otelc_instrument_options *opts);
/* Histograms record doubles (integers are converted); NaN and infinities are ignored. */
OTELC_API otelc_instrument *otelc_histogram(otelc_meter *m, const char *name, const otelc_instrument_options *opts);

/* Observable instruments: the callback runs on the collecting thread (the reader's, or the one calling
 * force_flush/shutdown), once per collection, and reports values with otelc_observe_*. It must not block
 * for long and must not call the provider's flush/shutdown. Counter observations are the running total. */
typedef void (*otelc_observe_fn)(otelc_observer *obs, void *user);
OTELC_API otelc_instrument *otelc_observable_counter_i64(otelc_meter *m, const char *name,
                                                         const otelc_instrument_options *opts,
                                                         otelc_observe_fn fn, void *user);
OTELC_API otelc_instrument *otelc_observable_counter_f64(otelc_meter *m, const char *name,
                                                         const otelc_instrument_options *opts,
                                                         otelc_observe_fn fn, void *user);
OTELC_API otelc_instrument *otelc_observable_updown_i64(otelc_meter *m, const char *name,
                                                        const otelc_instrument_options *opts,
                                                        otelc_observe_fn fn, void *user);
OTELC_API otelc_instrument *otelc_observable_updown_f64(otelc_meter *m, const char *name,
                                                        const otelc_instrument_options *opts,
                                                        otelc_observe_fn fn, void *user);
OTELC_API otelc_instrument *otelc_observable_gauge_i64(otelc_meter *m, const char *name,
                                                       const otelc_instrument_options *opts,
                                                       otelc_observe_fn fn, void *user);
OTELC_API otelc_instrument *otelc_observable_gauge_f64(otelc_meter *m, const char *name,
                                                       const otelc_instrument_options *opts,
                                                       otelc_observe_fn fn, void *user);

/* Inside a callback: reports one value for one attribute set (the last report per set wins). */
OTELC_API void otelc_observe_i64(otelc_observer *obs, int64_t value, const otelc_attr *attrs, size_t n_attrs);
OTELC_API void otelc_observe_f64(otelc_observer *obs, double value, const otelc_attr *attrs, size_t n_attrs);

/* ---- Recording with attributes per call ------------------------------------------------------------ */

/* Adds to a counter (negative or non-finite values are ignored: counters only go up), adds to an up-down
 * counter, sets a gauge or records into a histogram, whichever the instrument is. Any value type works with
 * any instrument (it is converted). attrs may be NULL when n_attrs is 0. */
OTELC_API void otelc_add_u64(otelc_instrument *inst, uint64_t value, const otelc_attr *attrs, size_t n_attrs);
OTELC_API void otelc_record_i64(otelc_instrument *inst, int64_t value, const otelc_attr *attrs, size_t n_attrs);
OTELC_API void otelc_record_f64(otelc_instrument *inst, double value, const otelc_attr *attrs, size_t n_attrs);

/* ---- Bound series ---------------------------------------------------------------------------------- */

/* Resolves an attribute set once and returns a handle that records into that series without any lookup.
 * Threading contract: a bound handle of a counter or up-down counter owns a private cache-line cell that is
 * written with plain (relaxed, lock-free, non-RMW) atomics, so ONE THREAD AT A TIME may record through it
 * (hand it to another thread only with synchronisation in between). Threads that add to the same series bind
 * their own handles: each gets its own cell, the cells are summed at collection, and the threads never share
 * a cache line. Gauge and histogram handles are safe from any number of threads. Never NULL. */
OTELC_API otelc_series *otelc_bind(otelc_instrument *inst, const otelc_attr *attrs, size_t n_attrs);
/* The same, for a caller that records through the handle from ONE THREAD AT A TIME whatever the instrument: an
 * explicit-bucket histogram handle then gets, like a counter's, its own bucket counts and sum, written without
 * a lock prefix and added up at collection (min and max stay shared and are written only for a new extreme).
 * For the other instruments it is otelc_bind. For recording loops that own their handles (a per-thread
 * recorder, an event consumer). Never NULL. */
OTELC_API otelc_series *otelc_bind_exclusive(otelc_instrument *inst, const otelc_attr *attrs, size_t n_attrs);
OTELC_API void otelc_series_add_u64(otelc_series *s, uint64_t value);
OTELC_API void otelc_series_record_i64(otelc_series *s, int64_t value);
OTELC_API void otelc_series_record_f64(otelc_series *s, double value);
/* Gives the handle back; what it recorded stays counted. Its cell is reused by a later otelc_bind of the
 * same series. The handle must not be used afterwards. NULL is a no-op. */
OTELC_API void otelc_series_release(otelc_series *s);

/* ---- Logging --------------------------------------------------------------------------------------- */

typedef enum otelc_log_level {
  OTELC_LOG_DEBUG = 0,
  OTELC_LOG_INFO = 1,
  OTELC_LOG_WARN = 2,
  OTELC_LOG_ERROR = 3,
  OTELC_LOG_NONE = 4,
} otelc_log_level;

/* The SDK logs to stderr ("otelc: warn: ...") at or above OTEL_LOG_LEVEL (debug|info|warn|error|none;
 * default info), at most once per message site every 10 s (with a count of what was suppressed). Log lines
 * never hold header values, tokens or payloads. A handler replaces stderr (NULL restores it); it may be
 * called from any thread and must not call into otelc. */
typedef void (*otelc_log_fn)(otelc_log_level level, const char *line, void *user);
OTELC_API void otelc_set_log_handler(otelc_log_fn fn, void *user);
OTELC_API void otelc_set_log_level(otelc_log_level level);

#ifdef __cplusplus
}
#endif

#endif
