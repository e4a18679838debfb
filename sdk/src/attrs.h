/* attrs.h — attribute sets: per-call preparation, comparison with a stored set, canonical form, storage.
 *
 * A measurement's attributes go through otelc_attrs_prepare once per call, on the caller's stack. It drops
 * entries with an empty key (or a key outside the view's allow-list) and hashes the set from its typed values
 * only, order-independently (a sum of per-entry hashes): each string value is scanned once for its length, its
 * hash and its first 32 bytes (kept zero-padded as words). Keys are not scanned on this path: the series of one
 * instrument nearly always share their keys, so keys would not spread the hash; the comparison checks them.
 * (Sets that differ only in their keys thus share a hash; a series table that meets many of them switches to
 * the keyed hash, otelc_attrs_keyed_hash, which scans the keys too.)
 *
 * A series stores its set in canonical form (otelc_attrs_store): distinct keys, in the order the set was first
 * recorded in; n otelc_sattr entries then the string values, each 16-aligned and zero-padded to a multiple of
 * 16 bytes (at least one NUL). Keys are stored once per instrument (interned by the caller, same layout) and
 * the entries point at them. otelc_attrs_equal compares position by position — a call site passes its set in
 * one order, the order the series was stored in — and falls back to matching in any order (a bijection):
 * (type, value length), the value (kept words against the stored padded words), then the key, read from the
 * caller's string in 16-byte blocks against the stored key including its NUL. Exact: a hash match alone never
 * identifies a series, and nothing depends on the addresses of the caller's strings.
 *
 * Only when a lookup misses is the set put in canonical form (otelc_attrs_canonicalize: keys measured, over-long
 * keys dropped, repeated keys collapsed — the last value wins); when that changed the set, its hash changed too
 * and the caller probes again. An existing series is found without allocating and without locks. */
#ifndef OTELC_SDK_ATTRS_H
#define OTELC_SDK_ATTRS_H

#include <stddef.h>
#include <stdint.h>

#include "otelc/otelc.h"

/* A stored attribute (inside a series). 24 bytes. */
typedef struct otelc_sattr {
  const char *key; /* NUL-terminated, 16-aligned, zero-padded to a multiple of 16, interned per instrument */
  union {
    const char *s; /* NUL-terminated, 16-aligned, zero-padded to a multiple of 16, inside the series block */
    int64_t i;
    double d;
    uint64_t bits;
    bool b;
  } v;
  uint32_t vlen;  /* strings */
  uint16_t klen;
  uint16_t type;  /* otelc_attr_type */
} otelc_sattr;

/* One prepared input attribute (pointing into the caller's strings). 64 bytes. */
typedef struct otelc_attr_ref {
  const char *key;
  union {
    const char *s;
    int64_t i;
    double d;
    uint64_t bits; /* int and double: their bits; bool: 0 or 1 */
    bool b;
  } v;
  /* A string value's first 32 bytes as read once by prepare, bytes at and past its NUL zeroed: words [0..2)
   * always, [2..4) when its length is at least 16. */
  uint64_t vw[4];
  /* the same three fields, in the same order, as otelc_sattr's tail (compared as one word, klen masked off) */
  uint32_t vlen;   /* strings */
  uint16_t klen;   /* 0 until otelc_attrs_canonicalize measures the key */
  uint16_t type;
  uint64_t key_hash; /* set by otelc_attrs_canonicalize (for interning) */
} otelc_attr_ref;

typedef struct otelc_attrs_prepared {
  size_t n;          /* entries in a[0..n) */
  uint64_t hash;     /* of the set: independent of order */
  size_t store_size; /* bytes otelc_attrs_store will write (set by otelc_attrs_canonicalize) */
  bool canonical;    /* keys measured and distinct */
  bool has_keyed;    /* keyed_hash computed (otelc_attrs_keyed_hash) */
  uint64_t keyed_hash;
  otelc_attr_ref a[OTELC_MAX_ATTRS];
} otelc_attrs_prepared;

/* The allow-list of a view: keys kept, everything else dropped (NULL list: keep all). */
typedef struct otelc_allow_list {
  size_t n;
  char **keys;
  uint32_t *klens;
} otelc_allow_list;

/* Filters and hashes in[0..n) into *out (see the top comment). Entries past OTELC_MAX_ATTRS are dropped
 * (logged). Reads the caller's strings only during the call. */
void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out);
/* Puts a prepared set in canonical form: measures and hashes the keys, drops keys longer than 65535 bytes and
 * collapses repeated keys (the last value wins; the entries keep their relative order); sets store_size.
 * Returns true if that changed the set (and so its hash). Idempotent. */
bool otelc_attrs_canonicalize(otelc_attrs_prepared *p);
/* Writes the stored form of a canonical set into dst (store_size bytes, dst 16-aligned): n otelc_sattr, then
 * the string values. keys[i] is the interned copy of a[i]'s key (written by otelc_attrs_key_store). */
void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst, const char *const *keys);
/* Bytes a stored string of length len takes (16-aligned, zero-padded, at least one NUL). */
static inline size_t otelc_attrs_str_size(size_t len) { return (len + 16) & ~(size_t)15; }
/* Writes the interned copy of a canonical entry's key (otelc_attrs_str_size(r->klen) bytes, dst 16-aligned). */
void otelc_attrs_key_store(const otelc_attr_ref *r, void *dst);
/* True if the prepared set (canonical or not) equals the stored one (written by otelc_attrs_store). */
bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored);
/* True if an interned key (written by otelc_attrs_key_store, of length len) is a canonical entry's key. */
bool otelc_attrs_key_equal(const otelc_attr_ref *r, const char *interned, size_t len);
/* The keyed hash of a set: its hash combined with the hashes of its keys (which the hash leaves out). For a
 * series table whose sets collide because they differ only in their keys (see instrument.c). The first computes
 * it for a prepared set (scanning the keys; cached in p), the second for a stored set of hash `hash`; equal
 * sets give equal keyed hashes. */
uint64_t otelc_attrs_keyed_hash(otelc_attrs_prepared *p);
uint64_t otelc_attrs_stored_keyed_hash(uint64_t hash, const otelc_sattr *stored, uint32_t n_stored);
/* The hash of the empty set. */
uint64_t otelc_attrs_empty_hash(void);

#endif
