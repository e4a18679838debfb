/* resource.h — the `resource` processor: runs attribute actions on each resource's attributes (resource.c). */
#ifndef OTELC_RECEIVER_PROCESSORS_RESOURCE_H
#define OTELC_RECEIVER_PROCESSORS_RESOURCE_H

#include "receiver/component.h"

/* Runtime hooks of the `resource` processor (config: resource_processor_config, attr_actions.h). */
extern const component_hooks resource_processor_hooks;

#endif
