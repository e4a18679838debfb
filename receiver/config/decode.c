/* decode.c — the generic decoder: a cfg_node map into a component's config struct, driven by its cfg_schema.
 *
 * Defaults first (parsed from their config-syntax strings by the same code that parses user values, so a default
 * can never be something a user could not write), then the user's keys overlay them. Every mistake is reported
 * with the node's position and the key path, and decoding goes on so that one run shows all mistakes. */
#include "receiver/config/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "receiver/config/scalar.h"

void cfg_ctx_init(cfg_ctx *ctx, cfg_diags *diags) {
  memset(ctx, 0, sizeof *ctx);
  ctx->diags = diags;
}

void cfg_ctx_free(cfg_ctx *ctx) {
  for (size_t i = 0; i < ctx->nrefs; i++) {
    free(ctx->refs[i].id);
    free(ctx->refs[i].path);
  }
  free(ctx->refs);
  ctx->refs = NULL;
  ctx->nrefs = ctx->caprefs = 0;
}

static void vreport(cfg_ctx *ctx, cfg_severity sev, const cfg_node *at, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void vreport(cfg_ctx *ctx, cfg_severity sev, const cfg_node *at, const char *fmt, va_list ap) {
  char msg[768];
  vsnprintf(msg, sizeof msg, fmt, ap);
  cfg_diag_add(ctx->diags, sev, at, ctx->path.buf, "%s", msg);
}

void cfg_error(cfg_ctx *ctx, const cfg_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, CFG_ERROR, at, fmt, ap);
  va_end(ap);
}

void cfg_warn(cfg_ctx *ctx, const cfg_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, CFG_WARNING, at, fmt, ap);
  va_end(ap);
}

void cfg_error_key(cfg_ctx *ctx, const cfg_node *map, const char *key, const char *fmt, ...) {
  const cfg_node *at = cfg_map_get(map, key);
  size_t mark = cfg_path_push_key(&ctx->path, key);
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, CFG_ERROR, at ? at : map, fmt, ap);
  va_end(ap);
  cfg_path_pop(&ctx->path, mark);
}

const cfg_field *cfg_schema_field(const cfg_schema *s, const char *key) {
  for (const cfg_field *f = s->fields; f && f->key; f++)
    if (!strcmp(f->key, key)) return f;
  return NULL;
}

const char *cfg_suggest(const char *word, const char *const *candidates, size_t n) {
  size_t len = strlen(word);
  size_t max = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  const char *best = NULL;
  size_t best_d = max + 1;
  for (size_t i = 0; i < n; i++) {
    size_t d = cfg_edit_distance(word, candidates[i], max);
    if (d < best_d) best_d = d, best = candidates[i];
  }
  return best;
}

static void *at_offset(void *obj, size_t off) { return (char *)obj + off; }

static void set_string(char **dst, const char *s) {
  free(*dst);
  *dst = s ? strdup(s) : NULL;
}

/* ---- scalars ---- */

/* Text of a value for an error message: quoted, shortened, or a neutral word for secrets. */
static const char *shown(const cfg_field *f, const cfg_node *n, char *buf, size_t size) {
  if (f && (f->flags & CFG_SECRET)) return "value";
  if (n->len > 64) snprintf(buf, size, "\"%.61s...\"", n->text);
  else snprintf(buf, size, "\"%s\"", n->text);
  return buf;
}

static bool check_bounds(cfg_ctx *ctx, const cfg_field *f, const cfg_node *n, double v, const char *unit) {
  if (!f->bounded || (v >= f->min && v <= f->max)) return true;
  char lo[40], hi[40];
  if (f->type == CFG_T_DURATION) {
    cfg_format_duration((int64_t)f->min, lo, sizeof lo);
    cfg_format_duration((int64_t)f->max, hi, sizeof hi);
  } else {
    cfg_format_double(f->min, lo, sizeof lo);
    cfg_format_double(f->max, hi, sizeof hi);
  }
  if (f->max >= 1e15) cfg_error(ctx, n, "must be at least %s%s", lo, unit);
  else cfg_error(ctx, n, "must be between %s and %s%s", lo, hi, unit);
  return false;
}

static bool expect_scalar(cfg_ctx *ctx, const cfg_field *f, const cfg_node *n, const char *what) {
  if (n->kind == CFG_NODE_SCALAR) return true;
  cfg_error(ctx, n, "expected %s, got a %s", what, cfg_node_kind_name(n->kind));
  (void)f;
  return false;
}

/* Parses scalar text `n` for a scalar field into `dst`; `user` false for defaults (errors there are bugs). */
static void decode_scalar(cfg_ctx *ctx, const cfg_field *f, void *dst, const cfg_node *n) {
  char buf[80];
  switch (f->type) {
  case CFG_T_STRING:
  case CFG_T_COMPONENT_REF:
    if (!expect_scalar(ctx, f, n, "a string")) return;
    set_string(dst, n->text);
    return;
  case CFG_T_INT:
  case CFG_T_BYTES:
  case CFG_T_MIB: {
    if (!expect_scalar(ctx, f, n, "an integer")) return;
    int64_t v;
    if (!cfg_parse_int(n->text, &v)) {
      cfg_error(ctx, n, "%s is not an integer", shown(f, n, buf, sizeof buf));
      return;
    }
    if (!check_bounds(ctx, f, n, (double)v, f->type == CFG_T_MIB ? " MiB" : "")) return;
    if (f->type == CFG_T_MIB) {
      if (v > (INT64_MAX >> 20) || v < -(INT64_MAX >> 20)) {
        cfg_error(ctx, n, "%s MiB is too large", shown(f, n, buf, sizeof buf));
        return;
      }
      v *= (int64_t)1 << 20;
    }
    *(int64_t *)dst = v;
    return;
  }
  case CFG_T_BOOL: {
    if (!expect_scalar(ctx, f, n, "a boolean")) return;
    bool v;
    if (!cfg_parse_bool(n->text, &v)) {
      cfg_error(ctx, n, "%s is not a boolean (true or false)", shown(f, n, buf, sizeof buf));
      return;
    }
    *(bool *)dst = v;
    return;
  }
  case CFG_T_DOUBLE: {
    if (!expect_scalar(ctx, f, n, "a number")) return;
    double v;
    if (!cfg_parse_double(n->text, &v)) {
      cfg_error(ctx, n, "%s is not a number", shown(f, n, buf, sizeof buf));
      return;
    }
    if (!check_bounds(ctx, f, n, v, "")) return;
    *(double *)dst = v;
    return;
  }
  case CFG_T_DURATION: {
    if (!expect_scalar(ctx, f, n, "a duration")) return;
    int64_t v, dummy;
    if (!cfg_parse_duration(n->text, &v)) {
      if (cfg_parse_int(n->text, &dummy))
        cfg_error(ctx, n, "%s is not a duration (missing unit: write e.g. \"%ss\" or \"%sms\")",
                  shown(f, n, buf, sizeof buf), n->text, n->text);
      else
        cfg_error(ctx, n, "%s is not a duration", shown(f, n, buf, sizeof buf));
      return;
    }
    if (!check_bounds(ctx, f, n, (double)v, "")) return;
    *(int64_t *)dst = v;
    return;
  }
  case CFG_T_ENUM: {
    if (!expect_scalar(ctx, f, n, "a string")) return;
    size_t count = 0;
    for (const char *const *e = f->enums; *e; e++, count++)
      if (!strcasecmp(*e, n->text)) {
        *(int *)dst = (int)count;
        return;
      }
    char list[256];
    size_t off = 0;
    list[0] = '\0';
    for (const char *const *e = f->enums; *e && off < sizeof list; e++)
      off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", e == f->enums ? "" : ", ", **e ? *e : "\"\"");
    const char *hint = cfg_suggest(n->text, f->enums, count);
    if (hint && *hint)
      cfg_error(ctx, n, "%s is not one of %s (did you mean \"%s\"?)", shown(f, n, buf, sizeof buf), list, hint);
    else
      cfg_error(ctx, n, "%s is not one of %s", shown(f, n, buf, sizeof buf), list);
    return;
  }
  default:
    return;
  }
}

static bool valid_ref_id(const char *s) {
  /* type[/name]: type starts with a letter, then letters, digits, '_'; name non-empty without spaces. */
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return false;
  const char *p = s;
  while (*p && *p != '/') {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return false;
    p++;
  }
  if (*p == '/') {
    if (!p[1]) return false;
    for (p++; *p; p++)
      if ((unsigned char)*p <= ' ' || *p == 0x7f) return false;
  }
  return true;
}

static void add_ref(cfg_ctx *ctx, const char *id, unsigned caps, const cfg_node *at) {
  if (ctx->nrefs == ctx->caprefs) {
    size_t ncap = ctx->caprefs ? ctx->caprefs * 2 : 8;
    cfg_ref *nv = realloc(ctx->refs, ncap * sizeof *nv);
    if (!nv) return;
    ctx->refs = nv;
    ctx->caprefs = ncap;
  }
  cfg_ref *r = &ctx->refs[ctx->nrefs];
  r->id = strdup(id);
  r->path = strdup(ctx->path.buf);
  r->caps = caps;
  r->at = at;
  if (!r->id || !r->path) {
    free(r->id);
    free(r->path);
    return;
  }
  ctx->nrefs++;
}

/* ---- defaults ---- */

static void default_field(const cfg_field *f, void *obj) {
  void *dst = at_offset(obj, f->offset);
  if (f->flags & CFG_NO_EFFECT) return;
  switch (f->type) {
  case CFG_T_SECTION:
    if (!(f->flags & CFG_OPTIONAL)) cfg_defaults(f->sub, dst);
    return;
  case CFG_T_STRING_LIST:
  case CFG_T_STRING_MAP:
  case CFG_T_SECTION_LIST:
  case CFG_T_VALUE:
  case CFG_T_RAW:
    return;
  default:
    break;
  }
  if (!f->def) return;
  cfg_node n = {.kind = CFG_NODE_SCALAR, .text = (char *)f->def, .len = strlen(f->def), .file = "<default>"};
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_ctx ctx;
  cfg_ctx_init(&ctx, &d);
  decode_scalar(&ctx, f, dst, &n);
  if (d.errors) { /* a schema bug: unit tests decode every schema's defaults */
    fprintf(stderr, "otelc: bad default for %s: %s\n", f->key, cfg_diags_first_error(&d));
    abort();
  }
  cfg_diags_free(&d);
}

void cfg_defaults(const cfg_schema *s, void *obj) {
  for (const cfg_field *f = s->fields; f && f->key; f++) default_field(f, obj);
}

/* ---- decoding ---- */

static void decode_fields(const cfg_schema *s, void *obj, const cfg_node *node, cfg_ctx *ctx);

static void decode_field(cfg_ctx *ctx, const cfg_field *f, void *obj, const cfg_node *n) {
  if (f->flags & CFG_NO_EFFECT) {
    if (n->kind != CFG_NODE_NULL) cfg_warn(ctx, n, "has no effect in otelc (accepted for Collector compatibility)");
    return;
  }
  if (f->flags & CFG_DEPRECATED) cfg_warn(ctx, n, "is deprecated%s%s", f->doc ? ": " : "", f->doc ? f->doc : "");
  void *dst = at_offset(obj, f->offset);
  switch (f->type) {
  case CFG_T_STRING:
  case CFG_T_INT:
  case CFG_T_BYTES:
  case CFG_T_MIB:
  case CFG_T_BOOL:
  case CFG_T_DOUBLE:
  case CFG_T_DURATION:
  case CFG_T_ENUM:
    if (n->kind == CFG_NODE_NULL) return; /* `key:` with no value keeps the default, as mapstructure does */
    decode_scalar(ctx, f, dst, n);
    return;
  case CFG_T_COMPONENT_REF:
    if (n->kind == CFG_NODE_NULL) return;
    if (!expect_scalar(ctx, f, n, "a component id")) return;
    if (!valid_ref_id(n->text)) {
      cfg_error(ctx, n, "\"%s\" is not a component id (type[/name])", n->text);
      return;
    }
    set_string(dst, n->text);
    add_ref(ctx, n->text, f->ref_caps, n);
    return;
  case CFG_T_STRING_LIST: {
    if (n->kind == CFG_NODE_NULL) return;
    if (n->kind != CFG_NODE_SEQ) {
      cfg_error(ctx, n, "expected a list, got a %s", cfg_node_kind_name(n->kind));
      return;
    }
    cfg_strlist *l = dst;
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = calloc(n->n ? n->n : 1, sizeof *l->v);
    l->n = 0;
    if (!l->v) return;
    for (size_t i = 0; i < n->n; i++) {
      const cfg_node *it = n->items[i];
      if (it->kind == CFG_NODE_MAP || it->kind == CFG_NODE_SEQ) {
        size_t mark = cfg_path_push_index(&ctx->path, i);
        cfg_error(ctx, it, "expected a string, got a %s", cfg_node_kind_name(it->kind));
        cfg_path_pop(&ctx->path, mark);
        continue;
      }
      char *s = strdup(it->kind == CFG_NODE_NULL ? "" : it->text);
      if (s) l->v[l->n++] = s;
    }
    return;
  }
  case CFG_T_STRING_MAP: {
    if (n->kind == CFG_NODE_NULL) return;
    if (n->kind != CFG_NODE_MAP) {
      cfg_error(ctx, n, "expected a map, got a %s", cfg_node_kind_name(n->kind));
      return;
    }
    cfg_strmap *m = dst;
    for (size_t i = 0; i < m->n; i++) {
      free(m->v[i].key);
      free(m->v[i].value);
    }
    free(m->v);
    m->v = calloc(n->n ? n->n : 1, sizeof *m->v);
    m->n = 0;
    if (!m->v) return;
    for (size_t i = 0; i < n->n; i++) {
      const cfg_node *k = n->pairs[i].key, *v = n->pairs[i].value;
      if (v->kind == CFG_NODE_MAP || v->kind == CFG_NODE_SEQ) {
        size_t mark = cfg_path_push_key(&ctx->path, k->text);
        cfg_error(ctx, v, "expected a string, got a %s", cfg_node_kind_name(v->kind));
        cfg_path_pop(&ctx->path, mark);
        continue;
      }
      char *ks = strdup(k->text), *vs = strdup(v->kind == CFG_NODE_NULL ? "" : v->text);
      if (!ks || !vs) {
        free(ks);
        free(vs);
        continue;
      }
      m->v[m->n].key = ks;
      m->v[m->n].value = vs;
      m->n++;
    }
    return;
  }
  case CFG_T_SECTION:
    if (f->flags & CFG_OPTIONAL) {
      void **slot = dst;
      if (!*slot) {
        *slot = calloc(1, f->sub->size);
        if (!*slot) return;
        cfg_defaults(f->sub, *slot);
      }
      decode_fields(f->sub, *slot, n, ctx);
    } else {
      decode_fields(f->sub, dst, n, ctx);
    }
    return;
  case CFG_T_SECTION_LIST: {
    if (n->kind == CFG_NODE_NULL) return;
    if (n->kind != CFG_NODE_SEQ) {
      cfg_error(ctx, n, "expected a list, got a %s", cfg_node_kind_name(n->kind));
      return;
    }
    cfg_list *l = dst;
    for (size_t i = 0; i < l->n; i++) cfg_free(f->sub, (char *)l->v + i * f->sub->size);
    free(l->v);
    l->n = 0;
    l->v = calloc(n->n ? n->n : 1, f->sub->size);
    if (!l->v) return;
    for (size_t i = 0; i < n->n; i++) {
      void *item = (char *)l->v + i * f->sub->size;
      cfg_defaults(f->sub, item);
      l->n++;
      size_t mark = cfg_path_push_index(&ctx->path, i);
      decode_fields(f->sub, item, n->items[i], ctx);
      cfg_path_pop(&ctx->path, mark);
    }
    return;
  }
  case CFG_T_VALUE: {
    cfg_value *v = dst;
    free(v->str);
    memset(v, 0, sizeof *v);
    if (n->kind == CFG_NODE_NULL) return;
    if (!expect_scalar(ctx, f, n, "a value")) return;
    if (!(v->str = strdup(n->text))) return;
    v->kind = CFG_VALUE_STRING;
    if (n->quoted) return;
    if (!strcmp(n->text, "true") || !strcmp(n->text, "false")) {
      v->kind = CFG_VALUE_BOOL;
      v->b = n->text[0] == 't';
    } else if (cfg_parse_int(n->text, &v->i)) {
      v->kind = CFG_VALUE_INT;
    } else if (cfg_parse_double(n->text, &v->d)) {
      v->kind = CFG_VALUE_DOUBLE;
    }
    return;
  }
  case CFG_T_RAW:
    *(const cfg_node **)dst = n;
    return;
  }
}

static void decode_fields(const cfg_schema *s, void *obj, const cfg_node *node, cfg_ctx *ctx) {
  if (s->open) *(const cfg_node **)at_offset(obj, s->raw_offset) = node;
  if (node && node->kind != CFG_NODE_NULL && node->kind != CFG_NODE_MAP) {
    cfg_error(ctx, node, "expected a map, got a %s", cfg_node_kind_name(node->kind));
    return;
  }
  if (node && node->kind == CFG_NODE_MAP) {
    for (size_t i = 0; i < node->n; i++) {
      const cfg_node *k = node->pairs[i].key, *v = node->pairs[i].value;
      const cfg_field *f = cfg_schema_field(s, k->text);
      if (!f) {
        if (s->open) continue;
        const char *keys[128];
        size_t nkeys = 0;
        for (const cfg_field *g = s->fields; g && g->key && nkeys < 128; g++) keys[nkeys++] = g->key;
        const char *hint = cfg_suggest(k->text, keys, nkeys);
        if (hint) cfg_error(ctx, k, "unknown key \"%s\" (did you mean \"%s\"?)", k->text, hint);
        else cfg_error(ctx, k, "unknown key \"%s\"", k->text);
        continue;
      }
      size_t mark = cfg_path_push_key(&ctx->path, f->key);
      decode_field(ctx, f, obj, v);
      cfg_path_pop(&ctx->path, mark);
    }
  }
  /* Embedded sections the user did not write still get their checks (rules on defaults, derived values). */
  for (const cfg_field *f = s->fields; f && f->key; f++) {
    if (f->type != CFG_T_SECTION || (f->flags & (CFG_OPTIONAL | CFG_NO_EFFECT))) continue;
    const cfg_node *v = cfg_map_get(node, f->key);
    if (v) continue;
    size_t mark = cfg_path_push_key(&ctx->path, f->key);
    decode_fields(f->sub, at_offset(obj, f->offset), NULL, ctx);
    cfg_path_pop(&ctx->path, mark);
  }
  for (const cfg_field *f = s->fields; f && f->key; f++) {
    if (!(f->flags & CFG_REQUIRED)) continue;
    const cfg_node *v = cfg_map_get(node, f->key);
    bool missing = !v || v->kind == CFG_NODE_NULL;
    if (!missing && (f->type == CFG_T_STRING || f->type == CFG_T_COMPONENT_REF) && v->kind == CFG_NODE_SCALAR &&
        v->len == 0)
      missing = true;
    if (!missing && f->type == CFG_T_SECTION_LIST && v->kind == CFG_NODE_SEQ && v->n == 0) missing = true;
    if (missing) {
      if (v) cfg_error_key(ctx, node, f->key, "must not be empty");
      else cfg_error(ctx, node, "missing required key \"%s\"", f->key);
    }
  }
  if (s->check) s->check(obj, node, ctx);
}

size_t cfg_decode(const cfg_schema *s, void *obj, const cfg_node *node, cfg_ctx *ctx) {
  size_t before = ctx->diags ? ctx->diags->errors : 0;
  cfg_defaults(s, obj);
  decode_fields(s, obj, node, ctx);
  return ctx->diags ? ctx->diags->errors - before : 0;
}

void cfg_free(const cfg_schema *s, void *obj) {
  if (!obj) return;
  if (s->free_extra) s->free_extra(obj);
  for (const cfg_field *f = s->fields; f && f->key; f++) {
    if (f->flags & CFG_NO_EFFECT) continue;
    void *dst = at_offset(obj, f->offset);
    switch (f->type) {
    case CFG_T_STRING:
    case CFG_T_COMPONENT_REF:
      free(*(char **)dst);
      *(char **)dst = NULL;
      break;
    case CFG_T_STRING_LIST: {
      cfg_strlist *l = dst;
      for (size_t i = 0; i < l->n; i++) free(l->v[i]);
      free(l->v);
      l->v = NULL;
      l->n = 0;
      break;
    }
    case CFG_T_STRING_MAP: {
      cfg_strmap *m = dst;
      for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
      }
      free(m->v);
      m->v = NULL;
      m->n = 0;
      break;
    }
    case CFG_T_SECTION:
      if (f->flags & CFG_OPTIONAL) {
        void **slot = dst;
        cfg_free(f->sub, *slot);
        free(*slot);
        *slot = NULL;
      } else {
        cfg_free(f->sub, dst);
      }
      break;
    case CFG_T_SECTION_LIST: {
      cfg_list *l = dst;
      for (size_t i = 0; i < l->n; i++) cfg_free(f->sub, (char *)l->v + i * f->sub->size);
      free(l->v);
      l->v = NULL;
      l->n = 0;
      break;
    }
    case CFG_T_VALUE: {
      cfg_value *v = dst;
      free(v->str);
      memset(v, 0, sizeof *v);
      break;
    }
    default:
      break;
    }
  }
}
