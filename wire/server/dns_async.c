/* dns_async.c — c-ares driven by a libuv loop (see dns_async.h).
 *
 * One c-ares channel per query (queries are rare: once per scrape target or exporter connection). c-ares
 * tells us through its socket-state callback which sockets to watch; each gets a uv_poll handle. One timer
 * serves c-ares' retransmission timer, the caller's timeout, and the deferred delivery of results that were
 * known at once (literals, /etc/hosts), so the callback never runs from inside wire_dns_resolve_async.
 * Teardown never happens inside a c-ares callback: results are recorded there and delivered after
 * ares_process_fd returns. The query is freed when its last libuv handle has closed. */
#include "wire/server/dns_async.h"

#include <ares.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sock_watch {
  uv_poll_t poll;
  ares_socket_t fd;
  struct wire_dns_query *q;
  struct sock_watch *next;
} sock_watch;

struct wire_dns_query {
  uv_loop_t *loop;
  ares_channel ch;
  bool ch_live;
  uv_timer_t timer;
  sock_watch *watches;
  int handles_open;
  bool tearing_down;
  wire_dns_async_cb cb;
  void *ud;
  char host[256];
  uint16_t port;
  uint64_t deadline; /* loop time, ms */
  bool finished;     /* c-ares reported (or a literal was resolved) */
  bool delivered;    /* cb ran, or the query was cancelled */
  int status;
  struct ares_addrinfo *result;
  wire_addrs literal;
  bool is_literal;
};

static void query_handle_closed(uv_handle_t *h);
static void watch_poll_cb(uv_poll_t *p, int status, int events);
static void timer_cb(uv_timer_t *t);

static void query_maybe_free(wire_dns_query *q) {
  if (!q->tearing_down || q->handles_open) return;
  if (q->result) ares_freeaddrinfo(q->result);
  wire_addrs_free(&q->literal);
  free(q);
}

static void watch_closed(uv_handle_t *h) {
  sock_watch *w = h->data;
  wire_dns_query *q = w->q;
  free(w);
  q->handles_open--;
  query_maybe_free(q);
}

static void query_handle_closed(uv_handle_t *h) {
  wire_dns_query *q = h->data;
  q->handles_open--;
  query_maybe_free(q);
}

/* c-ares opens, changes or closes (readable = writable = 0) one of its sockets. Called before it closes the
 * socket, so the poll handle is stopped while the descriptor is still valid. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable) {
  wire_dns_query *q = data;
  sock_watch **pp = &q->watches, *w;
  while ((w = *pp) && w->fd != fd) pp = &w->next;
  if (!readable && !writable) {
    if (!w) return;
    *pp = w->next;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, watch_closed);
    return;
  }
  if (!w) {
    w = calloc(1, sizeof *w);
    if (!w) return; /* c-ares' timer still bounds the query */
    if (uv_poll_init_socket(q->loop, &w->poll, fd) != 0) {
      free(w);
      return;
    }
    w->fd = fd;
    w->q = q;
    w->poll.data = w;
    w->next = q->watches;
    q->watches = w;
    q->handles_open++;
  }
  uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), watch_poll_cb);
}

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  wire_dns_query *q = arg;
  if (q->finished) { /* the destruction notice after we gave up */
    if (res) ares_freeaddrinfo(res);
    return;
  }
  q->finished = true;
  q->status = status;
  q->result = res;
}

static void teardown(wire_dns_query *q) {
  if (q->tearing_down) return;
  q->tearing_down = true;
  q->finished = true; /* from now on c-ares' callbacks are notices of destruction */
  if (q->ch_live) {
    q->ch_live = false;
    ares_destroy(q->ch); /* closes its sockets: sock_state_cb closes the watches */
  }
  uv_close((uv_handle_t *)&q->timer, query_handle_closed);
}

static void deliver(wire_dns_query *q, const wire_addrs *addrs, const wire_err *err) {
  if (q->delivered) return;
  q->delivered = true;
  q->cb(q->ud, addrs, err);
  teardown(q);
}

static void deliver_result(wire_dns_query *q) {
  wire_err err = {0};
  if (q->is_literal) {
    deliver(q, &q->literal, NULL);
    return;
  }
  if (q->status != ARES_SUCCESS) {
    wire_dns_status_err(&err, q->host, q->status);
    deliver(q, NULL, &err);
    return;
  }
  wire_addrs addrs;
  if (wire_dns_addrs_from_ares(q->host, q->result, q->port, &addrs, &err) < 0) {
    deliver(q, NULL, &err);
    return;
  }
  deliver(q, &addrs, NULL);
  wire_addrs_free(&addrs);
}

/* After c-ares ran: deliver when done, else re-arm the timer for c-ares' next timeout or our deadline. */
static void after_process(wire_dns_query *q) {
  if (q->delivered) return;
  if (q->finished) {
    deliver_result(q);
    return;
  }
  uint64_t now = uv_now(q->loop);
  uint64_t wait = q->deadline > now ? q->deadline - now : 0;
  struct timeval tv, *tvp = ares_timeout(q->ch, NULL, &tv);
  if (tvp) {
    uint64_t ares_ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    if (ares_ms < wait) wait = ares_ms;
  }
  uv_timer_start(&q->timer, timer_cb, wait, 0);
}

static void watch_poll_cb(uv_poll_t *p, int status, int events) {
  sock_watch *w = p->data;
  wire_dns_query *q = w->q;
  if (q->delivered) return;
  ares_socket_t rd = (status < 0 || (events & UV_READABLE)) ? w->fd : ARES_SOCKET_BAD;
  ares_socket_t wr = (status < 0 || (events & UV_WRITABLE)) ? w->fd : ARES_SOCKET_BAD;
  ares_process_fd(q->ch, rd, wr); /* may close w (sock_state_cb): do not touch it afterwards */
  after_process(q);
}

static void timer_cb(uv_timer_t *t) {
  wire_dns_query *q = t->data;
  if (q->delivered) return;
  if (!q->finished && uv_now(q->loop) >= q->deadline) {
    wire_err err;
    wire_err_set(&err, WIRE_E_TIMEOUT, "dns: resolving %s: timed out", q->host);
    deliver(q, NULL, &err);
    return;
  }
  if (!q->finished) ares_process_fd(q->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  after_process(q);
}

wire_dns_query *wire_dns_resolve_async(uv_loop_t *loop, const char *host, uint16_t port, uint64_t timeout_ms,
                                       wire_dns_async_cb cb, void *ud, wire_err *err) {
  if (!host || !*host) {
    wire_err_set(err, WIRE_E_DNS, "dns: empty host name");
    return NULL;
  }
  if (strlen(host) >= sizeof((wire_dns_query *)0)->host) {
    wire_err_set(err, WIRE_E_DNS, "dns: host name longer than 255 bytes");
    return NULL;
  }
  if (!timeout_ms) timeout_ms = 10000;
  wire_dns_query *q = calloc(1, sizeof *q);
  if (!q) {
    wire_err_set(err, WIRE_E_NOMEM, "dns: out of memory");
    return NULL;
  }
  q->loop = loop;
  q->cb = cb;
  q->ud = ud;
  q->port = port;
  snprintf(q->host, sizeof q->host, "%s", host);
  q->deadline = uv_now(loop) + timeout_ms;
  int lit = wire_dns_resolve_literal(host, port, &q->literal, err);
  if (lit < 0) {
    free(q);
    return NULL;
  }
  if (lit > 0) {
    q->is_literal = q->finished = true;
  } else {
    if (wire_dns_library_init(err) < 0) {
      free(q);
      return NULL;
    }
    struct ares_options opts;
    int mask = wire_dns_ares_options(&opts, (int)(timeout_ms / 3 > 2000 ? 2000 : timeout_ms / 3));
    opts.sock_state_cb = sock_state_cb;
    opts.sock_state_cb_data = q;
    int st = ares_init_options(&q->ch, &opts, mask | ARES_OPT_SOCK_STATE_CB);
    if (st != ARES_SUCCESS) {
      wire_err_set(err, WIRE_E_DNS, "dns: resolving %s: c-ares channel: %s", host, ares_strerror(st));
      free(q);
      return NULL;
    }
    q->ch_live = true;
  }
  uv_timer_init(loop, &q->timer);
  q->timer.data = q;
  q->handles_open = 1;
  if (q->ch_live) {
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    ares_getaddrinfo(q->ch, host, NULL, &hints, addrinfo_cb, q);
  }
  if (q->finished)
    uv_timer_start(&q->timer, timer_cb, 0, 0); /* deliver from the loop, not from here */
  else
    after_process(q);
  return q;
}

void wire_dns_query_cancel(wire_dns_query *q) {
  if (!q || q->delivered) return;
  q->delivered = true;
  teardown(q);
}
