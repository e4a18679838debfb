#!/usr/bin/env bash
# autoinstr_busybox.sh — busybox httpd (forks a child per connection, which moves the socket to fds 0 and 1 with
# dup2 and exits when done) under the preload shim: responses unchanged, and every child's final export holds
# the exchanges it served.
source "$(dirname "$0")/autoinstr_lib.bash"
BUSYBOX=$(command -v busybox || echo /bin/busybox)
[ -x "$BUSYBOX" ] || preload_skip "busybox is not installed"
preload_setup busybox
mkdir -p "$tmp/www"
printf 'hello from busybox\n' >"$tmp/www/index.html"
port=$(preload_free_port)
preload_standard_test "$port" "--no-keep-alive" "$BUSYBOX" httpd -f -p "127.0.0.1:$port" -h "$tmp/www"
echo "autoinstr_busybox: passed"
