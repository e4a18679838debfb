#!/usr/bin/env bash
# demo.sh — the README demo: installs what is missing, builds, then shows otelc end to end on this machine:
#
#   1. otelc-receiver starts with its built-in default config (OTLP on 127.0.0.1:4317/4318, Prometheus
#      exporter on 127.0.0.1:8889, self-telemetry on 127.0.0.1:8888);
#   2. examples/job_worker (a C service using libotelc, configured only by OTEL_* variables) pushes OTLP;
#   3. an unmodified HTTP server (python3 -m http.server, or busybox httpd) runs under LD_PRELOAD of
#      libotelc-preload.so while curl sends it some traffic, and its request metrics are pushed too;
#   4. what arrived is printed from :8889 as a short table; everything started is stopped.
# Nothing leaves 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh --demo
build=build/demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DOTELC_BUILD_TESTS=OFF -DOTELC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

receiver=$build/receiver/otelc-receiver
worker=$build/examples/job_worker
preload=$(ls "$root/$build"/autoinstr/libotelc-preload.so 2>/dev/null || true)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 4317 4318 8888 8889; do
  if port_busy "$p"; then echo "demo: 127.0.0.1:$p is in use; stop what listens there and retry" >&2; exit 1; fi
done

echo "== otelc-receiver (default config)"
"$receiver" >"$tmp/receiver.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do port_busy 4318 && port_busy 8889 && break; sleep 0.1; done
port_busy 8889 || { cat "$tmp/receiver.log"; echo "demo: the receiver did not start" >&2; exit 1; }

echo "== job_worker (libotelc, OTLP/HTTP push every second)"
OTEL_SERVICE_NAME=job-worker OTEL_METRIC_EXPORT_INTERVAL=1000 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
  JOB_WORKER_JOBS=60 "$worker" 2>"$tmp/worker.log" &
pids+=($!)

if [ -n "$preload" ]; then
  server=()
  if [ -x /usr/bin/python3 ]; then server=(/usr/bin/python3 -m http.server 8099 --bind 127.0.0.1 --directory "$tmp/www")
  elif command -v busybox >/dev/null; then server=(busybox httpd -f -p 127.0.0.1:8099 -h "$tmp/www"); fi
  if [ ${#server[@]} -gt 0 ]; then
    echo "== ${server[0]##*/} under LD_PRELOAD=libotelc-preload.so, with curl traffic"
    mkdir -p "$tmp/www/static"; echo hello >"$tmp/www/index.html"; echo body >"$tmp/www/static/app.css"
    LD_PRELOAD=$preload OTEL_SERVICE_NAME=demo-web OTEL_METRIC_EXPORT_INTERVAL=1000 \
      OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTELC_HTTP_ROUTES='/static/*' \
      "${server[@]}" >"$tmp/web.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do port_busy 8099 && break; sleep 0.1; done
    for i in $(seq 20); do
      curl -s -o /dev/null http://127.0.0.1:8099/ || true
      curl -s -o /dev/null http://127.0.0.1:8099/static/app.css || true
      curl -s -o /dev/null http://127.0.0.1:8099/missing-$i || true
    done
  fi
fi

wait "${pids[1]}" 2>/dev/null || true   # the worker stops by itself after its jobs
sleep 2.5                               # one more export interval for the web server
echo
echo "== what arrived at the receiver (http://127.0.0.1:8889/metrics)"
curl -s http://127.0.0.1:8889/metrics >"$tmp/metrics.txt"
awk '
  /^#/ { next }
  /_bucket\{/ || /_sum\{/ { next }
  {
    name = $1; value = $NF; labels = ""; job = "-"
    if (match(name, /\{.*\}/)) { labels = substr(name, RSTART + 1, RLENGTH - 2); name = substr(name, 1, RSTART - 1) }
    n = split(labels, parts, /",/); shown = ""
    for (i = 1; i <= n; i++) {
      p = parts[i]; sub(/"$/, "", p); split(p, kv, "=\"")
      if (kv[1] ~ /^(otel_scope_|service_instance_id|telemetry_sdk|process_pid|process_executable|host_name|instance|network_protocol_version|server_port|url_scheme)/) continue
      if (kv[1] == "job") { job = kv[2]; continue }
      shown = shown (shown == "" ? "" : " ") kv[1] "=" kv[2]
    }
    printf "%-11s %-44s %-84s %s\n", substr(job, 1, 11), substr(name, 1, 44), substr(shown, 1, 84), value
  }' "$tmp/metrics.txt" | sort | awk 'BEGIN { printf "%-11s %-44s %-84s %s\n", "JOB", "METRIC", "LABELS", "VALUE" } { print }' | head -80
echo
echo "($(grep -vc '^#' "$tmp/metrics.txt") samples in all; self-telemetry:"\
  "$(curl -s http://127.0.0.1:8888/metrics | awk '/^otelcol_receiver_accepted_metric_points/ {s += $NF} END {print s + 0}')"\
  "points accepted)"
