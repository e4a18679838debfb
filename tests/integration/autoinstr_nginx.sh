#!/usr/bin/env bash
# autoinstr_nginx.sh — nginx from Debian (a master and two workers: pre-fork, accept4/recv/writev/sendfile)
# under the preload shim, over plain HTTP and over TLS (measured through SSL_read/SSL_write, url.scheme=https):
# responses unchanged, and the metrics the workers export match what the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || preload_skip "nginx is not installed"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
preload_setup nginx
mkdir -p "$tmp/www" "$tmp/logs" "$tmp/temp"
printf 'hello from nginx\n' >"$tmp/www/index.html"
port=$(preload_free_port)
tls_port=$(preload_free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
  -subj "/CN=127.0.0.1" >/dev/null 2>&1
cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
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
  keepalive_timeout 30;
  server {
    listen 127.0.0.1:$port;
    listen 127.0.0.1:$tls_port ssl;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    root $tmp/www;
  }
}
CONF
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
