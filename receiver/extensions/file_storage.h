/* file_storage.h — the `file_storage` extension: the directory behind exporters' persistent sending queues
 * (sending_queue.storage). It has no behaviour of its own: at create it makes the directory when
 * create_directory is set (with directory_permissions) and checks that it is a writable directory; its state,
 * as host->extension() returns it, is the file_storage_config itself (what the exporters read). */
#ifndef OTELC_RECEIVER_EXTENSIONS_FILE_STORAGE_H
#define OTELC_RECEIVER_EXTENSIONS_FILE_STORAGE_H

#include "receiver/pipeline.h"

extern const component_hooks file_storage_extension_hooks;

#endif
