/* view.c — views: copying them, matching instruments (name with '*'/'?' wildcards, kind, meter name), and the
 * attribute-key allow-lists they carry. Applying a view's stream settings happens in instrument.c. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/src/internal.h"
#include "sdk/src/log.h"

bool otelc_name_pattern_match(const char *pat, const char *name) {
  /* Iterative glob with backtracking to the last '*'; case-insensitive like instrument names. */
  const char *star = NULL, *resume = NULL;
  while (*name) {
    if (*pat == '*') {
      star = pat++;
      resume = name;
    } else if (*pat == '?' || (*pat && (tolower((unsigned char)*pat) == tolower((unsigned char)*name)))) {
      pat++;
      name++;
    } else if (star) {
      pat = star + 1;
      name = ++resume;
    } else {
      return false;
    }
  }
  while (*pat == '*') pat++;
  return *pat == 0;
}

bool otelc_view_matches(const otelc_view *v, const otelc_meter *m, const char *name, otelc_instrument_kind kind) {
  if (v->kind != OTELC_KIND_ANY && v->kind != kind) return false;
  if (v->meter_name && strcmp(v->meter_name, m->name) != 0) return false;
  if (v->instrument_name && !otelc_name_pattern_match(v->instrument_name, name)) return false;
  return true;
}

void otelc_allow_list_free(otelc_allow_list *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) free(a->keys[i]);
  free(a->keys);
  free(a->klens);
  free(a);
}

static otelc_allow_list *allow_list_new(const char *const *keys, size_t n) {
  otelc_allow_list *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->keys = calloc(n ? n : 1, sizeof(char *));
  a->klens = calloc(n ? n : 1, sizeof(uint32_t));
  if (!a->keys || !a->klens) goto fail;
  for (size_t i = 0; i < n; i++) {
    if (!keys[i]) continue;
    a->keys[a->n] = strdup(keys[i]);
    if (!a->keys[a->n]) goto fail;
    a->klens[a->n] = (uint32_t)strlen(keys[i]);
    a->n++;
  }
  return a;
fail:
  otelc_allow_list_free(a);
  return NULL;
}

otelc_allow_list *otelc_allow_list_copy(const otelc_allow_list *a) {
  return allow_list_new((const char *const *)a->keys, a->n);
}

void otelc_view_free(otelc_view_entry *e) {
  if (!e) return;
  free((char *)e->v.instrument_name);
  free((char *)e->v.meter_name);
  free((char *)e->v.name);
  free((char *)e->v.description);
  free((double *)e->v.boundaries);
  otelc_allow_list_free(e->allow);
  free(e);
}

static int dup_field(const char *src, const char **dst) {
  *dst = NULL;
  if (!src) return 0;
  *dst = strdup(src);
  return *dst ? 0 : -1;
}

int otelc_view_copy(const otelc_view *src, otelc_view_entry **out) {
  *out = NULL;
  if (src->boundaries) {
    for (size_t i = 0; i < src->n_boundaries; i++) {
      if (!isfinite(src->boundaries[i]) || (i > 0 && !(src->boundaries[i] > src->boundaries[i - 1]))) {
        OTELC_WARN("view: boundaries must be finite and strictly increasing; view ignored");
        return OTELC_E_INVALID;
      }
    }
  }
  if ((unsigned)src->aggregation > OTELC_AGGREGATION_BASE2_EXPONENTIAL_HISTOGRAM ||
      (unsigned)src->kind > OTELC_KIND_OBSERVABLE_GAUGE) {
    OTELC_WARN("view: unknown aggregation or instrument kind; view ignored");
    return OTELC_E_INVALID;
  }
  otelc_view_entry *e = calloc(1, sizeof *e);
  if (!e) return OTELC_E_NOMEM;
  e->v = *src;
  e->v.boundaries = NULL;
  e->v.attribute_keys = NULL;
  e->v.n_attribute_keys = 0;
  if (dup_field(src->instrument_name, &e->v.instrument_name) || dup_field(src->meter_name, &e->v.meter_name) ||
      dup_field(src->name, &e->v.name) || dup_field(src->description, &e->v.description))
    goto oom;
  if (src->boundaries) {
    double *b = malloc((src->n_boundaries ? src->n_boundaries : 1) * sizeof(double));
    if (!b) goto oom;
    memcpy(b, src->boundaries, src->n_boundaries * sizeof(double));
    e->v.boundaries = b;
  }
  if (src->attribute_keys) {
    e->allow = allow_list_new(src->attribute_keys, src->n_attribute_keys);
    if (!e->allow) goto oom;
  }
  *out = e;
  return OTELC_OK;
oom:
  otelc_view_free(e);
  return OTELC_E_NOMEM;
}
