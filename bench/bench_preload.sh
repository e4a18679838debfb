#!/usr/bin/env bash
# bench_preload.sh — the preload shim's overhead on a real server: nginx (Debian package, master and one worker)
# serving a 100-byte file to `wrk -c32` on keep-alive connections, with and without
# LD_PRELOAD=libotelc-preload.so. Both run at once, pinned to CPU 0, and wrk, pinned to CPU 1, drives them in
# turn for one second each, SLICES times (bench_nginx.bash says why); printed: the throughput change (median of
# per-round ratios, with a 95 % bootstrap interval), wrk's p99, worker CPU per request. Then latency at a paced
# moderate rate (LAT_RATE, default 2000 requests/s, with bench_http_latency), where p99 added is the shim's own
# share and not queueing, ROUNDS rounds of DURATION seconds each way; then bench_preload (per-exchange cost
# inside one process) plain and under the shim. Nothing is asserted.
#
#   bench/bench_preload.sh [build-dir]        (a Release build without sanitizers: numbers worth recording)
#   SLICES=60 ROUNDS=8 DURATION=4 bench/bench_preload.sh build/rel
#   CALLGRIND=1 bench/bench_preload.sh build/rel
#   SPIN="250 500" bench/bench_preload.sh build/rel
#
# SPIN="N ..." adds, to the same interleaved slices, an nginx under bench/preload_spin.c per N: a preload
# library burning N ns of register-only arithmetic after each recv(). What those lose prices user-space work
# on the machine at hand, so the shim's figure can be read against a budget in ns per request there
# (docs/performance.md, "What 2 % buys").
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
slices=${SLICES:-40}
rounds=${ROUNDS:-8}
duration=${DURATION:-4}
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
bench_pinning
bench_nginx_instance plain on
bench_nginx_instance shim on LD_PRELOAD="$shim" "${export_env[@]}"
configs=(plain shim)
for ns in ${SPIN:-}; do
  bench_nginx_instance "spin$ns" on LD_PRELOAD="$(realpath "$build/bench/preload_spin.so")" SPIN_NS="$ns"
  configs+=("spin$ns")
done

echo "nginx master + 1 worker, ${configs[*]} at once (${pin_server[*]:-unpinned}), 100-byte file," \
  "wrk -t1 -c32 keep-alive (${pin_client[*]:-unpinned}), $slices rounds of 1 s each, order alternated"
bench_interleave "$slices" 1 "${configs[@]}"
/usr/bin/python3 "$(dirname "$0")/slices_report.py" "$tmp/rows" plain

# Latency at a paced, moderate rate (bench_http_latency.c: why not wrk's p99): LAT_RATE requests/s over 8
# keep-alive connections for DURATION seconds, plain and shim alternated, ROUNDS times. The figure for the
# "p99 added" target is the median over rounds of (shim p99 - plain p99) in the same round. Unpinned unless
# LAT_PIN=1: pinned, the server shares CPU 0 with the other server and with the shim's thread, the single-CPU
# worst case (docs/performance.md, "Interleaved slices").
lat_client="$build/bench/bench_http_latency"
if [ -x "$lat_client" ]; then
  if [ "${LAT_PIN:-0}" != 1 ] && [ ${#pin_server[@]} -gt 0 ]; then
    pin_server=() pin_client=()
    for c in plain shim; do bench_nginx_restart "$c"; done
  fi
  lat_rate=${LAT_RATE:-2000}
  echo "latency: ${lat_rate} requests/s paced over 8 keep-alive connections, ${duration}s, $rounds rounds alternated" \
    "(${pin_server[*]:-unpinned})"
  : >"$tmp/lat"
  for r in $(seq 1 "$rounds"); do
    line="$r"
    for mode in plain shim; do
      res=$("${pin_client[@]}" "$lat_client" "${inst_port[$mode]}" /index.html "$lat_rate" "$duration" 8)
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
  local cfg="$tmp/cg/nginx.conf" short long
  bench_nginx_site off "$tmp/cg" # sets port
  cg_once() {
    local env_args=() out reqs pid
    [ -n "$1" ] && env_args=(LD_PRELOAD="$1" OTEL_METRICS_EXPORTER=none)
    env "${env_args[@]}" valgrind --tool=callgrind --separate-threads=no --callgrind-out-file="$tmp/cg.out" \
      "$NGINX" -p "$tmp/cg" -c "$cfg" -e "$tmp/cg/logs/error.log" 2>"$tmp/cg.log" &
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
