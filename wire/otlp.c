/* otlp.c — OTLP metrics codec: arena allocator, validated decode, bounded encode, point counting and the
 * semantic check pass (see otlp.h). */
#include "wire/otlp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pbwalk.h"

#if defined(__SANITIZE_ADDRESS__)
#define OTLP_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OTLP_ARENA_ASAN 1
#endif
#endif
#ifdef OTLP_ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* Under ASan each allocation is followed by a poisoned gap, so overruns between arena objects are caught. */
#define ARENA_REDZONE 16
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ARENA_REDZONE 0
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ---- Arena ------------------------------------------------------------------------------------------------ */

#define ARENA_ALIGN _Alignof(max_align_t)
#define ARENA_FIRST_CHUNK (16u * 1024)
#define ARENA_MAX_CHUNK (1024u * 1024)

struct otlp_arena_chunk {
  otlp_arena_chunk *next;
  size_t size; /* bytes of data[] */
  size_t used;
  max_align_t data[]; /* the flexible member of max_align_t keeps data aligned for any type */
};

static void *arena_pbc_alloc(void *ctx, size_t n) { return otlp_arena_alloc(ctx, n); }
static void arena_pbc_free(void *ctx, void *p) {
  (void)ctx;
  (void)p; /* released all at once by otlp_arena_reset() */
}

void otlp_arena_init(otlp_arena *a, size_t limit) {
  memset(a, 0, sizeof *a);
  a->allocator.alloc = arena_pbc_alloc;
  a->allocator.free = arena_pbc_free;
  a->allocator.allocator_data = a;
  a->next_chunk = ARENA_FIRST_CHUNK;
  a->limit = limit;
}

static void chunk_release(otlp_arena *a, otlp_arena_chunk *c) {
  ARENA_UNPOISON(c->data, c->size);
  a->reserved -= sizeof *c + c->size;
  free(c);
}

void otlp_arena_reset(otlp_arena *a) {
  /* Keep the largest ordinary chunk (the most recent ones are the largest) so a steady stream of similar
   * requests decodes without touching malloc; dedicated chunks for huge arrays are never kept. */
  otlp_arena_chunk *keep = NULL;
  for (otlp_arena_chunk *c = a->head; c; c = c->next)
    if (c->size <= ARENA_MAX_CHUNK && (!keep || c->size > keep->size)) keep = c;
  otlp_arena_chunk *c = a->head;
  while (c) {
    otlp_arena_chunk *next = c->next;
    if (c != keep) chunk_release(a, c);
    c = next;
  }
  if (keep) {
    keep->next = NULL;
    keep->used = 0;
    ARENA_POISON(keep->data, keep->size);
  }
  a->head = keep;
  a->used = 0;
  a->exhausted = false;
}

void otlp_arena_free(otlp_arena *a) {
  otlp_arena_chunk *c = a->head;
  while (c) {
    otlp_arena_chunk *next = c->next;
    chunk_release(a, c);
    c = next;
  }
  a->head = NULL;
  a->used = 0;
  a->exhausted = false;
}

/* Gets a chunk with at least `need` bytes of data from malloc, within the limit; NULL if impossible. */
static otlp_arena_chunk *chunk_new(otlp_arena *a, size_t need, size_t want) {
  size_t size = want > need ? want : need;
  if (a->limit) {
    size_t room = a->limit > a->reserved ? a->limit - a->reserved : 0;
    room = room > sizeof(otlp_arena_chunk) ? room - sizeof(otlp_arena_chunk) : 0;
    if (need > room) {
      a->exhausted = true;
      return NULL;
    }
    if (size > room) size = room;
  }
  otlp_arena_chunk *c = malloc(sizeof *c + size);
  if (!c) return NULL;
  c->next = NULL;
  c->size = size;
  c->used = 0;
  ARENA_POISON(c->data, size);
  a->reserved += sizeof *c + size;
  return c;
}

void *otlp_arena_alloc(otlp_arena *a, size_t n) {
  if (n == 0) n = 1;
  if (n > SIZE_MAX / 2) return NULL;
  size_t take = (n + ARENA_REDZONE + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  otlp_arena_chunk *c = a->head;
  if (!c || c->size - c->used < take) {
    if (take > a->next_chunk / 4) {
      /* A big array: a chunk of its own, linked behind the current one so its free space stays in use. */
      otlp_arena_chunk *big = chunk_new(a, take, take);
      if (!big) return NULL;
      if (c) {
        big->next = c->next;
        c->next = big;
      } else {
        a->head = big;
      }
      c = big;
    } else {
      c = chunk_new(a, take, a->next_chunk);
      if (!c) return NULL;
      c->next = a->head;
      a->head = c;
      if (a->next_chunk < ARENA_MAX_CHUNK) a->next_chunk *= 2;
    }
  }
  uint8_t *p = (uint8_t *)c->data + c->used;
  c->used += take;
  a->used += take;
  ARENA_UNPOISON(p, n);
  return p;
}

char *otlp_arena_strdup(otlp_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = otlp_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

size_t otlp_arena_reserved(const otlp_arena *a) { return a->reserved; }

/* ---- Decode ----------------------------------------------------------------------------------------------- */

/* Checks the size and the data pointer as every decode does; `data` is replaced by a valid pointer for len 0. */
static int precheck(const char *what, const uint8_t **data, size_t len, size_t max_len, wire_err *err) {
  static const uint8_t empty[1];
  if (max_len && len > max_len)
    return wire_err_set(err, WIRE_E_LIMIT, "otlp: %s of %zu bytes exceeds the limit of %zu bytes", what, len, max_len);
  if (!*data) {
    if (len) return wire_err_set(err, WIRE_E_INVALID, "otlp: %s of %zu bytes has no data", what, len);
    *data = empty;
  }
  return 0;
}

/* protobuf-c's unpack of bytes that passed the walk, with the arena's errors told apart from malloc's. */
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc, const char *what, const uint8_t *data,
                                size_t len, otlp_arena *arena, wire_err *err) {
  bool was_exhausted = arena && arena->exhausted;
  if (arena) arena->exhausted = false;
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, arena ? &arena->allocator : NULL, len, data);
  if (!msg) {
    if (arena && arena->exhausted)
      wire_err_set(err, WIRE_E_LIMIT, "otlp: decoded %s of %zu bytes exceeds the arena limit of %zu bytes", what, len,
                   arena->limit);
    else
      wire_err_set(err, WIRE_E_NOMEM, "otlp: out of memory decoding %s of %zu bytes", what, len);
  }
  if (arena) arena->exhausted = arena->exhausted || was_exhausted;
  return msg;
}

static ProtobufCMessage *decode_message(const ProtobufCMessageDescriptor *desc, pbwalk_root root, const char *what,
                                        const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                        wire_err *err) {
  if (precheck(what, &data, len, max_len, err) < 0) return NULL;
  if (pbwalk_validate(data, len, root, WIRE_OTLP_MAX_DEPTH, err) < 0) {
    wire_err_prefix(err, "otlp: %s: ", what);
    return NULL;
  }
  return unpack(desc, what, data, len, arena, err);
}

#define REQUEST_DESC opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor

int wire_otlp_scan_request(const uint8_t *data, size_t len, size_t max_len, pbwalk_scan *out, wire_err *err) {
  out->points = out->resource_metrics = 0;
  out->clean = false;
  if (precheck("request", &data, len, max_len, err) < 0) return -1;
  if (pbwalk_scan_request(data, len, WIRE_OTLP_MAX_DEPTH, out, err) < 0) {
    wire_err_prefix(err, "otlp: %s: ", "request");
    return -1;
  }
  return 0;
}

otlp_request *wire_otlp_decode_request_trusted(const uint8_t *data, size_t len, otlp_arena *arena, wire_err *err) {
  if (precheck("request", &data, len, 0, err) < 0) return NULL;
  return (otlp_request *)unpack(&REQUEST_DESC, "request", data, len, arena, err);
}

otlp_request *wire_otlp_decode_request(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                       wire_err *err) {
  return (otlp_request *)decode_message(&opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
                                        PBWALK_EXPORT_METRICS_REQUEST, "request", data, len, max_len, arena, err);
}

otlp_response *wire_otlp_decode_response(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                         wire_err *err) {
  return (otlp_response *)decode_message(&opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
                                         PBWALK_EXPORT_METRICS_RESPONSE, "response", data, len, max_len, arena, err);
}

Google__Rpc__Status *wire_otlp_decode_status(const uint8_t *data, size_t len, size_t max_len, otlp_arena *arena,
                                             wire_err *err) {
  return (Google__Rpc__Status *)decode_message(&google__rpc__status__descriptor, PBWALK_RPC_STATUS, "grpc status", data,
                                               len, max_len, arena, err);
}

static void message_free(ProtobufCMessage *m, otlp_arena *arena) {
  if (m && !arena) protobuf_c_message_free_unpacked(m, NULL);
}

void wire_otlp_request_free(otlp_request *req, otlp_arena *arena) { message_free(req ? &req->base : NULL, arena); }
void wire_otlp_response_free(otlp_response *resp, otlp_arena *arena) { message_free(resp ? &resp->base : NULL, arena); }
void wire_otlp_status_free(Google__Rpc__Status *status, otlp_arena *arena) {
  message_free(status ? &status->base : NULL, arena);
}

/* ---- Encode ----------------------------------------------------------------------------------------------- */

int wire_otlp_encode_message(const ProtobufCMessage *msg, const char *what, wire_buf *out, wire_err *err) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  size_t limit = out->limit ? out->limit : SIZE_MAX;
  if (n > limit || out->len > limit - n)
    return wire_err_set(err, WIRE_E_LIMIT, "otlp: encoded %s of %zu bytes exceeds the limit of %zu bytes (%zu in use)",
                        what, n, limit, out->len);
  if (n == 0) return 0; /* an empty message: nothing to write (and out->data may still be NULL) */
  if (wire_buf_reserve(out, n, err) < 0) {
    wire_err_prefix(err, "otlp: encoding %s: ", what);
    return -1;
  }
  size_t written = protobuf_c_message_pack(msg, out->data + out->len);
  if (written != n)
    return wire_err_set(err, WIRE_E_INVALID, "otlp: encoding %s wrote %zu bytes, expected %zu", what, written, n);
  out->len += n;
  return 0;
}

int wire_otlp_encode_request(const otlp_request *req, wire_buf *out, wire_err *err) {
  return wire_otlp_encode_message(&req->base, "request", out, err);
}

int wire_otlp_encode_response(const otlp_response *resp, wire_buf *out, wire_err *err) {
  return wire_otlp_encode_message(&resp->base, "response", out, err);
}

/* ---- Counting --------------------------------------------------------------------------------------------- */

uint64_t wire_otlp_metric_points(const otlp_metric *m) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: return m->gauge ? m->gauge->n_data_points : 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: return m->sum ? m->sum->n_data_points : 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    return m->histogram ? m->histogram->n_data_points : 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    return m->exponential_histogram ? m->exponential_histogram->n_data_points : 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: return m->summary ? m->summary->n_data_points : 0;
  default: return 0;
  }
}

uint64_t wire_otlp_count_points(const otlp_request *req) {
  uint64_t n = 0;
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    const otlp_resource_metrics *rm = req->resource_metrics[r];
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[s];
      for (size_t i = 0; i < sm->n_metrics; i++) n += wire_otlp_metric_points(sm->metrics[i]);
    }
  }
  return n;
}

/* ---- UTF-8 ------------------------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence starting at s[0] (of `left` bytes), or 0 if it is not one. */
static size_t utf8_seq_len(const uint8_t *s, size_t left) {
  uint8_t c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;      /* no overlongs */
    else if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;      /* no overlongs */
    else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 0;
  }
  if (left < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

/* The offset of the first byte at or after `from` that does not start a valid sequence; len when there is none. */
static inline size_t utf8_next_invalid(const uint8_t *p, size_t len, size_t from) {
  size_t i = from;
  while (i < len) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = utf8_seq_len(p + i, len - i);
    if (!n) return i;
    i += n;
  }
  return len;
}

bool wire_otlp_utf8_valid(const char *s, size_t len) {
  return utf8_next_invalid((const uint8_t *)s, len, 0) == len;
}

/* Replaces each byte that does not start a valid sequence by '?'. Returns true if anything changed. */
static bool utf8_fix(char *s) {
  if (!s) return false;
  size_t len = strlen(s);
  uint8_t *p = (uint8_t *)s;
  bool changed = false;
  for (size_t i = utf8_next_invalid(p, len, 0); i < len; i = utf8_next_invalid(p, len, i + 1)) {
    p[i] = '?';
    changed = true;
  }
  return changed;
}

/* Fixes every string field of a message and its sub-messages, driven by protobuf-c's descriptors. Returns the
 * number of strings changed. Depth is bounded (decoded requests are already bounded by the decoder). */
static uint64_t utf8_fix_message(ProtobufCMessage *m, unsigned depth) {
  if (!m || depth > PBWALK_DEPTH_CAP) return 0;
  uint64_t fixed = 0;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    char *base = (char *)m;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
      if (which != f->id) continue;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      void **arr = *(void ***)(base + f->offset);
      for (size_t j = 0; arr && j < n; j++) {
        if (f->type == PROTOBUF_C_TYPE_STRING) fixed += utf8_fix(arr[j]);
        else fixed += utf8_fix_message(arr[j], depth + 1);
      }
    } else {
      void *v = *(void **)(base + f->offset);
      if (f->type == PROTOBUF_C_TYPE_STRING) fixed += utf8_fix(v);
      else fixed += utf8_fix_message(v, depth + 1);
    }
  }
  return fixed;
}

/* ---- Semantic checks -------------------------------------------------------------------------------------- */

typedef struct checker {
  otlp_arena *arena;
  wire_otlp_check_report *rep;
  size_t ri, si, mi; /* position of the metric being checked */
  const char *kind;  /* its data type */
  char first[200];   /* the first finding */
} checker;

static void __attribute__((format(printf, 2, 3))) finding(checker *c, const char *fmt, ...) {
  if (c->rep->problems++ > 0) return;
  int n = snprintf(c->first, sizeof c->first, "resource_metrics[%zu].scope_metrics[%zu].metrics[%zu] (%s) ", c->ri,
                   c->si, c->mi, c->kind);
  if (n < 0 || (size_t)n >= sizeof c->first) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->first + n, sizeof c->first - (size_t)n, fmt, ap);
  va_end(ap);
}

/* Appends formatted text to the NUL-terminated string in dst[cap], truncating quietly. */
static void __attribute__((format(printf, 3, 4))) append(char *dst, size_t cap, const char *fmt, ...) {
  size_t len = strnlen(dst, cap);
  if (len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst + len, cap - len, fmt, ap);
  va_end(ap);
}

static void drop(checker *c, void *msg) {
  if (!c->arena && msg) protobuf_c_message_free_unpacked(msg, NULL);
}

static const char *data_kind(const otlp_metric *m) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: return "gauge";
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: return "sum";
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: return "histogram";
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM: return "exponential histogram";
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: return "summary";
  default: return "no data";
  }
}

static bool temporality_ok(int t) {
  return t == OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA ||
         t == OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
}

/* Drops exemplars with malformed ids (a repair: the data point stays). */
static void check_exemplars(checker *c, size_t point, size_t *n, otlp_exemplar **ex) {
  size_t out = 0;
  for (size_t i = 0; i < *n; i++) {
    otlp_exemplar *e = ex[i];
    if ((e->trace_id.len != 0 && e->trace_id.len != 16) || (e->span_id.len != 0 && e->span_id.len != 8)) {
      finding(c, "data point %zu exemplar %zu: trace_id of %zu bytes and span_id of %zu bytes (want 16 and 8); "
                 "exemplar dropped", point, i, e->trace_id.len, e->span_id.len);
      c->rep->fixed++;
      drop(c, e);
      continue;
    }
    ex[out++] = e;
  }
  *n = out;
}

#define NO_RECORDED_VALUE OPENTELEMETRY__PROTO__METRICS__V1__DATA_POINT_FLAGS__DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK

/* Each check_*_point returns true to keep the point. */
static bool check_number_point(checker *c, size_t i, otlp_number_point *p) {
  if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE__NOT_SET &&
      !(p->flags & NO_RECORDED_VALUE)) {
    finding(c, "data point %zu: no value", i);
    return false;
  }
  check_exemplars(c, i, &p->n_exemplars, p->exemplars);
  return true;
}

static bool check_histogram_point(checker *c, size_t i, otlp_histogram_point *p) {
  size_t nb = p->n_bucket_counts, ne = p->n_explicit_bounds;
  if (nb == 0 ? ne != 0 : nb != ne + 1) {
    finding(c, "data point %zu: %zu bucket_counts for %zu explicit_bounds, want %zu", i, nb, ne, nb == 0 ? 0 : ne + 1);
    return false;
  }
  for (size_t k = 0; k < ne; k++) {
    if (isnan(p->explicit_bounds[k]) || (k > 0 && !(p->explicit_bounds[k] > p->explicit_bounds[k - 1]))) {
      finding(c, "data point %zu: explicit_bounds not strictly increasing at index %zu", i, k);
      return false;
    }
  }
  check_exemplars(c, i, &p->n_exemplars, p->exemplars);
  return true;
}

static bool buckets_ok(const otlp_exp_buckets *b) {
  return !b || (int64_t)b->offset + (int64_t)b->n_bucket_counts <= (int64_t)INT32_MAX + 1;
}

static bool check_exp_histogram_point(checker *c, size_t i, otlp_exp_histogram_point *p) {
  if (p->scale < -10 || p->scale > 20) {
    finding(c, "data point %zu: scale %d outside [-10, 20]", i, (int)p->scale);
    return false;
  }
  if (!buckets_ok(p->positive) || !buckets_ok(p->negative)) {
    finding(c, "data point %zu: bucket offset plus count overflows int32", i);
    return false;
  }
  check_exemplars(c, i, &p->n_exemplars, p->exemplars);
  return true;
}

static bool check_summary_point(checker *c, size_t i, otlp_summary_point *p) {
  for (size_t k = 0; k < p->n_quantile_values; k++) {
    double q = p->quantile_values[k]->quantile;
    if (!(q >= 0.0 && q <= 1.0)) {
      finding(c, "data point %zu: quantile %zu outside [0, 1]", i, k);
      return false;
    }
  }
  return true;
}

/* Filters an array of data points in place with `keep`, freeing what goes; returns the number removed. */
#define FILTER_POINTS(c, n, arr, keep)            \
  do {                                            \
    size_t out_ = 0;                              \
    for (size_t i_ = 0; i_ < (n); i_++) {         \
      if (keep((c), i_, (arr)[i_])) {             \
        (arr)[out_++] = (arr)[i_];                \
      } else {                                    \
        drop((c), (arr)[i_]);                     \
        (c)->rep->rejected_points++;              \
      }                                           \
    }                                             \
    (n) = out_;                                   \
  } while (0)

/* Returns true to keep the metric (possibly with fewer points). */
static bool check_metric(checker *c, otlp_metric *m) {
  c->kind = data_kind(m);
  uint64_t points = wire_otlp_metric_points(m);
  if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET || !m->gauge /* any union member */) {
    finding(c, "has no data");
    return false;
  }
  if (!m->name || !m->name[0]) {
    finding(c, "has an empty name");
    c->rep->rejected_points += points;
    return false;
  }
  int temporality = -1;
  if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM)
    temporality = m->sum->aggregation_temporality;
  else if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM)
    temporality = m->histogram->aggregation_temporality;
  else if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM)
    temporality = m->exponential_histogram->aggregation_temporality;
  if (temporality != -1 && !temporality_ok(temporality)) {
    finding(c, "has aggregation_temporality %d (unspecified or unknown)", temporality);
    c->rep->rejected_points += points;
    return false;
  }
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    FILTER_POINTS(c, m->gauge->n_data_points, m->gauge->data_points, check_number_point);
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    FILTER_POINTS(c, m->sum->n_data_points, m->sum->data_points, check_number_point);
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    FILTER_POINTS(c, m->histogram->n_data_points, m->histogram->data_points, check_histogram_point);
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    FILTER_POINTS(c, m->exponential_histogram->n_data_points, m->exponential_histogram->data_points,
                  check_exp_histogram_point);
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
    FILTER_POINTS(c, m->summary->n_data_points, m->summary->data_points, check_summary_point);
    break;
  default: break;
  }
  return true;
}

uint64_t wire_otlp_check_request(otlp_request *req, otlp_arena *arena, unsigned flags, wire_otlp_check_report *report) {
  memset(report, 0, sizeof *report);
  checker c = {.arena = arena, .rep = report};
  if (flags & WIRE_OTLP_FIX_UTF8) {
    uint64_t fixed = utf8_fix_message(&req->base, 0);
    if (fixed) {
      report->fixed += fixed;
      if (report->problems++ == 0)
        snprintf(c.first, sizeof c.first, "%llu strings were not valid UTF-8 (bad bytes replaced by '?')",
                 (unsigned long long)fixed);
    }
  }
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    otlp_resource_metrics *rm = req->resource_metrics[r];
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      otlp_scope_metrics *sm = rm->scope_metrics[s];
      size_t out = 0;
      for (size_t i = 0; i < sm->n_metrics; i++) {
        c.ri = r;
        c.si = s;
        c.mi = i;
        if (check_metric(&c, sm->metrics[i])) {
          sm->metrics[out++] = sm->metrics[i];
        } else {
          report->rejected_metrics++;
          drop(&c, sm->metrics[i]);
        }
      }
      sm->n_metrics = out;
    }
  }
  if (report->problems) {
    if (report->rejected_points || report->rejected_metrics)
      append(report->message, sizeof report->message, "rejected %llu data points (%llu metrics): ",
             (unsigned long long)report->rejected_points, (unsigned long long)report->rejected_metrics);
    else
      append(report->message, sizeof report->message, "repaired %llu values: ", (unsigned long long)report->fixed);
    append(report->message, sizeof report->message, "%s", c.first);
    if (report->problems > 1)
      append(report->message, sizeof report->message, " (and %llu more problems)",
             (unsigned long long)(report->problems - 1));
  }
  return report->rejected_points;
}
