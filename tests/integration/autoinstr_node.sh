#!/usr/bin/env bash
# autoinstr_node.sh — a node `http` server (libuv: accept4/read/writev) under the preload shim, with
# OTELC_HTTP_ROUTES: responses unchanged, exported metrics (routes, request bodies read in full, chunked
# responses) match what the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
command -v node >/dev/null || preload_skip "node is not installed"
preload_setup node
port=$(preload_free_port)
cat >"$tmp/server.js" <<'JS'
const http = require('http');
const port = Number(process.argv[2]);
http.createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    if (req.method === 'POST') {                 // the whole body read, then a chunked answer
      res.writeHead(200, {'Content-Type': 'text/plain'});
      res.write('got ');
      res.end(String(n) + ' bytes\n');
    } else if (req.url === '/index.html') {
      const body = 'hello from node\n';
      res.writeHead(200, {'Content-Type': 'text/html', 'Content-Length': body.length});
      res.end(req.method === 'HEAD' ? undefined : body);
    } else {
      res.writeHead(404, {'Content-Type': 'text/plain', 'Content-Length': 10});
      res.end('not found\n');
    }
  });
}).listen(port, '127.0.0.1');
JS
shim_env+=(OTELC_HTTP_ROUTES="/index.html,/users/{id}")
preload_start "$port" node "$tmp/server.js" "$port"
preload_drive "$tmp/plain" "$port" --exact-request-bodies
preload_stop
preload_start_shim "$port" node "$tmp/server.js" "$port"
preload_drive "$tmp/shim" "$port" --exact-request-bodies
preload_compare
# Requests for /index.html carry http.route; /missing.html matches no template and has none.
$PY - "$tmp/shim/expected" <<'PY'
import sys
p = sys.argv[1]
out = []
for l in open(p).read().splitlines():
    parts = l.split()
    # every exchange of the client went to /index.html except the 404s (/missing.html)
    if "http.response.status_code=404" not in parts:
        parts.append("http.route=/index.html")
    head = [x for x in parts if not ("=" in x and x.split("=")[0] not in ("count", "sum") and "." in x.split("=")[0])]
    attrs = sorted(x for x in parts if x not in head)
    out.append(" ".join(head + attrs))
open(p, "w").write("\n".join(out) + "\n")
PY
preload_expect_metrics "$port"
preload_stop
echo "autoinstr_node: passed"
