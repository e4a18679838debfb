#!/usr/bin/python3
"""autoinstr_client.py — the traffic of the preload shim's integration tests, against one HTTP server.

Drives the server with curl and with a raw-socket client through the same exchanges every time:
  GET 200, GET 404, HEAD, POST with Content-Length, POST chunked, two GETs on one kept-alive connection (curl),
  two pipelined GETs in one write, an HTTP/1.0 GET, and an aborted request (a head cut short, then the client
  shuts its sending side down).
Every response is saved byte for byte under <out>/NN-name (Date headers normalised), so that a run with the
shim can be compared with a run without it. What the client saw is written to <out>/expected: the exact lines
the OTLP sink's summary must hold for the duration and body-size histograms (see autoinstr_otlp_sink.py).

Usage: autoinstr_client.py [--https] [--exact-request-bodies] [--no-keep-alive] <port> <out-dir>
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

args = sys.argv[1:]
https = "--https" in args
exact_req = "--exact-request-bodies" in args
keep_alive = "--no-keep-alive" not in args  # the server closes after every response (busybox httpd)
pipelining = keep_alive  # a server without keep-alive leaves a pipelined second request unanswered
args = [a for a in args if not a.startswith("--")]
port, out = int(args[0]), args[1]
os.makedirs(out, exist_ok=True)
scheme = "https" if https else "http"
base = "%s://127.0.0.1:%d" % (scheme, port)
seq = [0]
seen = []  # (method, status or None, version, error, resp_body, req_body_sent)


def save(name, data):
    seq[0] += 1
    data = re.sub(rb"(?im)^(date|expires): [^\r\n]*", rb"\1: <normalised>", data)
    with open(os.path.join(out, "%02d-%s" % (seq[0], name)), "wb") as f:
        f.write(data)


def curl(name, method, path, extra, req_body=0, count=1):
    """Runs curl with -i (head and body saved); returns nothing, records what it saw."""
    marker = "\n@@autoinstr %{http_code} %{size_download} %{num_connects}@@\n"
    fmt_path = os.path.join(out, "fmt")
    with open(fmt_path, "w") as f:
        f.write(marker)
    cmd = ["curl", "-s", "-k", "-i", "--max-time", "10", "-w", "@" + fmt_path] + extra
    cmd += [base + p for p in ([path] if isinstance(path, str) else path)]
    res = subprocess.run(cmd, capture_output=True, timeout=30)
    pat = rb"\n@@autoinstr (\d+) (\d+) (\d+)@@\n?"
    lines = [b"%s %s %s" % m for m in re.findall(pat, res.stdout)]
    save(name, re.sub(pat, b"", res.stdout))
    if len(lines) != count:
        sys.exit("curl %s: expected %d answers, got %r" % (name, count, res.stdout[-300:]))
    conns = 0
    for l in lines:
        code, size, nc = (int(x) for x in l.split())
        conns += nc
        seen.append((method, code, "1.1", None, 0 if method == "HEAD" else size, req_body))
    if count > 1 and conns != 1 and keep_alive:
        sys.exit("curl %s: %d connections for %d requests (keep-alive not reused)" % (name, conns, count))


def read_response(buf, sock, head_only):
    """Reads one response from buf+sock; returns (status, body_len, rest) or None at EOF before a status line."""
    def fill():
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        return chunk
    try:
        while b"\r\n\r\n" not in buf:
            buf += fill()
    except EOFError:
        return None
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, v = l.split(b":", 1)
        hdrs[k.strip().lower()] = v.strip()
    if head_only or status in (204, 304) or status < 200:
        return status, 0, buf
    if b"content-length" in hdrs:
        n = int(hdrs[b"content-length"])
        while len(buf) < n:
            buf += fill()
        return status, n, buf[n:]
    if hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
        total = 0
        while True:
            while b"\r\n" not in buf:
                buf += fill()
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n\r\n" not in b"\r\n" + buf:
                    buf += fill()
                buf = (b"\r\n" + buf).split(b"\r\n\r\n", 1)[1]
                return status, total, buf
            while len(buf) < size + 2:
                buf += fill()
            total += size
            buf = buf[size + 2:]
    try:  # close-delimited
        while True:
            buf += fill()
    except EOFError:
        pass
    return status, len(buf), b""


def raw(name, payload, requests, shut_write=False):
    """Sends payload in one write; reads until EOF; parses `requests` = [(method, version)] answers."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if https:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    s.sendall(payload)
    if shut_write:
        s.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        sys.exit("raw %s: no close from the server within 10 s" % name)
    except (ssl.SSLError, ConnectionResetError):
        pass  # a TLS peer that closes without close_notify
    s.close()
    save(name, data)
    rest = data

    class Replay:
        def __init__(self, b):
            self.b = b
        def recv(self, n):
            b, self.b = self.b, b""
            return b
    src = Replay(b"")
    for method, version, error in requests:
        r = read_response(rest, src, method == "HEAD") if rest else None
        if r is None:
            seen.append((method, None, version, error or "request_aborted", 0, 0))
            continue
        status, blen, rest = r
        seen.append((method, status, version, None, blen, 0))


if True:
    curl("get-200", "GET", "/index.html", [])
    curl("get-404", "GET", "/missing.html", [])
    curl("head", "HEAD", "/index.html", ["-I"])
    curl("post-length", "POST", "/index.html", ["--data-binary", "x" * 1000, "-H", "Content-Type: text/plain"], 1000)
    curl("post-chunked", "POST", "/index.html",
         ["--data-binary", "y" * 300, "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: text/plain"], 300)
    curl("keep-alive", "GET", ["/index.html", "/missing.html"], [], 0, 2)

if pipelining:
    raw("pipelined", b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\nGET /missing.html HTTP/1.1\r\nHost: t\r\n"
        b"Connection: close\r\n\r\n", [("GET", "1.1", None), ("GET", "1.1", None)])
if True:
    raw("http10", b"GET /index.html HTTP/1.0\r\n\r\n", [("GET", "1.0", None)])
    raw("aborted", b"GET /index.html HTTP/1.1\r\nHost: t\r\nX-Cut: sho", [("GET", "1.1", None)], shut_write=True)

# Expected sink lines: counts per attribute set; sums of body sizes.
groups = {}
for method, status, version, error, resp_body, req_body in seen:
    attrs = ["http.request.method=" + method]
    if status is not None:
        attrs.append("http.response.status_code=%d" % status)
    if error:
        attrs.append("error.type=" + error)
    elif status is not None and status >= 500:
        attrs.append("error.type=%d" % status)
    attrs += ["network.protocol.version=" + version, "url.scheme=" + scheme]
    key = " ".join(sorted(attrs))
    g = groups.setdefault(key, [0, 0, 0])
    g[0] += 1
    g[1] += resp_body
    g[2] += req_body
lines = []
for key, (n, resp, req) in groups.items():
    lines.append("http.server.request.duration count=%d %s" % (n, key))
    lines.append("http.server.response.body.size count=%d sum=%d %s" % (n, resp, key))
    if exact_req or req == 0:
        lines.append("http.server.request.body.size count=%d sum=%d %s" % (n, req, key))
    else:
        lines.append("http.server.request.body.size count=%d sum<=%d %s" % (n, req, key))
with open(os.path.join(out, "expected"), "w") as f:
    f.write("\n".join(sorted(lines)) + "\n")
