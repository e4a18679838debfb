/* dns.c — synchronous name resolution through c-ares under a deadline (see dns.h).
 *
 * Each resolution uses its own c-ares channel: a channel is not thread-safe, resolutions are rare (once per
 * connection) and a fresh channel picks up changes to /etc/resolv.conf. The channel's sockets are waited on
 * with poll(2), bounded by both c-ares' own retry timer and the caller's deadline. */
#include "wire/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/clock.h"

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status = ARES_SUCCESS;

static void library_init_once(void) { library_status = ares_library_init(ARES_LIB_INIT_ALL); }

int wire_dns_library_init(wire_err *err) {
  pthread_once(&library_once, library_init_once);
  if (library_status != ARES_SUCCESS)
    return wire_err_set(err, WIRE_E_DNS, "dns: c-ares initialisation failed: %s", ares_strerror(library_status));
  return 0;
}

void wire_addrs_free(wire_addrs *a) {
  if (!a) return;
  free(a->v);
  a->v = NULL;
  a->n = 0;
}

static wire_addr *addrs_push(wire_addrs *out, wire_err *err) {
  wire_addr *v = realloc(out->v, (out->n + 1) * sizeof *v);
  if (!v) {
    wire_err_set(err, WIRE_E_NOMEM, "dns: out of memory");
    return NULL;
  }
  out->v = v;
  memset(&v[out->n], 0, sizeof v[out->n]);
  return &v[out->n++];
}

static int push_v4(wire_addrs *out, const struct in_addr *a, uint16_t port, wire_err *err) {
  wire_addr *w = addrs_push(out, err);
  if (!w) return -1;
  struct sockaddr_in *sin = (struct sockaddr_in *)&w->sa;
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  sin->sin_addr = *a;
  w->len = sizeof *sin;
  return 0;
}

static int push_v6(wire_addrs *out, const struct in6_addr *a, uint32_t scope, uint16_t port, wire_err *err) {
  wire_addr *w = addrs_push(out, err);
  if (!w) return -1;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&w->sa;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = *a;
  sin6->sin6_scope_id = scope;
  w->len = sizeof *sin6;
  return 0;
}

static bool is_localhost(const char *host) {
  size_t n = strlen(host);
  if (n && host[n - 1] == '.') n--;
  if (n == 9 && strncasecmp(host, "localhost", 9) == 0) return true;
  /* RFC 6761: names under .localhost are loopback too. */
  return n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0;
}

int wire_dns_resolve_literal(const char *host, uint16_t port, wire_addrs *out, wire_err *err) {
  out->v = NULL;
  out->n = 0;
  struct in_addr a4;
  if (inet_pton(AF_INET, host, &a4) == 1) return push_v4(out, &a4, port, err) < 0 ? -1 : 1;
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = strlen(host);
  if (n < sizeof buf && strchr(host, ':')) {
    memcpy(buf, host, n + 1);
    uint32_t scope = 0;
    char *pct = strchr(buf, '%');
    if (pct) {
      *pct = '\0';
      const char *zone = pct + 1;
      char *end;
      unsigned long z = strtoul(zone, &end, 10);
      scope = (*zone && !*end) ? (uint32_t)z : if_nametoindex(zone);
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) == 1) return push_v6(out, &a6, scope, port, err) < 0 ? -1 : 1;
  }
  if (is_localhost(host)) {
    struct in_addr lo4 = {.s_addr = htonl(INADDR_LOOPBACK)};
    if (push_v4(out, &lo4, port, err) < 0 || push_v6(out, &in6addr_loopback, 0, port, err) < 0) {
      wire_addrs_free(out);
      return -1;
    }
    return 1;
  }
  return 0;
}

int wire_dns_addrs_from_ares(const char *host, const struct ares_addrinfo *ai, uint16_t port, wire_addrs *out,
                             wire_err *err) {
  out->v = NULL;
  out->n = 0;
  for (const struct ares_addrinfo_node *nd = ai ? ai->nodes : NULL; nd; nd = nd->ai_next) {
    int rc = 0;
    if (nd->ai_family == AF_INET && nd->ai_addrlen >= sizeof(struct sockaddr_in))
      rc = push_v4(out, &((const struct sockaddr_in *)nd->ai_addr)->sin_addr, port, err);
    else if (nd->ai_family == AF_INET6 && nd->ai_addrlen >= sizeof(struct sockaddr_in6)) {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)nd->ai_addr;
      rc = push_v6(out, &s6->sin6_addr, s6->sin6_scope_id, port, err);
    }
    if (rc < 0) {
      wire_addrs_free(out);
      return -1;
    }
  }
  if (out->n == 0) return wire_err_set(err, WIRE_E_DNS, "dns: %.200s has no IPv4 or IPv6 address", host);
  return 0;
}

int wire_dns_ares_options(struct ares_options *opts, int timeout_ms) {
  memset(opts, 0, sizeof *opts);
  /* c-ares retries each server `tries` times, each try waiting `timeout`: keep a try short so that a lost
   * UDP packet is retried well within the caller's deadline. */
  if (timeout_ms <= 0 || timeout_ms > 2000) timeout_ms = 2000;
  if (timeout_ms < 200) timeout_ms = 200;
  opts->timeout = timeout_ms;
  opts->tries = 3;
  return ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
}

int wire_dns_status_err(wire_err *err, const char *host, int status) {
  return wire_err_set(err, WIRE_E_DNS, "dns: cannot resolve %.200s: %s", host, ares_strerror(status));
}

void wire_addr_format(const struct sockaddr *sa, char *out, size_t outlen) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (!outlen) return;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    snprintf(out, outlen, "%s:%u", ip, (unsigned)ntohs(s->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    snprintf(out, outlen, "[%s]:%u", ip, (unsigned)ntohs(s->sin6_port));
  } else if (sa->sa_family == AF_UNIX) {
    snprintf(out, outlen, "unix");
  } else {
    snprintf(out, outlen, "family-%d", sa->sa_family);
  }
}

typedef struct sync_query {
  bool done;
  int status;
  struct ares_addrinfo *result;
} sync_query;

static void sync_query_done(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  sync_query *q = arg;
  q->done = true;
  q->status = status;
  if (q->result) ares_freeaddrinfo(q->result);
  q->result = res;
}

/* Waits once on the channel's sockets (bounded by c-ares' timer and the deadline) and lets c-ares process
 * what is ready. Returns 0, or -1 when the deadline passed or poll failed. */
static int pump_channel(ares_channel ch, const char *host, int64_t deadline_ns, wire_err *err) {
  ares_socket_t socks[ARES_GETSOCK_MAXNUM];
  /* ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit for the 16th socket: test the bits unsigned. */
  unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
  struct pollfd pfd[ARES_GETSOCK_MAXNUM];
  nfds_t n = 0;
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
    short ev = 0;
    if (bits & (1u << i)) ev |= POLLIN;
    if (bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ev |= POLLOUT;
    if (!ev) continue;
    pfd[n].fd = socks[i];
    pfd[n].events = ev;
    pfd[n].revents = 0;
    n++;
  }
  struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
  int wait_ms = tvp ? (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000) : 1000;
  int left = wire_ms_until(deadline_ns);
  if (left == 0) return wire_err_set(err, WIRE_E_TIMEOUT, "dns: resolving %.200s: deadline passed", host);
  if (left > 0 && left < wait_ms) wait_ms = left;
  int r = poll(pfd, n, wait_ms);
  if (r < 0) {
    if (errno == EINTR) return 0;
    return wire_err_set(err, WIRE_E_DNS, "dns: resolving %.200s: poll: %s", host, strerror(errno));
  }
  if (r == 0) {
    ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timers: retransmit or give up */
    return 0;
  }
  for (nfds_t i = 0; i < n; i++) {
    if (!pfd[i].revents) continue;
    ares_socket_t rd = (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD;
    ares_socket_t wr = (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD;
    ares_process_fd(ch, rd, wr);
  }
  return 0;
}

int wire_dns_resolve(const char *host, uint16_t port, int64_t deadline_ns, wire_addrs *out, wire_err *err) {
  out->v = NULL;
  out->n = 0;
  if (!host || !*host) return wire_err_set(err, WIRE_E_DNS, "dns: empty host name");
  int lit = wire_dns_resolve_literal(host, port, out, err);
  if (lit != 0) return lit > 0 ? 0 : -1;
  if (wire_dns_library_init(err) < 0) return -1;

  struct ares_options opts;
  int left = wire_ms_until(deadline_ns);
  if (left == 0) return wire_err_set(err, WIRE_E_TIMEOUT, "dns: resolving %.200s: deadline passed", host);
  int mask = wire_dns_ares_options(&opts, left > 0 ? left / 3 : 0);
  ares_channel ch;
  int st = ares_init_options(&ch, &opts, mask);
  if (st != ARES_SUCCESS)
    return wire_err_set(err, WIRE_E_DNS, "dns: resolving %.200s: c-ares channel: %s", host, ares_strerror(st));

  sync_query q = {0};
  struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  ares_getaddrinfo(ch, host, NULL, &hints, sync_query_done, &q);
  int rc = 0;
  while (!q.done && rc == 0) rc = pump_channel(ch, host, deadline_ns, err);
  bool finished = q.done;
  ares_destroy(ch); /* a query still running completes with ARES_EDESTRUCTION */
  if (rc == 0 && finished) {
    if (q.status == ARES_SUCCESS)
      rc = wire_dns_addrs_from_ares(host, q.result, port, out, err);
    else
      rc = wire_dns_status_err(err, host, q.status);
  }
  if (q.result) ares_freeaddrinfo(q.result);
  return rc;
}
