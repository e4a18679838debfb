/* attributes.h — the `attributes` processor: runs attribute actions on data point attributes (attributes.c). */
#ifndef OTELC_RECEIVER_PROCESSORS_ATTRIBUTES_H
#define OTELC_RECEIVER_PROCESSORS_ATTRIBUTES_H

#include "receiver/component.h"

/* Runtime hooks of the `attributes` processor (config: attributes_processor_config, attr_actions.h). */
extern const component_hooks attributes_processor_hooks;

#endif
