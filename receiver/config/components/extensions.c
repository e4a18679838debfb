/* extensions.c — config schemas of the health_check, bearertokenauth and file_storage extensions. */
#include "receiver/config/components/extensions.h"

#include <stddef.h>

static const cfg_field response_body_fields[] = {
    CFG_FIELD(health_check_config, response_healthy, "healthy", CFG_T_STRING),
    CFG_FIELD(health_check_config, response_unhealthy, "unhealthy", CFG_T_STRING),
    {0}};
static const cfg_schema response_body_schema = {
    .name = "response_body", .size = sizeof(health_check_config), .fields = response_body_fields};

static void check_health(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  health_check_config *c = obj;
  if (!c->endpoint || !*c->endpoint) cfg_error_key(ctx, node, "endpoint", "must not be empty");
  if (!c->path || c->path[0] != '/') cfg_error_key(ctx, node, "path", "must start with '/'");
}

static const cfg_field health_fields[] = {
    CFG_FIELD(health_check_config, endpoint, "endpoint", CFG_T_STRING, .def = "127.0.0.1:13133"),
    CFG_FIELD(health_check_config, path, "path", CFG_T_STRING, .def = "/"),
    CFG_FIELD(health_check_config, tls, "tls", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &tls_server_schema),
    {.key = "response_body", .type = CFG_T_SECTION, .offset = 0, .sub = &response_body_schema},
    CFG_IGNORED("check_collector_pipeline", CFG_T_RAW),
    {0}};

const cfg_schema health_check_schema = {
    .name = "health_check extension", .size = sizeof(health_check_config), .fields = health_fields,
    .check = check_health};

static void check_bearer(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  bearertokenauth_config *c = obj;
  int sources = (c->token && *c->token) + (c->tokens.n > 0) + (c->filename && *c->filename);
  if (sources == 0) cfg_error(ctx, node, "needs one of \"token\", \"tokens\" or \"filename\"");
  else if (sources > 1) cfg_error(ctx, node, "set only one of \"token\", \"tokens\" and \"filename\"");
  if (!c->header || !*c->header) cfg_error_key(ctx, node, "header", "must not be empty");
}

static const cfg_field bearer_fields[] = {
    CFG_FIELD(bearertokenauth_config, scheme, "scheme", CFG_T_STRING, .def = "Bearer"),
    CFG_FIELD(bearertokenauth_config, header, "header", CFG_T_STRING, .def = "Authorization"),
    CFG_FIELD(bearertokenauth_config, token, "token", CFG_T_STRING, .flags = CFG_SECRET),
    CFG_FIELD(bearertokenauth_config, tokens, "tokens", CFG_T_STRING_LIST, .flags = CFG_SECRET),
    CFG_FIELD(bearertokenauth_config, filename, "filename", CFG_T_STRING),
    {0}};

const cfg_schema bearertokenauth_schema = {.name = "bearertokenauth extension",
                                           .size = sizeof(bearertokenauth_config),
                                           .fields = bearer_fields,
                                           .check = check_bearer};

static void check_storage(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  file_storage_config *c = obj;
  if (!c->directory || c->directory[0] != '/') cfg_error_key(ctx, node, "directory", "must be an absolute path");
  const char *p = c->directory_permissions;
  bool octal = p && *p;
  for (; octal && *p; p++)
    if (*p < '0' || *p > '7') octal = false;
  if (!octal) cfg_error_key(ctx, node, "directory_permissions", "must be octal, like \"0750\"");
}

static const cfg_field storage_fields[] = {
    CFG_FIELD(file_storage_config, directory, "directory", CFG_T_STRING,
              .def = "/var/lib/otelc-receiver/file_storage"),
    CFG_FIELD(file_storage_config, create_directory, "create_directory", CFG_T_BOOL),
    CFG_FIELD(file_storage_config, directory_permissions, "directory_permissions", CFG_T_STRING, .def = "0750"),
    CFG_FIELD(file_storage_config, timeout, "timeout", CFG_T_DURATION, .def = "1s", CFG_RANGE(0, 9.2e18)),
    CFG_FIELD(file_storage_config, fsync, "fsync", CFG_T_BOOL),
    CFG_IGNORED("compaction", CFG_T_RAW),
    {0}};

const cfg_schema file_storage_schema = {
    .name = "file_storage extension", .size = sizeof(file_storage_config), .fields = storage_fields,
    .check = check_storage};
