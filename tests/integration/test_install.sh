#!/usr/bin/env bash
# test_install.sh — `cmake --install` gives the documented layout (headers, shared and static libraries,
# otelc.pc, the CMake package, the receiver and the preload shim), and a project outside the tree builds and runs
# against it with pkg-config and with find_package(otelc), shared and static.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

cmake --install "$OTELC_BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
libdir=$(dirname "$(find "$prefix" -name otelc.pc)")/..
for f in include/otelc/otelc.h include/otelc/exporter.h bin/otelc-receiver; do
  [ -e "$prefix/$f" ] && ok || fail "missing $f"
done
for f in libotelc.so libotelc.so.0 libotelc.a pkgconfig/otelc.pc cmake/otelc/otelcConfig.cmake otelc/libotelc-preload.so; do
  [ -e "$libdir/$f" ] && ok || fail "missing lib/$f"
done

# The sanitizer the build used, if any, must also be on the consumer's link line.
san=$(sed -n 's/^OTELC_SANITIZE:STRING=//p' "$OTELC_BUILD_DIR/CMakeCache.txt")
case "$san" in
  address) sflags="-fsanitize=address,undefined" ;;
  thread) sflags="-fsanitize=thread" ;;
  *) sflags="" ;;
esac
src=$OTELC_SOURCE_DIR/tests/integration/install_consumer
export PKG_CONFIG_PATH=$libdir/pkgconfig OTEL_METRICS_EXPORTER=none
run() { # name command...
  if out=$("$@" 2>&1) && [ "$(echo "$out" | tail -n 1)" = ok ]; then ok; else fail "$1: $out"; fi
}
gcc $sflags "$src/main.c" $(pkg-config --cflags --libs otelc) -Wl,-rpath,"$libdir" -o "$tmp/pc_shared" &&
  run "$tmp/pc_shared" || fail "pkg-config shared build"
gcc $sflags "$src/main.c" $(pkg-config --cflags otelc) "$libdir/libotelc.a" \
  $(pkg-config --static --libs otelc | sed 's/-lotelc //') -o "$tmp/pc_static" &&
  run "$tmp/pc_static" || fail "pkg-config static build"
if cmake -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$sflags" \
     -DCMAKE_EXE_LINKER_FLAGS="$sflags" >"$tmp/cmake.log" 2>&1 &&
   cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1; then
  run "$tmp/cmake/consumer_shared"
  run "$tmp/cmake/consumer_static"
else
  fail "find_package(otelc) build: $(tail -20 "$tmp/cmake.log")"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
