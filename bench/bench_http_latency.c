/* bench_http_latency.c — request latency of an HTTP/1.1 server at a fixed, moderate request rate, for the
 * "p99 latency added" figure of the preload shim (bench/bench_preload.sh).
 *
 * Why not wrk's p99: wrk -c32 runs the server flat out, so its latencies are queueing, and any loss of
 * throughput shows up as added p99 (32 connections / fewer requests per second) whatever the shim adds to one
 * request. Here requests are paced: every 1/RATE s the next idle connection of CONNS keep-alive connections
 * sends one GET and the time to the last byte of its response is recorded, so with the server mostly idle a
 * request's latency is what serving it costs, and the difference between two runs is the shim's share.
 * Pacing is open-loop with a fixed schedule: a request that finds no idle connection, or is sent late because
 * the previous ones took long, is measured from its scheduled time (no coordinated omission), and counted as
 * late.
 *
 *   bench_http_latency PORT PATH [RATE=2000] [SECONDS=5] [CONNS=8]     (127.0.0.1 only)
 *
 * Prints one line: "n N late L p50 X p90 X p99 X p999 X max X" (latencies in microseconds). Responses are read
 * with the wire layer's HTTP/1 parser; any error or a non-200 status ends the run with exit status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire/clock.h"
#include "wire/http1.h"

#define MAX_CONNS 64

typedef struct client_conn {
  int fd;
  bool busy;
  bool done;        /* the response in flight is complete */
  int status;
  int64_t t_sched;  /* when the request in flight was due */
  wire_h1_parser parser;
  char win[4096];
} client_conn;

static int on_status(wire_h1_parser *p, int version, int status, const char *reason, size_t reason_len) {
  (void)version, (void)reason, (void)reason_len;
  ((client_conn *)p->user)->status = status;
  return 0;
}

static int on_complete(wire_h1_parser *p) {
  ((client_conn *)p->user)->done = true;
  return 0;
}

static const wire_h1_callbacks k_callbacks = {.on_status_line = on_status, .on_message_complete = on_complete};

static int connect_local(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double q) {
  if (!n) return 0;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return (double)v[i] / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT PATH [RATE] [SECONDS] [CONNS]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  const char *path = argv[2];
  double rate = argc > 3 ? atof(argv[3]) : 2000;
  double seconds = argc > 4 ? atof(argv[4]) : 5;
  int nconns = argc > 5 ? atoi(argv[5]) : 8;
  if (port <= 0 || port > 65535 || rate <= 0 || seconds <= 0 || nconns < 1 || nconns > MAX_CONNS) {
    fprintf(stderr, "bench_http_latency: bad arguments (port 1-65535, rate > 0, seconds > 0, 1-%d conns)\n",
            MAX_CONNS);
    return 2;
  }
  char req[512];
  int req_len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
  if (req_len <= 0 || (size_t)req_len >= sizeof req) {
    fprintf(stderr, "bench_http_latency: path too long\n");
    return 2;
  }

  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  static client_conn conns[MAX_CONNS];
  wire_h1_config cfg = {.kind = WIRE_H1_RESPONSE};
  for (int i = 0; i < nconns; i++) {
    conns[i].fd = connect_local(port);
    if (conns[i].fd < 0) {
      fprintf(stderr, "bench_http_latency: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
      return 1;
    }
    wire_h1_parser_init(&conns[i].parser, &cfg, &k_callbacks, &conns[i], conns[i].win, sizeof conns[i].win);
  }

  size_t total = (size_t)(rate * seconds);
  int64_t *lat = calloc(total ? total : 1, sizeof *lat);
  if (!lat) return 1;
  int64_t period = (int64_t)(1e9 / rate);
  int64_t start = wire_now_ns() + 1000000;
  size_t sent = 0, measured = 0, late = 0;
  int next_conn = 0;
  while (measured < total) {
    int64_t now = wire_now_ns();
    /* send every request that is due, each on the next idle connection */
    while (sent < total && start + (int64_t)sent * period <= now) {
      int k = -1;
      for (int j = 0; j < nconns; j++) {
        int c = (next_conn + j) % nconns;
        if (!conns[c].busy) {
          k = c;
          break;
        }
      }
      if (k < 0) break; /* all busy: it goes out as soon as one is free, measured from its due time */
      next_conn = (k + 1) % nconns;
      client_conn *c = &conns[k];
      c->busy = true;
      c->done = false;
      c->status = 0;
      c->t_sched = start + (int64_t)sent * period;
      if (now - c->t_sched > period) late++;
      sent++;
      if (write(c->fd, req, (size_t)req_len) != req_len) {
        fprintf(stderr, "bench_http_latency: write: %s\n", strerror(errno));
        return 1;
      }
    }
    struct pollfd pfd[MAX_CONNS];
    int map[MAX_CONNS], n = 0;
    for (int i = 0; i < nconns; i++)
      if (conns[i].busy) {
        pfd[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        map[n++] = i;
      }
    int64_t due = sent < total ? start + (int64_t)sent * period : now + 100000000;
    int64_t wait_ns = due - wire_now_ns();
    if (wait_ns < 0) wait_ns = 0;
    /* ppoll: a nanosecond timeout (with the timer slack set to 1 ns below), so the client sleeps, not spins,
     * and leaves the second core to the server and the shim's thread */
    struct timespec ts = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
    int rc = ppoll(pfd, (nfds_t)n, &ts, NULL);
    if (rc < 0 && errno != EINTR) {
      fprintf(stderr, "bench_http_latency: poll: %s\n", strerror(errno));
      return 1;
    }
    for (int i = 0; i < n && rc > 0; i++) {
      if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      client_conn *c = &conns[map[i]];
      uint8_t buf[8192];
      ssize_t got = read(c->fd, buf, sizeof buf);
      if (got <= 0) {
        fprintf(stderr, "bench_http_latency: the server closed a connection (%s)\n", got < 0 ? strerror(errno) : "EOF");
        return 1;
      }
      wire_err err;
      if (wire_h1_parse(&c->parser, buf, (size_t)got, &err) < 0) {
        fprintf(stderr, "bench_http_latency: bad response: %s\n", err.msg);
        return 1;
      }
      if (c->done) {
        if (c->status != 200) {
          fprintf(stderr, "bench_http_latency: status %d for %s\n", c->status, path);
          return 1;
        }
        lat[measured++] = wire_now_ns() - c->t_sched;
        c->busy = false;
      }
    }
  }
  qsort(lat, measured, sizeof *lat, cmp_i64);
  printf("n %zu late %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f\n", measured, late, pct(lat, measured, 0.5),
         pct(lat, measured, 0.9), pct(lat, measured, 0.99), pct(lat, measured, 0.999),
         measured ? (double)lat[measured - 1] / 1e3 : 0.0);
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  free(lat);
  return 0;
}
