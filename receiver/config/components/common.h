/* common.h — config sections shared by several components, with the Collector's keys and defaults:
 * TLS (server and client), retry_on_failure, sending_queue, auth, CORS, and the compression choice.
 * (configtls, configretry, exporterhelper's queue, configauth, confighttp/configgrpc in the Collector.) */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_COMMON_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "receiver/config/schema.h"

/* TLS versions: index into tls_version_names. */
enum { TLS_VERSION_DEFAULT = 0, TLS_VERSION_1_0, TLS_VERSION_1_1, TLS_VERSION_1_2, TLS_VERSION_1_3 };
extern const char *const tls_version_names[];

/* `tls:` of a server (otlp receiver, prometheus exporter, health_check). Present means TLS is on. */
typedef struct tls_server_config {
  char *ca_file, *ca_pem;
  char *cert_file, *cert_pem;
  char *key_file, *key_pem; /* key_pem is secret */
  char *client_ca_file;     /* set: clients must present a certificate signed by it (mTLS) */
  bool reload_client_ca_file;
  int min_version, max_version; /* TLS_VERSION_*; min defaults to 1.2 */
  cfg_strlist cipher_suites;
  bool include_system_ca_certs_pool;
  int64_t reload_interval; /* ns; 0: never reload */
} tls_server_config;

/* `tls:` of a client (otlp/otlphttp exporters). Always present; `insecure` turns TLS off (otlp gRPC exporter). */
typedef struct tls_client_config {
  bool insecure;             /* plaintext connection (gRPC); also implied by an http:// endpoint */
  bool insecure_skip_verify; /* TLS without verifying the server certificate */
  char *server_name_override;
  char *ca_file, *ca_pem;
  char *cert_file, *cert_pem;
  char *key_file, *key_pem;
  int min_version, max_version;
  cfg_strlist cipher_suites;
  bool include_system_ca_certs_pool;
  int64_t reload_interval;
} tls_client_config;

/* `retry_on_failure:` — exponential backoff for retryable export failures. */
typedef struct retry_config {
  bool enabled;                 /* true */
  int64_t initial_interval;     /* 5s */
  double randomization_factor;  /* 0.5 */
  double multiplier;            /* 1.5 */
  int64_t max_interval;         /* 30s */
  int64_t max_elapsed_time;     /* 300s; 0: retry forever */
} retry_config;

enum { QUEUE_SIZER_REQUESTS = 0, QUEUE_SIZER_ITEMS, QUEUE_SIZER_BYTES };

/* `sending_queue:` — bounded in memory, or persisted through a storage extension (file_storage). */
typedef struct queue_config {
  bool enabled;            /* true */
  int64_t num_consumers;   /* 10 */
  int64_t queue_size;      /* 1000, in units of `sizer` */
  int sizer;               /* QUEUE_SIZER_*, requests */
  bool block_on_overflow;  /* false: refuse (enqueue failed) when full */
  bool wait_for_result;
  char *storage;           /* id of a file_storage extension, NULL: in memory */
} queue_config;

/* `auth:` — `authenticator` is the id of an auth extension (bearertokenauth). */
typedef struct auth_config {
  char *authenticator;
} auth_config;

/* `cors:` of the OTLP/HTTP receiver. */
typedef struct cors_config {
  cfg_strlist allowed_origins;
  cfg_strlist allowed_headers;
  int64_t max_age; /* seconds */
} cors_config;

/* Exporter compression (index into compression_names): only gzip and none are implemented, the other names the
 * Collector knows are rejected with a clear message. */
enum { COMPRESSION_GZIP = 0, COMPRESSION_NONE, COMPRESSION_EMPTY /* "" = none */ };
extern const char *const compression_names[];

extern const cfg_schema tls_server_schema;
extern const cfg_schema tls_client_schema;
extern const cfg_schema retry_schema;
extern const cfg_schema queue_schema;
extern const cfg_schema server_auth_schema;
extern const cfg_schema client_auth_schema;
extern const cfg_schema cors_schema;

/* Reports compression values otelc does not implement; maps "" to none. `key` is the config key. */
void check_compression(int *compression, const cfg_node *map, const char *key, cfg_ctx *ctx);
/* Reports `pattern` (the value of `key` in `map`, or of list item `index` when index >= 0) when it is not a valid
 * regular expression (RE2/PCRE syntax, as the runtime compiles it), or when `need_named_groups` and it has none. */
void check_regexp(const char *pattern, const cfg_node *map, const char *key, long index, bool need_named_groups,
                  cfg_ctx *ctx);
/* True when `s` starts with "http://" or "https://" (case-insensitive). */
bool is_http_url(const char *s);

#endif
