/* exphist.h — the base-2 exponential histogram aggregation of the OpenTelemetry specification.
 *
 * Bucket `i` at scale `s` holds values in (base^i, base^(i+1)] with base = 2^(2^-s). Each sign has at most
 * max_size buckets, kept in a ring indexed by `index mod max_size`; when a value falls outside the span that
 * fits, the histogram downscales (scale -= k merges 2^k neighbouring buckets) until it fits. Zero goes to the
 * zero bucket (threshold 0); negative values to the negative buckets. NaN and infinities are not recorded.
 * Not thread-safe: the caller serialises (a per-series spinlock, see instrument.c). */
#ifndef OTELC_SDK_EXPHIST_H
#define OTELC_SDK_EXPHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTELC_EXP_MAX_SCALE 20
#define OTELC_EXP_MIN_SCALE (-10)
#define OTELC_EXP_DEFAULT_MAX_SIZE 160
#define OTELC_EXP_MAX_MAX_SIZE 1024

typedef struct otelc_exp_buckets {
  int32_t lo, hi;   /* index range present (meaningful only when used) */
  bool used;
  uint64_t *counts; /* max_size entries; bucket i lives at i mod max_size */
} otelc_exp_buckets;

typedef struct otelc_exphist {
  int32_t scale;
  int32_t max_size;
  uint64_t count, zero_count;
  double sum, min, max;
  otelc_exp_buckets pos, neg;
} otelc_exphist;

/* Bytes of bucket storage otelc_exphist_init needs for max_size buckets per sign. */
static inline size_t otelc_exphist_storage(int32_t max_size) { return 2 * (size_t)max_size * sizeof(uint64_t); }
/* storage: otelc_exphist_storage(max_size) bytes (zeroed here). */
void otelc_exphist_init(otelc_exphist *h, int32_t max_size, int32_t scale, uint64_t *storage);
void otelc_exphist_reset(otelc_exphist *h, int32_t scale);
void otelc_exphist_record(otelc_exphist *h, double v);
/* dst += src (both may have different scales; dst downscales as needed). Same max_size not required. */
void otelc_exphist_merge(otelc_exphist *dst, const otelc_exphist *src);
/* dst = src (same max_size). */
void otelc_exphist_copy(otelc_exphist *dst, const otelc_exphist *src);
/* Index of |v| > 0 at `scale` (the specification's MapToIndex, exact at powers of two). */
int32_t otelc_exp_map_index(double v, int32_t scale);
/* Writes the contiguous counts of a bucket side from lo to hi into out (hi-lo+1 entries, at most max_size);
 * returns how many, and the first index in *offset. 0 when the side is empty. */
size_t otelc_exp_buckets_export(const otelc_exphist *h, const otelc_exp_buckets *b, int32_t *offset, uint64_t *out);

#endif
