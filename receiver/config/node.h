/* node.h — the configuration tree: YAML reduced to maps, sequences and scalars that remember where they came from.
 *
 * Every node carries the file name, line and column (1-based) of its first character, so that any later stage
 * (env substitution, merging, the schema decoder, the pipeline graph) can name the exact place of a mistake.
 * All nodes and strings of one configuration live in one arena (cfg_arena) with a hard byte budget: freeing the
 * arena frees the whole tree, and a hostile file (alias bombs, huge documents) fails cleanly at the budget. */
#ifndef OTELC_RECEIVER_CONFIG_NODE_H
#define OTELC_RECEIVER_CONFIG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cfg_arena cfg_arena;

/* Creates an arena that refuses to hold more than `budget` bytes in total (0: 64 MiB). */
cfg_arena *cfg_arena_new(size_t budget);
void cfg_arena_free(cfg_arena *a);
/* Zeroed memory, 16-byte aligned; NULL when the budget is exhausted (the arena remembers it, see below). */
void *cfg_arena_alloc(cfg_arena *a, size_t n);
/* Copies n bytes and appends a NUL. */
char *cfg_arena_strndup(cfg_arena *a, const char *s, size_t n);
char *cfg_arena_strdup(cfg_arena *a, const char *s);
/* True once an allocation has failed: every caller then reports "configuration too large" once. */
bool cfg_arena_exhausted(const cfg_arena *a);

typedef enum cfg_node_kind {
  CFG_NODE_NULL,   /* `key:` with nothing, `~`, `null` */
  CFG_NODE_SCALAR, /* text; `quoted` tells a string literal from a plain scalar */
  CFG_NODE_MAP,
  CFG_NODE_SEQ,
} cfg_node_kind;

typedef struct cfg_node cfg_node;

typedef struct cfg_pair {
  cfg_node *key; /* always a scalar */
  cfg_node *value;
} cfg_pair;

struct cfg_node {
  cfg_node_kind kind;
  bool quoted;      /* scalar written quoted, as a block literal or tagged !!str: a string, never a number */
  const char *file; /* source name ("config.yaml", "--set", "env:VAR", "<default>"); lives in the arena */
  uint32_t line, col;
  char *text;       /* scalars: NUL-terminated text (may contain NULs; see len) */
  size_t len;
  size_t n, cap;    /* maps: pairs; sequences: items */
  cfg_pair *pairs;
  cfg_node **items;
};

cfg_node *cfg_node_new(cfg_arena *a, cfg_node_kind kind, const char *file, uint32_t line, uint32_t col);
cfg_node *cfg_node_scalar(cfg_arena *a, const char *text, size_t len, bool quoted, const char *file, uint32_t line,
                          uint32_t col);
/* Appends to a map / sequence; returns 0 or -1 when the arena is exhausted. */
int cfg_map_append(cfg_arena *a, cfg_node *map, cfg_node *key, cfg_node *value);
int cfg_seq_append(cfg_arena *a, cfg_node *seq, cfg_node *item);
/* The pair whose key equals `key`, or NULL (also NULL when `map` is not a map). */
cfg_pair *cfg_map_find(const cfg_node *map, const char *key);
/* The value for `key`, or NULL. */
cfg_node *cfg_map_get(const cfg_node *map, const char *key);
/* Deep copy (into the same or another arena); NULL when the arena is exhausted. */
cfg_node *cfg_node_copy(cfg_arena *a, const cfg_node *n);
/* Number of nodes in a subtree (used to bound alias expansion). */
size_t cfg_node_count(const cfg_node *n);
/* "map", "sequence", "null", "scalar": for error messages. */
const char *cfg_node_kind_name(cfg_node_kind kind);

/* Deep merge as the Collector merges several --config sources: maps merge key by key (the later value wins,
 * recursively), everything else — scalars, sequences, null — is replaced by the later value. `dst` is updated in
 * place and nodes of `src` are linked into it (both must be in the same arena). Returns 0 or -1 (arena). */
int cfg_node_merge(cfg_arena *a, cfg_node *dst, cfg_node *src);

#endif
