/* test_dns.c — name resolution, synchronous (wire/dns.h) and on a libuv loop (wire/server/dns_async.h):
 * numeric IPv4/IPv6, localhost, and a name that cannot resolve failing within its deadline (no network is
 * assumed: only that it fails and returns). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/clock.h"
#include "wire/dns.h"
#include "wire/server/dns_async.h"

#define SEC 1000000000LL

static void numeric_v4_and_v6(void) {
  wire_addrs a;
  wire_err err = {0};
  CHECK_EQ(wire_dns_resolve("10.1.2.3", 4317, wire_now_ns() + SEC, &a, &err), 0);
  CHECK_EQ(a.n, 1);
  const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.v[0].sa;
  CHECK_EQ(sin->sin_family, AF_INET);
  CHECK_EQ(ntohs(sin->sin_port), 4317);
  CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0x0a010203);
  char text[64];
  wire_addr_format((struct sockaddr *)&a.v[0].sa, text, sizeof text);
  CHECK_STR(text, "10.1.2.3:4317");
  wire_addrs_free(&a);

  CHECK_EQ(wire_dns_resolve("2001:db8::7", 443, wire_now_ns() + SEC, &a, &err), 0);
  CHECK_EQ(a.n, 1);
  CHECK_EQ(a.v[0].sa.ss_family, AF_INET6);
  CHECK_EQ(a.v[0].len, sizeof(struct sockaddr_in6));
  wire_addr_format((struct sockaddr *)&a.v[0].sa, text, sizeof text);
  CHECK_STR(text, "[2001:db8::7]:443");
  wire_addrs_free(&a);

  /* a literal never needs a deadline */
  CHECK_EQ(wire_dns_resolve("::1", 1, 0, &a, &err), 0);
  CHECK_EQ(a.n, 1);
  wire_addrs_free(&a);
}

static void localhost_without_query(void) {
  wire_addrs a;
  wire_err err = {0};
  const char *names[] = {"localhost", "LOCALHOST", "localhost.", "api.localhost", NULL};
  for (int i = 0; names[i]; i++) {
    /* a deadline already past: only a resolution without any query can succeed */
    CHECK_MSG(wire_dns_resolve(names[i], 80, wire_now_ns() - 1, &a, &err) == 0, "%s: %s", names[i], err.msg);
    CHECK_EQ(a.n, 2);
    if (a.n == 2) {
      CHECK_EQ(a.v[0].sa.ss_family, AF_INET);
      CHECK_EQ(a.v[1].sa.ss_family, AF_INET6);
    }
    wire_addrs_free(&a);
  }
}

static void unresolvable_fails_within_deadline(void) {
  wire_addrs a = {0};
  wire_err err = {0};
  int64_t start = wire_now_ns();
  int rc = wire_dns_resolve("name-that-does-not-exist.invalid", 80, start + 2 * SEC, &a, &err);
  CHECK_EQ(rc, -1);
  CHECK(err.code == WIRE_E_DNS || err.code == WIRE_E_TIMEOUT);
  CHECK_CONTAINS(err.msg, "name-that-does-not-exist.invalid");
  CHECK(a.v == NULL && a.n == 0);
  /* returned, and not long after the deadline (generous bound: this asserts "bounded", not speed) */
  CHECK(wire_now_ns() - start < 30 * SEC);

  CHECK_EQ(wire_dns_resolve("", 80, 0, &a, &err), -1);
  CHECK_EQ(err.code, WIRE_E_DNS);
  /* a deadline already past fails at once with a timeout */
  CHECK_EQ(wire_dns_resolve("example.invalid", 80, wire_now_ns() - 1, &a, &err), -1);
  CHECK_EQ(err.code, WIRE_E_TIMEOUT);
}

/* ---- asynchronous ---- */

typedef struct async_result {
  int calls;
  bool ok;
  size_t n;
  int family0;
  uint16_t port0;
  wire_err_code code;
  char msg[256];
} async_result;

static void on_resolved(void *ud, const wire_addrs *addrs, const wire_err *err) {
  async_result *r = ud;
  r->calls++;
  r->ok = addrs != NULL;
  if (addrs) {
    r->n = addrs->n;
    r->family0 = addrs->v[0].sa.ss_family;
    r->port0 = ntohs(((const struct sockaddr_in *)&addrs->v[0].sa)->sin_port);
  } else {
    r->code = err->code;
    snprintf(r->msg, sizeof r->msg, "%s", err->msg);
  }
}

static void async_resolution(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  wire_err err = {0};
  async_result lit = {0}, v6 = {0}, local = {0}, bad = {0}, cancelled = {0};
  CHECK(wire_dns_resolve_async(&loop, "192.0.2.1", 9100, 0, on_resolved, &lit, &err) != NULL);
  CHECK(wire_dns_resolve_async(&loop, "fe80::1", 9100, 0, on_resolved, &v6, &err) != NULL);
  CHECK(wire_dns_resolve_async(&loop, "localhost", 8080, 0, on_resolved, &local, &err) != NULL);
  CHECK(wire_dns_resolve_async(&loop, "name-that-does-not-exist.invalid", 80, 2000, on_resolved, &bad, &err) != NULL);
  wire_dns_query *q = wire_dns_resolve_async(&loop, "another-missing-name.invalid", 80, 2000, on_resolved, &cancelled, &err);
  CHECK(q != NULL);
  /* never called from inside the start call */
  CHECK_EQ(lit.calls + v6.calls + local.calls + bad.calls + cancelled.calls, 0);
  wire_dns_query_cancel(q);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once every query has finished and freed its handles */
  CHECK_EQ(lit.calls, 1);
  CHECK(lit.ok);
  CHECK_EQ(lit.n, 1);
  CHECK_EQ(lit.family0, AF_INET);
  CHECK_EQ(lit.port0, 9100);
  CHECK_EQ(v6.calls, 1);
  CHECK_EQ(v6.family0, AF_INET6);
  CHECK_EQ(local.calls, 1);
  CHECK_EQ(local.n, 2);
  CHECK_EQ(bad.calls, 1);
  CHECK(!bad.ok);
  CHECK(bad.code == WIRE_E_DNS || bad.code == WIRE_E_TIMEOUT);
  CHECK_CONTAINS(bad.msg, "name-that-does-not-exist.invalid");
  CHECK_EQ(cancelled.calls, 0);
  CHECK(wire_dns_resolve_async(&loop, "", 80, 0, on_resolved, &lit, &err) == NULL);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

int main(void) {
  RUN(numeric_v4_and_v6);
  RUN(localhost_without_query);
  RUN(unresolvable_fails_within_deadline);
  RUN(async_resolution);
  return test_finish();
}
