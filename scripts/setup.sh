#!/usr/bin/env bash
# setup.sh — install what otelc needs from Debian 12, and nothing when it is all there.
#
#   scripts/setup.sh            build dependencies (compiler, cmake, the six libraries)
#   scripts/setup.sh --test     also the tools and servers the test suite drives
#   scripts/setup.sh --demo     build dependencies plus what the README demo uses (curl, python3)
#
# Idempotent and quiet: it asks dpkg which packages are missing and runs apt-get only for those,
# with sudo when not root. Every package is a Debian 12 package; nothing is downloaded otherwise.
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config
  libprotobuf-c-dev protobuf-c-compiler   # OTLP codec (protoc-c generates C at build time)
  libnghttp2-dev                          # HTTP/2 framing for gRPC
  libssl-dev                              # TLS
  libc-ares-dev                           # asynchronous DNS
  libyaml-dev                             # receiver configuration
  zlib1g-dev                              # gzip bodies and gRPC message compression
  libuv1-dev                              # event loop of the servers
  libjson-c-dev                           # OTLP/JSON decoding (receiver) and JSON lines (file exporter)
  libxxhash-dev                           # attribute-set hashing in the SDK hot path
  libpcre2-dev                            # regexps of the receiver's filter/attributes/resource processors
)
test_pkgs=(
  clang libclang-rt-14-dev                # libFuzzer targets and sanitizer runtimes
  protobuf-compiler                       # protoc --decode: an independent OTLP decoder
  openssl                                 # test certificates
  curl                                    # HTTP client in integration tests
  prometheus                              # promtool check metrics; a real Prometheus scraping the exporter
  nginx lighttpd busybox nodejs           # real HTTP servers run under the preload shim
  python3-protobuf                        # the preload tests' OTLP sink (python3 -m http.server is python3)
  wrk                                     # bench/bench_preload.sh
)

demo_pkgs=(curl python3)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --test) want+=("${test_pkgs[@]}") ;;
  --demo) want+=("${demo_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update once, then install.
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
