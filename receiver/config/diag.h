/* diag.h — configuration errors and warnings, each naming file, line, column and the full key path.
 *
 * Loading never stops at the first mistake: every stage adds what it finds to one cfg_diags list, and the caller
 * prints them all. A message looks like
 *     config.yaml:12:7: exporters::otlp/backend::retry_on_failure::max_interval: "abc" is not a duration
 * Messages never contain the value of a secret field (tokens, header values, passwords). */
#ifndef OTELC_RECEIVER_CONFIG_DIAG_H
#define OTELC_RECEIVER_CONFIG_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "receiver/config/node.h"

typedef enum cfg_severity {
  CFG_ERROR,
  CFG_WARNING,
} cfg_severity;

typedef struct cfg_diag {
  cfg_severity severity;
  char *msg; /* complete line, without "error:"/"warning:" prefix and without newline */
} cfg_diag;

#define CFG_DIAGS_MAX 200 /* further diagnostics are counted in `dropped`, not stored */

typedef struct cfg_diags {
  cfg_diag *v;
  size_t n, cap;
  size_t errors, warnings, dropped;
} cfg_diags;

void cfg_diags_init(cfg_diags *d);
void cfg_diags_free(cfg_diags *d);
/* Adds one diagnostic. `at` (may be NULL) gives file:line:col, `path` (may be NULL or "") the key path. */
void cfg_diag_add(cfg_diags *d, cfg_severity sev, const cfg_node *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Prints every diagnostic as "error: ..." / "warning: ..." lines. */
void cfg_diags_print(const cfg_diags *d, FILE *out);
/* The first error message, or NULL (handy in tests). */
const char *cfg_diags_first_error(const cfg_diags *d);
/* True when some diagnostic of the given severity contains `needle` (tests). */
bool cfg_diags_contains(const cfg_diags *d, cfg_severity sev, const char *needle);

/* A key path under construction: "exporters::otlp/backend::tls::ca_file", "processors::resource::attributes[2]". */
typedef struct cfg_path {
  char buf[512];
  size_t len;
} cfg_path;

/* Each push returns the previous length, to be passed to cfg_path_pop. Too long paths are truncated with "...". */
size_t cfg_path_push_key(cfg_path *p, const char *key);
size_t cfg_path_push_index(cfg_path *p, size_t index);
void cfg_path_pop(cfg_path *p, size_t len);

/* Levenshtein distance with early exit: returns max+1 when the distance exceeds max. For "did you mean". */
size_t cfg_edit_distance(const char *a, const char *b, size_t max);

#endif
