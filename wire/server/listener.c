/* listener.c — accepts connections on a libuv loop and drives each one (listener.h and sconn.h).
 *
 * I/O model: readiness, not completion. The listening socket and every accepted socket are watched with a
 * uv_poll handle, and we call accept4/recv/send — or, for TLS, SSL_read/SSL_write through tls.c's SIGPIPE-free
 * socket BIO — on the fd ourselves when it is ready. Why not uv_tcp_t with memory BIOs: OpenSSL would then
 * need every byte copied in and out of BIO pairs plus a second queue of libuv write requests; with readiness
 * OpenSSL reads the kernel buffer directly, plaintext and TLS share one code path, a write that fits the
 * socket buffer goes out at once without any copy or allocation, and only the remainder is queued.
 *
 * Each connection has one poll handle and one timer. The timer serves every deadline (handshake/first bytes,
 * idle, close flush, linger) and also "kicks": work that must not run inside a driver's call into us.
 * The rules that keep the driver contract (on_close exactly once, driver never touched afterwards):
 *   - driver callbacks (on_data, on_drain, on_shutdown, on_close) run only from our own poll/timer callbacks, never from
 *     inside a wire_sconn_* call made by the driver; such calls only set flags and kick the timer;
 *   - all state changes that end a connection go through advance(), which runs at the end of each callback;
 *   - memory is freed only from libuv close callbacks, so `c` stays valid through any callback that is on
 *     the stack.
 * Backpressure: a write is refused past max_pending_output; reading pauses while the queue holds more than
 * half of it and resumes when it drains to zero (on_drain). Graceful closes by the driver shut down our
 * sending side and read-and-discard until the peer closes or 2 s pass ("lingering close"), so a peer whose
 * request we did not read still receives our last response instead of a reset. */
#define _GNU_SOURCE /* accept4 */
#include "wire/server/listener.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire/clock.h"
#include "wire/dns.h"
#include "wire/endpoint.h"

#define READ_BUF_SIZE (64 * 1024)
#define READ_BUDGET 16          /* reads per readiness event before yielding to other connections */
#define ACCEPT_BUDGET 128       /* accepts per readiness event */
#define CLOSE_FLUSH_MS 5000     /* graceful close: how long queued output may take to flush */
#define LINGER_MS 2000          /* lingering close: how long we wait for the peer to close */
#define ACCEPT_BACKOFF_MS 100   /* out of file descriptors: pause accepting */
#define STOP_GRACE_MS 5000      /* wire_listener_stop: how long drivers with on_shutdown may finish */
#define FIRST_BYTES_GRACE_MS 2000 /* wire_listener_stop: how long a connection accepted moments ago (nothing
                                   read yet) may take to deliver its first request */
#define YOUNG_H2_MS 1000        /* wire_listener_stop: an HTTP/2 connection that began less than this long ago is
                                   told of the stop only at this age (see young_h2) */
#define PARK_KEY_SIZE 128

static const char H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

typedef enum sconn_state {
  S_HANDSHAKE, /* TLS handshake running */
  S_SNIFF,     /* plaintext: waiting for the first bytes to pick the protocol */
  S_ACTIVE,    /* a driver is attached */
  S_CLOSING,   /* flushing queued output before closing */
  S_LINGER,    /* driver gone, our side shut down, discarding input until the peer closes */
  S_CLOSED,    /* handles closing; freed by their close callbacks */
} sconn_state;

struct wire_sconn {
  wire_listener *l;
  wire_sconn *prev, *next;
  int fd;
  SSL *ssl;
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open;
  sconn_state state;
  const wire_sconn_driver *drv;
  void *self;
  /* output queue: bytes [out_off, out_off + out_len) of out */
  uint8_t *out;
  size_t out_off, out_len, out_cap;
  int events;            /* uv_poll events currently requested */
  bool in_cb;            /* one of our callbacks for this connection is on the stack */
  bool in_timer;         /* ... and it is the timer callback */
  bool kicked;           /* advance() must run soon from the timer */
  bool timer_armed;
  uint64_t timer_due;    /* loop time (ms) the timer fires */
  uint64_t deadline;     /* handshake / close / linger deadline (loop ms) */
  uint64_t last_activity;
  uint64_t attached_at;  /* loop time the driver was attached */
  /* HTTP/2 and young: the client's first HEADERS often come in a later read than the preface that attached the
   * driver, and a GOAWAY sent before them refuses that first request (RFC 9113 §6.8 asks servers to allow a round
   * trip for in-flight stream creation). So a stop is told to such a connection only when it is YOUNG_H2_MS
   * old. HTTP/1.1 needs no such delay: its first request arrives with the bytes that attached the driver. */
  bool young_h2;
  bool paused_by_driver, paused_by_output;
  bool close_requested, abort, linger_wanted;
  bool shutdown_requested, shutdown_notified; /* listener stopping: the driver finishes, then closes */
  bool peer_eof, io_error;
  bool read_wants_write, write_wants_read, hs_wants_write;
  uint8_t sniff[H2_PREFACE_LEN];
  size_t sniff_len;
  char peer[64];
};

struct wire_listener {
  uv_loop_t *loop;
  wire_listener_config cfg; /* defaults applied; endpoint not kept */
  wire_listener_attach_fn attach;
  void *ud;
  int fd;
  uv_poll_t poll;
  uv_timer_t accept_timer;
  int handles_open;
  bool accepting;
  uint16_t port;
  bool is_unix;
  char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char park_key[PARK_KEY_SIZE]; /* "tcp 127.0.0.1:4318" / "unix /run/x.sock"; empty: never parked (port 0) */
  bool adopted;                 /* the socket was taken over from a parked one (tests, logs) */
  wire_sconn *conns;
  atomic_size_t nconns; /* written on the loop thread; read from any thread (wire_listener_connections) */
  bool stopping;
  void (*done)(void *arg);
  void *done_arg;
  uint8_t *rbuf;
};

static void advance(wire_sconn *c);
static void conn_poll_cb(uv_poll_t *h, int status, int events);

/* ---- small helpers ----------------------------------------------------------------------------------- */

static uint64_t now_ms(const wire_sconn *c) { return uv_now(c->l->loop); }

static bool reading_allowed(const wire_sconn *c) {
  return (c->state == S_SNIFF || c->state == S_ACTIVE) && !c->paused_by_driver && !c->paused_by_output &&
         !c->close_requested && !c->abort;
}

static void timer_cb(uv_timer_t *t);

static void arm_timer(wire_sconn *c) {
  if (c->state == S_CLOSED) return;
  uint64_t now = now_ms(c), due;
  if (c->kicked)
    due = now + (c->in_timer ? 1 : 0); /* libuv 1.44 would rerun a 0 ms timer in the same pass, starving I/O */
  else if (c->state == S_ACTIVE) {
    due = c->last_activity + c->l->cfg.idle_timeout_ms;
    if (c->shutdown_requested && c->deadline < due) due = c->deadline; /* stop grace period */
    if (c->shutdown_requested && !c->shutdown_notified && c->young_h2 && c->attached_at + YOUNG_H2_MS < due)
      due = c->attached_at + YOUNG_H2_MS; /* tell a young HTTP/2 connection of the stop when it comes of age */
  }
  else
    due = c->deadline;
  if (c->timer_armed && c->timer_due <= due) return; /* fires earlier and re-evaluates */
  c->timer_armed = true;
  c->timer_due = due;
  uv_timer_start(&c->timer, timer_cb, due > now ? due - now : 0, 0);
}

/* Asks for advance() soon, from our own callback: safe to call from inside a driver's call. */
static void kick(wire_sconn *c) {
  if (c->state == S_CLOSED) return;
  c->kicked = true;
  if (!c->in_cb) arm_timer(c);
}

static void update_events(wire_sconn *c) {
  if (c->state == S_CLOSED) return;
  int ev = 0;
  switch (c->state) {
  case S_HANDSHAKE: ev = c->hs_wants_write ? UV_WRITABLE : UV_READABLE; break;
  case S_SNIFF:
  case S_ACTIVE:
  case S_CLOSING:
    if (reading_allowed(c) || c->write_wants_read) ev |= UV_READABLE;
    if (c->out_len || c->read_wants_write) ev |= UV_WRITABLE;
    break;
  case S_LINGER: ev = UV_READABLE; break;
  case S_CLOSED: break;
  }
  if (ev == c->events) return;
  c->events = ev;
  if (ev)
    uv_poll_start(&c->poll, ev, conn_poll_cb);
  else
    uv_poll_stop(&c->poll);
}

/* ---- raw I/O: plaintext or TLS on the fd ------------------------------------------------------------ */

/* >0 bytes read, 0 EOF, -1 would block, -2 error. */
static ssize_t raw_read(wire_sconn *c, uint8_t *buf, size_t cap) {
  if (c->ssl) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(c->ssl, buf, (int)cap);
    c->read_wants_write = false;
    if (r > 0) {
      c->last_activity = now_ms(c);
      return r;
    }
    int saved = errno;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: return -1;
    case SSL_ERROR_WANT_WRITE: c->read_wants_write = true; return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
      if (saved == 0) return 0;
      /* fall through */
    default: ERR_clear_error(); return -2;
    }
  }
  for (;;) {
    ssize_t r = recv(c->fd, buf, cap, 0);
    if (r > 0) c->last_activity = now_ms(c);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
  }
}

/* Bytes written (0: would block), or -2 on error. */
static ssize_t raw_write(wire_sconn *c, const uint8_t *p, size_t n) {
  if (n == 0) return 0;
  if (c->ssl) {
    ERR_clear_error();
    int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    c->write_wants_read = false;
    if (r > 0) {
      c->last_activity = now_ms(c);
      return r;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_WRITE: return 0;
    case SSL_ERROR_WANT_READ: c->write_wants_read = true; return 0;
    default: ERR_clear_error(); return -2;
    }
  }
  for (;;) {
    ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
    if (r > 0) c->last_activity = now_ms(c);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -2;
  }
}

static void fail(wire_sconn *c) {
  c->io_error = true;
  c->abort = true;
}

/* ---- output queue ----------------------------------------------------------------------------------- */

static int queue_append(wire_sconn *c, const uint8_t *p, size_t n) {
  if (c->out_off + c->out_len + n > c->out_cap) {
    if (c->out_off) { /* compact first */
      memmove(c->out, c->out + c->out_off, c->out_len);
      c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 16 * 1024;
      while (cap < c->out_len + n) cap *= 2;
      uint8_t *q = realloc(c->out, cap);
      if (!q) return -1;
      c->out = q;
      c->out_cap = cap;
    }
  }
  memcpy(c->out + c->out_off + c->out_len, p, n);
  c->out_len += n;
  return 0;
}

/* Writes queued output as far as the socket allows. Calls on_drain (from our callbacks only) when the queue
 * empties while a driver is attached. */
static void flush(wire_sconn *c) {
  if (!c->out_len || c->io_error) return;
  while (c->out_len) {
    ssize_t w = raw_write(c, c->out + c->out_off, c->out_len);
    if (w < 0) {
      fail(c);
      return;
    }
    if (w == 0) return;
    c->out_off += (size_t)w;
    c->out_len -= (size_t)w;
  }
  c->out_off = 0;
  if (c->out_cap > 1024 * 1024) { /* a burst is over: give the memory back */
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
  }
  c->paused_by_output = false;
  if (c->state == S_ACTIVE && c->drv && c->drv->on_drain && !c->close_requested && !c->abort)
    c->drv->on_drain(c->self);
}

/* ---- closing ---------------------------------------------------------------------------------------- */

static void call_on_close(wire_sconn *c) {
  const wire_sconn_driver *d = c->drv;
  c->drv = NULL;
  if (d && d->on_close) d->on_close(c->self);
  c->self = NULL;
}

static void listener_check_done(wire_listener *l);

static void conn_free(wire_sconn *c) {
  wire_listener *l = c->l;
  if (c->fd >= 0) close(c->fd);
  if (c->ssl) { /* plaintext connections never touch OpenSSL: its error state would initialise (~1.3 MiB RSS) */
    SSL_free(c->ssl);
    ERR_clear_error();
  }
  free(c->out);
  if (c->prev)
    c->prev->next = c->next;
  else
    l->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  l->nconns--;
  free(c);
  listener_check_done(l);
}

static void conn_handle_closed(uv_handle_t *h) {
  wire_sconn *c = h->data;
  if (--c->handles_open == 0) conn_free(c);
}

static void destroy(wire_sconn *c) {
  if (c->state == S_CLOSED) return;
  c->state = S_CLOSED;
  uv_close((uv_handle_t *)&c->poll, conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* The driver is told, then the connection either lingers (graceful close we initiated with the peer still
 * sending) or goes at once. */
static void finish_close(wire_sconn *c, bool graceful) {
  bool linger = graceful && c->linger_wanted && !c->peer_eof && !c->io_error;
  c->state = linger ? S_LINGER : S_CLOSING; /* not S_CLOSED yet: destroy() does that */
  call_on_close(c);
  if (c->state == S_CLOSED) return;
  if (graceful && !c->io_error) {
    if (c->ssl) {
      ERR_clear_error();
      (void)SSL_shutdown(c->ssl); /* close_notify, once, without waiting for the peer's */
      ERR_clear_error();
    }
    if (linger) {
      shutdown(c->fd, SHUT_WR);
      c->deadline = now_ms(c) + LINGER_MS;
      c->kicked = false;
      update_events(c);
      arm_timer(c);
      return;
    }
  }
  destroy(c);
}

/* Runs at the end of every callback for c: tells the driver of a stop, applies requested closes, refreshes
 * poll events and timer. */
static void advance(wire_sconn *c) {
  if (c->state == S_CLOSED || c->state == S_LINGER) {
    if (c->state == S_LINGER && c->abort) destroy(c);
    return;
  }
  if (c->shutdown_requested && !c->shutdown_notified && c->state == S_ACTIVE && !c->close_requested &&
      !c->abort && c->drv && (!c->young_h2 || now_ms(c) >= c->attached_at + YOUNG_H2_MS)) {
    c->shutdown_notified = true;
    if (c->drv->on_shutdown) {
      c->in_cb = true;
      c->drv->on_shutdown(c->self);
      c->in_cb = false;
    } else { /* (a connection that was still sniffing when the stop began) */
      c->close_requested = true;
      c->linger_wanted = false;
    }
  }
  if (c->abort) {
    if (c->state == S_HANDSHAKE || c->state == S_SNIFF) {
      destroy(c);
      return;
    }
    finish_close(c, false);
    return;
  }
  if (c->close_requested && c->state != S_CLOSING) {
    if (c->state == S_HANDSHAKE || c->state == S_SNIFF) { /* no driver yet */
      destroy(c);
      return;
    }
    c->state = S_CLOSING;
    c->deadline = now_ms(c) + CLOSE_FLUSH_MS;
  }
  if (c->state == S_CLOSING) {
    flush(c);
    if (c->io_error) {
      finish_close(c, false);
      return;
    }
    if (!c->out_len) {
      finish_close(c, true);
      return;
    }
  }
  if (c->state == S_ACTIVE && reading_allowed(c) && c->ssl && SSL_has_pending(c->ssl)) c->kicked = true;
  update_events(c);
  arm_timer(c);
}

/* ---- protocol choice and data delivery -------------------------------------------------------------- */

static void deliver(wire_sconn *c, const uint8_t *p, size_t n) {
  if (!n || c->state != S_ACTIVE || !c->drv || c->close_requested || c->abort) return;
  if (c->drv->on_data(c->self, p, n) < 0) {
    c->close_requested = true;
    c->linger_wanted = true;
  }
}

static void attach_driver(wire_sconn *c, const char *protocol) {
  c->state = S_ACTIVE;
  c->last_activity = c->attached_at = now_ms(c);
  c->young_h2 = strcmp(protocol, "h2") == 0;
  void *self = NULL;
  const wire_sconn_driver *d = c->l->attach(c->l->ud, c, protocol, &self);
  if (!d) {
    c->abort = true;
    return;
  }
  c->drv = d;
  c->self = self;
  if (c->shutdown_requested) /* accepted just before a stop: the grace counts from its first bytes */
    c->deadline = c->last_activity + (c->young_h2 ? YOUNG_H2_MS : 0) + STOP_GRACE_MS;
}

static void sniff(wire_sconn *c, const uint8_t *p, size_t n) {
  size_t had = c->sniff_len;
  size_t take = n < H2_PREFACE_LEN - had ? n : H2_PREFACE_LEN - had;
  memcpy(c->sniff + had, p, take);
  c->sniff_len += take;
  bool prefix = memcmp(c->sniff, H2_PREFACE, c->sniff_len) == 0;
  if (prefix && c->sniff_len < H2_PREFACE_LEN) return; /* undecided: wait for more */
  attach_driver(c, prefix ? "h2" : "http/1.1");
  if (had == 0) {
    deliver(c, p, n);
  } else {
    deliver(c, c->sniff, c->sniff_len);
    deliver(c, p + take, n - take);
  }
}

static void do_read(wire_sconn *c) {
  for (int i = 0; i < READ_BUDGET; i++) {
    if (!reading_allowed(c)) return;
    ssize_t n = raw_read(c, c->l->rbuf, READ_BUF_SIZE);
    if (n == -1) return;
    if (n == -2) {
      fail(c);
      return;
    }
    if (n == 0) {
      c->peer_eof = true;
      c->close_requested = true;
      return;
    }
    if (c->state == S_SNIFF)
      sniff(c, c->l->rbuf, (size_t)n);
    else
      deliver(c, c->l->rbuf, (size_t)n);
  }
  c->kicked = true; /* budget used up: come back from the timer after other work */
}

static void do_handshake(wire_sconn *c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r != 1) {
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      c->hs_wants_write = e == SSL_ERROR_WANT_WRITE;
      return;
    }
    fail(c); /* bad handshake: nothing to tell anyone, the peer got its alert */
    return;
  }
  const unsigned char *proto = NULL;
  unsigned plen = 0;
  SSL_get0_alpn_selected(c->ssl, &proto, &plen);
  attach_driver(c, plen == 2 && memcmp(proto, "h2", 2) == 0 ? "h2" : "http/1.1");
  do_read(c); /* the client's first request may have arrived with its Finished message */
}

/* ---- libuv callbacks -------------------------------------------------------------------------------- */

static void linger_read(wire_sconn *c) {
  for (int i = 0; i < READ_BUDGET; i++) {
    ssize_t r = recv(c->fd, c->l->rbuf, READ_BUF_SIZE, 0);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    destroy(c); /* EOF or error: done */
    return;
  }
}

static void conn_poll_cb(uv_poll_t *h, int status, int events) {
  wire_sconn *c = h->data;
  if (c->state == S_CLOSED) return;
  c->in_cb = true;
  if (status < 0) {
    fail(c);
  } else if (c->state == S_LINGER) {
    linger_read(c);
  } else if (c->state == S_HANDSHAKE) {
    do_handshake(c);
  } else {
    if ((events & UV_WRITABLE) || (c->write_wants_read && (events & UV_READABLE))) flush(c);
    if ((events & UV_READABLE) || (c->read_wants_write && (events & UV_WRITABLE))) do_read(c);
  }
  c->in_cb = false;
  advance(c);
}

static void timer_cb(uv_timer_t *t) {
  wire_sconn *c = t->data;
  c->timer_armed = false;
  c->kicked = false;
  if (c->state == S_CLOSED) return;
  uint64_t now = now_ms(c);
  c->in_cb = c->in_timer = true;
  switch (c->state) {
  case S_HANDSHAKE:
  case S_SNIFF:
  case S_CLOSING:
    if (now >= c->deadline) c->abort = true;
    break;
  case S_LINGER:
    if (now >= c->deadline) destroy(c);
    break;
  case S_ACTIVE:
    if (now - c->last_activity >= c->l->cfg.idle_timeout_ms || (c->shutdown_requested && now >= c->deadline)) {
      if (c->out_len)
        c->abort = true; /* the peer does not read what we send */
      else
        c->close_requested = true;
    } else if (reading_allowed(c)) {
      do_read(c); /* a kick: input left in OpenSSL's buffer, or a read budget ran out */
    }
    break;
  case S_CLOSED: break;
  }
  c->in_cb = false;
  advance(c);
  c->in_timer = false;
}

static void conn_new(wire_listener *l, int fd, const struct sockaddr *sa) {
  wire_sconn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return;
  }
  c->l = l;
  c->fd = fd;
  if (sa->sa_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  wire_addr_format(sa, c->peer, sizeof c->peer);
  if (l->cfg.tls) {
    c->ssl = wire_tls_server_ssl(l->cfg.tls, fd, NULL);
    if (!c->ssl) {
      close(fd);
      free(c);
      ERR_clear_error();
      return;
    }
  }
  if (uv_poll_init_socket(l->loop, &c->poll, fd) != 0) {
    SSL_free(c->ssl);
    close(fd);
    free(c);
    return;
  }
  uv_timer_init(l->loop, &c->timer);
  c->poll.data = c->timer.data = c;
  c->handles_open = 2;
  c->next = l->conns;
  if (l->conns) l->conns->prev = c;
  l->conns = c;
  l->nconns++;
  c->state = c->ssl ? S_HANDSHAKE : S_SNIFF;
  c->last_activity = now_ms(c);
  c->deadline = c->last_activity + l->cfg.handshake_timeout_ms;
  update_events(c);
  arm_timer(c);
}

static void accept_timer_cb(uv_timer_t *t);

static void listen_poll_cb(uv_poll_t *h, int status, int events) {
  (void)events;
  wire_listener *l = h->data;
  if (l->stopping || status < 0) return;
  for (int i = 0; i < ACCEPT_BUDGET; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* Out of descriptors or memory: stop accepting for a moment rather than spin on a ready socket. */
        uv_poll_stop(&l->poll);
        l->accepting = false;
        uv_timer_start(&l->accept_timer, accept_timer_cb, ACCEPT_BACKOFF_MS, 0);
      }
      return;
    }
    if (l->nconns >= l->cfg.max_connections) {
      close(fd); /* over the limit: accepted and closed at once, so the backlog never fills */
      continue;
    }
    if (sl == 0 || ss.ss_family == AF_UNSPEC) ss.ss_family = AF_UNIX;
    conn_new(l, fd, (struct sockaddr *)&ss);
  }
}

static void accept_timer_cb(uv_timer_t *t) {
  wire_listener *l = t->data;
  if (l->stopping || l->accepting) return;
  l->accepting = true;
  uv_poll_start(&l->poll, UV_READABLE, listen_poll_cb);
}

/* ---- listening sockets kept across a reload ----------------------------------------------------------
 * Between wire_listener_reload_begin and _end, a listener that stops does not close its listening socket but
 * parks it here under its key (the resolved address, "tcp 127.0.0.1:4318", or "unix <path>"); a listener
 * started for the same key takes it over instead of binding. The kernel goes on completing handshakes into
 * the parked socket's backlog, so a client connecting in between waits instead of being refused, and the new
 * listener accepts it. Port 0 listeners are never parked (each wants a fresh port). Process-wide, under a
 * mutex: listeners may live on several loops (tests). */

typedef struct parked_socket {
  struct parked_socket *next;
  char key[PARK_KEY_SIZE];
  int fd;
  uint16_t port;
  bool is_unix;
  char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} parked_socket;

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static parked_socket *parked_list;
static int reload_depth; /* > 0: stopping listeners park their sockets */

static void parked_close(parked_socket *p) {
  close(p->fd);
  if (p->is_unix) unlink(p->unix_path);
  free(p);
}

void wire_listener_reload_begin(void) {
  pthread_mutex_lock(&park_mu);
  reload_depth++;
  pthread_mutex_unlock(&park_mu);
}

void wire_listener_reload_end(void) {
  pthread_mutex_lock(&park_mu);
  parked_socket *orphans = NULL;
  if (reload_depth > 0 && --reload_depth == 0) {
    orphans = parked_list;
    parked_list = NULL;
  }
  pthread_mutex_unlock(&park_mu);
  while (orphans) {
    parked_socket *next = orphans->next;
    parked_close(orphans);
    orphans = next;
  }
}

size_t wire_listener_parked(void) {
  pthread_mutex_lock(&park_mu);
  size_t n = 0;
  for (parked_socket *p = parked_list; p; p = p->next) n++;
  pthread_mutex_unlock(&park_mu);
  return n;
}

/* Parks l's socket when a reload is under way and l may be parked; false when the caller should close it. */
static bool park(wire_listener *l) {
  if (!l->park_key[0]) return false;
  parked_socket *p = calloc(1, sizeof *p);
  if (!p) return false;
  memcpy(p->key, l->park_key, sizeof p->key);
  p->fd = l->fd;
  p->port = l->port;
  p->is_unix = l->is_unix;
  memcpy(p->unix_path, l->unix_path, sizeof p->unix_path);
  pthread_mutex_lock(&park_mu);
  bool parking = reload_depth > 0;
  if (parking) {
    p->next = parked_list;
    parked_list = p;
  }
  pthread_mutex_unlock(&park_mu);
  if (!parking) free(p);
  return parking;
}

/* Takes the parked socket of `key` out of the registry: its fd, or -1 when there is none. */
static int adopt(const char *key) {
  pthread_mutex_lock(&park_mu);
  parked_socket **pp = &parked_list, *found = NULL;
  for (; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      found = *pp;
      *pp = found->next;
      break;
    }
  }
  pthread_mutex_unlock(&park_mu);
  if (!found) return -1;
  int fd = found->fd;
  free(found);
  return fd;
}

/* Closes the parked TCP sockets bound to `port` on another address (the new configuration moved the endpoint
 * from 0.0.0.0:4317 to 127.0.0.1:4317, say): they would make its bind fail. Returns how many. */
static size_t close_parked_port(uint16_t port) {
  parked_socket *victims = NULL;
  pthread_mutex_lock(&park_mu);
  for (parked_socket **pp = &parked_list; *pp;) {
    parked_socket *p = *pp;
    if (!p->is_unix && p->port == port) {
      *pp = p->next;
      p->next = victims;
      victims = p;
    } else {
      pp = &p->next;
    }
  }
  pthread_mutex_unlock(&park_mu);
  size_t n = 0;
  for (; victims; n++) {
    parked_socket *next = victims->next;
    parked_close(victims);
    victims = next;
  }
  return n;
}

/* ---- listener --------------------------------------------------------------------------------------- */

/* Splits "host:port", "[v6]:port", ":port" (all interfaces) or "unix://path" into an endpoint. */
static int parse_listen_endpoint(const char *text, wire_endpoint *ep, wire_err *err) {
  if (!text || !*text) return wire_err_set(err, WIRE_E_INVALID, "listen: empty endpoint");
  char buf[300];
  if (text[0] == ':') {
    snprintf(buf, sizeof buf, "0.0.0.0%.280s", text);
    text = buf;
  }
  if (wire_endpoint_parse(text, 0, ep, err) < 0) {
    wire_err_prefix(err, "listen: ");
    return -1;
  }
  if (ep->is_unix) return 0;
  if (ep->tls || ep->path[0] || (ep->scheme[0] && strcmp(ep->scheme, "http") != 0))
    return wire_err_set(err, WIRE_E_INVALID, "listen %.200s: endpoint must be host:port", ep->host);
  size_t n = strlen(text);
  if (ep->port == 0 && !(n >= 2 && text[n - 2] == ':' && text[n - 1] == '0'))
    return wire_err_set(err, WIRE_E_INVALID, "listen %.200s: missing port (host:port, port 0 for any)", ep->host);
  return 0;
}

static int bind_unix(wire_listener *l, const char *path, int backlog, wire_err *err) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n >= sizeof sun.sun_path)
    return wire_err_set(err, WIRE_E_INVALID, "listen unix:%.100s: path too long", path);
  memcpy(sun.sun_path, path, n + 1);
  snprintf(l->park_key, sizeof l->park_key, "unix %s", path);
  if (strlen(path) + 5 >= sizeof l->park_key) l->park_key[0] = '\0'; /* too long to be a key: never parked */
  int fd = l->park_key[0] ? adopt(l->park_key) : -1;
  if (fd >= 0) { /* a reload: the previous listener's socket, still bound and listening */
    if (listen(fd, backlog) < 0) { /* (only updates the backlog) */
      int e = errno;
      close(fd);
      unlink(path);
      return wire_err_set(err, WIRE_E_IO, "listen unix:%.100s: %s", path, strerror(e));
    }
    l->adopted = true;
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return wire_err_set(err, WIRE_E_IO, "listen unix:%.100s: socket: %s", path, strerror(errno));
    /* A socket file left by a previous run: remove it if nobody listens on it any more. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
      int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (probe >= 0) {
        int r = connect(probe, (struct sockaddr *)&sun, sizeof sun);
        int e = errno;
        close(probe);
        if (r == 0) {
          close(fd);
          return wire_err_set(err, WIRE_E_IO, "listen unix:%.100s: address in use by a running server", path);
        }
        if (e == ECONNREFUSED) unlink(path);
      }
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, backlog) < 0) {
      int e = errno;
      close(fd);
      return wire_err_set(err, WIRE_E_IO, "listen unix:%.100s: %s", path, strerror(e));
    }
  }
  l->is_unix = true;
  memcpy(l->unix_path, path, n + 1);
  return fd;
}

/* socket + SO_REUSEADDR + bind + listen; -1 with errno set. */
static int bind_listen(const struct sockaddr *sa, socklen_t len, int backlog) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int bind_tcp(wire_listener *l, const wire_endpoint *ep, int backlog, wire_err *err) {
  wire_addrs addrs;
  if (wire_dns_resolve(ep->host, ep->port, wire_now_ns() + 5000000000LL, &addrs, err) < 0) {
    wire_err_prefix(err, "listen: ");
    return -1;
  }
  const struct sockaddr *sa = (struct sockaddr *)&addrs.v[0].sa;
  char name[80];
  wire_addr_format(sa, name, sizeof name);
  if (ep->port != 0) snprintf(l->park_key, sizeof l->park_key, "tcp %s", name);
  int fd = l->park_key[0] ? adopt(l->park_key) : -1;
  if (fd >= 0) { /* a reload: the previous listener's socket, still bound and listening */
    if (listen(fd, backlog) < 0) { /* (only updates the backlog) */
      int e = errno;
      close(fd);
      wire_addrs_free(&addrs);
      return wire_err_set(err, WIRE_E_IO, "listen %s: %s", name, strerror(e));
    }
    l->adopted = true;
  } else {
    fd = bind_listen(sa, addrs.v[0].len, backlog);
    /* The port may be held by a parked socket on another address of this host: free it and try again. */
    if (fd < 0 && errno == EADDRINUSE && ep->port != 0 && close_parked_port(ep->port) > 0)
      fd = bind_listen(sa, addrs.v[0].len, backlog);
    if (fd < 0) {
      int e = errno;
      wire_addrs_free(&addrs);
      return wire_err_set(err, WIRE_E_IO, "listen %s: %s", name, strerror(e));
    }
  }
  wire_addrs_free(&addrs);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* Closes l's listening socket, or parks it during a reload. */
static void release_socket(wire_listener *l) {
  if (l->fd < 0) return;
  if (!park(l)) {
    close(l->fd);
    if (l->is_unix) unlink(l->unix_path);
  }
  l->fd = -1;
}

wire_listener *wire_listener_start(uv_loop_t *loop, const wire_listener_config *cfg, wire_listener_attach_fn attach,
                                   void *ud, wire_err *err) {
  wire_endpoint ep;
  if (parse_listen_endpoint(cfg->endpoint, &ep, err) < 0) return NULL;
  wire_listener *l = calloc(1, sizeof *l);
  uint8_t *rbuf = malloc(READ_BUF_SIZE);
  if (!l || !rbuf) {
    free(l);
    free(rbuf);
    wire_err_set(err, WIRE_E_NOMEM, "listen: out of memory");
    return NULL;
  }
  l->rbuf = rbuf;
  l->loop = loop;
  l->cfg = *cfg;
  l->cfg.endpoint = NULL;
  if (!l->cfg.max_connections) l->cfg.max_connections = 4096;
  if (!l->cfg.idle_timeout_ms) l->cfg.idle_timeout_ms = 120000;
  if (!l->cfg.handshake_timeout_ms) l->cfg.handshake_timeout_ms = 10000;
  if (!l->cfg.max_pending_output) l->cfg.max_pending_output = 16 * 1024 * 1024;
  if (l->cfg.backlog <= 0) l->cfg.backlog = 511;
  l->attach = attach;
  l->ud = ud;
  l->fd = ep.is_unix ? bind_unix(l, ep.host, l->cfg.backlog, err) : bind_tcp(l, &ep, l->cfg.backlog, err);
  if (l->fd < 0) {
    free(l->rbuf);
    free(l);
    return NULL;
  }
  if (uv_poll_init_socket(loop, &l->poll, l->fd) != 0) {
    release_socket(l); /* (an adopted socket goes back to the parked ones during a reload) */
    free(l->rbuf);
    free(l);
    wire_err_set(err, WIRE_E_IO, "listen: cannot watch the socket");
    return NULL;
  }
  uv_timer_init(loop, &l->accept_timer);
  l->poll.data = l->accept_timer.data = l;
  l->handles_open = 2;
  l->accepting = true;
  uv_poll_start(&l->poll, UV_READABLE, listen_poll_cb);
  return l;
}

uint16_t wire_listener_port(const wire_listener *l) { return l->port; }

bool wire_listener_adopted(const wire_listener *l) { return l->adopted; }

size_t wire_listener_connections(const wire_listener *l) {
  return atomic_load_explicit(&((wire_listener *)l)->nconns, memory_order_relaxed);
}

static void listener_check_done(wire_listener *l) {
  if (!l->stopping || l->handles_open || l->nconns) return;
  void (*done)(void *) = l->done;
  void *arg = l->done_arg;
  free(l->rbuf);
  free(l);
  if (done) done(arg);
}

static void listener_handle_closed(uv_handle_t *h) {
  wire_listener *l = h->data;
  if (--l->handles_open == 0) {
    release_socket(l); /* libuv no longer watches the fd: it may be closed, or parked for the next listener */
    listener_check_done(l);
  }
}

void wire_listener_stop(wire_listener *l, void (*done)(void *arg), void *arg) {
  if (l->stopping) return;
  l->stopping = true;
  l->done = done;
  l->done_arg = arg;
  uv_close((uv_handle_t *)&l->poll, listener_handle_closed);
  uv_close((uv_handle_t *)&l->accept_timer, listener_handle_closed);
  for (wire_sconn *c = l->conns; c; c = c->next) {
    if (c->state == S_CLOSED) continue;
    if (c->state == S_LINGER) {
      c->abort = true;
    } else if ((c->state == S_HANDSHAKE || c->state == S_SNIFF) && !c->close_requested) {
      /* Accepted moments ago, nothing read yet: its first request is most likely on the way (a client that
       * connected just before a reload). Let it arrive, bounded; once a driver is attached it is told of the
       * stop and finishes that request, like any connection in flight. */
      c->shutdown_requested = true;
      uint64_t due = now_ms(c) + FIRST_BYTES_GRACE_MS;
      if (due < c->deadline) c->deadline = due;
    } else if (c->state == S_ACTIVE && c->drv && c->drv->on_shutdown && !c->close_requested) {
      c->shutdown_requested = true; /* the driver finishes in-flight work, then closes */
      c->deadline = now_ms(c) + STOP_GRACE_MS;
    } else {
      c->close_requested = true; /* flush, then close (bounded by CLOSE_FLUSH_MS) */
      c->linger_wanted = false;
    }
    kick(c);
  }
}

/* ---- wire_sconn API (called by drivers) ------------------------------------------------------------- */

int wire_sconn_write(wire_sconn *c, const void *data, size_t len) {
  if (c->state != S_ACTIVE || c->close_requested || c->abort) return -1;
  if (len == 0) return 0;
  size_t max = c->l->cfg.max_pending_output;
  if (len > max || c->out_len > max - len) {
    if (c->out_len) { /* stop reading until the queue drains (on_drain) */
      c->paused_by_output = true;
      update_events(c);
    }
    return -1;
  }
  const uint8_t *p = data;
  if (c->out_len == 0 && !c->write_wants_read) { /* nothing queued: straight to the socket, no copy */
    while (len) { /* TLS writes one record (16 KiB) per call */
      ssize_t w = raw_write(c, p, len);
      if (w < 0) {
        fail(c);
        kick(c);
        return -1;
      }
      if (w == 0) break;
      p += w;
      len -= (size_t)w;
    }
  }
  if (len) {
    if (queue_append(c, p, len) < 0) {
      fail(c);
      kick(c);
      return -1;
    }
    if (c->out_len > max / 2) c->paused_by_output = true;
    update_events(c);
  }
  return 0;
}

size_t wire_sconn_pending(const wire_sconn *c) { return c->out_len; }

void wire_sconn_pause_read(wire_sconn *c, bool pause) {
  if (c->paused_by_driver == pause) return;
  c->paused_by_driver = pause;
  if (c->state == S_CLOSED || c->state == S_LINGER) return;
  if (!pause && c->ssl && SSL_has_pending(c->ssl)) kick(c); /* input already decrypted waits in OpenSSL */
  update_events(c);
}

void wire_sconn_close(wire_sconn *c, bool graceful) {
  if (c->state == S_CLOSED || c->state == S_LINGER || c->close_requested || c->abort) {
    if (!graceful && c->state != S_CLOSED) c->abort = true, kick(c);
    return;
  }
  if (graceful) {
    c->close_requested = true;
    c->linger_wanted = true;
  } else {
    c->abort = true;
  }
  kick(c);
}

uv_loop_t *wire_sconn_loop(const wire_sconn *c) { return c->l->loop; }

bool wire_sconn_is_tls(const wire_sconn *c) { return c->ssl != NULL; }

const char *wire_sconn_peer(const wire_sconn *c) { return c->peer; }

void *wire_sconn_server(const wire_sconn *c) { return c->l->ud; }
