/* attrs.c — attribute sets: hash, compare, canonical form, store (see attrs.h).
 *
 * This runs on every measurement recorded with attributes, so the lookup path is written for small sets
 * (1-8 entries) of short strings (mostly under 32 bytes), and does per call only what identity needs:
 *   - each string value is scanned once: two unaligned 16-byte loads find its NUL (when the 32 bytes from its
 *     start lie in one page, which makes reading past the NUL harmless — libc's SSE2 strlen reads the same
 *     way), plain loads of the same bytes, masked past the NUL, feed the hash (one folded 64x64->128-bit
 *     multiply per 16 bytes) and are kept as words for the comparison; near a page end or past 31 bytes a
 *     general path gives the same length, hash and words;
 *   - keys are neither measured nor hashed: the comparison reads them in 16-byte blocks against the stored
 *     key, whose NUL must match too (so a longer or shorter key fails), when the blocks lie in one page;
 *   - stored strings are zero-padded to a multiple of 16 bytes, so a value under 16 bytes compares as two
 *     words and a key under 16 bytes as one block; sets are compared position by position first.
 * Measuring and collapsing keys (the canonical form) happens only when a lookup misses. No allocation; the
 * reads past a NUL are exempt from ASan/TSan (they are masked off and stay in the page). */
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
#define MIX_K3 0x165667B19E3779F9ULL

/* Reads past a string's NUL (within its page) go through this type: a plain load, never a memcpy call that a
 * sanitizer would intercept. */
typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;

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
 * nothing past either string is read: 16 bytes at a time, the last 16 (overlapping) without a loop. */
static inline bool bytes_equal(const char *a, const char *b, size_t n) {
  if (n > 16) {
    for (size_t i = 0; i + 16 < n; i += 16) {
      if ((load8(a + i) ^ load8(b + i)) | (load8(a + i + 8) ^ load8(b + i + 8))) return false;
    }
    return ((load8(a + n - 16) ^ load8(b + n - 16)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
  }
  if (n >= 8) return ((load8(a) ^ load8(b)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
  if (n >= 4) return ((load4(a) ^ load4(b)) | (load4(a + n - 4) ^ load4(b + n - 4))) == 0;
  if (n == 0) return true;
  return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

/* 64x64->128-bit multiply folded to 64 bits (the wyhash mixer). */
static inline uint64_t mum(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The hash of a string is the sum over its 16-byte chunks of one folded multiply of the chunk's two words
 * (chunk c covers bytes [16c, 16c+16); the last chunk is the one holding the NUL, zero-padded, so a string
 * of length len has len/16 + 1 chunks). Independent chunks, so the multiplies pipeline; the content alone
 * defines it (never the address). A collision only costs an exact comparison. */
static inline uint64_t chunk_hash(uint64_t a, uint64_t b, uint64_t seed, uint64_t c) {
  return mum(a ^ (MIX_K1 + c * MIX_K3), b ^ (seed + c * MIX_K3));
}

/* 32 bytes 0xff then 32 zeros: the 8 bytes at k_keep + 32 - len + off mask a word read at offset `off` of a
 * string of length len down to the bytes before len (for -15 <= off - len <= 8). */
static const unsigned char k_keep[64] __attribute__((aligned(64))) = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static inline const char *keep_masks(size_t len) { return (const char *)k_keep + 32 - len; }
static inline uint64_t keep_before(uint64_t w, const char *masks, size_t off) { return w & load8(masks + off); }

/* strlen reading aligned 16-byte blocks (which never cross a page) from the block holding s[0]: the bytes
 * before s and after its NUL that share those blocks are read and masked off, as libc's SSE2 strlen does. */
#if defined(__SSE2__)
__attribute__((no_sanitize("address", "thread"))) static size_t str_len(const char *s) {
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
static size_t str_len(const char *s) { return strlen(s); }
#endif

/* The general scan: any length, any position; reads exactly the string's bytes after finding its length.
 * Gives the same length, hash and words as the fast scan below. */
__attribute__((noinline)) static uint64_t str_scan_general(const char *s, uint64_t seed, uint64_t w[4],
                                                           size_t *lenp) {
  size_t len = str_len(s), off = 0;
  uint64_t h = 0, c = 0;
  for (; off + 16 <= len; off += 16, c++) h += chunk_hash(load8(s + off), load8(s + off + 8), seed, c);
  union {
    char b[16];
    uint64_t w[2];
  } tail = {{0}};
  memcpy(tail.b, s + off, len - off);
  h += chunk_hash(tail.w[0], tail.w[1], seed, c);
  if (len < 16) {
    w[0] = tail.w[0];
    w[1] = tail.w[1];
  } else {
    w[0] = load8(s);
    w[1] = load8(s + 8);
    w[2] = len < 32 ? tail.w[0] : load8(s + 16);
    w[3] = len < 32 ? tail.w[1] : load8(s + 24);
  }
  *lenp = len;
  return h;
}

/* Length, hash and first words of s in one pass (see the top comment). */
#if defined(__SSE2__)
__attribute__((no_sanitize("address", "thread"))) static inline uint64_t str_scan(const char *s, uint64_t seed,
                                                                                   uint64_t w[4], size_t *lenp) {
  if (__builtin_expect(((uintptr_t)s & 4095) <= 4096 - 32, 1)) { /* s[0..32) is in one page */
    const __m128i zero = _mm_setzero_si128();
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i_u *)s), zero));
    uint64_t w0 = *(const unaligned_u64 *)s, w1 = *(const unaligned_u64 *)(s + 8);
    if (__builtin_expect(m != 0, 1)) {
      size_t len = (size_t)__builtin_ctz(m);
      const char *masks = keep_masks(len);
      w[0] = w0 = keep_before(w0, masks, 0);
      w[1] = w1 = keep_before(w1, masks, 8);
      *lenp = len;
      return chunk_hash(w0, w1, seed, 0);
    }
    m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i_u *)(s + 16)), zero));
    if (m) {
      size_t len = 16 + (size_t)__builtin_ctz(m);
      const char *masks = keep_masks(len);
      uint64_t w2 = keep_before(*(const unaligned_u64 *)(s + 16), masks, 16);
      uint64_t w3 = keep_before(*(const unaligned_u64 *)(s + 24), masks, 24);
      w[0] = w0;
      w[1] = w1;
      w[2] = w2;
      w[3] = w3;
      *lenp = len;
      return chunk_hash(w0, w1, seed, 0) + chunk_hash(w2, w3, seed, 1);
    }
  }
  return str_scan_general(s, seed, w, lenp);
}
#else
static inline uint64_t str_scan(const char *s, uint64_t seed, uint64_t w[4], size_t *lenp) {
  return str_scan_general(s, seed, w, lenp);
}
#endif

/* Exact comparison of a scanned string (words w, bytes at `in`) with a stored copy of the same length
 * (16-aligned, zero-padded to a multiple of 16): the kept words against the stored ones, then past 32 bytes
 * the rest from memory. */
static inline bool str_equal(const uint64_t *w, const char *in, const char *stored, size_t len) {
  uint64_t d = (w[0] ^ load8(stored)) | (w[1] ^ load8(stored + 8));
  if (len >= 16) {
    d |= (w[2] ^ load8(stored + 16)) | (w[3] ^ load8(stored + 24));
    if (len > 32 && !d) return bytes_equal(in + 32, stored + 32, len - 32);
  }
  return !d;
}

/* Exact comparison of a caller's key with a stored key of length len (16-aligned, zero-padded): 16-byte blocks
 * compared byte for byte, the block holding the stored NUL only up to it (so the caller's NUL must be there
 * too). The blocks are read when they lie in the page of the key's first byte; otherwise strcmp decides. */
#if defined(__SSE2__)
__attribute__((no_sanitize("address", "thread"))) static inline bool key_matches(const char *in, const char *st,
                                                                                  size_t len) {
  size_t last = len & ~(size_t)15; /* offset of the block holding the NUL */
  if (__builtin_expect(((uintptr_t)in & 4095) + last > 4096 - 16, 0)) return strcmp(in, st) == 0;
  unsigned bad = 0;
  for (size_t off = 0; off < last; off += 16) {
    bad |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i_u *)(in + off)),
                                                      _mm_load_si128((const __m128i *)(const void *)(st + off)))) ^
           0xffff;
  }
  unsigned need = (2u << (len - last)) - 1; /* bytes last..len, the NUL included */
  unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i_u *)(in + last)),
                                                           _mm_load_si128((const __m128i *)(const void *)(st + last))));
  return (bad | ((eq & need) ^ need)) == 0;
}
#else
static inline bool key_matches(const char *in, const char *st, size_t len) {
  (void)len;
  return strcmp(in, st) == 0;
}
#endif

/* The set hash from the sum of the (already well mixed) entry hashes: one folded multiply, short latency on the
 * path from the last string to the table probe. */
static inline uint64_t finalize(uint64_t h) { return mum(h ^ MIX_K2, MIX_K1); }

uint64_t otelc_attrs_empty_hash(void) { return finalize(0); }

/* The hash of a non-string value: one folded multiply, seeded by the type (int 1, double 1.0 and true differ). */
static inline uint64_t scalar_hash(uint64_t bits, unsigned type) { return mum(bits ^ MIX_K3, MIX_K2 + type); }

static bool allowed(const otelc_allow_list *allow, const char *key) {
  size_t klen = str_len(key);
  for (size_t i = 0; i < allow->n; i++) {
    if (allow->klens[i] == klen && bytes_equal(allow->keys[i], key, klen)) return true;
  }
  return false;
}

/* Bytes of n stored entries, rounded so that the strings after them are 16-aligned. */
static inline size_t entries_size(size_t n) { return (n * sizeof(otelc_sattr) + 15) & ~(size_t)15; }

/* Fills r from a (key not empty, type valid) and adds the value's hash to *h. False to drop the entry. */
static inline bool prepare_entry(const otelc_attr *a, otelc_attr_ref *r, uint64_t *h) {
  unsigned type = (unsigned)a->type;
  r->key = a->key;
  r->klen = 0;
  r->type = (uint16_t)type;
  if (type == OTELC_ATTR_STRING) {
    const char *sv = a->v.s ? a->v.s : "";
    size_t len;
    uint64_t hv = str_scan(sv, MIX_K1, r->vw, &len);
    if (len > 0x7fffffff) return false; /* absurd: treat as dropped */
    r->v.s = sv;
    r->vlen = (uint32_t)len;
    *h += hv;
  } else {
    uint64_t bits;
    if (type == OTELC_ATTR_BOOL) {
      uint8_t byte; /* read as a byte: a bool holding another value would be undefined behaviour */
      memcpy(&byte, &a->v.b, 1);
      bits = byte != 0;
    } else {
      memcpy(&bits, &a->v, 8); /* int64 or double */
    }
    r->v.bits = bits;
    r->vlen = 0;
    *h += scalar_hash(bits, type);
  }
  return true;
}

/* prepare for an instrument with a view's allow-list: the same, keeping only the listed keys. */
__attribute__((noinline)) static void prepare_allowed(const otelc_attr *in, size_t n, const otelc_allow_list *allow,
                                                      otelc_attrs_prepared *out) {
  size_t m = 0;
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++) {
    const otelc_attr *a = &in[i];
    if (!a->key || !a->key[0] || (unsigned)a->type > OTELC_ATTR_BOOL || !allowed(allow, a->key)) continue;
    m += prepare_entry(a, &out->a[m], &h);
  }
  out->n = m;
  out->hash = finalize(h + m);
  out->canonical = false;
  out->has_keyed = false;
}

void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out) {
  if (n > OTELC_MAX_ATTRS) {
    OTELC_WARN("more than %d attributes in one measurement; the rest are dropped", OTELC_MAX_ATTRS);
    n = OTELC_MAX_ATTRS;
  }
  if (allow) {
    prepare_allowed(in, n, allow, out);
    return;
  }
  size_t m = 0;
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++) {
    const otelc_attr *a = &in[i];
    if (!a->key || !a->key[0] || (unsigned)a->type > OTELC_ATTR_BOOL) continue;
    m += prepare_entry(a, &out->a[m], &h);
  }
  out->n = m;
  out->hash = finalize(h + m);
  out->canonical = false;
  out->has_keyed = false;
}

/* The hash prepare added for r's value. */
static uint64_t value_hash(const otelc_attr_ref *r) {
  if (r->type != OTELC_ATTR_STRING) return scalar_hash(r->v.bits, r->type);
  uint64_t w[4];
  size_t len;
  return str_scan(r->v.s, MIX_K1, w, &len);
}

static bool same_key(const otelc_attr_ref *a, const otelc_attr_ref *b) {
  return a->key_hash == b->key_hash && a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

bool otelc_attrs_canonicalize(otelc_attrs_prepared *p) {
  if (p->canonical) return false;
  size_t n = p->n, m = 0;
  for (size_t i = 0; i < n; i++) { /* measure the keys; drop those a stored length cannot hold */
    otelc_attr_ref *r = &p->a[i];
    uint64_t w[4];
    size_t klen;
    r->key_hash = str_scan(r->key, MIX_K2, w, &klen);
    if (klen > 0xffff) continue;
    r->klen = (uint16_t)klen;
    if (m != i) p->a[m] = *r;
    m++;
  }
  size_t kept = 0;
  for (size_t i = 0; i < m; i++) { /* an entry whose key comes again later is replaced by that one */
    bool again = false;
    for (size_t j = i + 1; j < m && !again; j++) again = same_key(&p->a[i], &p->a[j]);
    if (again) continue;
    if (kept != i) p->a[kept] = p->a[i];
    kept++;
  }
  uint64_t h = 0;
  size_t size = 0;
  for (size_t i = 0; i < kept; i++) {
    h += value_hash(&p->a[i]);
    if (p->a[i].type == OTELC_ATTR_STRING) size += otelc_attrs_str_size(p->a[i].vlen);
  }
  p->n = kept;
  p->hash = finalize(h + kept);
  p->store_size = entries_size(kept) + size;
  p->canonical = true;
  p->has_keyed = false;
  return kept != n;
}

static inline uint64_t keyed_combine(uint64_t hash, uint64_t key_sum) { return mum(hash ^ MIX_K3, key_sum ^ MIX_K2); }

uint64_t otelc_attrs_keyed_hash(otelc_attrs_prepared *p) {
  if (!p->has_keyed) {
    uint64_t sum = 0, w[4];
    size_t len;
    for (size_t i = 0; i < p->n; i++) sum += str_scan(p->a[i].key, MIX_K2, w, &len);
    p->keyed_hash = keyed_combine(p->hash, sum);
    p->has_keyed = true;
  }
  return p->keyed_hash;
}

uint64_t otelc_attrs_stored_keyed_hash(uint64_t hash, const otelc_sattr *stored, uint32_t n_stored) {
  uint64_t sum = 0, w[4];
  size_t len;
  for (uint32_t i = 0; i < n_stored; i++) sum += str_scan(stored[i].key, MIX_K2, w, &len);
  return keyed_combine(hash, sum);
}

void otelc_attrs_key_store(const otelc_attr_ref *r, void *dst) {
  memset(dst, 0, otelc_attrs_str_size(r->klen));
  memcpy(dst, r->key, r->klen);
}

void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst, const char *const *keys) {
  otelc_sattr *sa = dst;
  char *str = (char *)dst + entries_size(p->n);
  /* deterministic padding: after the entries and around the strings */
  memset(sa + p->n, 0, p->store_size - p->n * sizeof(otelc_sattr));
  for (size_t k = 0; k < p->n; k++) {
    const otelc_attr_ref *r = &p->a[k];
    sa[k].key = keys[k];
    sa[k].klen = r->klen;
    sa[k].type = r->type;
    sa[k].vlen = r->vlen;
    if (r->type == OTELC_ATTR_STRING) {
      memcpy(str, r->v.s, r->vlen);
      sa[k].v.s = str;
      str += otelc_attrs_str_size(r->vlen);
    } else {
      sa[k].v.bits = r->v.bits;
    }
  }
}

/* (vlen, klen, type) of an entry as one word; compared with klen masked off (prepare does not measure keys,
 * key_matches checks them). */
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
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define META_NO_KLEN 0xffff0000ffffffffULL
#else
#define META_NO_KLEN 0xffffffff0000ffffULL
#endif
_Static_assert(offsetof(otelc_attr_ref, klen) - offsetof(otelc_attr_ref, vlen) == 4 &&
                   offsetof(otelc_attr_ref, type) - offsetof(otelc_attr_ref, vlen) == 6 &&
                   offsetof(otelc_sattr, klen) - offsetof(otelc_sattr, vlen) == 4 &&
                   offsetof(otelc_sattr, type) - offsetof(otelc_sattr, vlen) == 6,
               "otelc_attr_ref and otelc_sattr must share the (vlen, klen, type) layout");
_Static_assert(sizeof(otelc_attr_ref) == 64, "a prepared entry is one cache line");
_Static_assert(OTELC_MAX_ATTRS <= 64, "otelc_attrs_equal tracks matched entries in a 64-bit mask");

/* Exact comparison of a prepared entry with a stored one: type and value length, the value, the key. */
static inline bool entry_matches(const otelc_attr_ref *r, const otelc_sattr *s) {
  if ((ref_meta(r) ^ sattr_meta(s)) & META_NO_KLEN) return false;
  if (r->type == OTELC_ATTR_STRING) {
    if (!str_equal(r->vw, r->v.s, s->v.s, r->vlen)) return false;
  } else if (r->v.bits != s->v.bits) {
    return false;
  }
  return key_matches(r->key, s->key, s->klen);
}

/* The rest of a comparison whose entries before `from` matched position by position: any order (a bijection;
 * stored keys are distinct, so an entry matches at most one stored entry, and a repeated key finds it taken). */
__attribute__((noinline)) static bool equal_any_order(const otelc_attrs_prepared *p, const otelc_sattr *stored,
                                                      size_t from) {
  size_t n = p->n;
  uint64_t used = from ? ~0ULL >> (64 - from) : 0;
  for (size_t i = from; i < n; i++) {
    size_t j = 0;
    while (j < n && ((used >> j & 1) || !entry_matches(&p->a[i], &stored[j]))) j++;
    if (j == n) return false;
    used |= 1ULL << j;
  }
  return true;
}

bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored) {
  size_t n = p->n;
  if (n != n_stored) return false;
  for (size_t i = 0; i < n; i++) {
    if (!entry_matches(&p->a[i], &stored[i])) return equal_any_order(p, stored, i);
  }
  return true;
}

bool otelc_attrs_key_equal(const otelc_attr_ref *r, const char *interned, size_t len) {
  return len == r->klen && memcmp(r->key, interned, len) == 0;
}
