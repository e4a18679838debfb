/* attrs.h — canonical attribute sets.
 *
 * A measurement's attributes go through otelc_attrs_prepare once per call: entries with an empty key or a
 * key outside the view's allow-list are dropped, the rest are sorted by key with the last value of a repeated
 * key winning, and the set is hashed. Everything stays on the caller's stack and points into the caller's
 * strings, so looking up an existing series allocates nothing. A new series stores its set with
 * otelc_attrs_store: compact entries followed by the NUL-terminated strings, in one block. */
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
  uint32_t klen;
  uint16_t type; /* otelc_attr_type */
  uint16_t reserved;
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
  uint32_t klen;
  uint32_t vlen; /* strings */
  uint32_t type;
} otelc_attr_ref;

typedef struct otelc_attrs_prepared {
  size_t n;
  uint64_t hash;
  size_t store_size; /* bytes otelc_attrs_store will write */
  otelc_attr_ref a[OTELC_MAX_ATTRS];
} otelc_attrs_prepared;

/* The allow-list of a view: keys kept, everything else dropped (NULL list: keep all). */
typedef struct otelc_allow_list {
  size_t n;
  char **keys;
  uint32_t *klens;
} otelc_allow_list;

/* Canonicalises in[0..n) into *out (see the top comment). Entries past OTELC_MAX_ATTRS are dropped (logged). */
void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out);
/* Writes the stored form into dst (store_size bytes, 8-aligned): n otelc_sattr then the strings. */
void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst);
/* True if the prepared set equals the stored one. */
bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored);
/* The hash of the empty set. */
uint64_t otelc_attrs_empty_hash(void);

#endif
