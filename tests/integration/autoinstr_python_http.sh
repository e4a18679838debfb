#!/usr/bin/env bash
# autoinstr_python_http.sh — `python3 -m http.server` (a threading server; recv/send/sendall) under the preload
# shim: responses unchanged, and the exported HTTP server metrics match what the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
preload_setup python
mkdir -p "$tmp/www"
printf 'hello from python\n' >"$tmp/www/index.html"
port=$(preload_free_port)
cd "$tmp/www"
preload_standard_test "$port" "" /usr/bin/python3 -m http.server -p HTTP/1.1 "$port" --bind 127.0.0.1

# A process's first request, still open, is seen while it lasts: its request line starts the shim's thread, and
# http.server.active_requests counts it from its connection (autoinstr/sniffer.h, the open-request word).
port2=$(preload_free_port)
preload_start_shim "$port2" /usr/bin/python3 -m http.server -p HTTP/1.1 "$port2" --bind 127.0.0.1
exec 5<>"/dev/tcp/127.0.0.1/$port2"
printf 'GET /index.html HTTP/1.1\r\n' >&5 # the request line; the headers are still to come
want='http.server.active_requests value=1 http.request.method=GET url.scheme=http'
for _ in $(seq 1 100); do grep -qx "$want" "$tmp/sink/summary" 2>/dev/null && break; sleep 0.2; done
grep -qx "$want" "$tmp/sink/summary" || { echo "FAIL: an open first request is not counted:"; cat "$tmp/sink/summary"; exit 1; }
echo "ok - an open first request starts the shim's thread and is counted in http.server.active_requests"
printf 'Host: a\r\nConnection: close\r\n\r\n' >&5
timeout 10 cat <&5 >/dev/null || true
exec 5<&-
preload_stop
echo "autoinstr_python_http: passed"
