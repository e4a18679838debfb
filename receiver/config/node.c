/* node.c — the configuration tree and its arena (see node.h). */
#include "receiver/config/node.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, size;
  _Alignas(16) unsigned char data[];
} arena_chunk;

struct cfg_arena {
  arena_chunk *head;
  size_t total, budget;
  bool exhausted;
};

cfg_arena *cfg_arena_new(size_t budget) {
  cfg_arena *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->budget = budget ? budget : (size_t)64 << 20;
  return a;
}

void cfg_arena_free(cfg_arena *a) {
  if (!a) return;
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  free(a);
}

void *cfg_arena_alloc(cfg_arena *a, size_t n) {
  if (a->exhausted) return NULL;
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  arena_chunk *c = a->head;
  if (!c || c->size - c->used < n) {
    size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    if (a->total + size > a->budget || !(c = malloc(sizeof *c + size))) {
      a->exhausted = true;
      return NULL;
    }
    a->total += size;
    c->used = 0;
    c->size = size;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *cfg_arena_strndup(cfg_arena *a, const char *s, size_t n) {
  char *p = cfg_arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *cfg_arena_strdup(cfg_arena *a, const char *s) { return cfg_arena_strndup(a, s, strlen(s)); }

bool cfg_arena_exhausted(const cfg_arena *a) { return a->exhausted; }

cfg_node *cfg_node_new(cfg_arena *a, cfg_node_kind kind, const char *file, uint32_t line, uint32_t col) {
  cfg_node *n = cfg_arena_alloc(a, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->file = file;
  n->line = line;
  n->col = col;
  return n;
}

cfg_node *cfg_node_scalar(cfg_arena *a, const char *text, size_t len, bool quoted, const char *file, uint32_t line,
                          uint32_t col) {
  cfg_node *n = cfg_node_new(a, CFG_NODE_SCALAR, file, line, col);
  if (!n || !(n->text = cfg_arena_strndup(a, text, len))) return NULL;
  n->len = len;
  n->quoted = quoted;
  return n;
}

/* Grows an arena array of `elem`-sized entries to hold one more; the old array is left to the arena. */
static void *grow(cfg_arena *a, void *old, size_t n, size_t *cap, size_t elem) {
  if (n < *cap) return old;
  size_t ncap = *cap ? *cap * 2 : 4;
  void *p = cfg_arena_alloc(a, ncap * elem);
  if (!p) return NULL;
  if (n) memcpy(p, old, n * elem);
  *cap = ncap;
  return p;
}

int cfg_map_append(cfg_arena *a, cfg_node *map, cfg_node *key, cfg_node *value) {
  cfg_pair *p = grow(a, map->pairs, map->n, &map->cap, sizeof *p);
  if (!p) return -1;
  map->pairs = p;
  p[map->n].key = key;
  p[map->n].value = value;
  map->n++;
  return 0;
}

int cfg_seq_append(cfg_arena *a, cfg_node *seq, cfg_node *item) {
  cfg_node **p = grow(a, seq->items, seq->n, &seq->cap, sizeof *p);
  if (!p) return -1;
  seq->items = p;
  p[seq->n++] = item;
  return 0;
}

cfg_pair *cfg_map_find(const cfg_node *map, const char *key) {
  if (!map || map->kind != CFG_NODE_MAP) return NULL;
  size_t klen = strlen(key);
  for (size_t i = 0; i < map->n; i++) {
    const cfg_node *k = map->pairs[i].key;
    if (k->len == klen && memcmp(k->text, key, klen) == 0) return &map->pairs[i];
  }
  return NULL;
}

cfg_node *cfg_map_get(const cfg_node *map, const char *key) {
  cfg_pair *p = cfg_map_find(map, key);
  return p ? p->value : NULL;
}

cfg_node *cfg_node_copy(cfg_arena *a, const cfg_node *src) {
  cfg_node *n = cfg_node_new(a, src->kind, src->file, src->line, src->col);
  if (!n) return NULL;
  n->quoted = src->quoted;
  switch (src->kind) {
  case CFG_NODE_NULL: break;
  case CFG_NODE_SCALAR:
    if (!(n->text = cfg_arena_strndup(a, src->text, src->len))) return NULL;
    n->len = src->len;
    break;
  case CFG_NODE_MAP:
    for (size_t i = 0; i < src->n; i++) {
      cfg_node *k = cfg_node_copy(a, src->pairs[i].key);
      cfg_node *v = k ? cfg_node_copy(a, src->pairs[i].value) : NULL;
      if (!v || cfg_map_append(a, n, k, v) < 0) return NULL;
    }
    break;
  case CFG_NODE_SEQ:
    for (size_t i = 0; i < src->n; i++) {
      cfg_node *v = cfg_node_copy(a, src->items[i]);
      if (!v || cfg_seq_append(a, n, v) < 0) return NULL;
    }
    break;
  }
  return n;
}

size_t cfg_node_count(const cfg_node *n) {
  size_t c = 1;
  if (n->kind == CFG_NODE_MAP)
    for (size_t i = 0; i < n->n; i++) c += 1 + cfg_node_count(n->pairs[i].value);
  else if (n->kind == CFG_NODE_SEQ)
    for (size_t i = 0; i < n->n; i++) c += cfg_node_count(n->items[i]);
  return c;
}

const char *cfg_node_kind_name(cfg_node_kind kind) {
  switch (kind) {
  case CFG_NODE_NULL: return "null";
  case CFG_NODE_SCALAR: return "scalar";
  case CFG_NODE_MAP: return "map";
  case CFG_NODE_SEQ: return "sequence";
  }
  return "?";
}

int cfg_node_merge(cfg_arena *a, cfg_node *dst, cfg_node *src) {
  if (dst->kind != CFG_NODE_MAP || src->kind != CFG_NODE_MAP) {
    *dst = *src;
    return 0;
  }
  for (size_t i = 0; i < src->n; i++) {
    cfg_pair *sp = &src->pairs[i];
    cfg_pair *dp = cfg_map_find(dst, sp->key->text);
    if (!dp) {
      if (cfg_map_append(a, dst, sp->key, sp->value) < 0) return -1;
    } else if (dp->value->kind == CFG_NODE_MAP && sp->value->kind == CFG_NODE_MAP) {
      if (cfg_node_merge(a, dp->value, sp->value) < 0) return -1;
    } else {
      dp->value = sp->value;
    }
  }
  return 0;
}
