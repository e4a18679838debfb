/* common.c — schemas of the config sections shared by components (see common.h). */
#include "receiver/config/components/common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "receiver/component.h"

const char *const tls_version_names[] = {"", "1.0", "1.1", "1.2", "1.3", NULL};
const char *const compression_names[] = {"gzip", "none", "", "zstd", "snappy", "zlib", "deflate", "lz4", NULL};

#define DAY_NS 86400e9
#define MAX_NS 9.2e18

bool is_http_url(const char *s) { return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8); }

void check_regexp(const char *pattern, const cfg_node *map, const char *key, long index, bool need_named_groups,
                  cfg_ctx *ctx) {
  if (!pattern) return;
  int code;
  PCRE2_SIZE offset;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &offset, NULL);
  const char *problem = NULL;
  char why[256];
  if (!re) {
    PCRE2_UCHAR msg[120];
    pcre2_get_error_message(code, msg, sizeof msg);
    snprintf(why, sizeof why, "is not a valid regular expression: %s at offset %zu", (const char *)msg,
             (size_t)offset);
    problem = why;
  } else if (need_named_groups) {
    uint32_t names = 0;
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &names);
    if (!names) problem = "needs at least one named group, like (?P<name>...)";
  }
  pcre2_code_free(re);
  if (!problem) return;
  const cfg_node *at = cfg_map_get(map, key);
  size_t mark = cfg_path_push_key(&ctx->path, key);
  if (index >= 0) {
    cfg_path_push_index(&ctx->path, (size_t)index);
    if (at && at->kind == CFG_NODE_SEQ && (size_t)index < at->n) at = at->items[index];
  }
  cfg_error(ctx, at ? at : map, "\"%.100s\" %s", pattern, problem);
  cfg_path_pop(&ctx->path, mark);
}

void check_compression(int *compression, const cfg_node *map, const char *key, cfg_ctx *ctx) {
  if (*compression == COMPRESSION_EMPTY) *compression = COMPRESSION_NONE;
  if (*compression > COMPRESSION_EMPTY)
    cfg_error_key(ctx, map, key, "compression \"%s\" is not supported by otelc (use gzip or none)",
                  compression_names[*compression]);
}

/* Shared by client and server TLS: the certificate/key pair and the version range. */
static void check_tls_common(const char *cert_file, const char *cert_pem, const char *key_file, const char *key_pem,
                             const char *ca_file, const char *ca_pem, int min_v, int max_v, const cfg_node *node,
                             cfg_ctx *ctx) {
  if (cert_file && *cert_file && cert_pem && *cert_pem)
    cfg_error_key(ctx, node, "cert_pem", "cert_file and cert_pem are mutually exclusive");
  if (key_file && *key_file && key_pem && *key_pem)
    cfg_error_key(ctx, node, "key_pem", "key_file and key_pem are mutually exclusive");
  if (ca_file && *ca_file && ca_pem && *ca_pem)
    cfg_error_key(ctx, node, "ca_pem", "ca_file and ca_pem are mutually exclusive");
  bool has_cert = (cert_file && *cert_file) || (cert_pem && *cert_pem);
  bool has_key = (key_file && *key_file) || (key_pem && *key_pem);
  if (has_cert != has_key)
    cfg_error(ctx, node, "provide both a certificate (cert_file or cert_pem) and a key (key_file or key_pem), or "
                         "neither");
  if (max_v != TLS_VERSION_DEFAULT && min_v != TLS_VERSION_DEFAULT && min_v > max_v)
    cfg_error_key(ctx, node, "min_version", "min_version %s is above max_version %s", tls_version_names[min_v],
                  tls_version_names[max_v]);
}

static void check_tls_server(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  tls_server_config *c = obj;
  check_tls_common(c->cert_file, c->cert_pem, c->key_file, c->key_pem, c->ca_file, c->ca_pem, c->min_version,
                   c->max_version, node, ctx);
  bool has_cert = (c->cert_file && *c->cert_file) || (c->cert_pem && *c->cert_pem);
  bool has_key = (c->key_file && *c->key_file) || (c->key_pem && *c->key_pem);
  if (!has_cert && !has_key)
    cfg_error(ctx, node, "a TLS server needs a certificate and a key (cert_file or cert_pem, key_file or key_pem)");
}

static void check_tls_client(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  tls_client_config *c = obj;
  check_tls_common(c->cert_file, c->cert_pem, c->key_file, c->key_pem, c->ca_file, c->ca_pem, c->min_version,
                   c->max_version, node, ctx);
}

#define TLS_BASE_FIELDS(T)                                                                                        \
  CFG_FIELD(T, ca_file, "ca_file", CFG_T_STRING, .doc = "CA bundle (PEM file)"),                                  \
  CFG_FIELD(T, ca_pem, "ca_pem", CFG_T_STRING, .doc = "CA bundle (PEM text)"),                                    \
  CFG_FIELD(T, cert_file, "cert_file", CFG_T_STRING, .doc = "certificate (PEM file)"),                            \
  CFG_FIELD(T, cert_pem, "cert_pem", CFG_T_STRING, .doc = "certificate (PEM text)"),                              \
  CFG_FIELD(T, key_file, "key_file", CFG_T_STRING, .doc = "private key (PEM file)"),                              \
  CFG_FIELD(T, key_pem, "key_pem", CFG_T_STRING, .flags = CFG_SECRET, .doc = "private key (PEM text)"),           \
  CFG_FIELD(T, min_version, "min_version", CFG_T_ENUM, .enums = tls_version_names, .def = "1.2"),                 \
  CFG_FIELD(T, max_version, "max_version", CFG_T_ENUM, .enums = tls_version_names),                               \
  CFG_FIELD(T, cipher_suites, "cipher_suites", CFG_T_STRING_LIST),                                                \
  CFG_FIELD(T, include_system_ca_certs_pool, "include_system_ca_certs_pool", CFG_T_BOOL),                         \
  CFG_FIELD(T, reload_interval, "reload_interval", CFG_T_DURATION, CFG_RANGE(0, MAX_NS))

static const cfg_field tls_server_fields[] = {
    TLS_BASE_FIELDS(tls_server_config),
    CFG_FIELD(tls_server_config, client_ca_file, "client_ca_file", CFG_T_STRING,
              .doc = "CA that client certificates must chain to (mTLS)"),
    CFG_FIELD(tls_server_config, reload_client_ca_file, "reload_client_ca_file", CFG_T_BOOL),
    {0}};

const cfg_schema tls_server_schema = {
    .name = "tls (server)", .size = sizeof(tls_server_config), .fields = tls_server_fields, .check = check_tls_server};

static const cfg_field tls_client_fields[] = {
    CFG_FIELD(tls_client_config, insecure, "insecure", CFG_T_BOOL, .doc = "plaintext (no TLS) connection"),
    CFG_FIELD(tls_client_config, insecure_skip_verify, "insecure_skip_verify", CFG_T_BOOL,
              .doc = "TLS without verifying the server certificate"),
    CFG_FIELD(tls_client_config, server_name_override, "server_name_override", CFG_T_STRING),
    TLS_BASE_FIELDS(tls_client_config),
    {0}};

const cfg_schema tls_client_schema = {
    .name = "tls (client)", .size = sizeof(tls_client_config), .fields = tls_client_fields, .check = check_tls_client};

static const cfg_field retry_fields[] = {
    CFG_FIELD(retry_config, enabled, "enabled", CFG_T_BOOL, .def = "true"),
    CFG_FIELD(retry_config, initial_interval, "initial_interval", CFG_T_DURATION, .def = "5s", CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(retry_config, randomization_factor, "randomization_factor", CFG_T_DOUBLE, .def = "0.5",
              CFG_RANGE(0, 1)),
    CFG_FIELD(retry_config, multiplier, "multiplier", CFG_T_DOUBLE, .def = "1.5", CFG_RANGE(1, 1000)),
    CFG_FIELD(retry_config, max_interval, "max_interval", CFG_T_DURATION, .def = "30s", CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(retry_config, max_elapsed_time, "max_elapsed_time", CFG_T_DURATION, .def = "300s",
              CFG_RANGE(0, MAX_NS)),
    {0}};

static void check_retry(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  retry_config *c = obj;
  if (c->enabled && c->max_interval > 0 && c->initial_interval > c->max_interval)
    cfg_error_key(ctx, node, "initial_interval", "must not exceed max_interval");
}

const cfg_schema retry_schema = {
    .name = "retry_on_failure", .size = sizeof(retry_config), .fields = retry_fields, .check = check_retry};

static const char *const sizer_names[] = {"requests", "items", "bytes", NULL};

static const cfg_field queue_fields[] = {
    CFG_FIELD(queue_config, enabled, "enabled", CFG_T_BOOL, .def = "true"),
    CFG_FIELD(queue_config, num_consumers, "num_consumers", CFG_T_INT, .def = "10", CFG_RANGE(1, 10000)),
    CFG_FIELD(queue_config, queue_size, "queue_size", CFG_T_INT, .def = "1000", CFG_RANGE(1, 1e12)),
    CFG_FIELD(queue_config, sizer, "sizer", CFG_T_ENUM, .enums = sizer_names, .def = "requests"),
    CFG_FIELD(queue_config, block_on_overflow, "block_on_overflow", CFG_T_BOOL),
    CFG_FIELD(queue_config, block_on_overflow, "blocking", CFG_T_BOOL, .flags = CFG_DEPRECATED,
              .doc = "use block_on_overflow"),
    CFG_FIELD(queue_config, wait_for_result, "wait_for_result", CFG_T_BOOL),
    CFG_FIELD(queue_config, storage, "storage", CFG_T_COMPONENT_REF, .ref_caps = COMPONENT_CAP_STORAGE,
              .doc = "id of a file_storage extension: persistent queue"),
    CFG_IGNORED("batch", CFG_T_RAW),
    {0}};

const cfg_schema queue_schema = {.name = "sending_queue", .size = sizeof(queue_config), .fields = queue_fields};

static const cfg_field server_auth_fields[] = {
    CFG_FIELD(auth_config, authenticator, "authenticator", CFG_T_COMPONENT_REF, .flags = CFG_REQUIRED,
              .ref_caps = COMPONENT_CAP_SERVER_AUTH),
    {0}};
const cfg_schema server_auth_schema = {.name = "auth", .size = sizeof(auth_config), .fields = server_auth_fields};

static const cfg_field client_auth_fields[] = {
    CFG_FIELD(auth_config, authenticator, "authenticator", CFG_T_COMPONENT_REF, .flags = CFG_REQUIRED,
              .ref_caps = COMPONENT_CAP_CLIENT_AUTH),
    {0}};
const cfg_schema client_auth_schema = {.name = "auth", .size = sizeof(auth_config), .fields = client_auth_fields};

static const cfg_field cors_fields[] = {
    CFG_FIELD(cors_config, allowed_origins, "allowed_origins", CFG_T_STRING_LIST),
    CFG_FIELD(cors_config, allowed_headers, "allowed_headers", CFG_T_STRING_LIST),
    CFG_FIELD(cors_config, max_age, "max_age", CFG_T_INT, CFG_RANGE(0, DAY_NS / 1e9 * 365)),
    {0}};
const cfg_schema cors_schema = {.name = "cors", .size = sizeof(cors_config), .fields = cors_fields};
