/* file_exporter.h — configuration of the `file` exporter (Collector keys and defaults): one OTLP/JSON object
 * per line (or length-prefixed protobuf with format: proto) appended to `path`, optionally rotated:
 *   path (required), format json|proto (json), rotation {max_megabytes 100, max_days 0, max_backups 100,
 *   localtime false} (no rotation without the key), flush_interval 1s, append false, compression none. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_FILE_EXPORTER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_FILE_EXPORTER_H

#include "receiver/config/schema.h"

enum { FILE_FORMAT_JSON = 0, FILE_FORMAT_PROTO };

typedef struct file_rotation_config {
  int64_t max_megabytes; /* rotate when the file exceeds this size (MiB) */
  int64_t max_days;      /* delete rotated files older than this, 0: keep */
  int64_t max_backups;   /* keep at most this many rotated files, 0: all */
  bool localtime;        /* timestamps in rotated file names: local time instead of UTC */
} file_rotation_config;

typedef struct file_exporter_config {
  char *path;
  int format;                     /* FILE_FORMAT_* */
  file_rotation_config *rotation; /* NULL: never rotate */
  int64_t flush_interval;         /* ns */
  bool append;                    /* false: truncate at start */
  int compression;                /* 0: none (zstd is not supported) */
} file_exporter_config;

extern const cfg_schema file_exporter_schema;

#endif
