/* health_check.h — the `health_check` extension (the Collector's healthcheckextension): an HTTP endpoint
 * (default 127.0.0.1:13133) answering GET on its configured path (default "/"), on "/" and on /healthz and
 * /readyz:
 *   200 {"status":"Server available","upSince":"...","uptime":"..."}   while the service runs;
 *   503 {"status":"Server not available",...}                           while it starts or stops.
 * response_body.healthy / .unhealthy replace the bodies. */
#ifndef OTELC_RECEIVER_EXTENSIONS_HEALTH_CHECK_H
#define OTELC_RECEIVER_EXTENSIONS_HEALTH_CHECK_H

#include "receiver/pipeline.h"

extern const component_hooks health_check_extension_hooks;

/* The port the extension listens on (0 when not started), for tests. */
uint16_t health_check_port(const void *state);

#endif
