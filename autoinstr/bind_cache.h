/* bind_cache.h — the recording thread's cache of bound series (otelc_bind) per attribute combination: a fixed
 * open-addressed table whose entries start with their 64-bit key (0: empty), probed 8 deep. Shared by the HTTP
 * metrics (metrics.c) and the RPC metrics (metrics_rpc.c). Only the recording thread uses it: no locking. */
#ifndef OTELC_AUTOINSTR_BIND_CACHE_H
#define OTELC_AUTOINSTR_BIND_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entry for key (nonzero) in table (nslots entries of `stride` bytes, nslots a power of two): the one that
 * holds key (*fresh false), or the first empty one on its probe path (*fresh true: the caller binds its series
 * and stores the key). NULL when the probe path is full: the caller records with attributes, per call. */
static inline void *bind_cache_slot(void *table, size_t stride, size_t nslots, uint64_t key, bool *fresh) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  for (unsigned i = 0; i < 8; i++) {
    uint64_t *e = (uint64_t *)((char *)table + (((h >> 40) + i) & (nslots - 1)) * stride);
    if (*e == key || *e == 0) {
      *fresh = *e == 0;
      return e;
    }
  }
  return NULL;
}

#endif
