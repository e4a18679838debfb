/* env.h — reading OTEL_* environment variables: typed getters that fall back to a default and log one clear
 * warning line for a bad value (naming the variable, never echoing values that could be secrets). */
#ifndef OTELC_SDK_ENV_H
#define OTELC_SDK_ENV_H

#include <stdbool.h>
#include <stdint.h>

/* The variable's value, or NULL when unset or empty (after trimming spaces). */
const char *otelc_env_get(const char *name);
/* A non-negative integer (milliseconds etc.) in [min, max]; `def` when unset; `def` with a warning when bad. */
int64_t otelc_env_int(const char *name, int64_t def, int64_t min, int64_t max);
/* "true"/"false" (case-insensitive); `def` when unset; warning + def when anything else. */
bool otelc_env_bool(const char *name, bool def);
/* One of `choices` (NULL-terminated, case-insensitive); returns its index, or `def` (warning when bad). */
int otelc_env_choice(const char *name, const char *const *choices, int def);

#endif
