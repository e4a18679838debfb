/* envsubst.c — ${env:...}, ${file:...} and $$ in configuration values (see envsubst.h). */
#include "receiver/config/envsubst.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "receiver/config/yaml_load.h"

#define SUBST_MAX_VALUE ((size_t)1 << 20) /* largest expanded scalar and largest ${file:} */

typedef struct subst {
  cfg_arena *a;
  cfg_getenv_fn getenv_fn;
  void *ud;
  cfg_diags *diags;
  cfg_path path;
} subst;

typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool overflow;
} sbuf;

static void sbuf_add(sbuf *b, const char *s, size_t n) {
  if (b->overflow) return;
  if (b->len + n + 1 > SUBST_MAX_VALUE) {
    b->overflow = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np) {
      b->overflow = true;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static bool valid_env_name(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

/* Reads a ${file:} reference; returns malloc'd content or NULL after an error. */
static char *read_ref_file(subst *S, const cfg_node *at, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > SUBST_MAX_VALUE) {
    const char *why = !f ? strerror(errno) : "not a regular file or larger than 1 MiB";
    cfg_diag_add(S->diags, CFG_ERROR, at, S->path.buf, "cannot read ${file:%s}: %s", path, why);
    if (f) fclose(f);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  char *buf = malloc(size + 1);
  if (!buf || fread(buf, 1, size, f) != size) {
    cfg_diag_add(S->diags, CFG_ERROR, at, S->path.buf, "cannot read ${file:%s}: short read", path);
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  while (size > 0 && (buf[size - 1] == '\n' || buf[size - 1] == '\r')) size--;
  buf[size] = '\0';
  *len = size;
  return buf;
}

/* Resolves the inside of one ${...} into `out`. Returns false after reporting an error. */
static bool resolve(subst *S, const cfg_node *at, const char *ref, size_t n, sbuf *out) {
  char tmp[1024];
  if (n >= sizeof tmp) {
    cfg_diag_add(S->diags, CFG_ERROR, at, S->path.buf, "reference ${...} longer than %zu bytes", sizeof tmp - 1);
    return false;
  }
  memcpy(tmp, ref, n);
  tmp[n] = '\0';
  const char *scheme = "env", *rest = tmp;
  char *colon = strchr(tmp, ':');
  /* "${NAME:-x}" has no scheme: a colon directly followed by '-' belongs to the default syntax. */
  if (colon && colon[1] != '-') {
    *colon = '\0';
    scheme = tmp;
    rest = colon + 1;
  }
  if (!strcmp(scheme, "env")) {
    const char *dflt = NULL;
    size_t name_len = strlen(rest);
    const char *sep = strstr(rest, ":-");
    if (sep) {
      name_len = (size_t)(sep - rest);
      dflt = sep + 2;
    }
    if (!valid_env_name(rest, name_len)) {
      cfg_diag_add(S->diags, CFG_ERROR, at, S->path.buf, "invalid environment variable name \"%.*s\" in ${...}",
                   (int)(name_len > 64 ? 64 : name_len), rest);
      return false;
    }
    char name[256];
    if (name_len >= sizeof name) name_len = sizeof name - 1;
    memcpy(name, rest, name_len);
    name[name_len] = '\0';
    const char *v = S->getenv_fn(name, S->ud);
    if ((!v || !*v) && dflt) v = dflt;
    if (!v) {
      cfg_diag_add(S->diags, CFG_WARNING, at, S->path.buf,
                   "environment variable \"%s\" is not set; using an empty value", name);
      v = "";
    }
    sbuf_add(out, v, strlen(v));
    return true;
  }
  if (!strcmp(scheme, "file")) {
    size_t len;
    char *content = read_ref_file(S, at, rest, &len);
    if (!content) return false;
    sbuf_add(out, content, len);
    free(content);
    return true;
  }
  cfg_diag_add(S->diags, CFG_ERROR, at, S->path.buf,
               "unsupported reference scheme \"%s\" in ${%s:...} (otelc supports env and file)", scheme, scheme);
  return false;
}

static void subst_scalar(subst *S, cfg_node *n) {
  const char *s = n->text;
  if (!memchr(s, '$', n->len)) return;
  sbuf out = {0};
  size_t refs = 0;
  bool other_text = false, ok = true;
  for (size_t i = 0; i < n->len;) {
    if (s[i] != '$') {
      size_t j = i;
      while (j < n->len && s[j] != '$') j++;
      sbuf_add(&out, s + i, j - i);
      other_text = true;
      i = j;
      continue;
    }
    if (i + 1 < n->len && s[i + 1] == '$') {
      sbuf_add(&out, "$", 1);
      other_text = true;
      i += 2;
      continue;
    }
    if (i + 1 < n->len && s[i + 1] == '{') {
      const char *close = memchr(s + i + 2, '}', n->len - i - 2);
      if (!close) {
        cfg_diag_add(S->diags, CFG_ERROR, n, S->path.buf, "unterminated \"${\" (write \"$${\" for a literal)");
        ok = false;
        break;
      }
      size_t inner = (size_t)(close - (s + i + 2));
      if (!resolve(S, n, s + i + 2, inner, &out)) ok = false;
      refs++;
      i = (size_t)(close - s) + 1;
      continue;
    }
    sbuf_add(&out, "$", 1); /* a lone '$' stays */
    other_text = true;
    i++;
  }
  if (out.overflow) {
    cfg_diag_add(S->diags, CFG_ERROR, n, S->path.buf, "value longer than %zu bytes after expansion", SUBST_MAX_VALUE);
    ok = false;
  }
  if (!ok) {
    free(out.p);
    return;
  }
  const char *text = out.p ? out.p : "";
  if (refs == 1 && !other_text && !n->quoted) {
    /* The whole value is one reference: read it as YAML, as the Collector does. */
    cfg_diags quiet;
    cfg_diags_init(&quiet);
    cfg_node *v = cfg_yaml_parse(S->a, n->file, text, out.len, &quiet);
    cfg_diags_free(&quiet);
    if (v && (v->kind == CFG_NODE_MAP || v->kind == CFG_NODE_SEQ || v->kind == CFG_NODE_NULL ||
              (v->kind == CFG_NODE_SCALAR && !v->quoted))) {
      const char *file = n->file;
      uint32_t line = n->line, col = n->col;
      if (v->kind == CFG_NODE_SCALAR) { /* keep the text as written (no YAML unescaping of plain scalars) */
        v->text = cfg_arena_strndup(S->a, text, out.len);
        v->len = out.len;
        if (!v->text) v = NULL;
      }
      if (v) {
        *n = *v;
        n->file = file;
        n->line = line;
        n->col = col;
        free(out.p);
        return;
      }
    }
  }
  char *copy = cfg_arena_strndup(S->a, text, out.len);
  if (copy) {
    n->text = copy;
    n->len = out.len;
    n->kind = CFG_NODE_SCALAR;
    n->quoted = true; /* spliced text is a string */
  }
  free(out.p);
}

static void walk(subst *S, cfg_node *n) {
  switch (n->kind) {
  case CFG_NODE_SCALAR: subst_scalar(S, n); break;
  case CFG_NODE_MAP:
    for (size_t i = 0; i < n->n; i++) {
      size_t mark = cfg_path_push_key(&S->path, n->pairs[i].key->text);
      walk(S, n->pairs[i].value);
      cfg_path_pop(&S->path, mark);
    }
    break;
  case CFG_NODE_SEQ:
    for (size_t i = 0; i < n->n; i++) {
      size_t mark = cfg_path_push_index(&S->path, i);
      walk(S, n->items[i]);
      cfg_path_pop(&S->path, mark);
    }
    break;
  case CFG_NODE_NULL: break;
  }
}

static const char *default_getenv(const char *name, void *ud) {
  (void)ud;
  return getenv(name);
}

void cfg_envsubst(cfg_arena *a, cfg_node *root, cfg_getenv_fn getenv_fn, void *ud, cfg_diags *diags) {
  subst S = {.a = a, .getenv_fn = getenv_fn ? getenv_fn : default_getenv, .ud = ud, .diags = diags};
  walk(&S, root);
}
