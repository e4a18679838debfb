/* grow.h — the one way otelc grows a typed array by doubling: callers keep (pointer, count, capacity) and ask
 * for room when count reaches capacity. */
#ifndef OTELC_WIRE_GROW_H
#define OTELC_WIRE_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Reallocates v (elements of `elem` bytes, *cap of them) to twice its capacity, or to `first` elements when it has
 * none, and updates *cap. Returns the new array, or NULL when out of memory (v and *cap are then unchanged). */
static inline void *wire_grow_array(void *v, size_t *cap, size_t elem, size_t first) {
  size_t c = *cap ? *cap * 2 : first;
  if (c < *cap || c > SIZE_MAX / elem) return NULL;
  void *nv = realloc(v, c * elem);
  if (nv) *cap = c;
  return nv;
}

#endif
