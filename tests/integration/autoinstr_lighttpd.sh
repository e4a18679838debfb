#!/usr/bin/env bash
# autoinstr_lighttpd.sh — lighttpd from Debian (one event-driven process: accept4/read/writev/sendfile) under the
# preload shim: responses unchanged, exported metrics match what the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -x "$LIGHTTPD" ] || preload_skip "lighttpd is not installed"
preload_setup lighttpd
mkdir -p "$tmp/www"
printf 'hello from lighttpd\n' >"$tmp/www/index.html"
port=$(preload_free_port)
cat >"$tmp/lighttpd.conf" <<CONF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd-error.log"
server.modules = ()
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
CONF
preload_standard_test "$port" "" "$LIGHTTPD" -D -f "$tmp/lighttpd.conf"
echo "autoinstr_lighttpd: passed"
