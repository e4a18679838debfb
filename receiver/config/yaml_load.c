/* yaml_load.c — YAML text to cfg_node tree through libyaml's event API (see yaml_load.h).
 *
 * A small recursive descent over parser events. Positions come from each event's start mark (0-based in libyaml,
 * 1-based here). Aliases are deep copies of the anchored node, counted against CFG_ALIAS_NODES_MAX so that nested
 * aliases cannot blow up; merge keys are applied after the explicit keys of a map, which always win. */
#include "receiver/config/yaml_load.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define CFG_ALIAS_NODES_MAX 100000

typedef struct anchor {
  char *name; /* malloc'd */
  cfg_node *node;
} anchor;

typedef struct loader {
  yaml_parser_t parser;
  cfg_arena *a;
  const char *file;
  cfg_diags *diags;
  anchor *anchors;
  size_t nanchors, capanchors;
  size_t alias_nodes;
  bool failed;
} loader;

static void fail_at(loader *L, yaml_mark_t mark, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(loader *L, yaml_mark_t mark, const char *fmt, ...) {
  if (L->failed) return;
  L->failed = true;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cfg_node at = {.file = L->file, .line = (uint32_t)mark.line + 1, .col = (uint32_t)mark.column + 1};
  cfg_diag_add(L->diags, CFG_ERROR, &at, NULL, "%s", msg);
}

static void fail_oom(loader *L) {
  if (L->failed) return;
  L->failed = true;
  cfg_node at = {.file = L->file, .line = (uint32_t)L->parser.mark.line + 1,
                 .col = (uint32_t)L->parser.mark.column + 1};
  cfg_diag_add(L->diags, CFG_ERROR, &at, NULL, "configuration too large (memory budget exhausted)");
}

static bool next_event(loader *L, yaml_event_t *ev) {
  if (L->failed) return false;
  if (!yaml_parser_parse(&L->parser, ev)) {
    L->failed = true;
    yaml_parser_t *p = &L->parser;
    /* A scanner error with a context ("while scanning a quoted scalar") is best shown where that token started. */
    yaml_mark_t mark = p->error == YAML_SCANNER_ERROR && p->context ? p->context_mark : p->problem_mark;
    cfg_node at = {.file = L->file, .line = (uint32_t)mark.line + 1, .col = (uint32_t)mark.column + 1};
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context) cfg_diag_add(L->diags, CFG_ERROR, &at, NULL, "invalid YAML: %s %s", problem, p->context);
    else cfg_diag_add(L->diags, CFG_ERROR, &at, NULL, "invalid YAML: %s", problem);
    return false;
  }
  return true;
}

static void add_anchor(loader *L, const unsigned char *name, cfg_node *node) {
  if (!name || L->failed) return;
  if (L->nanchors == L->capanchors) {
    size_t ncap = L->capanchors ? L->capanchors * 2 : 8;
    anchor *nv = realloc(L->anchors, ncap * sizeof *nv);
    if (!nv) {
      fail_oom(L);
      return;
    }
    L->anchors = nv;
    L->capanchors = ncap;
  }
  char *copy = strdup((const char *)name);
  if (!copy) {
    fail_oom(L);
    return;
  }
  L->anchors[L->nanchors].name = copy;
  L->anchors[L->nanchors].node = node;
  L->nanchors++;
}

static cfg_node *find_anchor(loader *L, const char *name) {
  for (size_t i = L->nanchors; i-- > 0;)
    if (strcmp(L->anchors[i].name, name) == 0) return L->anchors[i].node;
  return NULL;
}

static bool is_null_scalar(const yaml_event_t *ev) {
  const char *tag = (const char *)ev->data.scalar.tag;
  if (tag && strcmp(tag, "tag:yaml.org,2002:null") == 0) return true;
  if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *v = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  return n == 0 || (n == 1 && v[0] == '~') ||
         (n == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

static cfg_node *parse_node(loader *L, yaml_event_t *ev, int depth);

/* Applies merge sources (maps) to `map`: keys already present are kept. */
static void apply_merge(loader *L, cfg_node *map, const cfg_node *src, yaml_mark_t mark) {
  if (src->kind == CFG_NODE_SEQ) {
    for (size_t i = 0; i < src->n && !L->failed; i++) apply_merge(L, map, src->items[i], mark);
    return;
  }
  if (src->kind != CFG_NODE_MAP) {
    fail_at(L, mark, "invalid YAML: merge key '<<' needs a map or a list of maps");
    return;
  }
  for (size_t i = 0; i < src->n; i++) {
    if (cfg_map_find(map, src->pairs[i].key->text)) continue;
    if (cfg_map_append(L->a, map, src->pairs[i].key, src->pairs[i].value) < 0) {
      fail_oom(L);
      return;
    }
  }
}

/* A new node of `kind` where the event `start` begins (1-based line and column); NULL (out of memory, reported)
 * when it cannot be made. */
static cfg_node *node_at(loader *L, cfg_node_kind kind, const yaml_event_t *start) {
  yaml_mark_t m = start->start_mark;
  cfg_node *n = cfg_node_new(L->a, kind, L->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1);
  if (!n) fail_oom(L);
  return n;
}

static cfg_node *parse_mapping(loader *L, yaml_event_t *start, int depth) {
  cfg_node *map = node_at(L, CFG_NODE_MAP, start);
  if (!map) return NULL;
  cfg_node *merges[16];
  yaml_mark_t merge_marks[16];
  size_t nmerges = 0;
  for (;;) {
    yaml_event_t ev;
    if (!next_event(L, &ev)) return NULL;
    if (ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    yaml_mark_t key_mark = ev.start_mark;
    bool merge_key = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                     ev.data.scalar.length == 2 && memcmp(ev.data.scalar.value, "<<", 2) == 0;
    cfg_node *key = parse_node(L, &ev, depth + 1);
    yaml_event_delete(&ev);
    if (!key) return NULL;
    if (key->kind == CFG_NODE_NULL) {
      key->kind = CFG_NODE_SCALAR;
      key->text = "";
      key->len = 0;
    }
    if (key->kind != CFG_NODE_SCALAR) {
      fail_at(L, key_mark, "invalid YAML: map keys must be plain values, not a %s", cfg_node_kind_name(key->kind));
      return NULL;
    }
    if (!next_event(L, &ev)) return NULL;
    cfg_node *value = parse_node(L, &ev, depth + 1);
    yaml_event_delete(&ev);
    if (!value) return NULL;
    if (merge_key) {
      if (nmerges == sizeof merges / sizeof merges[0]) {
        fail_at(L, key_mark, "invalid YAML: too many merge keys in one map");
        return NULL;
      }
      merge_marks[nmerges] = key_mark;
      merges[nmerges++] = value;
      continue;
    }
    cfg_pair *dup = cfg_map_find(map, key->text);
    if (dup) {
      fail_at(L, key_mark, "invalid YAML: key \"%s\" already defined at line %u", key->text, dup->key->line);
      return NULL;
    }
    if (cfg_map_append(L->a, map, key, value) < 0) {
      fail_oom(L);
      return NULL;
    }
  }
  for (size_t i = 0; i < nmerges && !L->failed; i++) apply_merge(L, map, merges[i], merge_marks[i]);
  return L->failed ? NULL : map;
}

static cfg_node *parse_sequence(loader *L, yaml_event_t *start, int depth) {
  cfg_node *seq = node_at(L, CFG_NODE_SEQ, start);
  if (!seq) return NULL;
  for (;;) {
    yaml_event_t ev;
    if (!next_event(L, &ev)) return NULL;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return seq;
    }
    cfg_node *item = parse_node(L, &ev, depth + 1);
    yaml_event_delete(&ev);
    if (!item) return NULL;
    if (cfg_seq_append(L->a, seq, item) < 0) {
      fail_oom(L);
      return NULL;
    }
  }
}

/* Builds the node that starts with `ev` (consumed by the caller's delete), reading further events as needed. */
static cfg_node *parse_node(loader *L, yaml_event_t *ev, int depth) {
  if (L->failed) return NULL;
  yaml_mark_t m = ev->start_mark;
  uint32_t line = (uint32_t)m.line + 1, col = (uint32_t)m.column + 1;
  if (depth > CFG_YAML_MAX_DEPTH) {
    fail_at(L, m, "invalid YAML: nesting deeper than %d levels", CFG_YAML_MAX_DEPTH);
    return NULL;
  }
  cfg_node *n = NULL;
  const unsigned char *anchor_name = NULL;
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    anchor_name = ev->data.scalar.anchor;
    if (is_null_scalar(ev)) {
      n = cfg_node_new(L->a, CFG_NODE_NULL, L->file, line, col);
    } else {
      const char *tag = (const char *)ev->data.scalar.tag;
      bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                    (tag && strcmp(tag, "tag:yaml.org,2002:str") == 0);
      n = cfg_node_scalar(L->a, (const char *)ev->data.scalar.value, ev->data.scalar.length, quoted, L->file, line,
                          col);
    }
    if (!n) fail_oom(L);
    break;
  case YAML_MAPPING_START_EVENT:
    anchor_name = ev->data.mapping_start.anchor;
    n = parse_mapping(L, ev, depth);
    break;
  case YAML_SEQUENCE_START_EVENT:
    anchor_name = ev->data.sequence_start.anchor;
    n = parse_sequence(L, ev, depth);
    break;
  case YAML_ALIAS_EVENT: {
    const char *name = (const char *)ev->data.alias.anchor;
    cfg_node *target = find_anchor(L, name);
    if (!target) {
      fail_at(L, m, "invalid YAML: unknown anchor \"%s\"", name);
      return NULL;
    }
    L->alias_nodes += cfg_node_count(target);
    if (L->alias_nodes > CFG_ALIAS_NODES_MAX) {
      fail_at(L, m, "invalid YAML: aliases expand to more than %d nodes", CFG_ALIAS_NODES_MAX);
      return NULL;
    }
    n = cfg_node_copy(L->a, target);
    if (!n) {
      fail_oom(L);
      return NULL;
    }
    /* The copy keeps the anchored node's positions: errors point at the definition the user wrote. */
    return n;
  }
  default:
    fail_at(L, m, "invalid YAML: unexpected event");
    return NULL;
  }
  if (n && anchor_name) add_anchor(L, anchor_name, n);
  return L->failed ? NULL : n;
}

cfg_node *cfg_yaml_parse(cfg_arena *a, const char *name, const char *buf, size_t len, cfg_diags *diags) {
  loader L = {.a = a, .diags = diags};
  L.file = cfg_arena_strdup(a, name);
  if (!L.file) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: configuration too large", name);
    return NULL;
  }
  if (len > CFG_YAML_MAX_BYTES) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: configuration larger than %zu bytes", name, CFG_YAML_MAX_BYTES);
    return NULL;
  }
  if (!yaml_parser_initialize(&L.parser)) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: cannot initialize the YAML parser", name);
    return NULL;
  }
  yaml_parser_set_input_string(&L.parser, (const unsigned char *)buf, len);
  cfg_node *root = NULL;
  yaml_event_t ev;
  if (next_event(&L, &ev)) { /* STREAM-START */
    yaml_event_delete(&ev);
    if (next_event(&L, &ev)) {
      if (ev.type == YAML_STREAM_END_EVENT) {
        root = cfg_node_new(a, CFG_NODE_NULL, L.file, 1, 1); /* empty file */
        if (!root) fail_oom(&L);
        yaml_event_delete(&ev);
      } else {
        yaml_event_delete(&ev); /* DOCUMENT-START */
        if (next_event(&L, &ev)) {
          root = parse_node(&L, &ev, 0);
          yaml_event_delete(&ev);
        }
        if (root && next_event(&L, &ev)) { /* DOCUMENT-END */
          yaml_event_delete(&ev);
          if (next_event(&L, &ev)) {
            if (ev.type != YAML_STREAM_END_EVENT)
              fail_at(&L, ev.start_mark, "invalid YAML: more than one document in %s (only one is supported)",
                      L.file);
            yaml_event_delete(&ev);
          }
        }
      }
    }
  }
  yaml_parser_delete(&L.parser);
  for (size_t i = 0; i < L.nanchors; i++) free(L.anchors[i].name);
  free(L.anchors);
  return L.failed ? NULL : root;
}

cfg_node *cfg_yaml_parse_file(cfg_arena *a, const char *path, cfg_diags *diags) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: cannot read config file: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: cannot read config file: not a regular file", path);
    return NULL;
  }
  if ((size_t)st.st_size > CFG_YAML_MAX_BYTES) {
    fclose(f);
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: config file larger than %zu bytes", path, CFG_YAML_MAX_BYTES);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  char *buf = malloc(size + 1);
  size_t got = buf ? fread(buf, 1, size, f) : 0;
  int rerr = ferror(f);
  fclose(f);
  if (!buf || got != size || rerr) {
    free(buf);
    cfg_diag_add(diags, CFG_ERROR, NULL, NULL, "%s: cannot read config file: short read", path);
    return NULL;
  }
  cfg_node *root = cfg_yaml_parse(a, path, buf, size, diags);
  free(buf);
  return root;
}

int cfg_expand_colon_keys(cfg_arena *a, cfg_node *n) {
  if (n->kind == CFG_NODE_SEQ) {
    for (size_t i = 0; i < n->n; i++)
      if (cfg_expand_colon_keys(a, n->items[i]) < 0) return -1;
    return 0;
  }
  if (n->kind != CFG_NODE_MAP) return 0;
  cfg_node *out = cfg_node_new(a, CFG_NODE_MAP, n->file, n->line, n->col);
  if (!out) return -1;
  for (size_t i = 0; i < n->n; i++) {
    cfg_node *k = n->pairs[i].key, *v = n->pairs[i].value;
    const char *sep = strstr(k->text, "::");
    if (sep) {
      cfg_node *first = cfg_node_scalar(a, k->text, (size_t)(sep - k->text), false, k->file, k->line, k->col);
      cfg_node *rest = cfg_node_scalar(a, sep + 2, k->len - (size_t)(sep + 2 - k->text), false, k->file, k->line,
                                       k->col);
      cfg_node *inner = cfg_node_new(a, CFG_NODE_MAP, v->file, v->line, v->col);
      if (!first || !rest || !inner || cfg_map_append(a, inner, rest, v) < 0) return -1;
      k = first;
      v = inner;
    }
    if (cfg_expand_colon_keys(a, v) < 0) return -1;
    cfg_pair *have = cfg_map_find(out, k->text);
    if (have) {
      if (cfg_node_merge(a, have->value, v) < 0) return -1;
    } else if (cfg_map_append(a, out, k, v) < 0) {
      return -1;
    }
  }
  n->pairs = out->pairs;
  n->n = out->n;
  n->cap = out->cap;
  return 0;
}
