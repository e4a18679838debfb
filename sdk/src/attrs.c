/* attrs.c — canonical attribute sets: sort, dedup (last wins), hash, store, compare (see attrs.h).
 *
 * This runs on every measurement recorded with attributes, so it is written for small sets (1-8 entries):
 * insertion sort on the stack, one pass of hashing 8 bytes at a time, no allocation. */
#include "sdk/src/attrs.h"

#include <string.h>

#include "sdk/src/log.h"

#define MIX_K1 0x9E3779B97F4A7C15ULL
#define MIX_K2 0xC2B2AE3D27D4EB4FULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t mix_word(uint64_t h, uint64_t w) { return (rotl64(h, 23) ^ w) * MIX_K1; }

static inline uint64_t hash_bytes(uint64_t h, const char *p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = mix_word(h, w);
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = mix_word(h, w ^ ((uint64_t)n << 56));
  }
  return h;
}

static inline uint64_t finalize(uint64_t h) {
  h ^= h >> 33;
  h *= MIX_K2;
  h ^= h >> 29;
  h *= MIX_K1;
  h ^= h >> 32;
  return h;
}

uint64_t otelc_attrs_empty_hash(void) { return finalize(MIX_K2); }

static inline int key_cmp(const char *a, uint32_t la, const char *b, uint32_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  if (c) return c;
  return la < lb ? -1 : la > lb ? 1 : 0;
}

static bool allowed(const otelc_allow_list *allow, const char *key, uint32_t klen) {
  for (size_t i = 0; i < allow->n; i++) {
    if (allow->klens[i] == klen && memcmp(allow->keys[i], key, klen) == 0) return true;
  }
  return false;
}

void otelc_attrs_prepare(const otelc_attr *in, size_t n, const otelc_allow_list *allow, otelc_attrs_prepared *out) {
  size_t m = 0;
  if (n > OTELC_MAX_ATTRS) {
    OTELC_WARN("more than %d attributes in one measurement; the rest are dropped", OTELC_MAX_ATTRS);
    n = OTELC_MAX_ATTRS;
  }
  for (size_t i = 0; i < n; i++) {
    const otelc_attr *a = &in[i];
    if (!a->key || !a->key[0] || (unsigned)a->type > OTELC_ATTR_BOOL) continue;
    size_t klen = strlen(a->key);
    if (klen > 0xffff) continue;
    if (allow && !allowed(allow, a->key, (uint32_t)klen)) continue;
    otelc_attr_ref r;
    r.key = a->key;
    r.klen = (uint32_t)klen;
    r.type = (uint32_t)a->type;
    r.vlen = 0;
    r.v.bits = 0;
    switch (a->type) {
    case OTELC_ATTR_STRING: {
      const char *s = a->v.s ? a->v.s : "";
      size_t vlen = strlen(s);
      if (vlen > 0x7fffffff) vlen = 0x7fffffff;
      r.v.s = s;
      r.vlen = (uint32_t)vlen;
      break;
    }
    case OTELC_ATTR_INT: r.v.i = a->v.i; break;
    case OTELC_ATTR_DOUBLE: r.v.d = a->v.d; break;
    case OTELC_ATTR_BOOL: r.v.bits = a->v.b ? 1 : 0; break;
    }
    /* Insertion into the sorted prefix; an equal key is replaced (the later value wins). */
    size_t j = m;
    int c = 1;
    while (j > 0 && (c = key_cmp(out->a[j - 1].key, out->a[j - 1].klen, r.key, r.klen)) > 0) j--;
    if (j > 0 && c == 0) {
      out->a[j - 1] = r;
      continue;
    }
    memmove(&out->a[j + 1], &out->a[j], (m - j) * sizeof r);
    out->a[j] = r;
    m++;
  }
  out->n = m;
  uint64_t h = MIX_K2;
  size_t size = m * sizeof(otelc_sattr);
  for (size_t i = 0; i < m; i++) {
    const otelc_attr_ref *r = &out->a[i];
    h = hash_bytes(h, r->key, r->klen);
    h = mix_word(h, ((uint64_t)r->type << 32) | r->klen);
    size += r->klen + 1;
    if (r->type == OTELC_ATTR_STRING) {
      h = hash_bytes(h, r->v.s, r->vlen);
      h = mix_word(h, r->vlen);
      size += r->vlen + 1;
    } else {
      h = mix_word(h, r->v.bits);
    }
  }
  out->hash = finalize(h);
  out->store_size = (size + 7) & ~(size_t)7;
}

void otelc_attrs_store(const otelc_attrs_prepared *p, void *dst) {
  otelc_sattr *sa = dst;
  char *str = (char *)(sa + p->n);
  for (size_t i = 0; i < p->n; i++) {
    const otelc_attr_ref *r = &p->a[i];
    memcpy(str, r->key, r->klen);
    str[r->klen] = 0;
    sa[i].key = str;
    sa[i].klen = r->klen;
    sa[i].type = (uint16_t)r->type;
    sa[i].reserved = 0;
    str += r->klen + 1;
    if (r->type == OTELC_ATTR_STRING) {
      memcpy(str, r->v.s, r->vlen);
      str[r->vlen] = 0;
      sa[i].v.s = str;
      str += r->vlen + 1;
    } else {
      sa[i].v.bits = r->v.bits;
    }
  }
}

bool otelc_attrs_equal(const otelc_attrs_prepared *p, const otelc_sattr *stored, uint32_t n_stored) {
  if (p->n != n_stored) return false;
  for (size_t i = 0; i < p->n; i++) {
    const otelc_attr_ref *r = &p->a[i];
    const otelc_sattr *s = &stored[i];
    if (r->klen != s->klen || r->type != s->type || memcmp(r->key, s->key, r->klen) != 0) return false;
    if (r->type == OTELC_ATTR_STRING) {
      if (strncmp(s->v.s, r->v.s, r->vlen) != 0 || s->v.s[r->vlen] != 0) return false;
    } else if (r->v.bits != s->v.bits) {
      return false;
    }
  }
  return true;
}
