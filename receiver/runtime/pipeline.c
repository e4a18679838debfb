/* pipeline.c — batches of metrics as they move through the pipelines (see receiver/pipeline.h): allocation,
 * decoding (eager, or lazy from the raw form the receiver kept), reference counting, held batches, the raw
 * form's ranges, copy on write and the global memory accounting that memory_limiter and the receivers read. */
#include "receiver/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "wire/otlp_json.h"

static atomic_size_t bytes_in_use;
static atomic_size_t batches_live;

size_t pipeline_bytes_in_use(void) { return atomic_load_explicit(&bytes_in_use, memory_order_relaxed); }
size_t pipeline_batches_live(void) { return atomic_load_explicit(&batches_live, memory_order_relaxed); }

/* What a batch counts against the pipeline: its struct, its arena chunks, its own copy of the bytes and its
 * range and held-pointer arrays. */
static size_t batch_bytes(const component_metrics *m) {
  return sizeof *m + otlp_arena_reserved(&m->arena) + m->held_cap * sizeof *m->held + m->raw_own_len +
         m->raw_cap * sizeof *m->raw;
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
  pthread_mutex_init(&m->decode_mu, NULL);
  atomic_fetch_add_explicit(&batches_live, 1, memory_order_relaxed);
  account(m);
  return m;
}

/* A batch whose req was just decoded (NULL: the decode failed, err set): counts its points and its memory, or
 * releases it. */
static component_metrics *finish_decoded(component_metrics *m) {
  if (!m->req) {
    metrics_unref(m);
    return NULL;
  }
  m->points = wire_otlp_count_points(m->req);
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
  return finish_decoded(m);
}

component_metrics *metrics_decode(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                  wire_err *err) {
  return decode_into_new(false, data, len, max_size, arena_limit, err);
}

component_metrics *metrics_decode_json(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                       wire_err *err) {
  return decode_into_new(true, data, len, max_size, arena_limit, err);
}

/* The receive path of both entry points: validates and scans msg; a request that is not clean is decoded (as
 * metrics_decode does); a clean one keeps its bytes, taken from `body` when given, else copied. */
static component_metrics *receive(wire_buf *body, const uint8_t *msg, size_t len, size_t max_size,
                                  size_t arena_limit, wire_err *err) {
  pbwalk_scan scan;
  if (wire_otlp_scan_request(msg, len, max_size, &scan, err) < 0) return NULL;
  component_metrics *m = metrics_new(arena_limit);
  if (!m) {
    wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory for a new batch");
    return NULL;
  }
  if (!scan.clean) { /* the checks will change something: decode now, as metrics_decode does */
    m->req = wire_otlp_decode_request_trusted(msg, len, &m->arena, err);
    return finish_decoded(m);
  }
  if (len) {
    size_t at = 0, alloc = len;
    if (body && body->data && msg >= body->data && len <= body->len && (size_t)(msg - body->data) <= body->len - len) {
      at = (size_t)(msg - body->data);
      alloc = body->cap;
      m->raw_own = wire_buf_detach(body, NULL);
      if (alloc > at + len + (at + len) / 8) { /* a grown buffer: give the slack back (in place, no copy) */
        uint8_t *p = realloc(m->raw_own, at + len);
        if (p) {
          m->raw_own = p;
          alloc = at + len;
        }
      }
    } else {
      m->raw_own = malloc(len);
      if (!m->raw_own) {
        metrics_unref(m);
        wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory keeping a request of %zu bytes", len);
        return NULL;
      }
      memcpy(m->raw_own, msg, len);
    }
    m->raw_own_len = alloc;
    m->raw_one.iov_base = m->raw_own + at;
    m->raw_one.iov_len = len;
    m->raw = &m->raw_one;
    m->nraw = 1;
    m->raw_len = len;
  }
  m->points = (size_t)scan.points;
  account(m);
  return m;
}

component_metrics *metrics_receive(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                   wire_err *err) {
  return receive(NULL, data, len, max_size, arena_limit, err);
}

component_metrics *metrics_receive_body(wire_buf *body, const uint8_t *msg, size_t len, size_t max_size,
                                        size_t arena_limit, wire_err *err) {
  return receive(body, msg, len, max_size, arena_limit, err);
}

/* ---- the raw form ---------------------------------------------------------------------------------- */

bool metrics_has_raw(const component_metrics *m) { return m && m->nraw > 0; }

size_t metrics_raw(const component_metrics *m, const struct iovec **parts, size_t *nparts) {
  *parts = m->nraw ? m->raw : NULL;
  *nparts = m->nraw;
  return m->raw_len;
}

int metrics_raw_copy(const component_metrics *m, wire_buf *out, wire_err *err) {
  size_t limit = out->limit ? out->limit : SIZE_MAX;
  if (m->raw_len > limit || out->len > limit - m->raw_len)
    return wire_err_set(err, WIRE_E_LIMIT,
                        "pipeline: a request of %zu bytes exceeds the limit of %zu bytes (%zu in use)", m->raw_len,
                        limit, out->len);
  if (m->raw_len == 0) return 0;
  if (wire_buf_reserve(out, m->raw_len, err) < 0) return -1;
  for (size_t i = 0; i < m->nraw; i++) {
    memcpy(out->data + out->len, m->raw[i].iov_base, m->raw[i].iov_len);
    out->len += m->raw[i].iov_len;
  }
  return 0;
}

/* Appends one range to m's list, extending the last one when they touch (consecutive fields of one buffer). */
static int add_range(component_metrics *m, uint8_t *p, size_t n, wire_err *err) {
  if (n == 0) return 0;
  if (m->nraw) {
    struct iovec *last = &m->raw[m->nraw - 1];
    if ((uint8_t *)last->iov_base + last->iov_len == p) {
      last->iov_len += n;
      m->raw_len += n;
      return 0;
    }
  }
  if (m->nraw == 0 && m->raw_cap == 0) {
    m->raw = &m->raw_one;
  } else if (m->raw_cap == 0 || m->nraw == m->raw_cap) {
    size_t cap = m->raw_cap ? m->raw_cap * 2 : 8;
    struct iovec *v = malloc(cap * sizeof *v);
    if (!v) return wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory merging batches");
    if (m->nraw) memcpy(v, m->raw, m->nraw * sizeof *v);
    if (m->raw_cap) free(m->raw);
    m->raw = v;
    m->raw_cap = cap;
  }
  m->raw[m->nraw].iov_base = p;
  m->raw[m->nraw].iov_len = n;
  m->nraw++;
  m->raw_len += n;
  return 0;
}

int metrics_raw_append(component_metrics *m, component_metrics *src, size_t off, size_t len, wire_err *err) {
  if (len == 0) return 0;
  if (off > src->raw_len || len > src->raw_len - off)
    return wire_err_set(err, WIRE_E_INVALID, "pipeline: range %zu+%zu outside a request of %zu bytes", off, len,
                        src->raw_len);
  if (metrics_hold(m, src, err) < 0) return -1;
  size_t at = 0; /* offset of src->raw[i] in src's bytes */
  for (size_t i = 0; i < src->nraw && len > 0; at += src->raw[i].iov_len, i++) {
    size_t plen = src->raw[i].iov_len;
    if (off >= at + plen) continue;
    size_t in = off - at, take = plen - in < len ? plen - in : len;
    if (add_range(m, (uint8_t *)src->raw[i].iov_base + in, take, err) < 0) {
      account(m);
      return -1;
    }
    off += take;
    len -= take;
  }
  account(m);
  return 0;
}

/* Decodes the raw form of m into `arena` (m's own, or a copy's). */
static otlp_request *decode_raw(const component_metrics *m, otlp_arena *arena, wire_err *err) {
  if (m->nraw == 1) return wire_otlp_decode_request_trusted(m->raw[0].iov_base, m->raw[0].iov_len, arena, err);
  /* Ranges of several buffers: protobuf-c wants one, and copies what it keeps, so a temporary one will do. */
  wire_buf tmp;
  wire_buf_init(&tmp, 0);
  otlp_request *r = NULL;
  if (metrics_raw_copy(m, &tmp, err) == 0) r = wire_otlp_decode_request_trusted(tmp.data, tmp.len, arena, err);
  wire_buf_free(&tmp);
  return r;
}

otlp_request *metrics_request(component_metrics *m, wire_err *err) {
  if (!m) return NULL;
  otlp_request *r = __atomic_load_n(&m->req, __ATOMIC_ACQUIRE);
  if (r || m->nraw == 0) return r;
  pthread_mutex_lock(&m->decode_mu);
  r = m->req;
  if (!r) {
    r = decode_raw(m, &m->arena, err);
    if (r) __atomic_store_n(&m->req, r, __ATOMIC_RELEASE);
    account(m);
  }
  pthread_mutex_unlock(&m->decode_mu);
  return r;
}

/* Forgets the raw form (the data is about to change, or has). A batch with a raw form holds other batches only
 * for their bytes (its structs, if any, were decoded into its own arena), so those are released too. */
static void drop_raw(component_metrics *m) {
  if (!m->nraw && !m->raw_own) return;
  free(m->raw_own);
  m->raw_own = NULL;
  m->raw_own_len = 0;
  if (m->raw_cap) free(m->raw);
  m->raw = NULL;
  m->nraw = m->raw_cap = m->raw_len = 0;
  for (size_t i = 0; i < m->nheld; i++) metrics_unref(m->held[i]);
  free(m->held);
  m->held = NULL;
  m->nheld = m->held_cap = 0;
  account(m);
}

/* ---- references ----------------------------------------------------------------------------------- */

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
  free(m->raw_own);
  if (m->raw_cap) free(m->raw);
  pthread_mutex_destroy(&m->decode_mu);
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
  if (m->nraw) return true; /* shared bytes are never written; decoded structs are m's own */
  for (size_t i = 0; i < m->nheld; i++)
    if (!metrics_exclusive(m->held[i])) return false;
  return true;
}

/* ---- copy on write -------------------------------------------------------------------------------- */

static int copy_metadata(component_metrics *c, const component_metrics *m, wire_err *err) {
  c->auth_subject = m->auth_subject;
  if (!m->metadata) return 0;
  c->metadata = calloc(1, sizeof *c->metadata);
  if (!c->metadata) return wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory copying metadata");
  wire_headers_init(c->metadata, 0, 0);
  return wire_headers_copy(c->metadata, m->metadata, err);
}

/* Deep copy. From the raw form when there is one (one decode into the copy's arena); otherwise through the
 * codec: encoding walks whatever m->req points at (its own arena and held batches) and decoding lays the copy
 * out in one fresh arena. Simple, exact for the whole data model, and only paid when a mutating processor
 * shares a batch with another consumer. */
static component_metrics *deep_copy(const component_metrics *m, wire_err *err) {
  wire_buf enc;
  wire_buf_init(&enc, 0);
  component_metrics *c = NULL;
  if (m->nraw) {
    c = metrics_new(m->arena.limit);
    if (!c) {
      wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory copying a batch");
      goto out;
    }
    c->req = decode_raw(m, &c->arena, err);
    if (!c->req) {
      metrics_unref(c);
      c = NULL;
      goto out;
    }
    c->points = m->points;
    account(c);
  } else {
    if (m->req && wire_otlp_encode_request(m->req, &enc, err) < 0) goto out;
    if (m->req) {
      c = metrics_decode(enc.data, enc.len, 0, m->arena.limit, err);
    } else {
      c = metrics_new(m->arena.limit);
      if (!c) wire_err_set(err, WIRE_E_NOMEM, "pipeline: out of memory copying a batch");
    }
    if (!c) goto out;
  }
  if (copy_metadata(c, m, err) < 0) {
    metrics_unref(c);
    c = NULL;
  }
out:
  wire_buf_free(&enc);
  return c;
}

component_metrics *metrics_make_writable(component_metrics *m, wire_err *err) {
  if (!m) return NULL;
  if (metrics_exclusive(m)) {
    if (m->nraw) {
      if (!metrics_request(m, err)) {
        metrics_unref(m);
        return NULL;
      }
      drop_raw(m);
    }
    return m;
  }
  component_metrics *c = deep_copy(m, err);
  metrics_unref(m);
  return c;
}

void metrics_update(component_metrics *m) {
  if (m->req) {
    drop_raw(m);
    m->points = wire_otlp_count_points(m->req);
  } else if (!m->nraw) {
    m->points = 0;
  }
  account(m);
}
