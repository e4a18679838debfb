#!/usr/bin/env bash
# test_receiver_backend_down.sh — the backend goes down, then comes up: nothing within the sending queue's
# capacity is lost, and the receiver's memory stays bounded meanwhile.
#
# Receiver A: OTLP/HTTP in -> otlphttp exporter (in-memory sending_queue of 40 requests, retries without a time
# limit) towards backend B, which is down. Phase 1 pushes 30 requests × 20 points of dq.points (within the
# queue's capacity): all answered 200. Phase 2 floods A with 300 requests of 1,000 points of another metric
# (about 37 MB of JSON, far beyond the queue): the queue refuses what does not fit
# (otelcol_exporter_enqueue_failed_metric_points grows) and A's RSS grows by less than 64 MiB. A keeps serving.
# Then B (a second otelc-receiver with a file exporter) comes up: all 600 dq.points points arrive.
set -u
source "$(dirname "$0")/receiver_lib.bash"
rl_init backend_down

A_HTTP=$(rl_free_port)
A_TEL=$(rl_free_port)
B_HTTP=$(rl_free_port)
B_TEL=$(rl_free_port)
REQUESTS=30
PER_REQUEST=20
N=$((REQUESTS * PER_REQUEST))
FLOOD=300
cat >"$RL_TMP/a.yaml" <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$A_HTTP
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:$B_HTTP
    compression: none
    timeout: 2s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 300ms
      max_elapsed_time: 0s
    sending_queue:
      num_consumers: 2
      queue_size: 40
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$A_TEL
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [otlphttp]
EOF
rl_write_sink_config "$RL_TMP/b.yaml" "$B_HTTP" "$B_TEL" "$RL_TMP/delivered.jsonl"

rl_hold_port "$B_HTTP" # refused while the backend is down, and no test running in parallel can answer on it
rl_start_receiver a "$RL_TMP/a.yaml"
A_PID=$RL_PID
rl_wait_port "$A_HTTP" 30 || rl_fail "receiver A is not listening"
A_URL=http://127.0.0.1:$A_HTTP/v1/metrics

# Phase 1: within capacity, every push is accepted.
for ((r = 0; r < REQUESTS; r++)); do
  status=$(rl_post_json "$A_URL" "$(rl_gauge_json dq.points $((r * PER_REQUEST)) $PER_REQUEST)")
  [[ $status == 200 ]] || rl_fail "push $r to A (backend down, queue not full) answered $status"
done
rss_before=$(rl_rss_kib "$A_PID")

# Phase 2: flood far beyond the queue; one curl process, keep-alive, FLOOD requests of 1,000 points.
rl_gauge_json dq.flood 1000000 1000 >"$RL_TMP/flood.json"
urls=()
for ((r = 0; r < FLOOD; r++)); do urls+=("$A_URL"); done
curl -s --max-time 120 -w '\nSTATUS=%{http_code}\n' -H 'Content-Type: application/json' \
  --data-binary "@$RL_TMP/flood.json" "${urls[@]}" | sed -n 's/^STATUS=//p' >"$RL_TMP/flood_status.txt"
answered=$(grep -c . "$RL_TMP/flood_status.txt")
((answered == FLOOD)) || rl_fail "only $answered of $FLOOD flood requests were answered"
bad=$(grep -Ev '^(200|429|503)$' "$RL_TMP/flood_status.txt" | sort | uniq -c | tr '\n' ' ')
[[ -z $bad ]] || rl_fail "flood requests got statuses other than 200/429/503: $bad"
rss_after=$(rl_rss_kib "$A_PID")
kill -0 "$A_PID" 2>/dev/null || rl_fail "receiver A died during the flood"
growth=$(((rss_after - rss_before) / 1024))
echo "RSS of A: ${rss_before} KiB before the flood, ${rss_after} KiB after (+${growth} MiB); flood statuses:" \
  "$(sort "$RL_TMP/flood_status.txt" | uniq -c | tr '\n' ' ')" >&2
((growth < 64)) || rl_fail "RSS of A grew by $growth MiB during the flood (bounded queue expected)"
failed=$(rl_prom_value "http://127.0.0.1:$A_TEL/metrics" otelcol_exporter_enqueue_failed_metric_points)
refused=$(grep -Ec '^(429|503)$' "$RL_TMP/flood_status.txt")
[[ ${failed:-0} -gt 0 || $refused -gt 0 ]] 2>/dev/null ||
  rl_fail "the full queue neither counted enqueue failures ('$failed') nor refused requests"

# A still serves; a refusal (the queue is still full) is retryable and says when to retry.
answer=$(curl -s -i --max-time 20 -H 'Content-Type: application/json' --data-binary "$(rl_gauge_json dq.after 0 1)" \
  "$A_URL" | tr -d '\r')
status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$answer")
[[ $status == 200 || $status == 503 || $status == 429 ]] || rl_fail "push after the flood answered '$status'"
if [[ $status != 200 ]]; then
  grep -qi '^retry-after: [0-9]' <<<"$answer" || rl_fail "a $status refusal has no Retry-After header"
fi

# Backend up: everything of phase 1 arrives.
kill "$RL_HOLD_PID"; wait "$RL_HOLD_PID" 2>/dev/null || true
rl_start_receiver b "$RL_TMP/b.yaml"
rl_wait_port "$B_HTTP" 30 || rl_fail "backend B is not listening"
got=0
for ((i = 0; i < 240; i++)); do
  got=$(rl_file_seqs "$RL_TMP/delivered.jsonl" dq.points | wc -l)
  ((got >= N)) && break
  sleep 0.25
done
((got == N)) || rl_fail "after the backend came up it has $got of $N distinct dq.points points"
rl_stop "$A_PID" 30 || rl_fail "receiver A did not exit cleanly"
echo "PASS: backend down then up: $N queued points delivered, RSS growth under the flood $growth MiB"
