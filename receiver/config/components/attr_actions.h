/* attr_actions.h — configuration of the `resource` and `attributes` processors (Collector keys).
 *
 * Both take a list of actions on attributes (resource attributes, or data point attributes):
 *   - key: service.instance.id         # the attribute acted on
 *     action: insert|update|upsert|delete|hash|extract|convert
 *     value: "x"                       # insert/update/upsert: one of value, from_attribute, from_context
 *     from_attribute: k8s.pod.name
 *     pattern: ^(?P<name>.*)$          # extract (named groups), delete/hash (keys matching)
 *     converted_type: int|double|string  # convert
 * `attributes` also takes include/exclude filters on metric names, attributes, resources and libraries. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_ATTR_ACTIONS_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_ATTR_ACTIONS_H

#include "receiver/config/schema.h"

enum {
  ATTR_ACTION_UNSET = 0,
  ATTR_ACTION_INSERT,
  ATTR_ACTION_UPDATE,
  ATTR_ACTION_UPSERT,
  ATTR_ACTION_DELETE,
  ATTR_ACTION_HASH,
  ATTR_ACTION_EXTRACT,
  ATTR_ACTION_CONVERT,
};
extern const char *const attr_action_names[];

enum { CONVERT_UNSET = 0, CONVERT_INT, CONVERT_DOUBLE, CONVERT_STRING };

typedef struct attr_action_config {
  char *key;
  cfg_value value;      /* typed as written: "x" string, 5 int, 1.5 double, true bool */
  char *from_attribute;
  char *from_context;   /* client metadata key ("metadata.x-tenant") */
  char *pattern;
  int action;           /* ATTR_ACTION_* */
  int converted_type;   /* CONVERT_* */
} attr_action_config;

enum { MATCH_UNSET = 0, MATCH_STRICT, MATCH_REGEXP, MATCH_EXPR };
extern const char *const match_type_names[];

typedef struct match_kv_config {
  char *key;
  cfg_value value; /* NONE: any value */
} match_kv_config;

typedef struct match_library_config {
  char *name, *version;
} match_library_config;

/* include/exclude of the attributes processor (the metric-relevant part of the Collector's MatchProperties). */
typedef struct attr_match_config {
  int match_type;          /* MATCH_STRICT or MATCH_REGEXP (required) */
  cfg_strlist metric_names;
  cfg_list attributes;     /* match_kv_config: data point attributes */
  cfg_list resources;      /* match_kv_config: resource attributes */
  cfg_list libraries;      /* match_library_config: instrumentation scopes */
} attr_match_config;

typedef struct resource_processor_config {
  cfg_list attributes; /* attr_action_config, at least one */
} resource_processor_config;

typedef struct attributes_processor_config {
  cfg_list actions;           /* attr_action_config, at least one */
  attr_match_config *include; /* NULL: everything */
  attr_match_config *exclude; /* NULL: nothing */
} attributes_processor_config;

extern const cfg_schema resource_processor_schema;
extern const cfg_schema attributes_processor_schema;
extern const cfg_schema match_kv_schema; /* shared with the filter processor */

#endif
