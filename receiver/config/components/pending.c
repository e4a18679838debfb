/* pending.c — open schemas of the components whose runtime comes later (see pending.h). */
#include "receiver/config/components/pending.h"

#include <stddef.h>

static const cfg_field no_fields[] = {{0}};

const cfg_schema prometheus_receiver_schema = {.name = "prometheus receiver",
                                               .size = sizeof(pending_config),
                                               .fields = no_fields,
                                               .open = true,
                                               .raw_offset = offsetof(pending_config, raw)};

const cfg_schema k8sattributes_schema = {.name = "k8sattributes processor",
                                         .size = sizeof(pending_config),
                                         .fields = no_fields,
                                         .open = true,
                                         .raw_offset = offsetof(pending_config, raw)};
