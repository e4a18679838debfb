/* dns_async.h — name resolution through c-ares on a libuv loop (the receiver's scrapers and exporters that run
 * on the loop). Same results as wire_dns_resolve (wire/dns.h): numeric addresses and "localhost" without a
 * query, /etc/hosts honoured, IPv4 and IPv6 addresses with the port set. */
#ifndef OTELC_WIRE_SERVER_DNS_ASYNC_H
#define OTELC_WIRE_SERVER_DNS_ASYNC_H

#include <stdint.h>
#include <uv.h>

#include "wire/dns.h"
#include "wire/err.h"

typedef struct wire_dns_query wire_dns_query;

/* On success addrs is non-NULL (n >= 1) and err NULL; on failure addrs is NULL and err says why (WIRE_E_DNS,
 * WIRE_E_TIMEOUT). Both are valid only during the call: copy what you keep. */
typedef void (*wire_dns_async_cb)(void *ud, const wire_addrs *addrs, const wire_err *err);

/* Starts resolving host on loop; cb runs exactly once on the loop, always later (never from inside this call),
 * at the latest timeout_ms after the start (0: 10000). Returns the query, or NULL with err set when the query
 * could not even start (cb is then not called). The query frees itself after cb returns. */
wire_dns_query *wire_dns_resolve_async(uv_loop_t *loop, const char *host, uint16_t port, uint64_t timeout_ms,
                                       wire_dns_async_cb cb, void *ud, wire_err *err);
/* Abandons a query before its callback ran: cb is never called. Calling it from inside cb is a no-op; calling
 * it after cb returned is a use after free. */
void wire_dns_query_cancel(wire_dns_query *q);

#endif
