/* interpose.c — the functions libotelc-preload.so exports: the libc socket calls and OpenSSL's SSL_read/SSL_write
 * that an HTTP server uses, each calling the real function first and then showing the bytes it moved to the
 * connection's sniffer, plus the constructor that resolves the real functions and reads every setting.
 *
 * Rules every interposer follows:
 *   - The real function runs first, with the caller's arguments untouched, and its return value is returned
 *     as is. errno is saved right after it and restored before returning, whatever the shim did in between.
 *   - An fd the shim does not watch costs one load (fdt_get) after the real call.
 *   - Before the constructor has resolved the real functions (a library constructor running before ours),
 *     the system call is made directly.
 *   - A thread-local guard keeps the shim out of calls it makes itself or that happen inside its own hooks
 *     (OpenSSL's reads and writes of ciphertext under SSL_read/SSL_write, a signal handler interrupting the
 *     shim). The sniffer allocates nothing, locks nothing and makes no system call (bar clock_gettime), so a
 *     signal handler doing I/O on a watched socket is safe.
 *   - Only sockets returned by accept()/accept4() on TCP or Unix stream listening sockets are watched.
 *   - The read and write calls, close and open, are made as plain system calls, without libc's cancellation
 *     wrapper, as long as cancellation cannot be observed in this process (see "system calls" below): once
 *     the shim's thread exists the process is multi-threaded, and glibc then brackets every such call with
 *     two atomic updates of the thread's cancellation state, which a program that never cancels threads does
 *     not need. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "autoinstr/clock.h"
#include "autoinstr/config.h"
#include "autoinstr/fdtable.h"
#include "autoinstr/metrics.h"
#include "autoinstr/sniffer.h"

#define EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- the real functions ------------------------------------------------------------------------------ */

/* The first line holds what a served request calls through every time (sendfile and close always; the others
 * once a host thread or a cancel makes the interposers go through libc): one cache line (hot.h, why). */
static struct {
  ssize_t (*sendfile)(int, int, off_t *, size_t);
  ssize_t (*sendfile64)(int, int, off64_t *, size_t);
  int (*close)(int);
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*write)(int, const void *, size_t);
  ssize_t (*writev)(int, const struct iovec *, int);
  ssize_t (*send)(int, const void *, size_t, int);
  /* second line on */
  int (*accept)(int, struct sockaddr *, socklen_t *);
  int (*accept4)(int, struct sockaddr *, socklen_t *, int);
  ssize_t (*readv)(int, const struct iovec *, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  int (*shutdown)(int, int);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  pid_t (*fork)(void);
  long (*syscall)(long, ...);
  void (*_exit)(int) __attribute__((noreturn));
  void (*_Exit)(int) __attribute__((noreturn));
  int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  int (*pthread_cancel)(pthread_t);
  int (*open64)(const char *, int, ...);
  int (*openat64)(int, const char *, int, ...);
  int (*prctl)(int, ...);
} real PRELOAD_HOT_DATA __attribute__((aligned(64)));

typedef struct ssl_st SSL;
typedef int (*ssl_rw_fn)(SSL *, void *, int);
typedef int (*ssl_rw_ex_fn)(SSL *, void *, size_t, size_t *);
typedef int (*ssl_get_fd_fn)(const SSL *);

int SSL_read(SSL *ssl, void *buf, int num);
int SSL_write(SSL *ssl, const void *buf, int num);
int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes);
int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written);

static _Atomic(ssl_rw_fn) g_ssl_read, g_ssl_write;
static _Atomic(ssl_rw_ex_fn) g_ssl_read_ex, g_ssl_write_ex;
static _Atomic(ssl_get_fd_fn) g_ssl_get_fd;

static __thread int t_in_shim __attribute__((tls_model("initial-exec")));
static pid_t g_pid;

/* ---- thread-local words ----------------------------------------------------------------------------------
 *
 * Every interposed call on a watched fd reads two thread-local words: the re-entry guard above and libc's
 * errno (saved and restored around the shim's work). Reached the usual way, each costs a page the host's own
 * path does not touch — the GOT entry holding the guard's TLS offset, and __errno_location's page in libc
 * behind a PLT stub — and on a VM with page-table isolation distinct pages per call are what the shim pays
 * for most (docs/performance.md, "Wall clock"). Both words live in static TLS (libc's errno is initial-exec
 * by definition; the guard is initial-exec and the shim is preloaded), so their distance from the thread
 * pointer is the same in every thread: the constructor measures it once and keeps it on the hot data page.
 * Before that (a library constructor calling read() ahead of ours), the usual access is used. */
#if defined(__x86_64__)
#define HAVE_THREAD_POINTER 1
static inline char *thread_pointer(void) {
  char *tp;
  __asm__("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}
#elif defined(__aarch64__)
#define HAVE_THREAD_POINTER 1
static inline char *thread_pointer(void) { return (char *)__builtin_thread_pointer(); }
#else
#define HAVE_THREAD_POINTER 0
static inline char *thread_pointer(void) { return NULL; }
#endif

/* The offsets are preload_hot_line.tls_guard and .tls_errno (hot.h); 0 until measured (errno is never at the
 * thread pointer itself: the TCB is there). */

/* The usual access, out of line: only before the constructor has run. */
__attribute__((noinline)) PRELOAD_COLD static int *tls_guard_usual(void) { return &t_in_shim; }
__attribute__((noinline)) PRELOAD_COLD static int *tls_errno_usual(void) { return &errno; }

static inline int *tls_guard(void) {
  return HAVE_THREAD_POINTER && __builtin_expect(preload_hot_line.tls_errno != 0, 1) ? (int *)(thread_pointer() + preload_hot_line.tls_guard)
                                                                 : tls_guard_usual();
}
static inline int *tls_errno(void) {
  return HAVE_THREAD_POINTER && __builtin_expect(preload_hot_line.tls_errno != 0, 1) ? (int *)(thread_pointer() + preload_hot_line.tls_errno)
                                                                 : tls_errno_usual();
}
#define IN_SHIM (*tls_guard())
#define ERRNO (*tls_errno())

PRELOAD_COLD static void tls_offsets_init(void) {
  if (!HAVE_THREAD_POINTER || !thread_pointer()) return;
  ptrdiff_t guard = (char *)&t_in_shim - thread_pointer(), err = (char *)&errno - thread_pointer();
  /* static TLS sits a few KiB from the thread pointer; anything else keeps the usual access */
  if (guard != (int32_t)guard || err != (int32_t)err) return;
  preload_hot_line.tls_guard = (int32_t)guard;
  preload_hot_line.tls_errno = (int32_t)err;
}

#define RESOLVE(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)

PRELOAD_COLD static void resolve_real(void) {
  RESOLVE(accept);
  RESOLVE(accept4);
  RESOLVE(read);
  RESOLVE(readv);
  RESOLVE(recv);
  RESOLVE(recvfrom);
  RESOLVE(recvmsg);
  RESOLVE(write);
  RESOLVE(writev);
  RESOLVE(send);
  RESOLVE(sendto);
  RESOLVE(sendmsg);
  RESOLVE(sendfile);
  RESOLVE(sendfile64);
  RESOLVE(close);
  RESOLVE(shutdown);
  RESOLVE(dup);
  RESOLVE(dup2);
  RESOLVE(dup3);
  RESOLVE(fork);
  RESOLVE(syscall);
  RESOLVE(_exit);
  RESOLVE(_Exit);
  RESOLVE(pthread_create);
  RESOLVE(pthread_cancel);
  RESOLVE(open64);
  RESOLVE(openat64);
  RESOLVE(prctl);
}

/* OpenSSL's functions, looked up on first use: libssl may be loaded long after us, or never. */
static void *resolve_ssl(void *_Atomic *slot, const char *name) {
  void *fn = atomic_load_explicit(slot, memory_order_acquire);
  if (fn) return fn;
  fn = dlsym(RTLD_NEXT, name);
  if (!fn) fn = dlsym(RTLD_DEFAULT, name);
  if (fn) atomic_store_explicit(slot, fn, memory_order_release);
  return fn;
}

/* ---- system calls --------------------------------------------------------------------------------------
 *
 * glibc's read(), write(), recv(), send() ... are cancellation points: in a multi-threaded process each one
 * switches the calling thread to asynchronous cancellation around the system call and back (two atomic
 * compare-exchanges on the thread's cancellation word), so that pthread_cancel() can interrupt a thread
 * blocked inside. A single-threaded program skips that; the shim's own thread would make every nginx worker
 * pay it on each call. The wrapper only matters if some thread may be cancelled while inside the call, which
 * needs pthread_cancel() and, for the call to be blocking at that moment, a second host thread. So while the
 * host has created no thread of its own (pthread_create from any thread but the shim's) and nobody has called
 * pthread_cancel(), the interposers make the system call themselves: same number, same arguments, the same
 * result and errno as glibc's wrapper gives a single-threaded process. From the first host thread or cancel
 * request on, every call goes through libc again, for good. (Threads created inside glibc — SIGEV_THREAD
 * timers, POSIX AIO — are not seen; one of them cancelling the main thread while it blocks in a read is the
 * one case that would differ, and it would be noticed at the main thread's next cancellation point.) */

/* preload_hot_line.cancel_possible (hot.h): libc's wrappers from now on. */

#if defined(__x86_64__)
#define HAVE_RAW_SYSCALL 1
static inline long raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
#define HAVE_RAW_SYSCALL 1
static inline long raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a1;
  register long x1 __asm__("x1") = a2;
  register long x2 __asm__("x2") = a3;
  register long x3 __asm__("x3") = a4;
  register long x4 __asm__("x4") = a5;
  register long x5 __asm__("x5") = a6;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
}
#else
#define HAVE_RAW_SYSCALL 0
static inline long raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  long r = syscall(n, a1, a2, a3, a4, a5, a6); /* only before the constructor: -1 and errno -> -errno */
  return r == -1 ? -errno : r;
}
#endif

/* True when every read/write function the interposers would bypass is libc's own. Another LD_PRELOAD library
 * after us (a tracer, a fault injector, a sanitizer runtime) would otherwise be skipped by the direct system
 * calls, which would change the host's behaviour: then the interposers always call the next definition. */
static bool next_io_is_libc(void) {
  Dl_info libc, other;
  if (!dladdr((void *)gnu_get_libc_version, &libc) || !libc.dli_fbase) return false;
  void *fns[] = {(void *)real.read,  (void *)real.readv,  (void *)real.recv,   (void *)real.recvfrom,
                 (void *)real.recvmsg, (void *)real.write, (void *)real.writev, (void *)real.send,
                 (void *)real.sendto, (void *)real.sendmsg, (void *)real.close, (void *)real.open64,
                 (void *)real.openat64};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (fns[i] && (!dladdr(fns[i], &other) || other.dli_fbase != libc.dli_fbase)) return false;
  return true;
}

/* Use the system call directly? */
static inline bool direct_syscalls(void) {
  return HAVE_RAW_SYSCALL && !atomic_load_explicit(&preload_hot_line.cancel_possible, memory_order_relaxed);
}

/* A raw system call's result as libc returns it: -1 with errno for -4095..-1. */
static inline long sys_result(long r) {
  if ((unsigned long)r > -4096UL) {
    ERRNO = (int)-r;
    return -1;
  }
  return r;
}

#define SYS3(nr, a, b, c) sys_result(raw_syscall(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0))
#define SYS4(nr, a, b, c, d) sys_result(raw_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0))
#define SYS6(nr, a, b, c, d, e, f)                                                                                  \
  sys_result(raw_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

/* ---- helpers ------------------------------------------------------------------------------------------ */

/* Enters c's sniffer; false when the shim must stay out (re-entered, another thread inside, disabled). */
PRELOAD_HOT static bool conn_begin(preload_conn *c) {
  if (IN_SHIM || !fdt_conn_enter(c)) return false;
  IN_SHIM = 1;
  if (UNLIKELY(!atomic_load_explicit(&preload_hot_line.enabled, memory_order_relaxed))) {
    sniff_stop_now(&c->s, SNIFF_STOP_NONE);
  } else if (UNLIKELY(atomic_load_explicit(&c->lost, memory_order_relaxed))) {
    sniff_stop_now(&c->s, SNIFF_STOP_LOST);
  }
  return true;
}

PRELOAD_HOT static void conn_end(preload_conn *c) {
  IN_SHIM = 0;
  fdt_conn_leave(c);
}

/* Drops one fd's reference to c; the last one finishes the connection's exchanges and frees the slot. */
static void release_conn(preload_conn *c) {
  if (!fdt_conn_unref(c)) return;
  if (!conn_begin(c)) return; /* another thread is still inside: leave the slot allocated (never reused) */
  sniff_close(&c->s, SNIFF_CLOCK);
  conn_end(c);
  fdt_conn_free(c);
}

static void forget_fd(int fd) {
  preload_conn *c = fdt_take(fd); /* a connection, or what was cached about a listening socket */
  if (c) release_conn(c);
}

/* Watches newfd as one more name of c. */
static void alias_fd(int newfd, preload_conn *c) {
  if ((unsigned)newfd >= PRELOAD_MAX_FD) return;
  fdt_conn_ref(c);
  preload_conn *old = fdt_set(newfd, c);
  if (old) release_conn(old);
}

/* What accept() on lfd yields: watched or not, and the server port. Cached per listening fd. */
static uint32_t listener_info(int lfd) {
  uint32_t info = fdt_listen_get(lfd);
  if (info) return info;
  info = PRELOAD_LISTEN_KNOWN;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockname(lfd, (struct sockaddr *)&ss, &sl) == 0 &&
      getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
      int proto = 0;
      socklen_t pl = sizeof proto;
      if (getsockopt(lfd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) == 0 && proto == IPPROTO_TCP) {
        uint16_t port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                                : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        info |= PRELOAD_LISTEN_HTTP | port;
      }
    } else if (ss.ss_family == AF_UNIX) {
      info |= PRELOAD_LISTEN_HTTP | PRELOAD_LISTEN_UNIX;
    }
  }
  fdt_listen_set(lfd, info);
  return info;
}

static void track_accepted(int lfd, int fd) {
  if (IN_SHIM || (unsigned)fd >= PRELOAD_MAX_FD) return;
  IN_SHIM = 1;
  preload_conn *stale = fdt_take(fd); /* an fd closed behind our back (close_range, a raw syscall) */
  IN_SHIM = 0;
  if (stale) release_conn(stale);
  uint32_t info = listener_info(lfd);
  if (!(info & PRELOAD_LISTEN_HTTP)) return;
  preload_conn *c = fdt_conn_alloc();
  if (!c) return;
  uint16_t port = (info & PRELOAD_LISTEN_UNIX) ? 0 : (uint16_t)(info & 0xffff);
  /* no table when no route is configured: the request path then never reads preload_cfg's page */
  sniff_init(&c->s, &preload_hot_line.sink, preload_cfg.routes.n ? &preload_cfg.routes : NULL, port, fdt_port_slot(port));
  preload_conn *old = fdt_set(fd, c);
  if (old) release_conn(old);
}

/* After a read-like call on a watched fd: r bytes were read into iov (or the peer closed/reset). */
PRELOAD_HOT static void after_read(preload_conn *c, const struct iovec *iov, int iovcnt, size_t asked, ssize_t r, int err,
                       int flags) {
  if (flags & MSG_PEEK) return;
  if (r < 0 && err != ECONNRESET) return;
  if (r == 0 && asked == 0) return; /* a zero-length read says nothing about the peer */
  if (!conn_begin(c)) return;
  if (r <= 0) {
    sniff_peer_closed(&c->s, SNIFF_CLOCK);
  } else if (flags & MSG_TRUNC) {
    sniff_read_discarded(&c->s); /* bytes thrown away unseen (a lingering close draining the socket) */
  } else {
    size_t left = (size_t)r;
    for (int i = 0; i < iovcnt && left > 0; i++) {
      size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
      if (k) sniff_read(&c->s, iov[i].iov_base, k, SNIFF_CLOCK); /* the clock is read if a request starts */
      left -= k;
    }
  }
  conn_end(c);
}

PRELOAD_HOT static void after_write(preload_conn *c, const struct iovec *iov, int iovcnt, ssize_t r) {
  if (r <= 0 || !conn_begin(c)) return;
  size_t left = (size_t)r;
  for (int i = 0; i < iovcnt && left > 0; i++) {
    size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
    if (k) sniff_write(&c->s, iov[i].iov_base, k, SNIFF_CLOCK); /* the clock is read if a response ends */
    left -= k;
  }
  conn_end(c);
}

/* The interposers' side: called right after the real call on a watched fd; the call's errno is read here and
 * left as it was for the host. */
PRELOAD_HOT static void observe_read(preload_conn *c, const struct iovec *iov, int iovcnt, size_t asked, ssize_t r, int flags) {
  int err = ERRNO;
  after_read(c, iov, iovcnt, asked, r, err, flags);
  ERRNO = err;
}

PRELOAD_HOT static void observe_read1(preload_conn *c, void *buf, size_t n, ssize_t r, int flags) {
  struct iovec v = {buf, n};
  observe_read(c, &v, 1, n, r, flags);
}

PRELOAD_HOT static void observe_write(preload_conn *c, const struct iovec *iov, int iovcnt, ssize_t r) {
  int err = ERRNO;
  after_write(c, iov, iovcnt, r);
  ERRNO = err;
}

PRELOAD_HOT static void observe_write1(preload_conn *c, const void *buf, size_t n, ssize_t r) {
  struct iovec v = {(void *)buf, n};
  observe_write(c, &v, 1, r);
}

PRELOAD_HOT static size_t iov_total(const struct iovec *iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; i++) t += iov[i].iov_len;
  return t;
}

/* ---- accept ------------------------------------------------------------------------------------------- */

EXPORT int accept(int lfd, struct sockaddr *addr, socklen_t *len) {
  int fd = real.accept ? real.accept(lfd, addr, len) : (int)syscall(SYS_accept4, lfd, addr, len, 0);
  if (fd >= 0 && atomic_load_explicit(&preload_hot_line.enabled, memory_order_relaxed)) {
    int e = ERRNO;
    track_accepted(lfd, fd);
    ERRNO = e;
  }
  return fd;
}

EXPORT int accept4(int lfd, struct sockaddr *addr, socklen_t *len, int flags) {
  int fd = real.accept4 ? real.accept4(lfd, addr, len, flags) : (int)syscall(SYS_accept4, lfd, addr, len, flags);
  if (fd >= 0 && atomic_load_explicit(&preload_hot_line.enabled, memory_order_relaxed)) {
    int e = ERRNO;
    track_accepted(lfd, fd);
    ERRNO = e;
  }
  return fd;
}

/* ---- reading ------------------------------------------------------------------------------------------ */

PRELOAD_HOT_IO EXPORT ssize_t read(int fd, void *buf, size_t n) {
  ssize_t r = direct_syscalls() || !real.read ? SYS3(SYS_read, fd, buf, n) : real.read(fd, buf, n);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_read1(c, buf, n, r, 0);
  }
  return r;
}

PRELOAD_HOT_IO_RARE EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
  ssize_t r = direct_syscalls() || !real.readv ? SYS3(SYS_readv, fd, iov, iovcnt) : real.readv(fd, iov, iovcnt);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    if (iovcnt > 0) observe_read(c, iov, iovcnt, iov_total(iov, iovcnt), r, 0);
  }
  return r;
}

PRELOAD_HOT_IO EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  ssize_t r = direct_syscalls() || !real.recv ? SYS6(SYS_recvfrom, fd, buf, n, flags, NULL, NULL)
                                              : real.recv(fd, buf, n, flags);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_read1(c, buf, n, r, flags);
  }
  return r;
}

PRELOAD_HOT_IO_RARE EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen) {
  ssize_t r = direct_syscalls() || !real.recvfrom ? SYS6(SYS_recvfrom, fd, buf, n, flags, addr, alen)
                                                  : real.recvfrom(fd, buf, n, flags, addr, alen);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_read1(c, buf, n, r, flags);
  }
  return r;
}

PRELOAD_HOT_IO_RARE EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  ssize_t r = direct_syscalls() || !real.recvmsg ? SYS3(SYS_recvmsg, fd, msg, flags) : real.recvmsg(fd, msg, flags);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    if (msg && msg->msg_iovlen > 0)
      observe_read(c, msg->msg_iov, (int)msg->msg_iovlen, iov_total(msg->msg_iov, (int)msg->msg_iovlen), r, flags);
  }
  return r;
}

/* ---- writing ------------------------------------------------------------------------------------------ */

PRELOAD_HOT_IO EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  ssize_t r = direct_syscalls() || !real.write ? SYS3(SYS_write, fd, buf, n) : real.write(fd, buf, n);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_write1(c, buf, n, r);
  }
  return r;
}

PRELOAD_HOT_IO EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  ssize_t r = direct_syscalls() || !real.writev ? SYS3(SYS_writev, fd, iov, iovcnt) : real.writev(fd, iov, iovcnt);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_write(c, iov, iovcnt, r);
  }
  return r;
}

PRELOAD_HOT_IO EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  ssize_t r = direct_syscalls() || !real.send ? SYS6(SYS_sendto, fd, buf, n, flags, NULL, 0)
                                              : real.send(fd, buf, n, flags);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_write1(c, buf, n, r);
  }
  return r;
}

PRELOAD_HOT_IO_RARE EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen) {
  ssize_t r = direct_syscalls() || !real.sendto ? SYS6(SYS_sendto, fd, buf, n, flags, addr, alen)
                                                : real.sendto(fd, buf, n, flags, addr, alen);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    observe_write1(c, buf, n, r);
  }
  return r;
}

PRELOAD_HOT_IO_RARE EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  ssize_t r = direct_syscalls() || !real.sendmsg ? SYS3(SYS_sendmsg, fd, msg, flags) : real.sendmsg(fd, msg, flags);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL)) {
    if (msg) observe_write(c, msg->msg_iov, (int)msg->msg_iovlen, r);
  }
  return r;
}

PRELOAD_HOT static void after_sendfile(int out_fd, ssize_t r) {
  preload_conn *c = fdt_get(out_fd);
  if (UNLIKELY(c != NULL) && r > 0) {
    int e = ERRNO;
    if (conn_begin(c)) {
      sniff_write_opaque(&c->s, (uint64_t)r, SNIFF_CLOCK);
      conn_end(c);
    }
    ERRNO = e;
  }
}

PRELOAD_HOT_IO EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count) {
  ssize_t r = real.sendfile ? real.sendfile(out_fd, in_fd, offset, count)
                            : syscall(SYS_sendfile, out_fd, in_fd, offset, count);
  after_sendfile(out_fd, r);
  return r;
}

PRELOAD_HOT_IO EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count) {
  ssize_t r = real.sendfile64 ? real.sendfile64(out_fd, in_fd, offset, count)
                              : syscall(SYS_sendfile, out_fd, in_fd, offset, count);
  after_sendfile(out_fd, r);
  return r;
}

/* ---- closing, duplicating ----------------------------------------------------------------------------- */

PRELOAD_HOT_IO EXPORT int close(int fd) {
  if (UNLIKELY(fdt_known(fd))) {
    int e = ERRNO;
    forget_fd(fd); /* before the real close: afterwards the number may already belong to someone else */
    ERRNO = e;
  }
  if (direct_syscalls()) return (int)SYS3(SYS_close, fd, 0, 0);
  return real.close ? real.close(fd) : (int)syscall(SYS_close, fd);
}

/* ---- opening files ---------------------------------------------------------------------------------------
 *
 * Not watched: interposed only for the cancellation wrapper ("system calls" above). nginx opens and closes
 * the file it serves on every request; once the shim's thread exists, glibc's open64() and close() would each
 * add two atomic updates of the thread's cancellation state to that request, a cost the shim's thread alone
 * causes. So, like the read and write calls, they make the system call themselves while cancellation cannot
 * be observed: what glibc's open64() does on a 64-bit target (openat from AT_FDCWD, the mode read only when
 * the flags need one), with the same result and errno. */

#define OPEN_NEEDS_MODE(flags) (((flags) & O_CREAT) != 0 || ((flags) & O_TMPFILE) == O_TMPFILE)

static int open_mode(int flags, va_list ap) { return OPEN_NEEDS_MODE(flags) ? va_arg(ap, int) : 0; }

PRELOAD_HOT_IO static inline __attribute__((always_inline)) int open_at(int dirfd, const char *path, int flags, int mode) {
  if (direct_syscalls()) return (int)SYS4(SYS_openat, dirfd, path, flags, mode);
  if (dirfd == AT_FDCWD && real.open64) return real.open64(path, flags, mode);
  if (real.openat64) return real.openat64(dirfd, path, flags, mode);
  return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

PRELOAD_HOT_IO EXPORT int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  return open_at(AT_FDCWD, path, flags, mode);
}

PRELOAD_HOT_IO EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  return open_at(dirfd, path, flags, mode);
}

/* On 64-bit targets open and openat are open64 and openat64 (one function, two names, in glibc too). */
#if defined(__LP64__)
EXPORT int open(const char *path, int flags, ...) __attribute__((alias("open64")));
EXPORT int openat(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat64")));
#endif

EXPORT int shutdown(int fd, int how) {
  int r = real.shutdown ? real.shutdown(fd, how) : (int)syscall(SYS_shutdown, fd, how);
  preload_conn *c = fdt_get(fd);
  if (UNLIKELY(c != NULL) && r == 0 && (how == SHUT_WR || how == SHUT_RDWR)) {
    int e = ERRNO;
    if (conn_begin(c)) {
      sniff_shutdown_write(&c->s, SNIFF_CLOCK);
      conn_end(c);
    }
    ERRNO = e;
  }
  return r;
}

/* newfd now names what oldfd names (dup2/dup3 replaced whatever newfd was). */
static void after_dup(int oldfd, int newfd) {
  int e = ERRNO;
  forget_fd(newfd);
  preload_conn *c = fdt_get(oldfd);
  if (c) alias_fd(newfd, c);
  ERRNO = e;
}

EXPORT int dup(int oldfd) {
  int r = real.dup ? real.dup(oldfd) : (int)syscall(SYS_dup, oldfd);
  if (r >= 0 && UNLIKELY(fdt_get(oldfd) != NULL || fdt_known(r))) after_dup(oldfd, r);
  return r;
}

EXPORT int dup2(int oldfd, int newfd) {
#ifdef SYS_dup2
  int r = real.dup2 ? real.dup2(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
#else
  int r = real.dup2 ? real.dup2(oldfd, newfd)
                    : oldfd == newfd ? newfd : (int)syscall(SYS_dup3, oldfd, newfd, 0);
#endif
  if (r >= 0 && oldfd != newfd) after_dup(oldfd, newfd);
  return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags) {
  int r = real.dup3 ? real.dup3(oldfd, newfd, flags) : (int)syscall(SYS_dup3, oldfd, newfd, flags);
  if (r >= 0) after_dup(oldfd, newfd);
  return r;
}

/* syscall() itself: libuv (node) closes sockets with syscall(SYS_close, fd) to dodge the cancellation point
 * of close(); a close the shim does not see would leave the connection's last exchange unreported. Every
 * other number goes straight through. Six arguments are forwarded whatever the caller passed, as glibc's own
 * syscall() reads them. */
PRELOAD_HOT_IO_RARE EXPORT long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
  long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_close && UNLIKELY(fdt_known((int)a1))) {
    int e = ERRNO;
    forget_fd((int)a1);
    ERRNO = e;
  }
  if (UNLIKELY(number == SYS_prctl) && a1 == PR_SET_TSC && a2 != PR_TSC_ENABLE) preload_clock_forbid_tsc();
  if (UNLIKELY(!real.syscall)) real.syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real.syscall(number, a1, a2, a3, a4, a5, a6);
}

/* prctl() itself: PR_SET_TSC can forbid this thread the time-stamp counter, which the shim's clock may read
 * (clock.h); the process's clock becomes CLOCK_MONOTONIC before the call takes effect. Four arguments are
 * forwarded whatever the caller passed, as glibc's own prctl() reads them. */
PRELOAD_COLD EXPORT int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
  unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
  va_end(ap);
  if (option == PR_SET_TSC && a2 != PR_TSC_ENABLE) preload_clock_forbid_tsc();
  if (UNLIKELY(!real.prctl)) RESOLVE(prctl);
  return real.prctl(option, a2, a3, a4, a5);
}

/* ---- fork --------------------------------------------------------------------------------------------- */

PRELOAD_COLD static void fork_child(void) {
  pid_t me = getpid();
  if (me == g_pid) return; /* already done (pthread_atfork and the fork wrapper both call this) */
  g_pid = me;
  preload_metrics_after_fork_child();
}

EXPORT pid_t fork(void) {
  if (UNLIKELY(!real.fork)) real.fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  pid_t p = real.fork();
  if (p == 0) {
    int e = ERRNO;
    fork_child();
    ERRNO = e;
  }
  return p;
}

/* ---- threads ------------------------------------------------------------------------------------------ */

/* A thread of the host's (not one the shim starts: the caller is inside the shim, or is the shim's thread):
 * from now on the read and write calls go through libc (see "system calls"). */
EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
  if (!IN_SHIM && !preload_shim_thread) atomic_store(&preload_hot_line.cancel_possible, true);
  if (UNLIKELY(!real.pthread_create)) RESOLVE(pthread_create);
  return real.pthread_create(thread, attr, start, arg);
}

/* Before the request is made: every read or write call from here on is a cancellation point again. */
EXPORT int pthread_cancel(pthread_t thread) {
  atomic_store(&preload_hot_line.cancel_possible, true);
  if (UNLIKELY(!real.pthread_cancel)) RESOLVE(pthread_cancel);
  return real.pthread_cancel(thread);
}

/* ---- OpenSSL ------------------------------------------------------------------------------------------ */

static preload_conn *ssl_conn(SSL *ssl) {
  ssl_get_fd_fn get_fd = resolve_ssl((void *_Atomic *)&g_ssl_get_fd, "SSL_get_fd");
  if (!get_fd) return NULL;
  return fdt_get(get_fd(ssl));
}

static void after_ssl(SSL *ssl, const void *buf, size_t n, bool is_read) {
  int e = ERRNO;
  preload_conn *c = ssl_conn(ssl);
  if (c && conn_begin(c)) {
    if (is_read) sniff_read_tls(&c->s, buf, n, SNIFF_CLOCK);
    else sniff_write_tls(&c->s, buf, n, SNIFF_CLOCK);
    conn_end(c);
  }
  ERRNO = e;
}

EXPORT int SSL_read(SSL *ssl, void *buf, int num) {
  ssl_rw_fn fn = resolve_ssl((void *_Atomic *)&g_ssl_read, "SSL_read");
  if (UNLIKELY(!fn)) return -1;
  int outer = IN_SHIM;
  IN_SHIM = 1; /* the ciphertext reads inside are not ours to see */
  int r = fn(ssl, buf, num);
  IN_SHIM = outer;
  if ((r > 0 || (r == 0 && num > 0)) && !outer) after_ssl(ssl, buf, (size_t)r, true); /* 0: peer closed */
  return r;
}

EXPORT int SSL_write(SSL *ssl, const void *buf, int num) {
  ssl_rw_fn fn = resolve_ssl((void *_Atomic *)&g_ssl_write, "SSL_write");
  if (UNLIKELY(!fn)) return -1;
  int outer = IN_SHIM;
  IN_SHIM = 1;
  int r = fn(ssl, (void *)buf, num);
  IN_SHIM = outer;
  if (r > 0 && !outer) after_ssl(ssl, buf, (size_t)r, false);
  return r;
}

EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) {
  ssl_rw_ex_fn fn = resolve_ssl((void *_Atomic *)&g_ssl_read_ex, "SSL_read_ex");
  if (UNLIKELY(!fn)) return 0;
  int outer = IN_SHIM;
  IN_SHIM = 1;
  int r = fn(ssl, buf, num, readbytes);
  IN_SHIM = outer;
  if (r == 1 && readbytes && *readbytes > 0 && !outer) after_ssl(ssl, buf, *readbytes, true);
  return r;
}

EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) {
  ssl_rw_ex_fn fn = resolve_ssl((void *_Atomic *)&g_ssl_write_ex, "SSL_write_ex");
  if (UNLIKELY(!fn)) return 0;
  int outer = IN_SHIM;
  IN_SHIM = 1;
  int r = fn(ssl, (void *)buf, num, written);
  IN_SHIM = outer;
  if (r == 1 && written && *written > 0 && !outer) after_ssl(ssl, buf, *written, false);
  return r;
}

/* ---- getenv for the SDK inside (see config.h), load and unload ---------------------------------------- */

char *__wrap_getenv(const char *name);
char *__wrap_getenv(const char *name) { return preload_getenv(name); }

extern char **environ;
extern char *program_invocation_short_name;

__attribute__((constructor)) static void preload_init(void) {
  resolve_real();
  tls_offsets_init();
  preload_clock_init();
  preload_config_load(environ, program_invocation_short_name);
  g_pid = getpid();
  const char *sdk_off = preload_config_env("OTEL_SDK_DISABLED");
  bool enabled = preload_cfg.enabled && !(sdk_off && !strcasecmp(sdk_off, "true"));
  /* what is wrong in the settings is said by the recording thread, in processes that serve HTTP (config.h) */
  if (preload_cfg.clock_monotonic) preload_clock_forbid_tsc();
  if (enabled) pthread_atfork(NULL, NULL, fork_child);
  /* A thread started before the interposers were in place (inside glibc, or by a library constructor that
   * ran first and called pthread_create through another path): cancellation is the host's business. */
  if (!__libc_single_threaded || !HAVE_RAW_SYSCALL || !next_io_is_libc()) atomic_store(&preload_hot_line.cancel_possible, true);
  atomic_store(&preload_hot_line.enabled, enabled);
}

/* ---- leaving ------------------------------------------------------------------------------------------- */

static void finish_conn(preload_conn *c, void *user) {
  (void)user;
  if (!conn_begin(c)) return;
  sniff_close(&c->s, SNIFF_CLOCK); /* the kernel closes it in a moment; a close-delimited body ends here */
  conn_end(c);
}

/* The process is leaving: finish the open connections and export what this process recorded, within
 * timeout_ms. Only in the process that owns the recording thread (not in a vfork child sharing its memory). */
PRELOAD_COLD static void exit_flush(int timeout_ms) {
  if (getpid() != g_pid || !atomic_load_explicit(&preload_hot_line.enabled, memory_order_relaxed)) return;
  if (!preload_metrics_running()) return;
  int e = ERRNO;
  fdt_for_each_live(finish_conn, NULL);
  preload_metrics_shutdown(timeout_ms);
  ERRNO = e;
}

__attribute__((destructor)) static void preload_fini(void) { exit_flush(4000); }

/* _exit and _Exit: forking servers end their children with them (busybox httpd, Python's ForkingMixIn via
 * os._exit), skipping exit handlers; the child's exchanges would never be exported otherwise. */
EXPORT void _exit(int status) {
  exit_flush(1000);
  if (real._exit) real._exit(status);
  for (;;) syscall(SYS_exit_group, status);
}

EXPORT void _Exit(int status) {
  exit_flush(1000);
  if (real._Exit) real._Exit(status);
  for (;;) syscall(SYS_exit_group, status);
}

/* The first thing in the hot data section (GCC emits a file's variables last-defined first, and this object
 * comes first in the link), aligned so that the whole group — about 2 KiB from interpose.c, metrics.c,
 * events.c and sniffer.c — starts a page and stays on it. autoinstr_layout.sh checks the result. */
__attribute__((used, aligned(4096))) static char g_hot_page[0] PRELOAD_HOT_DATA;

/* The same for the request path's code (sniffer.h, "Code layout"): an empty input section aligned to a page,
 * sorted before group 1, so that the group starts a page whatever order the compiler emits functions in. */
__asm__(".section .text.sorted.otelc_0,\"ax\",@progbits\n\t.balign 4096\n\t.previous");
