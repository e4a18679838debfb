#!/usr/bin/env bash
# bench_preload_profile.sh — where nginx's CPU time per request goes, plain and under the preload shim, from
# `perf record -e cpu-clock` (software sampling: it works on VMs without hardware counters). Each configuration
# runs as its own nginx (one process, pinned like bench_nginx.bash's instances) and is driven in turn by wrk
# for DURATION seconds while perf samples it, ROUNDS times; printed per configuration: the median over rounds
# of the CPU microseconds per request in the kernel, in pvm_irq_enable (on a PVM guest, where the time spent
# with interrupts disabled, system-call returns among them, is billed), in each user-space object, and in all.
# Nothing is asserted.
#
#   bench/bench_preload_profile.sh build/rel
#   CONFIGS="plain off none" ROUNDS=3 DURATION=4 bench/bench_preload_profile.sh build/rel
#
# Reading it: a sample taken while a system call returns lands on the first user instruction after the
# `syscall` instruction. Plain nginx makes its calls through libc, the shim through its own interposers, so
# with the shim that share moves from libc.so to libotelc-preload.so (`off`, the interposers alone, shows
# how much); compare totals, not the shim's object alone.
set -euo pipefail
build=${1:-build/rel}
shim=$(realpath "$build/autoinstr/libotelc-preload.so")
rounds=${ROUNDS:-3}
duration=${DURATION:-4}
read -r -a configs <<<"${CONFIGS:-plain off none}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
src=$(cd "$(dirname "$0")/.." && pwd)
for tool in perf wrk; do command -v $tool >/dev/null || { echo "$tool is not installed"; exit 1; }; done
perf record -q -e cpu-clock -o /dev/null -- true 2>/dev/null || { echo "perf record -e cpu-clock does not work here"; exit 1; }
tmp=$(mktemp -d)
nginx_pid="" sink_pid=""
source "$src/bench/bench_nginx.bash"
trap bench_cleanup EXIT
bench_pinning

for c in "${configs[@]}"; do
  case $c in
    plain) E=() ;;
    off) E=(LD_PRELOAD="$shim" OTELC_AUTOINSTR=off) ;;
    none) E=(LD_PRELOAD="$shim" OTEL_METRICS_EXPORTER=none) ;;
    *) echo "unknown configuration $c (plain, off, none)" >&2; exit 2 ;;
  esac
  bench_nginx_instance "$c" off "${E[@]}"
done
echo "nginx (one process per configuration), wrk -t1 -c32 ${duration}s each, $rounds rounds; CPU µs per request (perf cpu-clock)"
for r in $(seq 1 "$rounds"); do
  for c in "${configs[@]}"; do
    perf record -q -e cpu-clock -F 4000 -p "${inst_worker[$c]}" -o "$tmp/perf.data" -- sleep $((duration + 1)) >/dev/null 2>&1 &
    pp=$!
    sleep 0.3
    reqs=$("${pin_client[@]}" wrk -t1 -c32 -d"${duration}s" "http://127.0.0.1:${inst_port[$c]}/index.html" | awk '/requests in/ {print $1}')
    wait "$pp" || true
    perf report -q -i "$tmp/perf.data" --sort dso,sym -F sample,dso,sym 2>/dev/null |
      awk -v c="$c" -v r="$r" -v n="$reqs" '$1 > 0 {
          s = $1; tot += s
          if ($0 ~ /\[k\]/) { k += s; if ($0 ~ /pvm_irq_enable/) irq += s } else u[$2] += s }
        END { f = 250 / n  # 4000 samples per CPU second: one sample is 250 µs
              printf "%s %s total %.3f\n%s %s kernel %.3f\n%s %s pvm_irq_enable %.3f\n", r, c, tot * f, r, c, k * f, r, c, irq * f
              for (o in u) printf "%s %s %s %.3f\n", r, c, o, u[o] * f }' >>"$tmp/rows"
  done
done
/usr/bin/python3 - "$tmp/rows" "${configs[@]}" <<'PY'
import collections, statistics as st, sys
rows, configs = sys.argv[1], sys.argv[2:]
v = collections.defaultdict(list)
for line in open(rows):
    r, c, what, x = line.split()
    v[(c, what)].append(float(x))
whats = ["total", "kernel", "pvm_irq_enable"] + sorted({w for (_, w) in v} - {"total", "kernel", "pvm_irq_enable"})
print("%-22s" % "µs/request" + "".join("%10s" % c for c in configs))
for w in whats:
    print("%-22s" % w + "".join("%10.3f" % (st.median(v[(c, w)]) if v[(c, w)] else 0) for c in configs))
PY
