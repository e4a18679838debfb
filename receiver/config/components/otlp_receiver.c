/* otlp_receiver.c — config schema of the `otlp` receiver (see otlp_receiver.h). */
#include "receiver/config/components/otlp_receiver.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NS 9.2e18

static const char *const transport_names[] = {"tcp", "unix", NULL};

static const cfg_field server_params_fields[] = {
    CFG_FIELD(grpc_keepalive_config, max_connection_idle, "max_connection_idle", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(grpc_keepalive_config, max_connection_age, "max_connection_age", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(grpc_keepalive_config, max_connection_age_grace, "max_connection_age_grace", CFG_T_DURATION,
              CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(grpc_keepalive_config, time, "time", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(grpc_keepalive_config, timeout, "timeout", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    {0}};
static const cfg_schema server_params_schema = {
    .name = "server_parameters", .size = sizeof(grpc_keepalive_config), .fields = server_params_fields};

static const cfg_field enforcement_fields[] = {
    CFG_FIELD(grpc_keepalive_config, enforcement_min_time, "min_time", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(grpc_keepalive_config, enforcement_permit_without_stream, "permit_without_stream", CFG_T_BOOL),
    {0}};
static const cfg_schema enforcement_schema = {
    .name = "enforcement_policy", .size = sizeof(grpc_keepalive_config), .fields = enforcement_fields};

/* Both sub-sections decode into the same struct (offset 0 of keepalive). */
static const cfg_field keepalive_fields[] = {
    {.key = "server_parameters", .type = CFG_T_SECTION, .offset = 0, .sub = &server_params_schema},
    {.key = "enforcement_policy", .type = CFG_T_SECTION, .offset = 0, .sub = &enforcement_schema},
    {0}};
static const cfg_schema keepalive_schema = {
    .name = "keepalive", .size = sizeof(grpc_keepalive_config), .fields = keepalive_fields};

static const cfg_field grpc_fields[] = {
    CFG_FIELD(otlp_grpc_config, endpoint, "endpoint", CFG_T_STRING, .def = "127.0.0.1:4317"),
    CFG_FIELD(otlp_grpc_config, transport, "transport", CFG_T_ENUM, .enums = transport_names, .def = "tcp"),
    CFG_FIELD(otlp_grpc_config, tls, "tls", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &tls_server_schema),
    CFG_FIELD(otlp_grpc_config, max_recv_msg_size, "max_recv_msg_size_mib", CFG_T_MIB, .def = "4",
              CFG_RANGE(1, 1024)),
    CFG_FIELD(otlp_grpc_config, max_concurrent_streams, "max_concurrent_streams", CFG_T_INT,
              CFG_RANGE(0, 4294967295.0)),
    CFG_FIELD(otlp_grpc_config, keepalive, "keepalive", CFG_T_SECTION, .sub = &keepalive_schema),
    CFG_FIELD(otlp_grpc_config, auth, "auth", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &server_auth_schema),
    CFG_FIELD(otlp_grpc_config, include_metadata, "include_metadata", CFG_T_BOOL),
    CFG_IGNORED("read_buffer_size", CFG_T_BYTES),
    CFG_IGNORED("write_buffer_size", CFG_T_BYTES),
    {0}};

static void check_endpoint(char *endpoint, const cfg_node *node, cfg_ctx *ctx) {
  if (!endpoint || !*endpoint) cfg_error_key(ctx, node, "endpoint", "must not be empty");
}

static void check_grpc(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  otlp_grpc_config *c = obj;
  check_endpoint(c->endpoint, node, ctx);
}

static const cfg_schema grpc_schema = {
    .name = "grpc", .size = sizeof(otlp_grpc_config), .fields = grpc_fields, .check = check_grpc};

/* The Collector accepts url paths without the leading slash and adds it. */
static void fix_url_path(char **p) {
  if (!*p || (*p)[0] == '/') return;
  size_t n = strlen(*p);
  char *q = malloc(n + 2);
  if (!q) return;
  q[0] = '/';
  memcpy(q + 1, *p, n + 1);
  free(*p);
  *p = q;
}

static void check_http(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  otlp_http_config *c = obj;
  check_endpoint(c->endpoint, node, ctx);
  fix_url_path(&c->traces_url_path);
  fix_url_path(&c->metrics_url_path);
  fix_url_path(&c->logs_url_path);
}

static const cfg_field http_fields[] = {
    CFG_FIELD(otlp_http_config, endpoint, "endpoint", CFG_T_STRING, .def = "127.0.0.1:4318"),
    CFG_FIELD(otlp_http_config, tls, "tls", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &tls_server_schema),
    CFG_FIELD(otlp_http_config, cors, "cors", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &cors_schema),
    CFG_FIELD(otlp_http_config, auth, "auth", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &server_auth_schema),
    CFG_FIELD(otlp_http_config, max_request_body_size, "max_request_body_size", CFG_T_BYTES, .def = "20971520",
              CFG_RANGE(1, 1073741824.0)),
    CFG_FIELD(otlp_http_config, include_metadata, "include_metadata", CFG_T_BOOL),
    CFG_FIELD(otlp_http_config, response_headers, "response_headers", CFG_T_STRING_MAP),
    CFG_FIELD(otlp_http_config, traces_url_path, "traces_url_path", CFG_T_STRING, .def = "/v1/traces"),
    CFG_FIELD(otlp_http_config, metrics_url_path, "metrics_url_path", CFG_T_STRING, .def = "/v1/metrics"),
    CFG_FIELD(otlp_http_config, logs_url_path, "logs_url_path", CFG_T_STRING, .def = "/v1/logs"),
    CFG_FIELD(otlp_http_config, read_timeout, "read_timeout", CFG_T_DURATION, CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlp_http_config, read_header_timeout, "read_header_timeout", CFG_T_DURATION, .def = "1m",
              CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlp_http_config, write_timeout, "write_timeout", CFG_T_DURATION, .def = "30s", CFG_RANGE(0, MAX_NS)),
    CFG_FIELD(otlp_http_config, idle_timeout, "idle_timeout", CFG_T_DURATION, .def = "1m", CFG_RANGE(0, MAX_NS)),
    CFG_IGNORED("compression_algorithms", CFG_T_STRING_LIST),
    {0}};

static const cfg_schema http_schema = {
    .name = "http", .size = sizeof(otlp_http_config), .fields = http_fields, .check = check_http};

static const cfg_field protocols_fields[] = {
    CFG_FIELD(otlp_receiver_config, grpc, "grpc", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &grpc_schema,
              .doc = "OTLP/gRPC server"),
    CFG_FIELD(otlp_receiver_config, http, "http", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &http_schema,
              .doc = "OTLP/HTTP server"),
    {0}};
static const cfg_schema protocols_schema = {
    .name = "protocols", .size = sizeof(otlp_receiver_config), .fields = protocols_fields};

static void check_otlp(void *obj, const cfg_node *node, cfg_ctx *ctx) {
  otlp_receiver_config *c = obj;
  if (!c->grpc && !c->http)
    cfg_error(ctx, node, "must specify at least one protocol (protocols::grpc or protocols::http)");
}

static const cfg_field otlp_fields[] = {
    {.key = "protocols", .type = CFG_T_SECTION, .offset = 0, .sub = &protocols_schema},
    {0}};

const cfg_schema otlp_receiver_schema = {
    .name = "otlp receiver", .size = sizeof(otlp_receiver_config), .fields = otlp_fields, .check = check_otlp};
