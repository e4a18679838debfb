/* extensions.h — configuration of the extensions (Collector keys and defaults):
 *   health_check:    endpoint (otelc default 127.0.0.1:13133), path "/", tls, response_body {healthy, unhealthy}
 *   bearertokenauth: token | tokens | filename (secret; filename is re-read when it changes), scheme "Bearer",
 *                    header "Authorization". Authenticates receivers' requests and adds the header to exporters'.
 *   file_storage:    directory (/var/lib/otelc-receiver/file_storage), create_directory, timeout 1s, fsync —
 *                    the storage behind an exporter's persistent sending_queue. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_EXTENSIONS_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_EXTENSIONS_H

#include "receiver/config/components/common.h"

typedef struct health_check_config {
  char *endpoint;
  char *path;
  tls_server_config *tls;
  char *response_healthy;   /* response_body.healthy, NULL: default body */
  char *response_unhealthy; /* response_body.unhealthy */
} health_check_config;

typedef struct bearertokenauth_config {
  char *scheme;       /* "Bearer" */
  char *header;       /* "Authorization" */
  char *token;        /* secret */
  cfg_strlist tokens; /* secret: any of these is accepted (server side) */
  char *filename;     /* file holding the token */
} bearertokenauth_config;

typedef struct file_storage_config {
  char *directory;
  bool create_directory;
  char *directory_permissions; /* octal, "0750" */
  int64_t timeout;             /* ns */
  bool fsync;
} file_storage_config;

extern const cfg_schema health_check_schema;
extern const cfg_schema bearertokenauth_schema;
extern const cfg_schema file_storage_schema;

#endif
