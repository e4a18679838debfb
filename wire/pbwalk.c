/* pbwalk.c — validating, non-allocating walk over protobuf wire format (see pbwalk.h).
 *
 * The schema is a static table: one row per message type, indexed by field number (OTLP's largest is 14), each
 * entry saying how the field is encoded and, for sub-messages, which row describes the child. The walk keeps an
 * explicit stack of (end offset, message type, field) frames instead of recursing. */
#include "wire/pbwalk.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

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

static bool wire_type_fits(unsigned kind, unsigned wt) {
  switch (kind) {
  case K_NONE: return true;
  case K_VARINT: return wt == 0;
  case K_I64: return wt == 1;
  case K_PACKED_VARINT: return wt == 0 || wt == 2;
  case K_PACKED_I64: return wt == 1 || wt == 2;
  default: return wt == 2;
  }
}

/* Result of reading a varint. */
enum varint_status { VARINT_OK, VARINT_TRUNCATED, VARINT_TOO_LONG };

/* Reads a varint of at most `max_bytes` bytes from p[0..avail). Sets *value and *used on success. */
static enum varint_status read_varint(const uint8_t *p, size_t avail, unsigned max_bytes, uint64_t *value,
                                      size_t *used) {
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

typedef struct frame {
  size_t end;        /* offset one past the message */
  uint8_t type;      /* enum msg_type */
} frame;

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
static int __attribute__((format(printf, 3, 4))) fail_at(wire_err *err, size_t at, const char *fmt, ...) {
  if (!err) return -1;
  char why[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf at byte %zu: %s", at, why);
}

#define FAIL(at, ...) fail_at(err, (size_t)(at), __VA_ARGS__)

int pbwalk_validate(const uint8_t *data, size_t len, pbwalk_root root, unsigned max_depth, wire_err *err) {
  frame stack[PBWALK_DEPTH_CAP + 1];
  char fdesc[96];
  if ((unsigned)root >= sizeof root_types / sizeof root_types[0])
    return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf: unknown root message type %d", (int)root);
  if (max_depth > PBWALK_DEPTH_CAP) max_depth = PBWALK_DEPTH_CAP;
  if (len > INT32_MAX) return wire_err_set(err, WIRE_E_INVALID, "invalid protobuf: message of %zu bytes is over 2 GiB", len);

  unsigned depth = 0;
  stack[0].end = len;
  stack[0].type = root_types[root];
  size_t pos = 0;

  for (;;) {
    while (pos == stack[depth].end) {
      if (depth == 0) return 0;
      depth--;
    }
    const frame *f = &stack[depth];
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
      return FAIL(tag_at, "%s uses wire type %u (%s): groups are not supported",
                  describe_field(fdesc, sizeof fdesc, f->type, number), wt, wire_type_name(wt));
    if (wt > 5)
      return FAIL(tag_at, "%s has undefined wire type %u", describe_field(fdesc, sizeof fdesc, f->type, number), wt);

    const field_spec *fs = number < MAX_FIELD ? &m->fields[number] : NULL;
    unsigned kind = fs ? fs->kind : K_NONE;
    if (!wire_type_fits(kind, wt))
      return FAIL(tag_at, "%s has wire type %u (%s), expected %s", describe_field(fdesc, sizeof fdesc, f->type, number),
                  wt, wire_type_name(wt), expected_wire_types(kind));

    size_t val_at = pos;
    switch (wt) {
    case 0: {
      uint64_t v;
      vs = read_varint(data + pos, left, 10, &v, &used);
      if (vs == VARINT_TRUNCATED)
        return FAIL(val_at, "varint of %s is truncated (%zu bytes left)",
                    describe_field(fdesc, sizeof fdesc, f->type, number), left);
      if (vs == VARINT_TOO_LONG)
        return FAIL(val_at, "varint of %s is longer than 10 bytes", describe_field(fdesc, sizeof fdesc, f->type, number));
      pos += used;
      break;
    }
    case 1:
    case 5: {
      size_t need = wt == 1 ? 8 : 4;
      if (left < need)
        return FAIL(val_at, "%zu-byte value of %s is truncated (%zu bytes left)", need,
                    describe_field(fdesc, sizeof fdesc, f->type, number), left);
      pos += need;
      break;
    }
    case 2: {
      uint64_t n;
      vs = read_varint(data + pos, left, 5, &n, &used);
      if (vs == VARINT_TRUNCATED)
        return FAIL(val_at, "length of %s is truncated (%zu bytes left)",
                    describe_field(fdesc, sizeof fdesc, f->type, number), left);
      if (vs == VARINT_TOO_LONG)
        return FAIL(val_at, "length of %s is encoded in more than 5 bytes",
                    describe_field(fdesc, sizeof fdesc, f->type, number));
      pos += used;
      left -= used;
      if (n > left)
        return FAIL(val_at, "length %llu of %s runs past the end (%zu bytes left)", (unsigned long long)n,
                    describe_field(fdesc, sizeof fdesc, f->type, number), left);
      size_t body = pos, body_end = pos + (size_t)n;
      if (kind == K_MESSAGE) {
        if (depth + 1 > max_depth)
          return FAIL(tag_at, "%s nests deeper than %u messages", describe_field(fdesc, sizeof fdesc, f->type, number),
                      max_depth);
        depth++;
        stack[depth].end = body_end;
        stack[depth].type = fs->child;
        continue; /* pos stays at the start of the child's body */
      }
      if (kind == K_PACKED_I64 && n % 8 != 0)
        return FAIL(body, "packed %s has %llu bytes, not a multiple of 8",
                    describe_field(fdesc, sizeof fdesc, f->type, number), (unsigned long long)n);
      if (kind == K_PACKED_VARINT) {
        size_t p = body;
        while (p < body_end) {
          uint64_t v;
          vs = read_varint(data + p, body_end - p, 10, &v, &used);
          if (vs != VARINT_OK)
            return FAIL(p, "packed %s holds a %s varint", describe_field(fdesc, sizeof fdesc, f->type, number),
                        vs == VARINT_TRUNCATED ? "truncated" : "over-long");
          p += used;
        }
      }
      pos = body_end;
      break;
    }
    }
  }
}
