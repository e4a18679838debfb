/* bench_preload.c — what the preload shim costs per call, measured from inside one process over loopback.
 *
 * Run it plain and under LD_PRELOAD=libotelc-preload.so (bench_preload.sh does both) and compare:
 *   exchange   one keep-alive HTTP/1.1 exchange on an accepted socket (the shim watches it): the client
 *              writes a request, the server reads it and answers with writev (head + 100-byte body), the
 *              client reads the answer; ns per exchange
 *   pipe       a write and a read of 64 bytes on a pipe (fds the shim does not watch: one load each); ns
 *              per write+read pair
 * Nothing is asserted; figures go to docs/performance.md. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_full(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200000;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
    perror("listen");
    return 1;
  }
  int cfd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(cfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("connect");
    return 1;
  }
  int sfd = accept(lfd, NULL, NULL);
  int one = 1;
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  static const char req[] = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
  static const char head[] = "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n";
  char body[100];
  memset(body, 'x', sizeof body);
  char rbuf[512];
  size_t resp_len = sizeof head - 1 + sizeof body;
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    if (write(cfd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) return 1;
    if (read_full(sfd, rbuf, sizeof req - 1) < 0) return 1;
    struct iovec iov[2] = {{(void *)head, sizeof head - 1}, {body, sizeof body}};
    if (writev(sfd, iov, 2) != (ssize_t)resp_len) return 1;
    if (read_full(cfd, rbuf, resp_len) < 0) return 1;
  }
  double t1 = now_s();
  printf("exchange  %9.0f ns/exchange  (%d keep-alive exchanges on an accepted socket)\n", (t1 - t0) * 1e9 / n, n);

  int p[2];
  if (pipe(p) < 0) return 1;
  char small[64] = {0};
  int m = n * 5;
  t0 = now_s();
  for (int i = 0; i < m; i++) {
    if (write(p[1], small, sizeof small) != (ssize_t)sizeof small) return 1;
    if (read(p[0], small, sizeof small) != (ssize_t)sizeof small) return 1;
  }
  t1 = now_s();
  printf("pipe      %9.0f ns/write+read  (%d pairs on fds the shim does not watch)\n", (t1 - t0) * 1e9 / m, m);
  close(cfd);
  close(sfd);
  close(lfd);
  return 0;
}
