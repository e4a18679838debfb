# receiver_lib.bash — helpers shared by the otelc-receiver integration tests (test_receiver_*.sh), sourced by
# them: a per-test temp dir, free ports on 127.0.0.1, starting otelc-receiver processes (and stopping all of
# them on exit), bounded waits, RSS readings and OTLP/JSON request bodies.
#
#   source "$(dirname "$0")/receiver_lib.bash"
#   rl_init sdk_prometheus                 # RL_TMP, RL_RECEIVER, cleanup trap
#   port=$(rl_free_port)
#   rl_start_receiver a "$RL_TMP/a.yaml"; pid=$RL_PID
#   rl_wait_port "$port" 30 || rl_fail "receiver a did not listen"
#
# Every wait is bounded; failures print the reason and the tail of every receiver log, and exit 1.

RL_PIDS=()

# At exit: stops every process started here; removes RL_TMP when the test passed (kept for a failure).
rl_cleanup() {
  local rc=$? pid
  for pid in "${RL_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${RL_PIDS[@]}"; do
    rl_wait_exit "$pid" 15 || kill -KILL "$pid" 2>/dev/null
  done
  [[ $rc == 0 && -n ${RL_TMP:-} ]] && rm -rf "$RL_TMP"
  return "$rc"
}

# rl_init NAME: sets RL_TMP (fresh), RL_RECEIVER (the binary), RL_PY; fails clearly when the binary is missing.
rl_init() {
  local name=$1
  : "${OTELC_BUILD_DIR:?OTELC_BUILD_DIR must be set (run through ctest)}"
  RL_RECEIVER=$OTELC_BUILD_DIR/receiver/otelc-receiver
  [[ -x $RL_RECEIVER ]] || { echo "FAIL: $RL_RECEIVER is not built" >&2; exit 1; }
  RL_TMP=${OTELC_TEST_TMP:-/tmp}/receiver_$name.$$
  rm -rf "$RL_TMP"
  mkdir -p "$RL_TMP"
  trap rl_cleanup EXIT
  # Under ASan: no leak report at exit of signalled processes (the unit tests check leaks), and a small
  # quarantine, so that RSS readings reflect the receiver's memory rather than ASan's 256 MB of freed blocks.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
  for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is required (scripts/setup.sh --test)" >&2; exit 1; }
  done
  # The interpreter itself, not a version-manager shim (shims cost a second per start on a loaded machine).
  RL_PY=$(command -v pyenv >/dev/null && pyenv which python3 2>/dev/null || command -v python3)
}

rl_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$RL_TMP"/*.log; do
    [[ -f $f ]] || continue
    echo "---- tail of $f" >&2
    tail -n 25 "$f" >&2
  done
  exit 1
}

# A port that was free a moment ago and not handed out before in this test (free_port.py).
rl_free_port() {
  "$RL_PY" "$(dirname "${BASH_SOURCE[0]}")/free_port.py" "$RL_TMP/ports.given"
}

# rl_hold_port PORT: keeps PORT bound but not listening, so that connections to it are refused and no other test
# running in parallel can take it (a "free" port picked in advance is otherwise anyone's). Sets RL_HOLD_PID (also
# stopped at exit); stop it with `kill $RL_HOLD_PID` before starting the server that is meant to own the port.
rl_hold_port() {
  "$RL_PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))
print("held", flush=True); time.sleep(600)' "$1" >"$RL_TMP/hold.$1" 2>&1 &
  RL_HOLD_PID=$!
  RL_PIDS+=("$RL_HOLD_PID")
  for _ in $(seq 1 50); do grep -q held "$RL_TMP/hold.$1" 2>/dev/null && return 0; sleep 0.1; done
  rl_fail "could not hold port $1"
}

# rl_start_receiver NAME CONFIG [ARGS...]: starts otelc-receiver in the background (log in $RL_TMP/NAME.log);
# sets RL_PID and stops the process at exit.
rl_start_receiver() {
  local name=$1 cfg=$2
  shift 2
  "$RL_RECEIVER" --config "$cfg" "$@" >>"$RL_TMP/$name.log" 2>&1 &
  RL_PID=$!
  rl_track "$RL_PID"
}

# rl_track PID: stop this process at exit.
rl_track() { RL_PIDS+=("$1"); }

# rl_write_sink_config FILE HTTP_PORT TEL_PORT OUT: a backend receiver that writes every batch it gets to OUT
# (OTLP/JSON lines, read back with rl_file_seqs).
rl_write_sink_config() {
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$2
exporters:
  file:
    path: $4
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$3
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [file]
EOF
}

# rl_wait_port PORT SECONDS: waits until something accepts connections on 127.0.0.1:PORT.
rl_wait_port() {
  local port=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# rl_wait_exit PID SECONDS: waits until PID has exited (returns 1 if it has not).
rl_wait_exit() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  return 1
}

# rl_stop PID [SECONDS]: SIGTERM, then waits (default 30 s); returns the exit status, 124 when it hung.
rl_stop() {
  local pid=$1 secs=${2:-30} i
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      return $?
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  return 124
}

# rl_rss_kib PID: resident set size in KiB.
rl_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# rl_post_json URL BODY: POSTs an OTLP/JSON body, prints the HTTP status.
rl_post_json() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' --data-binary "$2" "$1"
}

# rl_gauge_json METRIC FIRST COUNT: an OTLP/JSON request with one gauge METRIC holding COUNT points, point i
# carrying attribute seq="<FIRST+i>" and value FIRST+i. (Plain bash: no interpreter start-up per request.)
rl_gauge_json() {
  local name=$1 first=$2 count=$3 i pts=""
  for ((i = first; i < first + count; i++)); do
    pts+="${pts:+,}{\"attributes\":[{\"key\":\"seq\",\"value\":{\"stringValue\":\"$i\"}}],"
    pts+="\"timeUnixNano\":\"1700000060000000000\",\"asInt\":\"$i\"}"
  done
  printf '{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"rl-test"}}]},'
  printf '"scopeMetrics":[{"scope":{"name":"rl"},"metrics":[{"name":"%s","gauge":{"dataPoints":[%s]}}]}]}]}\n' \
    "$name" "$pts"
}

# rl_file_seqs FILE METRIC: the distinct seq attributes of METRIC's points in a file exporter's JSON-lines output,
# one per line, sorted numerically.
rl_file_seqs() {
  "$RL_PY" - "$1" "$2" <<'EOF'
import json, sys
path, name = sys.argv[1], sys.argv[2]
seqs = set()
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
    except ValueError:
        continue  # a line still being written
    for rm in req.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                if m.get("name") != name:
                    continue
                data = m.get("gauge") or m.get("sum") or {}
                for p in data.get("dataPoints", []):
                    for kv in p.get("attributes", []):
                        if kv.get("key") == "seq":
                            seqs.add(int(kv["value"]["stringValue"]))
for s in sorted(seqs):
    print(s)
EOF
}

# rl_metric_value URL REGEX: the value of the first exposition line matching REGEX (extended grep), or empty.
rl_metric_value() {
  curl -s --max-time 10 "$1" | grep -E "$2" | head -n 1 | awk '{print $NF}'
}

# rl_prom_value URL METRIC [LABEL=VALUE...]: the value of the series of METRIC (exact name) on a Prometheus
# text endpoint whose labels include every LABEL=VALUE given; empty when there is none. Several matches: the sum.
rl_prom_value() {
  local url=$1
  shift
  curl -s --max-time 10 "$url" | "$RL_PY" -c '
import re, sys
name, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
line_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
label_re = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")
total, found = 0.0, False
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = line_re.match(line)
    if not m or m.group(1) != name:
        continue
    labels = dict(label_re.findall(m.group(3) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        total += float(m.group(4)); found = True
if found:
    print(("%d" % total) if total == int(total) else repr(total))
' "$@"
}

# rl_wait_prom_value SECONDS EXPECTED URL METRIC [LABEL=VALUE...]: waits until rl_prom_value prints EXPECTED.
rl_wait_prom_value() {
  local secs=$1 want=$2 i got
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    got=$(rl_prom_value "$@")
    [[ $got == "$want" ]] && return 0
    sleep 0.25
  done
  echo "last value of $2 ${*:3}: '${got}' (want '$want')" >&2
  return 1
}
