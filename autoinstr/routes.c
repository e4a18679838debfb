/* routes.c — compiling and matching OTELC_HTTP_ROUTES templates (see routes.h). */
#include "autoinstr/routes.h"

#include "autoinstr/layout.h"

#include <string.h>

int preload_routes_compile(preload_routes *r, const char *spec) {
  memset(r, 0, sizeof *r);
  if (!spec) return 0;
  int skipped = 0;
  size_t used = 0;
  const char *p = spec;
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t n = (size_t)(e - b);
    if (n > 0) {
      if (*b != '/' || r->n >= PRELOAD_MAX_ROUTES || used + n + 1 > sizeof r->text) {
        skipped++;
      } else {
        memcpy(r->text + used, b, n);
        r->text[used + n] = 0;
        r->tmpl[r->n++] = r->text + used;
        used += n + 1;
      }
    }
    p = *end ? end + 1 : end;
  }
  return skipped;
}

/* The path part of a request target: absolute-form loses scheme and authority; query and fragment go. */
static void target_path(const char *t, size_t n, const char **path, size_t *path_len) {
  if (n > 0 && t[0] != '/') {
    const char *scheme_end = memchr(t, ':', n);
    if (scheme_end && (size_t)(scheme_end - t) + 3 <= n && scheme_end[1] == '/' && scheme_end[2] == '/') {
      const char *auth = scheme_end + 3;
      size_t rest = n - (size_t)(auth - t);
      const char *slash = memchr(auth, '/', rest);
      if (!slash) {
        *path = "/";
        *path_len = 1;
        return;
      }
      n -= (size_t)(slash - t);
      t = slash;
    }
  }
  size_t k = 0;
  while (k < n && t[k] != '?' && t[k] != '#') k++;
  *path = t;
  *path_len = k;
}

static bool match_one(const char *tmpl, const char *path, size_t n) {
  size_t pi = 0;
  const char *t = tmpl;
  for (;;) {
    if (*t == 0) return pi == n;
    /* both are at a segment start: the template at '/', the path must be too */
    if (*t != '/') return false;
    if (pi >= n || path[pi] != '/') return false;
    t++;
    pi++;
    const char *tseg_end = strchr(t, '/');
    size_t tlen = tseg_end ? (size_t)(tseg_end - t) : strlen(t);
    size_t pseg = pi;
    while (pseg < n && path[pseg] != '/') pseg++;
    size_t plen = pseg - pi;
    if (tlen == 1 && t[0] == '*' && !tseg_end) return true; /* the rest, whatever it is */
    if (tlen >= 2 && t[0] == '{' && t[tlen - 1] == '}') {
      if (plen == 0) return false;
    } else if (tlen != plen || memcmp(t, path + pi, tlen) != 0) {
      return false;
    }
    t += tlen;
    pi = pseg;
  }
}

PRELOAD_WARM int preload_routes_match(const preload_routes *r, const char *target, size_t target_len) {
  if (!r || r->n == 0) return -1;
  const char *path;
  size_t n;
  target_path(target, target_len, &path, &n);
  for (size_t i = 0; i < r->n; i++) {
    if (match_one(r->tmpl[i], path, n)) return (int)i;
  }
  return -1;
}
