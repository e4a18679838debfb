/* exphist.c — base-2 exponential histogram: index mapping, ring buckets, downscaling and merging
 * (see exphist.h and the OpenTelemetry metrics data model, "ExponentialHistogram"). */
#include "sdk/src/exphist.h"

#include <math.h>
#include <string.h>

int32_t otelc_exp_map_index(double v, int32_t scale) {
  int exp;
  double frac = frexp(v, &exp); /* v = frac * 2^exp, frac in [0.5, 1) */
  if (scale <= 0) {
    /* Exact: the bucket of 2^(exp-1) .. 2^exp is exp-1, except that an exact power of two belongs below. */
    int32_t e = (frac == 0.5) ? exp - 2 : exp - 1;
    return e >> -scale; /* arithmetic shift: floor division */
  }
  int64_t unit = (int64_t)1 << scale;
  if (frac == 0.5) return (int32_t)((int64_t)(exp - 1) * unit - 1);
  double scale_factor = ldexp(M_LOG2E, scale);
  double idx = floor(log(v) * scale_factor);
  /* Guard the rounding of log() near bucket boundaries against the exact power-of-two boundaries. */
  int64_t lo_bound = (int64_t)(exp - 1) * unit; /* index of the bucket just above 2^(exp-1) */
  int64_t hi_bound = (int64_t)exp * unit - 1;   /* index of the bucket ending at 2^exp */
  int64_t i = (int64_t)idx;
  if (i < lo_bound) i = lo_bound;
  if (i > hi_bound) i = hi_bound;
  return (int32_t)i;
}

static inline size_t ring_pos(const otelc_exphist *h, int64_t idx) {
  int64_t m = h->max_size;
  int64_t r = idx % m;
  return (size_t)(r < 0 ? r + m : r);
}

void otelc_exphist_init(otelc_exphist *h, int32_t max_size, int32_t scale, uint64_t *storage) {
  memset(h, 0, sizeof *h);
  h->max_size = max_size;
  h->pos.counts = storage;
  h->neg.counts = storage + max_size;
  otelc_exphist_reset(h, scale);
}

void otelc_exphist_reset(otelc_exphist *h, int32_t scale) {
  memset(h->pos.counts, 0, (size_t)h->max_size * sizeof(uint64_t));
  memset(h->neg.counts, 0, (size_t)h->max_size * sizeof(uint64_t));
  h->pos.used = h->neg.used = false;
  h->pos.lo = h->pos.hi = h->neg.lo = h->neg.hi = 0;
  h->scale = scale;
  h->count = h->zero_count = 0;
  h->sum = 0;
  h->min = INFINITY;
  h->max = -INFINITY;
}

/* Merges neighbouring buckets of one side: index i becomes i >> by. */
static void side_downscale(otelc_exphist *h, otelc_exp_buckets *b, int by) {
  if (!b->used || by <= 0) return;
  uint64_t tmp[OTELC_EXP_MAX_MAX_SIZE];
  int32_t n = b->hi - b->lo + 1;
  for (int32_t k = 0; k < n; k++) {
    size_t p = ring_pos(h, (int64_t)b->lo + k);
    tmp[k] = b->counts[p];
    b->counts[p] = 0;
  }
  int32_t old_lo = b->lo;
  b->lo = old_lo >> by;
  b->hi = b->hi >> by;
  for (int32_t k = 0; k < n; k++) {
    if (tmp[k]) b->counts[ring_pos(h, (int64_t)((old_lo + k) >> by))] += tmp[k];
  }
}

static void downscale(otelc_exphist *h, int by) {
  if (by <= 0) return;
  if (h->scale - by < OTELC_EXP_MIN_SCALE) by = h->scale - OTELC_EXP_MIN_SCALE;
  side_downscale(h, &h->pos, by);
  side_downscale(h, &h->neg, by);
  h->scale -= by;
}

/* How much to downscale so that [lo, hi] spans at most max_size buckets. */
static int needed_downscale(int64_t lo, int64_t hi, int32_t max_size) {
  int by = 0;
  while (hi - lo + 1 > max_size) {
    lo >>= 1;
    hi >>= 1;
    by++;
  }
  return by;
}

static void side_add(otelc_exphist *h, otelc_exp_buckets *b, int32_t idx, uint64_t n) {
  if (!b->used) {
    b->used = true;
    b->lo = b->hi = idx;
  } else {
    if (idx < b->lo) b->lo = idx;
    if (idx > b->hi) b->hi = idx;
  }
  b->counts[ring_pos(h, idx)] += n;
}

void otelc_exphist_record(otelc_exphist *h, double v) {
  if (!isfinite(v)) return;
  if (v == 0) {
    h->zero_count++;
  } else {
    otelc_exp_buckets *b = v > 0 ? &h->pos : &h->neg;
    double a = fabs(v);
    int32_t idx = otelc_exp_map_index(a, h->scale);
    if (b->used && (idx < b->lo || idx > b->hi)) {
      int64_t lo = idx < b->lo ? idx : b->lo, hi = idx > b->hi ? idx : b->hi;
      int by = needed_downscale(lo, hi, h->max_size);
      if (by > 0) {
        downscale(h, by);
        idx = otelc_exp_map_index(a, h->scale);
      }
    }
    side_add(h, b, idx, 1);
  }
  h->count++;
  h->sum += v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

/* Range of src's side after shifting to scale `to`, merged with dst's side at scale `to`. */
static int merge_needed(const otelc_exp_buckets *d, int32_t dshift, const otelc_exp_buckets *s, int32_t sshift,
                        int32_t max_size) {
  if (!s->used && !d->used) return 0;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  if (d->used) {
    lo = d->lo >> dshift;
    hi = d->hi >> dshift;
  }
  if (s->used) {
    int64_t sl = s->lo >> sshift, sh = s->hi >> sshift;
    if (sl < lo) lo = sl;
    if (sh > hi) hi = sh;
  }
  return needed_downscale(lo, hi, max_size);
}

void otelc_exphist_merge(otelc_exphist *dst, const otelc_exphist *src) {
  if (src->count == 0) return;
  int32_t to = dst->scale < src->scale ? dst->scale : src->scale;
  for (;;) {
    int a = merge_needed(&dst->pos, dst->scale - to, &src->pos, src->scale - to, dst->max_size);
    int b = merge_needed(&dst->neg, dst->scale - to, &src->neg, src->scale - to, dst->max_size);
    int more = a > b ? a : b;
    if (more == 0 || to - more < OTELC_EXP_MIN_SCALE) break;
    to -= more;
  }
  downscale(dst, dst->scale - to);
  int32_t sshift = src->scale - dst->scale;
  const otelc_exp_buckets *sides[2] = {&src->pos, &src->neg};
  otelc_exp_buckets *dsides[2] = {&dst->pos, &dst->neg};
  for (int k = 0; k < 2; k++) {
    const otelc_exp_buckets *s = sides[k];
    if (!s->used) continue;
    for (int64_t i = s->lo; i <= s->hi; i++) {
      int64_t m = src->max_size, r = i % m;
      uint64_t c = s->counts[r < 0 ? r + m : r];
      if (c) side_add(dst, dsides[k], (int32_t)(i >> sshift), c);
    }
  }
  dst->count += src->count;
  dst->zero_count += src->zero_count;
  dst->sum += src->sum;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

void otelc_exphist_copy(otelc_exphist *dst, const otelc_exphist *src) {
  uint64_t *p = dst->pos.counts, *n = dst->neg.counts;
  int32_t max_size = dst->max_size;
  *dst = *src;
  dst->pos.counts = p;
  dst->neg.counts = n;
  dst->max_size = max_size;
  memcpy(p, src->pos.counts, (size_t)max_size * sizeof(uint64_t));
  memcpy(n, src->neg.counts, (size_t)max_size * sizeof(uint64_t));
}

size_t otelc_exp_buckets_export(const otelc_exphist *h, const otelc_exp_buckets *b, int32_t *offset, uint64_t *out) {
  if (!b->used) {
    *offset = 0;
    return 0;
  }
  size_t n = (size_t)(b->hi - b->lo + 1);
  for (size_t k = 0; k < n; k++) out[k] = b->counts[ring_pos(h, (int64_t)b->lo + (int64_t)k)];
  *offset = b->lo;
  return n;
}
