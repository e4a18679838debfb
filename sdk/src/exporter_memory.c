/* exporter_memory.c — the in-memory exporter for tests: keeps the last N batches, each as its encoded bytes
 * and decoded again with the wire codec (so every test also checks that what the SDK encodes decodes, and —
 * packing the decoded request again with protobuf-c — that the SDK's own encoder wrote exactly protobuf-c's
 * bytes), with accessors that find a metric's point by its attribute set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/src/internal.h"

typedef struct mem_batch {
  uint8_t *bytes;
  size_t len;
  otlp_arena arena;
  otlp_request *req;
} mem_batch;

typedef struct mem_exporter {
  otelc_exporter base;
  pthread_mutex_t mu;
  size_t keep;
  size_t received;   /* since creation or clear */
  mem_batch *ring;   /* keep entries; the newest at (received - 1) % keep */
} mem_exporter;

static void batch_clear(mem_batch *b) {
  free(b->bytes);
  if (b->req) otlp_arena_free(&b->arena);
  memset(b, 0, sizeof *b);
}

static otelc_export_result mem_export(otelc_exporter *self, const otelc_export_batch *batch, int64_t deadline) {
  mem_exporter *m = self->user;
  uint8_t *copy = malloc(batch->len ? batch->len : 1);
  if (!copy) return OTELC_EXPORT_RETRYABLE;
  memcpy(copy, batch->data, batch->len);
  mem_batch nb = {.bytes = copy, .len = batch->len};
  otlp_arena_init(&nb.arena, 0);
  wire_err err;
  nb.req = wire_otlp_decode_request(copy, batch->len, 0, &nb.arena, &err);
  if (!nb.req) {
    fprintf(stderr, "otelc memory exporter: the SDK's request does not decode: %s\n", err.msg);
    otlp_arena_free(&nb.arena);
    free(copy);
    return OTELC_EXPORT_FAILURE;
  }
  size_t repacked_len = protobuf_c_message_get_packed_size(&nb.req->base);
  uint8_t *repacked = malloc(repacked_len ? repacked_len : 1);
  if (repacked) protobuf_c_message_pack(&nb.req->base, repacked);
  bool same = repacked && repacked_len == batch->len && memcmp(repacked, copy, repacked_len) == 0;
  free(repacked);
  if (!same) {
    fprintf(stderr, "otelc memory exporter: the SDK's bytes (%zu) differ from protobuf-c's packing (%zu)\n",
            batch->len, repacked_len);
    otlp_arena_free(&nb.arena);
    free(copy);
    return OTELC_EXPORT_FAILURE;
  }
  pthread_mutex_lock(&m->mu);
  mem_batch *slot = &m->ring[m->received % m->keep];
  batch_clear(slot);
  *slot = nb;
  m->received++;
  pthread_mutex_unlock(&m->mu);
  return OTELC_EXPORT_SUCCESS;
}

static void mem_destroy(otelc_exporter *self) {
  mem_exporter *m = self->user;
  for (size_t i = 0; i < m->keep; i++) batch_clear(&m->ring[i]);
  free(m->ring);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static void mem_after_fork(otelc_exporter *self) {
  mem_exporter *m = self->user;
  pthread_mutex_init(&m->mu, NULL); /* the parent's reader may have held it at fork */
}

otelc_exporter *otelc_memory_exporter_create(size_t keep) {
  mem_exporter *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->keep = keep ? keep : 1;
  m->ring = calloc(m->keep, sizeof *m->ring);
  if (!m->ring) {
    free(m);
    return NULL;
  }
  pthread_mutex_init(&m->mu, NULL);
  m->base.name = "memory";
  m->base.export_batch = mem_export;
  m->base.destroy = mem_destroy;
  m->base.after_fork_child = mem_after_fork;
  m->base.user = m;
  return &m->base;
}

static mem_exporter *as_mem(otelc_exporter *e) {
  return e && e->export_batch == mem_export ? (mem_exporter *)e->user : NULL;
}

/* The kept batch `back` (0 = newest) or NULL. Caller holds m->mu. */
static mem_batch *kept(mem_exporter *m, size_t back) {
  if (back >= m->received || back >= m->keep) return NULL;
  return &m->ring[(m->received - 1 - back) % m->keep];
}

size_t otelc_memory_exporter_batches(otelc_exporter *e) {
  mem_exporter *m = as_mem(e);
  if (!m) return 0;
  pthread_mutex_lock(&m->mu);
  size_t n = m->received;
  pthread_mutex_unlock(&m->mu);
  return n;
}

void otelc_memory_exporter_clear(otelc_exporter *e) {
  mem_exporter *m = as_mem(e);
  if (!m) return;
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->keep; i++) batch_clear(&m->ring[i]);
  m->received = 0;
  pthread_mutex_unlock(&m->mu);
}

uint8_t *otelc_memory_exporter_bytes(otelc_exporter *e, size_t back, size_t *len) {
  mem_exporter *m = as_mem(e);
  if (!m) return NULL;
  uint8_t *out = NULL;
  pthread_mutex_lock(&m->mu);
  mem_batch *b = kept(m, back);
  if (b && (out = malloc(b->len ? b->len : 1))) {
    memcpy(out, b->bytes, b->len);
    if (len) *len = b->len;
  }
  pthread_mutex_unlock(&m->mu);
  return out;
}

/* True if the decoded attributes equal the canonical set p (same size, every key with the same typed value). */
static bool attrs_match(otlp_kv **kv, size_t n, const otelc_attrs_prepared *p) {
  if (n != p->n) return false;
  for (size_t i = 0; i < p->n; i++) {
    const otelc_attr_ref *r = &p->a[i];
    const otlp_kv *found = NULL;
    for (size_t j = 0; j < n; j++) {
      if (strlen(kv[j]->key) == r->klen && memcmp(kv[j]->key, r->key, r->klen) == 0) {
        found = kv[j];
        break;
      }
    }
    if (!found || !found->value) return false;
    const otlp_any *v = found->value;
    switch (r->type) {
    case OTELC_ATTR_STRING:
      if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ||
          strlen(v->string_value) != r->vlen || memcmp(v->string_value, r->v.s, r->vlen) != 0)
        return false;
      break;
    case OTELC_ATTR_INT:
      if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE || v->int_value != r->v.i)
        return false;
      break;
    case OTELC_ATTR_DOUBLE:
      if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE ||
          memcmp(&v->double_value, &r->v.d, sizeof(double)) != 0)
        return false;
      break;
    default:
      if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE ||
          (bool)v->bool_value != (r->v.bits != 0))
        return false;
      break;
    }
  }
  return true;
}

static const otlp_metric *find_metric(const otlp_request *req, const char *name, const otlp_scope **scope) {
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    const otlp_resource_metrics *rm = req->resource_metrics[r];
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[s];
      for (size_t i = 0; i < sm->n_metrics; i++) {
        if (strcmp(sm->metrics[i]->name, name) == 0) {
          if (scope) *scope = sm->scope;
          return sm->metrics[i];
        }
      }
    }
  }
  return NULL;
}

static void fill_number(otelc_point *out, const otlp_number_point *pt) {
  out->is_double = pt->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
  out->as_double = out->is_double ? pt->as_double : (double)pt->as_int;
  out->as_int = out->is_double ? (int64_t)pt->as_double : pt->as_int;
  out->start_time_ns = pt->start_time_unix_nano;
  out->time_ns = pt->time_unix_nano;
  out->n_attrs = pt->n_attributes;
}

/* The members histogram and exponential-histogram points share: protobuf-c's two point types name them alike,
 * so one macro reads them from either. */
#define FILL_HIST(out, pt)                             \
  do {                                                 \
    (out)->start_time_ns = (pt)->start_time_unix_nano; \
    (out)->time_ns = (pt)->time_unix_nano;             \
    (out)->n_attrs = (pt)->n_attributes;               \
    (out)->count = (pt)->count;                        \
    (out)->sum = (pt)->sum;                            \
    (out)->has_min_max = (pt)->min_present_case != 0;  \
    (out)->min = (pt)->min;                            \
    (out)->max = (pt)->max;                            \
  } while (0)

static int find_point(const otlp_metric *m, const otelc_attrs_prepared *p, otelc_point *out) {
  memset(out, 0, sizeof *out);
  const unsigned delta = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    for (size_t i = 0; i < m->sum->n_data_points; i++) {
      const otlp_number_point *pt = m->sum->data_points[i];
      if (!attrs_match(pt->attributes, pt->n_attributes, p)) continue;
      out->type = OTELC_POINT_SUM;
      out->monotonic = m->sum->is_monotonic;
      out->delta = (unsigned)m->sum->aggregation_temporality == delta;
      fill_number(out, pt);
      return 1;
    }
    return 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    for (size_t i = 0; i < m->gauge->n_data_points; i++) {
      const otlp_number_point *pt = m->gauge->data_points[i];
      if (!attrs_match(pt->attributes, pt->n_attributes, p)) continue;
      out->type = OTELC_POINT_GAUGE;
      fill_number(out, pt);
      return 1;
    }
    return 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    for (size_t i = 0; i < m->histogram->n_data_points; i++) {
      const otlp_histogram_point *pt = m->histogram->data_points[i];
      if (!attrs_match(pt->attributes, pt->n_attributes, p)) continue;
      out->type = OTELC_POINT_HISTOGRAM;
      out->delta = (unsigned)m->histogram->aggregation_temporality == delta;
      FILL_HIST(out, pt);
      out->n_bounds = pt->n_explicit_bounds;
      out->bounds = pt->explicit_bounds;
      out->bucket_counts = pt->bucket_counts;
      return 1;
    }
    return 0;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
      const otlp_exp_histogram_point *pt = m->exponential_histogram->data_points[i];
      if (!attrs_match(pt->attributes, pt->n_attributes, p)) continue;
      out->type = OTELC_POINT_EXP_HISTOGRAM;
      out->delta = (unsigned)m->exponential_histogram->aggregation_temporality == delta;
      FILL_HIST(out, pt);
      out->scale = pt->scale;
      out->zero_count = pt->zero_count;
      if (pt->positive) {
        out->pos_offset = pt->positive->offset;
        out->n_pos = pt->positive->n_bucket_counts;
        out->pos = pt->positive->bucket_counts;
      }
      if (pt->negative) {
        out->neg_offset = pt->negative->offset;
        out->n_neg = pt->negative->n_bucket_counts;
        out->neg = pt->negative->bucket_counts;
      }
      return 1;
    }
    return 0;
  default:
    return 0;
  }
}

int otelc_memory_exporter_find(otelc_exporter *e, size_t back, const char *name, const otelc_attr *attrs,
                               size_t n_attrs, otelc_point *out) {
  mem_exporter *m = as_mem(e);
  if (!m || !name || !out) return 0;
  otelc_attrs_prepared *p = malloc(sizeof *p);
  if (!p) return 0;
  otelc_attrs_prepare(attrs, attrs ? n_attrs : 0, NULL, p);
  otelc_attrs_canonicalize(p);
  int found = 0;
  pthread_mutex_lock(&m->mu);
  mem_batch *b = kept(m, back);
  const otlp_metric *mt = b ? find_metric(b->req, name, NULL) : NULL;
  if (mt) found = find_point(mt, p, out);
  pthread_mutex_unlock(&m->mu);
  free(p);
  return found;
}

long otelc_memory_exporter_point_count(otelc_exporter *e, size_t back, const char *name) {
  mem_exporter *m = as_mem(e);
  if (!m || !name) return -1;
  long n = -1;
  pthread_mutex_lock(&m->mu);
  mem_batch *b = kept(m, back);
  const otlp_metric *mt = b ? find_metric(b->req, name, NULL) : NULL;
  if (mt) n = (long)wire_otlp_metric_points(mt);
  pthread_mutex_unlock(&m->mu);
  return n;
}

int otelc_memory_exporter_resource_attr(otelc_exporter *e, size_t back, const char *key, char *buf, size_t size) {
  mem_exporter *m = as_mem(e);
  if (!m || !key || !buf || !size) return 0;
  int found = 0;
  pthread_mutex_lock(&m->mu);
  mem_batch *b = kept(m, back);
  if (b && b->req->n_resource_metrics > 0 && b->req->resource_metrics[0]->resource) {
    const otlp_resource *r = b->req->resource_metrics[0]->resource;
    for (size_t i = 0; i < r->n_attributes && !found; i++) {
      const otlp_kv *kv = r->attributes[i];
      if (strcmp(kv->key, key) != 0 || !kv->value) continue;
      found = 1;
      switch (kv->value->value_case) {
      case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        snprintf(buf, size, "%s", kv->value->string_value);
        break;
      case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        snprintf(buf, size, "%lld", (long long)kv->value->int_value);
        break;
      case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        snprintf(buf, size, "%g", kv->value->double_value);
        break;
      case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        snprintf(buf, size, "%s", kv->value->bool_value ? "true" : "false");
        break;
      default:
        buf[0] = 0;
        break;
      }
    }
  }
  pthread_mutex_unlock(&m->mu);
  return found;
}

int otelc_memory_exporter_metric_info(otelc_exporter *e, size_t back, const char *name, const char **description,
                                      const char **unit, const char **scope_name) {
  mem_exporter *m = as_mem(e);
  if (!m || !name) return 0;
  int found = 0;
  pthread_mutex_lock(&m->mu);
  mem_batch *b = kept(m, back);
  const otlp_scope *scope = NULL;
  const otlp_metric *mt = b ? find_metric(b->req, name, &scope) : NULL;
  if (mt) {
    found = 1;
    if (description) *description = mt->description;
    if (unit) *unit = mt->unit;
    if (scope_name) *scope_name = scope ? scope->name : "";
  }
  pthread_mutex_unlock(&m->mu);
  return found;
}
