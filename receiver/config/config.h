/* config.h — loads the receiver's configuration: sources, merge, --set, ${env} substitution, schema, graph.
 *
 * Sources (`--config` values), merged in order as the Collector merges them (maps deep, later wins; lists and
 * scalars replace):
 *   /path/config.yaml  or  file:/path/config.yaml   a YAML file
 *   yaml:exporters::debug::verbosity: detailed      inline YAML; "::" in keys nests
 *   env:VAR                                         YAML held in an environment variable
 * Then every `--set key::path=value` (value read as YAML), then ${...} substitution (envsubst.h), then the schema
 * decoder and the pipeline graph (service.h). With no source, the embedded default configuration is used. */
#ifndef OTELC_RECEIVER_CONFIG_CONFIG_H
#define OTELC_RECEIVER_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "receiver/config/diag.h"
#include "receiver/config/envsubst.h"
#include "receiver/service.h"

typedef struct config_options {
  const char *const *sources; /* --config values; none: the embedded default */
  size_t nsources;
  const char *const *sets;    /* --set values "a::b::c=value" */
  size_t nsets;
  cfg_getenv_fn getenv_fn;    /* NULL: getenv(3) */
  void *getenv_ud;
  const char *default_yaml;   /* NULL: the embedded default (otelc_default_config) */
  size_t default_len;
} config_options;

typedef struct otelc_config otelc_config;

/* Loads, merges, substitutes, decodes and validates. Returns the configuration, or NULL when any error was found
 * (all of them are in `diags`, along with warnings). */
otelc_config *config_load(const config_options *opts, cfg_diags *diags);
/* The same for one YAML buffer (tests, fuzzing). */
otelc_config *config_load_buffer(const char *name, const char *yaml, size_t len, cfg_getenv_fn getenv_fn, void *ud,
                                 cfg_diags *diags);
const service_graph *config_graph(const otelc_config *c);
/* --print-config: the effective configuration as YAML, secrets redacted. */
void config_print(const otelc_config *c, FILE *out);
void config_free(otelc_config *c);

/* The embedded default configuration (receiver/default_config.yaml, compiled in by CMake). */
extern const char otelc_default_config[];
extern const size_t otelc_default_config_len;

#endif
