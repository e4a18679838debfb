/* pipeline.c — batches of metrics as they move through the pipelines (see receiver/pipeline.h): allocation,
 * decoding, reference counting, held batches, copy on write and the global memory accounting that
 * memory_limiter and the receivers read. */
#include "receiver/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "wire/otlp_json.h"

static atomic_size_t bytes_in_use;
static atomic_size_t batches_live;

size_t pipeline_bytes_in_use(void) { return atomic_load_explicit(&bytes_in_use, memory_order_relaxed); }
size_t pipeline_batches_live(void) { return atomic_load_explicit(&batches_live, memory_order_relaxed); }

/* What a batch counts against the pipeline: its struct, its arena chunks and its held-pointer array. */
static size_t batch_bytes(const component_metrics *m) {
  return sizeof *m + otlp_arena_reserved(&m->arena) + m->held_cap * sizeof *m->held;
}

static void account(component_metrics *m) {
  size_t now = batch_bytes(m);
  size_t before = atomic_exchange_explicit(&m->accounted, now, memory_order_relaxed);
  if (now >= before)
    atomic_fetch_add_explicit(&bytes_in_use, now - before, memory_order_relaxed);
  else
    atomic_fetch_sub_explicit(&bytes_in_use, before - now, memory_order_relaxed);
}

component_metrics *metrics_new(size_t arena_limit) {
  component_metrics *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  otlp_arena_init(&m->arena, arena_limit);
  atomic_init(&m->refs, 1);
  atomic_init(&m->accounted, 0);
  atomic_fetch_add_explicit(&batches_live, 1, memory_order_relaxed);
  account(m);
  return m;
}

static component_metrics *decode_into_new(bool json, const uint8_t *data, size_t len, size_t max_size,
                                          size_t arena_limit, wire_err *err) {
  component_metrics *m = metrics_new(arena_limit);
  if (!m) {
    wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory for a new batch");
    return NULL;
  }
  m->req = json ? wire_otlp_json_decode_request(data, len, max_size, 0, &m->arena, err)
                : wire_otlp_decode_request(data, len, max_size, &m->arena, err);
  if (!m->req) {
    metrics_unref(m);
    return NULL;
  }
  m->points = wire_otlp_count_points(m->req);
  account(m);
  return m;
}

component_metrics *metrics_decode(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                  wire_err *err) {
  return decode_into_new(false, data, len, max_size, arena_limit, err);
}

component_metrics *metrics_decode_json(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                       wire_err *err) {
  return decode_into_new(true, data, len, max_size, arena_limit, err);
}

component_metrics *metrics_ref(component_metrics *m) {
  if (m) atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
  return m;
}

void metrics_unref(component_metrics *m) {
  if (!m) return;
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1) return;
  size_t acc = atomic_load_explicit(&m->accounted, memory_order_relaxed);
  atomic_fetch_sub_explicit(&bytes_in_use, acc, memory_order_relaxed);
  atomic_fetch_sub_explicit(&batches_live, 1, memory_order_relaxed);
  otlp_arena_free(&m->arena);
  if (m->metadata) {
    wire_headers_free(m->metadata);
    free(m->metadata);
  }
  for (size_t i = 0; i < m->nheld; i++) metrics_unref(m->held[i]);
  free(m->held);
  free(m);
}

int metrics_hold(component_metrics *m, component_metrics *src, wire_err *err) {
  for (size_t i = 0; i < m->nheld; i++)
    if (m->held[i] == src) return 0; /* already held: one reference is enough */
  if (m->nheld == m->held_cap) {
    size_t cap = m->held_cap ? m->held_cap * 2 : 8;
    component_metrics **v = realloc(m->held, cap * sizeof *v);
    if (!v) return wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory holding a batch");
    m->held = v;
    m->held_cap = cap;
    account(m);
  }
  m->held[m->nheld++] = metrics_ref(src);
  return 0;
}

bool metrics_exclusive(const component_metrics *m) {
  if (atomic_load_explicit(&m->refs, memory_order_acquire) != 1) return false;
  for (size_t i = 0; i < m->nheld; i++)
    if (!metrics_exclusive(m->held[i])) return false;
  return true;
}

/* Deep copy through the codec: encoding walks whatever m->req points at (its own arena and held batches)
 * and decoding lays the copy out in one fresh arena. Simple, exact for the whole data model, and only paid
 * when a mutating processor shares a batch with another consumer. */
static component_metrics *deep_copy(const component_metrics *m, wire_err *err) {
  wire_buf enc;
  wire_buf_init(&enc, 0);
  component_metrics *c = NULL;
  if (m->req && wire_otlp_encode_request(m->req, &enc, err) < 0) goto out;
  if (m->req) {
    c = metrics_decode(enc.data, enc.len, 0, m->arena.limit, err);
  } else {
    c = metrics_new(m->arena.limit);
    if (!c) wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory copying a batch");
  }
  if (!c) goto out;
  c->auth_subject = m->auth_subject;
  if (m->metadata) {
    c->metadata = calloc(1, sizeof *c->metadata);
    if (!c->metadata) {
      wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory copying metadata");
      metrics_unref(c);
      c = NULL;
      goto out;
    }
    wire_headers_init(c->metadata, 0, 0);
    if (wire_headers_copy(c->metadata, m->metadata, err) < 0) {
      metrics_unref(c);
      c = NULL;
      goto out;
    }
  }
out:
  wire_buf_free(&enc);
  return c;
}

component_metrics *metrics_make_writable(component_metrics *m, wire_err *err) {
  if (!m) return NULL;
  if (metrics_exclusive(m)) return m;
  component_metrics *c = deep_copy(m, err);
  metrics_unref(m);
  return c;
}

void metrics_update(component_metrics *m) {
  m->points = m->req ? wire_otlp_count_points(m->req) : 0;
  account(m);
}
