/* otlp_json.c — OTLP/JSON decoding (json-c tree -> protobuf-c structs) and encoding (protobuf-c structs -> JSON
 * text written straight into a wire_buf). See otlp_json.h for the mapping and its rules.
 *
 * Both directions are driven by protobuf-c's message descriptors rather than by code per message: a field's
 * JSON key is its name in lowerCamelCase, its C member is at `offset`, its oneof case or repeated count at
 * `quantifier_offset`. That covers every OTLP message (and any field added to the .proto files later) with one
 * walk. The only per-field special case is OTLP's: bytes fields named trace_id and span_id are hex, not base64.
 *
 * Decoding builds what protobuf-c's own unpack builds, with the same ownership rules, so a malloc'd result (no
 * arena) is freed by protobuf_c_message_free_unpacked(), also when a decode fails half-way: every allocation is
 * linked into the message (and counted) before it is filled. */
#define _GNU_SOURCE /* strtod_l, newlocale, uselocale */
#include "wire/otlp_json.h"

#include <json-c/json.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decimal.h"

/* ---- Locale-independent number text ---------------------------------------------------------------------- */

/* JSON numbers use '.', whatever LC_NUMERIC the host process (nginx, a service using libotelc) has set. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t get_c_locale(void) {
  pthread_once(&c_locale_once, c_locale_init);
  return c_locale;
}

static double strtod_c(const char *s, char **end) {
  locale_t loc = get_c_locale();
  return loc ? strtod_l(s, end, loc) : strtod(s, end);
}

/* True if s[0..n) is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ("01" is let through:
 * harmless inside a string). *is_integer tells whether it has neither fraction nor exponent. */
static bool is_number_text(const char *s, size_t n, bool *is_integer) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  size_t d = i;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  if (i == d) return false;
  *is_integer = true;
  if (i < n && s[i] == '.') {
    i++;
    d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
    *is_integer = false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
    *is_integer = false;
  }
  return i == n;
}

/* True if the finite x has no fraction (without libm: doubles of 2^52 and more are all integers). */
static bool is_integral(double x) {
  if (x >= 4503599627370496.0 || x <= -4503599627370496.0) return true;
  return x == (double)(int64_t)x;
}

/* ==== Decoding ============================================================================================== */

/* One step of the path to the value being decoded: a field, and the element index for repeated fields. */
typedef struct path_step {
  const ProtobufCFieldDescriptor *field;
  long index; /* -1 when the field is not repeated */
} path_step;

typedef struct jdec {
  ProtobufCAllocator *alloc;
  otlp_arena *arena; /* NULL: malloc */
  wire_err *err;
  bool text_has_int_overflow; /* from the pre-scan: an integer literal somewhere is beyond 64 bits */
  unsigned depth;
  path_step path[WIRE_OTLP_JSON_DEPTH_CAP + 4];
} jdec;

static void *sys_alloc(void *data, size_t n) {
  (void)data;
  return malloc(n ? n : 1);
}
static void sys_free(void *data, void *p) {
  (void)data;
  free(p);
}
static ProtobufCAllocator sys_allocator = {sys_alloc, sys_free, NULL};

/* Writes a field name in lowerCamelCase ("time_unix_nano" -> "timeUnixNano"); returns the length written.
 * `dst` must have room for strlen(name) bytes. */
static size_t camel_name(char *dst, const char *name) {
  size_t k = 0;
  for (const char *p = name; *p; p++) {
    if (*p == '_' && p[1] >= 'a' && p[1] <= 'z') {
      dst[k++] = (char)(p[1] - 'a' + 'A');
      p++;
    } else {
      dst[k++] = *p;
    }
  }
  return k;
}

/* Renders the path ("resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt"); when it does not
 * fit in `cap` bytes, its end is kept ("...values[0].value.intValue"). */
static void render_path(const jdec *d, char *out, size_t cap) {
  unsigned first = d->depth;
  size_t room = cap - 4; /* "..." and the NUL */
  while (first > 0) {
    const path_step *s = &d->path[first - 1];
    size_t step = 1; /* the dot */
    for (const char *c = s->field->name; *c; c++) step += !(*c == '_' && c[1] >= 'a' && c[1] <= 'z');
    if (s->index >= 0) step += 2 + (size_t)snprintf(NULL, 0, "%ld", s->index);
    if (step > room) break;
    room -= step;
    first--;
  }
  size_t k = 0;
  if (first > 0) {
    memcpy(out, "...", 3);
    k = 3;
  }
  for (unsigned i = first; i < d->depth; i++) {
    const path_step *s = &d->path[i];
    if (i > first) out[k++] = '.';
    k += camel_name(out + k, s->field->name);
    if (s->index >= 0) k += (size_t)snprintf(out + k, cap - k, "[%ld]", s->index);
  }
  out[k] = '\0';
}

static int fail(jdec *d, wire_err_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(jdec *d, wire_err_code code, const char *fmt, ...) {
  char why[104], path[140]; /* with "otlp/json: " and ": ", fits the 256 bytes of wire_err.msg */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  render_path(d, path, sizeof path);
  return wire_err_set(d->err, code, "otlp/json: %s%s%s", path, path[0] ? ": " : "", why);
}

static void *dalloc(jdec *d, size_t n) {
  void *p = d->alloc->alloc(d->alloc->allocator_data, n);
  if (!p) {
    if (d->arena && d->arena->exhausted)
      fail(d, WIRE_E_LIMIT, "decoded message exceeds the arena's limit of %zu bytes", d->arena->limit);
    else
      fail(d, WIRE_E_NOMEM, "out of memory allocating %zu bytes", n);
  }
  return p;
}

static const char *json_kind(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "a boolean";
  case json_type_double:
  case json_type_int: return "a number";
  case json_type_string: return "a string";
  case json_type_object: return "an object";
  case json_type_array: return "an array";
  }
  return "something else";
}

/* ---- Pre-scan ---------------------------------------------------------------------------------------------- */

typedef struct prescan {
  size_t objects, arrays, scalars;
  bool int_overflow;
} prescan;

/* Measured json-c 0.16 costs (x86-64, glibc): an object ~790 bytes (its hash table starts with 16 entries),
 * an array ~160, a string, number or literal ~100. */
#define TREE_COST_OBJECT 800
#define TREE_COST_ARRAY 160
#define TREE_COST_SCALAR 100

/* One pass over the text, outside json-c: counts what json-c will allocate, notes integer literals that do not
 * fit 64 bits (json-c clamps them silently), and rejects what RFC 8259 forbids but json-c lets through even in
 * strict mode: single-quoted strings, NaN and Infinity literals, numbers like "1." or "1.e5", raw control
 * characters in strings and NUL bytes. Other syntax errors are left to json-c. Offsets count from `base`. */
static int prescan_text(const uint8_t *p, size_t n, size_t base, prescan *ps, wire_err *err) {
  memset(ps, 0, sizeof *ps);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '"') {
      ps->scalars++;
      for (i++; i < n; i++) {
        c = p[i];
        if (c == '"') break;
        if (c == '\\') {
          i++;
          continue;
        }
        if (c < 0x20)
          return wire_err_set(err, WIRE_E_INVALID,
                              "otlp/json: invalid JSON at byte %zu: control character 0x%02x inside a string",
                              base + i, c);
      }
    } else if (c == '{') {
      ps->objects++;
    } else if (c == '[') {
      ps->arrays++;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      ps->scalars++;
      size_t start = i;
      while (i < n && (p[i] == '.' || p[i] == 'e' || p[i] == 'E' || p[i] == '+' || p[i] == '-' ||
                       (p[i] >= '0' && p[i] <= '9')))
        i++;
      bool integer = false;
      if (!is_number_text((const char *)p + start, i - start, &integer))
        return wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: malformed number",
                            base + start);
      if (integer) {
        size_t k = start + (p[start] == '-');
        uint64_t mag = 0;
        bool overflow = false;
        for (; k < i; k++) {
          unsigned digit = p[k] - '0';
          if (mag > (UINT64_MAX - digit) / 10) overflow = true;
          else mag = mag * 10 + digit;
        }
        if (overflow || (p[start] == '-' && mag > (uint64_t)INT64_MAX + 1)) ps->int_overflow = true;
      }
      i--;
    } else if (c >= 'a' && c <= 'z') { /* true, false, null: json-c checks the spelling */
      ps->scalars++;
      while (i + 1 < n && p[i + 1] >= 'a' && p[i + 1] <= 'z') i++;
    } else if (c == 0) {
      return wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: NUL byte", base + i);
    } else if (c == 'N' || c == 'I') {
      return wire_err_set(err, WIRE_E_INVALID,
                          "otlp/json: invalid JSON at byte %zu: NaN and Infinity must be written as strings", base + i);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',' && c != ':' && c != '}' && c != ']') {
      return wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: unexpected character",
                          base + i);
    }
  }
  return 0;
}

/* ---- Scalars ----------------------------------------------------------------------------------------------- */

/* Reads an integer given as a JSON number, a decimal string, or an integral number in any JSON number form
 * ("1e3", "5.0", as number or string), as sign and magnitude. */
static int read_integer(jdec *d, json_object *v, bool *neg, uint64_t *mag) {
  double x;
  switch (json_object_get_type(v)) {
  case json_type_int: {
    int64_t i = json_object_get_int64(v);
    if (i < 0) {
      *neg = true;
      *mag = (uint64_t)0 - (uint64_t)i;
      /* json-c clamps literals beyond 64 bits to the extremes: tell them from a real extreme by the pre-scan. */
      if (i == INT64_MIN && d->text_has_int_overflow) goto out_of_range;
    } else {
      *neg = false;
      *mag = json_object_get_uint64(v);
      if (*mag == UINT64_MAX && d->text_has_int_overflow) goto out_of_range;
    }
    return 0;
  }
  case json_type_double:
    x = json_object_get_double(v);
    break;
  case json_type_string: {
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    bool integer = false;
    if (n == 0 || !is_number_text(s, n, &integer))
      return fail(d, WIRE_E_INVALID, "expected an integer or a decimal string, got a string that is not a number");
    if (integer) {
      size_t i = 0;
      *neg = s[0] == '-';
      if (*neg) i++;
      uint64_t m = 0;
      for (; i < n; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - digit) / 10) goto out_of_range;
        m = m * 10 + digit;
      }
      *mag = m;
      return 0;
    }
    x = strtod_c(s, NULL);
    break;
  }
  default:
    return fail(d, WIRE_E_INVALID, "expected an integer or a decimal string, got %s", json_kind(v));
  }
  if (!isfinite(x) || x >= 18446744073709551616.0 || x < -9223372036854775808.0) goto out_of_range;
  if (!is_integral(x)) return fail(d, WIRE_E_INVALID, "expected an integer, got a number with a fraction");
  *neg = signbit(x);
  *mag = *neg ? (uint64_t)(-x) : (uint64_t)x;
  return 0;
out_of_range:
  return fail(d, WIRE_E_INVALID, "integer out of range");
}

/* Stores an integer of a field's type (range-checked) at `slot`. */
static int decode_integer(jdec *d, const ProtobufCFieldDescriptor *f, json_object *v, void *slot) {
  bool neg;
  uint64_t mag;
  if (read_integer(d, v, &neg, &mag) < 0) return -1;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_ENUM:
    if (neg ? mag > (uint64_t)INT32_MAX + 1 : mag > INT32_MAX)
      return fail(d, WIRE_E_INVALID, "integer out of range for a 32-bit signed field");
    *(int32_t *)slot = neg ? (int32_t)(0 - mag) : (int32_t)mag;
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if ((neg && mag) || mag > UINT32_MAX)
      return fail(d, WIRE_E_INVALID, "integer out of range for a 32-bit unsigned field");
    *(uint32_t *)slot = (uint32_t)mag;
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > INT64_MAX)
      return fail(d, WIRE_E_INVALID, "integer out of range for a 64-bit signed field");
    *(int64_t *)slot = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
  default: /* UINT64, FIXED64 */
    if (neg && mag) return fail(d, WIRE_E_INVALID, "negative integer for an unsigned field");
    *(uint64_t *)slot = mag;
    return 0;
  }
}

static int decode_double(jdec *d, json_object *v, double *out) {
  switch (json_object_get_type(v)) {
  case json_type_int:
  case json_type_double: {
    double x;
    if (json_object_get_type(v) == json_type_int) {
      bool neg;
      uint64_t mag;
      if (read_integer(d, v, &neg, &mag) < 0) return -1;
      x = neg ? -(double)mag : (double)mag;
    } else {
      x = json_object_get_double(v);
    }
    /* json-c turns 1e999 into inf (bare NaN and Infinity were refused by the pre-scan). */
    if (!isfinite(x)) return fail(d, WIRE_E_INVALID, "number out of range for a double");
    *out = x;
    return 0;
  }
  case json_type_string: {
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    bool integer;
    if (strcmp(s, "NaN") == 0) *out = NAN;
    else if (strcmp(s, "Infinity") == 0) *out = INFINITY;
    else if (strcmp(s, "-Infinity") == 0) *out = -INFINITY;
    else if (n > 0 && is_number_text(s, n, &integer)) {
      *out = strtod_c(s, NULL);
      if (!isfinite(*out)) return fail(d, WIRE_E_INVALID, "number out of range for a double");
    } else {
      return fail(d, WIRE_E_INVALID, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got another string");
    }
    return 0;
  }
  default:
    return fail(d, WIRE_E_INVALID, "expected a number, got %s", json_kind(v));
  }
}

static int decode_enum(jdec *d, const ProtobufCFieldDescriptor *f, json_object *v, int32_t *out) {
  if (json_object_get_type(v) == json_type_string) {
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value_by_name((const ProtobufCEnumDescriptor *)f->descriptor,
                                                     json_object_get_string(v));
    if (!ev) return fail(d, WIRE_E_INVALID, "unknown %s name", ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
    *out = ev->value;
    return 0;
  }
  if (json_object_get_type(v) != json_type_int && json_object_get_type(v) != json_type_double)
    return fail(d, WIRE_E_INVALID, "expected an enum value (an integer), got %s", json_kind(v));
  return decode_integer(d, f, v, out); /* proto3 enums are open: any int32 */
}

static int decode_string(jdec *d, const ProtobufCFieldDescriptor *f, json_object *v, char **out) {
  if (json_object_get_type(v) != json_type_string)
    return fail(d, WIRE_E_INVALID, "expected a string, got %s", json_kind(v));
  const char *s = json_object_get_string(v);
  size_t n = (size_t)json_object_get_string_len(v);
  if (memchr(s, '\0', n)) return fail(d, WIRE_E_INVALID, "string holds U+0000, which is not supported");
  if (n == 0 && f->default_value && f->label != PROTOBUF_C_LABEL_REPEATED) {
    /* protobuf_c_empty_string, which free_unpacked skips for singular fields (but frees in repeated ones) */
    *out = (char *)f->default_value;
    return 0;
  }
  char *copy = dalloc(d, n + 1);
  if (!copy) return -1;
  memcpy(copy, s, n + 1);
  *out = copy;
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62; /* standard and URL-safe alphabets */
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* The OTLP exception: ids are hex. Their size is fixed (16 or 8 bytes) or zero (no id). */
static size_t id_size(const ProtobufCFieldDescriptor *f) {
  if (strcmp(f->name, "trace_id") == 0) return 16;
  if (strcmp(f->name, "span_id") == 0) return 8;
  return 0;
}

static int decode_bytes(jdec *d, const ProtobufCFieldDescriptor *f, json_object *v, ProtobufCBinaryData *out) {
  if (json_object_get_type(v) != json_type_string)
    return fail(d, WIRE_E_INVALID, "expected a string, got %s", json_kind(v));
  const char *s = json_object_get_string(v);
  size_t n = (size_t)json_object_get_string_len(v);
  out->len = 0;
  out->data = NULL;
  if (n == 0) return 0;
  size_t id = id_size(f);
  if (id) {
    if (n != 2 * id)
      return fail(d, WIRE_E_INVALID, "expected %zu hex digits, got a string of %zu characters", 2 * id, n);
    for (size_t i = 0; i < n; i++)
      if (hex_value(s[i]) < 0) return fail(d, WIRE_E_INVALID, "invalid hex digit at position %zu", i);
    uint8_t *b = dalloc(d, id);
    if (!b) return -1;
    for (size_t i = 0; i < id; i++) b[i] = (uint8_t)(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
    out->data = b;
    out->len = id;
    return 0;
  }
  size_t m = n;
  if (m % 4 == 0 && s[m - 1] == '=') m--;
  if (m % 4 == 3 && s[m - 1] == '=') m--;
  if (m % 4 == 1) return fail(d, WIRE_E_INVALID, "invalid base64: bad length");
  for (size_t i = 0; i < m; i++)
    if (base64_value(s[i]) < 0) return fail(d, WIRE_E_INVALID, "invalid base64 character at position %zu", i);
  size_t len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
  uint8_t *b = dalloc(d, len);
  if (!b) return -1;
  size_t k = 0;
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < m; i++) {
    acc = acc << 6 | (uint32_t)base64_value(s[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      b[k++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  out->data = b;
  out->len = k;
  return 0;
}

/* ---- Messages ---------------------------------------------------------------------------------------------- */

static int decode_message_into(jdec *d, const ProtobufCMessageDescriptor *desc, json_object *obj,
                               ProtobufCMessage *msg);

/* Allocates and initialises a message, stores it in *slot (so that the parent owns it) and fills it. */
static int decode_message(jdec *d, const ProtobufCMessageDescriptor *desc, json_object *v, ProtobufCMessage **slot) {
  if (json_object_get_type(v) != json_type_object)
    return fail(d, WIRE_E_INVALID, "expected an object, got %s", json_kind(v));
  ProtobufCMessage *m = dalloc(d, desc->sizeof_message);
  if (!m) return -1;
  protobuf_c_message_init(desc, m);
  *slot = m;
  return decode_message_into(d, desc, v, m);
}

static size_t element_size(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_ENUM: return 4;
  case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
  case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
  default: return 8; /* 64-bit integers, double */
  }
}

/* Decodes one value of field f into `slot` (a member, or an element of a repeated member). */
static int decode_value(jdec *d, const ProtobufCFieldDescriptor *f, json_object *v, void *slot) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_MESSAGE:
    return decode_message(d, f->descriptor, v, (ProtobufCMessage **)slot);
  case PROTOBUF_C_TYPE_STRING:
    return decode_string(d, f, v, (char **)slot);
  case PROTOBUF_C_TYPE_BYTES:
    return decode_bytes(d, f, v, (ProtobufCBinaryData *)slot);
  case PROTOBUF_C_TYPE_BOOL:
    if (json_object_get_type(v) != json_type_boolean)
      return fail(d, WIRE_E_INVALID, "expected true or false, got %s", json_kind(v));
    *(protobuf_c_boolean *)slot = json_object_get_boolean(v) ? 1 : 0;
    return 0;
  case PROTOBUF_C_TYPE_DOUBLE:
    return decode_double(d, v, (double *)slot);
  case PROTOBUF_C_TYPE_FLOAT: {
    double x;
    if (decode_double(d, v, &x) < 0) return -1;
    if (isfinite(x) && (x > 3.4028234663852886e38 || x < -3.4028234663852886e38))
      return fail(d, WIRE_E_INVALID, "number out of range for a float");
    *(float *)slot = (float)x;
    return 0;
  }
  case PROTOBUF_C_TYPE_ENUM:
    return decode_enum(d, f, v, (int32_t *)slot);
  default:
    return decode_integer(d, f, v, slot);
  }
}

/* Decodes the JSON value of field f of `msg`. */
static int decode_field(jdec *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, json_object *v) {
  char *base = (char *)msg;
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    if (json_object_get_type(v) != json_type_array)
      return fail(d, WIRE_E_INVALID, "expected an array, got %s", json_kind(v));
    size_t n = json_object_array_length(v);
    if (n == 0) return 0;
    size_t esize = element_size(f->type);
    void *arr = dalloc(d, n * esize);
    if (!arr) return -1;
    memset(arr, 0, n * esize);
    size_t *count = (size_t *)(base + f->quantifier_offset);
    *(void **)(base + f->offset) = arr;
    *count = 0;
    path_step *step = &d->path[d->depth - 1];
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(v, i);
      step->index = (long)i;
      if (!e) return fail(d, WIRE_E_INVALID, "null is not allowed in an array");
      *count = i + 1; /* counted before it is filled: a half-built element is still freed */
      if (decode_value(d, f, e, (char *)arr + i * esize) < 0) return -1;
    }
    step->index = -1;
    return 0;
  }
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
    if (*which != 0) {
      const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(msg->descriptor, *which);
      char other_name[64] = "?";
      if (other && strlen(other->name) < sizeof other_name) other_name[camel_name(other_name, other->name)] = '\0';
      return fail(d, WIRE_E_INVALID, "only one of a oneof may be set, and %s is set too", other_name);
    }
    /* The case is set first so that a message or string stored below is owned (and freed) by msg. */
    *which = f->id;
    return decode_value(d, f, v, base + f->offset);
  }
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
      f->type != PROTOBUF_C_TYPE_STRING)
    *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1; /* proto2-style has_ flag */
  return decode_value(d, f, v, base + f->offset);
}

/* Finds the field a JSON key names: lowerCamelCase, or the original snake_case name. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc, const char *key) {
  char snake[64];
  size_t k = 0;
  for (const char *p = key; *p; p++) {
    if (k + 3 > sizeof snake) return NULL; /* longer than any field name */
    if (*p >= 'A' && *p <= 'Z') {
      snake[k++] = '_';
      snake[k++] = (char)(*p - 'A' + 'a');
    } else {
      snake[k++] = *p;
    }
  }
  snake[k] = '\0';
  return protobuf_c_message_descriptor_get_field_by_name(desc, snake);
}

static int decode_message_into(jdec *d, const ProtobufCMessageDescriptor *desc, json_object *obj,
                               ProtobufCMessage *msg) {
  uint64_t seen = 0; /* fields seen, by index (OTLP messages have fewer than 64 fields) */
  json_object_object_foreach(obj, key, val) {
    const ProtobufCFieldDescriptor *f = find_field(desc, key);
    if (!f) continue; /* unknown field: ignored (OTLP/JSON receivers MUST) */
    size_t index = (size_t)(f - desc->fields);
    if (d->depth >= WIRE_OTLP_JSON_DEPTH_CAP + 4) return fail(d, WIRE_E_LIMIT, "nesting too deep");
    d->path[d->depth++] = (path_step){f, -1};
    if (index < 64) {
      if (seen & (1ull << index))
        return fail(d, WIRE_E_INVALID, "field given twice (under its JSON and its original name)");
      seen |= 1ull << index;
    }
    if (val && decode_field(d, msg, f, val) < 0) return -1; /* null: the field keeps its default */
    d->depth--;
  }
  return 0;
}

/* Parses the text with json-c and decodes the top-level object as a `desc` message. */
static ProtobufCMessage *decode_root(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                                     size_t max_len, unsigned max_depth, otlp_arena *arena, wire_err *err) {
  if (max_len && len > max_len) {
    wire_err_set(err, WIRE_E_LIMIT, "otlp/json: body of %zu bytes exceeds the limit of %zu bytes", len, max_len);
    return NULL;
  }
  if (len > INT_MAX) {
    wire_err_set(err, WIRE_E_LIMIT, "otlp/json: body of %zu bytes is too large to parse", len);
    return NULL;
  }
  if (max_depth == 0) max_depth = WIRE_OTLP_JSON_DEFAULT_DEPTH;
  if (max_depth > WIRE_OTLP_JSON_DEPTH_CAP) max_depth = WIRE_OTLP_JSON_DEPTH_CAP;
  size_t skip = len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF ? 3 : 0; /* UTF-8 BOM */

  prescan ps;
  if (prescan_text(data + skip, len - skip, skip, &ps, err) < 0) return NULL;
  size_t tree = ps.objects * TREE_COST_OBJECT + ps.arrays * TREE_COST_ARRAY + ps.scalars * TREE_COST_SCALAR + len;
  size_t budget = len * WIRE_OTLP_JSON_TREE_FACTOR;
  if (budget < (1u << 20)) budget = 1u << 20;
  if (tree > budget) {
    wire_err_set(err, WIRE_E_LIMIT,
                 "otlp/json: body of %zu bytes would take ~%zu KiB to parse (%zu objects): over %dx its size", len,
                 tree >> 10, ps.objects, WIRE_OTLP_JSON_TREE_FACTOR);
    return NULL;
  }

  json_tokener *tok = json_tokener_new_ex((int)max_depth);
  if (!tok) {
    wire_err_set(err, WIRE_E_NOMEM, "otlp/json: out of memory creating the JSON parser");
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *root = json_tokener_parse_ex(tok, (const char *)data + skip, (int)(len - skip));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = skip + json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (!root) {
    if (jerr == json_tokener_error_depth)
      wire_err_set(err, WIRE_E_LIMIT, "otlp/json: invalid JSON at byte %zu: nesting deeper than %u levels", end,
                   max_depth);
    else if (jerr == json_tokener_continue || jerr == json_tokener_success)
      wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: unexpected end of input (truncated?)",
                   len);
    else
      wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: %s", end,
                   json_tokener_error_desc(jerr));
    return NULL;
  }
  for (size_t i = end; i < len; i++) {
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r') {
      wire_err_set(err, WIRE_E_INVALID, "otlp/json: invalid JSON at byte %zu: data after the top-level value", i);
      json_object_put(root);
      return NULL;
    }
  }
  if (json_object_get_type(root) != json_type_object) {
    wire_err_set(err, WIRE_E_INVALID, "otlp/json: expected an object at the top level, got %s", json_kind(root));
    json_object_put(root);
    return NULL;
  }

  jdec *d = malloc(sizeof *d);
  if (!d) {
    json_object_put(root);
    wire_err_set(err, WIRE_E_NOMEM, "otlp/json: out of memory");
    return NULL;
  }
  d->alloc = arena ? &arena->allocator : &sys_allocator;
  d->arena = arena;
  d->err = err;
  d->text_has_int_overflow = ps.int_overflow;
  d->depth = 0;
  ProtobufCMessage *msg = NULL;
  int rc = decode_message(d, desc, root, &msg);
  free(d);
  json_object_put(root);
  if (rc < 0) {
    if (!arena && msg) protobuf_c_message_free_unpacked(msg, NULL);
    return NULL;
  }
  return msg;
}

otlp_request *wire_otlp_json_decode_request(const uint8_t *data, size_t len, size_t max_len, unsigned max_depth,
                                            otlp_arena *arena, wire_err *err) {
  return (otlp_request *)decode_root(&opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
                                     data, len, max_len, max_depth, arena, err);
}

otlp_response *wire_otlp_json_decode_response(const uint8_t *data, size_t len, size_t max_len, unsigned max_depth,
                                              otlp_arena *arena, wire_err *err) {
  return (otlp_response *)decode_root(&opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
                                      data, len, max_len, max_depth, arena, err);
}

/* ==== Encoding ============================================================================================== */

typedef struct jenc {
  wire_buf *b;
  wire_err *err;
} jenc;

/* Makes room for n more bytes; the writers below then store straight into b->data + b->len. */
static inline int need(jenc *e, size_t n) {
  if (e->b->cap - e->b->len >= n) return 0;
  return wire_buf_reserve(e->b, n, e->err);
}

static inline char *cursor(jenc *e) { return (char *)e->b->data + e->b->len; }

static inline int put_raw(jenc *e, const char *s, size_t n) {
  if (need(e, n) < 0) return -1;
  memcpy(cursor(e), s, n);
  e->b->len += n;
  return 0;
}

/* Shortest text that reads back as the same double; `out` has room for 32 bytes. v must be finite. */
static size_t fmt_double(char *out, double v) {
  if (v == 0) {
    if (signbit(v)) {
      memcpy(out, "-0.0", 4); /* "-0" would come back from json-c as the integer 0 */
      return 4;
    }
    out[0] = '0';
    return 1;
  }
  if (v > -1e15 && v < 1e15 && is_integral(v)) return wire_fmt_i64(out, (int64_t)v);
  locale_t loc = get_c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(out, 32, "%.*g", prec, v);
    if (prec == 17 || strtod_c(out, NULL) == v) break;
  }
  if (loc) uselocale(old);
  return (size_t)n;
}

/* Length of the valid UTF-8 sequence at s[0..n) (no overlongs, surrogates or code points past U+10FFFF), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n) {
  uint8_t c = s[0];
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
    return 4;
  }
  return 0;
}

/* Writes a JSON string: escapes quotes, backslashes and control characters, and replaces each byte that is not
 * part of valid UTF-8 with U+FFFD so that the output is always valid JSON. */
static int put_string(jenc *e, const char *str, size_t n) {
  const uint8_t *s = (const uint8_t *)str;
  if (need(e, n + 2) < 0) return -1;
  *cursor(e) = '"';
  e->b->len++;
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
    if (run > i) {
      if (put_raw(e, (const char *)s + i, run - i) < 0) return -1;
      i = run;
      if (i == n) break;
    }
    uint8_t c = s[i];
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, n - i);
      if (k) {
        if (put_raw(e, (const char *)s + i, k) < 0) return -1;
        i += k;
      } else {
        if (put_raw(e, "\xEF\xBF\xBD", 3) < 0) return -1;
        i++;
      }
      continue;
    }
    char esc[6] = {'\\', 0};
    size_t len = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = "0123456789abcdef"[c >> 4];
      esc[5] = "0123456789abcdef"[c & 15];
      len = 6;
    }
    if (put_raw(e, esc, len) < 0) return -1;
    i++;
  }
  return put_raw(e, "\"", 1);
}

static int put_bytes(jenc *e, const ProtobufCFieldDescriptor *f, const ProtobufCBinaryData *bd) {
  static const char hex[] = "0123456789abcdef";
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const uint8_t *p = bd->data;
  size_t n = bd->len;
  if (id_size(f)) {
    if (n > (SIZE_MAX - 2) / 2 || need(e, 2 * n + 2) < 0) return -1;
    char *o = cursor(e);
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
      *o++ = hex[p[i] >> 4];
      *o++ = hex[p[i] & 15];
    }
    *o++ = '"';
    e->b->len = (size_t)((uint8_t *)o - e->b->data);
    return 0;
  }
  if (n > SIZE_MAX / 2 || need(e, (n + 2) / 3 * 4 + 2) < 0) return -1;
  char *o = cursor(e);
  *o++ = '"';
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *o++ = b64[v >> 18];
    *o++ = b64[(v >> 12) & 63];
    *o++ = b64[(v >> 6) & 63];
    *o++ = b64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    *o++ = b64[v >> 18];
    *o++ = b64[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    *o++ = b64[v >> 18];
    *o++ = b64[(v >> 12) & 63];
    *o++ = b64[(v >> 6) & 63];
    *o++ = '=';
  }
  *o++ = '"';
  e->b->len = (size_t)((uint8_t *)o - e->b->data);
  return 0;
}

static int put_double(jenc *e, double v) {
  if (isnan(v)) return put_raw(e, "\"NaN\"", 5);
  if (isinf(v)) return v > 0 ? put_raw(e, "\"Infinity\"", 10) : put_raw(e, "\"-Infinity\"", 11);
  if (need(e, 32) < 0) return -1;
  e->b->len += fmt_double(cursor(e), v);
  return 0;
}

static int encode_message(jenc *e, const ProtobufCMessage *m, unsigned depth);

/* Writes one value of field f stored at `p`. */
static int encode_value(jenc *e, const ProtobufCFieldDescriptor *f, const void *p, unsigned depth) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
    if (!sub) return put_raw(e, "{}", 2);
    return encode_message(e, sub, depth + 1);
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)p;
    return put_string(e, s ? s : "", s ? strlen(s) : 0);
  }
  case PROTOBUF_C_TYPE_BYTES:
    return put_bytes(e, f, (const ProtobufCBinaryData *)p);
  case PROTOBUF_C_TYPE_BOOL:
    return *(const protobuf_c_boolean *)p ? put_raw(e, "true", 4) : put_raw(e, "false", 5);
  case PROTOBUF_C_TYPE_DOUBLE:
    return put_double(e, *(const double *)p);
  case PROTOBUF_C_TYPE_FLOAT:
    return put_double(e, (double)*(const float *)p);
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_ENUM:
    if (need(e, 12) < 0) return -1;
    e->b->len += wire_fmt_i64(cursor(e), *(const int32_t *)p);
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if (need(e, 12) < 0) return -1;
    e->b->len += wire_fmt_u64(cursor(e), *(const uint32_t *)p);
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64: {
    if (need(e, 24) < 0) return -1;
    char *o = cursor(e);
    o[0] = '"';
    size_t n = 1 + wire_fmt_i64(o + 1, *(const int64_t *)p);
    o[n++] = '"';
    e->b->len += n;
    return 0;
  }
  default: { /* UINT64, FIXED64 */
    if (need(e, 24) < 0) return -1;
    char *o = cursor(e);
    o[0] = '"';
    size_t n = 1 + wire_fmt_u64(o + 1, *(const uint64_t *)p);
    o[n++] = '"';
    e->b->len += n;
    return 0;
  }
  }
}

/* True if a singular field without presence holds its default value (proto3 JSON leaves those out). Doubles
 * compare by bits, as protobuf-c does: -0.0 is written. */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)p;
    return s == NULL || s[0] == '\0';
  }
  case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
  case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p == 0;
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_ENUM: {
    uint32_t bits;
    memcpy(&bits, p, sizeof bits);
    return bits == 0;
  }
  default: {
    uint64_t bits;
    memcpy(&bits, p, sizeof bits);
    return bits == 0;
  }
  }
}

static int encode_message(jenc *e, const ProtobufCMessage *m, unsigned depth) {
  if (depth > WIRE_OTLP_JSON_DEPTH_CAP)
    return wire_err_set(e->err, WIRE_E_INVALID, "otlp/json: message nested deeper than %d levels",
                        WIRE_OTLP_JSON_DEPTH_CAP);
  const ProtobufCMessageDescriptor *desc = m->descriptor;
  const char *base = (const char *)m;
  bool first = true;
  if (put_raw(e, "{", 1) < 0) return -1;
  for (unsigned i = 0; i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    const void *p = base + f->offset;
    size_t count = 1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      count = *(const size_t *)(base + f->quantifier_offset);
      if (count == 0) continue;
    } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) continue;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
               f->type != PROTOBUF_C_TYPE_STRING) {
      if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset)) continue;
    } else if (f->label != PROTOBUF_C_LABEL_REQUIRED && is_default(f, p)) {
      continue;
    }
    size_t name_len = strlen(f->name);
    if (need(e, name_len + 5) < 0) return -1;
    char *o = cursor(e);
    size_t k = 0;
    if (!first) o[k++] = ',';
    o[k++] = '"';
    k += camel_name(o + k, f->name);
    o[k++] = '"';
    o[k++] = ':';
    e->b->len += k;
    first = false;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      const char *arr = *(char *const *)p;
      size_t esize = element_size(f->type);
      if (put_raw(e, "[", 1) < 0) return -1;
      for (size_t j = 0; j < count; j++) {
        if (j && put_raw(e, ",", 1) < 0) return -1;
        if (encode_value(e, f, arr + j * esize, depth) < 0) return -1;
      }
      if (put_raw(e, "]", 1) < 0) return -1;
    } else if (encode_value(e, f, p, depth) < 0) {
      return -1;
    }
  }
  return put_raw(e, "}", 1);
}

static int encode_root(const ProtobufCMessage *m, const ProtobufCMessageDescriptor *want, wire_buf *out,
                       wire_err *err) {
  if (!m || m->descriptor != want)
    return wire_err_set(err, WIRE_E_INVALID, "otlp/json: not a %s message", want->short_name);
  jenc e = {out, err};
  size_t start = out->len;
  if (encode_message(&e, m, 0) < 0) {
    out->len = start;
    return -1;
  }
  return 0;
}

int wire_otlp_json_encode_request(const otlp_request *req, wire_buf *out, wire_err *err) {
  return encode_root(req ? &req->base : NULL,
                     &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor, out,
                     err);
}

int wire_otlp_json_encode_response(const otlp_response *resp, wire_buf *out, wire_err *err) {
  return encode_root(resp ? &resp->base : NULL,
                     &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor, out,
                     err);
}
