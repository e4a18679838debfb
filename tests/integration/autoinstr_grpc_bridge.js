// autoinstr_grpc_bridge.js — an OTLP/gRPC and gzip front for autoinstr_otlp_sink.py (which speaks OTLP/HTTP with
// plain protobuf bodies only), for the preload shim's export tests (autoinstr_grpc_export.sh).
//
// It listens on two 127.0.0.1 ports: h2c (HTTP/2 with prior knowledge, node's own nghttp2-based http2 module —
// an implementation independent of otelc's) for OTLP/gRPC, and HTTP/1.1 for OTLP/HTTP. Each export is checked
// (gRPC: the method path, content-type, te: trailers, 5-byte message prefix, grpc-encoding; HTTP: the path and
// content-encoding), decompressed, and posted to the sink; the answer is an empty ExportMetricsServiceResponse
// with grpc-status 0 (or HTTP 200). A malformed export is answered with an error and logged as "bad ...".
// Every export appends one line to <work>/exports:  "grpc gzip=1 bytes=1234" or "http gzip=0 bytes=1234".
//
// Usage: node autoinstr_grpc_bridge.js <sink-port-file> <work-dir>   (writes <work>/ports: "<grpc> <http>")
'use strict';
const fs = require('fs');
const http = require('http');
const http2 = require('http2');
const path = require('path');
const zlib = require('zlib');

const [sinkPortFile, work] = process.argv.slice(2);
const log = (line) => fs.appendFileSync(path.join(work, 'exports'), line + '\n');

// Posts a protobuf body to the sink (its port is read per export: the test may restart the sink).
function forward(body, done) {
  const port = Number(fs.readFileSync(sinkPortFile, 'utf8'));
  const req = http.request({host: '127.0.0.1', port, method: 'POST', path: '/v1/metrics',
                            headers: {'content-type': 'application/x-protobuf', 'content-length': body.length}},
                           (res) => { res.resume(); res.on('end', () => done(res.statusCode === 200)); });
  req.on('error', () => done(false));
  req.end(body);
}

const GRPC_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

const h2 = http2.createServer();
h2.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    const fail = (why, code) => {
      log('bad grpc ' + why);
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true});
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': String(code), 'grpc-message': why}));
      stream.end();
    };
    const data = Buffer.concat(chunks);
    if (headers[':method'] !== 'POST' || headers[':path'] !== GRPC_PATH) return fail('path ' + headers[':path'], 12);
    if (!String(headers['content-type']).startsWith('application/grpc')) return fail('content-type', 3);
    if (headers['te'] !== 'trailers') return fail('te', 3);
    if (data.length < 5 || data.readUInt32BE(1) !== data.length - 5) return fail('framing', 13);
    const compressed = data[0] === 1, encoding = headers['grpc-encoding'] || 'identity';
    if (compressed && encoding !== 'gzip') return fail('compressed flag with grpc-encoding ' + encoding, 13);
    let msg = data.subarray(5);
    try {
      if (compressed) msg = zlib.gunzipSync(msg);
    } catch (e) {
      return fail('gzip', 13);
    }
    forward(msg, (ok) => {
      if (!ok) return fail('sink', 14);
      log('grpc gzip=' + (compressed ? 1 : 0) + ' bytes=' + msg.length);
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true});
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}));
      stream.end(Buffer.alloc(5)); // an empty ExportMetricsServiceResponse
    });
  });
});

const h1 = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const fail = (why) => { log('bad http ' + why); res.writeHead(400); res.end(); };
    if (req.method !== 'POST' || req.url !== '/v1/metrics') return fail('path ' + req.url);
    const gz = req.headers['content-encoding'] === 'gzip';
    let body = Buffer.concat(chunks);
    try {
      if (gz) body = zlib.gunzipSync(body);
    } catch (e) {
      return fail('gzip');
    }
    forward(body, (ok) => {
      if (!ok) return fail('sink');
      log('http gzip=' + (gz ? 1 : 0) + ' bytes=' + body.length);
      res.writeHead(200, {'content-type': 'application/x-protobuf', 'content-length': 0});
      res.end();
    });
  });
});

h2.listen(0, '127.0.0.1', () => h1.listen(0, '127.0.0.1', () => {
  const tmp = path.join(work, 'ports.tmp');
  fs.writeFileSync(tmp, h2.address().port + ' ' + h1.address().port + '\n');
  fs.renameSync(tmp, path.join(work, 'ports'));
}));
process.on('SIGTERM', () => process.exit(0));
