/* bearertokenauth.h — the `bearertokenauth` extension (the Collector's bearertokenauthextension): a static
 * token (token / tokens) or one read from a file (filename, re-read when the file changes).
 *
 *   server side (receivers' auth.authenticator): the request must carry `<header>: <scheme> <token>`
 *     (default "Authorization: Bearer <token>"), compared in constant time against each configured token;
 *     otherwise the receiver answers 401 / UNAUTHENTICATED.
 *   client side (exporters' auth.authenticator): adds that header to outgoing requests.
 *
 * Use it through the generic authenticator interface: `component_auth *a = host->auth(host, id);` then
 * a->authenticate(...) or a->client_headers(...) (pipeline.h). Tokens are never logged nor put in errors. */
#ifndef OTELC_RECEIVER_EXTENSIONS_BEARERTOKENAUTH_H
#define OTELC_RECEIVER_EXTENSIONS_BEARERTOKENAUTH_H

#include "receiver/pipeline.h"

extern const component_hooks bearertokenauth_extension_hooks;

#endif
