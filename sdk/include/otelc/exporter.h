/* exporter.h — libotelc's exporter interface, the built-in console and in-memory exporters, and the hooks
 * through which exporters feed the SDK's own health metrics (otelc.sdk.*).
 *
 * An exporter is a struct of function pointers. The reader calls export() on its own thread (or on the
 * thread calling force_flush/shutdown), never concurrently with itself, with one collected batch: an encoded
 * OTLP ExportMetricsServiceRequest. export() returns within the deadline and says whether the batch went out,
 * can be retried, or was refused for good. The reader never queues batches: with cumulative temporality the
 * next collection carries the whole state again, so memory stays bounded while an endpoint is down. */
#ifndef OTELC_EXPORTER_H
#define OTELC_EXPORTER_H

#include <stdio.h>

#include "otelc/otelc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otelc_export_result {
  OTELC_EXPORT_SUCCESS = 0,
  OTELC_EXPORT_RETRYABLE = 1, /* transient (endpoint down, 503, UNAVAILABLE, deadline): the data may be resent */
  OTELC_EXPORT_FAILURE = 2,   /* permanent (400, INVALID_ARGUMENT, encoding error): do not resend this batch */
} otelc_export_result;

/* One collected batch, valid only during the export() call. */
typedef struct otelc_export_batch {
  const uint8_t *data;      /* the encoded ExportMetricsServiceRequest (protobuf) */
  size_t len;
  size_t n_metrics;         /* metrics in the request */
  size_t n_points;          /* data points in the request */
  /* A decoded form (`const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *`) for
   * exporters inside libotelc, or NULL. The SDK's reader passes NULL (it encodes straight from its series):
   * exporters that need the structs decode `data` (wire/otlp.h), as the console exporter does. */
  const void *request;
  otelc_meter_provider *provider; /* for otelc_health_add */
} otelc_export_batch;

struct otelc_exporter {
  const char *name; /* "otlp-grpc", "console", ... (for log lines) */
  /* Sends one batch; deadline_ns is an absolute CLOCK_MONOTONIC time. Required. */
  otelc_export_result (*export_batch)(otelc_exporter *self, const otelc_export_batch *batch, int64_t deadline_ns);
  /* Flushes anything the exporter buffers (most buffer nothing). Optional. Returns an otelc_status. */
  int (*force_flush)(otelc_exporter *self, int64_t deadline_ns);
  /* Releases connections; called once, after the last export_batch. Optional. */
  void (*shutdown)(otelc_exporter *self, int64_t deadline_ns);
  /* Frees the exporter (after shutdown). Required. */
  void (*destroy)(otelc_exporter *self);
  /* In a forked child, before its first export: drop inherited connections and buffers WITHOUT sending
   * anything (the parent owns them). Optional. */
  void (*after_fork_child)(otelc_exporter *self);
  void *user; /* the exporter's own state */
};

/* ---- Health metrics hooks (the SDK's own metrics, exported with everything else) ------------------- */

/* The reader itself counts otelc.sdk.exporter.points.exported / .points.dropped / .exports.failed and times
 * otelc.sdk.exporter.export.duration around every export_batch call. Exporters add what only they know: */
typedef enum otelc_health_counter {
  OTELC_HEALTH_EXPORT_RETRIES = 0,   /* otelc.sdk.exporter.export.retries: one per retried attempt */
  OTELC_HEALTH_POINTS_REJECTED = 1,  /* otelc.sdk.exporter.points.rejected: partial-success rejected points */
  OTELC_HEALTH_EXPORT_ERRORS = 2,    /* otelc.sdk.exporter.export.errors: every failed attempt (incl. retried) */
} otelc_health_counter;

/* Adds n to a health counter, with an optional "error.type" attribute (e.g. "unavailable", "http_503";
 * a short constant, never a header or body). Safe from any thread; a no-op when mp is NULL or self metrics
 * are off. */
OTELC_API void otelc_health_add(otelc_meter_provider *mp, otelc_health_counter which, uint64_t n,
                                const char *error_type);

/* ---- Console exporter ------------------------------------------------------------------------------ */

/* Writes each batch as readable text (one line per data point) to `out` (stdout, stderr or an open file);
 * the stream stays the caller's. NULL out means stderr. */
OTELC_API otelc_exporter *otelc_console_exporter_create(FILE *out);

/* ---- In-memory exporter (tests) -------------------------------------------------------------------- */

/* Keeps the last `keep` batches (decoded) in memory. Thread-safe. The provider owns the exporter once given
 * to it, but the accessors below stay usable until otelc_meter_provider_free. */
OTELC_API otelc_exporter *otelc_memory_exporter_create(size_t keep);
/* Batches received since creation (or the last clear), kept or not. */
OTELC_API size_t otelc_memory_exporter_batches(otelc_exporter *exp);
OTELC_API void otelc_memory_exporter_clear(otelc_exporter *exp);
/* Copies the encoded bytes of a kept batch (back = 0: the last one) into a malloc'd buffer. NULL if absent. */
OTELC_API uint8_t *otelc_memory_exporter_bytes(otelc_exporter *exp, size_t back, size_t *len);

typedef enum otelc_point_type {
  OTELC_POINT_SUM = 1,
  OTELC_POINT_GAUGE = 2,
  OTELC_POINT_HISTOGRAM = 3,
  OTELC_POINT_EXP_HISTOGRAM = 4,
} otelc_point_type;

/* A data point found in a kept batch. Pointers stay valid until the batch falls out of the window (keep
 * more batches than you export between lookups) or the exporter is cleared. */
typedef struct otelc_point {
  otelc_point_type type;
  bool is_double;             /* sums and gauges: the value is as_double, else as_int */
  bool monotonic;             /* sums */
  bool delta;                 /* sums and histograms: delta (else cumulative) */
  int64_t as_int;
  double as_double;
  uint64_t start_time_ns, time_ns;
  size_t n_attrs;
  /* histograms */
  uint64_t count;
  double sum, min, max;
  bool has_min_max;
  size_t n_bounds;            /* explicit: bucket_counts has n_bounds + 1 entries */
  const double *bounds;
  const uint64_t *bucket_counts;
  int32_t scale;              /* exponential */
  uint64_t zero_count;
  int32_t pos_offset, neg_offset;
  size_t n_pos, n_neg;
  const uint64_t *pos, *neg;
} otelc_point;

/* Finds the point of metric `name` whose attribute set equals attrs (any order; n_attrs 0 = no attributes) in
 * kept batch `back` (0 = last). Returns 1 and fills *out if found, 0 if not. */
OTELC_API int otelc_memory_exporter_find(otelc_exporter *exp, size_t back, const char *name, const otelc_attr *attrs,
                                         size_t n_attrs, otelc_point *out);
/* Number of points of metric `name` in batch `back`; -1 when the metric is absent (or the batch). */
OTELC_API long otelc_memory_exporter_point_count(otelc_exporter *exp, size_t back, const char *name);
/* Copies a string resource attribute (or an int one, printed) of batch `back` into buf; returns 1 if found. */
OTELC_API int otelc_memory_exporter_resource_attr(otelc_exporter *exp, size_t back, const char *key, char *buf,
                                                  size_t bufsize);
/* The description/unit of metric `name` in batch `back` (pointers valid like otelc_point's); 1 if found. */
OTELC_API int otelc_memory_exporter_metric_info(otelc_exporter *exp, size_t back, const char *name,
                                                const char **description, const char **unit,
                                                const char **scope_name);

#ifdef __cplusplus
}
#endif

#endif
