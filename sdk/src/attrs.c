/* attrs.c — canonical attribute sets: sort, dedup (last wins), hash, store, compare (see attrs.h).
 *
 * This runs on every measurement recorded with attributes, so it is written for small sets (1-8 entries):
 * an inlined SSE2 strlen per string, then hashing and comparing with overlapping word loads of the
 * known length, no sorting unless a lookup misses, and no allocation. */
#include "sdk/src/attrs.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sdk/src/log.h"


#define MIX_K1 0x9E3779B97F4A7C15ULL
#define MIX_K2 0xC2B2AE3D27D4EB4FULL


static inline uint64_t load8(const char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

static inline uint32_t load4(const char *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return w;
}

/* Compares n bytes of two strings (a length already known to be equal) with overlapping word loads, so
 * nothing past either string is read: up to 16 bytes without a loop, then 16 at a time. */
static inline bool bytes_equal(const char *a, const char *b, size_t n) {
  if (n >= 8) {
    if (n > 16) {
      size_t i = 0;
      for (; i + 16 < n; i += 16) {
        if ((load8(a + i) ^ load8(b + i)) | (load8(a + i + 8) ^ load8(b + i + 8))) return false;
      }
    }
    return ((load8(a) ^ load8(b)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
  }
  if (n >= 4) return ((load4(a) ^ load4(b)) | (load4(a + n - 4) ^ load4(b + n - 4))) == 0;
  if (n == 0) return true;
  return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

/* 64x64->128-bit multiply folded to 64 bits (the wyhash mixer). */
static inline uint64_t mum(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Hash of n bytes (a length known from strlen), wyhash-style: one folded multiply per 16 bytes, read with
 * overlapping loads so nothing past the string is touched. The chunks are independent (summed), so the
 * multiplies pipeline instead of forming one long dependency chain per string; per-pair hashes are then summed
 * over the set and the sum finalized once (finalize()). A collision only costs an exact comparison. */
static inline uint64_t hash_bytes(uint64_t seed, const char *p, size_t n) {
  uint64_t a, b;
  if (n <= 16) {
    if (n >= 8) {
      a = load8(p);
      b = load8(p + n - 8);
    } else if (n >= 4) {
      a = load4(p);
      b = load4(p + n - 4);
    } else {
      a = n ? (uint64_t)(uint8_t)p[0] << 16 | (uint64_t)(uint8_t)p[n / 2] << 8 | (uint8_t)p[n - 1] : 0;
      b = 0;
    }
    return mum(a ^ MIX_K1 ^ n, b ^ seed);
  }
  uint64_t acc = n;
  size_t i = 0;
  for (; i + 16 < n; i += 16) acc += mum(load8(p + i) ^ (MIX_K1 + i), load8(p + i + 8) ^ seed);
  return acc + mum(load8(p + n - 16) ^ (MIX_K1 + i), load8(p + n - 8) ^ seed);
}
/* strlen, inlined: the attribute strings are short, and a call per string through the PLT costs as much as
 * the scan. 16-byte aligned loads (which never cross a page) from the aligned block holding s[0]: the bytes
 * before s and after its NUL that share those blocks are read and masked off, the way libc's SSE2 strlen
 * reads; exempt from ASan/TSan for that reason. (A single pass that also hashes measured slower: the hash
 * then waits on vector-to-integer moves.) */
#if defined(__SSE2__)
__attribute__((no_sanitize("address", "thread"))) static inline size_t str_len(const char *s) {
  uintptr_t mis = (uintptr_t)s & 15;
  const __m128i *p = (const __m128i *)(const void *)(s - mis);
  const __m128i zero = _mm_setzero_si128();
  unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(p), zero)) >> mis;
  if (mask) return (size_t)__builtin_ctz(mask);
  size_t len = 16 - mis;
  for (;;) {
    mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(++p), zero));
    if (mask) return len + (size_t)__builtin_ctz(mask);
    len += 16;
  }
}
#else
static inline size_t str_len(const char *s) { return strlen(s); }
#endif

static inline size_t padded(size_t len) { return (len + 8) & ~(size_t)7; } /* len + NUL, rounded up to 8 */

/* The set hash from the sum of the (already well mixed) pair hashes: one folded multiply, short latency on the
 * path from the last string to the table probe. */
static inline uint64_t finalize(uint64_t h) { return mum(h ^ MIX_K2, MIX_K1); }

uint64_t otelc_attrs_empty_hash(void) { return finalize(0); }

/* The first min(n, 8) bytes of p, big-endian and zero-padded: compares like memcmp on that prefix. */
static inline uint64_t prefix_be(const char *p, size_t n) {
  uint64_t w = 0;
  if (n >= 8) w = load8(p);
  else memcpy(&w, p, n);
  return __builtin_bswap64(w);
}

/* Key order: memcmp order, then the shorter first. */
static inline int ref_cmp(const otelc_attr_ref *a, const otelc_attr_ref *b) {
  uint64_t pa = prefix_be(a->key, a->klen), pb = prefix_be(b->key, b->klen);
  if (pa != pb) return pa < pb ? -1 : 1;
  int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
  if (c) return c;
  return a->klen < b->klen ? -1 : a->klen > b->klen ? 1 : 0;
}

static bool allowed(const otelc_allow_list *allow, const char *key, uint32_t klen) {
  for (size_t i = 0; i < allow->n; i++) {
    if (allow->klens[i] == klen && bytes_equal(allow->keys[i], key, klen)) return true;
  }
  return false;
}

void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out) {
  size_t m = 0, size = 0;
  uint64_t h = 0;
  if (n > OTELC_MAX_ATTRS) {
    OTELC_WARN("more than %d attributes in one measurement; the rest are dropped", OTELC_MAX_ATTRS);
    n = OTELC_MAX_ATTRS;
  }
  for (size_t i = 0; i < n; i++) {
    const otelc_attr *a = &in[i];
    if (!a->key || !a->key[0] || (unsigned)a->type > OTELC_ATTR_BOOL) continue;
    size_t klen = str_len(a->key);
    if (klen > 0xffff) continue;
    if (allow && !allowed(allow, a->key, (uint32_t)klen)) continue;
    otelc_attr_ref *r = &out->a[m++];
    r->key = a->key;
    r->klen = (uint16_t)klen;
    r->type = (uint16_t)a->type;
    r->vlen = 0;
    uint64_t hk = hash_bytes(MIX_K2, a->key, klen), hv;
    switch (a->type) {
    case OTELC_ATTR_STRING: {
      const char *sv = a->v.s ? a->v.s : "";
      size_t vlen = str_len(sv);
      if (vlen > 0x7fffffff) { /* absurd: treat as dropped */
        m--;
        continue;
      }
      hv = hash_bytes(MIX_K1, sv, vlen);
      r->v.s = sv;
      r->vlen = (uint32_t)vlen;
      size += padded(vlen);
      break;
    }
    case OTELC_ATTR_INT: r->v.i = a->v.i; hv = r->v.bits; break;
    case OTELC_ATTR_DOUBLE: r->v.d = a->v.d; hv = r->v.bits; break;
    default: {
      uint8_t byte; /* read as a byte: a bool holding another value would be undefined behaviour */
      memcpy(&byte, &a->v.b, 1);
      r->v.bits = byte != 0;
      hv = r->v.bits;
      break;
    }
    }
    size += padded(klen);
    /* key and value hashes are independent (computed in parallel); one more multiply ties them together */
    r->pair_hash = mum(hk ^ MIX_K2, hv ^ MIX_K1 ^ ((uint64_t)a->type << 56));
    h += r->pair_hash;
  }
  out->n = m;
  out->hash = finalize(h + m);
  out->store_size = m * sizeof(otelc_sattr) + size;
  out->canonical = m <= 1;
}

void otelc_attrs_canonicalize(otelc_attrs_prepared *p) {
  if (p->canonical) return;
  size_t m = 0;
  for (size_t i = 0; i < p->n; i++) {
    otelc_attr_ref r = p->a[i];
    /* Insertion into the sorted prefix a[0..m); an equal key is replaced (the later value wins). */
    size_t j = m;
    int c = 1;
    while (j > 0 && (c = ref_cmp(&p->a[j - 1], &r)) > 0) j--;
    if (j > 0 && c == 0) {
      p->a[j - 1] = r;
      continue;
    }
    for (size_t k = m; k > j; k--) p->a[k] = p->a[k - 1];
    p->a[j] = r;
    m++;
  }
  uint64_t h = 0;
  size_t size = 0;
  for (size_t i = 0; i < m; i++) {
    h += p->a[i].pair_hash;
    size += padded(p->a[i].klen) + (p->a[i].type == OTELC_ATTR_STRING ? padded(p->a[i].vlen) : 0);
  }
  p->n = m;
  p->hash = finalize(h + m);
  p->store_size = m * sizeof(otelc_sattr) + size;
  p->canonical = true;
}

void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst) {
  otelc_sattr *sa = dst;
  char *str = (char *)(sa + p->n);
  memset(str, 0, p->store_size - p->n * sizeof(otelc_sattr)); /* deterministic padding */
  for (size_t i = 0; i < p->n; i++) {
    const otelc_attr_ref *r = &p->a[i];
    memcpy(str, r->key, r->klen);
    sa[i].key = str;
    sa[i].klen = (uint16_t)r->klen;
    sa[i].type = (uint16_t)r->type;
    sa[i].vlen = r->vlen;
    str += padded(r->klen);
    if (r->type == OTELC_ATTR_STRING) {
      memcpy(str, r->v.s, r->vlen);
      sa[i].v.s = str;
      str += padded(r->vlen);
    } else {
      sa[i].v.bits = r->v.bits;
    }
  }
}

/* vlen, klen and type as one word (the same layout in otelc_attr_ref and otelc_sattr). */
static inline uint64_t ref_meta(const otelc_attr_ref *r) {
  uint64_t w;
  memcpy(&w, &r->vlen, 8);
  return w;
}
static inline uint64_t sattr_meta(const otelc_sattr *s) {
  uint64_t w;
  memcpy(&w, &s->vlen, 8);
  return w;
}
_Static_assert(offsetof(otelc_attr_ref, klen) - offsetof(otelc_attr_ref, vlen) == 4 &&
                   offsetof(otelc_attr_ref, type) - offsetof(otelc_attr_ref, vlen) == 6 &&
                   offsetof(otelc_sattr, klen) - offsetof(otelc_sattr, vlen) == 4 &&
                   offsetof(otelc_sattr, type) - offsetof(otelc_sattr, vlen) == 6,
               "otelc_attr_ref and otelc_sattr must share the (vlen, klen, type) layout");

/* Exact comparison of an input entry with a stored one whose (vlen, klen, type) already matched. */
static inline bool ref_matches(const otelc_attr_ref *r, const otelc_sattr *s) {
  if (r->type == OTELC_ATTR_STRING) {
    if (!bytes_equal(r->v.s, s->v.s, r->vlen)) return false;
  } else if (r->v.bits != s->v.bits) {
    return false;
  }
  return bytes_equal(r->key, s->key, r->klen);
}

bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored) {
  size_t n = p->n;
  if (n != n_stored) return false;
  uint64_t used = 0; /* stored entries already matched: a bijection, so a repeated key never matches */
  for (size_t i = 0; i < n; i++) {
    const otelc_attr_ref *r = &p->a[i];
    uint64_t meta = ref_meta(r);
    size_t j = i; /* the same position first (inputs in key order), then the others */
    if (!(sattr_meta(&stored[j]) == meta && ref_matches(r, &stored[j]))) {
      for (j = 0; j < n; j++) {
        if (j != i && sattr_meta(&stored[j]) == meta && ref_matches(r, &stored[j])) break;
      }
      if (j == n) return false;
    }
    if (used & (1ULL << j)) return false;
    used |= 1ULL << j;
  }
  return true;
}
