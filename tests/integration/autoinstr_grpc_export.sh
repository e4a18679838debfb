#!/usr/bin/env bash
# autoinstr_grpc_export.sh — the preload shim's exports over OTLP/gRPC and with gzip, and its linkage.
#
# `python3 -m http.server` runs under the shim, exporting to autoinstr_grpc_bridge.js (node's own HTTP/2 server:
# an implementation independent of otelc's), which checks every export and hands it, decompressed, to the usual
# sink (autoinstr_otlp_sink.py): OTLP/gRPC (OTEL_EXPORTER_OTLP_PROTOCOL and the _METRICS_ form), OTLP/gRPC with
# gzip, OTLP/HTTP with gzip. Each time the responses must be byte-identical to a plain run and the metrics exact.
# TLS stays out of the shim: a grpc endpoint without a scheme (TLS by default) or an https:// one disables it
# with one line, and the host runs on untouched. The shim carries nghttp2 and zlib inside, hidden: readelf shows
# libc and libm only, nothing but the interposers is exported, and a host that links libnghttp2 and libz itself
# (a small C program, and curl over HTTP/2) still uses its own and works unchanged.
source "$(dirname "$0")/autoinstr_lib.bash"
command -v node >/dev/null || preload_skip "node is not installed"
preload_setup grpc_export

# ---- linkage ----
needed=$(readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev '^lib(asan|ubsan)\.so' | sort | tr '\n' ' ')
[ "$needed" = "libc.so.6 libm.so.6 " ] || { echo "FAIL: the shim needs more than libc and libm: $needed"; exit 1; }
exported=$(readelf --dyn-syms -W "$shim" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' | sed 's/@.*//' | sort -u)
allowed=$(sed -n '/global:/,/local:/p' "$src/autoinstr/otelc-preload.map" | tr ' ;' '\n\n' | grep -E '^[A-Za-z_]' \
          | grep -v -e global: -e local: | sort -u)
extra=$(comm -23 <(echo "$exported") <(echo "$allowed") | grep -v '^$' || true)
[ -z "$extra" ] || { echo "FAIL: the shim exports more than its interposers:"; echo "$extra" | head; exit 1; }
if readelf --dyn-syms -W "$shim" | awk '{print $8}' | grep -Eq '^(nghttp2_|inflate|deflate|zlib|gz|ares_)'; then
  echo "FAIL: the shim's dynamic symbols name nghttp2, zlib or c-ares"; exit 1
fi
echo "ok - the shim needs libc and libm only and exports only its interposers ($(echo "$exported" | wc -l) symbols)"

# ---- the bridge, and a sink that can be restarted between cases ----
mkdir -p "$tmp/bridge"
node "$here/autoinstr_grpc_bridge.js" "$tmp/sink/port" "$tmp/bridge" >"$tmp/bridge.log" 2>&1 &
bridge_pid=$!
trap 'kill -TERM $bridge_pid 2>/dev/null || true; preload_cleanup' EXIT
for _ in $(seq 1 100); do [ -s "$tmp/bridge/ports" ] && break; sleep 0.1; done
[ -s "$tmp/bridge/ports" ] || { echo "the gRPC bridge did not start:"; cat "$tmp/bridge.log"; exit 1; }
read -r grpc_port http_port <"$tmp/bridge/ports"

sink_restart() {
  kill -TERM "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true
  rm -rf "$tmp/sink" && mkdir -p "$tmp/sink"
  $PY "$here/autoinstr_otlp_sink.py" "$src/proto" "$tmp/sink" >"$tmp/sink.log" 2>&1 &
  sink_pid=$!
  for _ in $(seq 1 100); do [ -s "$tmp/sink/port" ] && break; sleep 0.1; done
  [ -s "$tmp/sink/port" ] || { echo "the OTLP sink did not restart:"; cat "$tmp/sink.log"; exit 1; }
}

mkdir -p "$tmp/www"
printf 'hello from python\n' >"$tmp/www/index.html"
port=$(preload_free_port)
server=(/usr/bin/python3 -m http.server -p HTTP/1.1 "$port" --bind 127.0.0.1)
base_env=("${shim_env[@]}")
cd "$tmp/www"
preload_start "$port" "${server[@]}"
preload_drive "$tmp/plain" "$port"
preload_stop

# export_case <name> <bridge line expected> <env...>: a shim run exporting as the settings say.
export_case() {
  local name=$1 want=$2; shift 2
  sink_restart
  : >"$tmp/bridge/exports"
  rm -rf "$tmp/shim"
  shim_env=("${base_env[@]}" "$@")
  preload_start_shim "$port" "${server[@]}"
  preload_drive "$tmp/shim" "$port"
  preload_compare
  preload_expect_metrics "$port"
  preload_stop
  if grep -q '^bad' "$tmp/bridge/exports"; then
    echo "FAIL: $name: the bridge refused an export:"; grep '^bad' "$tmp/bridge/exports" | head -3; exit 1
  fi
  if grep -v "^$want " "$tmp/bridge/exports" | grep -q .; then
    echo "FAIL: $name: every export should be '$want':"; head -3 "$tmp/bridge/exports"; exit 1
  fi
  if grep -q 'otelc-preload' "$tmp/server.log"; then
    echo "FAIL: $name: the shim complained:"; grep otelc-preload "$tmp/server.log" | head -3; exit 1
  fi
  echo "ok - $name: $(wc -l <"$tmp/bridge/exports") exports, each '$want'"
}

export_case "OTLP/gRPC" "grpc gzip=0" \
  OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$grpc_port"
export_case "OTLP/gRPC with gzip (_METRICS_ settings)" "grpc gzip=1" \
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="http://127.0.0.1:$grpc_port" \
  OTEL_EXPORTER_OTLP_COMPRESSION=gzip
export_case "OTLP/HTTP with gzip" "http gzip=1" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$http_port" OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=gzip

# ---- TLS: one line, the host untouched ----
# refused_case <name> <env...>
refused_case() {
  local name=$1; shift
  : >"$tmp/bridge/exports"
  rm -rf "$tmp/shim"
  shim_env=("${base_env[@]}" "$@")
  preload_start_shim "$port" "${server[@]}"
  preload_drive "$tmp/shim" "$port"
  preload_compare
  for _ in $(seq 1 50); do grep -q 'otelc-preload: disabled' "$tmp/server.log" && break; sleep 0.1; done
  preload_stop
  local lines
  lines=$(grep -c 'otelc-preload' "$tmp/server.log" || true)
  if [ "$lines" != 1 ] || ! grep -q 'otelc-preload: disabled: .*TLS is not supported' "$tmp/server.log"; then
    echo "FAIL: $name: want one 'otelc-preload: disabled: ... TLS' line, got:"; grep otelc-preload "$tmp/server.log"
    exit 1
  fi
  [ ! -s "$tmp/bridge/exports" ] || { echo "FAIL: $name: something was exported"; exit 1; }
  echo "ok - $name: $(grep otelc-preload "$tmp/server.log")"
}
refused_case "gRPC endpoint without a scheme (TLS by default)" \
  OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:$grpc_port"
refused_case "https:// endpoint" OTEL_EXPORTER_OTLP_ENDPOINT="https://127.0.0.1:$http_port"

# ---- a host with its own libnghttp2 and libz ----
shim_run() { env LD_PRELOAD="$preload_list" "$@"; }
if command -v gcc >/dev/null && [ -f /usr/include/nghttp2/nghttp2.h ] && [ -f /usr/include/zlib.h ]; then
  cat >"$tmp/host.c" <<'C'
/* A host program of its own linked with libnghttp2 and libz: which library answers, and do they work? */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static const char *lib_of(void *fn) {
  Dl_info info;
  if (!dladdr(fn, &info) || !info.dli_fname) return "?";
  const char *slash = strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

int main(void) {
  char in[4096], z[8192], out[4096];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (char)("otelc"[i % 5] + i / 512);
  uLongf zn = sizeof z, on = sizeof out;
  if (compress2((Bytef *)z, &zn, (const Bytef *)in, sizeof in, 9) != Z_OK) return 1;
  if (uncompress((Bytef *)out, &on, (const Bytef *)z, zn) != Z_OK || on != sizeof in || memcmp(in, out, on)) return 2;
  nghttp2_hd_deflater *d;
  nghttp2_hd_inflater *f;
  if (nghttp2_hd_deflate_new(&d, 4096) || nghttp2_hd_inflate_new(&f)) return 3;
  nghttp2_nv nv = {(uint8_t *)":path", (uint8_t *)"/hello", 5, 6, NGHTTP2_NV_FLAG_NONE};
  uint8_t block[256];
  ssize_t bn = nghttp2_hd_deflate_hd(d, block, sizeof block, &nv, 1);
  if (bn <= 0) return 4;
  nghttp2_nv got;
  int flags = 0;
  ssize_t used = nghttp2_hd_inflate_hd2(f, &got, &flags, block, (size_t)bn, 1);
  if (used < 0 || !(flags & NGHTTP2_HD_INFLATE_EMIT) || got.valuelen != 6 || memcmp(got.value, "/hello", 6)) return 5;
  nghttp2_hd_inflate_del(f);
  nghttp2_hd_deflate_del(d);
  printf("zlib %s from %s, deflate %lu -> %lu bytes\n", zlibVersion(), lib_of((void *)compress2), (unsigned long)on,
         (unsigned long)zn);
  printf("nghttp2 %s from %s, hpack ok\n", nghttp2_version(0)->version_str, lib_of((void *)nghttp2_hd_inflate_new));
  return 0;
}
C
  gcc -O1 -o "$tmp/host" "$tmp/host.c" -lnghttp2 -lz -ldl
  plain=$("$tmp/host") || { echo "FAIL: the host program fails on its own"; exit 1; }
  under=$(shim_run "$tmp/host") || { echo "FAIL: the host program fails under the shim"; exit 1; }
  [ "$plain" = "$under" ] || { echo "FAIL: the host program differs under the shim:"; echo "$plain"; echo "$under"; exit 1; }
  echo "$under" | grep -q 'from libz.so' && echo "$under" | grep -q 'from libnghttp2.so' \
    || { echo "FAIL: the host does not get its own libraries: $under"; exit 1; }
  echo "ok - a host linking libnghttp2 and libz itself uses its own under the shim: $(echo "$under" | tr '\n' ';')"
else
  echo "skip - no gcc or nghttp2/zlib headers: the host-program check"
fi
# (curl hangs with the ASan runtime preloaded, shim or not: that check needs a build without sanitizers)
if [ "$preload_list" != "$shim" ]; then
  echo "skip - curl over HTTP/2 under the shim: a sanitizer build of the shim (curl hangs with libasan preloaded)"
elif curl -V | grep -q HTTP2; then
  : >"$tmp/bridge/exports"
  plain=$(curl -sS --http2-prior-knowledge --compressed -o /dev/null -w '%{http_version} %{http_code}' \
          "http://127.0.0.1:$grpc_port/probe")
  under=$(shim_run curl -sS --http2-prior-knowledge --compressed -o /dev/null -w '%{http_version} %{http_code}' \
          "http://127.0.0.1:$grpc_port/probe")
  [ "$plain" = "2 200" ] && [ "$under" = "$plain" ] \
    || { echo "FAIL: curl over HTTP/2: '$plain' plain, '$under' under the shim"; exit 1; }
  echo "ok - curl (its own libnghttp2) over HTTP/2 under the shim: $under"
fi
echo "autoinstr_grpc_export: passed"
