/* test_attrs.c — the attribute-set layer (sdk/src/attrs.h) on its own: a set is prepared, put in canonical
 * form and stored the way a series stores it, then other inputs are looked up against it the way the series
 * table does (hash, exact comparison, canonical form after a miss). Covers the edge cases of the per-call scan
 * and comparison: strings ending at a page end (the next page unmapped), strings of every length around the
 * 16/32-byte blocks, long strings, empty strings, equal prefixes, reordered sets, 0-9 and 65 attributes, mixed
 * value types, repeated keys, and caller buffers reused with new content; the keyed hash agrees for equal sets
 * and tells apart sets that differ only in their keys. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sdk/src/attrs.h"
#include "testlib.h"

/* A set stored as a series stores it: entries and values in one 16-aligned block, keys interned separately. */
typedef struct stored_set {
  uint64_t hash;
  uint32_t n;
  otelc_sattr *attrs;
  char *keys[OTELC_MAX_ATTRS];
} stored_set;

static stored_set *store(const otelc_attr *a, size_t n) {
  stored_set *s = calloc(1, sizeof *s);
  otelc_attrs_prepared *p = malloc(sizeof *p);
  otelc_attrs_prepare(a, n, NULL, p);
  otelc_attrs_canonicalize(p);
  for (size_t i = 0; i < p->n; i++) {
    s->keys[i] = aligned_alloc(16, otelc_attrs_str_size(p->a[i].klen));
    otelc_attrs_key_store(&p->a[i], s->keys[i]);
  }
  s->attrs = aligned_alloc(16, p->store_size ? p->store_size : 16);
  otelc_attrs_store(p, s->attrs, (const char *const *)s->keys);
  s->hash = p->hash;
  s->n = (uint32_t)p->n;
  free(p);
  return s;
}

static void store_free(stored_set *s) {
  for (uint32_t i = 0; i < s->n; i++) free(s->keys[i]);
  free(s->attrs);
  free(s);
}

/* Looks b up against the stored set as the series table does: the prepared set first, then its canonical form
 * (which a lookup uses after a miss). Checks that equal sets hash the same and that both forms agree. */
static bool finds(const stored_set *s, const otelc_attr *b, size_t n) {
  otelc_attrs_prepared *p = malloc(sizeof *p);
  otelc_attrs_prepare(b, n, NULL, p);
  bool fast = otelc_attrs_equal(p, s->attrs, s->n);
  CHECK_MSG(!fast || p->hash == s->hash, "equal sets must hash the same");
  CHECK_MSG(!fast || otelc_attrs_keyed_hash(p) == otelc_attrs_stored_keyed_hash(s->hash, s->attrs, s->n),
            "equal sets must have the same keyed hash");
  bool changed = otelc_attrs_canonicalize(p);
  bool canon = otelc_attrs_equal(p, s->attrs, s->n);
  CHECK_MSG(!canon || p->hash == s->hash, "equal sets must hash the same (canonical form)");
  CHECK_MSG(!canon || otelc_attrs_keyed_hash(p) == otelc_attrs_stored_keyed_hash(s->hash, s->attrs, s->n),
            "equal sets must have the same keyed hash (canonical form)");
  CHECK_MSG(!fast || canon, "the canonical form must match whenever the prepared set does");
  CHECK_MSG(fast == canon || changed, "the prepared and canonical forms disagree on an unchanged set");
  free(p);
  return fast || canon;
}

static bool same_set(const otelc_attr *a, size_t na, const otelc_attr *b, size_t nb) {
  stored_set *s = store(a, na);
  bool r = finds(s, b, nb);
  store_free(s);
  return r;
}

/* ---- cases ---------------------------------------------------------------------------------------------- */

static void reordered_sets_are_one(void) {
  otelc_attr base[] = {OTELC_ATTR_STR("http.request.method", "GET"), OTELC_ATTR_STR("http.route", "/api/users"),
                       OTELC_ATTR_INT("http.response.status_code", 200), OTELC_ATTR_BOOL("error", false)};
  stored_set *s = store(base, 4);
  /* all 24 orders */
  int perm[4] = {0, 1, 2, 3}, c[4] = {0};
  otelc_attr x[4];
  for (int k = 0; k < 4; k++) x[k] = base[perm[k]];
  CHECK(finds(s, x, 4));
  for (int i = 1; i < 4;) { /* Heap's algorithm */
    if (c[i] < i) {
      int j = (i % 2) ? c[i] : 0, t = perm[j];
      perm[j] = perm[i];
      perm[i] = t;
      for (int k = 0; k < 4; k++) x[k] = base[perm[k]];
      CHECK_MSG(finds(s, x, 4), "order %d%d%d%d", perm[0], perm[1], perm[2], perm[3]);
      c[i]++;
      i = 1;
    } else {
      c[i++] = 0;
    }
  }
  /* a subset or a superset is another set */
  CHECK(!finds(s, base, 3));
  otelc_attr more[5] = {base[0], base[1], base[2], base[3], OTELC_ATTR_INT("extra", 1)};
  CHECK(!finds(s, more, 5));
  store_free(s);
}

static void values_and_keys_decide(void) {
  otelc_attr a[] = {OTELC_ATTR_STR("a", "x"), OTELC_ATTR_STR("b", "y")};
  otelc_attr swapped[] = {OTELC_ATTR_STR("a", "y"), OTELC_ATTR_STR("b", "x")}; /* the same hash by design */
  CHECK(!same_set(a, 2, swapped, 2));
  otelc_attr k1[] = {OTELC_ATTR_STR("user", "alice")}, k2[] = {OTELC_ATTR_STR("admin", "alice")};
  CHECK(!same_set(k1, 1, k2, 1));
  stored_set *s1 = store(k1, 1), *s2 = store(k2, 1);
  CHECK_EQ_U64(s1->hash, s2->hash); /* by design: keys are not hashed */
  CHECK(otelc_attrs_stored_keyed_hash(s1->hash, s1->attrs, s1->n) !=
        otelc_attrs_stored_keyed_hash(s2->hash, s2->attrs, s2->n));
  store_free(s1);
  store_free(s2);
  otelc_attr v2[] = {OTELC_ATTR_STR("user", "alicf")};
  CHECK(!same_set(k1, 1, v2, 1));
  otelc_attr e1[] = {OTELC_ATTR_STR("k", "")}, e2[] = {OTELC_ATTR_STR("k", NULL)};
  CHECK(same_set(e1, 1, e2, 1)); /* a NULL string is the empty string */
  otelc_attr e3[] = {OTELC_ATTR_STR("k", "a")};
  CHECK(!same_set(e1, 1, e3, 1));
}

static void types_are_distinct(void) {
  otelc_attr v[] = {OTELC_ATTR_INT("v", 1), OTELC_ATTR_DOUBLE("v", 1.0), OTELC_ATTR_STR("v", "1"),
                    OTELC_ATTR_BOOL("v", true)};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) CHECK_MSG(same_set(&v[i], 1, &v[j], 1) == (i == j), "types %d and %d", i, j);
  otelc_attr z[] = {OTELC_ATTR_INT("v", 0), OTELC_ATTR_DOUBLE("v", 0.0), OTELC_ATTR_STR("v", ""),
                    OTELC_ATTR_BOOL("v", false)};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) CHECK_MSG(same_set(&z[i], 1, &z[j], 1) == (i == j), "zero types %d and %d", i, j);
  otelc_attr big[] = {OTELC_ATTR_INT("v", INT64_MIN)}, big2[] = {OTELC_ATTR_INT("v", INT64_MAX)};
  CHECK(!same_set(big, 1, big2, 1));
  CHECK(same_set(big, 1, big, 1));
  /* a bool is 0 or 1, however it was written */
  otelc_attr t1 = OTELC_ATTR_BOOL("v", true), t2 = t1;
  memset(&t2.v, 0, sizeof t2.v);
  t2.v.b = true;
  CHECK(same_set(&t1, 1, &t2, 1));
}

static void mixed_types_in_one_set(void) {
  otelc_attr a[] = {OTELC_ATTR_STR("s", "str"), OTELC_ATTR_INT("i", -7), OTELC_ATTR_DOUBLE("d", 2.5),
                    OTELC_ATTR_BOOL("b", true), OTELC_ATTR_STR("s2", "")};
  otelc_attr r[] = {a[4], a[3], a[2], a[1], a[0]};
  CHECK(same_set(a, 5, r, 5));
  otelc_attr d[] = {a[0], a[1], OTELC_ATTR_DOUBLE("d", 2.5000000000000004), a[3], a[4]};
  CHECK(!same_set(a, 5, d, 5));
  otelc_attr t[] = {a[0], OTELC_ATTR_DOUBLE("i", -7.0), a[2], a[3], a[4]}; /* same number, other type */
  CHECK(!same_set(a, 5, t, 5));
}

static void repeated_and_dropped_keys(void) {
  otelc_attr rep[] = {OTELC_ATTR_INT("a", 1), OTELC_ATTR_STR("b", "x"), OTELC_ATTR_INT("a", 2)};
  otelc_attr last[] = {OTELC_ATTR_STR("b", "x"), OTELC_ATTR_INT("a", 2)};
  otelc_attr first[] = {OTELC_ATTR_STR("b", "x"), OTELC_ATTR_INT("a", 1)};
  CHECK(same_set(rep, 3, last, 2)); /* the last value wins */
  CHECK(same_set(last, 2, rep, 3));
  CHECK(!same_set(rep, 3, first, 2));
  otelc_attr twice[] = {OTELC_ATTR_INT("a", 2), OTELC_ATTR_INT("a", 2), OTELC_ATTR_STR("b", "x")};
  CHECK(same_set(twice, 3, last, 2));
  otelc_attr empty_key[] = {OTELC_ATTR_STR("", "x"), OTELC_ATTR_STR(NULL, "y"), OTELC_ATTR_STR("b", "x"),
                            OTELC_ATTR_INT("a", 2)};
  CHECK(same_set(empty_key, 4, last, 2));
  otelc_attr bad_type = OTELC_ATTR_INT("a", 2);
  bad_type.type = (otelc_attr_type)9;
  otelc_attr with_bad[] = {last[0], last[1], bad_type};
  CHECK(same_set(with_bad, 3, last, 2));
  /* the empty set */
  stored_set *s = store(NULL, 0);
  CHECK_EQ_U64(s->hash, otelc_attrs_empty_hash());
  CHECK(finds(s, empty_key, 2)); /* only dropped keys */
  CHECK(!finds(s, last, 1));
  store_free(s);
}

static void counts_from_0_to_65(void) {
  static char keys[70][8], vals[70][8];
  otelc_attr a[70], r[70];
  for (int i = 0; i < 70; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    snprintf(vals[i], sizeof vals[i], "v%d", i);
    a[i] = OTELC_ATTR_STR(keys[i], vals[i]);
  }
  for (int n = 0; n <= 12; n++) {
    stored_set *s = store(a, (size_t)n);
    CHECK_EQ(s->n, n);
    for (int i = 0; i < n; i++) r[i] = a[n - 1 - i];
    CHECK_MSG(finds(s, r, (size_t)n), "%d attributes reversed", n);
    if (n > 0) {
      CHECK_MSG(!finds(s, a, (size_t)n - 1), "%d attributes minus one", n);
      r[0] = OTELC_ATTR_STR(keys[n - 1], "other");
      CHECK_MSG(!finds(s, r, (size_t)n), "%d attributes, one value changed", n);
    }
    store_free(s);
  }
  /* past OTELC_MAX_ATTRS the rest are dropped */
  otelc_set_log_level(OTELC_LOG_NONE);
  stored_set *s = store(a, 70);
  CHECK_EQ(s->n, OTELC_MAX_ATTRS);
  CHECK(finds(s, a, OTELC_MAX_ATTRS));
  for (int i = 0; i < OTELC_MAX_ATTRS; i++) r[i] = a[OTELC_MAX_ATTRS - 1 - i];
  CHECK(finds(s, r, OTELC_MAX_ATTRS));
  store_free(s);
}

/* Keys and values of every length from 0 to 70 bytes, equal but for one byte at every position. */
static void lengths_and_equal_prefixes(void) {
  char k1[80], k2[80], v1[80], v2[80];
  for (int len = 1; len <= 70; len++) {
    for (int i = 0; i < len; i++) k1[i] = v1[i] = (char)('a' + i % 26);
    k1[len] = v1[len] = 0;
    otelc_attr a[] = {OTELC_ATTR_STR(k1, v1), OTELC_ATTR_INT("n", len)};
    stored_set *s = store(a, 2);
    memcpy(k2, k1, sizeof k1);
    memcpy(v2, v1, sizeof v1);
    otelc_attr b[] = {OTELC_ATTR_INT("n", len), OTELC_ATTR_STR(k2, v2)};
    CHECK_MSG(finds(s, b, 2), "length %d", len);
    for (int pos = 0; pos < len; pos++) {
      k2[pos] = 'Z';
      CHECK_MSG(!finds(s, b, 2), "key of length %d differing at %d", len, pos);
      k2[pos] = k1[pos];
      v2[pos] = 'Z';
      CHECK_MSG(!finds(s, b, 2), "value of length %d differing at %d", len, pos);
      v2[pos] = v1[pos];
    }
    /* one byte shorter and one byte longer (a prefix of the other either way) */
    k2[len - 1] = 0;
    CHECK_MSG(!finds(s, b, 2), "key shortened to %d", len - 1);
    k2[len - 1] = k1[len - 1];
    k2[len] = 'Z';
    k2[len + 1] = 0;
    CHECK_MSG(!finds(s, b, 2), "key lengthened to %d", len + 1);
    k2[len] = 0;
    v2[len - 1] = 0;
    CHECK_MSG(!finds(s, b, 2), "value shortened to %d", len - 1);
    v2[len - 1] = v1[len - 1];
    v2[len] = 'Z';
    v2[len + 1] = 0;
    CHECK_MSG(!finds(s, b, 2), "value lengthened to %d", len + 1);
    store_free(s);
  }
}

/* The caller's buffers hold garbage after the NUL, or are reused with new content: only the content counts. */
static void reused_buffers_and_garbage(void) {
  char key[48], val[48];
  memset(key, 'G', sizeof key);
  memset(val, 'X', sizeof val);
  memcpy(key, "method", 7);
  memcpy(val, "GET", 4);
  otelc_attr in[] = {OTELC_ATTR_STR(key, val)};
  stored_set *s = store(in, 1);
  memset(key + 7, 'Q', sizeof key - 7); /* other garbage after the NULs */
  memset(val + 4, 0x80, sizeof val - 4);
  CHECK(finds(s, in, 1));
  memcpy(val, "PUT", 4); /* same buffer, new content */
  CHECK(!finds(s, in, 1));
  memcpy(val, "GET", 4);
  memcpy(key, "methoD", 7);
  CHECK(!finds(s, in, 1));
  memcpy(key, "method", 7);
  CHECK(finds(s, in, 1));
  /* the stored copy does not depend on the caller's buffers */
  memset(key, 0, sizeof key);
  memset(val, 0, sizeof val);
  otelc_attr lit[] = {OTELC_ATTR_STR("method", "GET")};
  CHECK(finds(s, lit, 1));
  store_free(s);
}

static void long_strings(void) {
  size_t big = 100000;
  char *k = malloc(70000), *v = malloc(big + 1), *v2 = malloc(big + 1);
  memset(v, 'v', big);
  v[big] = 0;
  memcpy(v2, v, big + 1);
  memset(k, 'k', 300);
  k[300] = 0;
  otelc_attr a[] = {OTELC_ATTR_STR(k, v), OTELC_ATTR_STR("short", v + big - 20)};
  stored_set *s = store(a, 2);
  otelc_attr b[] = {OTELC_ATTR_STR("short", v2 + big - 20), OTELC_ATTR_STR(k, v2)};
  CHECK(finds(s, b, 2));
  v2[big / 2] = 'w';
  CHECK(!finds(s, b, 2));
  v2[big / 2] = 'v';
  v2[big - 1] = 'w'; /* in both values' last chunk */
  CHECK(!finds(s, b, 2));
  store_free(s);
  /* a key longer than 65535 bytes is dropped */
  memset(k, 'k', 65536);
  k[65536] = 0;
  otelc_attr over[] = {OTELC_ATTR_STR(k, "x"), OTELC_ATTR_STR("short", "y")};
  otelc_attr rest[] = {OTELC_ATTR_STR("short", "y")};
  CHECK(same_set(over, 2, rest, 1));
  CHECK(same_set(rest, 1, over, 2));
  k[65535] = 0; /* 65535 fits */
  CHECK(!same_set(over, 2, rest, 1));
  free(k);
  free(v);
  free(v2);
}

/* Strings whose NUL is the last byte before an unmapped page, starting at every offset from 0 to 64 bytes
 * before it (so every block-read case meets the page end), as keys and as values; and the same content
 * elsewhere. A read past the page would fault. */
static void strings_at_a_page_end(void) {
  long page = sysconf(_SC_PAGESIZE);
  char *mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(mem != MAP_FAILED);
  if (mem == MAP_FAILED) return;
  CHECK_EQ(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
  char *end = mem + page; /* first unreadable byte */
  char heap_k[80], heap_v[80];
  for (int len = 0; len <= 64; len++) {
    char *s = end - len - 1;
    for (int i = 0; i < len; i++) s[i] = (char)('A' + i % 26);
    s[len] = 0;
    memcpy(heap_k, s, (size_t)len + 1);
    memcpy(heap_v, s, (size_t)len + 1);
    if (len == 0) heap_k[0] = 'e', heap_k[1] = 0; /* an empty key is dropped: use a real one */
    otelc_attr at_end[] = {OTELC_ATTR_STR(len ? s : heap_k, s), OTELC_ATTR_STR("v", s)};
    otelc_attr on_heap[] = {OTELC_ATTR_STR("v", heap_v), OTELC_ATTR_STR(heap_k, heap_v)};
    CHECK_MSG(same_set(at_end, 2, on_heap, 2), "length %d at a page end", len);
    CHECK_MSG(same_set(on_heap, 2, at_end, 2), "length %d at a page end, looked up", len);
    if (len > 0) {
      heap_v[len - 1] ^= 1;
      CHECK_MSG(!same_set(at_end, 2, on_heap, 2), "length %d at a page end, other value", len);
      heap_v[len - 1] ^= 1;
      heap_k[len - 1] ^= 1;
      CHECK_MSG(!same_set(on_heap, 2, at_end, 2), "length %d at a page end, other key", len);
    }
  }
  /* a string that starts near the page end but is shorter than the bytes left */
  for (int off = 1; off <= 48; off++) {
    char *s = end - off;
    memset(s, 'q', (size_t)off);
    s[off / 2] = 0;
    otelc_attr a[] = {OTELC_ATTR_STR(off / 2 ? s : "q", s)};
    memcpy(heap_v, s, (size_t)off / 2 + 1);
    otelc_attr b[] = {OTELC_ATTR_STR(off / 2 ? heap_v : "q", heap_v)};
    CHECK_MSG(same_set(a, 1, b, 1), "NUL at %d bytes before the page end", off - off / 2);
  }
  munmap(mem, (size_t)page * 2);
}

int main(void) {
  RUN(reordered_sets_are_one);
  RUN(values_and_keys_decide);
  RUN(types_are_distinct);
  RUN(mixed_types_in_one_set);
  RUN(repeated_and_dropped_keys);
  RUN(counts_from_0_to_65);
  RUN(lengths_and_equal_prefixes);
  RUN(reused_buffers_and_garbage);
  RUN(long_strings);
  RUN(strings_at_a_page_end);
  return test_finish();
}
