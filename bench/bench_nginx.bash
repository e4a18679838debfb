# bench_nginx.bash — what the shim benchmarks (bench_preload.sh, bench_preload_attrib.sh,
# bench_preload_pages.sh) share: their EXIT trap, the tests' OTLP sink as an export target, an nginx site serving
# a 100-byte file, and the interleaved measurement: several nginx instances (plain, under the shim, ...) run at
# once, pinned to one CPU, and wrk, pinned to the other, drives them in turn for one second each, many times.
# Sourced; needs $tmp (a scratch directory bench_cleanup removes) and $NGINX.
#
# Why interleaved and pinned: on this project's 2-core VM, restarting nginx for every round put it on either CPU
# and sometimes on wrk's, and identical configurations then differed by up to 40 % between rounds, more than
# the effect measured. With every instance on CPU 0 and wrk on CPU 1, and one-second slices alternated, the
# machine's slow phases (seconds long) fall on neighbouring slices of every configuration alike. What that
# cannot average out is the instance itself: one process's memory placement stays for its life, and two runs of
# the same two builds differed by 3 points with intervals of ±1 each. So the instances are restarted every
# BLOCK rounds (default 10), and the report's interval resamples whole blocks (docs/performance.md,
# "Interleaved slices"). The shim's own thread runs on the server's CPU, so its cost is counted.

declare -A inst_pid inst_port inst_worker inst_master inst_env
pin_server=() pin_client=()

# bench_cleanup: the EXIT trap of the scripts that source this: stops nginx ($nginx_pid and every instance) and
# the sink ($sink_pid) if they run, and removes $tmp.
bench_cleanup() {
  [ -n "${nginx_pid:-}" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
  local name
  for name in "${!inst_pid[@]}"; do kill -QUIT "${inst_pid[$name]}" 2>/dev/null || true; done
  [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

# bench_start_sink: starts the tests' OTLP sink when python3-protobuf is installed; sets sink_endpoint to its URL,
# or to "" when it cannot run (recording still runs, nothing is exported).
bench_start_sink() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  sink_endpoint=""
  /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || return 0
  mkdir -p "$tmp/sink"
  /usr/bin/python3 "$here/tests/integration/autoinstr_otlp_sink.py" "$here/proto" "$tmp/sink" >/dev/null 2>&1 &
  sink_pid=$!
  for _ in $(seq 1 100); do [ -s "$tmp/sink/port" ] && break; sleep 0.1; done
  sink_endpoint="http://127.0.0.1:$(cat "$tmp/sink/port")"
}

# bench_nginx_site on|off [DIR]: writes DIR/nginx.conf (DIR defaults to $tmp; one worker, master_process $1,
# sendfile, no access log, unlimited keep-alive) serving $tmp/www/index.html (100 bytes) on 127.0.0.1:$port;
# sets port, a port no earlier call of this run was given.
bench_nginx_site() {
  local dir=${2:-$tmp} here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$tmp/www" "$dir/logs" "$dir/temp"
  [ -s "$tmp/www/index.html" ] || head -c 100 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
  port=$(/usr/bin/python3 "$here/tests/integration/free_port.py" "$tmp/ports-given")
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process $1;
worker_processes 1;
user root;
pid $dir/nginx.pid;
error_log $dir/logs/error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/temp/body;
  proxy_temp_path $dir/temp/proxy;
  fastcgi_temp_path $dir/temp/fastcgi;
  uwsgi_temp_path $dir/temp/uwsgi;
  scgi_temp_path $dir/temp/scgi;
  sendfile on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $tmp/www; }
}
CONF
}

# bench_pinning: unless PIN=0, and when there are two CPUs or more, servers go on CPU 0 and the client on CPU 1
# (sets pin_server and pin_client, the command prefixes).
bench_pinning() {
  pin_server=() pin_client=()
  if [ "${PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
  fi
}

# bench_nginx_instance NAME on|off [VAR=value...]: starts an nginx of its own (directory $tmp/NAME, a port of its
# own) with the variables given in its environment, pinned as bench_pinning says, and warms it up with one second
# of wrk. Sets inst_pid[NAME], inst_port[NAME] and inst_worker[NAME] (the process that serves: the worker, or the
# only process).
bench_nginx_instance() {
  local name=$1 master=$2 dir="$tmp/$1"
  shift 2
  bench_nginx_site "$master" "$dir"
  inst_port[$name]=$port
  inst_master[$name]=$master
  inst_env[$name]=""
  [ $# -eq 0 ] || inst_env[$name]=$(printf '%q ' "$@")
  bench_nginx_start "$name" "$@"
}

# bench_nginx_start NAME [VAR=value...]: (re)starts instance NAME from its directory and warms it up.
bench_nginx_start() {
  local name=$1 dir="$tmp/$1" master=${inst_master[$1]} port=${inst_port[$1]} w=""
  shift
  env "$@" "${pin_server[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>/dev/null &
  inst_pid[$name]=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  if [ "$master" = on ]; then
    for _ in $(seq 1 100); do w=$(pgrep -P "${inst_pid[$name]}" | head -1) && [ -n "$w" ] && break; sleep 0.05; done
  fi
  inst_worker[$name]=${w:-${inst_pid[$name]}}
  [ -r "/proc/${inst_worker[$name]}/stat" ] || { echo "nginx ($name) did not start"; cat "$dir/logs/error.log"; exit 1; }
  "${pin_client[@]}" wrk -t1 -c32 -d1s "http://127.0.0.1:$port/index.html" >/dev/null # warm-up (the shim's thread starts)
}

# bench_nginx_restart NAME: stops instance NAME and starts it again (a new process: new memory placement).
bench_nginx_restart() {
  kill -QUIT "${inst_pid[$1]}" 2>/dev/null || true
  wait "${inst_pid[$1]}" 2>/dev/null || true
  local -a env_args
  eval "env_args=(${inst_env[$1]})"
  bench_nginx_start "$1" "${env_args[@]}"
}

# bench_slice NAME SECONDS: drives instance NAME with wrk -t1 -c32 for SECONDS; prints "requests/s p99-µs
# CPU-µs-per-request user-µs sys-µs" (p99 is wrk's, queueing included; CPU is the serving process's, the shim's
# thread included).
bench_slice() {
  local w=${inst_worker[$1]} u0 s0 u1 s1 out
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$w/stat")
  out=$("${pin_client[@]}" wrk -t1 -c32 -d"${2}s" --latency "http://127.0.0.1:${inst_port[$1]}/index.html")
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$w/stat")
  awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec/ {rps = $2}
    /requests in/ {n = $1}
    $1 == "99%" {v = $2; m = 1; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else m = 1e6; sub(/[a-z]+$/, "", v); p99 = v * m}
    END {k = 1e6 / hz / n; printf "%.0f %.0f %.3f %.3f %.3f\n", rps, p99, (u + s) * k, u * k, s * k}' <<<"$out"
}

# bench_interleave SLICES SECONDS NAME...: SLICES rounds; each drives every named instance for SECONDS, in an
# order rotated by one per round; every BLOCK rounds (default 10) all of them are restarted. Appends
# "block round name <bench_slice's figures>" to $tmp/rows.
bench_interleave() {
  local slices=$1 secs=$2 block=${BLOCK:-10} r i c
  shift 2
  local names=("$@") n=$#
  for r in $(seq 0 $((slices - 1))); do
    if [ "$r" -gt 0 ] && [ $((r % block)) -eq 0 ]; then
      for c in "${names[@]}"; do bench_nginx_restart "$c"; done
    fi
    for i in $(seq 0 $((n - 1))); do
      c=${names[$(((i + r) % n))]}
      echo "$((r / block)) $r $c $(bench_slice "$c" "$secs")" >>"$tmp/rows"
    done
  done
}
