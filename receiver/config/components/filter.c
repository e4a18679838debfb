/* filter.c — config schema of the `filter` processor and its tiny OTTL subset (see filter.h). */
#include "receiver/config/components/filter.h"

#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/common.h"

static const char *const error_mode_names[] = {"propagate", "ignore", "silent", NULL};

/* ---- OTTL subset: name comparisons ---- */

static void skip_ws(const char **p) {
  while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

static bool eat(const char **p, const char *word) {
  size_t n = strlen(word);
  if (strncmp(*p, word, n)) return false;
  *p += n;
  return true;
}

static bool parse_name_path(const char **p) {
  skip_ws(p);
  const char *s = *p;
  if (eat(&s, "metric.name") || eat(&s, "name")) {
    char c = *s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
        c == '[')
      return false; /* name_x, name.foo, name["x"]: not the metric name */
    *p = s;
    return true;
  }
  return false;
}

/* An OTTL string literal "..." with \" and \\ escapes; returns malloc'd text. */
static char *parse_string(const char **p) {
  skip_ws(p);
  if (**p != '"') return NULL;
  const char *s = *p + 1;
  size_t cap = strlen(s) + 1;
  char *out = malloc(cap), *o = out;
  if (!out) return NULL;
  for (; *s && *s != '"'; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      switch (*s) {
      case 'n': *o++ = '\n'; break;
      case 't': *o++ = '\t'; break;
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      default: *o++ = '\\'; *o++ = *s; break; /* keep regexp escapes like \. as written */
      }
    } else {
      *o++ = *s;
    }
  }
  if (*s != '"') {
    free(out);
    return NULL;
  }
  *o = '\0';
  *p = s + 1;
  return out;
}

int filter_parse_condition(const char *cond, filter_name_rule *rule) {
  const char *p = cond;
  memset(rule, 0, sizeof *rule);
  skip_ws(&p);
  if (eat(&p, "IsMatch")) {
    skip_ws(&p);
    if (!eat(&p, "(") || !parse_name_path(&p)) return -1;
    skip_ws(&p);
    if (!eat(&p, ",")) return -1;
    char *re = parse_string(&p);
    if (!re) return -1;
    skip_ws(&p);
    if (!eat(&p, ")")) {
      free(re);
      return -1;
    }
    skip_ws(&p);
    if (*p) {
      free(re);
      return -1;
    }
    rule->regexp = true;
    rule->pattern = re;
    return 0;
  }
  char *lit = NULL;
  bool name_first = parse_name_path(&p);
  if (!name_first && !(lit = parse_string(&p))) return -1;
  skip_ws(&p);
  bool negate;
  if (eat(&p, "==")) negate = false;
  else if (eat(&p, "!=")) negate = true;
  else {
    free(lit);
    return -1;
  }
  if (name_first) lit = parse_string(&p);
  else if (!parse_name_path(&p)) {
    free(lit);
    return -1;
  }
  if (!lit) return -1;
  skip_ws(&p);
  if (*p) {
    free(lit);
    return -1;
  }
  rule->negate = negate;
  rule->pattern = lit;
  return 0;
}

/* ---- schema ---- */

static void check_filter_match(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  filter_match_config *m = obj;
  if (m->match_type == MATCH_UNSET)
    cfg_error(ctx, node, "missing required key \"match_type\" (strict or regexp)");
  else if (m->match_type == MATCH_EXPR)
    cfg_error_key(ctx, node, "match_type", "match_type expr is not supported by otelc (use strict or regexp)");
  else if (!m->metric_names.n && !m->resource_attributes.n)
    cfg_error(ctx, node, "needs metric_names or resource_attributes");
  if (m->match_type == MATCH_REGEXP)
    for (size_t i = 0; i < m->metric_names.n; i++)
      check_regexp(m->metric_names.v[i], node, "metric_names", (long)i, false, ctx);
}

static const cfg_field filter_match_fields[] = {
    CFG_FIELD(filter_match_config, match_type, "match_type", CFG_T_ENUM, .enums = match_type_names),
    CFG_FIELD(filter_match_config, metric_names, "metric_names", CFG_T_STRING_LIST),
    CFG_FIELD(filter_match_config, resource_attributes, "resource_attributes", CFG_T_SECTION_LIST,
              .sub = &match_kv_schema),
    CFG_IGNORED("regexp", CFG_T_RAW),
    {0}};
static const cfg_schema filter_match_schema = {.name = "include/exclude",
                                               .size = sizeof(filter_match_config),
                                               .fields = filter_match_fields,
                                               .check = check_filter_match};

static void free_metrics_extra(void *obj) {
  filter_metrics_config *m = obj;
  for (size_t i = 0; i < m->ndrop_rules; i++) free(m->drop_rules[i].pattern);
  free(m->drop_rules);
  m->drop_rules = NULL;
  m->ndrop_rules = 0;
}

static void check_metrics(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  filter_metrics_config *m = obj;
  free_metrics_extra(m);
  if ((m->metric.n || m->datapoint.n) && (m->include || m->exclude))
    cfg_error(ctx, node, "use either OTTL conditions (metric, datapoint) or include/exclude, not both");
  if (m->datapoint.n)
    cfg_error_key(ctx, node, "datapoint",
                  "OTTL data point conditions are not supported by otelc (only metric name conditions under "
                  "\"metric\")");
  if (!m->metric.n) return;
  m->drop_rules = calloc(m->metric.n, sizeof *m->drop_rules);
  if (!m->drop_rules) return;
  const cfg_node *list = cfg_map_get(node, "metric");
  for (size_t i = 0; i < m->metric.n; i++) {
    filter_name_rule r;
    if (filter_parse_condition(m->metric.v[i], &r) == 0) {
      m->drop_rules[m->ndrop_rules++] = r;
      if (r.regexp) check_regexp(r.pattern, node, "metric", (long)i, false, ctx);
      continue;
    }
    const cfg_node *at = list && list->kind == CFG_NODE_SEQ && i < list->n ? list->items[i] : node;
    size_t mark = cfg_path_push_key(&ctx->path, "metric");
    cfg_path_push_index(&ctx->path, i);
    cfg_error(ctx, at,
              "OTTL condition \"%.200s\" is not supported: otelc supports only metric name comparisons "
              "(name == \"x\", name != \"x\", IsMatch(name, \"regexp\"))",
              m->metric.v[i]);
    cfg_path_pop(&ctx->path, mark);
  }
}

static const cfg_field metrics_fields[] = {
    CFG_FIELD(filter_metrics_config, include, "include", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &filter_match_schema),
    CFG_FIELD(filter_metrics_config, exclude, "exclude", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &filter_match_schema),
    CFG_FIELD(filter_metrics_config, metric, "metric", CFG_T_STRING_LIST),
    CFG_FIELD(filter_metrics_config, datapoint, "datapoint", CFG_T_STRING_LIST),
    {0}};
static const cfg_schema metrics_schema = {.name = "metrics",
                                          .size = sizeof(filter_metrics_config),
                                          .fields = metrics_fields,
                                          .check = check_metrics,
                                          .free_extra = free_metrics_extra};

static const cfg_field filter_fields[] = {
    CFG_FIELD(filter_processor_config, error_mode, "error_mode", CFG_T_ENUM, .enums = error_mode_names,
              .def = "propagate"),
    CFG_FIELD(filter_processor_config, metrics, "metrics", CFG_T_SECTION, .sub = &metrics_schema),
    CFG_IGNORED("traces", CFG_T_RAW),
    CFG_IGNORED("spans", CFG_T_RAW),
    CFG_IGNORED("logs", CFG_T_RAW),
    {0}};

const cfg_schema filter_processor_schema = {
    .name = "filter processor", .size = sizeof(filter_processor_config), .fields = filter_fields};
