/* service.h — the validated pipeline graph of one configuration (not the runtime that executes it).
 *
 * service_graph_build takes the merged, env-substituted configuration tree and
 *   - checks the top-level sections (receivers, processors, exporters, extensions, service);
 *   - decodes every component's config with its factory's schema (registry.c), reporting unknown types with a
 *     "did you mean" hint, the deprecated `logging` alias, and components whose runtime is still pending;
 *   - builds the metrics pipelines: every id exists in the right section, no id twice in one list, at least one
 *     receiver and one exporter per pipeline; receivers and exporters may be shared by several pipelines
 *     (fan-out / fan-in); processors are listed per pipeline (the runtime makes one instance per pipeline, as the
 *     Collector does);
 *   - resolves references to extensions (auth.authenticator, sending_queue.storage): the extension exists, has
 *     the capability, and is enabled in service::extensions;
 *   - warns about components no pipeline uses.
 *
 * otelc handles metrics only: `traces` and `logs` pipelines (and components only they use) are ignored with a
 * warning, so that a Collector config carrying them still loads; a config without any metrics pipeline is an
 * error. */
#ifndef OTELC_RECEIVER_SERVICE_H
#define OTELC_RECEIVER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "receiver/component.h"
#include "receiver/config/diag.h"
#include "receiver/config/node.h"
#include "receiver/config/service_config.h"

typedef struct service_component {
  component_kind kind;
  char *id;                           /* "otlp/backend" as written */
  char *type;                         /* "otlp" */
  const char *name;                   /* "backend" (points into id), NULL when absent */
  const component_factory *factory;   /* the implementation (aliases resolved: logging -> debug) */
  const component_factory *declared;  /* the factory named in the config (== factory unless an alias) */
  void *config;                       /* decoded struct of declared->config; NULL when not decoded */
  const cfg_node *node;               /* the config map as written (positions for runtime errors) */
  cfg_node key_pos;                   /* position of the id (a null node) */
  size_t *pipelines;                  /* indices of the metrics pipelines using it */
  size_t npipelines;
  bool ignored;                       /* only used by traces/logs pipelines: not decoded, not run */
} service_component;

typedef struct service_pipeline {
  char *id; /* "metrics", "metrics/backend" */
  service_component **receivers, **processors, **exporters;
  size_t nreceivers, nprocessors, nexporters;
} service_pipeline;

typedef struct service_graph {
  service_component *components; /* every component of every kind, in config order */
  size_t ncomponents;
  service_pipeline *pipelines;   /* metrics pipelines only */
  size_t npipelines;
  service_component **extensions; /* enabled (service::extensions), in that order */
  size_t nextensions;
  service_config service;        /* extensions list, telemetry (decoded) */
} service_graph;

/* Builds and validates the graph from `root` (the whole configuration). Every problem goes to `diags`. Returns 0
 * when no error was found; on errors the graph is still freeable (and partially filled). The graph keeps pointers
 * into `root`: keep the tree alive as long as the graph. */
int service_graph_build(service_graph *g, const cfg_node *root, cfg_diags *diags);
void service_graph_free(service_graph *g);

/* The component of `kind` with id `id`, or NULL. */
service_component *service_find(const service_graph *g, component_kind kind, const char *id);

/* Prints the effective configuration (defaults filled in, secrets redacted, ignored parts left out) as YAML. */
void service_graph_print(const service_graph *g, FILE *out);

#endif
