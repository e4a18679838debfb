#!/usr/bin/env bash
# test_receiver_reload.sh — SIGHUP reloads under traffic: no client is refused and no point is lost.
#
# Receiver A: OTLP/gRPC and OTLP/HTTP in -> batch -> otlphttp exporter towards B (a second otelc-receiver with
# a file exporter, the "backend"). Two client loops push to A the whole time, each request on a fresh connection
# (curl; the gRPC one speaks h2c with prior knowledge), each point carrying a unique seq attribute: one over
# OTLP/HTTP (JSON), one over OTLP/gRPC (protobuf). Meanwhile A is reloaded RELOADS times with SIGHUP — the
# configuration alternates between two batch timeouts, and one reload in the middle sees an invalid
# configuration (kept running, listeners untouched). Expected: every request was answered 200 / grpc-status 0 at
# the first attempt (curl exit 7, connection refused, would fail the test), and B received every point of every
# request. The batch processor's self-telemetry (otelcol_processor_*), which lives in the service and survives
# reloads, counts every point. Bounded: the loops stop after MAX_REQUESTS each or when told; every wait has a
# deadline.
set -u
source "$(dirname "$0")/receiver_lib.bash"
rl_init reload

A_GRPC=$(rl_free_port)
A_HTTP=$(rl_free_port)
A_TEL=$(rl_free_port)
B_HTTP=$(rl_free_port)
B_TEL=$(rl_free_port)
RELOADS=6
PER_REQUEST=5
MAX_REQUESTS=3000

# write_a_config TIMEOUT: A's configuration with the batch timeout TIMEOUT.
write_a_config() {
  cat >"$RL_TMP/a.yaml.new" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$A_GRPC
      http:
        endpoint: 127.0.0.1:$A_HTTP
processors:
  batch:
    timeout: $1
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:$B_HTTP
    compression: none
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 300ms
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$A_TEL
  pipelines:
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
EOF
  mv "$RL_TMP/a.yaml.new" "$RL_TMP/a.yaml"
}

write_a_config 100ms
rl_write_sink_config "$RL_TMP/b.yaml" "$B_HTTP" "$B_TEL" "$RL_TMP/delivered.jsonl"
rl_start_receiver b "$RL_TMP/b.yaml"
rl_wait_port "$B_HTTP" 30 || rl_fail "backend B is not listening"
rl_start_receiver a "$RL_TMP/a.yaml"
A_PID=$RL_PID
rl_wait_port "$A_HTTP" 30 || rl_fail "receiver A is not listening on OTLP/HTTP"
rl_wait_port "$A_GRPC" 30 || rl_fail "receiver A is not listening on OTLP/gRPC"

# The gRPC request bodies (length-prefixed ExportMetricsServiceRequest), one file per request: a gauge
# reload.grpc with PER_REQUEST points, point i of request r carrying seq = r * PER_REQUEST + i.
mkdir -p "$RL_TMP/grpc"
"$RL_PY" - "$RL_TMP/grpc" "$MAX_REQUESTS" "$PER_REQUEST" <<'EOF' || rl_fail "cannot build the gRPC bodies"
import struct, sys
out, count, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def varint(n):
    b = bytearray()
    while True:
        if n < 0x80:
            b.append(n); return bytes(b)
        b.append((n & 0x7f) | 0x80); n >>= 7
def field(num, payload):  # length-delimited
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def kv(key, value):
    return field(1, key.encode()) + field(2, field(1, value.encode()))
resource = field(1, field(1, kv("service.name", "reload-grpc")))
scope = field(1, field(1, b"rl"))
for r in range(count):
    points = b""
    for i in range(per):
        seq = r * per + i
        p = varint(3 << 3 | 1) + struct.pack("<Q", 1700000060000000000)  # time_unix_nano (fixed64)
        p += varint(6 << 3 | 1) + struct.pack("<q", seq)                # as_int (sfixed64)
        p += field(7, kv("seq", str(seq)))                               # attributes
        points += field(1, p)
    metric = field(1, b"reload.grpc") + field(5, points)               # name, gauge
    rm = resource + field(2, scope + field(2, metric))
    msg = field(1, rm)
    with open("%s/%d.bin" % (out, r), "wb") as f:
        f.write(b"\0" + struct.pack(">I", len(msg)) + msg)
EOF

# http_loop: OTLP/HTTP pushes until the stop file appears; "r status curl_exit" per request in http.txt.
http_loop() {
  local r status rc
  for ((r = 0; r < MAX_REQUESTS; r++)); do
    [[ -e $RL_TMP/stop ]] && break
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
      --data-binary "$(rl_gauge_json reload.http $((r * PER_REQUEST)) $PER_REQUEST)" \
      "http://127.0.0.1:$A_HTTP/v1/metrics")
    rc=$?
    echo "$r $status $rc" >>"$RL_TMP/http.txt"
  done
}

# grpc_loop: OTLP/gRPC unary calls (h2c, prior knowledge); "r http_status grpc_status curl_exit" in grpc.txt.
grpc_loop() {
  local r status rc grpc
  for ((r = 0; r < MAX_REQUESTS; r++)); do
    [[ -e $RL_TMP/stop ]] && break
    status=$(curl -s --http2-prior-knowledge -o /dev/null -D "$RL_TMP/grpc_headers.txt" -w '%{http_code}' \
      --max-time 30 -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$RL_TMP/grpc/$r.bin" \
      "http://127.0.0.1:$A_GRPC/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")
    rc=$?
    grpc=$(tr -d '\r' <"$RL_TMP/grpc_headers.txt" 2>/dev/null | sed -n 's/^grpc-status: *//Ip' | tail -n 1)
    [[ -z $grpc ]] && cp "$RL_TMP/grpc_headers.txt" "$RL_TMP/grpc_headers.$r.txt"
    echo "$r $status ${grpc:-none} $rc" >>"$RL_TMP/grpc.txt"
  done
}

: >"$RL_TMP/http.txt"
: >"$RL_TMP/grpc.txt"
http_loop &
HTTP_LOOP=$!
grpc_loop &
GRPC_LOOP=$!

# reloads_done: how many reloads A has finished (successfully or not).
reloads_done() { grep -cE 'Reload complete|Reload failed' "$RL_TMP/a.log"; }
# wait_requests N: until both loops have answered at least N more requests than now (bounded: 30 s).
wait_requests() {
  local want_h=$(($(wc -l <"$RL_TMP/http.txt") + $1)) want_g=$(($(wc -l <"$RL_TMP/grpc.txt") + $1)) i
  for ((i = 0; i < 300; i++)); do
    (($(wc -l <"$RL_TMP/http.txt") >= want_h && $(wc -l <"$RL_TMP/grpc.txt") >= want_g)) && return 0
    kill -0 "$HTTP_LOOP" 2>/dev/null || kill -0 "$GRPC_LOOP" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

wait_requests 5 || rl_fail "the client loops do not get answers before any reload"
for ((k = 1; k <= RELOADS; k++)); do
  before=$(reloads_done)
  if ((k == RELOADS / 2)); then
    cp "$RL_TMP/a.yaml" "$RL_TMP/a.yaml.good"
    printf 'receivers: [this is: not valid\n' >"$RL_TMP/a.yaml" # the reload must fail and change nothing
  elif ((k % 2)); then
    write_a_config 200ms
  else
    write_a_config 100ms
  fi
  kill -HUP "$A_PID"
  for ((i = 0; i < 300 && $(reloads_done) <= before; i++)); do sleep 0.1; done
  (($(reloads_done) > before)) || rl_fail "reload $k did not finish within 30 s"
  [[ -e $RL_TMP/a.yaml.good ]] && mv "$RL_TMP/a.yaml.good" "$RL_TMP/a.yaml"
  kill -0 "$A_PID" 2>/dev/null || rl_fail "receiver A died during reload $k"
  wait_requests 3 || rl_fail "the client loops got no answers after reload $k"
done
touch "$RL_TMP/stop"
wait "$HTTP_LOOP" "$GRPC_LOOP"

completed=$(grep -c 'Reload complete' "$RL_TMP/a.log")
failed=$(grep -c 'Reload failed' "$RL_TMP/a.log")
((completed == RELOADS - 1 && failed == 1)) ||
  rl_fail "expected $((RELOADS - 1)) completed reloads and 1 failed one, got $completed and $failed"

# Every request answered OK at the first attempt; curl exit 7 means "connection refused".
refused=$(awk '$3 == 7' "$RL_TMP/http.txt" | wc -l)
refused=$((refused + $(awk '$4 == 7' "$RL_TMP/grpc.txt" | wc -l)))
((refused == 0)) || rl_fail "$refused requests were refused a connection during reloads"
bad_http=$(awk '$2 != 200 || $3 != 0' "$RL_TMP/http.txt")
[[ -z $bad_http ]] || rl_fail "OTLP/HTTP requests not answered 200 (request status curl_exit): $(head -5 <<<"$bad_http")"
bad_grpc=$(awk '$2 != 200 || $3 != 0 || $4 != 0' "$RL_TMP/grpc.txt")
[[ -z $bad_grpc ]] || rl_fail "OTLP/gRPC calls not answered OK (request status grpc_status curl_exit): $(head -5 <<<"$bad_grpc")"
n_http=$(wc -l <"$RL_TMP/http.txt")
n_grpc=$(wc -l <"$RL_TMP/grpc.txt")

# Every point arrived at the backend.
want_http=$((n_http * PER_REQUEST))
want_grpc=$((n_grpc * PER_REQUEST))
for ((i = 0; i < 120; i++)); do
  got_http=$(rl_file_seqs "$RL_TMP/delivered.jsonl" reload.http | wc -l)
  got_grpc=$(rl_file_seqs "$RL_TMP/delivered.jsonl" reload.grpc | wc -l)
  ((got_http >= want_http && got_grpc >= want_grpc)) && break
  sleep 0.25
done
((got_http == want_http)) || rl_fail "the backend has $got_http of $want_http OTLP/HTTP points"
((got_grpc == want_grpc)) || rl_fail "the backend has $got_grpc of $want_grpc OTLP/gRPC points"
accepted=$(rl_prom_value "http://127.0.0.1:$A_TEL/metrics" otelcol_receiver_accepted_metric_points)
((accepted == want_http + want_grpc)) ||
  rl_fail "A counted $accepted accepted points, the clients sent $((want_http + want_grpc))"
# The processor's self-telemetry on A's /metrics survived the reloads too, with the Collector's names.
total=$((want_http + want_grpc))
TEL_URL=http://127.0.0.1:$A_TEL/metrics
incoming=$(rl_prom_value "$TEL_URL" otelcol_processor_incoming_items processor=batch otel_signal=metrics)
outgoing=$(rl_prom_value "$TEL_URL" otelcol_processor_outgoing_items processor=batch otel_signal=metrics)
sent_sum=$(rl_prom_value "$TEL_URL" otelcol_processor_batch_batch_send_size_sum processor=batch)
sends=$(rl_prom_value "$TEL_URL" otelcol_processor_batch_batch_send_size_count processor=batch)
timeouts=$(rl_prom_value "$TEL_URL" otelcol_processor_batch_timeout_trigger_send processor=batch)
((incoming == total && outgoing == total && sent_sum == total)) ||
  rl_fail "batch processor telemetry: incoming '$incoming', outgoing '$outgoing', sent '$sent_sum' (want $total)"
((sends > 0 && timeouts > 0 && timeouts <= sends)) ||
  rl_fail "batch processor telemetry: $sends sends, $timeouts timeout triggers"
rl_stop "$A_PID" 30 || rl_fail "receiver A did not exit cleanly"
echo "PASS: $RELOADS reloads under traffic: $n_http OTLP/HTTP and $n_grpc OTLP/gRPC requests, none refused," \
  "all $((want_http + want_grpc)) points delivered"
