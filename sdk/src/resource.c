/* resource.c — the provider's resource: detected attributes (telemetry.sdk.*, process.*, host.name), then
 * OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, then the attributes passed in code (later ones win), and
 * the OTLP Resource message built from them (rebuilt in a forked child, whose process.pid differs).
 *
 * OTEL_RESOURCE_ATTRIBUTES is "key1=value1,key2=value2" with percent-encoded values; following the
 * specification, a value that fails to parse is discarded whole, with one warning line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/src/env.h"
#include "sdk/src/internal.h"
#include "sdk/src/log.h"

/* Sets (or replaces) a resource attribute. Caller holds p->mu or owns p exclusively. */
static int res_set(otelc_meter_provider *p, const char *key, otelc_attr_type type, const char *s, int64_t i,
                   double d, bool b) {
  otelc_res_attr *a = NULL;
  for (size_t k = 0; k < p->n_res; k++) {
    if (strcmp(p->res[k].key, key) == 0) {
      a = &p->res[k];
      free(a->s);
      a->s = NULL;
      break;
    }
  }
  if (!a) {
    otelc_res_attr *grown = realloc(p->res, (p->n_res + 1) * sizeof *grown);
    if (!grown) return -1;
    p->res = grown;
    a = &p->res[p->n_res];
    memset(a, 0, sizeof *a);
    a->key = strdup(key);
    if (!a->key) return -1;
    p->n_res++;
  }
  a->type = type;
  a->i = i;
  a->d = d;
  a->b = b;
  if (type == OTELC_ATTR_STRING) {
    a->s = strdup(s ? s : "");
    if (!a->s) return -1;
  }
  return 0;
}

static int res_set_str(otelc_meter_provider *p, const char *key, const char *value) {
  return res_set(p, key, OTELC_ATTR_STRING, value, 0, 0, false);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes [b, e) into out (size > e - b); returns -1 on a bad escape. */
static int pct_decode(const char *b, const char *e, char *out) {
  size_t o = 0;
  for (const char *q = b; q < e; q++) {
    if (*q == '%') {
      if (e - q < 3) return -1;
      int h = hexval(q[1]), l = hexval(q[2]);
      if (h < 0 || l < 0) return -1;
      char c = (char)(h * 16 + l);
      if (c == 0) return -1;
      out[o++] = c;
      q += 2;
    } else {
      out[o++] = *q;
    }
  }
  out[o] = 0;
  return 0;
}

static void trim(const char **b, const char **e) {
  while (*b < *e && isspace((unsigned char)**b)) (*b)++;
  while (*e > *b && isspace((unsigned char)(*e)[-1])) (*e)--;
}

int otelc_resource_parse_list(const char *s, void (*fn)(void *ctx, const char *key, const char *value), void *ctx) {
  /* Two passes: validate everything first, so that an error discards the whole variable. */
  size_t len = strlen(s);
  char *key = malloc(len + 1), *val = malloc(len + 1);
  if (!key || !val) {
    free(key);
    free(val);
    return -1;
  }
  int rc = 0;
  for (int pass = 0; pass < 2 && rc == 0; pass++) {
    const char *p = s;
    while (*p) {
      const char *end = strchr(p, ',');
      if (!end) end = p + strlen(p);
      const char *kb = p, *ke = end;
      trim(&kb, &ke);
      if (kb == ke) { /* empty item (",,"): skipped */
        p = *end ? end + 1 : end;
        continue;
      }
      const char *eq = memchr(kb, '=', (size_t)(ke - kb));
      if (!eq) {
        rc = -1;
        break;
      }
      const char *vb = eq + 1, *ve = ke;
      ke = eq;
      trim(&kb, &ke);
      trim(&vb, &ve);
      if (kb == ke || pct_decode(kb, ke, key) != 0 || pct_decode(vb, ve, val) != 0) {
        rc = -1;
        break;
      }
      if (pass == 1) fn(ctx, key, val);
      p = *end ? end + 1 : end;
    }
  }
  free(key);
  free(val);
  return rc;
}

static void env_pair(void *ctx, const char *key, const char *value) {
  otelc_meter_provider *p = ctx;
  if (res_set_str(p, key, value) != 0) OTELC_ERROR("out of memory reading OTEL_RESOURCE_ATTRIBUTES");
}

static void copy_truncated(char *buf, size_t size, const char *s) {
  size_t n = strlen(s);
  if (n >= size) n = size - 1;
  memcpy(buf, s, n);
  buf[n] = 0;
}

static void exe_name(char *buf, size_t size) {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  buf[0] = 0;
  if (n > 0) {
    path[n] = 0;
    const char *base = strrchr(path, '/');
    copy_truncated(buf, size, base ? base + 1 : path);
    return;
  }
  extern char *program_invocation_short_name;
  copy_truncated(buf, size, program_invocation_short_name ? program_invocation_short_name : "");
}

int otelc_resource_detect(otelc_meter_provider *p, const otelc_attr *extra, size_t n_extra) {
  char exe[256], host[256];
  exe_name(exe, sizeof exe);
  p->exe_name = strdup(exe);
  if (gethostname(host, sizeof host) != 0) host[0] = 0;
  host[sizeof host - 1] = 0;
  char service[300];
  snprintf(service, sizeof service, "unknown_service:%s", exe);
  int rc = 0;
  rc |= res_set_str(p, "service.name", exe[0] ? service : "unknown_service");
  rc |= res_set_str(p, "telemetry.sdk.name", "otelc");
  rc |= res_set_str(p, "telemetry.sdk.language", "c");
  rc |= res_set_str(p, "telemetry.sdk.version", OTELC_VERSION_STRING);
  if (exe[0]) rc |= res_set_str(p, "process.executable.name", exe);
  if (host[0]) rc |= res_set_str(p, "host.name", host);
  const char *ra = otelc_env_get("OTEL_RESOURCE_ATTRIBUTES");
  if (ra && otelc_resource_parse_list(ra, env_pair, p) != 0) {
    OTELC_WARN("OTEL_RESOURCE_ATTRIBUTES: not a list of key=value with percent-encoded values; ignored whole");
  }
  const char *sn = otelc_env_get("OTEL_SERVICE_NAME");
  if (sn) rc |= res_set_str(p, "service.name", sn);
  for (size_t k = 0; k < n_extra; k++) {
    const otelc_attr *a = &extra[k];
    if (!a->key || !a->key[0] || (unsigned)a->type > OTELC_ATTR_BOOL) continue;
    if (strcmp(a->key, "process.pid") == 0) continue; /* always the real one */
    rc |= res_set(p, a->key, a->type, a->type == OTELC_ATTR_STRING ? a->v.s : NULL,
                  a->type == OTELC_ATTR_INT ? a->v.i : 0, a->type == OTELC_ATTR_DOUBLE ? a->v.d : 0,
                  a->type == OTELC_ATTR_BOOL ? a->v.b : false);
  }
  return rc ? OTELC_E_NOMEM : OTELC_OK;
}

static otlp_kv *make_kv(otelc_arena *a, const char *key) {
  otlp_kv *kv = otelc_arena_alloc(a, sizeof *kv);
  otlp_any *v = otelc_arena_alloc(a, sizeof *v);
  if (!kv || !v) return NULL;
  opentelemetry__proto__common__v1__key_value__init(kv);
  opentelemetry__proto__common__v1__any_value__init(v);
  kv->key = (char *)key;
  kv->value = v;
  return kv;
}

int otelc_resource_build(otelc_meter_provider *p) {
  otelc_arena_reset(&p->res_arena);
  otelc_arena *a = &p->res_arena;
  otlp_resource *r = otelc_arena_alloc(a, sizeof *r);
  otlp_kv **kvs = otelc_arena_alloc(a, (p->n_res + 1) * sizeof *kvs);
  if (!r || !kvs) return OTELC_E_NOMEM;
  opentelemetry__proto__resource__v1__resource__init(r);
  size_t n = 0;
  for (size_t k = 0; k < p->n_res; k++) {
    const otelc_res_attr *ra = &p->res[k];
    otlp_kv *kv = make_kv(a, ra->key);
    if (!kv) return OTELC_E_NOMEM;
    switch (ra->type) {
    case OTELC_ATTR_STRING:
      kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
      kv->value->string_value = ra->s;
      break;
    case OTELC_ATTR_INT:
      kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
      kv->value->int_value = ra->i;
      break;
    case OTELC_ATTR_DOUBLE:
      kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
      kv->value->double_value = ra->d;
      break;
    case OTELC_ATTR_BOOL:
      kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
      kv->value->bool_value = ra->b;
      break;
    }
    kvs[n++] = kv;
  }
  otlp_kv *pid = make_kv(a, "process.pid");
  if (!pid) return OTELC_E_NOMEM;
  pid->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  pid->value->int_value = (int64_t)getpid();
  kvs[n++] = pid;
  r->attributes = kvs;
  r->n_attributes = n;
  p->resource_pb = r;
  return OTELC_OK;
}
