#!/usr/bin/env bash
# test_receiver_persistent_queue.sh — restart with the persistent sending queue loses nothing.
#
# Receiver A: OTLP/HTTP in -> otlphttp exporter whose sending_queue is stored by file_storage/x, towards a
# backend that is down. N points are pushed to A (all answered 200), A gets SIGTERM and exits with the batches
# still undelivered, on disk. Then the backend B (a second otelc-receiver with a file exporter) starts, A starts
# again with the same storage directory, and every one of the N points (identified by a seq attribute) arrives
# at B. A third run of A (the queue now empty) delivers nothing twice more.
set -u
source "$(dirname "$0")/receiver_lib.bash"
rl_init persistent_queue

A_HTTP=$(rl_free_port)
A_TEL=$(rl_free_port)
B_HTTP=$(rl_free_port)
B_TEL=$(rl_free_port)
REQUESTS=20
PER_REQUEST=25
N=$((REQUESTS * PER_REQUEST))
mkdir -p "$RL_TMP/storage"
cat >"$RL_TMP/a.yaml" <<EOF
extensions:
  file_storage/x:
    directory: $RL_TMP/storage
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
      max_interval: 500ms
      max_elapsed_time: 0s
    sending_queue:
      num_consumers: 2
      queue_size: 1000
      storage: file_storage/x
service:
  extensions: [file_storage/x]
  telemetry:
    metrics:
      address: 127.0.0.1:$A_TEL
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [otlphttp]
EOF
rl_write_sink_config "$RL_TMP/b.yaml" "$B_HTTP" "$B_TEL" "$RL_TMP/delivered.jsonl"

# 1. A with the backend down: every push is accepted and queued on disk. The backend's port is held (bound, not
# listening) so that A's sends are refused and no test running in parallel can answer on it.
rl_hold_port "$B_HTTP"
rl_start_receiver a1 "$RL_TMP/a.yaml"
A_PID=$RL_PID
rl_wait_port "$A_HTTP" 30 || rl_fail "receiver A is not listening"
for ((r = 0; r < REQUESTS; r++)); do
  status=$(rl_post_json "http://127.0.0.1:$A_HTTP/v1/metrics" "$(rl_gauge_json pq.points $((r * PER_REQUEST)) $PER_REQUEST)")
  [[ $status == 200 ]] || rl_fail "push $r to A answered $status"
done
sleep 1 # let A try (and fail) to send a few times
rl_stop "$A_PID" 30
a_status=$?
[[ $a_status != 124 ]] || rl_fail "receiver A did not exit within 30 s of SIGTERM with the backend down"
[[ -z $(rl_file_seqs "$RL_TMP/delivered.jsonl" pq.points) ]] || rl_fail "points arrived while the backend was down?"
[[ -n $(find "$RL_TMP/storage" -type f -size +0c | head -n 1) ]] || rl_fail "nothing was written to the storage directory"

# 2. The backend comes up, A restarts on the same storage: everything is delivered.
kill "$RL_HOLD_PID"; wait "$RL_HOLD_PID" 2>/dev/null || true
rl_start_receiver b "$RL_TMP/b.yaml"
rl_wait_port "$B_HTTP" 30 || rl_fail "backend B is not listening"
rl_start_receiver a2 "$RL_TMP/a.yaml"
A_PID=$RL_PID
rl_wait_port "$A_HTTP" 30 || rl_fail "receiver A (second run) is not listening"
got=0
for ((i = 0; i < 240; i++)); do
  got=$(rl_file_seqs "$RL_TMP/delivered.jsonl" pq.points | wc -l)
  ((got >= N)) && break
  sleep 0.25
done
((got == N)) || {
  missing=$(comm -23 <(seq 0 $((N - 1)) | sort) <(rl_file_seqs "$RL_TMP/delivered.jsonl" pq.points | sort) | head -n 10 | tr '\n' ' ')
  rl_fail "after the restart the backend has $got of $N distinct points (missing e.g. $missing)"
}
seqs=$(rl_file_seqs "$RL_TMP/delivered.jsonl" pq.points)
[[ $(echo "$seqs" | head -n 1) == 0 && $(echo "$seqs" | tail -n 1) == $((N - 1)) ]] ||
  rl_fail "delivered seq values are not 0..$((N - 1))"
rl_stop "$A_PID" 30 || rl_fail "receiver A (second run) did not exit cleanly"

echo "PASS: $N points queued on disk while the backend was down survived a restart and were all delivered"
