/* registry.c — the one table of component factories (see component.h).
 *
 * Adding a component: write its config schema (receiver/config/components/), its runtime hooks (receiver/<kind>s/),
 * and one line here. Keep the table sorted by kind, then type; aliases after their target. */
#include "receiver/component.h"

#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/batch.h"
#include "receiver/config/components/debug_exporter.h"
#include "receiver/config/components/extensions.h"
#include "receiver/config/components/file_exporter.h"
#include "receiver/config/components/filter.h"
#include "receiver/config/components/memory_limiter.h"
#include "receiver/config/components/otlp_exporters.h"
#include "receiver/config/components/otlp_receiver.h"
#include "receiver/config/components/pending.h"
#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/processors/attributes.h"
#include "receiver/processors/filter.h"
#include "receiver/processors/resource.h"
#include "receiver/extensions/bearertokenauth.h"
#include "receiver/extensions/file_storage.h"
#include "receiver/extensions/health_check.h"
#include "receiver/processors/batch.h"
#include "receiver/processors/memory_limiter.h"
#include "receiver/receivers/otlp.h"
#include "receiver/exporters/debug.h"
#include "receiver/exporters/file.h"
#include "receiver/exporters/otlp.h"
#include "receiver/exporters/prometheus.h"

#define PENDING_SCRAPE "accepted, but scraping is not implemented in this release (it comes with the scrape issue)"
#define PENDING_K8S "accepted, but Kubernetes enrichment is not implemented in this release"

static const component_factory factories[] = {
    /* receivers */
    {.kind = COMPONENT_RECEIVER, .type = "otlp", .doc = "OTLP over gRPC and HTTP (protobuf and JSON)",
     .config = &otlp_receiver_schema, .hooks = &otlp_receiver_hooks},
    {.kind = COMPONENT_RECEIVER, .type = "prometheus", .doc = "scrapes Prometheus endpoints",
     .config = &prometheus_receiver_schema, .pending = PENDING_SCRAPE},
    /* processors */
    {.kind = COMPONENT_PROCESSOR, .type = "attributes", .doc = "acts on data point attributes",
     .config = &attributes_processor_schema, .hooks = &attributes_processor_hooks},
    {.kind = COMPONENT_PROCESSOR, .type = "batch", .doc = "groups data points into larger requests",
     .config = &batch_schema, .hooks = &batch_processor_hooks},
    {.kind = COMPONENT_PROCESSOR, .type = "filter", .doc = "drops or keeps metrics by name",
     .config = &filter_processor_schema, .hooks = &filter_processor_hooks},
    {.kind = COMPONENT_PROCESSOR, .type = "k8sattributes", .doc = "adds Kubernetes pod metadata",
     .config = &k8sattributes_schema, .pending = PENDING_K8S},
    {.kind = COMPONENT_PROCESSOR, .type = "memory_limiter", .doc = "refuses data above a memory limit",
     .config = &memory_limiter_schema, .hooks = &memory_limiter_processor_hooks},
    {.kind = COMPONENT_PROCESSOR, .type = "resource", .doc = "acts on resource attributes",
     .config = &resource_processor_schema, .hooks = &resource_processor_hooks},
    /* exporters */
    {.kind = COMPONENT_EXPORTER, .type = "debug", .doc = "prints metrics to the log",
     .config = &debug_exporter_schema, .hooks = &debug_exporter_hooks},
    {.kind = COMPONENT_EXPORTER, .type = "logging", .doc = "deprecated name of debug",
     .config = &debug_exporter_schema, .alias_of = "debug"},
    {.kind = COMPONENT_EXPORTER, .type = "file", .doc = "writes OTLP/JSON lines to a file",
     .config = &file_exporter_schema, .hooks = &file_exporter_hooks},
    {.kind = COMPONENT_EXPORTER, .type = "otlp", .doc = "OTLP over gRPC", .config = &otlp_exporter_schema,
     .hooks = &otlp_exporter_hooks},
    {.kind = COMPONENT_EXPORTER, .type = "otlphttp", .doc = "OTLP over HTTP", .config = &otlphttp_exporter_schema,
     .hooks = &otlphttp_exporter_hooks},
    {.kind = COMPONENT_EXPORTER, .type = "prometheus", .doc = "serves metrics for Prometheus to scrape",
     .config = &prometheus_exporter_schema, .hooks = &prometheus_exporter_hooks},
    /* extensions */
    {.kind = COMPONENT_EXTENSION, .type = "bearertokenauth", .doc = "bearer token authentication",
     .config = &bearertokenauth_schema, .caps = COMPONENT_CAP_SERVER_AUTH | COMPONENT_CAP_CLIENT_AUTH,
     .hooks = &bearertokenauth_extension_hooks},
    {.kind = COMPONENT_EXTENSION, .type = "file_storage", .doc = "directory for persistent exporter queues",
     .config = &file_storage_schema, .caps = COMPONENT_CAP_STORAGE, .hooks = &file_storage_extension_hooks},
    {.kind = COMPONENT_EXTENSION, .type = "health_check", .doc = "HTTP health endpoint",
     .config = &health_check_schema, .hooks = &health_check_extension_hooks},
};

#define NFACTORIES (sizeof factories / sizeof factories[0])

const char *component_kind_name(component_kind kind) {
  switch (kind) {
  case COMPONENT_RECEIVER: return "receiver";
  case COMPONENT_PROCESSOR: return "processor";
  case COMPONENT_EXPORTER: return "exporter";
  case COMPONENT_EXTENSION: return "extension";
  }
  return "component";
}

const char *component_kind_section(component_kind kind) {
  switch (kind) {
  case COMPONENT_RECEIVER: return "receivers";
  case COMPONENT_PROCESSOR: return "processors";
  case COMPONENT_EXPORTER: return "exporters";
  case COMPONENT_EXTENSION: return "extensions";
  }
  return "components";
}

const component_factory *registry_find(component_kind kind, const char *type) {
  for (size_t i = 0; i < NFACTORIES; i++)
    if (factories[i].kind == kind && !strcmp(factories[i].type, type)) return &factories[i];
  return NULL;
}

const component_factory *registry_canonical(const component_factory *f) {
  if (!f || !f->alias_of) return f;
  const component_factory *target = registry_find(f->kind, f->alias_of);
  return target ? target : f;
}

const char *registry_suggest(component_kind kind, const char *type) {
  const char *names[NFACTORIES];
  size_t n = 0;
  for (size_t i = 0; i < NFACTORIES; i++)
    if (factories[i].kind == kind) names[n++] = factories[i].type;
  return cfg_suggest(type, names, n);
}

size_t registry_count(void) { return NFACTORIES; }

const component_factory *registry_at(size_t i) { return i < NFACTORIES ? &factories[i] : NULL; }

bool registry_has_other_kind(component_kind kind, const char *type, component_kind *found) {
  for (size_t i = 0; i < NFACTORIES; i++)
    if (factories[i].kind != kind && !strcmp(factories[i].type, type)) {
      if (found) *found = factories[i].kind;
      return true;
    }
  return false;
}

int component_id_parse(const char *id, char *type, size_t type_size, const char **name, const char **why) {
  const char *slash = strchr(id, '/');
  size_t tlen = slash ? (size_t)(slash - id) : strlen(id);
  *name = NULL;
  if (tlen == 0) {
    *why = "the type before '/' is empty";
    return -1;
  }
  if (tlen >= type_size || tlen > 63) {
    *why = "the type is longer than 63 characters";
    return -1;
  }
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) {
    *why = "the type must start with a letter";
    return -1;
  }
  for (size_t i = 0; i < tlen; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      *why = "the type may contain only letters, digits and '_'";
      return -1;
    }
  }
  if (slash) {
    const char *nm = slash + 1;
    if (!*nm) {
      *why = "the name after '/' is empty";
      return -1;
    }
    if (strlen(nm) > 1024) {
      *why = "the name is longer than 1024 characters";
      return -1;
    }
    for (const char *p = nm; *p; p++)
      if ((unsigned char)*p <= ' ' || *p == 0x7f) {
        *why = "the name may not contain spaces or control characters";
        return -1;
      }
    *name = nm;
  }
  memcpy(type, id, tlen);
  type[tlen] = '\0';
  return 0;
}
