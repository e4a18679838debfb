/* exporter_http.c — plaintext OTLP/HTTP export for the preload shim (see exporter_http.h).
 *
 * One export is: connect if no connection is kept (non-blocking connect, poll until the deadline), write the
 * request head and the protobuf body, read the response through a wire_h1 parser until it is complete, keep
 * the connection if the server allows it. A kept connection the server closed in the meantime fails before
 * any response byte; that case, and only that one, is retried once on a fresh connection. Every other
 * failure is reported to the reader (retryable or not, by the OTLP rules), which carries the data again in
 * the next cumulative collection. */
#include "autoinstr/exporter_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdk/src/exporter_otlp.h"
#include "sdk/src/log.h"
#include "wire/buf.h"
#include "wire/clock.h"
#include "wire/http1.h"

typedef struct http_exporter {
  otelc_exporter base;
  otelc_otlp_config cfg;
  wire_headers headers; /* the configured ones plus content-type */
  char authority[300];
  int fd;
  wire_buf out;
  /* response parsing */
  wire_h1_parser parser;
  int status;
  bool done;
  char window[1024];
} http_exporter;

static int on_status(wire_h1_parser *p, int version, int status, const char *reason, size_t reason_len) {
  http_exporter *e = p->user;
  if (status >= 200) e->status = status;
  return 0;
}

static int on_complete(wire_h1_parser *p) {
  http_exporter *e = p->user;
  if (e->status >= 200) {
    e->done = true;
    return WIRE_H1_PAUSE;
  }
  return 0; /* 100 Continue: the final response follows */
}

static const wire_h1_callbacks k_cb = {.on_status_line = on_status, .on_message_complete = on_complete};

static void drop_connection(http_exporter *e) {
  if (e->fd >= 0) close(e->fd);
  e->fd = -1;
}

/* Waits for fd to be ready for `events` until the deadline. 0 ready, -1 timeout or error. */
static int wait_fd(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = events};
    int ms = wire_ms_until(deadline_ns);
    if (ms == 0) return -1;
    int r = poll(&pfd, 1, ms);
    if (r > 0) return 0;
    if (r == 0) return -1;
    if (errno != EINTR) return -1;
  }
}

static int connect_addr(const struct sockaddr *sa, socklen_t len, int64_t deadline_ns) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, sa, len) == 0) return fd;
  if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline_ns) < 0) {
    close(fd);
    return -1;
  }
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int open_connection(http_exporter *e, int64_t deadline_ns) {
  const wire_endpoint *ep = &e->cfg.ep;
  if (ep->is_unix) {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(ep->host) >= sizeof sun.sun_path) return -1;
    memcpy(sun.sun_path, ep->host, strlen(ep->host) + 1);
    e->fd = connect_addr((struct sockaddr *)&sun, sizeof sun, deadline_ns);
    return e->fd < 0 ? -1 : 0;
  }
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)ep->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  if (getaddrinfo(ep->host, port, &hints, &res) != 0) return -1;
  for (struct addrinfo *a = res; a && e->fd < 0; a = a->ai_next) {
    e->fd = connect_addr(a->ai_addr, a->ai_addrlen, deadline_ns);
  }
  freeaddrinfo(res);
  return e->fd < 0 ? -1 : 0;
}

static int send_all(http_exporter *e, const uint8_t *p, size_t n, int64_t deadline_ns) {
  while (n > 0) {
    ssize_t w = send(e->fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(e->fd, POLLOUT, deadline_ns) < 0) return -1;
    } else {
      return -1;
    }
  }
  return 0;
}

/* One request on the open connection. Returns 0 with e->status set, -2 when the connection failed before
 * any response byte arrived (a stale kept-alive connection), -1 on any other failure. */
static int exchange(http_exporter *e, const otelc_export_batch *b, int64_t deadline_ns) {
  wire_err err;
  wire_buf_reset(&e->out);
  if (wire_h1_write_request_head(&e->out, "POST", e->cfg.http_path, e->authority, &e->headers, (int64_t)b->len,
                                 &err) < 0)
    return -1;
  if (send_all(e, e->out.data, e->out.len, deadline_ns) < 0) return -2;
  if (send_all(e, b->data, b->len, deadline_ns) < 0) return -2;

  wire_h1_parser_reset(&e->parser);
  e->status = 0;
  e->done = false;
  bool got_any = false;
  uint8_t buf[4096];
  while (!e->done) {
    ssize_t r = recv(e->fd, buf, sizeof buf, 0);
    if (r > 0) {
      got_any = true;
      if (wire_h1_parse(&e->parser, buf, (size_t)r, &err) < 0) return -1;
    } else if (r == 0) {
      if (wire_h1_finish(&e->parser, &err) < 0 || !e->done) return got_any ? -1 : -2;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_fd(e->fd, POLLIN, deadline_ns) < 0) return -1;
    } else {
      return got_any ? -1 : -2;
    }
  }
  if (!wire_h1_keep_alive(&e->parser)) drop_connection(e);
  return 0;
}

static otelc_export_result http_export(otelc_exporter *self, const otelc_export_batch *b, int64_t deadline_ns) {
  http_exporter *e = self->user;
  for (int attempt = 0; attempt < 2; attempt++) {
    bool reused = e->fd >= 0;
    if (e->fd < 0 && open_connection(e, deadline_ns) < 0) {
      OTELC_WARN("preload exporter: cannot connect to the OTLP endpoint (%s)", e->cfg.endpoint_source);
      return OTELC_EXPORT_RETRYABLE;
    }
    int rc = exchange(e, b, deadline_ns);
    if (rc == 0) {
      if (e->status >= 200 && e->status < 300) return OTELC_EXPORT_SUCCESS;
      OTELC_WARN("preload exporter: the OTLP endpoint answered HTTP %d", e->status);
      return otelc_otlp_http_retryable(e->status) ? OTELC_EXPORT_RETRYABLE : OTELC_EXPORT_FAILURE;
    }
    drop_connection(e);
    if (!(rc == -2 && reused)) break;
  }
  OTELC_WARN("preload exporter: export to the OTLP endpoint failed (%s)", e->cfg.endpoint_source);
  return OTELC_EXPORT_RETRYABLE;
}

static void http_shutdown(otelc_exporter *self, int64_t deadline_ns) { drop_connection(self->user); }

static void http_destroy(otelc_exporter *self) {
  http_exporter *e = self->user;
  drop_connection(e);
  otelc_otlp_config_free(&e->cfg);
  wire_headers_free(&e->headers);
  wire_buf_free(&e->out);
  free(e);
}

/* A plaintext socket can be closed in the child without touching the parent's use of it. */
static void http_after_fork(otelc_exporter *self) { drop_connection(self->user); }

otelc_exporter *preload_http_exporter_create(char *why, size_t why_len) {
  http_exporter *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(why, why_len, "out of memory");
    return NULL;
  }
  e->fd = -1;
  if (otelc_otlp_config_resolve(NULL, &e->cfg, why, why_len) < 0) goto fail;
  if (e->cfg.protocol == OTELC_OTLP_GRPC) {
    snprintf(why, why_len, "%s: OTLP/gRPC is not supported by the preload shim (use http/protobuf)",
             "OTEL_EXPORTER_OTLP_PROTOCOL");
    goto fail;
  }
  if (e->cfg.tls) {
    snprintf(why, why_len, "%s: TLS is not supported by the preload shim (use an http:// endpoint)",
             e->cfg.endpoint_source);
    goto fail;
  }
  if (e->cfg.gzip) OTELC_INFO("preload exporter: gzip compression is not supported; sending uncompressed");
  wire_headers_init(&e->headers, 0, 0);
  wire_err err;
  if (wire_headers_copy(&e->headers, &e->cfg.headers, &err) < 0 ||
      wire_headers_set(&e->headers, "content-type", "application/x-protobuf", &err) < 0 ||
      wire_headers_set(&e->headers, "user-agent", "otelc-preload/" OTELC_VERSION_STRING, &err) < 0) {
    snprintf(why, why_len, "out of memory");
    goto fail;
  }
  if (e->cfg.ep.is_unix) snprintf(e->authority, sizeof e->authority, "localhost");
  else wire_endpoint_authority(&e->cfg.ep, e->authority, sizeof e->authority);
  wire_buf_init(&e->out, 0);
  wire_h1_config pc = {.kind = WIRE_H1_RESPONSE};
  wire_h1_parser_init(&e->parser, &pc, &k_cb, e, e->window, sizeof e->window);
  e->base.name = "otlp-http-preload";
  e->base.export_batch = http_export;
  e->base.shutdown = http_shutdown;
  e->base.destroy = http_destroy;
  e->base.after_fork_child = http_after_fork;
  e->base.user = e;
  return &e->base;
fail:
  otelc_otlp_config_free(&e->cfg);
  wire_headers_free(&e->headers);
  free(e);
  return NULL;
}
