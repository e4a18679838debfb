/* filter.h — configuration of the `filter` processor, metrics part (Collector keys), in both of its forms:
 *
 *   metrics:                          # the classic form
 *     include: {match_type: strict|regexp, metric_names: [...], resource_attributes: [{key, value}]}
 *     exclude: {...}
 *   metrics:                          # the OTTL form: a metric is dropped when any condition is true
 *     metric:
 *       - 'name == "http.server.duration"'
 *       - 'IsMatch(name, "^rpc\\..*")'
 *
 * otelc has no OTTL engine: conditions are accepted only when they are simple comparisons of the metric name
 * (name == "x", name != "x", IsMatch(name, "re"); `metric.name` works too). Anything else is a clear config error.
 * The parsed conditions are in `drop_rules`. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_FILTER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_FILTER_H

#include "receiver/config/schema.h"

enum { FILTER_ERROR_PROPAGATE = 0, FILTER_ERROR_IGNORE, FILTER_ERROR_SILENT };

typedef struct filter_match_config {
  int match_type;              /* MATCH_STRICT or MATCH_REGEXP (attr_actions.h) */
  cfg_strlist metric_names;
  cfg_list resource_attributes; /* match_kv_config */
} filter_match_config;

typedef struct filter_name_rule {
  bool regexp;   /* false: exact name */
  bool negate;   /* `name != "x"`: true for every other name */
  char *pattern;
} filter_name_rule;

typedef struct filter_metrics_config {
  filter_match_config *include; /* keep only matching metrics */
  filter_match_config *exclude; /* drop matching metrics */
  cfg_strlist metric;           /* OTTL conditions as written */
  cfg_strlist datapoint;        /* OTTL data point conditions (rejected unless empty) */
  filter_name_rule *drop_rules; /* parsed `metric` conditions */
  size_t ndrop_rules;
} filter_metrics_config;

typedef struct filter_processor_config {
  int error_mode; /* FILTER_ERROR_* */
  filter_metrics_config metrics;
} filter_processor_config;

extern const cfg_schema filter_processor_schema;

/* Parses one OTTL condition; returns 0 and fills `rule` (pattern malloc'd) or -1 when it is not a simple name
 * comparison. Exposed for tests. */
int filter_parse_condition(const char *cond, filter_name_rule *rule);

#endif
