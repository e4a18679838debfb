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
echo "autoinstr_python_http: passed"
