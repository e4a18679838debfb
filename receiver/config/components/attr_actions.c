/* attr_actions.c — config schemas of the `resource` and `attributes` processors (see attr_actions.h). */
#include "receiver/config/components/attr_actions.h"

#include "receiver/config/components/common.h"

#include <stddef.h>

const char *const attr_action_names[] = {"", "insert", "update", "upsert", "delete", "hash", "extract", "convert",
                                         NULL};
const char *const match_type_names[] = {"", "strict", "regexp", "expr", NULL};
static const char *const convert_names[] = {"", "int", "double", "string", NULL};

static bool set(const char *s) { return s && *s; }

/* The rules of the Collector's attraction package, with messages that say what to write. */
static void check_action(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  attr_action_config *a = obj;
  if (a->action == ATTR_ACTION_UNSET) {
    cfg_error(ctx, node, "missing required key \"action\" (insert, update, upsert, delete, hash, extract or convert)");
    return;
  }
  int sources = (a->value.kind != CFG_VALUE_NONE) + set(a->from_attribute) + set(a->from_context);
  switch (a->action) {
  case ATTR_ACTION_INSERT:
  case ATTR_ACTION_UPDATE:
  case ATTR_ACTION_UPSERT:
    if (!set(a->key)) cfg_error(ctx, node, "missing required key \"key\"");
    if (sources == 0)
      cfg_error(ctx, node, "action %s needs one of \"value\", \"from_attribute\" or \"from_context\"",
                attr_action_names[a->action]);
    else if (sources > 1)
      cfg_error(ctx, node, "set only one of \"value\", \"from_attribute\" and \"from_context\"");
    if (set(a->pattern)) cfg_error_key(ctx, node, "pattern", "is only used by extract, delete and hash");
    break;
  case ATTR_ACTION_DELETE:
  case ATTR_ACTION_HASH:
    if (!set(a->key) && !set(a->pattern)) cfg_error(ctx, node, "action %s needs \"key\" or \"pattern\"",
                                                    attr_action_names[a->action]);
    if (sources) cfg_error(ctx, node, "action %s takes no value, from_attribute or from_context",
                           attr_action_names[a->action]);
    if (set(a->pattern)) check_regexp(a->pattern, node, "pattern", -1, false, ctx);
    break;
  case ATTR_ACTION_EXTRACT:
    if (!set(a->key)) cfg_error(ctx, node, "missing required key \"key\"");
    if (!set(a->pattern)) cfg_error(ctx, node, "action extract needs \"pattern\" (a regexp with named groups)");
    else check_regexp(a->pattern, node, "pattern", -1, true, ctx);
    if (sources) cfg_error(ctx, node, "action extract takes no value, from_attribute or from_context");
    break;
  case ATTR_ACTION_CONVERT:
    if (!set(a->key)) cfg_error(ctx, node, "missing required key \"key\"");
    if (a->converted_type == CONVERT_UNSET)
      cfg_error(ctx, node, "action convert needs \"converted_type\" (int, double or string)");
    break;
  }
}

static const cfg_field action_fields[] = {
    CFG_FIELD(attr_action_config, key, "key", CFG_T_STRING),
    CFG_FIELD(attr_action_config, action, "action", CFG_T_ENUM, .enums = attr_action_names),
    CFG_FIELD(attr_action_config, value, "value", CFG_T_VALUE),
    CFG_FIELD(attr_action_config, from_attribute, "from_attribute", CFG_T_STRING),
    CFG_FIELD(attr_action_config, from_context, "from_context", CFG_T_STRING),
    CFG_FIELD(attr_action_config, pattern, "pattern", CFG_T_STRING),
    CFG_FIELD(attr_action_config, converted_type, "converted_type", CFG_T_ENUM, .enums = convert_names),
    {0}};
static const cfg_schema action_schema = {
    .name = "attribute action", .size = sizeof(attr_action_config), .fields = action_fields, .check = check_action};

static const cfg_field resource_fields[] = {
    CFG_FIELD(resource_processor_config, attributes, "attributes", CFG_T_SECTION_LIST, .flags = CFG_REQUIRED,
              .sub = &action_schema),
    {0}};
const cfg_schema resource_processor_schema = {
    .name = "resource processor", .size = sizeof(resource_processor_config), .fields = resource_fields};

static const cfg_field match_kv_fields[] = {
    CFG_FIELD(match_kv_config, key, "key", CFG_T_STRING, .flags = CFG_REQUIRED),
    CFG_FIELD(match_kv_config, value, "value", CFG_T_VALUE),
    {0}};
const cfg_schema match_kv_schema = {.name = "attribute match", .size = sizeof(match_kv_config), .fields = match_kv_fields};

static const cfg_field library_fields[] = {
    CFG_FIELD(match_library_config, name, "name", CFG_T_STRING, .flags = CFG_REQUIRED),
    CFG_FIELD(match_library_config, version, "version", CFG_T_STRING),
    {0}};
static const cfg_schema library_schema = {
    .name = "library match", .size = sizeof(match_library_config), .fields = library_fields};

static void check_match(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  attr_match_config *m = obj;
  if (m->match_type == MATCH_UNSET)
    cfg_error(ctx, node, "missing required key \"match_type\" (strict or regexp)");
  else if (m->match_type == MATCH_EXPR)
    cfg_error_key(ctx, node, "match_type", "match_type expr is not supported by otelc (use strict or regexp)");
  if (!m->metric_names.n && !m->attributes.n && !m->resources.n && !m->libraries.n)
    cfg_error(ctx, node, "needs at least one of metric_names, attributes, resources or libraries");
  if (m->match_type == MATCH_REGEXP)
    for (size_t i = 0; i < m->metric_names.n; i++)
      check_regexp(m->metric_names.v[i], node, "metric_names", (long)i, false, ctx);
}

static const cfg_field match_fields[] = {
    CFG_FIELD(attr_match_config, match_type, "match_type", CFG_T_ENUM, .enums = match_type_names),
    CFG_FIELD(attr_match_config, metric_names, "metric_names", CFG_T_STRING_LIST),
    CFG_FIELD(attr_match_config, attributes, "attributes", CFG_T_SECTION_LIST, .sub = &match_kv_schema),
    CFG_FIELD(attr_match_config, resources, "resources", CFG_T_SECTION_LIST, .sub = &match_kv_schema),
    CFG_FIELD(attr_match_config, libraries, "libraries", CFG_T_SECTION_LIST, .sub = &library_schema),
    CFG_IGNORED("regexp", CFG_T_RAW),
    {0}};
static const cfg_schema match_schema = {
    .name = "include/exclude", .size = sizeof(attr_match_config), .fields = match_fields, .check = check_match};

static const cfg_field attributes_fields[] = {
    CFG_FIELD(attributes_processor_config, actions, "actions", CFG_T_SECTION_LIST, .flags = CFG_REQUIRED,
              .sub = &action_schema),
    CFG_FIELD(attributes_processor_config, include, "include", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &match_schema),
    CFG_FIELD(attributes_processor_config, exclude, "exclude", CFG_T_SECTION, .flags = CFG_OPTIONAL,
              .sub = &match_schema),
    {0}};
const cfg_schema attributes_processor_schema = {
    .name = "attributes processor", .size = sizeof(attributes_processor_config), .fields = attributes_fields};
