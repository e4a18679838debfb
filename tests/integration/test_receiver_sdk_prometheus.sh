#!/usr/bin/env bash
# test_receiver_sdk_prometheus.sh — the project's SDK (examples/job_worker) pushes to otelc-receiver over OTLP/gRPC
# and over OTLP/HTTP; the Prometheus exporter then shows exactly the job counts job_worker's deterministic
# schedule produces (per queue and outcome, counters and histogram counts), the receiver's self-telemetry counts
# the accepted points, and Debian's `promtool check metrics` finds no problem in the live exporter output.
set -u
source "$(dirname "$0")/receiver_lib.bash"
rl_init sdk_prometheus

WORKER=${OTELC_JOB_WORKER:-$OTELC_BUILD_DIR/examples/job_worker}
[[ -x $WORKER ]] || rl_fail "job_worker is not built ($WORKER)"
PROMTOOL=$(command -v promtool || true)
[[ -n $PROMTOOL ]] || rl_fail "promtool is missing (Debian package prometheus; scripts/setup.sh --test)"

GRPC=$(rl_free_port)
HTTP=$(rl_free_port)
PROM=$(rl_free_port)
TEL=$(rl_free_port)
cat >"$RL_TMP/receiver.yaml" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC
      http:
        endpoint: 127.0.0.1:$HTTP
processors:
  batch:
    timeout: 100ms
exporters:
  prometheus:
    endpoint: 127.0.0.1:$PROM
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$TEL
  pipelines:
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [prometheus]
EOF
rl_start_receiver receiver "$RL_TMP/receiver.yaml"
RECEIVER_PID=$RL_PID
for p in $GRPC $HTTP $PROM; do rl_wait_port "$p" 30 || rl_fail "receiver is not listening on $p"; done

# job_worker: 30 jobs in one queue, job i fails when i % 7 == 6 -> 4 failures, 26 successes.
JOBS=30
run_worker() { # PROTOCOL ENDPOINT QUEUE SERVICE
  env OTEL_EXPORTER_OTLP_PROTOCOL="$1" OTEL_EXPORTER_OTLP_ENDPOINT="$2" OTEL_SERVICE_NAME="$4" \
    OTEL_METRIC_EXPORT_INTERVAL=300 JOB_WORKER_JOBS=$JOBS JOB_WORKER_WORK_MS=1 JOB_WORKER_FAIL_EVERY=7 \
    JOB_WORKER_QUEUES="$3" timeout 60 "$WORKER" >>"$RL_TMP/worker_$3.log" 2>&1
}
run_worker grpc "http://127.0.0.1:$GRPC" grpcq jw-grpc || rl_fail "job_worker over gRPC failed (status $?)"
run_worker http/protobuf "http://127.0.0.1:$HTTP" httpq jw-http || rl_fail "job_worker over HTTP failed (status $?)"

URL=http://127.0.0.1:$PROM/metrics
for q in grpcq httpq; do
  rl_wait_prom_value 20 26 "$URL" jobs_processed_total job_queue=$q job_outcome=success ||
    rl_fail "jobs_processed_total{job_queue=$q,job_outcome=success} never reached 26"
  [[ $(rl_prom_value "$URL" jobs_processed_total job_queue=$q job_outcome=failure) == 4 ]] ||
    rl_fail "jobs_processed_total{job_queue=$q,job_outcome=failure} is not 4"
  [[ $(rl_prom_value "$URL" job_duration_seconds_count job_queue=$q) == "$JOBS" ]] ||
    rl_fail "job_duration_seconds_count{job_queue=$q} is not $JOBS"
  [[ $(rl_prom_value "$URL" job_duration_seconds_bucket job_queue=$q job_outcome=success le=+Inf) == 26 ]] ||
    rl_fail "job_duration_seconds_bucket{job_queue=$q,job_outcome=success,le=+Inf} is not 26"
  [[ $(rl_prom_value "$URL" jobs_in_progress job_queue=$q) == 0 ]] ||
    rl_fail "jobs_in_progress{job_queue=$q} is not 0"
done
# The resource becomes job (service.name) and target_info.
[[ -n $(rl_prom_value "$URL" jobs_processed_total job=jw-grpc job_queue=grpcq) ]] || rl_fail "no job=\"jw-grpc\" label"
[[ -n $(rl_prom_value "$URL" target_info job=jw-http) ]] || rl_fail "no target_info for job=\"jw-http\""

# promtool on the live output: no parse error, and no lint problem except one: OpenTelemetry semantic-convention
# names that end in ".count" (process.thread.count, the SDK's runtime metrics) are up-down counters, so they
# become gauges named *_count, which promtool's naming lint flags. The OTel Prometheus-compatibility spec keeps
# the name (so does the Collector); anything else promtool says fails the test.
curl -s --max-time 10 "$URL" >"$RL_TMP/exposition.txt" || rl_fail "cannot read $URL"
"$PROMTOOL" check metrics <"$RL_TMP/exposition.txt" >"$RL_TMP/promtool.log" 2>&1
promtool_status=$?
if grep -v 'non-histogram and non-summary metrics should not have "_count" suffix' "$RL_TMP/promtool.log" |
  grep -q .; then
  cat "$RL_TMP/promtool.log" >&2
  rl_fail "promtool check metrics reported problems in the exporter output (status $promtool_status)"
fi
if [[ $promtool_status != 0 ]]; then
  echo "note: promtool flags *_count gauges from semantic-convention names:" >&2
  cat "$RL_TMP/promtool.log" >&2
fi

# Self-telemetry counts accepted points.
accepted=$(rl_prom_value "http://127.0.0.1:$TEL/metrics" otelcol_receiver_accepted_metric_points receiver=otlp)
[[ -n $accepted && $accepted -gt 0 ]] 2>/dev/null || rl_fail "otelcol_receiver_accepted_metric_points is '$accepted'"

rl_stop "$RECEIVER_PID" 30 || rl_fail "receiver did not exit cleanly on SIGTERM"
echo "PASS: job_worker over gRPC and HTTP -> prometheus exporter; promtool check metrics without errors"
