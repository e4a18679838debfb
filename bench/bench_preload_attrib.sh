#!/usr/bin/env bash
# bench_preload_attrib.sh — where the preload shim's wall-clock cost on nginx comes from: many short rounds,
# each running every configuration once in an order rotated by one per round, so slow drift of the machine
# falls on all of them alike; reports per configuration the median requests/s, the median worker CPU per
# request (user, system) and the median over rounds of the ratio to plain in the same round. nginx runs as one
# process (master_process off), so its CPU counts the shim's thread too. Nothing is asserted.
#
#   ROUNDS=18 DURATION=3 bench/bench_preload_attrib.sh build/rel
#   CONFIGS="plain thread none" bench/bench_preload_attrib.sh build/rel
#   CONFIGS="plain spin off none" SPIN_NS=500 bench/bench_preload_attrib.sh build/rel
#   BASELINE_SHIM=/tmp/old/build/autoinstr/libotelc-preload.so CONFIGS="plain baseline none" bench/bench_preload_attrib.sh build/rel
#
# Configurations: plain; thread (a preload library that only starts a thread that sleeps: the cost of being
# a multi-threaded process); spin (a preload library that, after each recv() that returned bytes, burns
# SPIN_NS nanoseconds (default 500) of register-only arithmetic: no memory touched, no system call. It prices
# plain user-space work on the machine at hand, so the 2 % target can be read as a budget in ns per request
# here, and the shim's own cost compared with what its instructions alone would cost); off (the shim with OTELC_AUTOINSTR=off: interposers only); none (the shim with
# OTEL_METRICS_EXPORTER=none: sniffing, recording thread, no export); full (the shim exporting every 5 s to
# the tests' OTLP sink, when python3-protobuf is there); baseline (another build of the shim, BASELINE_SHIM=path,
# as none: to compare two versions in the same rounds).
set -euo pipefail
build=${1:-build/rel}
shim=$(realpath "$build/autoinstr/libotelc-preload.so")
rounds=${ROUNDS:-18}
duration=${DURATION:-3}
read -r -a configs <<<"${CONFIGS:-plain thread off none full}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
nginx_pid="" sink_pid=""
source "$src/bench/bench_nginx.bash"
trap bench_cleanup EXIT

printf '#include <pthread.h>\n#include <unistd.h>\nstatic void *idle(void *a) { for (;;) sleep(1000); return a; }\n__attribute__((constructor)) static void start(void) { pthread_t t; pthread_create(&t, 0, idle, 0); }\n' >"$tmp/thread.c"
gcc -O2 -shared -fPIC -o "$tmp/thread.so" "$tmp/thread.c" -lpthread
# spin.so: recv() followed by SPIN_NS of a dependent multiply-add chain (one iteration's time is measured in
# the constructor over 20 ms, so the burn is in ns, whatever the machine's clock rate).
cat >"$tmp/spin.c" <<'SPIN'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
static ssize_t (*next_recv)(int, void *, size_t, int);
static long iterations;
volatile uint64_t spin_sink;
__attribute__((noinline)) static uint64_t burn(long n, uint64_t x) {
  for (long i = 0; i < n; i++) { x = x * 6364136223846793005ull + 1442695040888963407ull; __asm__("" : "+r"(x)); }
  return x;
}
static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
__attribute__((constructor)) static void init(void) {
  next_recv = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
  const char *e = getenv("SPIN_NS");
  double want = e ? atof(e) : 500, t0 = now_ns(), t1;
  long n = 0;
  do { spin_sink = burn(100000, (uint64_t)n); n += 100000; t1 = now_ns(); } while (t1 - t0 < 2e7);
  iterations = (long)(want * n / (t1 - t0));
}
ssize_t recv(int fd, void *buf, size_t len, int flags) {
  ssize_t r = next_recv(fd, buf, len, flags);
  if (r > 0) spin_sink = burn(iterations, (uint64_t)r);
  return r;
}
SPIN
gcc -O2 -shared -fPIC -o "$tmp/spin.so" "$tmp/spin.c" -ldl

bench_start_sink
endpoint=$sink_endpoint
bench_nginx_site off

config_env() { # the environment of one configuration, into the array E
  case $1 in
    plain) E=(OTELC_BENCH=plain) ;;
    thread) E=(LD_PRELOAD="$tmp/thread.so") ;;
    spin) E=(LD_PRELOAD="$tmp/spin.so" SPIN_NS="${SPIN_NS:-500}") ;;
    off) E=(LD_PRELOAD="$shim" OTELC_AUTOINSTR=off) ;;
    none) E=(LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none) ;;
    baseline) E=(LD_PRELOAD="${BASELINE_SHIM:?BASELINE_SHIM: another build of the shim to compare with}" OTEL_METRICS_EXPORTER=none) ;;
    full)
      if [ -n "$endpoint" ]; then E=(LD_PRELOAD="$shim" OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_METRIC_EXPORT_INTERVAL=5000)
      else E=(LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none); fi ;;
    *) echo "unknown configuration $1" >&2; exit 2 ;;
  esac
}

hz=$(getconf CLK_TCK)
n=${#configs[@]}
echo "nginx (one process), 100-byte file, wrk -t1 -c32 -d${duration}s keep-alive; $rounds rounds, order rotated"
for r in $(seq 0 $((rounds - 1))); do
  for i in $(seq 0 $((n - 1))); do
    c=${configs[$(((i + r) % n))]}
    config_env "$c"
    env "${E[@]}" "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" 2>/dev/null &
    nginx_pid=$!
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    wrk -t1 -c32 -d1s "http://127.0.0.1:$port/index.html" >/dev/null # warm-up (and the shim's thread starts)
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$nginx_pid/stat")
    out=$(wrk -t1 -c32 -d"${duration}s" "http://127.0.0.1:$port/index.html")
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$nginx_pid/stat")
    kill -QUIT "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v r="$r" -v c="$c" -v rps="$rps" -v n="$reqs" -v hz="$hz" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
      'BEGIN {k = 1e6 / hz / n; printf "%d %s %.0f %.3f %.3f\n", r, c, rps, u * k, s * k}' | tee -a "$tmp/rows"
  done
done
/usr/bin/python3 - "$tmp/rows" <<'PY'
import collections, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by, order = collections.defaultdict(dict), []
for r, c, *v in rows:
    by[int(r)][c] = tuple(map(float, v))
    if c not in order: order.append(c)
print("%-7s %9s %8s %8s %8s | %12s %9s %12s" % ("config", "req/s", "user", "sys", "CPU us", "vs plain", "slower in", "CPU added"))
for c in order:
    v = [by[r][c] for r in by if c in by[r]]
    pairs = [(by[r][c], by[r]["plain"]) for r in by if c in by[r] and "plain" in by[r]]
    ratio = st.median(a[0] / b[0] for a, b in pairs) - 1 if pairs else 0
    slower = sum(1 for a, b in pairs if a[0] < b[0])
    dcpu = st.median((a[1] + a[2]) - (b[1] + b[2]) for a, b in pairs) if pairs else 0
    print("%-7s %9.0f %8.2f %8.2f %8.2f | %+11.2f%% %4d/%-4d %+9.2f us" % (c, st.median(x[0] for x in v),
          st.median(x[1] for x in v), st.median(x[2] for x in v), st.median(x[1] + x[2] for x in v),
          ratio * 100, slower, len(pairs), dcpu))
PY
