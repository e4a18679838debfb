#!/usr/bin/env bash
# bench_preload.sh — the preload shim's overhead on a real server: nginx (Debian package, one worker) serving a
# 100-byte file to `wrk -c32` on keep-alive connections, with and without LD_PRELOAD=libotelc-preload.so,
# alternated in one run (ROUNDS rounds of DURATION seconds each way), plus bench_preload (per-exchange cost
# inside one process) plain and under the shim. Prints requests/s and p99 latency per run, the medians, and
# the differences; then latency at a paced moderate rate (LAT_RATE, default 2000 requests/s, with
# bench_http_latency), where p99 added is the shim's own share and not queueing. Nothing is asserted.
#
#   bench/bench_preload.sh [build-dir]        (a Release build without sanitizers: numbers worth recording)
#   ROUNDS=5 DURATION=10 bench/bench_preload.sh build/rel
#   CALLGRIND=1 bench/bench_preload.sh build/rel
#
# CALLGRIND=1 adds the figure a shared, loaded machine cannot spoil: nginx (one process, master_process off)
# run under callgrind, plain and under the shim (OTEL_METRICS_EXPORTER=none), each driven by wrk for 3 s and
# for 12 s; the difference in instructions between the two runs divided by the difference in requests is the
# instructions per request, with start-up and exit cancelled out. All threads are counted, so the shim's
# recording thread is included.
set -euo pipefail
build=${1:-build/rel}
shim=$(realpath "$build/autoinstr/libotelc-preload.so")
micro="$build/bench/bench_preload"
rounds=${ROUNDS:-5}
duration=${DURATION:-8}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh --test)"; exit 1; }
[ -x "$NGINX" ] || { echo "nginx is not installed (scripts/setup.sh --test)"; exit 1; }
if readelf -d "$shim" | grep -q libasan; then
  echo "warning: $shim is a sanitizer build; its figures mean nothing" >&2
  export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
  shim="$(gcc -print-file-name=libasan.so) $shim"
fi

tmp=$(mktemp -d)
nginx_pid="" sink_pid=""
source "$(dirname "$0")/bench_nginx.bash"
trap bench_cleanup EXIT

# Where the shim exports: the tests' OTLP sink when python3-protobuf is there, else nowhere (recording still runs).
bench_start_sink
export_env=(OTEL_METRICS_EXPORTER=none)
[ -z "$sink_endpoint" ] || export_env=(OTEL_EXPORTER_OTLP_ENDPOINT="$sink_endpoint" OTEL_METRIC_EXPORT_INTERVAL=5000)
bench_nginx_site on

start_nginx() { # "" or the LD_PRELOAD value
  if [ -n "$1" ]; then
    env LD_PRELOAD="$1" "${export_env[@]}" "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" &
  else
    "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" &
  fi
  nginx_pid=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "nginx did not start"; cat "$tmp/logs/error.log"; exit 1
}
stop_nginx() {
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
}

# CPU time (user + system, clock ticks) the nginx worker has used so far.
worker_ticks() {
  local w
  w=$(pgrep -P "$nginx_pid" | head -1)
  awk '{print $14 + $15}' "/proc/$w/stat"
}

# wrk's "Requests/sec", its 99% latency in microseconds, and the worker's CPU microseconds per request: the
# figure least disturbed by other load on the machine.
run_wrk() {
  local out t0 t1
  t0=$(worker_ticks)
  out=$(wrk -t1 -c32 -d"${duration}s" --latency "http://127.0.0.1:$port/index.html")
  t1=$(worker_ticks)
  local rps p99 reqs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1e6}}' <<<"$out")
  local cpu
  cpu=$(awk -v t="$((t1 - t0))" -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
  echo "$rps $p99 $cpu"
}

echo "nginx 1 worker, 100-byte file, wrk -t1 -c32 -d${duration}s keep-alive, $rounds rounds alternated"
: >"$tmp/plain" ; : >"$tmp/shim"
for r in $(seq 1 "$rounds"); do
  for mode in plain shim; do
    if [ "$mode" = shim ]; then start_nginx "$shim"; else start_nginx ""; fi
    wrk -t1 -c32 -d1s "http://127.0.0.1:$port/index.html" >/dev/null # warm-up
    res=$(run_wrk)
    stop_nginx
    echo "$res" >>"$tmp/$mode"
    printf 'round %d %-5s %10s req/s  p99 %8s us  worker CPU %6s us/request\n' "$r" "$mode" $res
  done
done
/usr/bin/python3 - "$tmp/plain" "$tmp/shim" <<'PY'
import statistics, sys
def load(p):
    rows = [tuple(map(float, l.split())) for l in open(p) if l.strip()]
    return [statistics.median(r[i] for r in rows) for i in range(3)]
(pr, pl, pc), (sr, sl, sc) = load(sys.argv[1]), load(sys.argv[2])
print("median plain %.0f req/s p99 %.0f us cpu %.2f us/req | shim %.0f req/s p99 %.0f us cpu %.2f us/req"
      % (pr, pl, pc, sr, sl, sc))
print("throughput change %+.2f %% | p99 added %+.0f us | worker CPU added %+.2f us/request (%+.1f %%)"
      % ((sr - pr) / pr * 100, sl - pl, sc - pc, (sc - pc) / pc * 100))
PY
# Latency at a paced, moderate rate (bench_http_latency.c: why not wrk's p99): LAT_RATE requests/s over 8
# keep-alive connections for DURATION seconds, plain and shim alternated, ROUNDS times. The figure for the
# "p99 added" target is the median over rounds of (shim p99 - plain p99) in the same round.
lat_client="$build/bench/bench_http_latency"
if [ -x "$lat_client" ]; then
  lat_rate=${LAT_RATE:-2000}
  echo "latency: ${lat_rate} requests/s paced over 8 keep-alive connections, ${duration}s, $rounds rounds alternated"
  : >"$tmp/lat"
  for r in $(seq 1 "$rounds"); do
    line="$r"
    for mode in plain shim; do
      if [ "$mode" = shim ]; then start_nginx "$shim"; else start_nginx ""; fi
      "$lat_client" "$port" /index.html "$lat_rate" 1 8 >/dev/null # warm-up (and the shim's thread starts)
      res=$("$lat_client" "$port" /index.html "$lat_rate" "$duration" 8)
      stop_nginx
      printf 'round %d %-5s %s (us)\n' "$r" "$mode" "$res"
      line="$line $(awk '{print $6, $10}' <<<"$res")" # p50 p99
    done
    echo "$line" >>"$tmp/lat"
  done
  /usr/bin/python3 - "$tmp/lat" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split()))[1:] for l in open(sys.argv[1]) if l.strip()]
med = lambda i: st.median(r[i] for r in rows)
print("latency medians: plain p50 %.1f p99 %.1f us | shim p50 %.1f p99 %.1f us" % (med(0), med(1), med(2), med(3)))
print("p50 added %+.1f us | p99 added %+.1f us (median of per-round differences)"
      % (st.median(r[2] - r[0] for r in rows), st.median(r[3] - r[1] for r in rows)))
PY
fi
# Instructions per request under callgrind (see the top comment).
callgrind_ir_per_request() { # "" or the LD_PRELOAD value
  local cfg="$tmp/nginx-cg.conf" short long
  sed -e 's/^master_process on;/master_process off;/' "$tmp/nginx.conf" >"$cfg"
  cg_once() {
    local env_args=() out reqs pid
    [ -n "$1" ] && env_args=(LD_PRELOAD="$1" OTEL_METRICS_EXPORTER=none)
    env "${env_args[@]}" valgrind --tool=callgrind --separate-threads=no --callgrind-out-file="$tmp/cg.out" \
      "$NGINX" -p "$tmp" -c "$cfg" -e "$tmp/logs/error.log" 2>"$tmp/cg.log" &
    pid=$!
    for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    out=$(wrk -t1 -c32 -d"$2s" "http://127.0.0.1:$port/index.html")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    kill -QUIT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out") $reqs"
  }
  short=$(cg_once "$1" 3)
  long=$(cg_once "$1" 12)
  awk -v a="$short" -v b="$long" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", (y[1] - x[1]) / (y[2] - x[2])}'
}
if [ "${CALLGRIND:-0}" = 1 ]; then
  if command -v valgrind >/dev/null; then
    cg_plain=$(callgrind_ir_per_request "")
    cg_shim=$(callgrind_ir_per_request "$shim")
    echo "callgrind: nginx instructions per request plain $cg_plain, shim $cg_shim, added $((cg_shim - cg_plain))"
  else
    echo "callgrind: valgrind is not installed"
  fi
fi
if [ -x "$micro" ]; then
  echo "bench_preload (one process, loopback):"
  echo "  plain:"; "$micro" | sed 's/^/    /'
  echo "  shim:";  env LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none "$micro" | sed 's/^/    /'
fi
