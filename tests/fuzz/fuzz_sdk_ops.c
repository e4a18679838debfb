// fuzz-links: sdk
/* fuzz_sdk_ops.c — drives the SDK core with arbitrary input: the input is split at '\n' into
 *   line 1: an OTEL_RESOURCE_ATTRIBUTES value (parsed; errors must be clean),
 *   line 2: a view instrument-name pattern (matched against every name below),
 *   then one measurement per line: "<op><name>|<k>=<v>|<k>=<v>..." where op picks the instrument and the value
 *   type comes from the remaining bytes (any double, including NaN, infinities, subnormals).
 * Everything goes through per-call recording, bound handles (shared and exclusive) and exponential
 * histograms with a tiny max_size, then a collection that the in-memory exporter decodes again (encode/decode
 * round trip), with a small cardinality limit so overflow is exercised too. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otelc/exporter.h"
#include "otelc/otelc.h"
#include "sdk/src/exphist.h"
#include "sdk/src/internal.h"

static void on_pair(void *ctx, const char *k, const char *v) {
  size_t *n = ctx;
  *n += strlen(k) + strlen(v);
}

static double bytes_to_double(const char *s, size_t n) {
  uint64_t bits = 0;
  memcpy(&bits, s, n < 8 ? n : 8);
  double d;
  memcpy(&d, &bits, 8);
  return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024) return 0;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;

  otelc_set_log_level(OTELC_LOG_NONE);
  char *save = NULL;
  char *line = strtok_r(text, "\n", &save);
  size_t total = 0;
  if (line) (void)otelc_resource_parse_list(line, on_pair, &total);
  char *pattern = line ? strtok_r(NULL, "\n", &save) : NULL;

  otelc_exporter *exp = otelc_memory_exporter_create(1);
  otelc_meter_provider *mp = NULL;
  otelc_provider_options o = {.exporter = exp, .export_interval_ms = -1, .cardinality_limit = 8,
                              .temporality = (size & 1) ? OTELC_TEMPORALITY_DELTA : OTELC_TEMPORALITY_CUMULATIVE};
  if (otelc_meter_provider_create(&o, &mp) != OTELC_OK || !mp) {
    free(text);
    return 0;
  }
  otelc_meter *m = otelc_meter_get(mp, "fuzz", NULL, NULL);
  otelc_instrument *inst[4] = {
      otelc_counter_u64(m, "c", NULL), otelc_updown_f64(m, "u", NULL), otelc_histogram(m, "h", NULL),
      otelc_histogram(m, "e", &(otelc_instrument_options){.aggregation = OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM,
                                                          .exp_max_size = 4})};
  uint64_t storage[2 * 4];
  otelc_exphist eh;
  otelc_exphist_init(&eh, 4, 20, storage);
  for (line = pattern ? strtok_r(NULL, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    size_t len = strlen(line);
    if (len == 0) continue;
    int op = (unsigned char)line[0] % 4;
    char *rest = line + 1;
    char *name = strsep(&rest, "|");
    if (pattern) (void)otelc_name_pattern_match(pattern, name);
    otelc_attr attrs[8];
    size_t n = 0;
    while (rest && n < 8) {
      char *kv = strsep(&rest, "|");
      char *eq = strchr(kv, '=');
      if (eq) {
        *eq = 0;
        attrs[n] = OTELC_ATTR_STR(kv, eq + 1);
        if (eq[1] == '#') attrs[n] = OTELC_ATTR_INT(kv, (int64_t)strlen(eq + 1));
        if (eq[1] == '!') attrs[n] = OTELC_ATTR_BOOL(kv, eq[2] == '1');
      } else {
        attrs[n] = OTELC_ATTR_DOUBLE(kv, (double)strlen(kv));
      }
      n++;
    }
    double v = bytes_to_double(name, strlen(name));
    otelc_exphist_record(&eh, v);
    otelc_record_f64(inst[op], v, attrs, n);
    otelc_add_u64(inst[op], len, attrs, n);
    otelc_series *s = otelc_bind(inst[op], attrs, n);
    otelc_series_record_f64(s, v);
    otelc_series_add_u64(s, 1);
    otelc_series_release(s);
    otelc_series *x = otelc_bind_exclusive(inst[op], attrs, n); /* histograms: own cells */
    otelc_series_record_f64(x, v);
    otelc_series_record_i64(x, (int64_t)len);
    otelc_series_release(x);
  }
  otelc_meter_provider_force_flush(mp, 1000);
  otelc_meter_provider_free(mp);
  free(text);
  return 0;
}
