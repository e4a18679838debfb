/* arena.c — the bump allocator of arena.h: a list of malloc'd chunks, newest first. */
#include "sdk/src/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct otelc_arena_chunk {
  otelc_arena_chunk *next;
  size_t size; /* usable bytes after the header */
  _Alignas(16) char data[];
};

void otelc_arena_init(otelc_arena *a, size_t chunk_size) {
  memset(a, 0, sizeof *a);
  a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void otelc_prefault(void *p, size_t n) {
#ifdef MADV_POPULATE_WRITE
  static size_t page;
  if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
  /* Every page holding a byte of [p, p+n) is mapped (it belongs to the heap or to malloc's mapping), so the
   * range may be rounded outwards; populating writes nothing, so neighbours' data is untouched. */
  uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(page - 1);
  uintptr_t hi = ((uintptr_t)p + n + page - 1) & ~(uintptr_t)(page - 1);
  if (n) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)n;
#endif
}

static void *arena_grow(otelc_arena *a, size_t size) {
  size_t want = size > a->chunk_size ? size : a->chunk_size;
  otelc_arena_chunk *c = malloc(sizeof *c + want);
  if (!c) return NULL;
  if (a->prefault) otelc_prefault(c, sizeof *c + want);
  if (a->chunk_size < a->max_chunk_size) {
    a->chunk_size *= 2;
    if (a->chunk_size > a->max_chunk_size) a->chunk_size = a->max_chunk_size;
  }
  c->size = want;
  a->total += sizeof *c + want;
  if (size > a->chunk_size && a->head) {
    /* An oversized block: keep filling the current chunk afterwards. */
    c->next = a->head->next;
    a->head->next = c;
    return c->data;
  }
  c->next = a->head;
  a->head = c;
  a->cur = c->data + size;
  a->end = c->data + want;
  return c->data;
}

void *otelc_arena_alloc(otelc_arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  if ((size_t)(a->end - a->cur) >= size && a->cur) {
    void *p = a->cur;
    a->cur += size;
    return p;
  }
  return arena_grow(a, size);
}

void *otelc_arena_zalloc(otelc_arena *a, size_t size) {
  void *p = otelc_arena_alloc(a, size);
  if (p) memset(p, 0, size);
  return p;
}

char *otelc_arena_strdup(otelc_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = otelc_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

void otelc_arena_reset(otelc_arena *a) {
  otelc_arena_chunk *keep = NULL;
  size_t kept_total = 0;
  for (otelc_arena_chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    if (!keep || c->size > keep->size) {
      if (keep) free(keep);
      keep = c;
    } else {
      free(c);
    }
  }
  a->head = keep;
  if (keep) {
    keep->next = NULL;
    kept_total = sizeof *keep + keep->size;
    /* Grow future chunks to what one collection needed, so the next one fits in a single chunk. */
    if (a->total > a->chunk_size && a->total > kept_total) a->chunk_size = a->total;
    a->cur = keep->data;
    a->end = keep->data + keep->size;
  } else {
    a->cur = a->end = NULL;
  }
  a->total = kept_total;
}

void otelc_arena_free(otelc_arena *a) {
  for (otelc_arena_chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  memset(a, 0, sizeof *a);
}
