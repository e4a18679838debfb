#!/usr/bin/env bash
# bench_receiver.sh — figures for otelc-receiver (docs/performance.md, "Receiver"); prints, asserts nothing.
#
#   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DOTELC_BUILD_BENCH=ON
#   cmake --build build/bench --target otelc-receiver otlp_loadgen -j2
#   bench/bench_receiver.sh build/bench            # BENCH_SECONDS=10 BENCH_LONG_SECONDS=60 by default
#
# The receiver runs pinned to CPU 0 (taskset -c 0), the load generator (bench/otlp_loadgen.c) and any sink on
# CPU 1. Requests are 1,000 points (100 metrics × 10 points, sums, gauges and histograms, 4 attributes).
# Throughput is reported two ways: points/s acknowledged to the clients (wall clock), and points per second of
# the receiver's own CPU time (utime + stime from /proc/PID/stat) — the second is what "on one core" means and
# stays meaningful when other jobs share the machine. Scenarios (each on fresh processes, random ports):
#   1. OTLP/HTTP -> batch -> prometheus          4. OTLP/gRPC -> batch -> otlp exporter -> sink
#   2. OTLP/HTTP -> batch -> otlp exporter -> sink (a second otelc-receiver with debug at basic, on CPU 1)
#   3. OTLP/gRPC -> batch -> prometheus
#   5. idle RSS with the default config (ports moved with --set)
#   6. RSS holding 100,000 series in the prometheus exporter (100 request variants × 1,000 points)
#   7. 8 clients as fast as they can for BENCH_LONG_SECONDS with the default config -> RSS
#   8. overload with memory_limiter (limit_mib 64): backend down, 8 clients push; RSS (peak) vs the limit,
#      refusals; then the backend comes up, the queue drains, and a light load (--rate 100) is served again.
# Scenarios 2 and 4 also say how many of the accepted points the exporter delivered once its queue drained.
# Only scenarios named in BENCH_ONLY (e.g. "1 3 5") run when it is set.
set -u
BUILD=${1:-build/bench}
RECEIVER=$BUILD/receiver/otelc-receiver
LOADGEN=$BUILD/bench/otlp_loadgen
SECS=${BENCH_SECONDS:-10}
LONG=${BENCH_LONG_SECONDS:-60}
ONLY=${BENCH_ONLY:-}
for f in "$RECEIVER" "$LOADGEN"; do
  [[ -x $f ]] || { echo "bench_receiver: $f is not built (see the top of $0)" >&2; exit 2; }
done
TMP=$(mktemp -d /tmp/bench_receiver.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
  local i
  for ((i = 0; i < 300; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench_receiver: nothing listens on $1" >&2
  return 1
}
# start NAME CPU ARGS... -> sets PID
start() {
  local name=$1 cpu=$2
  shift 2
  taskset -c "$cpu" "$RECEIVER" "$@" >"$TMP/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}
stop() {
  local i
  kill -TERM "$1" 2>/dev/null
  for ((i = 0; i < 300; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
}
cpu_seconds() { # utime + stime of PID in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
field() { # KEY LINE: the value of KEY=... in a loadgen result line
  sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}
want() { [[ -z $ONLY || " $ONLY " == *" $1 "* ]]; }

# receiver_config FILE GRPC HTTP EXPORTER-YAML PIPELINE-EXPORTERS [PROCESSORS]; self-metrics on $TEL
TEL=0
receiver_config() {
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$2
      http:
        endpoint: 127.0.0.1:$3
processors:
  batch:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 64
    spike_limit_mib: 16
exporters:
$4
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$TEL
  pipelines:
    metrics:
      receivers: [otlp]
      processors: [${6:-batch}]
      exporters: [$5]
EOF
}

sink_config() { # FILE HTTP GRPC
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$3
      http:
        endpoint: 127.0.0.1:$2
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [debug]
EOF
}

# self_metric NAME: the sum of the receiver's own otelcol_* series NAME (telemetry on $TEL)
self_metric() { curl -s --max-time 5 "http://127.0.0.1:$TEL/metrics" | awk -v n="$1" '$1 ~ "^"n"[{ ]" || $1 == n { s += $NF } END { printf "%.0f", s }'; }

echo "# otelc-receiver benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# receiver: $RECEIVER ($("$RECEIVER" --version 2>&1 | head -n 1))"

# throughput LABEL PROTO EXPORTER(prometheus|otlp) CLIENTS
throughput() {
  local label=$1 proto=$2 exporter=$3 clients=$4
  local grpc http prom sink_pid="" target exp_yaml sgrpc shttp
  grpc=$(free_port) http=$(free_port) prom=$(free_port)
  if [[ $exporter == prometheus ]]; then
    exp_yaml="  prometheus:
    endpoint: 127.0.0.1:$prom"
  else
    sgrpc=$(free_port) shttp=$(free_port)
    sink_config "$TMP/sink.yaml" "$shttp" "$sgrpc"
    start sink 1 --config "$TMP/sink.yaml"
    sink_pid=$PID
    wait_port "$sgrpc" || return
    exp_yaml="  otlp:
    endpoint: 127.0.0.1:$sgrpc
    compression: none
    tls:
      insecure: true"
  fi
  TEL=$(free_port)
  receiver_config "$TMP/r.yaml" "$grpc" "$http" "$exp_yaml" "$exporter"
  start receiver 0 --config "$TMP/r.yaml"
  local pid=$PID
  wait_port "$http" || return
  if [[ $proto == http ]]; then target=(--http "http://127.0.0.1:$http"); else target=(--grpc "127.0.0.1:$grpc"); fi
  taskset -c 1 "$LOADGEN" "${target[@]}" -c "$clients" -d 2 >/dev/null 2>&1 # warm-up
  local c0 c1 line
  c0=$(cpu_seconds "$pid")
  line=$(taskset -c 1 "$LOADGEN" "${target[@]}" -c "$clients" -d "$SECS" 2>/dev/null)
  c1=$(cpu_seconds "$pid")
  local ok_points secs cpu
  secs=$(field seconds "$line")
  ok_points=$(awk -v r="$(field ok_points_per_s "$line")" -v s="$secs" 'BEGIN { printf "%.0f", r * s }')
  cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  printf '%-34s %12s points/s (wall)  %12s points per receiver CPU-second  (receiver CPU %.2f s of %.2f s; RSS %s MiB)\n' \
    "$label" "$(field ok_points_per_s "$line")" \
    "$(awk -v p="$ok_points" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.0f", p / c; else print "n/a" }')" \
    "$cpu" "$secs" "$(rss_mib "$pid")"
  echo "    loadgen: $line"
  if [[ $exporter == otlp ]]; then # everything accepted reaches the sink (the queue drains)
    local sent=0 accepted=0 i
    echo "    exporter queue at the end of the load: $(self_metric otelcol_exporter_queue_size) requests"
    for ((i = 0; i < 100; i++)); do
      sent=$(self_metric otelcol_exporter_sent_metric_points)
      accepted=$(self_metric otelcol_receiver_accepted_metric_points)
      ((sent >= accepted)) && break
      sleep 0.1
    done
    echo "    exporter: $sent of $accepted accepted points sent"
  fi
  stop "$pid"
  [[ -n $sink_pid ]] && stop "$sink_pid"
}

want 1 && throughput "1. OTLP/HTTP -> prometheus" http prometheus 2
want 2 && throughput "2. OTLP/HTTP -> otlp exporter" http otlp 2
want 3 && throughput "3. OTLP/gRPC -> prometheus" grpc prometheus 2
want 4 && throughput "4. OTLP/gRPC -> otlp exporter" grpc otlp 2

# The default config with its ports moved.
default_args() { # GRPC HTTP PROM TEL
  echo --set "receivers::otlp::protocols::grpc::endpoint=127.0.0.1:$1" \
    --set "receivers::otlp::protocols::http::endpoint=127.0.0.1:$2" \
    --set "exporters::prometheus::endpoint=127.0.0.1:$3" \
    --set "service::telemetry::metrics::address=127.0.0.1:$4"
}

if want 5; then
  g=$(free_port) h=$(free_port) p=$(free_port) t=$(free_port)
  # shellcheck disable=SC2046
  start idle 0 $(default_args "$g" "$h" "$p" "$t")
  pid=$PID
  wait_port "$h"
  sleep 3
  echo "5. idle RSS, default config:          $(rss_mib "$pid") MiB (VmHWM $(hwm_mib "$pid") MiB)"
  stop "$pid"
fi

if want 6; then
  g=$(free_port) h=$(free_port) p=$(free_port) t=$(free_port)
  # shellcheck disable=SC2046
  start series 0 $(default_args "$g" "$h" "$p" "$t") --set 'service::pipelines::metrics::exporters=[prometheus]'
  pid=$PID
  wait_port "$h"
  before=$(rss_mib "$pid")
  taskset -c 1 "$LOADGEN" --http "http://127.0.0.1:$h" -c 2 -n 200 --sets 100 >"$TMP/series.txt" 2>&1
  sleep 1.5 # the batch timeout, then the store holds everything
  held=$(rss_mib "$pid") held_hwm=$(hwm_mib "$pid")
  bytes=$(curl -s --max-time 60 "http://127.0.0.1:$p/metrics" | tee >(grep -vc '^#' >"$TMP/samples.txt") | wc -c)
  sleep 0.5
  echo "6. RSS holding 100,000 OTLP series:    $held MiB (peak so far $held_hwm MiB; $before MiB before the push)"
  echo "    one scrape: $(cat "$TMP/samples.txt") samples incl. histogram buckets, $bytes bytes;" \
    "peak RSS (VmHWM) after it $(hwm_mib "$pid") MiB, RSS $(rss_mib "$pid") MiB"
  echo "    loadgen: $(tail -n 1 "$TMP/series.txt")"
  stop "$pid"
fi

if want 7; then
  g=$(free_port) h=$(free_port) p=$(free_port) t=$(free_port)
  # shellcheck disable=SC2046
  start flood 0 $(default_args "$g" "$h" "$p" "$t")
  pid=$PID
  wait_port "$h"
  line=$(taskset -c 1 "$LOADGEN" --http "http://127.0.0.1:$h" -c 8 -d "$LONG" 2>/dev/null)
  echo "7. 8 clients for ${LONG}s, default config: RSS $(rss_mib "$pid") MiB right after (VmHWM $(hwm_mib "$pid") MiB)"
  echo "    loadgen: $line"
  sleep 5
  echo "    RSS 5 s later: $(rss_mib "$pid") MiB"
  stop "$pid"
fi

if want 8; then
  g=$(free_port) h=$(free_port) sg=$(free_port) sh=$(free_port)
  exp_yaml="  otlp:
    endpoint: 127.0.0.1:$sg
    compression: none
    tls:
      insecure: true
    retry_on_failure:
      initial_interval: 200ms
      max_interval: 1s
      max_elapsed_time: 0s
    sending_queue:
      queue_size: 100000"
  TEL=$(free_port)
  receiver_config "$TMP/ml.yaml" "$g" "$h" "$exp_yaml" otlp "memory_limiter, batch"
  start limited 0 --config "$TMP/ml.yaml"
  pid=$PID
  wait_port "$h"
  # Backend down: the export rate is zero, so any load is an overload; 8 clients push for 20 s.
  taskset -c 1 "$LOADGEN" --http "http://127.0.0.1:$h" -c 8 -d 20 --interval 5 >"$TMP/ml1.txt" 2>"$TMP/ml1.err" &
  lg=$!
  max=0
  while kill -0 "$lg" 2>/dev/null; do
    r=$(rss_mib "$pid")
    max=$(awk -v a="$max" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
    sleep 0.25
  done
  wait "$lg"
  echo "8. overload, memory_limiter limit_mib 64, backend down: max sampled RSS $max MiB, VmHWM $(hwm_mib "$pid") MiB"
  echo "    loadgen: $(tail -n 1 "$TMP/ml1.txt")"
  grep '^t=' "$TMP/ml1.err" | sed 's/^/    /'
  sink_config "$TMP/sink.yaml" "$sh" "$sg"
  start sink 1 --config "$TMP/sink.yaml"
  spid=$PID
  wait_port "$sg"
  t0=$SECONDS
  for ((i = 0; i < 600; i++)); do # the queue drains into the sink: all accepted points sent (at most ~2 min)
    sent=$(self_metric otelcol_exporter_sent_metric_points)
    accepted=$(self_metric otelcol_receiver_accepted_metric_points)
    ((sent >= accepted)) && break
    sleep 0.2
  done
  echo "    backend up: ${sent}/${accepted} accepted points sent after $((SECONDS - t0)) s; RSS $(rss_mib "$pid") MiB"
  # The load drops to a fifth of what the sink takes (100 requests/s = 100,000 points/s): all served again.
  line=$(taskset -c 1 "$LOADGEN" --http "http://127.0.0.1:$h" -c 2 -d "$SECS" --rate 100 --interval 2 2>"$TMP/ml2.err")
  echo "    then 2 clients at 100 requests/s: $line"
  grep '^t=' "$TMP/ml2.err" | sed 's/^/    /'
  echo "    RSS now $(rss_mib "$pid") MiB"
  grep -c 'memory_limiter\|refus' "$TMP/limited.log" | sed 's/^/    receiver log lines about refusing: /'
  stop "$pid"
  stop "$spid"
fi
