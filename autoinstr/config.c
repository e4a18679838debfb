/* config.c — the shim's settings and the OTEL_* environment snapshot (see config.h). */
#include "autoinstr/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "autoinstr/routes.h"

preload_config preload_cfg;

static bool is_off(const char *v) {
  return v && (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
               !strcasecmp(v, "disabled") || !strcasecmp(v, "none"));
}

static const char *env_find(char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (char *const *e = envp; e && *e; e++) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return NULL;
}

void preload_config_load(char *const *envp, const char *program) {
  preload_config *c = &preload_cfg;
  memset(c, 0, sizeof *c);
  c->enabled = !is_off(env_find(envp, "OTELC_AUTOINSTR"));
  c->routes_skipped = preload_routes_compile(&c->routes, env_find(envp, "OTELC_HTTP_ROUTES"));
  const char *clock = env_find(envp, "OTELC_AUTOINSTR_CLOCK");
  c->clock_monotonic = clock && !strcasecmp(clock, "monotonic");
  c->clock_unknown = clock && *clock && !c->clock_monotonic && strcasecmp(clock, "auto") != 0;
  snprintf(c->program, sizeof c->program, "%s", program ? program : "");
  size_t used = 0;
  for (char *const *e = envp; e && *e; e++) {
    if (strncmp(*e, "OTEL_", 5) != 0 || !strchr(*e, '=')) continue;
    size_t n = strlen(*e) + 1;
    if (used + n + 1 > sizeof c->env) { /* keep one byte for the final terminator */
      c->env_truncated = true;
      continue;
    }
    memcpy(c->env + used, *e, n);
    used += n;
    c->n_env++;
  }
  c->env[used] = 0; /* the list ends with an empty string */
}

static bool g_warned; /* inherited through fork: a child of a process that warned stays quiet */

static void warn_line(const char *line, int n) {
  if (n <= 0) return;
  ssize_t w = write(2, line, (size_t)n);
  (void)w;
}

void preload_config_warn(void) {
  if (g_warned) return;
  g_warned = true;
  char line[160];
  if (preload_cfg.routes_skipped) {
    int n = snprintf(line, sizeof line,
                     "otelc-preload: OTELC_HTTP_ROUTES: %d item(s) skipped (each must start with '/'; at most %d)\n",
                     preload_cfg.routes_skipped, PRELOAD_MAX_ROUTES);
    warn_line(line, n < (int)sizeof line ? n : (int)sizeof line - 1);
  }
  if (preload_cfg.clock_unknown) {
    int n = snprintf(line, sizeof line, "otelc-preload: OTELC_AUTOINSTR_CLOCK: not auto or monotonic; using auto\n");
    warn_line(line, n < (int)sizeof line ? n : (int)sizeof line - 1);
  }
}

const char *preload_config_env(const char *name) {
  size_t n = strlen(name);
  for (const char *e = preload_cfg.env; *e; e += strlen(e) + 1) {
    if (strncmp(e, name, n) == 0 && e[n] == '=') return e + n + 1;
  }
  return NULL;
}

extern char **environ;

/* Not getenv itself: the shim's link redirects every getenv reference, this file's included. */
char *preload_getenv(const char *name) {
  if (!name) return NULL;
  if (strncmp(name, "OTEL_", 5) == 0) return (char *)preload_config_env(name);
  return (char *)env_find(environ, name);
}
