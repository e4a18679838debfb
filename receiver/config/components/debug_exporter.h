/* debug_exporter.h — configuration of the `debug` exporter (and its deprecated alias `logging`):
 *   verbosity basic|normal|detailed (basic), sampling_initial 2, sampling_thereafter 1, use_internal_logger true.
 *   `logging`'s old `loglevel` is accepted with a warning: debug means detailed, info normal, else basic, unless
 *   verbosity is set too. */
#ifndef OTELC_RECEIVER_CONFIG_COMPONENTS_DEBUG_EXPORTER_H
#define OTELC_RECEIVER_CONFIG_COMPONENTS_DEBUG_EXPORTER_H

#include "receiver/config/schema.h"

enum { DEBUG_VERBOSITY_BASIC = 0, DEBUG_VERBOSITY_NORMAL, DEBUG_VERBOSITY_DETAILED };

typedef struct debug_exporter_config {
  int verbosity;               /* DEBUG_VERBOSITY_* */
  int64_t sampling_initial;    /* first N messages per second are printed... */
  int64_t sampling_thereafter; /* ...then every Mth */
  bool use_internal_logger;    /* true: through the receiver's logger; false: plain stdout */
  int loglevel;                /* deprecated `loglevel` (logging exporter), already folded into verbosity */
} debug_exporter_config;

extern const cfg_schema debug_exporter_schema;

#endif
