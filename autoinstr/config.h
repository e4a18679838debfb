/* config.h — every setting of the preload shim, read once in the constructor.
 *
 * nginx clears the environment of its worker processes, and a forking server would otherwise pay the lookups
 * in every child, so the constructor copies what it needs: OTELC_AUTOINSTR (off disables the shim),
 * OTELC_HTTP_ROUTES (http.route templates), OTELC_AUTOINSTR_CLOCK (auto or monotonic), the program name, and
 * a snapshot of every OTEL_* variable. The SDK inside the shim reads its OTEL_* settings through getenv,
 * which the shim's link redirects (-Wl,--wrap=getenv) to preload_getenv: OTEL_* names are answered from the
 * snapshot, anything else from the live environment.
 *
 * What is wrong in the settings is said on stderr only by a process that serves HTTP, when its first request
 * starts the shim's thread (preload_config_warn): LD_PRELOAD reaches shells, helpers and non-HTTP children,
 * and the shim changes nothing for them, their stderr included. */
#ifndef OTELC_AUTOINSTR_CONFIG_H
#define OTELC_AUTOINSTR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "autoinstr/routes.h"

#define PRELOAD_ENV_SNAPSHOT 16384 /* bytes of OTEL_* "NAME=value" strings kept */

typedef struct preload_config {
  bool enabled;                /* OTELC_AUTOINSTR is not off/false/0/no/disabled */
  preload_routes routes;       /* OTELC_HTTP_ROUTES */
  int routes_skipped;          /* items of OTELC_HTTP_ROUTES that were not usable */
  bool clock_monotonic;        /* OTELC_AUTOINSTR_CLOCK=monotonic: never the time-stamp counter (clock.h) */
  bool clock_unknown;          /* OTELC_AUTOINSTR_CLOCK was set to something else than auto or monotonic */
  char program[128];           /* the program's short name (for service.name) */
  size_t n_env;                /* OTEL_* variables in the snapshot */
  bool env_truncated;          /* some did not fit */
  char env[PRELOAD_ENV_SNAPSHOT];
} preload_config;

extern preload_config preload_cfg;

/* Fills preload_cfg from envp (NULL-terminated "NAME=value" strings, e.g. environ) and the program name. */
void preload_config_load(char *const *envp, const char *program);

/* The snapshot's value of an OTEL_* variable, or NULL. */
const char *preload_config_env(const char *name);

/* Writes one stderr line per unusable setting (OTELC_HTTP_ROUTES items skipped, an OTELC_AUTOINSTR_CLOCK that
 * is neither auto nor monotonic), once per process: a child forked after the lines were written stays quiet. */
void preload_config_warn(void);

/* getenv as the SDK inside the shim sees it (see above). */
char *preload_getenv(const char *name);

#endif
