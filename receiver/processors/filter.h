/* filter.h — the `filter` processor: drops metrics by name, by resource attributes, or by the simple OTTL
 * conditions the config layer accepts (filter.c). */
#ifndef OTELC_RECEIVER_PROCESSORS_FILTER_H
#define OTELC_RECEIVER_PROCESSORS_FILTER_H

#include "receiver/component.h"

/* Runtime hooks of the `filter` processor (config: filter_processor_config, receiver/config/components/filter.h). */
extern const component_hooks filter_processor_hooks;

#endif
