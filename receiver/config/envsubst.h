/* envsubst.h — ${...} references in configuration values, resolved the way the Collector resolves them.
 *
 *   ${env:NAME}            the environment variable NAME (also ${NAME}, the Collector's default scheme)
 *   ${env:NAME:-fallback}  fallback when NAME is unset or empty
 *   ${file:/path}          the content of a file (at most 1 MiB, trailing newlines removed): secrets from mounts
 *   $$                     a literal '$'
 * Only values are expanded, never keys. When a plain (unquoted) scalar is exactly one reference, the resolved
 * text is read as YAML, so `port: ${env:PORT}` is a number and `headers: ${env:HDRS}` may be a map; a reference
 * inside a longer string, or in a quoted scalar, is spliced in as text and never re-parsed. An unset variable
 * becomes the empty string with a warning (Collector behaviour). Resolved values are not expanded again.
 * Diagnostics never contain resolved values. */
#ifndef OTELC_RECEIVER_CONFIG_ENVSUBST_H
#define OTELC_RECEIVER_CONFIG_ENVSUBST_H

#include "receiver/config/diag.h"
#include "receiver/config/node.h"

/* Looks up an environment variable; NULL when unset. */
typedef const char *(*cfg_getenv_fn)(const char *name, void *ud);

/* Expands references in every scalar value under `root`, in place. Errors (unknown scheme, bad name, unreadable
 * file, unterminated "${") go to `diags` with position and key path. */
void cfg_envsubst(cfg_arena *a, cfg_node *root, cfg_getenv_fn getenv_fn, void *ud, cfg_diags *diags);

#endif
