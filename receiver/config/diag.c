/* diag.c — configuration diagnostics and key paths (see diag.h). */
#include "receiver/config/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cfg_diags_init(cfg_diags *d) { memset(d, 0, sizeof *d); }

void cfg_diags_free(cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++) free(d->v[i].msg);
  free(d->v);
  memset(d, 0, sizeof *d);
}

void cfg_diag_add(cfg_diags *d, cfg_severity sev, const cfg_node *at, const char *path, const char *fmt, ...) {
  if (!d) return;
  if (sev == CFG_ERROR) d->errors++;
  else d->warnings++;
  if (d->n >= CFG_DIAGS_MAX) {
    d->dropped++;
    return;
  }
  char text[1024];
  size_t off = 0;
  if (at && at->file) off += (size_t)snprintf(text, sizeof text, "%s:%u:%u: ", at->file, at->line, at->col);
  if (off < sizeof text && path && *path) off += (size_t)snprintf(text + off, sizeof text - off, "%s: ", path);
  if (off < sizeof text) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + off, sizeof text - off, fmt, ap);
    va_end(ap);
  }
  if (d->n == d->cap) {
    size_t ncap = d->cap ? d->cap * 2 : 8;
    cfg_diag *nv = realloc(d->v, ncap * sizeof *nv);
    if (!nv) {
      d->dropped++;
      return;
    }
    d->v = nv;
    d->cap = ncap;
  }
  char *msg = strdup(text);
  if (!msg) {
    d->dropped++;
    return;
  }
  d->v[d->n].severity = sev;
  d->v[d->n].msg = msg;
  d->n++;
}

void cfg_diags_print(const cfg_diags *d, FILE *out) {
  for (size_t i = 0; i < d->n; i++)
    fprintf(out, "%s: %s\n", d->v[i].severity == CFG_ERROR ? "error" : "warning", d->v[i].msg);
  if (d->dropped) fprintf(out, "(%zu more diagnostics not shown)\n", d->dropped);
}

const char *cfg_diags_first_error(const cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].severity == CFG_ERROR) return d->v[i].msg;
  return NULL;
}

bool cfg_diags_contains(const cfg_diags *d, cfg_severity sev, const char *needle) {
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].severity == sev && strstr(d->v[i].msg, needle)) return true;
  return false;
}

static size_t path_append(cfg_path *p, const char *s) {
  size_t old = p->len;
  size_t n = strlen(s);
  if (p->len + n + 1 > sizeof p->buf) {
    /* Truncate visibly; keep the buffer NUL-terminated. */
    const char *ell = "...";
    size_t room = sizeof p->buf - 1 - p->len;
    if (room >= 3) {
      memcpy(p->buf + p->len, ell, 3);
      p->len += 3;
    }
    p->buf[p->len] = '\0';
    return old;
  }
  memcpy(p->buf + p->len, s, n + 1);
  p->len += n;
  return old;
}

size_t cfg_path_push_key(cfg_path *p, const char *key) {
  size_t old = p->len;
  if (p->len) path_append(p, "::");
  path_append(p, key);
  return old;
}

size_t cfg_path_push_index(cfg_path *p, size_t index) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "[%zu]", index);
  return path_append(p, tmp);
}

void cfg_path_pop(cfg_path *p, size_t len) {
  p->len = len;
  p->buf[len] = '\0';
}

size_t cfg_edit_distance(const char *a, const char *b, size_t max) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return max + 1;
  if ((la > lb ? la - lb : lb - la) > max) return max + 1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0], best;
    row[0] = i;
    best = row[0];
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t sub = prev + (a[i - 1] != b[j - 1]);
      size_t del = row[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      if (row[j] < best) best = row[j];
      prev = cur;
    }
    if (best > max) return max + 1;
  }
  return row[lb] > max ? max + 1 : row[lb];
}
