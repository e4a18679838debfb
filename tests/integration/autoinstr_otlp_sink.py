#!/usr/bin/python3
"""autoinstr_otlp_sink.py — a tiny OTLP/HTTP metrics receiver for the preload shim's integration tests.

It decodes ExportMetricsServiceRequest bodies with Python classes that protoc generates from the repository's
proto/ (Debian's python3-protobuf runs them), keeps the latest cumulative point of every series per process
(service.instance.id), and rewrites a summary file after every request: one line per series of the HTTP
server metrics, summed over processes, attributes sorted, server.port left out (it is listed apart):

  http.server.request.duration count=3 http.request.method=GET http.response.status_code=200 ...
  http.server.request.body.size count=3 sum=0 http.request.method=GET ...
  http.server.active_requests value=0 http.request.method=GET url.scheme=http
  ports 8080
  instances 2
  service.name nginx

Beside it, <work-dir>/durations holds the duration histograms' sums in seconds, one line per series in the same
order and form ("http.server.request.duration count=3 sum=0.061234 ..."), for the tests that check the clock.

Usage: autoinstr_otlp_sink.py <proto-dir> <work-dir>   (writes <work-dir>/port once listening, then
<work-dir>/summary and <work-dir>/durations after each request). Stops on SIGTERM.
"""
import http.server
import os
import subprocess
import sys
import threading

proto_dir, work = sys.argv[1], sys.argv[2]
gen = os.path.join(work, "py")
os.makedirs(gen, exist_ok=True)
protos = []
for root, _, files in os.walk(os.path.join(proto_dir, "opentelemetry")):
    protos += [os.path.join(root, f) for f in files if f.endswith(".proto")]
subprocess.run(["protoc", "-I", proto_dir, "--python_out", gen] + protos, check=True)
sys.path.insert(0, gen)
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: E402

HTTP_METRICS = ("http.server.request.duration", "http.server.request.body.size",
                "http.server.response.body.size", "http.server.active_requests", "rpc.server.call.duration")

lock = threading.Lock()
latest = {}     # (instance, metric, attrs) -> dict
ports = set()
names = set()


def value_of(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def attrs_of(kvs):
    return {kv.key: value_of(kv.value) for kv in kvs}


def absorb(req):
    for rm in req.resource_metrics:
        res = attrs_of(rm.resource.attributes)
        inst = str(res.get("service.instance.id", "")) + "/" + str(res.get("process.pid", ""))
        names.add(str(res.get("service.name", "")))
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name not in HTTP_METRICS:
                    continue
                kind = m.WhichOneof("data")
                points = getattr(m, kind).data_points
                for p in points:
                    a = attrs_of(p.attributes)
                    if "server.port" in a:
                        ports.add(a.pop("server.port"))
                    key = (inst, m.name, tuple(sorted((k, str(v)) for k, v in a.items())))
                    if kind == "histogram":
                        latest[key] = {"count": p.count, "sum": p.sum}
                    else:
                        latest[key] = {"value": p.as_int if p.WhichOneof("value") == "as_int" else p.as_double}


def summary():
    total = {}
    for (inst, metric, attrs), v in latest.items():
        t = total.setdefault((metric, attrs), {})
        for k, x in v.items():
            t[k] = t.get(k, 0) + x
    lines = []
    durations = []
    for (metric, attrs), v in total.items():
        if metric in ("http.server.request.duration", "rpc.server.call.duration"):
            head = "count=%d" % v["count"]
            durations.append(" ".join([metric, "count=%d sum=%.6f" % (v["count"], v["sum"])] +
                                      ["%s=%s" % kv for kv in attrs]))
        elif metric == "http.server.active_requests":
            head = "value=%d" % v["value"]
        else:
            head = "count=%d sum=%d" % (v["count"], v["sum"])
        lines.append(" ".join([metric, head] + ["%s=%s" % kv for kv in attrs]))
    lines.sort()
    lines.append("ports " + " ".join(str(p) for p in sorted(ports)))
    lines.append("instances %d" % len({k[0] for k in latest}))
    lines.append("service.name " + " ".join(sorted(names)))
    durations.sort()
    return "\n".join(lines) + "\n", "\n".join(durations) + "\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        req = metrics_service_pb2.ExportMetricsServiceRequest()
        req.ParseFromString(body)
        with lock:
            absorb(req)
            # durations first: a test that has waited for the summary then finds durations as new
            for name, text in zip(("durations", "summary"), reversed(summary())):
                tmp = os.path.join(work, name + ".tmp")
                with open(tmp, "w") as f:
                    f.write(text)
                os.replace(tmp, os.path.join(work, name))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(work, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(work, "port.tmp"), os.path.join(work, "port"))
srv.serve_forever()
