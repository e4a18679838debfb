/* arena.h — a bump allocator for things that live and die together: the protobuf-c structs of one
 * collection (reset after each export, keeping its memory for the next) and the series of an instrument
 * (freed with the instrument). Not thread-safe: each arena has one owner or is used under a lock. */
#ifndef OTELC_SDK_ARENA_H
#define OTELC_SDK_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct otelc_arena_chunk otelc_arena_chunk;

typedef struct otelc_arena {
  otelc_arena_chunk *head;  /* the chunk being filled (newest first) */
  char *cur, *end;
  size_t chunk_size;        /* size of ordinary chunks; bigger requests get a chunk of their own */
  size_t total;             /* bytes obtained from malloc, for accounting */
  size_t max_chunk_size;    /* if larger than chunk_size: each new chunk doubles chunk_size up to this */
  bool prefault;            /* map each new chunk's pages in one madvise call (see arena.c) */
} otelc_arena;

void otelc_arena_init(otelc_arena *a, size_t chunk_size);
/* Returns `size` bytes aligned to 16 (or NULL when out of memory). The memory is not zeroed. */
void *otelc_arena_alloc(otelc_arena *a, size_t size);
void *otelc_arena_zalloc(otelc_arena *a, size_t size);
char *otelc_arena_strdup(otelc_arena *a, const char *s);
/* Forgets every allocation; keeps the largest chunk for reuse and frees the rest. */
void otelc_arena_reset(otelc_arena *a);
void otelc_arena_free(otelc_arena *a);

/* Maps the pages of fresh memory with one system call (madvise MADV_POPULATE_WRITE, Linux 5.14+; nothing
 * elsewhere) instead of one page fault per page on first touch — on virtual machines a fault can cost ~10 us,
 * a populated page under 1 us. For memory about to be written piecemeal: series chunks, series tables.
 * Pages already mapped are left as they are. */
void otelc_prefault(void *p, size_t n);

#endif
