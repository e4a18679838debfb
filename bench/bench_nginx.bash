# bench_nginx.bash — what the shim benchmarks (bench_preload.sh, bench_preload_attrib.sh,
# bench_preload_pages.sh) share: their EXIT trap, the tests' OTLP sink as an export target and an nginx site
# serving a 100-byte file. Sourced; needs $tmp (a scratch directory bench_cleanup removes) and sets sink_pid.

# bench_cleanup: the EXIT trap of the scripts that source this: stops nginx ($nginx_pid) and the sink
# ($sink_pid) if they run, and removes $tmp.
bench_cleanup() {
  [ -n "${nginx_pid:-}" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
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

# bench_nginx_site on|off: writes $tmp/nginx.conf (one worker, master_process $1, sendfile, no access log,
# unlimited keep-alive) serving $tmp/www/index.html (100 bytes) on 127.0.0.1:$port; sets port.
bench_nginx_site() {
  mkdir -p "$tmp/www" "$tmp/logs" "$tmp/temp"
  head -c 100 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process $1;
worker_processes 1;
user root;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/temp/body;
  proxy_temp_path $tmp/temp/proxy;
  fastcgi_temp_path $tmp/temp/fastcgi;
  uwsgi_temp_path $tmp/temp/uwsgi;
  scgi_temp_path $tmp/temp/scgi;
  sendfile on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $tmp/www; }
}
CONF
}
