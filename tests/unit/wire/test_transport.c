/* test_transport.c — the listener (libuv, in a thread) against wire_conn clients on 127.0.0.1 and a Unix
 * socket: echo in plaintext and TLS, verification failures, mTLS, ALPN, h2 preface sniffing, deadlines,
 * SIGPIPE safety, connection limits, idle and handshake timeouts, output backpressure and shutdown. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "testcerts.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/conn.h"
#include "wire/server/listener.h"

#define SEC 1000000000LL
#define FLOOD_TOTAL (8u * 1024 * 1024)
#define FLOOD_CHUNK (64u * 1024)

static test_certs certs;
static bool have_certs;

/* ---- a test server: a listener on its own loop thread with an echo driver --------------------------- */

typedef struct server {
  uv_loop_t loop;
  uv_async_t stop_async;
  pthread_t thread;
  wire_listener *l;
  wire_tls_server *tls;
  uint16_t port;
  bool refuse;                /* attach returns NULL: the connection is closed right after accept/handshake */
  bool shutdown_hook;         /* attach the driver that has on_shutdown */
  atomic_int attaches, closes;
  char protocol[16];          /* of the last attached connection */
  atomic_int flood_refusals;  /* writes refused by max_pending_output */
  atomic_size_t flood_max_pending;
  atomic_int data_while_paused;
} server;

typedef struct echo {
  server *s;
  wire_sconn *c;
  size_t flood_left;
  bool paused;
  uv_timer_t resume_timer; /* PAUSE: reading resumes when it fires */
} echo;

static uint8_t flood_byte(size_t i) { return (uint8_t)(i % 251); }

static void flood_produce(echo *e) {
  static uint8_t chunk[FLOOD_CHUNK];
  while (e->flood_left) {
    size_t done = FLOOD_TOTAL - e->flood_left;
    size_t n = e->flood_left < FLOOD_CHUNK ? e->flood_left : FLOOD_CHUNK;
    for (size_t i = 0; i < n; i++) chunk[i] = flood_byte(done + i);
    if (wire_sconn_write(e->c, chunk, n) < 0) {
      atomic_fetch_add(&e->s->flood_refusals, 1);
      break;
    }
    e->flood_left -= n;
    size_t p = wire_sconn_pending(e->c);
    if (p > atomic_load(&e->s->flood_max_pending)) atomic_store(&e->s->flood_max_pending, p);
  }
}

static void resume_reading(uv_timer_t *t) {
  echo *e = t->data;
  e->paused = false;
  wire_sconn_pause_read(e->c, false);
}

static void echo_free(uv_handle_t *h) { free(h->data); }

/* Commands (at the start of a chunk): FLOOD (send FLOOD_TOTAL bytes under backpressure), BYE (reply, then
 * close gracefully), FAIL (return -1 at once), KILL (abort from inside on_data), PAUSE (echo, stop reading
 * for 100 ms); anything else is echoed. */
static int echo_data(void *self, const uint8_t *d, size_t n) {
  echo *e = self;
  if (e->paused) atomic_fetch_add(&e->s->data_while_paused, 1);
  if (n >= 4 && memcmp(d, "FAIL", 4) == 0) return -1;
  if (n >= 4 && memcmp(d, "KILL", 4) == 0) {
    wire_sconn_close(e->c, false);
    CHECK_EQ(wire_sconn_write(e->c, "x", 1), -1); /* closing: writes are refused */
    return 0;
  }
  if (n >= 5 && memcmp(d, "PAUSE", 5) == 0) {
    e->paused = true;
    wire_sconn_pause_read(e->c, true);
    uv_timer_start(&e->resume_timer, resume_reading, 100, 0);
  }
  if (n >= 5 && memcmp(d, "FLOOD", 5) == 0) {
    e->flood_left = FLOOD_TOTAL;
    flood_produce(e);
    return 0;
  }
  if (n >= 3 && memcmp(d, "BYE", 3) == 0) {
    wire_sconn_write(e->c, "bye", 3);
    return -1; /* graceful close after the flush */
  }
  return wire_sconn_write(e->c, d, n) < 0 ? -1 : 0;
}

static void echo_drain(void *self) {
  echo *e = self;
  if (e->flood_left) flood_produce(e);
}

static void echo_close(void *self) {
  echo *e = self;
  atomic_fetch_add(&e->s->closes, 1);
  e->c = NULL;
  uv_close((uv_handle_t *)&e->resume_timer, echo_free);
}

/* On a server stop: a last word, then a graceful close. */
static void echo_shutdown(void *self) {
  echo *e = self;
  wire_sconn_write(e->c, "stopping", 8);
  wire_sconn_close(e->c, true);
}

static const wire_sconn_driver echo_driver = {"echo", echo_data, echo_drain, echo_close, NULL};
static const wire_sconn_driver echo_driver_with_shutdown = {"echo", echo_data, echo_drain, echo_close, echo_shutdown};

static const wire_sconn_driver *attach_echo(void *ud, wire_sconn *c, const char *protocol, void **self) {
  server *s = ud;
  snprintf(s->protocol, sizeof s->protocol, "%s", protocol);
  if (s->refuse) return NULL;
  CHECK(wire_sconn_server(c) == s);
  CHECK(wire_sconn_loop(c) == &s->loop);
  CHECK(wire_sconn_peer(c)[0] != '\0');
  echo *e = calloc(1, sizeof *e);
  e->s = s;
  e->c = c;
  uv_timer_init(wire_sconn_loop(c), &e->resume_timer);
  e->resume_timer.data = e;
  *self = e;
  atomic_fetch_add(&s->attaches, 1);
  return s->shutdown_hook ? &echo_driver_with_shutdown : &echo_driver;
}

static void stopped(void *arg) {
  server *s = arg;
  uv_close((uv_handle_t *)&s->stop_async, NULL);
}

static void on_stop_async(uv_async_t *a) {
  server *s = a->data;
  wire_listener_stop(s->l, stopped, s);
}

static void *loop_thread(void *arg) {
  server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* Starts a server; cfg->endpoint defaults to 127.0.0.1:0. Returns 0 or -1 (err filled). */
static int server_start(server *s, wire_listener_config cfg, wire_err *err) {
  if (!cfg.endpoint) cfg.endpoint = "127.0.0.1:0";
  cfg.tls = s->tls;
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->stop_async, on_stop_async);
  s->stop_async.data = s;
  s->l = wire_listener_start(&s->loop, &cfg, attach_echo, s, err);
  if (!s->l) {
    uv_close((uv_handle_t *)&s->stop_async, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    return -1;
  }
  s->port = wire_listener_port(s->l);
  pthread_create(&s->thread, NULL, loop_thread, s);
  return 0;
}

/* Stops the listener (closing every connection) and checks the driver contract: one on_close per attach. */
static void server_stop(server *s) {
  uv_async_send(&s->stop_async);
  pthread_join(s->thread, NULL);
  CHECK_EQ(uv_loop_close(&s->loop), 0);
  CHECK_EQ(atomic_load(&s->attaches), atomic_load(&s->closes));
  wire_tls_server_free(s->tls);
  s->tls = NULL;
}

static const char *const alpn_both[] = {"h2", "http/1.1", NULL};

static wire_tls_server *make_tls_server(const char *client_ca) {
  wire_tls_config tc = {.cert_file = certs.server_cert, .key_file = certs.server_key, .client_ca_file = client_ca};
  wire_err err = {0};
  wire_tls_server *t = wire_tls_server_new(&tc, alpn_both, &err);
  CHECK_MSG(t != NULL, "tls server: %s", err.msg);
  return t;
}

static wire_conn *dial(const char *fmt_host, uint16_t port, wire_tls_client *tls, const char *const *alpn,
                       wire_err *err) {
  char text[300];
  snprintf(text, sizeof text, "%s:%u", fmt_host, (unsigned)port);
  wire_endpoint ep;
  if (wire_endpoint_parse(text, 0, &ep, err) < 0) return NULL;
  return wire_conn_open(&ep, tls, alpn, wire_now_ns() + 5 * SEC, err);
}

/* dial() that must succeed (CHECK, with the reason). */
static wire_conn *dial_ok(const char *host, uint16_t port, wire_tls_client *tls, const char *const *alpn,
                          wire_err *err) {
  wire_conn *c = dial(host, port, tls, alpn, err);
  CHECK_MSG(c != NULL, "%s", err->msg);
  return c;
}

/* A TLS client with config tc cannot connect to host:port: the handshake fails with a WIRE_E_TLS error
 * containing `want` (printed after `label`). */
static void expect_tls_refused(const char *host, uint16_t port, const wire_tls_config *tc, const char *want,
                               const char *label) {
  wire_err err = {0};
  wire_tls_client *tls = wire_tls_client_new(tc, &err);
  wire_conn *c = dial(host, port, tls, NULL, &err);
  CHECK(c == NULL);
  CHECK_EQ(err.code, WIRE_E_TLS);
  CHECK_CONTAINS(err.msg, want);
  printf("  %s: %s\n", label, err.msg);
  wire_tls_client_free(tls);
}

/* Writes msg and reads the same number of bytes back; returns true when they match. */
static bool echo_roundtrip(wire_conn *c, const char *msg, wire_err *err) {
  size_t n = strlen(msg);
  if (wire_conn_write_all(c, msg, n, wire_now_ns() + 5 * SEC, err) < 0) return false;
  char buf[256];
  size_t got = 0;
  while (got < n) {
    ssize_t r = wire_conn_read(c, buf + got, sizeof buf - got, wire_now_ns() + 5 * SEC, err);
    if (r <= 0) return false;
    got += (size_t)r;
  }
  return got == n && memcmp(buf, msg, n) == 0;
}

/* ---- cases -------------------------------------------------------------------------------------------- */

static void plaintext_echo(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  CHECK(s.port != 0);
  wire_conn *c = dial_ok("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    CHECK(!wire_conn_is_tls(c));
    CHECK(wire_conn_alpn(c) == NULL);
    CHECK(echo_roundtrip(c, "hello", &err));
    CHECK(echo_roundtrip(c, "GET / HTTP/1.1\r\n", &err));
    CHECK(wire_conn_alive(c));
    CHECK_STR(s.protocol, "http/1.1");
    CHECK_EQ(wire_listener_connections(s.l), 1);
    wire_conn_close(c);
  }
  /* "localhost" resolves without a query and reaches the same server */
  c = dial_ok("localhost", s.port, NULL, NULL, &err);
  if (c) CHECK(echo_roundtrip(c, "again", &err));
  wire_conn_close(c);
  server_stop(&s);
}

static void h2_preface_selects_h2(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_conn *c = dial_ok("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    /* written in two pieces so that the sniffer must wait for the rest of the preface */
    CHECK_EQ(wire_conn_write_all(c, "PRI * HTTP/2", 12, wire_now_ns() + 5 * SEC, &err), 0);
    usleep(20000);
    const char *rest = ".0\r\n\r\nSM\r\n\r\nxyz";
    CHECK_EQ(wire_conn_write_all(c, rest, strlen(rest), wire_now_ns() + 5 * SEC, &err), 0);
    char buf[64];
    size_t got = 0;
    while (got < 27) {
      ssize_t r = wire_conn_read(c, buf + got, sizeof buf - got, wire_now_ns() + 5 * SEC, &err);
      if (r <= 0) break;
      got += (size_t)r;
    }
    CHECK_EQ(got, 27);
    CHECK(memcmp(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz", 27) == 0);
    CHECK_STR(s.protocol, "h2");
    wire_conn_close(c);
  }
  /* a request that starts like the preface but is not it is HTTP/1.1, delivered whole */
  c = dial("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    CHECK(echo_roundtrip(c, "PRIVATE", &err));
    CHECK_STR(s.protocol, "http/1.1");
    wire_conn_close(c);
  }
  server_stop(&s);
}

static void tls_echo_and_alpn(void) {
  if (!have_certs) return;
  server s = {.tls = make_tls_server(NULL)};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_tls_config tc = {.ca_file = certs.ca};
  wire_tls_client *tls = wire_tls_client_new(&tc, &err);
  CHECK_MSG(tls != NULL, "%s", err.msg);

  /* by name, with ALPN: h2 preferred by the server */
  wire_conn *c = dial_ok("localhost", s.port, tls, alpn_both, &err);
  if (c) {
    CHECK(wire_conn_is_tls(c));
    CHECK_STR(wire_conn_alpn(c), "h2");
    CHECK(echo_roundtrip(c, "hello over tls", &err));
    CHECK_STR(s.protocol, "h2");
    CHECK(wire_conn_alive(c));
    wire_conn_close(c);
  }
  /* by IP address (verified against the IP SAN), only http/1.1 offered */
  static const char *const h1_only[] = {"http/1.1", NULL};
  c = dial_ok("127.0.0.1", s.port, tls, h1_only, &err);
  if (c) {
    CHECK_STR(wire_conn_alpn(c), "http/1.1");
    CHECK(echo_roundtrip(c, "x", &err));
    CHECK_STR(s.protocol, "http/1.1");
    wire_conn_close(c);
  }
  /* no ALPN at all: HTTP/1.1 */
  c = dial("127.0.0.1", s.port, tls, NULL, &err);
  if (c) {
    CHECK(wire_conn_alpn(c) == NULL);
    CHECK(echo_roundtrip(c, "y", &err));
    CHECK_STR(s.protocol, "http/1.1");
    wire_conn_close(c);
  }
  wire_tls_client_free(tls);

  /* inline PEM works like the file */
  char *pem = test_read_file(certs.ca, NULL);
  wire_tls_config tp = {.ca_pem = pem};
  tls = wire_tls_client_new(&tp, &err);
  CHECK_MSG(tls != NULL, "%s", err.msg);
  c = tls ? dial("localhost", s.port, tls, NULL, &err) : NULL;
  CHECK_MSG(c != NULL, "%s", err.msg);
  if (c) CHECK(echo_roundtrip(c, "pem", &err));
  wire_conn_close(c);
  wire_tls_client_free(tls);
  free(pem);
  server_stop(&s);
}

static void tls_verification_failures(void) {
  if (!have_certs) return;
  server s = {.tls = make_tls_server(NULL)};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);

  wire_tls_config wrong = {.ca_file = certs.other_ca};
  expect_tls_refused("localhost", s.port, &wrong, "certificate verify failed", "wrong CA");
  wire_tls_config mismatch = {.ca_file = certs.ca, .server_name = "wrong.example"};
  expect_tls_refused("127.0.0.1", s.port, &mismatch, "hostname mismatch", "name mismatch");

  wire_tls_config skip = {.ca_file = certs.other_ca, .insecure_skip_verify = true};
  wire_tls_client *tls = wire_tls_client_new(&skip, &err);
  wire_conn *c = dial_ok("localhost", s.port, tls, NULL, &err);
  if (c) CHECK(echo_roundtrip(c, "insecure", &err));
  wire_conn_close(c);
  wire_tls_client_free(tls);

  /* a plaintext client talking to the TLS port gets no echo and no hang */
  c = dial("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    CHECK(!echo_roundtrip(c, "GET / HTTP/1.1\r\n\r\n", &err));
    wire_conn_close(c);
  }
  server_stop(&s);
}

static void tls_config_errors(void) {
  if (!have_certs) return;
  wire_err err = {0};
  wire_tls_config missing = {.ca_file = "/nonexistent/ca.pem"};
  CHECK(wire_tls_client_new(&missing, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_TLS);
  CHECK_CONTAINS(err.msg, "/nonexistent/ca.pem");
  CHECK_CONTAINS(err.msg, "No such file");

  wire_tls_config mismatched = {.cert_file = certs.server_cert, .key_file = certs.client_key};
  CHECK(wire_tls_server_new(&mismatched, NULL, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_TLS);
  CHECK_CONTAINS(err.msg, certs.client_key);

  wire_tls_config no_key = {.cert_file = certs.server_cert};
  CHECK(wire_tls_server_new(&no_key, NULL, &err) == NULL);

  wire_tls_config bad_version = {.min_version = "1.1"};
  CHECK(wire_tls_client_new(&bad_version, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_INVALID);

  wire_tls_config bad_pem = {.ca_pem = "not a certificate"};
  CHECK(wire_tls_client_new(&bad_pem, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_TLS);

  wire_tls_config tls13 = {.ca_file = certs.ca, .min_version = "1.3"};
  wire_tls_client *t = wire_tls_client_new(&tls13, &err);
  CHECK_MSG(t != NULL, "%s", err.msg);
  wire_tls_client_free(t);
}

static void mutual_tls(void) {
  if (!have_certs) return;
  server s = {.tls = make_tls_server(certs.ca)};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);

  /* without a client certificate: the handshake (TLS 1.2) or the first exchange (TLS 1.3) fails */
  wire_tls_config anon = {.ca_file = certs.ca};
  wire_tls_client *tls = wire_tls_client_new(&anon, &err);
  wire_conn *c = dial("localhost", s.port, tls, NULL, &err);
  if (c) {
    CHECK(!echo_roundtrip(c, "no cert", &err));
    CHECK(err.code == WIRE_E_TLS || err.code == WIRE_E_IO);
    printf("  mTLS without certificate: %s\n", err.msg);
    wire_conn_close(c);
  } else {
    CHECK(err.code == WIRE_E_TLS || err.code == WIRE_E_IO);
  }
  wire_tls_client_free(tls);

  wire_tls_config with_cert = {.ca_file = certs.ca, .cert_file = certs.client_cert, .key_file = certs.client_key};
  tls = wire_tls_client_new(&with_cert, &err);
  CHECK_MSG(tls != NULL, "%s", err.msg);
  c = tls ? dial("localhost", s.port, tls, alpn_both, &err) : NULL;
  CHECK_MSG(c != NULL, "%s", err.msg);
  if (c) {
    CHECK(echo_roundtrip(c, "with cert", &err));
    CHECK_STR(wire_conn_alpn(c), "h2");
    wire_conn_close(c);
  }
  wire_tls_client_free(tls);
  server_stop(&s);
}

static void read_deadline_and_graceful_close(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_conn *c = dial_ok("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    char buf[16];
    CHECK_EQ(wire_conn_read(c, buf, sizeof buf, wire_now_ns() + SEC / 5, &err), -1);
    CHECK_EQ(err.code, WIRE_E_TIMEOUT);
    /* a deadline already past still fails with a timeout, without blocking */
    CHECK_EQ(wire_conn_read(c, buf, sizeof buf, wire_now_ns() - 1, &err), -1);
    CHECK_EQ(err.code, WIRE_E_TIMEOUT);
    /* the connection is still fine afterwards; then the driver closes gracefully after its reply */
    CHECK(echo_roundtrip(c, "after timeout", &err));
    CHECK_EQ(wire_conn_write_all(c, "BYE", 3, wire_now_ns() + 5 * SEC, &err), 0);
    size_t got = 0;
    ssize_t r;
    while ((r = wire_conn_read(c, buf + got, sizeof buf - got, wire_now_ns() + 5 * SEC, &err)) > 0) got += (size_t)r;
    CHECK_EQ(r, 0);
    CHECK_EQ(got, 3);
    CHECK(memcmp(buf, "bye", 3) == 0);
    CHECK(!wire_conn_alive(c));
    wire_conn_close(c);
  }
  server_stop(&s);
}

static void connect_refused_fails_fast(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sin;
  bind(fd, (struct sockaddr *)&sin, sizeof sin);
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  close(fd); /* nothing listens on this port now */
  wire_err err = {0};
  wire_conn *c = dial("127.0.0.1", ntohs(sin.sin_port), NULL, NULL, &err);
  CHECK(c == NULL);
  CHECK_EQ(err.code, WIRE_E_IO);
  CHECK_CONTAINS(err.msg, "refused");
  /* port 0 is not a destination */
  c = dial("127.0.0.1", 0, NULL, NULL, &err);
  CHECK(c == NULL);
  CHECK_EQ(err.code, WIRE_E_INVALID);
}

/* Writes until the peer's close turns into an error; the process must survive (no SIGPIPE). */
static void write_until_error(wire_conn *c, wire_err *err) {
  static uint8_t block[256 * 1024];
  int rc = 0;
  for (int i = 0; i < 4096 && rc == 0; i++) rc = wire_conn_write_all(c, block, sizeof block, wire_now_ns() + 5 * SEC, err);
  CHECK_EQ(rc, -1);
  CHECK_MSG(err->code == WIRE_E_IO || err->code == WIRE_E_TLS, "code %s: %s", wire_err_code_name(err->code),
            err->msg);
  CHECK(!wire_conn_alive(c));
}

static void peer_close_mid_write_no_sigpipe(void) {
  signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill this test */
  /* plaintext: a raw listener that accepts and closes at once */
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sin;
  bind(lfd, (struct sockaddr *)&sin, sizeof sin);
  listen(lfd, 4);
  getsockname(lfd, (struct sockaddr *)&sin, &sl);
  wire_err err = {0};
  wire_conn *c = dial_ok("127.0.0.1", ntohs(sin.sin_port), NULL, NULL, &err);
  int afd = accept(lfd, NULL, NULL);
  close(afd);
  close(lfd);
  if (c) {
    write_until_error(c, &err);
    wire_conn_close(c);
  }
  /* TLS: our server completes the handshake and then closes (no driver) */
  if (!have_certs) return;
  server s = {.tls = make_tls_server(NULL), .refuse = true};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_tls_config tc = {.ca_file = certs.ca};
  wire_tls_client *tls = wire_tls_client_new(&tc, &err);
  c = dial("localhost", s.port, tls, NULL, &err);
  if (c) {
    write_until_error(c, &err);
    wire_conn_close(c);
  }
  wire_tls_client_free(tls);
  server_stop(&s);
}

static void max_connections_enforced(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){.max_connections = 1}, &err) == 0, "%s", err.msg);
  wire_conn *a = dial_ok("127.0.0.1", s.port, NULL, NULL, &err);
  CHECK(a && echo_roundtrip(a, "first", &err));
  wire_conn *b = dial("127.0.0.1", s.port, NULL, NULL, &err);
  if (b) {
    /* accepted and closed at once: no echo, EOF or reset */
    CHECK(!echo_roundtrip(b, "second", &err));
    wire_conn_close(b);
  }
  CHECK(a && echo_roundtrip(a, "first still works", &err));
  wire_conn_close(a);
  server_stop(&s);
}

static void idle_and_handshake_timeouts(void) {
  server s = {0};
  wire_err err = {0};
  wire_listener_config cfg = {.idle_timeout_ms = 150, .handshake_timeout_ms = 150};
  CHECK_MSG(server_start(&s, cfg, &err) == 0, "%s", err.msg);
  /* idle after an exchange: the server closes, the client sees EOF well before its deadline */
  wire_conn *c = dial("127.0.0.1", s.port, NULL, NULL, &err);
  CHECK(c && echo_roundtrip(c, "ping", &err));
  if (c) {
    char buf[8];
    CHECK_EQ(wire_conn_read(c, buf, sizeof buf, wire_now_ns() + 10 * SEC, &err), 0);
    wire_conn_close(c);
  }
  /* silent from the start: the first-bytes timeout closes it (no driver was ever attached) */
  c = dial("127.0.0.1", s.port, NULL, NULL, &err);
  if (c) {
    char buf[8];
    CHECK_EQ(wire_conn_read(c, buf, sizeof buf, wire_now_ns() + 10 * SEC, &err), 0);
    wire_conn_close(c);
  }
  CHECK_EQ(atomic_load(&s.attaches), 1);
  server_stop(&s);
}

static void flood_under_backpressure(bool use_tls) {
  server s = {.tls = use_tls ? make_tls_server(NULL) : NULL};
  wire_err err = {0};
  const size_t max_pending = 256 * 1024;
  CHECK_MSG(server_start(&s, (wire_listener_config){.max_pending_output = max_pending}, &err) == 0, "%s", err.msg);
  wire_tls_config tc = {.ca_file = certs.ca};
  wire_tls_client *tls = use_tls ? wire_tls_client_new(&tc, &err) : NULL;
  wire_conn *c = dial_ok("127.0.0.1", s.port, tls, NULL, &err);
  if (!c) {
    server_stop(&s);
    return;
  }
  CHECK_EQ(wire_conn_write_all(c, "FLOOD", 5, wire_now_ns() + 5 * SEC, &err), 0);
  /* not reading: the socket buffers fill, then the queue, then writes are refused */
  for (int i = 0; i < 500 && atomic_load(&s.flood_refusals) == 0; i++) usleep(10000);
  CHECK(atomic_load(&s.flood_refusals) > 0);
  CHECK(atomic_load(&s.flood_max_pending) <= max_pending);
  /* reading everything: on_drain resumes the producer until all of it arrived intact */
  static uint8_t buf[64 * 1024];
  size_t got = 0;
  bool intact = true;
  while (got < FLOOD_TOTAL) {
    ssize_t r = wire_conn_read(c, buf, sizeof buf, wire_now_ns() + 10 * SEC, &err);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; i++) intact &= buf[i] == flood_byte(got + (size_t)i);
    got += (size_t)r;
  }
  CHECK_EQ(got, FLOOD_TOTAL);
  CHECK(intact);
  CHECK(echo_roundtrip(c, "still alive", &err));
  wire_conn_close(c);
  wire_tls_client_free(tls);
  server_stop(&s);
}

static void pending_output_is_bounded(void) { flood_under_backpressure(false); }

static void pending_output_is_bounded_tls(void) {
  if (have_certs) flood_under_backpressure(true);
}

/* The driver pauses reading; input sent meanwhile is delivered only after it resumes, in TLS too. */
static void pause_and_resume(bool use_tls) {
  server s = {.tls = use_tls ? make_tls_server(NULL) : NULL};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_tls_config tc = {.ca_file = certs.ca};
  wire_tls_client *tls = use_tls ? wire_tls_client_new(&tc, &err) : NULL;
  wire_conn *c = dial_ok("127.0.0.1", s.port, tls, NULL, &err);
  if (c) {
    CHECK(echo_roundtrip(c, "PAUSE", &err));
    /* several writes (TLS: several records) while the server does not read */
    for (int i = 0; i < 3; i++) CHECK_EQ(wire_conn_write_all(c, "abc", 3, wire_now_ns() + 5 * SEC, &err), 0);
    char buf[16];
    size_t got = 0;
    while (got < 9) {
      ssize_t r = wire_conn_read(c, buf + got, sizeof buf - got, wire_now_ns() + 5 * SEC, &err);
      if (r <= 0) break;
      got += (size_t)r;
    }
    CHECK_EQ(got, 9);
    CHECK(memcmp(buf, "abcabcabc", 9) == 0);
    wire_conn_close(c);
  }
  wire_tls_client_free(tls);
  server_stop(&s);
  CHECK_EQ(atomic_load(&s.data_while_paused), 0);
}

static void pause_and_resume_plain(void) { pause_and_resume(false); }

static void pause_and_resume_tls(void) {
  if (have_certs) pause_and_resume(true);
}

/* Errors inside on_data (returning -1, aborting from inside) close the connection; on_close runs once. */
static void driver_errors_close_once(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  const char *cmds[] = {"FAIL", "KILL", "FAILwith more", NULL};
  for (int i = 0; cmds[i]; i++) {
    wire_conn *c = dial_ok("127.0.0.1", s.port, NULL, NULL, &err);
    if (!c) continue;
    CHECK_EQ(wire_conn_write_all(c, cmds[i], strlen(cmds[i]), wire_now_ns() + 5 * SEC, &err), 0);
    char buf[8];
    CHECK(wire_conn_read(c, buf, sizeof buf, wire_now_ns() + 5 * SEC, &err) <= 0);
    wire_conn_close(c);
  }
  /* many short connections, some closed by the client mid-TLS-handshake or right after connecting */
  for (int i = 0; i < 50; i++) {
    wire_conn *c = dial("127.0.0.1", s.port, NULL, NULL, &err);
    CHECK(c != NULL);
    if (c && i % 2 == 0) CHECK(echo_roundtrip(c, "short", &err));
    wire_conn_close(c);
  }
  server_stop(&s);
}

static void unix_socket_echo(void) {
  server s = {0};
  wire_err err = {0};
  char ep_text[300];
  snprintf(ep_text, sizeof ep_text, "unix://%s/transport.sock", test_tmpdir());
  CHECK_MSG(server_start(&s, (wire_listener_config){.endpoint = ep_text}, &err) == 0, "%s", err.msg);
  wire_endpoint ep;
  CHECK_EQ(wire_endpoint_parse(ep_text, 0, &ep, &err), 0);
  wire_conn *c = wire_conn_open(&ep, NULL, NULL, wire_now_ns() + 5 * SEC, &err);
  CHECK_MSG(c != NULL, "%s", err.msg);
  if (c) {
    CHECK(echo_roundtrip(c, "over unix", &err));
    wire_conn_close(c);
  }
  server_stop(&s);
  /* the socket file is removed at stop; connecting now fails cleanly */
  CHECK(wire_conn_open(&ep, NULL, NULL, wire_now_ns() + 5 * SEC, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_IO);
}

static void stop_closes_open_connections(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  wire_conn *a = dial("127.0.0.1", s.port, NULL, NULL, &err);
  wire_conn *b = dial("127.0.0.1", s.port, NULL, NULL, &err);
  CHECK(a && echo_roundtrip(a, "a", &err));
  server_stop(&s); /* a has a driver, b is still sniffing */
  char buf[8];
  if (a) CHECK_EQ(wire_conn_read(a, buf, sizeof buf, wire_now_ns() + 5 * SEC, &err), 0);
  if (b) CHECK(wire_conn_read(b, buf, sizeof buf, wire_now_ns() + 5 * SEC, &err) <= 0);
  wire_conn_close(a);
  wire_conn_close(b);

  /* a driver with on_shutdown finishes its work (here: a last message) before the connection closes */
  server t = {.shutdown_hook = true};
  CHECK_MSG(server_start(&t, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  a = dial("127.0.0.1", t.port, NULL, NULL, &err);
  CHECK(a && echo_roundtrip(a, "a", &err));
  server_stop(&t);
  if (a) {
    char last[16];
    size_t got = 0;
    ssize_t r;
    while ((r = wire_conn_read(a, last + got, sizeof last - got, wire_now_ns() + 5 * SEC, &err)) > 0) got += (size_t)r;
    CHECK_EQ(r, 0);
    CHECK_EQ(got, 8);
    CHECK(memcmp(last, "stopping", 8) == 0);
  }
  wire_conn_close(a);
}

static void listen_errors(void) {
  server s = {0};
  wire_err err = {0};
  CHECK_MSG(server_start(&s, (wire_listener_config){0}, &err) == 0, "%s", err.msg);
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)s.port);
  server t = {0};
  CHECK(server_start(&t, (wire_listener_config){.endpoint = ep}, &err) < 0);
  CHECK_EQ(err.code, WIRE_E_IO);
  CHECK_CONTAINS(err.msg, ep);
  CHECK_CONTAINS(err.msg, "in use");
  server_stop(&s);

  uv_loop_t loop;
  uv_loop_init(&loop);
  const char *bad[] = {"127.0.0.1", "nonsense:port", "https://127.0.0.1:1", "", NULL};
  for (int i = 0; bad[i]; i++) {
    wire_listener_config cfg = {.endpoint = bad[i]};
    CHECK_MSG(wire_listener_start(&loop, &cfg, attach_echo, NULL, &err) == NULL, "accepted \"%s\"", bad[i]);
    CHECK_EQ(err.code, WIRE_E_INVALID);
  }
  /* ":0" is every interface, any port */
  wire_listener_config any = {.endpoint = ":0"};
  wire_listener *l = wire_listener_start(&loop, &any, attach_echo, NULL, &err);
  CHECK_MSG(l != NULL, "%s", err.msg);
  if (l) {
    CHECK(wire_listener_port(l) != 0);
    wire_listener_stop(l, NULL, NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

static void ipv6_loopback(void) {
  server s = {0};
  wire_err err = {0};
  if (server_start(&s, (wire_listener_config){.endpoint = "[::1]:0"}, &err) < 0) {
    printf("  (no IPv6 loopback here: %s)\n", err.msg);
    return;
  }
  wire_conn *c = dial_ok("[::1]", s.port, NULL, NULL, &err);
  if (c) {
    CHECK(echo_roundtrip(c, "v6", &err));
    wire_conn_close(c);
  }
  server_stop(&s);
}

int main(void) {
  have_certs = test_certs_make(&certs) == 0;
  CHECK(have_certs);
  RUN(plaintext_echo);
  RUN(h2_preface_selects_h2);
  RUN(tls_echo_and_alpn);
  RUN(tls_verification_failures);
  RUN(tls_config_errors);
  RUN(mutual_tls);
  RUN(read_deadline_and_graceful_close);
  RUN(connect_refused_fails_fast);
  RUN(peer_close_mid_write_no_sigpipe);
  RUN(max_connections_enforced);
  RUN(idle_and_handshake_timeouts);
  RUN(pending_output_is_bounded);
  RUN(pending_output_is_bounded_tls);
  RUN(pause_and_resume_plain);
  RUN(pause_and_resume_tls);
  RUN(driver_errors_close_once);
  RUN(unix_socket_echo);
  RUN(stop_closes_open_connections);
  RUN(listen_errors);
  RUN(ipv6_loopback);
  return test_finish();
}
