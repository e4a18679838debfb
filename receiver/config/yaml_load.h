/* yaml_load.h — parses one YAML document (libyaml event API) into a cfg_node tree.
 *
 * Anchors and aliases are expanded by copying (bounded by the arena budget, so "billion laughs" fails cleanly),
 * `<<: *anchor` merge keys are applied as Go's yaml.v3 does, duplicate keys are errors (as in yaml.v3), nesting is
 * limited to CFG_YAML_MAX_DEPTH. A syntax error is reported once, with the line and column libyaml gives. */
#ifndef OTELC_RECEIVER_CONFIG_YAML_LOAD_H
#define OTELC_RECEIVER_CONFIG_YAML_LOAD_H

#include <stddef.h>

#include "receiver/config/diag.h"
#include "receiver/config/node.h"

#define CFG_YAML_MAX_DEPTH 64
#define CFG_YAML_MAX_BYTES ((size_t)8 << 20) /* largest config source accepted */

/* Parses `len` bytes named `name` (used in diagnostics; copied into the arena). An empty document yields a null
 * node. Returns the root, or NULL after adding an error to `diags`. */
cfg_node *cfg_yaml_parse(cfg_arena *a, const char *name, const char *buf, size_t len, cfg_diags *diags);

/* Reads and parses a file (at most CFG_YAML_MAX_BYTES). The node file name is `path` as given. */
cfg_node *cfg_yaml_parse_file(cfg_arena *a, const char *path, cfg_diags *diags);

/* Splits map keys containing "::" into nested maps, recursively ("a::b: 1" -> "a: {b: 1}"), merging with keys
 * already present. Used for `--config=yaml:...` and `--set`. Returns 0 or -1 (arena). */
int cfg_expand_colon_keys(cfg_arena *a, cfg_node *n);

#endif
