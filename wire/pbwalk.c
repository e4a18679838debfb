/* pbwalk.c — validating, non-allocating walk over protobuf wire format (see pbwalk.h).
 *
 * The schema is a static table: one row per message type, indexed by field number (OTLP's largest is 14), each
 * entry saying how the field is encoded and, for sub-messages, which row describes the child. The walk keeps an
 * explicit stack of (end offset, message type, field) frames instead of recursing.
 *
 * The same loop serves pbwalk_validate and pbwalk_scan_request (one always-inlined body, instantiated twice, so
 * validation alone pays nothing for the scan). The scan adds, per frame, the little state the semantic checks of
 * wire_otlp_check_request need (a metric's name length and data case, a sum's temporality, a histogram point's
 * bucket and bound counts...), judged when the frame ends, plus a UTF-8 check of every string. Anything it
 * cannot prove harmless — including encodings where protobuf-c's reading differs from a plain concatenation of
 * the wire (a singular message field or a oneof given twice) — makes the request "not clean", and the caller
 * decodes it the ordinary way. */
#include "wire/pbwalk.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* How a known field is encoded. */
enum field_kind {
  K_NONE = 0,     /* not in the schema: any valid wire type, skipped */
  K_VARINT,       /* int32/int64/uint32/uint64/sint32/bool/enum: wire type 0 */
  K_I64,          /* fixed64/sfixed64/double: wire type 1 */
  K_STRING,       /* string: wire type 2 */
  K_BYTES,        /* bytes: wire type 2 */
  K_MESSAGE,      /* embedded message: wire type 2, walked into */
  K_PACKED_VARINT,/* repeated varint scalar: wire type 2 (packed) or 0 */
  K_PACKED_I64,   /* repeated 64-bit scalar: wire type 2 (packed) or 1 */
};

/* Message types of the schema. */
enum msg_type {
  M_EXPORT_REQUEST,
  M_EXPORT_RESPONSE,
  M_PARTIAL_SUCCESS,
  M_RESOURCE_METRICS,
  M_RESOURCE,
  M_ENTITY_REF,
  M_SCOPE_METRICS,
  M_SCOPE,
  M_METRIC,
  M_GAUGE,
  M_SUM,
  M_HISTOGRAM,
  M_EXP_HISTOGRAM,
  M_SUMMARY,
  M_NUMBER_POINT,
  M_HISTOGRAM_POINT,
  M_EXP_HISTOGRAM_POINT,
  M_BUCKETS,
  M_SUMMARY_POINT,
  M_VALUE_AT_QUANTILE,
  M_EXEMPLAR,
  M_KEY_VALUE,
  M_ANY_VALUE,
  M_ARRAY_VALUE,
  M_KEY_VALUE_LIST,
  M_RPC_STATUS,
  M_RPC_ANY,
  M_RPC_RETRY_INFO,
  M_RPC_DURATION,
  M_COUNT
};

#define MAX_FIELD 15 /* field numbers 1..14 are tabled; larger ones are unknown */

typedef struct field_spec {
  uint8_t kind;  /* enum field_kind */
  uint8_t child; /* enum msg_type, for K_MESSAGE */
  const char *name;
} field_spec;

typedef struct msg_spec {
  const char *name;
  field_spec fields[MAX_FIELD];
} msg_spec;

#define MSG(c, n) {K_MESSAGE, c, n}
#define VARINT(n) {K_VARINT, 0, n}
#define I64(n) {K_I64, 0, n}
#define STR(n) {K_STRING, 0, n}
#define BYTES(n) {K_BYTES, 0, n}

static const msg_spec schema[M_COUNT] = {
  [M_EXPORT_REQUEST] = {"ExportMetricsServiceRequest", {[1] = MSG(M_RESOURCE_METRICS, "resource_metrics")}},
  [M_EXPORT_RESPONSE] = {"ExportMetricsServiceResponse", {[1] = MSG(M_PARTIAL_SUCCESS, "partial_success")}},
  [M_PARTIAL_SUCCESS] = {"ExportMetricsPartialSuccess",
                         {[1] = VARINT("rejected_data_points"), [2] = STR("error_message")}},
  [M_RESOURCE_METRICS] = {"ResourceMetrics",
                          {[1] = MSG(M_RESOURCE, "resource"), [2] = MSG(M_SCOPE_METRICS, "scope_metrics"),
                           [3] = STR("schema_url")}},
  [M_RESOURCE] = {"Resource",
                  {[1] = MSG(M_KEY_VALUE, "attributes"), [2] = VARINT("dropped_attributes_count"),
                   [3] = MSG(M_ENTITY_REF, "entity_refs")}},
  [M_ENTITY_REF] = {"EntityRef",
                    {[1] = STR("schema_url"), [2] = STR("type"), [3] = STR("id_keys"), [4] = STR("description_keys")}},
  [M_SCOPE_METRICS] = {"ScopeMetrics",
                       {[1] = MSG(M_SCOPE, "scope"), [2] = MSG(M_METRIC, "metrics"), [3] = STR("schema_url")}},
  [M_SCOPE] = {"InstrumentationScope",
               {[1] = STR("name"), [2] = STR("version"), [3] = MSG(M_KEY_VALUE, "attributes"),
                [4] = VARINT("dropped_attributes_count")}},
  [M_METRIC] = {"Metric",
                {[1] = STR("name"), [2] = STR("description"), [3] = STR("unit"), [5] = MSG(M_GAUGE, "gauge"),
                 [7] = MSG(M_SUM, "sum"), [9] = MSG(M_HISTOGRAM, "histogram"),
                 [10] = MSG(M_EXP_HISTOGRAM, "exponential_histogram"), [11] = MSG(M_SUMMARY, "summary"),
                 [12] = MSG(M_KEY_VALUE, "metadata")}},
  [M_GAUGE] = {"Gauge", {[1] = MSG(M_NUMBER_POINT, "data_points")}},
  [M_SUM] = {"Sum",
             {[1] = MSG(M_NUMBER_POINT, "data_points"), [2] = VARINT("aggregation_temporality"),
              [3] = VARINT("is_monotonic")}},
  [M_HISTOGRAM] = {"Histogram",
                   {[1] = MSG(M_HISTOGRAM_POINT, "data_points"), [2] = VARINT("aggregation_temporality")}},
  [M_EXP_HISTOGRAM] = {"ExponentialHistogram",
                       {[1] = MSG(M_EXP_HISTOGRAM_POINT, "data_points"), [2] = VARINT("aggregation_temporality")}},
  [M_SUMMARY] = {"Summary", {[1] = MSG(M_SUMMARY_POINT, "data_points")}},
  [M_NUMBER_POINT] = {"NumberDataPoint",
                      {[2] = I64("start_time_unix_nano"), [3] = I64("time_unix_nano"), [4] = I64("as_double"),
                       [5] = MSG(M_EXEMPLAR, "exemplars"), [6] = I64("as_int"), [7] = MSG(M_KEY_VALUE, "attributes"),
                       [8] = VARINT("flags")}},
  [M_HISTOGRAM_POINT] = {"HistogramDataPoint",
                         {[2] = I64("start_time_unix_nano"), [3] = I64("time_unix_nano"), [4] = I64("count"),
                          [5] = I64("sum"), [6] = {K_PACKED_I64, 0, "bucket_counts"},
                          [7] = {K_PACKED_I64, 0, "explicit_bounds"}, [8] = MSG(M_EXEMPLAR, "exemplars"),
                          [9] = MSG(M_KEY_VALUE, "attributes"), [10] = VARINT("flags"), [11] = I64("min"),
                          [12] = I64("max")}},
  [M_EXP_HISTOGRAM_POINT] = {"ExponentialHistogramDataPoint",
                             {[1] = MSG(M_KEY_VALUE, "attributes"), [2] = I64("start_time_unix_nano"),
                              [3] = I64("time_unix_nano"), [4] = I64("count"), [5] = I64("sum"),
                              [6] = VARINT("scale"), [7] = I64("zero_count"), [8] = MSG(M_BUCKETS, "positive"),
                              [9] = MSG(M_BUCKETS, "negative"), [10] = VARINT("flags"),
                              [11] = MSG(M_EXEMPLAR, "exemplars"), [12] = I64("min"), [13] = I64("max"),
                              [14] = I64("zero_threshold")}},
  [M_BUCKETS] = {"Buckets", {[1] = VARINT("offset"), [2] = {K_PACKED_VARINT, 0, "bucket_counts"}}},
  [M_SUMMARY_POINT] = {"SummaryDataPoint",
                       {[2] = I64("start_time_unix_nano"), [3] = I64("time_unix_nano"), [4] = I64("count"),
                        [5] = I64("sum"), [6] = MSG(M_VALUE_AT_QUANTILE, "quantile_values"),
                        [7] = MSG(M_KEY_VALUE, "attributes"), [8] = VARINT("flags")}},
  [M_VALUE_AT_QUANTILE] = {"ValueAtQuantile", {[1] = I64("quantile"), [2] = I64("value")}},
  [M_EXEMPLAR] = {"Exemplar",
                  {[2] = I64("time_unix_nano"), [3] = I64("as_double"), [4] = BYTES("span_id"),
                   [5] = BYTES("trace_id"), [6] = I64("as_int"), [7] = MSG(M_KEY_VALUE, "filtered_attributes")}},
  [M_KEY_VALUE] = {"KeyValue", {[1] = STR("key"), [2] = MSG(M_ANY_VALUE, "value")}},
  [M_ANY_VALUE] = {"AnyValue",
                   {[1] = STR("string_value"), [2] = VARINT("bool_value"), [3] = VARINT("int_value"),
                    [4] = I64("double_value"), [5] = MSG(M_ARRAY_VALUE, "array_value"),
                    [6] = MSG(M_KEY_VALUE_LIST, "kvlist_value"), [7] = BYTES("bytes_value")}},
  [M_ARRAY_VALUE] = {"ArrayValue", {[1] = MSG(M_ANY_VALUE, "values")}},
  [M_KEY_VALUE_LIST] = {"KeyValueList", {[1] = MSG(M_KEY_VALUE, "values")}},
  [M_RPC_STATUS] = {"Status", {[1] = VARINT("code"), [2] = STR("message"), [3] = MSG(M_RPC_ANY, "details")}},
  [M_RPC_ANY] = {"Any", {[1] = STR("type_url"), [2] = BYTES("value")}},
  [M_RPC_RETRY_INFO] = {"RetryInfo", {[1] = MSG(M_RPC_DURATION, "retry_delay")}},
  [M_RPC_DURATION] = {"Duration", {[1] = VARINT("seconds"), [2] = VARINT("nanos")}},
};

static const uint8_t root_types[] = {
  [PBWALK_EXPORT_METRICS_REQUEST] = M_EXPORT_REQUEST,
  [PBWALK_EXPORT_METRICS_RESPONSE] = M_EXPORT_RESPONSE,
  [PBWALK_RPC_STATUS] = M_RPC_STATUS,
  [PBWALK_RPC_RETRY_INFO] = M_RPC_RETRY_INFO,
};

static const char *wire_type_name(unsigned wt) {
  switch (wt) {
  case 0: return "varint";
  case 1: return "64-bit";
  case 2: return "length-delimited";
  case 3: return "start-group";
  case 4: return "end-group";
  case 5: return "32-bit";
  default: return "undefined";
  }
}

static const char *expected_wire_types(unsigned kind) {
  switch (kind) {
  case K_VARINT: return "0 (varint)";
  case K_I64: return "1 (64-bit)";
  case K_PACKED_VARINT: return "0 (varint) or 2 (packed)";
  case K_PACKED_I64: return "1 (64-bit) or 2 (packed)";
  default: return "2 (length-delimited)";
  }
}

/* Wire types each kind accepts, as a bit mask (bit n: wire type n). */
static const uint8_t fitting_wire_types[] = {
  [K_NONE] = 1u << 0 | 1u << 1 | 1u << 2 | 1u << 5, /* groups (3, 4) and 6, 7 are rejected before */
  [K_VARINT] = 1u << 0,
  [K_I64] = 1u << 1,
  [K_STRING] = 1u << 2,
  [K_BYTES] = 1u << 2,
  [K_MESSAGE] = 1u << 2,
  [K_PACKED_VARINT] = 1u << 0 | 1u << 2,
  [K_PACKED_I64] = 1u << 1 | 1u << 2,
};

static inline bool wire_type_fits(unsigned kind, unsigned wt) { return (fitting_wire_types[kind] >> wt) & 1; }

/* Result of reading a varint. */
enum varint_status { VARINT_OK, VARINT_TRUNCATED, VARINT_TOO_LONG };

/* Reads a varint of at most `max_bytes` bytes from p[0..avail). Sets *value and *used on success. */
static inline enum varint_status read_varint(const uint8_t *p, size_t avail, unsigned max_bytes, uint64_t *value,
                                             size_t *used) {
  if (avail > 0 && p[0] < 0x80) { /* the common case: one byte */
    *value = p[0];
    *used = 1;
    return VARINT_OK;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < max_bytes; i++) {
    if (i >= avail) return VARINT_TRUNCATED;
    uint8_t b = p[i];
    if (i < 10) v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *value = v;
      *used = i + 1;
      return VARINT_OK;
    }
  }
  return VARINT_TOO_LONG;
}

/* What the scan keeps per open message, by message type (zeroed when the message starts). */
typedef union scan_state {
  struct {
    uint64_t name_len; /* length of the last `name` */
    uint64_t points;   /* data points of its data message */
    bool data_ok;      /* its data message ended with a valid temporality (or needs none) */
  } metric;
  struct {
    uint64_t points;      /* data_points entries */
    uint64_t temporality; /* last aggregation_temporality (0: unspecified) */
  } data;                 /* Gauge, Sum, Histogram, ExponentialHistogram, Summary */
  struct {
    uint64_t flags;
    bool has_value;
  } number;
  struct {
    uint64_t buckets, bounds; /* elements of bucket_counts and explicit_bounds */
    double last;              /* the last bound seen */
    bool disordered;          /* a NaN bound, or one not above the previous */
  } histogram;
  struct {
    uint64_t scale; /* the raw varint of the last `scale` (sint32) */
  } exp;
  struct {
    uint64_t offset; /* the raw varint of the last `offset` (sint32) */
    uint64_t counts; /* bucket_counts elements */
  } buckets;
  struct {
    uint64_t trace_len, span_len;
  } exemplar;
  struct {
    double quantile;
  } quantile;
} scan_state;

typedef struct frame {
  size_t end;    /* offset one past the message */
  uint32_t at;   /* offset of the tag that opened it */
  uint8_t type;  /* enum msg_type */
  uint8_t merge; /* MERGE_* bits (see below) */
  uint16_t seen; /* scan: fields that may occur once, seen so far (bit = field number) */
  scan_state s;  /* scan only */
} frame;

/* protobuf-c 1.4 merges a singular sub-message given twice, and its merge fails (unpack returns NULL, as if out
 * of memory) when a oneof is set in neither occurrence. In OTLP that is KeyValue.value: an AnyValue without a
 * value, twice. The walk rejects it, so that what passes the walk is what protobuf-c unpacks. */
enum {
  MERGE_ONEOF_SET = 1, /* AnyValue: a member of its oneof occurred */
  MERGE_VALUE_SEEN = 2, /* KeyValue: `value` occurred */
  MERGE_VALUE_SET = 4,  /* KeyValue: an occurrence of `value` set the AnyValue's oneof */
};

/* What the scan does with a field (besides checking the text of every string field), by message type and field
 * number:
 *  S_ONCE  the field must occur at most once for the bytes to mean what a decode + re-encode would produce (a
 *          singular sub-message: protobuf-c merges repeats);
 *  S_ONEOF the same for a oneof member: at most one member of the message's oneof (protobuf-c keeps the last);
 *  S_SEM   the field feeds a semantic check (scan_field's switch). */
enum { S_ONCE = 1, S_ONEOF = 2, S_SEM = 4 };
static const uint8_t scan_actions[M_COUNT][MAX_FIELD] = {
  [M_RESOURCE_METRICS] = {[1] = S_ONCE},
  [M_SCOPE_METRICS] = {[1] = S_ONCE},
  [M_METRIC] = {[1] = S_SEM, [5] = S_ONEOF, [7] = S_ONEOF, [9] = S_ONEOF, [10] = S_ONEOF, [11] = S_ONEOF},
  [M_GAUGE] = {[1] = S_SEM},
  [M_SUM] = {[1] = S_SEM, [2] = S_SEM},
  [M_HISTOGRAM] = {[1] = S_SEM, [2] = S_SEM},
  [M_EXP_HISTOGRAM] = {[1] = S_SEM, [2] = S_SEM},
  [M_SUMMARY] = {[1] = S_SEM},
  [M_NUMBER_POINT] = {[4] = S_SEM, [6] = S_SEM, [8] = S_SEM},
  [M_HISTOGRAM_POINT] = {[6] = S_SEM, [7] = S_SEM},
  [M_EXP_HISTOGRAM_POINT] = {[6] = S_SEM, [8] = S_ONCE, [9] = S_ONCE},
  [M_BUCKETS] = {[1] = S_SEM, [2] = S_SEM},
  [M_EXEMPLAR] = {[4] = S_SEM, [5] = S_SEM},
  [M_VALUE_AT_QUANTILE] = {[1] = S_SEM},
  [M_KEY_VALUE] = {[2] = S_ONCE},
  [M_ANY_VALUE] = {[1] = S_ONEOF, [2] = S_ONEOF, [3] = S_ONEOF, [4] = S_ONEOF, [5] = S_ONEOF, [6] = S_ONEOF,
                   [7] = S_ONEOF},
};
/* The oneof of a message type, as a bit mask of field numbers (for S_ONEOF). */
static const uint16_t oneof_fields[M_COUNT] = {
  [M_METRIC] = 1u << 5 | 1u << 7 | 1u << 9 | 1u << 10 | 1u << 11,
  [M_ANY_VALUE] = 0xfe, /* 1..7 */
};
/* Message types judged when they end (scan_end), whose scan_state must start zeroed. */
static const bool judged_at_end[M_COUNT] = {
  [M_METRIC] = true,          [M_GAUGE] = true,           [M_SUM] = true,
  [M_HISTOGRAM] = true,       [M_EXP_HISTOGRAM] = true,   [M_SUMMARY] = true,
  [M_NUMBER_POINT] = true,    [M_HISTOGRAM_POINT] = true, [M_EXP_HISTOGRAM_POINT] = true,
  [M_BUCKETS] = true,         [M_EXEMPLAR] = true,        [M_VALUE_AT_QUANTILE] = true,
};

/* A string proto3 and the check pass accept unchanged: valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF) and no NUL (protobuf-c's C strings would end there). */
static bool text_ok(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i + 8 <= n) { /* ASCII without NUL, 8 bytes at a time */
    uint64_t x;
    memcpy(&x, p + i, 8);
    if ((x & 0x8080808080808080ull) || ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull)) break;
    i += 8;
  }
  while (i < n) {
    uint8_t c = p[i];
    if (c != 0 && c < 0x80) {
      i++;
      continue;
    }
    if (c == 0) return false;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      else if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; k++)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

static double read_double(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 7; i >= 0; i--) u = u << 8 | p[i];
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* A sint32 as protobuf-c reads it from a varint, or false when the varint is wider than 32 bits. */
static bool sint32_of(uint64_t raw, int32_t *out) {
  if (raw > UINT32_MAX) return false;
  uint32_t u = (uint32_t)raw;
  *out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

/* Scan: the actions of one field of frame f (number < MAX_FIELD, actions != 0). wt/v: wire type and varint value
 * (wt 0); body/n: the payload (wt 1: 8 bytes, wt 2: n bytes); packed_varints: elements of a packed varint field.
 * Called only while the request is still clean. */
static inline __attribute__((always_inline)) void scan_field(pbwalk_scan *sc, frame *f, unsigned actions,
                                                             unsigned number, unsigned wt, uint64_t v,
                                                             const uint8_t *body, size_t n, uint64_t packed_varints) {
  if (actions & (S_ONCE | S_ONEOF)) {
    uint16_t bit = (uint16_t)(1u << number);
    uint16_t clash = actions & S_ONEOF ? oneof_fields[f->type] : bit;
    if (f->seen & clash) {
      sc->clean = false;
      return;
    }
    f->seen |= bit;
  }
  if (!(actions & S_SEM)) return;
  switch (f->type) {
  case M_METRIC: /* only `name` is S_SEM */
    f->s.metric.name_len = n;
    break;
  case M_GAUGE:
  case M_SUMMARY:
    if (number == 1) f->s.data.points++;
    break;
  case M_SUM:
  case M_HISTOGRAM:
  case M_EXP_HISTOGRAM:
    if (number == 1) f->s.data.points++;
    else if (number == 2) f->s.data.temporality = v;
    break;
  case M_NUMBER_POINT:
    if (number == 4 || number == 6) f->s.number.has_value = true;
    else if (number == 8) f->s.number.flags = v;
    break;
  case M_HISTOGRAM_POINT:
    if (number == 6) {
      f->s.histogram.buckets += wt == 2 ? n / 8 : 1;
    } else if (number == 7) {
      size_t count = wt == 2 ? n / 8 : 1;
      for (size_t i = 0; i < count; i++) {
        double x = read_double(body + 8 * i);
        if (isnan(x) || (f->s.histogram.bounds > 0 && !(x > f->s.histogram.last))) f->s.histogram.disordered = true;
        f->s.histogram.last = x;
        f->s.histogram.bounds++;
      }
    }
    break;
  case M_EXP_HISTOGRAM_POINT:
    if (number == 6) f->s.exp.scale = v;
    break;
  case M_BUCKETS:
    if (number == 1) f->s.buckets.offset = v;
    else if (number == 2) f->s.buckets.counts += wt == 2 ? packed_varints : 1;
    break;
  case M_EXEMPLAR:
    if (number == 5) f->s.exemplar.trace_len = n;
    else if (number == 4) f->s.exemplar.span_len = n;
    break;
  case M_VALUE_AT_QUANTILE:
    if (number == 1) f->s.quantile.quantile = read_double(body);
    break;
  default: break;
  }
}

/* Scan: message c (whose parent is p) ends; judge it with what it gathered. */
static void scan_end(pbwalk_scan *sc, const frame *c, frame *p) {
  switch (c->type) {
  case M_METRIC:
    if (!(c->seen & oneof_fields[M_METRIC]) || c->s.metric.name_len == 0 || !c->s.metric.data_ok) sc->clean = false;
    else sc->points += c->s.metric.points;
    break;
  case M_GAUGE:
  case M_SUMMARY:
    p->s.metric.points = c->s.data.points;
    p->s.metric.data_ok = true;
    break;
  case M_SUM:
  case M_HISTOGRAM:
  case M_EXP_HISTOGRAM:
    p->s.metric.points = c->s.data.points;
    p->s.metric.data_ok = c->s.data.temporality == 1 || c->s.data.temporality == 2;
    break;
  case M_NUMBER_POINT:
    if (!c->s.number.has_value && !(c->s.number.flags & 1)) sc->clean = false;
    break;
  case M_HISTOGRAM_POINT: {
    uint64_t nb = c->s.histogram.buckets, ne = c->s.histogram.bounds;
    if ((nb == 0 ? ne != 0 : nb != ne + 1) || c->s.histogram.disordered) sc->clean = false;
    break;
  }
  case M_EXP_HISTOGRAM_POINT: {
    int32_t scale;
    if (!sint32_of(c->s.exp.scale, &scale) || scale < -10 || scale > 20) sc->clean = false;
    break;
  }
  case M_BUCKETS: {
    int32_t offset;
    if (!sint32_of(c->s.buckets.offset, &offset) ||
        (int64_t)offset + (int64_t)c->s.buckets.counts > (int64_t)INT32_MAX + 1)
      sc->clean = false;
    break;
  }
  case M_EXEMPLAR:
    if ((c->s.exemplar.trace_len != 0 && c->s.exemplar.trace_len != 16) ||
        (c->s.exemplar.span_len != 0 && c->s.exemplar.span_len != 8))
      sc->clean = false;
    break;
  case M_VALUE_AT_QUANTILE:
    if (!(c->s.quantile.quantile >= 0.0 && c->s.quantile.quantile <= 1.0)) sc->clean = false;
    break;
  default: break;
  }
}

/* Writes "field N (Msg.name)" or "field N (unknown to Msg)" into buf. */
static const char *describe_field(char *buf, size_t cap, uint8_t type, uint64_t number) {
  const msg_spec *m = &schema[type];
  if (number < MAX_FIELD && m->fields[number].kind != K_NONE)
    snprintf(buf, cap, "field %llu (%s.%s)", (unsigned long long)number, m->name, m->fields[number].name);
  else
    snprintf(buf, cap, "field %llu (unknown to %s)", (unsigned long long)number, m->name);
  return buf;
}

/* Sets *err to "invalid protobuf at byte <at>: <formatted reason>" and returns -1. */
static int __attribute__((format(printf, 3, 4), noinline, cold)) fail_at(wire_err *err, size_t at, const char *fmt,
                                                                         ...) {
  if (!err) return -1;
  char why[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf at byte %zu: %s", at, why);
}

#define FAIL(at, ...) fail_at(err, (size_t)(at), __VA_ARGS__)
#define FIELD(number) describe_field(fdesc, sizeof fdesc, f->type, number)

/* The walk. sc == NULL: validation only (the scan code folds away where this is inlined with a NULL). */
static inline __attribute__((always_inline)) int walk(const uint8_t *data, size_t len, pbwalk_root root,
                                                      unsigned max_depth, pbwalk_scan *sc, wire_err *err) {
  frame stack[PBWALK_DEPTH_CAP + 1];
  char fdesc[96];
  if ((unsigned)root >= sizeof root_types / sizeof root_types[0])
    return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf: unknown root message type %d", (int)root);
  if (max_depth > PBWALK_DEPTH_CAP) max_depth = PBWALK_DEPTH_CAP;
  if (len > INT32_MAX)
    return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf: message of %zu bytes is over 2 GiB", len);

  unsigned depth = 0;
  stack[0].end = len;
  stack[0].type = root_types[root];
  stack[0].at = 0;
  stack[0].merge = 0;
  if (sc) {
    stack[0].seen = 0;
    memset(&stack[0].s, 0, sizeof stack[0].s);
  }
  size_t pos = 0;

  for (;;) {
    while (pos == stack[depth].end) {
      if (depth == 0) return 0;
      frame *c = &stack[depth], *p = &stack[depth - 1];
      if (c->type == M_ANY_VALUE && p->type == M_KEY_VALUE) {
        if ((p->merge & MERGE_VALUE_SEEN) && !(p->merge & MERGE_VALUE_SET) && !(c->merge & MERGE_ONEOF_SET))
          return FAIL(c->at, "field 2 (KeyValue.value) occurs again and neither occurrence has a value "
                             "(protobuf-c cannot merge them)");
        p->merge |= MERGE_VALUE_SEEN | (c->merge & MERGE_ONEOF_SET ? MERGE_VALUE_SET : 0);
      }
      if (sc && sc->clean && judged_at_end[c->type]) scan_end(sc, c, p);
      depth--;
    }
    frame *f = &stack[depth];
    const msg_spec *m = &schema[f->type];
    size_t left = f->end - pos;
    size_t tag_at = pos;

    uint64_t tag;
    size_t used;
    enum varint_status vs = read_varint(data + pos, left, 5, &tag, &used);
    if (vs == VARINT_TRUNCATED) return FAIL(tag_at, "tag truncated at the end of %s", m->name);
    if (vs == VARINT_TOO_LONG) return FAIL(tag_at, "tag in %s is longer than 5 bytes", m->name);
    if (tag > UINT32_MAX) return FAIL(tag_at, "tag in %s exceeds 32 bits", m->name);
    pos += used;
    left -= used;
    uint64_t number = tag >> 3;
    unsigned wt = (unsigned)(tag & 7);
    if (number == 0) return FAIL(tag_at, "field number 0 in %s", m->name);
    if (wt == 3 || wt == 4)
      return FAIL(tag_at, "%s uses wire type %u (%s): groups are not supported", FIELD(number), wt, wire_type_name(wt));
    if (wt > 5) return FAIL(tag_at, "%s has undefined wire type %u", FIELD(number), wt);

    const field_spec *fs = number < MAX_FIELD ? &m->fields[number] : NULL;
    unsigned kind = fs ? fs->kind : K_NONE;
    unsigned actions = sc && sc->clean && fs ? scan_actions[f->type][number] : 0;
    if (!wire_type_fits(kind, wt))
      return FAIL(tag_at, "%s has wire type %u (%s), expected %s", FIELD(number), wt, wire_type_name(wt),
                  expected_wire_types(kind));
    if (sc && f->type == M_EXPORT_REQUEST && number == 1) sc->resource_metrics++;
    if (f->type == M_ANY_VALUE && kind != K_NONE) f->merge |= MERGE_ONEOF_SET; /* its fields are all the oneof */

    size_t val_at = pos;
    switch (wt) {
    case 0: {
      uint64_t v;
      vs = read_varint(data + pos, left, 10, &v, &used);
      if (vs == VARINT_TRUNCATED)
        return FAIL(val_at, "varint of %s is truncated (%zu bytes left)", FIELD(number), left);
      if (vs == VARINT_TOO_LONG) return FAIL(val_at, "varint of %s is longer than 10 bytes", FIELD(number));
      if (actions) scan_field(sc, f, actions, (unsigned)number, wt, v, NULL, 0, 0);
      pos += used;
      break;
    }
    case 1:
    case 5: {
      size_t need = wt == 1 ? 8 : 4;
      if (left < need)
        return FAIL(val_at, "%zu-byte value of %s is truncated (%zu bytes left)", need, FIELD(number), left);
      if (actions) scan_field(sc, f, actions, (unsigned)number, wt, 0, data + pos, need, 0);
      pos += need;
      break;
    }
    case 2: {
      uint64_t n;
      vs = read_varint(data + pos, left, 5, &n, &used);
      if (vs == VARINT_TRUNCATED)
        return FAIL(val_at, "length of %s is truncated (%zu bytes left)", FIELD(number), left);
      if (vs == VARINT_TOO_LONG) return FAIL(val_at, "length of %s is encoded in more than 5 bytes", FIELD(number));
      pos += used;
      left -= used;
      if (n > left)
        return FAIL(val_at, "length %llu of %s runs past the end (%zu bytes left)", (unsigned long long)n,
                    FIELD(number), left);
      size_t body = pos, body_end = pos + (size_t)n;
      if (kind == K_MESSAGE) {
        if (depth + 1 > max_depth) return FAIL(tag_at, "%s nests deeper than %u messages", FIELD(number), max_depth);
        if (actions) scan_field(sc, f, actions, (unsigned)number, wt, 0, data + body, (size_t)n, 0);
        depth++;
        stack[depth].end = body_end;
        stack[depth].at = (uint32_t)tag_at;
        stack[depth].type = fs->child;
        stack[depth].merge = 0;
        if (sc) {
          stack[depth].seen = 0;
          if (judged_at_end[fs->child]) memset(&stack[depth].s, 0, sizeof stack[depth].s);
        }
        continue; /* pos stays at the start of the child's body */
      }
      if (kind == K_PACKED_I64 && n % 8 != 0)
        return FAIL(body, "packed %s has %llu bytes, not a multiple of 8", FIELD(number), (unsigned long long)n);
      uint64_t elements = 0;
      if (kind == K_PACKED_VARINT) {
        size_t p = body;
        while (p < body_end) {
          uint64_t v;
          vs = read_varint(data + p, body_end - p, 10, &v, &used);
          if (vs != VARINT_OK)
            return FAIL(p, "packed %s holds a %s varint", FIELD(number),
                        vs == VARINT_TRUNCATED ? "truncated" : "over-long");
          p += used;
          elements++;
        }
      }
      if (sc && sc->clean && kind == K_STRING && !text_ok(data + body, (size_t)n)) sc->clean = false;
      if (actions && sc->clean) scan_field(sc, f, actions, (unsigned)number, wt, 0, data + body, (size_t)n, elements);
      pos = body_end;
      break;
    }
    }
  }
}

int pbwalk_validate(const uint8_t *data, size_t len, pbwalk_root root, unsigned max_depth, wire_err *err) {
  return walk(data, len, root, max_depth, NULL, err);
}

int pbwalk_scan_request(const uint8_t *data, size_t len, unsigned max_depth, pbwalk_scan *out, wire_err *err) {
  static const uint8_t empty[1];
  out->points = 0;
  out->resource_metrics = 0;
  out->clean = true;
  int rc = walk(data ? data : empty, data ? len : 0, PBWALK_EXPORT_METRICS_REQUEST, max_depth, out, err);
  if (rc < 0) out->clean = false;
  return rc;
}

size_t pbwalk_next_field(const uint8_t *data, size_t len, size_t pos, uint32_t *number) {
  if (pos >= len) return 0;
  uint64_t tag, v;
  size_t used;
  if (read_varint(data + pos, len - pos, 5, &tag, &used) != VARINT_OK || (tag >> 3) == 0 || tag > UINT32_MAX) return 0;
  pos += used;
  size_t left = len - pos;
  switch (tag & 7) {
  case 0:
    if (read_varint(data + pos, left, 10, &v, &used) != VARINT_OK) return 0;
    pos += used;
    break;
  case 1:
    if (left < 8) return 0;
    pos += 8;
    break;
  case 5:
    if (left < 4) return 0;
    pos += 4;
    break;
  case 2:
    if (read_varint(data + pos, left, 5, &v, &used) != VARINT_OK || v > left - used) return 0;
    pos += used + (size_t)v;
    break;
  default: return 0;
  }
  if (number) *number = (uint32_t)(tag >> 3);
  return pos;
}
