#!/usr/bin/env bash
# autoinstr_h2.sh — HTTP/2 servers under the preload shim (autoinstr/sniffer_h2.c): measured with
# network.protocol.version=2, responses unchanged.
#   1. a node `http2` server (h2c with prior knowledge; node's nghttp2 writes its SETTINGS before reading the
#      client's preface), driven by a node HTTP/2 client on one multiplexed connection: GET 200/404, HEAD, POST
#      with a body, gRPC calls (trailers with grpc-status OK and UNAVAILABLE, and a trailers-only UNIMPLEMENTED),
#      a request whose body never ends when the client drops the connection (error.type=request_aborted); and by
#      curl --http2-prior-knowledge (one connection per request). Routes from OTELC_HTTP_ROUTES come from :path.
#      The gRPC calls must also be in rpc.server.call.duration, exactly: counts per rpc.method (the method's name
#      once the server answered it with anything but UNIMPLEMENTED, else _OTHER), rpc.response.status_code and
#      error.type.
#   2. nginx (http2 on a plain port and on a TLS port: the plaintext through the SSL_read/SSL_write hooks,
#      url.scheme=https), driven by curl.
# Each server runs twice on the same port, plain and under the shim; the client's transcripts must be equal
# and the sink must hold exactly the exchanges the client saw.
source "$(dirname "$0")/autoinstr_lib.bash"
command -v node >/dev/null || preload_skip "node is not installed"
preload_setup h2
port=$(preload_free_port)

# ---- 1. node ----
cat >"$tmp/server.js" <<'JS'
const http2 = require('http2');
const port = Number(process.argv[2]);
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const path = headers[':path'], method = headers[':method'];
  let n = 0;
  stream.on('data', (c) => { n += c.length; });
  stream.on('error', () => {});
  stream.on('end', () => {
    if (stream.destroyed || stream.closed) return; // the client went away mid-request
    if (String(headers['content-type']).startsWith('application/grpc')) {
      if (path.endsWith('/Fail')) {                 // trailers-only: grpc-status in the only HEADERS
        stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12'}, {endStream: true});
        return;
      }
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true});
      const code = path.endsWith('/Busy') ? '14' : '0';
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': code}));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]));
    } else if (method === 'POST') {
      stream.respond({':status': 200, 'content-type': 'text/plain'});
      stream.end('got ' + n + ' bytes\n');
    } else if (path.startsWith('/users/')) {
      stream.respond({':status': 200, 'content-type': 'text/plain'});
      stream.end(method === 'HEAD' ? undefined : 'hello from node h2\n');
    } else {
      stream.respond({':status': 404, 'content-type': 'text/plain'});
      stream.end('not found\n');
    }
  });
});
server.listen(port, '127.0.0.1');
JS
cat >"$tmp/client.js" <<'JS'
// One connection, every request in flight at once; writes a transcript and the expected sink lines.
const http2 = require('http2');
const fs = require('fs');
const [port, out] = [Number(process.argv[2]), process.argv[3]];
fs.mkdirSync(out, {recursive: true});
const session = http2.connect('http://127.0.0.1:' + port);
const seen = [], transcript = [];
function call(name, headers, body, route) {
  return new Promise((resolve) => {
    const req = session.request(headers, {endStream: body === undefined});
    let status = 0, grpc = '', size = 0;
    req.on('response', (h) => { status = h[':status']; if (h['grpc-status']) grpc = h['grpc-status']; });
    req.on('trailers', (h) => { if (h['grpc-status']) grpc = h['grpc-status']; });
    req.on('data', (c) => { size += c.length; });
    req.on('end', () => {
      transcript.push(name + ' ' + status + ' ' + size + (grpc ? ' grpc-status=' + grpc : ''));
      seen.push({method: headers[':method'] || 'GET', status, route, resp: size, req: body ? body.length : 0,
                 path: headers[':path'], grpc});
      resolve();
    });
    req.on('error', () => resolve());
    if (body !== undefined) req.end(body);
  });
}
// A POST whose body never ends: the client drops the connection once the server has read part of it.
function abandoned() {
  return new Promise((resolve) => {
    const req = session.request({':method': 'POST', ':path': '/users/9'});
    req.on('error', () => {});
    req.write('partial');
    setTimeout(() => { session.destroy(); transcript.push('abandoned'); resolve(); }, 300);
  });
}
const grpcHeaders = (p) => ({':method': 'POST', ':path': p, 'content-type': 'application/grpc', 'te': 'trailers'});
(async () => {
  await Promise.all([
    call('get1', {':path': '/users/1'}, undefined, '/users/{id}'),
    call('get2', {':path': '/users/2?q=1'}, undefined, '/users/{id}'),
    call('missing', {':path': '/missing'}, undefined, null),
    call('head', {':method': 'HEAD', ':path': '/users/1'}, undefined, '/users/{id}'),
    call('post', {':method': 'POST', ':path': '/users/3'}, Buffer.alloc(1000, 0x61), '/users/{id}'),
    call('grpc-ok', grpcHeaders('/pkg.Greeter/SayHello'), Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x61]), null),
    call('grpc-ok2', grpcHeaders('/pkg.Greeter/SayHello'), Buffer.from([0, 0, 0, 0, 0]), null),
    call('grpc-busy', grpcHeaders('/pkg.Greeter/Busy'), Buffer.from([0, 0, 0, 0, 0]), null),
    call('grpc-fail', grpcHeaders('/pkg.Greeter/Fail'), Buffer.from([0, 0, 0, 0, 0]), null),
  ]);
  await abandoned();
  fs.writeFileSync(out + '/transcript', transcript.sort().join('\n') + '\n');
  const groups = {};
  for (const s of seen) {
    const a = ['http.request.method=' + s.method, 'http.response.status_code=' + s.status,
               'network.protocol.version=2', 'url.scheme=http'];
    if (s.route) a.push('http.route=' + s.route);
    const key = a.sort().join(' ');
    const g = groups[key] || (groups[key] = [0, 0, 0]);
    g[0]++; g[1] += s.resp; g[2] += s.req;
  }
  const aborted = 'error.type=request_aborted http.request.method=POST http.route=/users/{id} ' +
                  'network.protocol.version=2 url.scheme=http';
  groups[aborted] = [1, 0, 7];
  const lines = [];
  for (const [k, [n, resp, req]] of Object.entries(groups)) {
    lines.push('http.server.request.duration count=' + n + ' ' + k);
    lines.push('http.server.response.body.size count=' + n + ' sum=' + resp + ' ' + k);
    lines.push('http.server.request.body.size count=' + n + ' sum=' + req + ' ' + k);
  }
  fs.writeFileSync(out + '/expected', lines.sort().join('\n') + '\n');
  // rpc.server.call.duration per the RPC conventions (autoinstr/metrics_rpc.h): the method's name unless the
  // server answered UNIMPLEMENTED (12), the status code's name, error.type for the codes that are server errors
  const names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
                 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
                 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
  const rpc = {};
  for (const s of seen) {
    if (!s.grpc) continue;
    const code = Number(s.grpc), name = names[code];
    const a = ['rpc.system.name=grpc', 'rpc.method=' + (code === 12 ? '_OTHER' : s.path.slice(1)),
               'rpc.response.status_code=' + name];
    if ([2, 4, 12, 13, 14, 15].includes(code)) a.push('error.type=' + name);
    const key = a.sort().join(' ');
    rpc[key] = (rpc[key] || 0) + 1;
  }
  const rpcLines = Object.entries(rpc).map(([k, n]) => 'rpc.server.call.duration count=' + n + ' ' + k);
  fs.writeFileSync(out + '/expected-rpc', rpcLines.sort().join('\n') + '\n');
})();
JS
# curl (its own nghttp2): two requests, one connection each (curl 7.88 fails to reuse an h2c connection
# with node: "Error in the HTTP2 framing layer", shim or not). One line per request into <dir>/curl.
curl_h2() {
  local dir=$1 scheme=$2 url=$3 path; shift 3
  : >"$dir/curl"
  for path in /users/5 /nope; do
    curl -sS "$@" -o /dev/null -w '%{http_version} %{http_code} %{size_download}\n' "$url$path" >>"$dir/curl" \
      || { echo "FAIL: curl $url$path ($scheme)"; exit 1; }
  done
}
shim_env+=(OTELC_HTTP_ROUTES="/users/{id}")
preload_start "$port" node "$tmp/server.js" "$port"
node "$tmp/client.js" "$port" "$tmp/plain"
curl_h2 "$tmp/plain" http "http://127.0.0.1:$port" --http2-prior-knowledge
preload_stop
preload_start_shim "$port" node "$tmp/server.js" "$port"
node "$tmp/client.js" "$port" "$tmp/shim"
curl_h2 "$tmp/shim" http "http://127.0.0.1:$port" --http2-prior-knowledge
cmp "$tmp/plain/transcript" "$tmp/shim/transcript" && cmp "$tmp/plain/curl" "$tmp/shim/curl" \
  || { echo "FAIL: the node h2 exchanges differ under the shim"; cat "$tmp/plain/transcript" "$tmp/shim/transcript"; exit 1; }
[ "$(awk '{print $1}' "$tmp/shim/curl" | sort -u)" = 2 ] || { echo "FAIL: curl did not use HTTP/2"; exit 1; }
echo "ok - node h2c: client transcripts identical with and without the shim ($(wc -l <"$tmp/shim/transcript") + 2 exchanges)"
# curl's two exchanges: GET /users/5 (route) and GET /nope
read -r _ c1 s1 <<<"$(sed -n 1p "$tmp/shim/curl")"
read -r _ c2 s2 <<<"$(sed -n 2p "$tmp/shim/curl")"
$PY - "$tmp/shim/expected" "$c1" "$s1" "$c2" "$s2" <<'PY'
import sys
path, c1, s1, c2, s2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
lines = open(path).read().splitlines()
def add(status, size, route):
    key = " ".join(sorted(["http.request.method=GET", "http.response.status_code=" + status,
                           "network.protocol.version=2", "url.scheme=http"] + (["http.route=" + route] if route else [])))
    for metric, val in (("http.server.request.duration", None), ("http.server.response.body.size", size),
                        ("http.server.request.body.size", 0)):
        for i, l in enumerate(lines):
            p = l.split()
            if p[0] == metric and " ".join(x for x in p[1:] if not x.startswith(("count=", "sum="))) == key:
                n = int(p[1].split("=")[1]) + 1
                parts = [metric, "count=%d" % n]
                if val is not None: parts.append("sum=%d" % (int(p[2].split("=")[1]) + val))
                lines[i] = " ".join(parts + [key]); break
        else:
            lines.append(" ".join([metric, "count=1"] + ([] if val is None else ["sum=%d" % val]) + [key]))
add(c1, s1, "/users/{id}")
add(c2, s2, None)
open(path, "w").write("\n".join(sorted(lines)) + "\n")
PY
preload_expect_metrics "$port"
# the gRPC calls, as RPC metrics: exactly the expected series (the sink leaves server.port out of the lines)
rpc_ok=0
for _ in $(seq 1 50); do
  grep '^rpc\.server\.call\.duration ' "$tmp/sink/summary" | sort >"$tmp/shim/got-rpc" || true
  if cmp -s "$tmp/shim/expected-rpc" "$tmp/shim/got-rpc"; then rpc_ok=1; break; fi
  sleep 0.2
done
if [ $rpc_ok != 1 ]; then
  echo "FAIL: rpc.server.call.duration series differ:"; diff "$tmp/shim/expected-rpc" "$tmp/shim/got-rpc"; exit 1
fi
grep -q '^ports .*\b'"$port"'\b' "$tmp/sink/summary" || { echo "FAIL: server.port $port not reported"; exit 1; }
echo "ok - gRPC calls exported as rpc.server.call.duration: $(tr '\n' ';' <"$tmp/shim/expected-rpc")"
preload_stop

# ---- 2. nginx: h2c and h2 over TLS ----
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ] || ! "$NGINX" -V 2>&1 | grep -q http_v2_module; then
  echo "skip - nginx with http_v2 is not installed"
  echo "autoinstr_h2: passed"; exit 0
fi
tls_port=$(preload_free_port)
preload_nginx_conf 1 "127.0.0.1:$port http2" "127.0.0.1:$tls_port ssl http2"
mkdir -p "$tmp/www/users"
printf 'hello from nginx\n' >"$tmp/www/users/5"
cmd=("$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log")
mkdir -p "$tmp/nplain" "$tmp/nshim"
preload_start "$port" "${cmd[@]}"
curl_h2 "$tmp/nplain" http "http://127.0.0.1:$port" --http2-prior-knowledge
mv "$tmp/nplain/curl" "$tmp/nplain/curl-h2c"
curl_h2 "$tmp/nplain" https "https://127.0.0.1:$tls_port" --http2 -k
preload_stop QUIT
preload_start_shim "$port" "${cmd[@]}"
curl_h2 "$tmp/nshim" http "http://127.0.0.1:$port" --http2-prior-knowledge
mv "$tmp/nshim/curl" "$tmp/nshim/curl-h2c"
curl_h2 "$tmp/nshim" https "https://127.0.0.1:$tls_port" --http2 -k
for f in curl-h2c curl; do
  cmp "$tmp/nplain/$f" "$tmp/nshim/$f" || { echo "FAIL: nginx $f differs under the shim"; exit 1; }
done
[ "$(cat "$tmp/nshim/curl-h2c" "$tmp/nshim/curl" | awk '{print $1}' | sort -u)" = 2 ] \
  || { echo "FAIL: curl did not use HTTP/2 with nginx"; exit 1; }
echo "ok - nginx h2c and h2 over TLS: responses identical with and without the shim"
$PY - "$tmp/shim/expected" "$tmp/nshim/curl-h2c" "$tmp/nshim/curl" <<'PY'
import sys
path = sys.argv[1]
lines = open(path).read().splitlines()
def add(status, size, route, scheme):
    key = " ".join(sorted(["http.request.method=GET", "http.response.status_code=" + status,
                           "network.protocol.version=2", "url.scheme=" + scheme] + (["http.route=" + route] if route else [])))
    for metric, val in (("http.server.request.duration", None), ("http.server.response.body.size", size),
                        ("http.server.request.body.size", 0)):
        for i, l in enumerate(lines):
            p = l.split()
            if p[0] == metric and " ".join(x for x in p[1:] if not x.startswith(("count=", "sum="))) == key:
                parts = [metric, "count=%d" % (int(p[1].split("=")[1]) + 1)]
                if val is not None: parts.append("sum=%d" % (int(p[2].split("=")[1]) + val))
                lines[i] = " ".join(parts + [key]); break
        else:
            lines.append(" ".join([metric, "count=1"] + ([] if val is None else ["sum=%d" % val]) + [key]))
for f, scheme in ((sys.argv[2], "http"), (sys.argv[3], "https")):
    rows = [l.split() for l in open(f).read().splitlines()]
    add(rows[0][1], int(rows[0][2]), "/users/{id}", scheme)
    add(rows[1][1], int(rows[1][2]), None, scheme)
open(path, "w").write("\n".join(sorted(lines)) + "\n")
PY
preload_expect_metrics "$port" "$tls_port"
preload_stop QUIT
echo "autoinstr_h2: passed"
