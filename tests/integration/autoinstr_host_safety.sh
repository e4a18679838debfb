#!/usr/bin/env bash
# autoinstr_host_safety.sh — what the preload shim must never do to its host: start a thread in a program that
# serves no HTTP, change output, errno or exit codes, touch a protocol it does not understand; and how it
# steps aside: OTELC_AUTOINSTR=off, an unusable configuration (one stderr line, the server keeps serving).
source "$(dirname "$0")/autoinstr_lib.bash"
preload_setup safety
passed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { echo "FAIL: $*"; exit 1; }

# The shim brings no library of its own into its host: libc (and libm), plus the sanitizer runtime in an
# ASan build; never libssl, libnghttp2, libc-ares, libprotobuf-c, libuv or zlib. Only interposers are exported.
extra=$(readelf -d "$shim" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}' |
        grep -vE '^(libc\.so|libm\.so|libasan\.so|libubsan\.so|ld-linux)' || true)
[ -z "$extra" ] || fail "the shim depends on: $extra"
exported=$(nm -D --defined-only "$shim" | awk '{print $3}' | grep -vE '^(accept4?|read|readv|recv|recvfrom|recvmsg|write|writev|send|sendto|sendmsg|sendfile(64)?|close|open(at)?(64)?|shutdown|dup[23]?|fork|syscall|prctl|_exit|_Exit|pthread_(create|cancel)|SSL_(read|write)(_ex)?)$' || true)
[ -z "$exported" ] || fail "the shim exports more than its interposers: $exported"
# Its wire layer is otelc_wire_lite: no OpenSSL, nghttp2, zlib, c-ares or json-c symbol is even referenced.
foreign=$(nm -D --undefined-only "$shim" | awk '{print $2}' |
          grep -E '^(SSL_CTX_|SSL_new|SSL_connect|OPENSSL_|ERR_|nghttp2_|deflate|inflate|ares_|json_)' || true)
[ -z "$foreign" ] || fail "the shim refers to libraries it must not load: $foreign"
ok "the shim needs only libc and exports only its interposers"

# Programs that serve no HTTP: same output, same exit status, no extra thread.
out=$(env "${shim_env[@]}" sh -c 'printf "a b\n" | tr a-z A-Z; exit 3') && st=0 || st=$?
[ "$out" = "A B" ] && [ "$st" = 3 ] || fail "shell pipeline output/exit changed: '$out' $st"
ok "a shell pipeline is unchanged (output and exit status)"
threads=$(env "${shim_env[@]}" $PY -c '
import os, socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.sendall(b"not http at all\r\n"); print(a.recv(100) == b"not http at all\r\n", end=" ")
a.close(); c.close(); s.close()
print(len(os.listdir("/proc/self/task")))')
[ "$threads" = "True 1" ] || fail "non-HTTP process: '$threads' (want 'True 1': bytes intact, one thread)"
ok "a process that accepts a non-HTTP connection keeps its bytes and gets no thread"

# errno and return values through the interposers (EBADF, EAGAIN, ECONNRESET-free EOF, a 0-byte read).
res=$(env "${shim_env[@]}" $PY -c '
import errno, os, socket
r = []
try: os.read(987, 1)
except OSError as e: r.append(e.errno == errno.EBADF)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept(); a.setblocking(False)
try: a.recv(10)
except BlockingIOError as e: r.append(e.errno == errno.EAGAIN)
c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); c.close()
a.setblocking(True); data = a.recv(100); r.append(data.startswith(b"GET")); r.append(a.recv(10) == b"")
try: os.close(a.fileno()); os.close(a.fileno())
except OSError as e: r.append(e.errno == errno.EBADF)
a.detach()
print(all(r), len(r))')
[ "$res" = "True 5" ] || fail "errno/return values: $res"
ok "errno and return values are preserved (EBADF, EAGAIN, EOF, double close)"

# open/openat are interposed only to skip libc's cancellation wrapper (interpose.c, "opening files"): the
# mode reaches the kernel when the flags need one (O_CREAT, O_TMPFILE), relative paths follow the dirfd, and
# errors come back as libc gives them.
mkdir -p "$tmp/open"
res=$(env "${shim_env[@]}" $PY - "$tmp/open" <<'PYEOF'
import errno, os, stat, sys
d, r = sys.argv[1], []
os.umask(0o022)
mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)
fd = os.open(d + "/a", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640); os.write(fd, b"x"); os.close(fd)
r.append(mode(d + "/a") == 0o640)
try: os.open(d + "/a", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
except OSError as e: r.append(e.errno == errno.EEXIST)
try: os.open(d + "/missing", os.O_RDONLY)
except OSError as e: r.append(e.errno == errno.ENOENT)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
fd = os.open("b", os.O_CREAT | os.O_WRONLY, 0o604, dir_fd=dfd); os.close(fd)
r.append(mode(d + "/b") == 0o604)
fd = os.open("a", os.O_RDONLY, dir_fd=dfd); r.append(os.read(fd, 10) == b"x"); os.close(fd)
fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600); r.append(stat.S_IMODE(os.fstat(fd).st_mode) == 0o600)
os.close(fd)
try: os.close(fd)
except OSError as e: r.append(e.errno == errno.EBADF)
print(all(r), len(r))
PYEOF
)
[ "$res" = "True 7" ] || fail "open/openat/close through the shim: $res"
ok "open and openat pass the mode, follow the dirfd and keep libc's errors"

# Another preload library after the shim (a tracer, a fault injector) still sees every call: the shim never
# skips the next definition of recv/read with a direct system call when that definition is not libc's.
cat >"$tmp/next.c" <<'CEOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
static unsigned long calls;
ssize_t recv(int fd, void *buf, size_t n, int flags) {
  static ssize_t (*next)(int, void *, size_t, int);
  if (!next) next = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
  calls++;
  return next(fd, buf, n, flags);
}
__attribute__((destructor)) static void report(void) {
  char line[64];
  int len = snprintf(line, sizeof line, "next-recv-calls=%lu\n", calls);
  if (write(2, line, (size_t)len) < 0) {}
}
CEOF
gcc -shared -fPIC -O1 -o "$tmp/next.so" "$tmp/next.c" -ldl || fail "cannot build the test's preload library"
out=$(env "${shim_env[@]}" LD_PRELOAD="$preload_list $tmp/next.so" $PY -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); print(a.recv(100).startswith(b"GET"))
a.close(); c.close(); s.close()' 2>&1)
echo "$out" | grep -q '^True$' || fail "next preload library: $out"
n=$(echo "$out" | sed -n 's/^next-recv-calls=//p')
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "the preload library after the shim saw no recv call: $out"
ok "a preload library after the shim still sees the host's recv calls"

# The shim's thread does not hold the host's files: once it runs (and its exporter has connected), a socket
# the host closes is closed at once (the peer sees EOF), and a child forked then still has every fd its parent
# opened (the fork handler drops only the shim's own export connection).
res=$(env "${shim_env[@]}" OTEL_METRIC_EXPORT_INTERVAL=200 timeout 30 $PY - 2>/dev/null <<'PYEOF'
import os, socket, time, sys
def links(d):
    out = {}
    for n in os.listdir(d):
        try: out[int(n)] = os.readlink(d + "/" + n)
        except OSError: pass
    return out
def exchange(s):
    c = socket.create_connection(s.getsockname()); a, _ = s.accept()
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); a.recv(1000)
    a.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"); c.recv(1000)
    return c, a
r = {}
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
c1, a1 = exchange(s)                       # the first request starts the shim's thread
tid = None
for _ in range(200):
    for t in os.listdir("/proc/self/task"):
        if open("/proc/self/task/%s/comm" % t).read().strip() == "otelc-preload": tid = t
    if tid: break
    time.sleep(0.02)
r["thread"] = tid is not None
rp, wp = os.pipe()                          # opened by the host after the thread started
host = links("/proc/self/fd")
time.sleep(0.5)                             # the exporter connects (interval 200 ms)
# a socket the host closes is closed: the peer sees EOF at once
a1.close(); c1.settimeout(5); r["eof"] = c1.recv(10) == b""
# a child forked now keeps every fd of its parent's own (only the shim's export socket copy may go)
mine = [s.fileno(), c1.fileno(), rp, wp]
before = {fd: os.readlink("/proc/self/fd/%d" % fd) for fd in mine}
pid = os.fork()
if pid == 0:
    ok = all(os.readlink("/proc/self/fd/%d" % fd) == v for fd, v in before.items())
    os._exit(0 if ok else 1)
r["fork"] = os.waitpid(pid, 0)[1] == 0
c2, a2 = exchange(s)                        # the host keeps serving
r["serve"] = True
print(" ".join("%s=%s" % kv for kv in sorted(r.items())))
PYEOF
)
[ "$res" = "eof=True fork=True serve=True thread=True" ] || fail "host fds with the shim's thread running: '$res'"
ok "with the shim's thread running, a host close() reaches the peer and a forked child keeps the parent's fds"

# The clock (autoinstr/clock.h), with each OTELC_AUTOINSTR_CLOCK setting: an exchange the server answers after
# 150 ms (a status of its own, so its series is its own in the sink, which sums every process of this script)
# is exported with a duration no shorter than that and no longer than the span the server itself saw around
# it (recv before, sendall after); and a host thread that then forbids itself the time-stamp counter (prctl
# PR_SET_TSC, PR_TSC_SIGSEGV) keeps serving, and is still measured. The first exchange is given time to be
# recorded before the prctl (exchanges still open at that moment may get a wrong duration: clock.h). A value
# that is neither auto nor monotonic is one line on stderr, and auto; the line comes from the process that
# serves HTTP (python), not from every process that loads the shim (timeout), and so does a bad
# OTELC_HTTP_ROUTES item's (config.h).
check_clock() { # setting slow-status after-status
  rm -f "$tmp/sink/durations"
  local res spans
  res=$(env "${shim_env[@]}" OTELC_AUTOINSTR_CLOCK="$1" OTEL_METRIC_EXPORT_INTERVAL=200 timeout 30 $PY - "$2" "$3" \
        2>"$tmp/clock.err" <<'PYEOF'
import ctypes, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
def exchange(status, delay):
    c = socket.create_connection(s.getsockname()); a, _ = s.accept()
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.monotonic(); a.recv(1000)
    time.sleep(delay)
    a.sendall(b"HTTP/1.1 " + status.encode() + b" X\r\nContent-Length: 2\r\n\r\nhi"); t1 = time.monotonic()
    c.recv(1000); a.close(); c.close()
    return t1 - t0
spans = [exchange(sys.argv[1], 0.15)]
time.sleep(0.6)                                   # recorded (the thread drains every 20-200 ms)
print("prctl=%d" % libc.prctl(26, 2, 0, 0, 0))    # PR_SET_TSC, PR_TSC_SIGSEGV
spans += [exchange(sys.argv[2], 0.05), exchange(sys.argv[2], 0.05)]
print("spans=%.6f,%.6f" % (spans[0], spans[1] + spans[2]))
PYEOF
)
  echo "$res" | grep -q '^prctl=0$' || fail "clock $1: prctl(PR_SET_TSC) under the shim: '$res' $(cat "$tmp/clock.err")"
  spans=$(echo "$res" | sed -n 's/^spans=//p')
  [ -n "$spans" ] || fail "clock $1: the server did not finish after prctl(PR_SET_TSC): '$res'"
  for _ in $(seq 1 100); do grep -q "status_code=$3" "$tmp/sink/durations" 2>/dev/null && break; sleep 0.1; done
  $PY - "$tmp/sink/durations" "$spans" "$2" "$3" <<'PYEOF' || fail "clock $1: durations: $(cat "$tmp/sink/durations" 2>/dev/null)"
import sys
lines = open(sys.argv[1]).read().splitlines()
spans = [float(x) for x in sys.argv[2].split(",")]
def series(status):
    got = [l for l in lines if l.startswith("http.server.request.duration ") and "status_code=%s" % status in l]
    assert len(got) == 1, got
    f = dict(kv.split("=", 1) for kv in got[0].split()[1:])
    return int(f["count"]), float(f["sum"])
for status, count, least, span in ((sys.argv[3], 1, 0.15, spans[0]), (sys.argv[4], 2, 0.10, spans[1])):
    n, total = series(status)
    assert n == count, (status, n)
    assert least <= total <= span * 1.001 + 1e-4, (status, total, least, span)
PYEOF
}
check_clock auto 202 203
[ ! -s "$tmp/clock.err" ] || fail "clock auto wrote to stderr: $(cat "$tmp/clock.err")"
check_clock monotonic 205 206
[ ! -s "$tmp/clock.err" ] || fail "clock monotonic wrote to stderr: $(cat "$tmp/clock.err")"
shim_env_plain=("${shim_env[@]}")
shim_env+=(OTELC_HTTP_ROUTES="no-slash,/x/*")
check_clock rdtsc 207 208
shim_env=("${shim_env_plain[@]}")
# one line per bad setting, from the python server alone (timeout loads the shim too, serves nothing)
[ "$(grep -c '^otelc-preload: OTELC_AUTOINSTR_CLOCK: not auto or monotonic; using auto$' "$tmp/clock.err")" = 1 ] &&
  [ "$(grep -c "^otelc-preload: OTELC_HTTP_ROUTES: 1 item(s) skipped (each must start with '/'; at most 64)$" \
      "$tmp/clock.err")" = 1 ] && [ "$(wc -l <"$tmp/clock.err")" = 2 ] ||
  fail "bad OTELC_AUTOINSTR_CLOCK and OTELC_HTTP_ROUTES: want one line each, from the server: $(cat "$tmp/clock.err")"
env "${shim_env[@]}" OTELC_AUTOINSTR_CLOCK=rdtsc OTELC_HTTP_ROUTES=no-slash sh -c 'echo quiet' 2>"$tmp/quiet.err" >/dev/null
[ ! -s "$tmp/quiet.err" ] || fail "a process that serves no HTTP wrote to stderr: $(cat "$tmp/quiet.err")"
ok "durations are seconds within the server's own span with OTELC_AUTOINSTR_CLOCK auto and monotonic (a bad value: one line from the server, auto; nothing from a process that serves no HTTP), and prctl(PR_SET_TSC) later changes nothing for the host"

# OTELC_AUTOINSTR=off: the server serves, nothing is exported. (The process above did serve one HTTP request
# and exported it at exit: start from a clean summary.)
rm -f "$tmp/sink/summary"
mkdir -p "$tmp/www"; echo hi >"$tmp/www/index.html"; cd "$tmp/www"
port=$(preload_free_port)
shim_env+=(OTELC_AUTOINSTR=off)
preload_start_shim "$port" $PY -m http.server -p HTTP/1.1 "$port" --bind 127.0.0.1
[ "$(curl -s "http://127.0.0.1:$port/index.html")" = hi ] || fail "server under OTELC_AUTOINSTR=off"
sleep 1
[ ! -e "$tmp/sink/summary" ] || fail "OTELC_AUTOINSTR=off still exported"
grep -q 'otelc-preload' "$tmp/server.log" && fail "OTELC_AUTOINSTR=off wrote to stderr"
preload_stop
ok "OTELC_AUTOINSTR=off: nothing exported, nothing logged"
unset 'shim_env[${#shim_env[@]}-1]'

# An endpoint the shim cannot use (malformed): one line on stderr, the server keeps serving untouched.
preload_start_shim "$port" env 'OTEL_EXPORTER_OTLP_ENDPOINT=http://[::1/v1/metrics' $PY -m http.server -p HTTP/1.1 "$port" --bind 127.0.0.1
for _ in 1 2 3; do [ "$(curl -s "http://127.0.0.1:$port/index.html")" = hi ] || fail "server after disable"; done
sleep 0.5
n=$(grep -c '^otelc-preload: disabled:' "$tmp/server.log" || true)
[ "$n" = 1 ] || { cat "$tmp/server.log"; fail "want exactly one 'disabled' line, got $n"; }
preload_stop
ok "an unusable configuration disables the shim with one stderr line; the server keeps serving"

# An https:// endpoint (the shim's wire build has no TLS): the same, and the line names the variable.
preload_start_shim "$port" env OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4318 $PY -m http.server -p HTTP/1.1 "$port" --bind 127.0.0.1
for _ in 1 2; do [ "$(curl -s "http://127.0.0.1:$port/index.html")" = hi ] || fail "server after disable (https)"; done
sleep 0.5
n=$(grep -c '^otelc-preload: disabled: OTEL_EXPORTER_OTLP_ENDPOINT: TLS is not supported' "$tmp/server.log" || true)
[ "$n" = 1 ] || { cat "$tmp/server.log"; fail "https endpoint: want exactly one 'disabled' line, got $n"; }
preload_stop
ok "an https:// endpoint disables the shim with one stderr line naming the variable; the server keeps serving"
echo "autoinstr_host_safety: $passed passed"
