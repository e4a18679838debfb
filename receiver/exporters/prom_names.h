/* prom_names.h — OTLP → Prometheus naming and text helpers of the Prometheus exporter.
 *
 * Follows the OpenTelemetry "Prometheus and OpenMetrics Compatibility" spec and what the Collector's
 * prometheusexporter (prometheus/otlptranslator, underscore escaping) does, so that a user moving from the Collector
 * sees the same metric and label names:
 *   - metric names: characters outside [a-zA-Z0-9:] split the name into tokens joined by one '_' (so runs collapse,
 *     leading/trailing '_' vanish); unit suffix from the UCUM unit ("s" → seconds, "By/s" → bytes_per_second,
 *     "{packets}" annotations dropped, "1" → nothing), `_total` for monotonic sums, `_ratio` for gauges with unit "1",
 *     the namespace as a prefix, '_' before a leading digit. Without add_metric_suffixes only invalid characters
 *     are replaced.
 *   - label names: characters outside [a-zA-Z0-9_] become '_' (one per UTF-8 character); a leading digit gets
 *     "key_", a single leading '_' gets "key" ("__" stays: reserved names); names made only of '_' are rejected.
 *   - label values and HELP text escaping, invalid UTF-8 replaced by U+FFFD.
 *   - numbers formatted like Go's strconv.FormatFloat(v, 'g', -1, 64), which the Collector uses for `le` and
 *     `quantile` label values, so bucket labels are the same strings.
 * Nothing here allocates except through the wire_buf given. */
#ifndef OTELC_RECEIVER_EXPORTERS_PROM_NAMES_H
#define OTELC_RECEIVER_EXPORTERS_PROM_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

/* What kind of metric a name is built for (decides the type suffix). */
typedef enum prom_name_kind {
  PROM_NAME_GAUGE,     /* OTLP gauge: `_ratio` when the unit is exactly "1" */
  PROM_NAME_UPDOWN,    /* non-monotonic sum, exposed as a gauge, no `_ratio` (as the Collector) */
  PROM_NAME_COUNTER,   /* monotonic sum: `_total` (any "total" token moved to the end) */
  PROM_NAME_HISTOGRAM, /* histogram and exponential histogram */
  PROM_NAME_SUMMARY,
} prom_name_kind;

/* Appends the Prometheus metric name for an OTLP metric to `out` (no NUL). `ns` is the configured namespace (may be
 * NULL/empty). Returns the number of bytes appended, or 0 when no valid name results (empty, only underscores) or
 * the buffer limit was hit: the caller drops the metric. */
size_t prom_metric_name(wire_buf *out, const char *name, const char *unit, prom_name_kind kind, const char *ns,
                        bool add_suffixes);

/* Appends the unit in Prometheus words ("s" → "seconds", "By/s" → "bytes_per_second", "1" → "", "{req}" → "");
 * returns the bytes appended. Used for the OpenMetrics UNIT line. */
size_t prom_unit_words(wire_buf *out, const char *unit);

/* Sanitises an attribute key into a label name. `out` needs room for 4 + len bytes. Returns the length written
 * (no NUL), or 0 when the key gives no usable name (empty, or only '_'). */
size_t prom_label_name(char *out, const char *key, size_t len);

/* Worst-case output size of prom_escape_value for an input of `len` bytes. */
#define PROM_ESCAPE_MAX(len) ((len) * 3)

/* Escapes a label value (or, with `help`, HELP text) into `out` (room: PROM_ESCAPE_MAX(len)); returns the length.
 * Label values: '\\' → "\\\\", '"' → "\\\"", '\n' → "\\n". HELP text in the Prometheus format escapes only '\\'
 * and '\n'; OpenMetrics HELP (help && openmetrics) also escapes '"'. Invalid UTF-8 becomes U+FFFD. */
size_t prom_escape_value(char *out, const char *v, size_t len, bool help, bool openmetrics);

/* Room for any number prom_fmt_* writes. */
#define PROM_NUM_MAX 40

/* Go-compatible shortest float: strconv.FormatFloat(v, 'g', -1, 64): "1", "0.5", "1e+06", "1.5e-07", "+Inf",
 * "-Inf", "NaN". Used for label values (le, quantile, double attributes). Returns the length (no NUL). */
size_t prom_fmt_float_go(char *out, double v);
/* OpenMetrics float: as above plus ".0" when the text has neither '.' nor 'e' ("1.0", "1e+06"). */
size_t prom_fmt_float_om(char *out, double v);
/* A sample value: integral values with |v| < 2^53 as plain integers ("1000000"), others as prom_fmt_float_go. */
size_t prom_fmt_value(char *out, double v);
size_t prom_fmt_i64(char *out, int64_t v);
size_t prom_fmt_u64(char *out, uint64_t v);

#endif
