/* conn.c — a client connection with deadline-bound blocking I/O over a non-blocking socket (see conn.h).
 *
 * This file speaks sockets; TLS is tls.c's (wire_tls_conn_*: one attempt per call, saying whether it waits
 * for the socket to be readable or writable). Every wait is a poll(2) on the one socket bounded by the
 * caller's absolute deadline. TLS runs on the same socket through the SIGPIPE-free BIO of tls.c, and
 * plaintext writes use send(MSG_NOSIGNAL): writing to a peer that has gone returns WIRE_E_IO and never raises
 * SIGPIPE. */
#include "wire/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire/clock.h"
#include "wire/dns.h"

struct wire_conn {
  int fd;
  SSL *ssl;
  bool eof;    /* the peer closed its side */
  bool broken; /* an I/O or TLS error happened: the connection is unusable, no close_notify at close */
  char alpn[32];
  char name[80]; /* "host:port" or "unix:path" for messages */
};

/* Waits until fd is ready for `events` or the deadline passes. Returns 0, or -1 (WIRE_E_TIMEOUT / WIRE_E_IO). */
static int wait_fd(int fd, short events, int64_t deadline_ns, const char *what, const char *name, wire_err *err) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, wire_ms_until(deadline_ns));
    if (r > 0) return 0; /* ready, or POLLERR/POLLHUP: the next I/O call reports what happened */
    if (r == 0) return wire_err_set(err, WIRE_E_TIMEOUT, "%s %s: deadline passed", what, name);
    if (errno != EINTR) return wire_err_set(err, WIRE_E_IO, "%s %s: poll: %s", what, name, strerror(errno));
  }
}

/* Connects one address; returns the socket or -1 with *why set to the errno (ETIMEDOUT on deadline). */
static int connect_addr(const struct sockaddr *sa, socklen_t len, int64_t deadline_ns, int *why) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = errno;
    return -1;
  }
  int r;
  do r = connect(fd, sa, len);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) {
    *why = errno;
    close(fd);
    return -1;
  }
  if (r < 0) {
    for (;;) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int pr = poll(&p, 1, wire_ms_until(deadline_ns));
      if (pr > 0) break;
      if (pr == 0 || errno != EINTR) {
        *why = pr == 0 ? ETIMEDOUT : errno;
        close(fd);
        return -1;
      }
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
    if (soerr) {
      *why = soerr;
      close(fd);
      return -1;
    }
  }
  if (sa->sa_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static int connect_unix(const char *path, int64_t deadline_ns, wire_err *err) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n >= sizeof sun.sun_path)
    return wire_err_set(err, WIRE_E_INVALID, "connect unix:%.100s: path longer than %zu bytes", path,
                        sizeof sun.sun_path - 1);
  memcpy(sun.sun_path, path, n + 1);
  for (;;) {
    int why = 0;
    int fd = connect_addr((struct sockaddr *)&sun, (socklen_t)sizeof sun, deadline_ns, &why);
    if (fd >= 0) return fd;
    /* EAGAIN: the listener's backlog is full (Unix sockets do not queue a non-blocking connect); retry. */
    if (why == EAGAIN && wire_ms_until(deadline_ns) != 0) {
      int ms = wire_ms_until(deadline_ns);
      poll(NULL, 0, ms < 0 || ms > 10 ? 10 : ms);
      continue;
    }
    if (why == EAGAIN) why = ETIMEDOUT;
    return wire_err_set(err, why == ETIMEDOUT ? WIRE_E_TIMEOUT : WIRE_E_IO, "connect unix:%.100s: %s", path,
                        strerror(why));
  }
}

static int connect_tcp(const wire_endpoint *ep, int64_t deadline_ns, wire_err *err) {
  if (ep->port == 0) return wire_err_set(err, WIRE_E_INVALID, "connect %.200s: port 0", ep->host);
  wire_addrs addrs;
  if (wire_dns_resolve(ep->host, ep->port, deadline_ns, &addrs, err) < 0) return -1;
  int fd = -1, why = 0;
  char last[64] = "";
  for (size_t i = 0; i < addrs.n && fd < 0; i++) {
    /* Share what is left of the deadline among the addresses still to try, so one black-holed address does
     * not eat all of it; the last address gets everything that remains. */
    int64_t attempt = deadline_ns;
    if (deadline_ns && i + 1 < addrs.n) {
      int64_t left = deadline_ns - wire_now_ns();
      if (left <= 0) break;
      attempt = wire_now_ns() + left / (int64_t)(addrs.n - i);
    }
    fd = connect_addr((struct sockaddr *)&addrs.v[i].sa, addrs.v[i].len, attempt, &why);
    if (fd < 0) wire_addr_format((struct sockaddr *)&addrs.v[i].sa, last, sizeof last);
  }
  size_t tried = addrs.n;
  wire_addrs_free(&addrs);
  if (fd >= 0) return fd;
  if (!why) why = ETIMEDOUT;
  return wire_err_set(err, why == ETIMEDOUT ? WIRE_E_TIMEOUT : WIRE_E_IO, "connect %.200s:%u (%s%s): %s", ep->host,
                      (unsigned)ep->port, last, tried > 1 ? ", and every other address" : "", strerror(why));
}

/* Runs the TLS handshake to its end, waiting on the socket between steps. */
static int tls_handshake(wire_conn *c, int64_t deadline_ns, wire_err *err) {
  for (;;) {
    wire_tls_step st = wire_tls_conn_handshake(c->ssl, c->name, c->alpn, sizeof c->alpn, err);
    if (st == WIRE_TLS_DONE) return 0;
    if (st != WIRE_TLS_WANT_READ && st != WIRE_TLS_WANT_WRITE) {
      c->broken = true;
      return -1;
    }
    if (wait_fd(c->fd, st == WIRE_TLS_WANT_READ ? POLLIN : POLLOUT, deadline_ns, "tls handshake with", c->name,
                err) < 0) {
      c->broken = true;
      return -1;
    }
  }
}

wire_conn *wire_conn_open(const wire_endpoint *ep, wire_tls_client *tls, const char *const *alpn,
                          int64_t deadline_ns, wire_err *err) {
  wire_conn *c = calloc(1, sizeof *c);
  if (!c) {
    wire_err_set(err, WIRE_E_NOMEM, "connect: out of memory");
    return NULL;
  }
  c->fd = -1;
  if (ep->is_unix)
    snprintf(c->name, sizeof c->name, "unix:%.70s", ep->host);
  else
    wire_endpoint_authority(ep, c->name, sizeof c->name);
  c->fd = ep->is_unix ? connect_unix(ep->host, deadline_ns, err) : connect_tcp(ep, deadline_ns, err);
  if (c->fd < 0) goto fail;
  if (tls) {
    c->ssl = wire_tls_client_ssl(tls, c->fd, ep->is_unix ? "localhost" : ep->host, alpn, err);
    if (!c->ssl || tls_handshake(c, deadline_ns, err) < 0) goto fail;
  }
  return c;
fail:
  c->broken = true;
  wire_conn_close(c);
  return NULL;
}

int wire_conn_write_all(wire_conn *c, const void *p, size_t n, int64_t deadline_ns, wire_err *err) {
  const uint8_t *d = p;
  size_t off = 0;
  if (c->broken) return wire_err_set(err, WIRE_E_IO, "write %s: connection already failed", c->name);
  while (off < n) {
    size_t chunk = n - off > INT_MAX ? INT_MAX : n - off;
    if (c->ssl) {
      int done = 0;
      wire_tls_step st = wire_tls_conn_write(c->ssl, d + off, (int)chunk, &done, c->name, err);
      if (st == WIRE_TLS_DONE) {
        off += (size_t)done;
        continue;
      }
      if (st == WIRE_TLS_WANT_READ || st == WIRE_TLS_WANT_WRITE) {
        if (wait_fd(c->fd, st == WIRE_TLS_WANT_READ ? POLLIN : POLLOUT, deadline_ns, "write", c->name, err) < 0)
          return c->broken = true, -1; /* a TLS record may be half-written: the connection cannot be reused */
        continue;
      }
      c->broken = true; /* FAILED (a close_notify from the peer included): err says why */
      return -1;
    }
    ssize_t r = send(c->fd, d + off, chunk, MSG_NOSIGNAL);
    if (r >= 0) {
      off += (size_t)r;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_fd(c->fd, POLLOUT, deadline_ns, "write", c->name, err) < 0) return c->broken = true, -1;
      continue;
    }
    c->broken = true;
    if (errno == EPIPE || errno == ECONNRESET)
      return wire_err_set(err, WIRE_E_IO, "write %s: connection closed by peer (%s)", c->name, strerror(errno));
    return wire_err_set(err, WIRE_E_IO, "write %s: %s", c->name, strerror(errno));
  }
  return 0;
}

ssize_t wire_conn_read(wire_conn *c, void *p, size_t cap, int64_t deadline_ns, wire_err *err) {
  if (cap == 0) return wire_err_set(err, WIRE_E_INVALID, "read %s: zero-sized buffer", c->name);
  if (c->broken) return wire_err_set(err, WIRE_E_IO, "read %s: connection already failed", c->name);
  if (c->eof) return 0;
  size_t chunk = cap > INT_MAX ? INT_MAX : cap;
  for (;;) {
    if (c->ssl) {
      int got = 0;
      wire_tls_step st = wire_tls_conn_read(c->ssl, p, (int)chunk, &got, c->name, err);
      if (st == WIRE_TLS_DONE) return got;
      if (st == WIRE_TLS_WANT_READ || st == WIRE_TLS_WANT_WRITE) {
        if (wait_fd(c->fd, st == WIRE_TLS_WANT_READ ? POLLIN : POLLOUT, deadline_ns, "read", c->name, err) < 0)
          return -1;
        continue;
      }
      if (st == WIRE_TLS_EOF) {
        c->eof = true;
        return 0;
      }
      c->broken = true;
      return -1;
    }
    ssize_t r = recv(c->fd, p, chunk, 0);
    if (r > 0) return r;
    if (r == 0) {
      c->eof = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_fd(c->fd, POLLIN, deadline_ns, "read", c->name, err) < 0) return -1;
      continue;
    }
    c->broken = true;
    return wire_err_set(err, WIRE_E_IO, "read %s: %s", c->name, strerror(errno));
  }
}

bool wire_conn_alive(wire_conn *c) {
  if (!c || c->broken || c->eof || c->fd < 0) return false;
  if (c->ssl && wire_tls_conn_pending(c->ssl)) return false; /* unread application data */
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  int r = poll(&p, 1, 0);
  if (r == 0) return true;
  if (r < 0) return errno == EINTR;
  if (p.revents & (POLLERR | POLLNVAL)) return false;
  if (c->ssl) {
    /* Readable TLS may be only post-handshake messages (TLS 1.3 session tickets): let OpenSSL look. */
    wire_tls_step st = wire_tls_conn_peek(c->ssl);
    if (st == WIRE_TLS_WANT_READ || st == WIRE_TLS_WANT_WRITE) return true;
    if (st == WIRE_TLS_EOF) c->eof = true;
    else if (st == WIRE_TLS_FAILED) c->broken = true;
    return false; /* unsolicited application data (DONE), EOF or an error */
  }
  char b;
  ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) c->eof = true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  return false; /* EOF, error, or unsolicited bytes (a protocol violation for a request/response client) */
}

const char *wire_conn_alpn(const wire_conn *c) { return c->alpn[0] ? c->alpn : NULL; }

bool wire_conn_is_tls(const wire_conn *c) { return c->ssl != NULL; }

int wire_conn_fd(const wire_conn *c) { return c->fd; }

void wire_conn_abandon(wire_conn *c) {
  if (!c) return;
  c->broken = true; /* wire_conn_close then skips SSL_shutdown */
  wire_conn_close(c);
}

void wire_conn_close(wire_conn *c) {
  if (!c) return;
  if (c->ssl) wire_tls_conn_close(c->ssl, !c->broken && !c->eof); /* close_notify unless the connection failed */
  if (c->fd >= 0) close(c->fd);
  free(c);
}
