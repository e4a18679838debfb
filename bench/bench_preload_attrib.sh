#!/usr/bin/env bash
# bench_preload_attrib.sh — where the preload shim's wall-clock cost on nginx comes from. One nginx per
# configuration runs at once (one process each, master_process off, so its CPU counts the shim's thread too),
# all pinned to CPU 0; wrk, pinned to CPU 1, drives them in turn for SLICE seconds each, SLICES times, in an
# order rotated by one per round, all restarted every BLOCK rounds (default 10; bench_nginx.bash says why).
# Reports per configuration the median requests/s, the median CPU per request (user, system) and the median
# over rounds of the ratio to the first configuration in the same round, with its 95 % interval and the median
# of each block (bench/slices_report.py). Nothing is asserted.
#
#   SLICES=40 bench/bench_preload_attrib.sh build/rel
#   CONFIGS="plain plain2 thread none" bench/bench_preload_attrib.sh build/rel
#   CONFIGS="plain spin off none" SPIN_NS=500 bench/bench_preload_attrib.sh build/rel
#   CONFIGS="plain spin100 spin250 spin500 spin750 none" bench/bench_preload_attrib.sh build/rel
#   BASELINE_SHIM=/tmp/old/build/autoinstr/libotelc-preload.so CONFIGS="plain baseline none" bench/bench_preload_attrib.sh build/rel
#
# Configurations: plain; plain2 (a second plain instance: the instrument's own noise); thread (a preload
# library that only starts a thread that sleeps: the cost of being a multi-threaded process); spin (a preload
# library that, after each recv() that returned bytes, burns SPIN_NS nanoseconds (default 500) of register-only
# arithmetic: no memory touched, no system call. It prices plain user-space work on the machine at hand, so the
# 2 % target can be read as a budget in ns per request here, and the shim's own cost compared with what its
# instructions alone would cost; spinN, e.g. spin250, burns N ns, so that several amounts share one run and
# draw the budget curve); off (the shim with OTELC_AUTOINSTR=off: interposers only); none (the shim with
# OTEL_METRICS_EXPORTER=none: sniffing, recording thread, no export); full (the shim exporting every 5 s
# to the tests' OTLP sink, when python3-protobuf is there); baseline (another build of the shim,
# BASELINE_SHIM=path, as none: to compare two versions in the same rounds); and any NAME given in
# ALT_SHIMS="NAME=path ...", the same for several builds at once (ablations). The first configuration is the
# reference of the ratios. PIN=0 leaves placement to the scheduler.
set -euo pipefail
build=${1:-build/rel}
shim=$(realpath "$build/autoinstr/libotelc-preload.so")
slices=${SLICES:-30}
slice=${SLICE:-1}
read -r -a configs <<<"${CONFIGS:-plain plain2 thread off none full}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
nginx_pid="" sink_pid=""
source "$src/bench/bench_nginx.bash"
trap bench_cleanup EXIT

# The instruments (bench/preload_thread.c, bench/preload_spin.c), built with the rest of bench/.
thread_so=$(realpath "$build/bench/preload_thread.so")
spin_so=$(realpath "$build/bench/preload_spin.so")

bench_start_sink
endpoint=$sink_endpoint
bench_pinning

config_env() { # the environment of one configuration, into the array E
  case $1 in
    plain | plain2) E=(OTELC_BENCH="$1") ;;
    thread) E=(LD_PRELOAD="$thread_so") ;;
    spin) E=(LD_PRELOAD="$spin_so" SPIN_NS="${SPIN_NS:-500}") ;;
    spin[0-9]*) E=(LD_PRELOAD="$spin_so" SPIN_NS="${1#spin}") ;;
    off) E=(LD_PRELOAD="$shim" OTELC_AUTOINSTR=off) ;;
    none) E=(LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none) ;;
    baseline) E=(LD_PRELOAD="${BASELINE_SHIM:?BASELINE_SHIM: another build of the shim to compare with}" OTEL_METRICS_EXPORTER=none) ;;
    full)
      if [ -n "$endpoint" ]; then E=(LD_PRELOAD="$shim" OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_METRIC_EXPORT_INTERVAL=5000)
      else E=(LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none); fi ;;
    *)
      local alt
      for alt in ${ALT_SHIMS:-}; do
        if [ "${alt%%=*}" = "$1" ]; then E=(LD_PRELOAD="${alt#*=}" OTEL_METRICS_EXPORTER=none); return; fi
      done
      echo "unknown configuration $1" >&2; exit 2 ;;
  esac
}

for c in "${configs[@]}"; do
  config_env "$c"
  bench_nginx_instance "$c" off "${E[@]}"
done
echo "nginx (one process per configuration, ${pin_server[*]:-unpinned}), 100-byte file, wrk -t1 -c32 keep-alive" \
  "(${pin_client[*]:-unpinned}); $slices rounds of ${slice}s per configuration, order rotated"
bench_interleave "$slices" "$slice" "${configs[@]}"
/usr/bin/python3 "$src/bench/slices_report.py" "$tmp/rows" "${configs[0]}"
