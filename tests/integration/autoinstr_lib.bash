# autoinstr_lib.bash — shared steps of the preload shim's integration tests (sourced by autoinstr_*.sh).
#
# A test starts one real server twice on the same 127.0.0.1 port: once plain, once under libotelc-preload.so,
# drives both with autoinstr_client.py, checks that the responses are byte-identical, and that the OTLP sink
# (autoinstr_otlp_sink.py) received exactly the request counts, statuses and body sizes the client saw.
#
#   preload_setup <name>                   temp dir, shim path, sink; sets $tmp, $shim_env, $sink_port
#   preload_start <port> <cmd...>          starts a server in the background (plain); waits for the port
#   preload_start_shim <port> <cmd...>     the same under the shim
#   preload_stop                           stops the server started last (SIGTERM, then SIGKILL), bounded
#   preload_drive <dir> <port> [client options]
#   preload_compare                        $tmp/plain vs $tmp/shim, byte for byte
#   preload_expect_metrics [ports]         waits (bounded) until the sink summary holds $tmp/shim/expected
set -euo pipefail

PY=/usr/bin/python3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${OTELC_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"

preload_skip() { echo "SKIP: $*"; exit 0; }

preload_setup() {
  local name=$1
  shim="${OTELC_PRELOAD:-${OTELC_BUILD_DIR:-$src/build}/autoinstr/libotelc-preload.so}"
  [ -f "$shim" ] || { echo "libotelc-preload.so not found at $shim"; exit 1; }
  shim=$(realpath "$shim")
  $PY -c 'import google.protobuf' 2>/dev/null || preload_skip "python3-protobuf is not installed"
  command -v protoc >/dev/null || preload_skip "protoc is not installed"
  tmp=$(mktemp -d "${OTELC_TEST_TMP:-/tmp}/preload-$name.XXXXXX" 2>/dev/null || mktemp -d)
  server_pid="" sink_pid=""
  trap preload_cleanup EXIT
  # An ASan build of the shim needs the sanitizer runtime loaded first in programs that are not built with it.
  preload_list="$shim"
  if readelf -d "$shim" | grep -q 'libasan'; then
    preload_list="$(gcc -print-file-name=libasan.so) $shim"
    export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:abort_on_error=0"
  fi
  mkdir -p "$tmp/sink"
  $PY "$here/autoinstr_otlp_sink.py" "$src/proto" "$tmp/sink" >"$tmp/sink.log" 2>&1 &
  sink_pid=$!
  for _ in $(seq 1 100); do [ -s "$tmp/sink/port" ] && break; sleep 0.1; done
  [ -s "$tmp/sink/port" ] || { echo "the OTLP sink did not start:"; cat "$tmp/sink.log"; exit 1; }
  sink_port=$(cat "$tmp/sink/port")
  shim_env=(LD_PRELOAD="$preload_list" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port"
            OTEL_METRIC_EXPORT_INTERVAL=300 OTEL_SERVICE_NAME="preload-$name")
}

preload_cleanup() {
  [ -n "${server_pid:-}" ] && kill -TERM "$server_pid" 2>/dev/null || true
  [ -n "${sink_pid:-}" ] && kill -TERM "$sink_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "${PRELOAD_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

preload_wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the server did not listen on port $port; its log:"; cat "$tmp/server.log" 2>/dev/null || true
  exit 1
}

preload_start() {
  local port=$1; shift
  "$@" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  preload_wait_port "$port"
}

preload_start_shim() {
  local port=$1; shift
  env "${shim_env[@]}" "$@" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  preload_wait_port "$port"
}

# preload_stop [signal]: stops the server started last and waits for it (at most 10 s).
preload_stop() {
  local sig=${1:-TERM}
  [ -n "${server_pid:-}" ] || return 0
  kill "-$sig" "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

preload_drive() {
  local dir=$1 port=$2; shift 2
  $PY "$here/autoinstr_client.py" "$@" "$port" "$dir"
}

preload_compare() {
  local bad=0
  for f in "$tmp/plain"/[0-9]*; do
    local g="$tmp/shim/$(basename "$f")"
    if ! cmp -s "$f" "$g"; then
      echo "FAIL: response $(basename "$f") differs with the shim:"; diff <(od -c "$f") <(od -c "$g") | head -20
      bad=1
    fi
  done
  [ $bad -eq 0 ] || exit 1
  echo "ok - responses byte-identical with and without the shim ($(ls "$tmp/plain" | grep -c '^[0-9]') exchanges)"
}

# Compares the sink's summary with the expected lines: every duration/body-size series must be expected, and
# every expected one present with its exact count (and sum; "sum<=N" where the server may answer before
# reading a request body). active_requests must all be back to 0.
preload_check_summary() {
  $PY - "$tmp/sink/summary" "$tmp/shim/expected" "$@" <<'EOF'
import re, sys
summary_path, expected_path, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
def parse(line):
    parts = line.split()
    metric, nums, attrs = parts[0], {}, []
    for p in parts[1:]:
        m = re.fullmatch(r"(count|sum|value)(=|<=)(-?\d+)", p)
        if m: nums[m.group(1)] = (m.group(2), int(m.group(3)))
        else: attrs.append(p)
    return (metric, " ".join(sorted(attrs))), nums
try:
    got_lines = open(summary_path).read().splitlines()
except FileNotFoundError:
    print("no export received yet"); sys.exit(1)
got = {}
meta = {}
for l in got_lines:
    if l.startswith("http.server."):
        k, v = parse(l); got[k] = v
    elif l:
        key, _, val = l.partition(" "); meta[key] = val
want = {}
for l in open(expected_path).read().splitlines():
    if l: k, v = parse(l); want[k] = v
problems = []
for k, v in want.items():
    if k not in got: problems.append("missing: %s %s" % k); continue
    for n, (op, x) in v.items():
        g = got[k].get(n, (None, None))[1]
        if g is None or (op == "=" and g != x) or (op == "<=" and g > x):
            problems.append("%s %s: %s %s%s, got %s" % (k[0], k[1], n, "" if op == "=" else op, x, g))
for k, v in got.items():
    if k[0] == "http.server.active_requests":
        if v["value"][1] != 0: problems.append("active_requests not back to 0: %s %s" % k)
    elif k not in want:
        problems.append("unexpected series: %s %s %s" % (k[0], k[1], v))
for p in ports:
    if p not in meta.get("ports", "").split(): problems.append("server.port %s not reported" % p)
if problems:
    print("\n".join(problems)); sys.exit(1)
EOF
}

preload_expect_metrics() {
  local out=""
  for _ in $(seq 1 100); do
    if out=$(preload_check_summary "$@" 2>&1); then
      echo "ok - exported metrics hold exactly the expected counts, statuses and body sizes"
      return 0
    fi
    sleep 0.2
  done
  echo "FAIL: exported metrics (after 20 s):"; echo "$out"
  echo "--- expected:"; cat "$tmp/shim/expected"; echo "--- summary:"; cat "$tmp/sink/summary" 2>/dev/null || true
  echo "--- server log:"; tail -20 "$tmp/server.log" || true
  exit 1
}

# The usual test: plain run, shim run, comparison, metrics. Arguments: port, client options, then the command.
preload_standard_test() {
  local port=$1 opts=$2; shift 2
  preload_start "$port" "$@"
  preload_drive "$tmp/plain" "$port" $opts
  preload_stop
  preload_start_shim "$port" "$@"
  preload_drive "$tmp/shim" "$port" $opts
  preload_compare
  preload_expect_metrics "$port"
  preload_stop
}

# A port that was free a moment ago and not handed out before in this test (free_port.py).
preload_free_port() {
  $PY "$here/free_port.py" "$tmp/ports.given"
}

# Writes $tmp/nginx.conf for nginx from Debian: a foreground master with $1 workers, every path under $tmp, a
# self-signed certificate in $tmp/cert.pem/key.pem, sendfile on, and `listen` lines $2 (plain) and $3 (TLS)
# for one server rooted at $tmp/www. $4: extra lines inside http { } (optional).
preload_nginx_conf() {
  mkdir -p "$tmp/www" "$tmp/logs" "$tmp/temp"
  [ -f "$tmp/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -days 2 -subj "/CN=127.0.0.1" >/dev/null 2>&1
  cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $1;
user root;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $tmp/temp/body;
  proxy_temp_path $tmp/temp/proxy;
  fastcgi_temp_path $tmp/temp/fastcgi;
  uwsgi_temp_path $tmp/temp/uwsgi;
  scgi_temp_path $tmp/temp/scgi;
  sendfile on;
  ${4:-}
  server {
    listen $2;
    listen $3;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    root $tmp/www;
  }
}
CONF
}
