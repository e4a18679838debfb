/* dns.h — name resolution through c-ares, bounded by a deadline (getaddrinfo(3) could block for as long as
 * the system resolver likes; the synchronous clients of otelc promise never to block past their deadline).
 *
 * Numeric addresses and "localhost" resolve without any query; other names go through c-ares, which honours
 * /etc/hosts and /etc/resolv.conf. Results hold IPv4 and IPv6 addresses in c-ares' preference order (RFC 6724
 * sorting), each with the port set. The asynchronous form for libuv loops is wire/server/dns_async.h. */
#ifndef OTELC_WIRE_DNS_H
#define OTELC_WIRE_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire/err.h"

struct ares_addrinfo;

typedef struct wire_addr {
  struct sockaddr_storage sa; /* sockaddr_in or sockaddr_in6, port set */
  socklen_t len;
} wire_addr;

typedef struct wire_addrs {
  wire_addr *v;
  size_t n;
} wire_addrs;

/* Resolves host (name, IPv4 or IPv6 literal without brackets) to addresses with `port`. deadline_ns is an
 * absolute wire_now_ns() time (0: none; c-ares' own retries then bound the wait). Returns 0 with out->n >= 1,
 * or -1 (WIRE_E_DNS "dns: cannot resolve example.invalid: domain name not found", WIRE_E_TIMEOUT). On success
 * free the result with wire_addrs_free. */
int wire_dns_resolve(const char *host, uint16_t port, int64_t deadline_ns, wire_addrs *out, wire_err *err);
void wire_addrs_free(wire_addrs *a);

/* "127.0.0.1:4317", "[::1]:4317" (for messages and peers). */
void wire_addr_format(const struct sockaddr *sa, char *out, size_t outlen);

/* Building blocks shared with the asynchronous resolver (wire/server/dns_async.c). */
/* Once per process, thread-safe: ares_library_init. Returns 0 or -1 (WIRE_E_DNS). */
int wire_dns_library_init(wire_err *err);
/* Resolves numeric addresses and "localhost" without a query: 1 resolved (out filled), 0 not a literal,
 * -1 out of memory. */
int wire_dns_resolve_literal(const char *host, uint16_t port, wire_addrs *out, wire_err *err);
/* Copies the IPv4/IPv6 nodes of a c-ares result, setting the port. Returns 0, or -1 when there is none
 * (WIRE_E_DNS) or on allocation failure. */
int wire_dns_addrs_from_ares(const char *host, const struct ares_addrinfo *ai, uint16_t port, wire_addrs *out,
                             wire_err *err);
/* Fills the c-ares options the resolvers use (timeouts bounded so a dead server is retried, not waited on). */
struct ares_options;
int wire_dns_ares_options(struct ares_options *opts, int timeout_ms);
/* Maps a c-ares status to an error for host ("dns: cannot resolve x: <c-ares reason>"); always returns -1. */
int wire_dns_status_err(wire_err *err, const char *host, int status);

#endif
