/* config.c — the configuration loading sequence (see config.h). */
#include "receiver/config/config.h"

#include <stdlib.h>
#include <string.h>

#include "receiver/config/yaml_load.h"

struct otelc_config {
  cfg_arena *arena;
  cfg_node *root;
  service_graph graph;
};

static const char *default_getenv(const char *name, void *ud) {
  (void)ud;
  return getenv(name);
}

/* Parses one --config value into a tree; NULL after reporting. */
static cfg_node *load_source(cfg_arena *a, const char *src, const config_options *o, cfg_diags *diags) {
  cfg_getenv_fn get = o->getenv_fn ? o->getenv_fn : default_getenv;
  if (!strncmp(src, "file:", 5)) return cfg_yaml_parse_file(a, src + 5, diags);
  if (!strncmp(src, "yaml:", 5)) {
    cfg_node *n = cfg_yaml_parse(a, "<inline yaml>", src + 5, strlen(src + 5), diags);
    if (n && cfg_expand_colon_keys(a, n) < 0) {
      cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "configuration too large");
      return NULL;
    }
    return n;
  }
  if (!strncmp(src, "env:", 4)) {
    const char *v = get(src + 4, o->getenv_ud);
    if (!v) {
      cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "--config=%s: environment variable %s is not set", src, src + 4);
      return NULL;
    }
    return cfg_yaml_parse(a, src, v, strlen(v), diags);
  }
  /* "scheme:..." with a scheme we do not know (http:, https:, s3:) is refused rather than read as a path. */
  const char *colon = strchr(src, ':');
  if (colon) {
    size_t n = (size_t)(colon - src);
    bool scheme = n >= 2;
    for (size_t i = 0; i < n && scheme; i++)
      if (!((src[i] >= 'a' && src[i] <= 'z') || (src[i] >= '0' && src[i] <= '9'))) scheme = false;
    if (scheme) {
      cfg_diag_add(diags, CFG_ERROR, NULL, NULL,
                   "--config=%s: unsupported config source \"%.*s:\" (otelc reads file:, yaml: and env:)", src, (int)n,
                   src);
      return NULL;
    }
  }
  return cfg_yaml_parse_file(a, src, diags);
}

/* Applies one --set "a::b::c=value". */
static int apply_set(cfg_arena *a, cfg_node **root, const char *set, size_t index, cfg_diags *diags) {
  const char *eq = strchr(set, '=');
  if (!eq || eq == set) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "--set %s: expected key::path=value", set);
    return -1;
  }
  char name[32];
  snprintf(name, sizeof name, "--set[%zu]", index);
  cfg_node *value = cfg_yaml_parse(a, name, eq + 1, strlen(eq + 1), diags);
  if (!value) return -1;
  cfg_node *key = cfg_node_scalar(a, set, (size_t)(eq - set), false, value->file, 1, 1);
  cfg_node *map = key ? cfg_node_new(a, CFG_NODE_MAP, value->file, 1, 1) : NULL;
  if (!map || cfg_map_append(a, map, key, value) < 0 || cfg_expand_colon_keys(a, map) < 0) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "configuration too large");
    return -1;
  }
  if ((*root)->kind != CFG_NODE_MAP) {
    *root = map;
    return 0;
  }
  return cfg_node_merge(a, *root, map);
}

static otelc_config *finish(otelc_config *c, const config_options *o, cfg_diags *diags, size_t errors_before) {
  if (diags->errors == errors_before) {
    cfg_envsubst(c->arena, c->root, o->getenv_fn, o->getenv_ud, diags);
    if (cfg_arena_exhausted(c->arena))
      cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "configuration too large (memory budget exhausted)");
  }
  if (diags->errors == errors_before) service_graph_build(&c->graph, c->root, diags);
  if (diags->errors != errors_before) {
    config_free(c);
    return NULL;
  }
  return c;
}

otelc_config *config_load(const config_options *o, cfg_diags *diags) {
  size_t errors_before = diags->errors;
  otelc_config *c = calloc(1, sizeof *c);
  if (!c || !(c->arena = cfg_arena_new(0))) {
    free(c);
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "out of memory");
    return NULL;
  }
  if (o->nsources == 0) {
    const char *yaml = o->default_yaml ? o->default_yaml : otelc_default_config;
    size_t len = o->default_yaml ? o->default_len : otelc_default_config_len;
    c->root = cfg_yaml_parse(c->arena, "<default config>", yaml, len, diags);
  }
  for (size_t i = 0; i < o->nsources; i++) {
    cfg_node *n = load_source(c->arena, o->sources[i], o, diags);
    if (!n) continue;
    if (n->kind == CFG_NODE_NULL && c->root) continue; /* an empty source changes nothing */
    if (!c->root) c->root = n;
    else if (cfg_node_merge(c->arena, c->root, n) < 0)
      cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "configuration too large");
  }
  for (size_t i = 0; i < o->nsets && c->root; i++) apply_set(c->arena, &c->root, o->sets[i], i, diags);
  if (!c->root && diags->errors == errors_before)
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "no configuration loaded");
  return finish(c, o, diags, errors_before);
}

otelc_config *config_load_buffer(const char *name, const char *yaml, size_t len, cfg_getenv_fn getenv_fn, void *ud,
                                 cfg_diags *diags) {
  size_t errors_before = diags->errors;
  config_options o = {.getenv_fn = getenv_fn, .getenv_ud = ud};
  otelc_config *c = calloc(1, sizeof *c);
  if (!c || !(c->arena = cfg_arena_new((size_t)16 << 20))) {
    free(c);
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "out of memory");
    return NULL;
  }
  c->root = cfg_yaml_parse(c->arena, name, yaml, len, diags);
  return finish(c, &o, diags, errors_before);
}

const service_graph *config_graph(const otelc_config *c) { return &c->graph; }

void config_print(const otelc_config *c, FILE *out) { service_graph_print(&c->graph, out); }

void config_free(otelc_config *c) {
  if (!c) return;
  service_graph_free(&c->graph);
  cfg_arena_free(c->arena);
  free(c);
}
