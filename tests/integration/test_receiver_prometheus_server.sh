#!/usr/bin/env bash
# test_receiver_prometheus_server.sh — Debian's Prometheus server scrapes otelc-receiver's Prometheus exporter
# (scrape_interval 1s) and its HTTP API answers a query for a metric pushed over OTLP/HTTP with the pushed value
# and the translated labels, within a bounded wait. The server is a test dependency (scripts/setup.sh --test):
# the test fails, rather than skips, when it is missing.
set -u
source "$(dirname "$0")/receiver_lib.bash"
rl_init prometheus_server

PROMETHEUS=$(command -v prometheus || true)
[[ -n $PROMETHEUS ]] || rl_fail "/usr/bin/prometheus is missing (Debian package prometheus; scripts/setup.sh --test)"

HTTP=$(rl_free_port)
PROM=$(rl_free_port)
TEL=$(rl_free_port)
WEB=$(rl_free_port)
cat >"$RL_TMP/receiver.yaml" <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTP
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
      exporters: [prometheus]
EOF
rl_start_receiver receiver "$RL_TMP/receiver.yaml"
for p in $HTTP $PROM; do rl_wait_port "$p" 30 || rl_fail "receiver is not listening on $p"; done

# A gauge "rinteg.pushed" with one point {seq="4242"} = 4242 (value = seq), service.name rl-test.
status=$(rl_post_json "http://127.0.0.1:$HTTP/v1/metrics" "$(rl_gauge_json rinteg.pushed 4242 1)")
[[ $status == 200 ]] || rl_fail "push answered $status"
rl_wait_prom_value 10 4242 "http://127.0.0.1:$PROM/metrics" rinteg_pushed seq=4242 ||
  rl_fail "the exporter does not show rinteg_pushed"

cat >"$RL_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: otelc
    static_configs:
      - targets: ['127.0.0.1:$PROM']
EOF
"$PROMETHEUS" --config.file="$RL_TMP/prometheus.yml" --storage.tsdb.path="$RL_TMP/tsdb" \
  --web.listen-address="127.0.0.1:$WEB" >>"$RL_TMP/prometheus.log" 2>&1 &
rl_track $!
rl_wait_port "$WEB" 60 || rl_fail "prometheus is not listening on $WEB"

# Query until the pushed value comes back (Prometheus needs one or two scrapes).
answer=""
ok=0
for ((i = 0; i < 240; i++)); do
  answer=$(curl -s --max-time 5 "http://127.0.0.1:$WEB/api/v1/query" --data-urlencode 'query=rinteg_pushed{seq="4242"}')
  if "$RL_PY" -c '
import json, sys
d = json.loads(sys.argv[1])
r = d["data"]["result"]
assert d["status"] == "success" and len(r) == 1, "no result yet"
assert r[0]["value"][1] == "4242", "value %s" % r[0]["value"][1]
# The job label from the scrape config wins over service.name (honor_labels false), which moves to exported_job.
assert r[0]["metric"].get("exported_job") == "rl-test", r[0]["metric"]
' "$answer" 2>/dev/null; then
    ok=1
    break
  fi
  sleep 0.25
done
[[ $ok == 1 ]] || rl_fail "Prometheus never answered rinteg_pushed{seq=\"4242\"} = 4242; last answer: $answer"

# The scrape itself was healthy.
up=$(curl -s --max-time 5 "http://127.0.0.1:$WEB/api/v1/query" --data-urlencode 'query=up{job="otelc"}')
"$RL_PY" -c 'import json,sys; r=json.loads(sys.argv[1])["data"]["result"]; assert r and r[0]["value"][1]=="1"' "$up" ||
  rl_fail "up{job=\"otelc\"} is not 1: $up"
echo "PASS: Prometheus scraped otelc-receiver and answered the query with the pushed value"
