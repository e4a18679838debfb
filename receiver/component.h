/* component.h — the component model of otelc-receiver: kinds, factories, ids, and the runtime interface.
 *
 * As in the OpenTelemetry Collector, a configuration names components as "type[/name]" under receivers,
 * processors, exporters and extensions. Each type has one factory in the registry (registry.c): its config
 * schema (receiver/config/components/, see schema.h), its capabilities, and the runtime hooks that the
 * component's implementation fills in (receiver/receivers/, processors/, exporters/, extensions/).
 *
 * Plugging in a component's runtime: define `const component_hooks <type>_<kind>_hooks = {...}` in the component's
 * file, declare it in its header, and point the factory's `.hooks` at it in registry.c (one line). A factory with
 * NULL hooks validates but cannot run; service_run reports it. */
#ifndef OTELC_RECEIVER_COMPONENT_H
#define OTELC_RECEIVER_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>

#include "receiver/config/schema.h"
#include "wire/err.h"

typedef enum component_kind {
  COMPONENT_RECEIVER,
  COMPONENT_PROCESSOR,
  COMPONENT_EXPORTER,
  COMPONENT_EXTENSION,
} component_kind;
#define COMPONENT_KINDS 4

/* Capabilities: what other components may reference an extension for. */
#define COMPONENT_CAP_SERVER_AUTH 0x1 /* receivers' auth.authenticator */
#define COMPONENT_CAP_CLIENT_AUTH 0x2 /* exporters' auth.authenticator */
#define COMPONENT_CAP_STORAGE 0x4     /* exporters' sending_queue.storage */

/* ---- runtime interface (filled by the component implementations; the runtime owner may refine it) ---- */

/* A batch of OTLP metrics moving through a pipeline; defined by the runtime (pipeline data model). */
typedef struct component_metrics component_metrics;
/* What the runtime offers a component: event loop, logger, extension lookup, memory accounting, self-metrics. */
typedef struct component_host component_host;

/* Where a receiver or processor hands its output: the next processor, or the fan-out to the exporters. Returns 0,
 * or -1 with `err` set; a retryable refusal (memory_limiter, full queue) uses WIRE_E_LIMIT. */
typedef struct component_consumer {
  int (*consume_metrics)(void *ctx, component_metrics *batch, wire_err *err);
  void *ctx;
} component_consumer;

typedef struct component_create_args {
  const char *id;         /* "otlp/backend" */
  component_kind kind;
  const void *config;     /* the decoded struct described by the factory's schema; valid until destroy */
  component_host *host;
  component_consumer next; /* receivers and processors: downstream; zero for exporters and extensions */
} component_create_args;

typedef struct component_hooks {
  /* Builds the component from its config (no I/O yet). */
  int (*create)(const component_create_args *args, void **state, wire_err *err);
  /* Binds listeners, opens files, connects. */
  int (*start)(void *state, wire_err *err);
  /* Processors and exporters: takes a batch (ownership per the runtime's rules). */
  int (*consume_metrics)(void *state, component_metrics *batch, wire_err *err);
  /* Stops accepting, drains and flushes what it holds. */
  int (*shutdown)(void *state, wire_err *err);
  void (*destroy)(void *state);
} component_hooks;

/* ---- factories ---- */

typedef struct component_factory {
  component_kind kind;
  const char *type;         /* "otlp", "batch", ... */
  const char *doc;          /* one line, for --help and docs */
  const cfg_schema *config; /* the config struct and its keys */
  unsigned caps;            /* COMPONENT_CAP_* (extensions) */
  const char *alias_of;     /* deprecated alias ("logging" -> "debug"): a warning, then that factory's runtime */
  const char *pending;      /* config accepted but runtime not in this release: warning text, else NULL */
  const component_hooks *hooks; /* NULL until the runtime is implemented */
} component_factory;

/* "receiver", "processor", "exporter", "extension" */
const char *component_kind_name(component_kind kind);
/* "receivers", "processors", "exporters", "extensions" (config section names) */
const char *component_kind_section(component_kind kind);

/* The factory of `type` for `kind`, or NULL. Aliases are returned as themselves (see registry_canonical). */
const component_factory *registry_find(component_kind kind, const char *type);
/* For an alias, the factory it stands for; otherwise `f`. */
const component_factory *registry_canonical(const component_factory *f);
/* The registered type closest to `type` (for "did you mean"), or NULL. */
const char *registry_suggest(component_kind kind, const char *type);
/* Iteration over every factory (docs, tests). */
size_t registry_count(void);
const component_factory *registry_at(size_t i);
/* Whether some other kind has a factory named `type` (for "X is an exporter, not a receiver"). */
bool registry_has_other_kind(component_kind kind, const char *type, component_kind *found);

/* Splits "type[/name]" into `type` (NUL-terminated, at most type_size-1 chars) and returns 0; or -1 with a reason
 * ("type must start with a letter", ...) in `why`. `name` points into `id` (NULL when absent). */
int component_id_parse(const char *id, char *type, size_t type_size, const char **name, const char **why);

#endif
