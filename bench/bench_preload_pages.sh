#!/usr/bin/env bash
# bench_preload_pages.sh — distinct memory pages nginx touches per request between system calls, plain and under
# the preload shim, and whose pages the shim's extra ones are. On this project's VM (page-table isolation, PVM)
# that count, not the instruction count, drives most of the shim's wall-clock cost (docs/performance.md, "Wall
# clock"), and unlike wall clock it is exact on a busy machine.
#
#   bench/bench_preload_pages.sh [build-dir]      (Release build without sanitizers)
#
# nginx (one process, master_process off) runs under `valgrind --tool=lackey --trace-mem=yes`, driven by a
# client that keeps 32 keep-alive connections and sends one GET (100-byte file) on each per round, for SHORT and
# LONG rounds; bench/preload_pages.py sums, over the intervals between two system calls, the distinct 4 KiB
# pages touched (code and data), and the same for distinct 64-byte cache lines, code and data apart. (long -
# short) over the difference in requests is the figure per request, start-up cancelled. Printed: plain, shim
# (OTEL_METRICS_EXPORTER=none), the shim's breakdown by mapping and ELF section (pages, then lines), the shim's
# functions run per request, and the shim's code lines by function and data lines by object. Nothing is
# asserted.
set -euo pipefail
build=${1:-build/rel}
shim=$(realpath "$build/autoinstr/libotelc-preload.so")
short=${SHORT:-10}
long=${LONG:-40}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
here=$(cd "$(dirname "$0")" && pwd)
for tool in valgrind; do command -v $tool >/dev/null || { echo "$tool is not installed (scripts/setup.sh --test)"; exit 1; }; done

tmp=$(mktemp -d)
nginx_pid=""
source "$here/bench_nginx.bash"
trap bench_cleanup EXIT
bench_nginx_site off

# drive PORT ROUNDS: 32 keep-alive connections, one request each per round, every response read whole.
drive() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
req = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
for _ in range(rounds):
    for s in conns:
        s.sendall(req)
    for s in conns:
        buf = b""
        while not (b"\r\n\r\n" in buf and len(buf.split(b"\r\n\r\n", 1)[1]) >= 100):
            more = s.recv(4096)
            if not more:
                sys.exit("nginx closed a connection")
            buf += more
print(rounds * len(conns))
PY
}

# run_once PRELOAD ROUNDS OUT: the analyzer's output for one traced run, plus "requests N".
run_once() {
  local env_args=() reqs
  [ -n "$1" ] && env_args=(LD_PRELOAD="$1" OTEL_METRICS_EXPORTER=none)
  rm -f "$tmp/trace.fifo"
  mkfifo "$tmp/trace.fifo"
  env "${env_args[@]}" valgrind --tool=lackey --trace-mem=yes --log-file="$tmp/trace.fifo" \
    "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" &
  nginx_pid=$!
  # The analyzer needs the maps, which are complete only after the load: the trace waits in a file.
  cat "$tmp/trace.fifo" >"$tmp/trace.raw" &
  local cat_pid=$!
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  reqs=$(drive "$port" "$2")
  cp "/proc/$nginx_pid/maps" "$tmp/maps" # after the load: the shim's connection pool is mapped on the first accept
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  kill -QUIT "$nginx_pid" 2>/dev/null || true # lackey has been seen to miss the first one
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
  wait "$cat_pid" 2>/dev/null || true
  /usr/bin/python3 "$here/preload_pages.py" "$tmp/maps" "$shim" <"$tmp/trace.raw" >"$3"
  echo "requests $reqs" >>"$3"
  rm -f "$tmp/trace.raw"
}

per_request() { # key short long: the analyser's total for key (page-touches, code-line-touches...) per request
  awk -v k="$1" 'FNR == NR && $1 == k {a = $2} FNR == NR && /^requests/ {ar = $2}
       FNR != NR && $1 == k {b = $2} FNR != NR && /^requests/ {br = $2}
       END {printf "%.1f", (b - a) / (br - ar)}' "$2" "$3"
}

run_once "" "$short" "$tmp/plain.s"
run_once "" "$long" "$tmp/plain.l"
run_once "$shim" "$short" "$tmp/shim.s"
run_once "$shim" "$long" "$tmp/shim.l"
plain=$(per_request page-touches "$tmp/plain.s" "$tmp/plain.l")
shimv=$(per_request page-touches "$tmp/shim.s" "$tmp/shim.l")
echo "page-touches per request (sum over system-call intervals of distinct 4 KiB pages): plain $plain, shim $shimv"
for kind in code-line-touches data-line-touches; do
  plain=$(per_request $kind "$tmp/plain.s" "$tmp/plain.l")
  shimv=$(per_request $kind "$tmp/shim.s" "$tmp/shim.l")
  echo "${kind%-touches} touches per request (distinct 64-byte lines, summed the same way): plain $plain, shim $shimv"
done
/usr/bin/python3 - "$tmp/plain.s" "$tmp/plain.l" "$tmp/shim.s" "$tmp/shim.l" <<'PY'
import sys, collections
def load(p, kind):  # kind "touches" (per mapping) or "runs" (per function): counts, and the requests
    d, req = collections.Counter(), 0
    for line in open(p):
        f = line.split(" ", 2)
        if f[0] == kind: d[f[2].strip()] += int(f[1])
        if f[0] == "requests": req = int(f[1])
    return d, req
def by_mapping(kind, title, least):  # per-request rows, shim minus plain
    print(title)
    (ps, psr), (pl, plr), (ss, ssr), (sl, slr) = (load(p, kind) for p in sys.argv[1:])
    rows = []
    for lab in set(ps) | set(pl) | set(ss) | set(sl):
        plain = (pl[lab] - ps[lab]) / (plr - psr)
        shim = (sl[lab] - ss[lab]) / (slr - ssr)
        if abs(shim - plain) >= least: rows.append((shim - plain, plain, shim, lab))
    for d, p, s, lab in sorted(rows, reverse=True):
        print("  %+6.1f  (%5.1f -> %5.1f)  %s" % (d, p, s, lab))
by_mapping("touches", "per request, by mapping (shim minus plain; rows under 0.2 left out):", 0.2)
by_mapping("lines", "64-byte lines per request, by mapping (shim minus plain; rows under 0.5 left out):", 0.5)
(a, ar), (b, br) = load(sys.argv[3], "runs"), load(sys.argv[4], "runs")
print("shim functions run per request, counted once per system-call interval (0.2 and more):")
for fn in sorted(set(a) | set(b), key=lambda f: -(b[f] - a[f])):
    n = (b[fn] - a[fn]) / (br - ar)
    if n >= 0.2: print("  %5.1f  %s" % (n, fn))
for kind, what in (("code-lines", "code lines by function"), ("data-lines", "data lines by object")):
    (a, ar), (b, br) = load(sys.argv[3], kind), load(sys.argv[4], kind)
    print("shim %s per request (0.5 and more):" % what)
    for k in sorted(set(a) | set(b), key=lambda f: -(b[f] - a[f])):
        n = (b[k] - a[k]) / (br - ar)
        if n >= 0.5: print("  %5.1f  %s" % (n, k))
PY
