/* test_listener_reload.c — listening sockets survive a configuration reload (listener.h): during
 * wire_listener_reload_begin/_end a stopped listener parks its socket, a new listener for the same endpoint
 * adopts it without binding, clients that connect in between wait in the backlog and are served by the new
 * listener (never refused), and reload_end closes what nobody adopted. Also: a connection accepted just before a
 * stop still gets its first request served. Network: 127.0.0.1 only; every wait is bounded. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "testlib.h"
#include "wire/server/listener.h"

/* ---- a tiny driver: answers "ok:<bytes>" to the first bytes it gets, then closes ---------------------- */

typedef struct reply_conn {
  wire_sconn *c;
} reply_conn;

static int served; /* connections answered */

static int reply_on_data(void *self, const uint8_t *data, size_t len) {
  reply_conn *r = self;
  char out[128];
  int n = snprintf(out, sizeof out, "ok:%.*s", (int)(len < 100 ? len : 100), (const char *)data);
  wire_sconn_write(r->c, out, (size_t)n);
  served++;
  return -1; /* close after flushing */
}

static void reply_on_close(void *self) { free(self); }

static const wire_sconn_driver reply_driver = {.name = "reply", .on_data = reply_on_data, .on_close = reply_on_close};

static const wire_sconn_driver *attach_reply(void *ud, wire_sconn *c, const char *protocol, void **self) {
  (void)ud;
  (void)protocol;
  reply_conn *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->c = c;
  *self = r;
  return &reply_driver;
}

/* ---- helpers ------------------------------------------------------------------------------------------ */

static uv_loop_t loop;

/* Runs the loop until *flag is set (or 5 s pass). */
static void pump_until_flag(const bool *flag) {
  for (int i = 0; i < 5000 && !*flag; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (!*flag) usleep(1000);
  }
}

static bool stopped_flag;
static void on_stopped(void *arg) { *(bool *)arg = true; }

static void stop_and_wait(wire_listener *l) {
  stopped_flag = false;
  wire_listener_stop(l, on_stopped, &stopped_flag);
  pump_until_flag(&stopped_flag);
  CHECK(stopped_flag);
}

/* Connects fd (blocking) to a; returns fd, or -1 with errno set (fd closed) when refused. */
static int connect_or_close(int fd, const struct sockaddr *a, socklen_t len) {
  if (connect(fd, a, len) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* A blocking TCP connection to 127.0.0.1:port; -1 with errno set when refused. */
static int connect_tcp(uint16_t port) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
  return connect_or_close(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), (struct sockaddr *)&sin, sizeof sin);
}

static int connect_unix(const char *path) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n >= sizeof sun.sun_path) n = sizeof sun.sun_path - 1;
  memcpy(sun.sun_path, path, n);
  return connect_or_close(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), (struct sockaddr *)&sun, sizeof sun);
}

/* Nothing listens on 127.0.0.1:port: a connection is refused. */
static bool port_refuses(uint16_t port) {
  int fd = connect_tcp(port);
  bool refused = fd < 0 && errno == ECONNREFUSED;
  if (fd >= 0) close(fd);
  return refused;
}

/* Runs the loop while reading fd into buf (NUL-terminated, capacity cap) until `want` bytes, EOF or 5 s. */
static void pump_and_read(int fd, char *buf, size_t cap, size_t want) {
  size_t got = 0;
  for (int i = 0; i < 5000 && got < want; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1) == 1) {
      ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
      if (n <= 0) break;
      got += (size_t)n;
    }
  }
  buf[got] = '\0';
}

/* Runs the loop until l has accepted a connection (or 5 s pass). */
static void pump_until_accepted(wire_listener *l) {
  for (int i = 0; i < 5000 && wire_listener_connections(l) == 0; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

/* Sends `msg` on fd, runs the loop until the answer (or EOF) arrives, and returns whether it was "ok:<msg>". */
static bool request_served(int fd, const char *msg) {
  if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg)) return false;
  char buf[256];
  pump_and_read(fd, buf, sizeof buf, sizeof buf - 1);
  char want[256];
  snprintf(want, sizeof want, "ok:%s", msg);
  return strcmp(buf, want) == 0;
}

static wire_listener *start_listener(const char *endpoint) {
  wire_listener_config cfg = {.endpoint = endpoint};
  wire_err err = {0};
  wire_listener *l = wire_listener_start(&loop, &cfg, attach_reply, NULL, &err);
  CHECK_MSG(l != NULL, "listen %s: %s", endpoint, err.msg);
  return l;
}

/* A port that was free a moment ago. */
static uint16_t free_port(void) {
  wire_listener *l = start_listener("127.0.0.1:0");
  if (!l) return 0;
  uint16_t port = wire_listener_port(l);
  stop_and_wait(l);
  return port;
}

/* Writes "127.0.0.1:<a port that was free a moment ago>" into ep (64 bytes) and returns the port. */
static uint16_t free_endpoint(char ep[64]) {
  uint16_t port = free_port();
  snprintf(ep, 64, "127.0.0.1:%u", port);
  return port;
}

/* ---- cases ---------------------------------------------------------------------------------------------- */

/* Outside a reload a stopped listener closes its socket: the port refuses connections. */
static void test_stop_outside_reload_closes(void) {
  char ep[64];
  uint16_t port = free_endpoint(ep);
  wire_listener *l = start_listener(ep);
  if (!l) return;
  CHECK(!wire_listener_adopted(l));
  stop_and_wait(l);
  CHECK_EQ(wire_listener_parked(), 0);
  CHECK(port_refuses(port));
}

/* During a reload the socket is parked, a client connecting meanwhile is not refused, the new listener adopts
 * the socket (same port, no bind) and serves that client. */
static void test_reload_hands_socket_over(void) {
  char ep[64];
  uint16_t port = free_endpoint(ep);
  wire_listener *old = start_listener(ep);
  if (!old) return;
  int before = connect_tcp(port); /* served by the old listener */
  CHECK(before >= 0);
  CHECK(request_served(before, "first"));
  close(before);

  wire_listener_reload_begin();
  stop_and_wait(old);
  CHECK_EQ(wire_listener_parked(), 1);
  int waiting = connect_tcp(port); /* nobody accepts now: the kernel queues it */
  CHECK_MSG(waiting >= 0, "connect during the reload: %s", strerror(errno));
  CHECK(send(waiting, "between", 7, MSG_NOSIGNAL) == 7);

  wire_listener *fresh = start_listener(ep);
  if (fresh) {
    CHECK(wire_listener_adopted(fresh));
    CHECK_EQ(wire_listener_port(fresh), port);
  }
  CHECK_EQ(wire_listener_parked(), 0);
  wire_listener_reload_end();

  /* The queued client is accepted and served by the new listener. */
  served = 0;
  char buf[64];
  pump_and_read(waiting, buf, sizeof buf, 10);
  CHECK_STR(buf, "ok:between");
  close(waiting);
  if (fresh) stop_and_wait(fresh);
  CHECK(port_refuses(port));
}

/* The same endpoint written another way ("localhost" resolving to 127.0.0.1) is the same socket. */
static void test_adopt_by_resolved_address(void) {
  uint16_t port = free_port();
  char ep[64], ep2[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", port);
  snprintf(ep2, sizeof ep2, "localhost:%u", port);
  wire_listener *old = start_listener(ep);
  if (!old) return;
  wire_listener_reload_begin();
  stop_and_wait(old);
  wire_err err = {0};
  wire_listener_config cfg = {.endpoint = ep2};
  wire_listener *fresh = wire_listener_start(&loop, &cfg, attach_reply, NULL, &err);
  if (fresh && wire_listener_port(fresh) == port) {
    CHECK(wire_listener_adopted(fresh));
    stop_and_wait(fresh);
  } else if (fresh) {
    stop_and_wait(fresh); /* localhost resolved to ::1 first on this machine: a different socket */
  }
  wire_listener_reload_end();
  CHECK_EQ(wire_listener_parked(), 0);
}

/* A socket the new configuration does not listen on any more is closed when the reload ends. */
static void test_unadopted_closed_at_reload_end(void) {
  char ep[64];
  uint16_t port = free_endpoint(ep);
  wire_listener *old = start_listener(ep);
  if (!old) return;
  wire_listener_reload_begin();
  stop_and_wait(old);
  CHECK_EQ(wire_listener_parked(), 1);
  wire_listener_reload_end();
  CHECK_EQ(wire_listener_parked(), 0);
  CHECK(port_refuses(port));
  /* ... and the port can be bound again. */
  wire_listener *again = start_listener(ep);
  if (again) {
    CHECK(!wire_listener_adopted(again));
    stop_and_wait(again);
  }
}

/* Port 0 asks for a fresh port each time: never parked. */
static void test_port_zero_never_parked(void) {
  wire_listener_reload_begin();
  wire_listener *l = start_listener("127.0.0.1:0");
  if (l) stop_and_wait(l);
  CHECK_EQ(wire_listener_parked(), 0);
  wire_listener_reload_end();
}

/* Reloads nest: sockets stay parked until the outermost end. */
static void test_nested_reloads(void) {
  char ep[64];
  free_endpoint(ep);
  wire_listener *old = start_listener(ep);
  if (!old) return;
  wire_listener_reload_begin();
  wire_listener_reload_begin();
  stop_and_wait(old);
  wire_listener_reload_end();
  CHECK_EQ(wire_listener_parked(), 1);
  wire_listener_reload_end();
  CHECK_EQ(wire_listener_parked(), 0);
  wire_listener_reload_end(); /* unbalanced: harmless */
  CHECK_EQ(wire_listener_parked(), 0);
}

/* Unix sockets: the file stays while parked, the new listener adopts it, reload_end removes an unadopted one. */
static void test_unix_socket_parked(void) {
  char path[200], ep[220];
  snprintf(path, sizeof path, "%s/reload.sock", test_tmpdir());
  snprintf(ep, sizeof ep, "unix://%s", path);
  unlink(path);
  wire_listener *old = start_listener(ep);
  if (!old) return;
  wire_listener_reload_begin();
  stop_and_wait(old);
  struct stat st;
  CHECK(stat(path, &st) == 0);
  int waiting = connect_unix(path);
  CHECK_MSG(waiting >= 0, "connect during the reload: %s", strerror(errno));
  wire_listener *fresh = start_listener(ep);
  if (fresh) CHECK(wire_listener_adopted(fresh));
  if (waiting >= 0) {
    CHECK(request_served(waiting, "unix"));
    close(waiting);
  }
  if (fresh) stop_and_wait(fresh);
  CHECK(stat(path, &st) == 0); /* parked again (still reloading) */
  wire_listener_reload_end();
  CHECK(stat(path, &st) != 0);
}

/* A connection accepted just before the stop, whose request had not arrived yet, is still served. */
static void test_request_after_stop_on_fresh_connection_served(void) {
  char ep[64];
  uint16_t port = free_endpoint(ep);
  wire_listener *l = start_listener(ep);
  if (!l) return;
  int fd = connect_tcp(port);
  CHECK(fd >= 0);
  pump_until_accepted(l);
  CHECK_EQ(wire_listener_connections(l), 1); /* accepted, nothing read */
  stopped_flag = false;
  wire_listener_stop(l, on_stopped, &stopped_flag);
  uv_run(&loop, UV_RUN_NOWAIT);
  if (fd >= 0) {
    CHECK(request_served(fd, "late"));
    close(fd);
  }
  pump_until_flag(&stopped_flag);
  CHECK(stopped_flag);
}

/* A silent connection does not hold the stop up for long: it is closed after the grace. */
static void test_silent_connection_closed_after_grace(void) {
  wire_listener *l = start_listener("127.0.0.1:0");
  if (!l) return;
  int fd = connect_tcp(wire_listener_port(l));
  pump_until_accepted(l);
  stop_and_wait(l); /* returns within pump_until_flag's 5 s bound */
  if (fd >= 0) {
    char c;
    CHECK(recv(fd, &c, 1, 0) <= 0); /* closed by the server */
    close(fd);
  }
}

int main(void) {
  uv_loop_init(&loop);
  RUN(test_stop_outside_reload_closes);
  RUN(test_reload_hands_socket_over);
  RUN(test_adopt_by_resolved_address);
  RUN(test_unadopted_closed_at_reload_end);
  RUN(test_port_zero_never_parked);
  RUN(test_nested_reloads);
  RUN(test_unix_socket_parked);
  RUN(test_request_after_stop_on_fresh_connection_served);
  RUN(test_silent_connection_closed_after_grace);
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return test_finish();
}
