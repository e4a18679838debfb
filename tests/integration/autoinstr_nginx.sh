#!/usr/bin/env bash
# autoinstr_nginx.sh — nginx from Debian (a master and two workers: pre-fork, accept4/recv/writev/sendfile)
# under the preload shim, over plain HTTP and over TLS (measured through SSL_read/SSL_write, url.scheme=https):
# responses unchanged, and the metrics the workers export match what the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || preload_skip "nginx is not installed"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
preload_setup nginx
port=$(preload_free_port)
tls_port=$(preload_free_port)
preload_nginx_conf 2 "127.0.0.1:$port" "127.0.0.1:$tls_port ssl" "keepalive_timeout 30;"
printf 'hello from nginx\n' >"$tmp/www/index.html"
cmd=("$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log")

# Plain HTTP, then TLS, each compared with a run without the shim.
preload_start "$port" "${cmd[@]}"
preload_drive "$tmp/plain" "$port"
preload_drive "$tmp/plain-tls" "$tls_port" --https
preload_stop QUIT
preload_start_shim "$port" "${cmd[@]}"
preload_drive "$tmp/shim" "$port"
preload_drive "$tmp/shim-tls" "$tls_port" --https
preload_compare
for f in "$tmp/plain-tls"/[0-9]*; do
  cmp -s "$f" "$tmp/shim-tls/$(basename "$f")" || { echo "FAIL: TLS response $(basename "$f") differs"; exit 1; }
done
echo "ok - TLS responses byte-identical with and without the shim"
cat "$tmp/shim-tls/expected" >>"$tmp/shim/expected"
preload_expect_metrics "$port" "$tls_port"
grep -q '^instances [1-9]' "$tmp/sink/summary"
grep -q '^service.name preload-nginx' "$tmp/sink/summary" || { echo "FAIL: service.name"; exit 1; }
preload_stop QUIT
echo "autoinstr_nginx: passed"
