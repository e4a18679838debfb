/* routes.h — http.route templates for the preload shim: OTELC_HTTP_ROUTES (e.g. "/users/{id}") compiled once
 * in the constructor, and matched against request targets without allocating.
 *
 * A template is a path of '/'-separated segments. A segment "{name}" matches exactly one non-empty segment; a
 * last segment "*" matches the rest of the path (zero or more segments); any other segment matches itself
 * byte for byte. The request target's query ("?...") and fragment are ignored, and an absolute-form target
 * ("http://host/path") is reduced to its path. The first template that matches wins; the attribute value is
 * the template as written. Raw paths are never reported: a target that matches nothing has no http.route. */
#ifndef OTELC_AUTOINSTR_ROUTES_H
#define OTELC_AUTOINSTR_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#define PRELOAD_MAX_ROUTES 64
#define PRELOAD_ROUTES_TEXT 4096

typedef struct preload_routes {
  size_t n;
  const char *tmpl[PRELOAD_MAX_ROUTES]; /* NUL-terminated templates, pointing into text */
  char text[PRELOAD_ROUTES_TEXT];
} preload_routes;

/* Compiles a comma-separated list of templates into r (spaces around items are trimmed, empty items skipped).
 * Items that do not start with '/' or that do not fit (more than PRELOAD_MAX_ROUTES, or longer than the text
 * area in total) are skipped and counted in the return value: 0 means every item was kept. spec may be NULL. */
int preload_routes_compile(preload_routes *r, const char *spec);

/* Index of the first template matching the request target (target_len bytes, not NUL-terminated), or -1. */
int preload_routes_match(const preload_routes *r, const char *target, size_t target_len);

#endif
