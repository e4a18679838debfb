/* attrs.h — canonical attribute sets.
 *
 * A measurement's attributes go through otelc_attrs_prepare once per call: entries with an empty key or a key
 * outside the view's allow-list are dropped and the set is hashed with an order-independent hash (a sum of
 * per-pair hashes), so the common lookup needs no sorting: otelc_attrs_equal matches the entries against a
 * stored set in any order (a bijection, so repeated keys never match). Only when a lookup misses does
 * otelc_attrs_canonicalize sort the entries by key and drop repeated keys (the last value wins), which is
 * the form a new series stores (otelc_attrs_store: compact entries followed by the NUL-terminated strings).
 * Everything stays on the caller's stack and points into the caller's strings: an existing series is found
 * without allocating. */
#ifndef OTELC_SDK_ATTRS_H
#define OTELC_SDK_ATTRS_H

#include <stddef.h>
#include <stdint.h>

#include "otelc/otelc.h"

/* A stored attribute (inside a series). 24 bytes. */
typedef struct otelc_sattr {
  const char *key; /* NUL-terminated, inside the same block */
  union {
    const char *s; /* NUL-terminated, inside the same block */
    int64_t i;
    double d;
    uint64_t bits;
    bool b;
  } v;
  uint32_t vlen;  /* strings */
  uint16_t klen;
  uint16_t type;  /* otelc_attr_type */
} otelc_sattr;

/* One prepared input attribute (pointing into the caller's strings). */
typedef struct otelc_attr_ref {
  const char *key;
  union {
    const char *s;
    int64_t i;
    double d;
    uint64_t bits;
    bool b;
  } v;
  uint64_t pair_hash; /* hash of (key, type, value) */
  /* the same three fields, in the same order, as otelc_sattr's tail: compared as one 64-bit word */
  uint32_t vlen;   /* strings */
  uint16_t klen;
  uint16_t type;
} otelc_attr_ref;

typedef struct otelc_attrs_prepared {
  size_t n;
  uint64_t hash;
  size_t store_size; /* bytes otelc_attrs_store will write */
  bool canonical;    /* sorted and without repeated keys */
  otelc_attr_ref a[OTELC_MAX_ATTRS];
} otelc_attrs_prepared;

/* The allow-list of a view: keys kept, everything else dropped (NULL list: keep all). */
typedef struct otelc_allow_list {
  size_t n;
  char **keys;
  uint32_t *klens;
} otelc_allow_list;

/* Filters and hashes in[0..n) into *out (see the top comment). Entries past OTELC_MAX_ATTRS are dropped
 * (logged). The hash equals that of the canonical form unless a key repeats. */
void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out);
/* Sorts by key and drops repeated keys (the last wins), updating hash and store_size. Idempotent. */
void otelc_attrs_canonicalize(otelc_attrs_prepared *p);
/* Writes the stored form of a canonical set into dst (store_size bytes, 8-aligned): n otelc_sattr then the
 * strings. */
void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst);
/* True if the prepared set (canonical or not) equals the stored one, in any order. */
bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored);
/* The hash of the empty set. */
uint64_t otelc_attrs_empty_hash(void);

#endif
