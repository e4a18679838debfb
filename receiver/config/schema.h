/* schema.h — how a component declares its configuration, and the generic decoder that fills it.
 *
 * In the spirit of nginx directives, each component describes its config struct with a table of cfg_field:
 * key, type, offset into the struct, default (written in config syntax: "200ms", "8192", "true"), flags
 * (required, secret, optional section, deprecated, no effect), bounds and enum values. The decoder
 *   - applies the defaults, then overlays the YAML map: unknown keys are errors with a "did you mean" hint,
 *     wrong types and out-of-range values are errors naming file:line:col and the key path;
 *   - allocates strings, lists and optional sections (cfg_free releases them);
 *   - records references to extensions (auth.authenticator, sending_queue.storage) for service.c to resolve;
 *   - runs the schema's `check` hook for rules that span several keys ("spike_limit_mib < limit_mib").
 *
 * Example (batch processor):
 *   static const cfg_field batch_fields[] = {
 *     CFG_FIELD(batch_config, timeout, "timeout", CFG_T_DURATION, .def = "200ms", CFG_RANGE(0, 1e15)),
 *     CFG_FIELD(batch_config, send_batch_size, "send_batch_size", CFG_T_INT, .def = "8192", CFG_RANGE(0, 1e9)),
 *     {0}};
 *   const cfg_schema batch_schema = {.name = "batch", .size = sizeof(batch_config), .fields = batch_fields}; */
#ifndef OTELC_RECEIVER_CONFIG_SCHEMA_H
#define OTELC_RECEIVER_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "receiver/config/diag.h"
#include "receiver/config/node.h"

typedef enum cfg_type {
  CFG_T_STRING,        /* char * (NULL when unset without default) */
  CFG_T_INT,           /* int64_t */
  CFG_T_BOOL,          /* bool */
  CFG_T_DOUBLE,        /* double */
  CFG_T_DURATION,      /* int64_t nanoseconds; Go syntax "5s", "200ms", "1m30s" */
  CFG_T_BYTES,         /* int64_t bytes, written as an integer number of bytes */
  CFG_T_MIB,           /* int64_t bytes, written as an integer number of MiB (keys ending in _mib) */
  CFG_T_ENUM,          /* int: index into `enums` (matched case-insensitively) */
  CFG_T_STRING_LIST,   /* cfg_strlist */
  CFG_T_STRING_MAP,    /* cfg_strmap */
  CFG_T_SECTION,       /* struct described by `sub`: embedded, or with CFG_OPTIONAL a pointer (NULL when absent) */
  CFG_T_SECTION_LIST,  /* cfg_list of `sub` structs */
  CFG_T_VALUE,         /* cfg_value: any scalar, typed as YAML types it (resource attribute values) */
  CFG_T_RAW,           /* const cfg_node *: the subtree as is (opaque sections owned by a component) */
  CFG_T_COMPONENT_REF, /* char *: "type[/name]" of an extension with the capabilities `ref_caps` */
} cfg_type;

/* Field flags. */
#define CFG_REQUIRED 0x01   /* must be present (strings: and non-empty) */
#define CFG_SECRET 0x02     /* never printed nor echoed in errors (strings, string maps: the values) */
#define CFG_OPTIONAL 0x04   /* sections: stored as a pointer, NULL when the key is absent (presence matters) */
#define CFG_DEPRECATED 0x08 /* accepted with a warning; `doc` says what to use instead */
#define CFG_NO_EFFECT 0x10  /* a Collector key that otelc accepts and ignores (warning when set) */

typedef struct cfg_schema cfg_schema;

typedef struct cfg_field {
  const char *key;
  cfg_type type;
  unsigned flags;
  size_t offset;
  const char *def; /* default in config syntax; NULL: zero / NULL / empty */
  bool bounded;             /* min/max apply: numbers in config units (MiB for CFG_T_MIB, ns for durations) */
  double min, max;
  const char *const *enums; /* NULL-terminated, for CFG_T_ENUM */
  const cfg_schema *sub;    /* CFG_T_SECTION, CFG_T_SECTION_LIST */
  unsigned ref_caps;        /* CFG_T_COMPONENT_REF: COMPONENT_CAP_* the extension must have */
  const char *doc;          /* one line for docs and deprecation warnings */
} cfg_field;

#define CFG_FIELD(type_t, member, key_, cfgtype, ...) \
  { .key = (key_), .type = (cfgtype), .offset = offsetof(type_t, member), __VA_ARGS__ }
#define CFG_RANGE(lo, hi) .bounded = true, .min = (lo), .max = (hi)
/* A key accepted for Collector compatibility that does nothing here (not stored). */
#define CFG_IGNORED(key_, cfgtype, ...) { .key = (key_), .type = (cfgtype), .flags = CFG_NO_EFFECT, __VA_ARGS__ }

typedef struct cfg_ctx cfg_ctx;

struct cfg_schema {
  const char *name;
  size_t size;             /* sizeof the struct (list items, optional sections, component configs) */
  const cfg_field *fields; /* terminated by an entry with key == NULL */
  /* Open schemas accept any key: the whole map is kept at raw_offset (a const cfg_node *), known fields decoded. */
  bool open;
  size_t raw_offset;
  /* Rules across keys, after decoding. `node` is the section's map (may be NULL/null). Report with cfg_error*. */
  void (*check)(void *obj, const cfg_node *node, cfg_ctx *ctx);
  /* Frees what `check` derived (e.g. parsed filter conditions); may be NULL. */
  void (*free_extra)(void *obj);
};

typedef struct cfg_strlist {
  char **v;
  size_t n;
} cfg_strlist;

typedef struct cfg_kv {
  char *key;
  char *value;
} cfg_kv;

typedef struct cfg_strmap {
  cfg_kv *v;
  size_t n;
} cfg_strmap;

typedef struct cfg_list {
  void *v; /* n structs of the field's sub->size bytes */
  size_t n;
} cfg_list;

typedef enum cfg_value_kind {
  CFG_VALUE_NONE,
  CFG_VALUE_STRING,
  CFG_VALUE_INT,
  CFG_VALUE_DOUBLE,
  CFG_VALUE_BOOL,
} cfg_value_kind;

typedef struct cfg_value {
  cfg_value_kind kind;
  char *str; /* also set for every kind but NONE: the text as written */
  int64_t i;
  double d;
  bool b;
} cfg_value;

/* A reference to an extension met while decoding (auth.authenticator, sending_queue.storage). */
typedef struct cfg_ref {
  char *id;   /* "bearertokenauth/client" */
  unsigned caps;
  char *path; /* key path of the reference */
  const cfg_node *at;
} cfg_ref;

struct cfg_ctx {
  cfg_diags *diags;
  cfg_path path;
  cfg_ref *refs;
  size_t nrefs, caprefs;
};

void cfg_ctx_init(cfg_ctx *ctx, cfg_diags *diags);
void cfg_ctx_free(cfg_ctx *ctx);

/* Errors/warnings at `at`, under the current path (cfg_error_key: under path::key, at that key's value or `map`). */
void cfg_error(cfg_ctx *ctx, const cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_warn(cfg_ctx *ctx, const cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_error_key(cfg_ctx *ctx, const cfg_node *map, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets every field of `obj` (zeroed, schema->size bytes) to its default. */
void cfg_defaults(const cfg_schema *s, void *obj);
/* Defaults, then the values of `node` (a map, or NULL / null for "all defaults"). Reports into ctx; returns the
 * number of errors added. `obj` must be zeroed; call cfg_free afterwards even on errors. */
size_t cfg_decode(const cfg_schema *s, void *obj, const cfg_node *node, cfg_ctx *ctx);
/* Releases what the decoder allocated inside `obj` (not obj itself). */
void cfg_free(const cfg_schema *s, void *obj);
const cfg_field *cfg_schema_field(const cfg_schema *s, const char *key);

/* The closest of `n` candidates to `word` (small edit distance), or NULL: for "did you mean". */
const char *cfg_suggest(const char *word, const char *const *candidates, size_t n);

/* Emits `obj` as YAML under the schema, `indent` spaces deep; secrets print as "[REDACTED]". */
void cfg_emit(FILE *out, const cfg_schema *s, const void *obj, int indent);
/* Emits a raw subtree as YAML; values under keys that look secret (token, password, ...) are redacted. */
void cfg_emit_node(FILE *out, const cfg_node *n, int indent, bool redact);
/* Writes a scalar, quoted when YAML would read it differently. */
void cfg_emit_scalar(FILE *out, const char *s);

#endif
