/* env.c — typed OTEL_* environment getters with one-line warnings and defaults (see env.h). */
#include "sdk/src/env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/src/log.h"

/* Copies the trimmed value into a thread-local buffer; values longer than it are treated as bad. */
static const char *trimmed(const char *name, char *buf, size_t size) {
  const char *v = getenv(name);
  if (!v) return NULL;
  while (*v && isspace((unsigned char)*v)) v++;
  size_t n = strlen(v);
  while (n > 0 && isspace((unsigned char)v[n - 1])) n--;
  if (n == 0) return NULL;
  if (n >= size) n = size - 1;
  memcpy(buf, v, n);
  buf[n] = 0;
  return buf;
}

const char *otelc_env_get(const char *name) {
  const char *v = getenv(name);
  if (!v) return NULL;
  while (*v && isspace((unsigned char)*v)) v++;
  return *v ? v : NULL;
}

int64_t otelc_env_int(const char *name, int64_t def, int64_t min, int64_t max) {
  char buf[64];
  const char *v = trimmed(name, buf, sizeof buf);
  if (!v) return def;
  errno = 0;
  char *end = NULL;
  long long x = strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != 0 || x < min || x > max) {
    otelc_log_at(OTELC_LOG_WARN, &(otelc_log_site){0},
                 "%s: not an integer in [%lld, %lld]; using the default %lld", name, (long long)min,
                 (long long)max, (long long)def);
    return def;
  }
  return x;
}

bool otelc_env_bool(const char *name, bool def) {
  char buf[16];
  const char *v = trimmed(name, buf, sizeof buf);
  if (!v) return def;
  if (!strcasecmp(v, "true")) return true;
  if (!strcasecmp(v, "false")) return false;
  otelc_log_at(OTELC_LOG_WARN, &(otelc_log_site){0}, "%s: want true or false; using %s", name,
               def ? "true" : "false");
  return def;
}

int otelc_env_choice(const char *name, const char *const *choices, int def) {
  char buf[128];
  const char *v = trimmed(name, buf, sizeof buf);
  if (!v) return def;
  for (int i = 0; choices[i]; i++) {
    if (!strcasecmp(v, choices[i])) return i;
  }
  char list[256];
  size_t off = 0;
  list[0] = 0;
  for (int i = 0; choices[i] && off < sizeof list; i++) {
    int n = snprintf(list + off, sizeof list - off, "%s%s", i ? "|" : "", choices[i]);
    if (n < 0) break;
    off += (size_t)n;
  }
  otelc_log_at(OTELC_LOG_WARN, &(otelc_log_site){0}, "%s: unknown value (want %s); using %s", name, list,
               choices[def]);
  return def;
}
