/* service.c — builds and validates the pipeline graph of a configuration (see service.h).
 *
 * Order of work: top-level keys; the service section; a first look at the pipelines (to know which components
 * only ignored traces/logs pipelines use); every component's config; pipeline references; extension references;
 * unused components. Every step reports and goes on, so one --validate run lists every mistake. */
#include "receiver/service.h"

#include <stdlib.h>
#include <string.h>

enum { LIST_RECEIVERS, LIST_PROCESSORS, LIST_EXPORTERS, LIST_KINDS };
static const char *const list_keys[LIST_KINDS] = {"receivers", "processors", "exporters"};
static const component_kind list_kind[LIST_KINDS] = {COMPONENT_RECEIVER, COMPONENT_PROCESSOR, COMPONENT_EXPORTER};

/* A pipeline as written, before resolution. */
typedef struct pipeline_decl {
  const cfg_node *key, *body;
  const cfg_node *lists[LIST_KINDS]; /* sequences (or NULL) */
  bool active;                        /* a metrics pipeline */
} pipeline_decl;

static const component_kind all_kinds[COMPONENT_KINDS] = {COMPONENT_RECEIVER, COMPONENT_PROCESSOR,
                                                          COMPONENT_EXPORTER, COMPONENT_EXTENSION};

static void path_set(cfg_ctx *ctx, const char *a, const char *b) {
  cfg_path_pop(&ctx->path, 0);
  if (a) cfg_path_push_key(&ctx->path, a);
  if (b) cfg_path_push_key(&ctx->path, b);
}

service_component *service_find(const service_graph *g, component_kind kind, const char *id) {
  for (size_t i = 0; i < g->ncomponents; i++)
    if (g->components[i].kind == kind && !strcmp(g->components[i].id, id)) return &g->components[i];
  return NULL;
}

/* ---- step 1: top-level keys ---- */

static void check_top_level(const cfg_node *root, cfg_ctx *ctx) {
  static const char *const known[] = {"receivers", "processors", "exporters", "extensions", "service", "connectors"};
  for (size_t i = 0; i < root->n; i++) {
    const cfg_node *k = root->pairs[i].key, *v = root->pairs[i].value;
    bool found = false;
    for (size_t j = 0; j < sizeof known / sizeof known[0]; j++) found = found || !strcmp(k->text, known[j]);
    if (!found) {
      const char *hint = cfg_suggest(k->text, known, sizeof known / sizeof known[0]);
      if (hint) cfg_error(ctx, k, "unknown top-level key \"%s\" (did you mean \"%s\"?)", k->text, hint);
      else cfg_error(ctx, k, "unknown top-level key \"%s\"", k->text);
      continue;
    }
    if (!strcmp(k->text, "connectors") && v->kind == CFG_NODE_MAP && v->n > 0) {
      path_set(ctx, "connectors", NULL);
      cfg_error(ctx, v, "connectors are not supported by otelc");
      path_set(ctx, NULL, NULL);
    } else if (strcmp(k->text, "service") && v->kind != CFG_NODE_MAP && v->kind != CFG_NODE_NULL) {
      path_set(ctx, k->text, NULL);
      cfg_error(ctx, v, "expected a map of components, got a %s", cfg_node_kind_name(v->kind));
      path_set(ctx, NULL, NULL);
    }
  }
}

/* ---- step 3: pipelines as written ---- */

static size_t scan_pipelines(const cfg_node *pipelines, pipeline_decl **out, cfg_ctx *ctx) {
  *out = NULL;
  if (!pipelines || pipelines->kind == CFG_NODE_NULL) return 0;
  path_set(ctx, "service", "pipelines");
  if (pipelines->kind != CFG_NODE_MAP) {
    cfg_error(ctx, pipelines, "expected a map of pipelines, got a %s", cfg_node_kind_name(pipelines->kind));
    return 0;
  }
  pipeline_decl *v = calloc(pipelines->n ? pipelines->n : 1, sizeof *v);
  if (!v) return 0;
  *out = v;
  for (size_t i = 0; i < pipelines->n; i++) {
    pipeline_decl *p = &v[i];
    p->key = pipelines->pairs[i].key;
    p->body = pipelines->pairs[i].value;
    path_set(ctx, "service", "pipelines");
    char signal[64];
    const char *name, *why;
    if (component_id_parse(p->key->text, signal, sizeof signal, &name, &why) < 0) {
      cfg_error(ctx, p->key, "invalid pipeline id \"%s\": %s", p->key->text, why);
      continue;
    }
    cfg_path_push_key(&ctx->path, p->key->text);
    if (!strcmp(signal, "metrics")) {
      p->active = true;
    } else if (!strcmp(signal, "traces") || !strcmp(signal, "logs") || !strcmp(signal, "profiles")) {
      cfg_warn(ctx, p->key, "otelc handles metrics only: this %s pipeline is ignored", signal);
    } else {
      static const char *const signals[] = {"metrics", "traces", "logs"};
      const char *hint = cfg_suggest(signal, signals, 3);
      cfg_error(ctx, p->key, "unknown signal \"%s\" in pipeline id (metrics, traces or logs)%s%s%s", signal,
                hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
      continue;
    }
    if (p->body->kind != CFG_NODE_MAP) {
      if (p->active)
        cfg_error(ctx, p->body, "expected a map with receivers, processors and exporters, got a %s",
                  cfg_node_kind_name(p->body->kind));
      continue;
    }
    for (size_t j = 0; j < p->body->n; j++) {
      const cfg_node *k = p->body->pairs[j].key, *l = p->body->pairs[j].value;
      int which = -1;
      for (int t = 0; t < LIST_KINDS; t++)
        if (!strcmp(k->text, list_keys[t])) which = t;
      if (which < 0) {
        const char *hint = cfg_suggest(k->text, list_keys, LIST_KINDS);
        if (hint) cfg_error(ctx, k, "unknown key \"%s\" (did you mean \"%s\"?)", k->text, hint);
        else cfg_error(ctx, k, "unknown key \"%s\" (receivers, processors or exporters)", k->text);
        continue;
      }
      if (l->kind == CFG_NODE_NULL) continue;
      size_t mark = cfg_path_push_key(&ctx->path, k->text);
      if (l->kind != CFG_NODE_SEQ) {
        cfg_error(ctx, l, "expected a list of component ids, got a %s", cfg_node_kind_name(l->kind));
      } else {
        bool ok = true;
        for (size_t m = 0; m < l->n; m++)
          if (l->items[m]->kind != CFG_NODE_SCALAR) {
            size_t m2 = cfg_path_push_index(&ctx->path, m);
            cfg_error(ctx, l->items[m], "expected a component id, got a %s", cfg_node_kind_name(l->items[m]->kind));
            cfg_path_pop(&ctx->path, m2);
            ok = false;
          }
        if (ok) p->lists[which] = l;
      }
      cfg_path_pop(&ctx->path, mark);
    }
  }
  path_set(ctx, NULL, NULL);
  return pipelines->n;
}

/* Whether some (active or ignored) pipeline lists `id` for `kind`. */
static bool pipelines_use(const pipeline_decl *p, size_t n, component_kind kind, const char *id, bool active) {
  for (size_t i = 0; i < n; i++) {
    if (p[i].active != active) continue;
    for (int t = 0; t < LIST_KINDS; t++) {
      if (list_kind[t] != kind || !p[i].lists[t]) continue;
      const cfg_node *l = p[i].lists[t];
      for (size_t m = 0; m < l->n; m++)
        if (!strcmp(l->items[m]->text, id)) return true;
    }
  }
  return false;
}

/* ---- step 4: components ---- */

static void decode_component(service_component *sc, const cfg_node *value, const pipeline_decl *pipes,
                             size_t npipes, cfg_ctx *ctx) {
  const char *section = component_kind_section(sc->kind);
  const char *kname = component_kind_name(sc->kind);
  path_set(ctx, section, sc->id);
  char type[64];
  const char *name, *why;
  if (component_id_parse(sc->id, type, sizeof type, &name, &why) < 0) {
    cfg_error(ctx, &sc->key_pos, "invalid component id \"%s\": %s", sc->id, why);
    return;
  }
  sc->type = strdup(type);
  sc->name = name;
  bool active = sc->kind == COMPONENT_EXTENSION || pipelines_use(pipes, npipes, sc->kind, sc->id, true);
  bool only_ignored = !active && pipelines_use(pipes, npipes, sc->kind, sc->id, false);
  const component_factory *f = registry_find(sc->kind, type);
  if (!f) {
    if (only_ignored) {
      sc->ignored = true;
      cfg_warn(ctx, &sc->key_pos, "unknown %s type \"%s\", only used by ignored pipelines", kname, type);
      return;
    }
    component_kind other;
    const char *hint = registry_suggest(sc->kind, type);
    if (hint) cfg_error(ctx, &sc->key_pos, "unknown %s type \"%s\" (did you mean \"%s\"?)", kname, type, hint);
    else if (registry_has_other_kind(sc->kind, type, &other))
      cfg_error(ctx, &sc->key_pos, "unknown %s type \"%s\" (\"%s\" is %s %s: put it under %s)", kname, type, type,
                other == COMPONENT_RECEIVER || other == COMPONENT_PROCESSOR ? "a" : "an", component_kind_name(other),
                component_kind_section(other));
    else cfg_error(ctx, &sc->key_pos, "unknown %s type \"%s\"", kname, type);
    return;
  }
  if (only_ignored) {
    sc->ignored = true;
    return;
  }
  sc->declared = f;
  sc->factory = registry_canonical(f);
  if (f->alias_of) cfg_warn(ctx, &sc->key_pos, "the \"%s\" %s is deprecated: use \"%s\"", type, kname, f->alias_of);
  if (f->pending && active) cfg_warn(ctx, &sc->key_pos, "%s", f->pending);
  sc->config = calloc(1, f->config->size);
  if (!sc->config) {
    cfg_error(ctx, &sc->key_pos, "out of memory");
    return;
  }
  sc->node = value->kind == CFG_NODE_NULL ? &sc->key_pos : value;
  cfg_decode(f->config, sc->config, sc->node, ctx);
}

/* ---- step 5: pipeline references ---- */

static const char *defined_ids(const service_graph *g, component_kind kind, const char **out, size_t max,
                               size_t *n) {
  *n = 0;
  for (size_t i = 0; i < g->ncomponents && *n < max; i++)
    if (g->components[i].kind == kind) out[(*n)++] = g->components[i].id;
  return NULL;
}

/* Reports `item`, an id no component of `kind` has: with the closest defined id as a hint, else (look_elsewhere)
 * the section that defines it under another kind. */
static void report_undefined(const service_graph *g, cfg_ctx *ctx, const cfg_node *item, component_kind kind,
                             bool look_elsewhere) {
  const char *ids[256];
  size_t nids;
  defined_ids(g, kind, ids, 256, &nids);
  const char *hint = cfg_suggest(item->text, ids, nids);
  const char *name = component_kind_name(kind), *section = component_kind_section(kind);
  if (hint) {
    cfg_error(ctx, item, "%s \"%s\" is not defined in %s (did you mean \"%s\"?)", name, item->text, section, hint);
    return;
  }
  for (size_t k = 0; look_elsewhere && k < COMPONENT_KINDS; k++)
    if (all_kinds[k] != kind && service_find(g, all_kinds[k], item->text)) {
      cfg_error(ctx, item, "%s \"%s\" is not defined in %s (\"%s\" is defined in %s)", name, item->text, section,
                item->text, component_kind_section(all_kinds[k]));
      return;
    }
  cfg_error(ctx, item, "%s \"%s\" is not defined in %s", name, item->text, section);
}

static int add_pipeline_index(service_component *sc, size_t index) {
  for (size_t i = 0; i < sc->npipelines; i++)
    if (sc->pipelines[i] == index) return 0;
  size_t *nv = realloc(sc->pipelines, (sc->npipelines + 1) * sizeof *nv);
  if (!nv) return -1;
  sc->pipelines = nv;
  sc->pipelines[sc->npipelines++] = index;
  return 0;
}

static void resolve_pipeline(service_graph *g, const pipeline_decl *p, cfg_ctx *ctx) {
  size_t index = g->npipelines;
  service_pipeline *sp = &g->pipelines[g->npipelines++];
  sp->id = strdup(p->key->text);
  for (int t = 0; t < LIST_KINDS; t++) {
    const cfg_node *l = p->lists[t];
    if (!l || l->n == 0) continue;
    service_component **arr = calloc(l->n, sizeof *arr);
    if (!arr) continue;
    size_t n = 0;
    component_kind kind = list_kind[t];
    for (size_t m = 0; m < l->n; m++) {
      const cfg_node *item = l->items[m];
      path_set(ctx, "service", "pipelines");
      cfg_path_push_key(&ctx->path, p->key->text);
      cfg_path_push_key(&ctx->path, list_keys[t]);
      cfg_path_push_index(&ctx->path, m);
      service_component *sc = service_find(g, kind, item->text);
      if (!sc) {
        report_undefined(g, ctx, item, kind, true);
        continue;
      }
      bool dup = false;
      for (size_t k = 0; k < n; k++) dup = dup || arr[k] == sc;
      if (dup) {
        cfg_error(ctx, item, "%s \"%s\" is listed more than once", component_kind_name(kind), item->text);
        continue;
      }
      arr[n++] = sc;
      add_pipeline_index(sc, index);
    }
    if (t == LIST_RECEIVERS) sp->receivers = arr, sp->nreceivers = n;
    else if (t == LIST_PROCESSORS) sp->processors = arr, sp->nprocessors = n;
    else sp->exporters = arr, sp->nexporters = n;
  }
  path_set(ctx, "service", "pipelines");
  cfg_path_push_key(&ctx->path, p->key->text);
  if (!p->lists[LIST_RECEIVERS] || p->lists[LIST_RECEIVERS]->n == 0)
    cfg_error(ctx, p->body->kind == CFG_NODE_MAP ? p->body : p->key, "must have at least one receiver");
  if (!p->lists[LIST_EXPORTERS] || p->lists[LIST_EXPORTERS]->n == 0)
    cfg_error(ctx, p->body->kind == CFG_NODE_MAP ? p->body : p->key, "must have at least one exporter");
  path_set(ctx, NULL, NULL);
}

/* ---- step 6: extensions ---- */

static void resolve_extensions(service_graph *g, const cfg_node *service_node, cfg_ctx *ctx) {
  const cfg_node *list = cfg_map_get(service_node, "extensions");
  if (!list || list->kind != CFG_NODE_SEQ) return;
  g->extensions = calloc(list->n ? list->n : 1, sizeof *g->extensions);
  if (!g->extensions) return;
  for (size_t i = 0; i < list->n; i++) {
    const cfg_node *item = list->items[i];
    if (item->kind != CFG_NODE_SCALAR) continue; /* reported by the decoder */
    path_set(ctx, "service", "extensions");
    cfg_path_push_index(&ctx->path, i);
    service_component *sc = service_find(g, COMPONENT_EXTENSION, item->text);
    if (!sc) {
      report_undefined(g, ctx, item, COMPONENT_EXTENSION, false);
      continue;
    }
    bool dup = false;
    for (size_t k = 0; k < g->nextensions; k++) dup = dup || g->extensions[k] == sc;
    if (dup) {
      cfg_error(ctx, item, "extension \"%s\" is listed more than once", item->text);
      continue;
    }
    g->extensions[g->nextensions++] = sc;
  }
  path_set(ctx, NULL, NULL);
}

static bool extension_enabled(const service_graph *g, const service_component *sc) {
  for (size_t i = 0; i < g->nextensions; i++)
    if (g->extensions[i] == sc) return true;
  return false;
}

static void resolve_refs(service_graph *g, cfg_ctx *ctx) {
  for (size_t i = 0; i < ctx->nrefs; i++) {
    const cfg_ref *r = &ctx->refs[i];
    cfg_path_pop(&ctx->path, 0);
    snprintf(ctx->path.buf, sizeof ctx->path.buf, "%s", r->path);
    ctx->path.len = strlen(ctx->path.buf);
    service_component *sc = service_find(g, COMPONENT_EXTENSION, r->id);
    const char *role = r->caps & COMPONENT_CAP_STORAGE ? "a storage" : "an authenticator";
    if (!sc) {
      cfg_error(ctx, r->at, "extension \"%s\" is not defined in extensions", r->id);
    } else if (sc->declared && !(sc->declared->caps & r->caps)) {
      cfg_error(ctx, r->at, "extension \"%s\" cannot be used as %s", r->id, role);
    } else if (!extension_enabled(g, sc)) {
      cfg_error(ctx, r->at, "extension \"%s\" must be listed in service::extensions", r->id);
    }
  }
  path_set(ctx, NULL, NULL);
}

static bool referenced(const cfg_ctx *ctx, const char *id) {
  for (size_t i = 0; i < ctx->nrefs; i++)
    if (!strcmp(ctx->refs[i].id, id)) return true;
  return false;
}

/* ---- the whole build ---- */

int service_graph_build(service_graph *g, const cfg_node *root, cfg_diags *diags) {
  memset(g, 0, sizeof *g);
  size_t errors_before = diags->errors;
  cfg_ctx ctx;
  cfg_ctx_init(&ctx, diags);
  if (!root || root->kind == CFG_NODE_NULL || (root->kind == CFG_NODE_MAP && root->n == 0)) {
    cfg_error(&ctx, root, "the configuration is empty");
    cfg_defaults(&service_schema, &g->service);
    cfg_ctx_free(&ctx);
    return -1;
  }
  if (root->kind != CFG_NODE_MAP) {
    cfg_error(&ctx, root, "the configuration must be a map, not a %s", cfg_node_kind_name(root->kind));
    cfg_defaults(&service_schema, &g->service);
    cfg_ctx_free(&ctx);
    return -1;
  }
  check_top_level(root, &ctx);

  /* The service section. */
  const cfg_node *service_node = cfg_map_get(root, "service");
  path_set(&ctx, "service", NULL);
  cfg_decode(&service_schema, &g->service, service_node, &ctx);
  if (!service_node || service_node->kind == CFG_NODE_NULL) {
    path_set(&ctx, NULL, NULL);
    cfg_error(&ctx, root, "missing \"service\" section with pipelines");
  }
  path_set(&ctx, NULL, NULL);

  pipeline_decl *pipes;
  size_t npipes = scan_pipelines(g->service.pipelines, &pipes, &ctx);

  /* Components of every kind. */
  size_t total = 0;
  for (size_t k = 0; k < COMPONENT_KINDS; k++) {
    const cfg_node *sec = cfg_map_get(root, component_kind_section(all_kinds[k]));
    if (sec && sec->kind == CFG_NODE_MAP) total += sec->n;
  }
  g->components = calloc(total ? total : 1, sizeof *g->components);
  if (!g->components) total = 0;
  for (size_t k = 0; k < COMPONENT_KINDS && g->components; k++) {
    const cfg_node *sec = cfg_map_get(root, component_kind_section(all_kinds[k]));
    if (!sec || sec->kind != CFG_NODE_MAP) continue;
    for (size_t i = 0; i < sec->n; i++) {
      const cfg_node *key = sec->pairs[i].key;
      service_component *sc = &g->components[g->ncomponents++];
      sc->kind = all_kinds[k];
      sc->id = strdup(key->text);
      sc->key_pos = (cfg_node){.kind = CFG_NODE_NULL, .file = key->file, .line = key->line, .col = key->col};
      if (!sc->id) continue;
      decode_component(sc, sec->pairs[i].value, pipes, npipes, &ctx);
    }
  }
  path_set(&ctx, NULL, NULL);

  /* Pipelines. */
  size_t nactive = 0;
  for (size_t i = 0; i < npipes; i++) nactive += pipes[i].active;
  g->pipelines = calloc(nactive ? nactive : 1, sizeof *g->pipelines);
  for (size_t i = 0; i < npipes && g->pipelines; i++)
    if (pipes[i].active) resolve_pipeline(g, &pipes[i], &ctx);
  if (nactive == 0 && service_node && service_node->kind != CFG_NODE_NULL) {
    path_set(&ctx, "service", "pipelines");
    const cfg_node *at = g->service.pipelines ? g->service.pipelines : service_node;
    cfg_error(&ctx, at, "no metrics pipeline: otelc needs at least one (metrics or metrics/<name>)");
    path_set(&ctx, NULL, NULL);
  }

  /* Extensions and references to them. */
  resolve_extensions(g, service_node, &ctx);
  resolve_refs(g, &ctx);

  /* Unused components. */
  for (size_t i = 0; i < g->ncomponents; i++) {
    service_component *sc = &g->components[i];
    if (sc->ignored || !sc->config) continue;
    path_set(&ctx, component_kind_section(sc->kind), sc->id);
    if (sc->kind == COMPONENT_EXTENSION) {
      if (!extension_enabled(g, sc) && !referenced(&ctx, sc->id))
        cfg_warn(&ctx, &sc->key_pos, "extension is not enabled in service::extensions and will not run");
    } else if (sc->npipelines == 0) {
      cfg_warn(&ctx, &sc->key_pos, "%s is not used by any pipeline and will not run", component_kind_name(sc->kind));
    }
  }
  path_set(&ctx, NULL, NULL);

  free(pipes);
  cfg_ctx_free(&ctx);
  return diags->errors > errors_before ? -1 : 0;
}

void service_graph_free(service_graph *g) {
  for (size_t i = 0; i < g->ncomponents; i++) {
    service_component *sc = &g->components[i];
    if (sc->config && sc->declared) cfg_free(sc->declared->config, sc->config);
    free(sc->config);
    free(sc->id);
    free(sc->type);
    free(sc->pipelines);
  }
  free(g->components);
  for (size_t i = 0; i < g->npipelines; i++) {
    free(g->pipelines[i].id);
    free(g->pipelines[i].receivers);
    free(g->pipelines[i].processors);
    free(g->pipelines[i].exporters);
  }
  free(g->pipelines);
  free(g->extensions);
  cfg_free(&service_schema, &g->service);
  memset(g, 0, sizeof *g);
}

/* ---- --print-config ---- */

static void print_id_list(FILE *out, const char *key, service_component *const *v, size_t n, int indent) {
  fprintf(out, "%*s%s: [", indent, "", key);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", out);
    cfg_emit_scalar(out, v[i]->id);
  }
  fputs("]\n", out);
}

void service_graph_print(const service_graph *g, FILE *out) {
  for (size_t k = 0; k < COMPONENT_KINDS; k++) {
    size_t shown = 0;
    for (size_t i = 0; i < g->ncomponents; i++) {
      const service_component *sc = &g->components[i];
      if (sc->kind != all_kinds[k] || sc->ignored || !sc->config) continue;
      if (!shown++) fprintf(out, "%s:\n", component_kind_section(all_kinds[k]));
      fputs("  ", out);
      cfg_emit_scalar(out, sc->id);
      fputs(":\n", out);
      cfg_emit(out, sc->declared->config, sc->config, 4);
    }
  }
  fputs("service:\n", out);
  print_id_list(out, "extensions", g->extensions, g->nextensions, 2);
  fputs("  pipelines:\n", out);
  for (size_t i = 0; i < g->npipelines; i++) {
    const service_pipeline *p = &g->pipelines[i];
    fputs("    ", out);
    cfg_emit_scalar(out, p->id);
    fputs(":\n", out);
    print_id_list(out, "receivers", p->receivers, p->nreceivers, 6);
    print_id_list(out, "processors", p->processors, p->nprocessors, 6);
    print_id_list(out, "exporters", p->exporters, p->nexporters, 6);
  }
  const cfg_field *tf = cfg_schema_field(&service_schema, "telemetry");
  fputs("  telemetry:\n", out);
  cfg_emit(out, tf->sub, &g->service.telemetry, 4);
}
