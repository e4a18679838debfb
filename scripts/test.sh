#!/usr/bin/env bash
# test.sh — install what is missing, build, and run the whole otelc test suite. This is the README's test
# command and what .ci/run calls.
#
#   scripts/test.sh           everything: (1) Release build with warnings as errors, full suite;
#                             (2) ASan+UBSan build, full suite; (3) TSan build, every unit test (SDK, wire,
#                             receiver, shim);
#                             (4) clang libFuzzer build, each fuzz target for a few seconds.
#   scripts/test.sh --quick   step (1) only.
# Build trees go to build/ci-*; OTELC_JOBS overrides the parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/setup.sh --test
jobs=${OTELC_JOBS:-$(nproc)}
export CTEST_OUTPUT_ON_FAILURE=1

# configure_and_build DIR [--target T] [cmake options...]
configure_and_build() {
  local dir=$1; shift
  local target=()
  if [ "${1:-}" = "--target" ]; then target=(--target "$2"); shift 2; fi
  echo "== build $dir ($*)"
  cmake -S . -B "$dir" -DOTELC_WERROR=ON "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  cmake --build "$dir" -j"$jobs" "${target[@]}" >"$dir.build.log" 2>&1 ||
    { grep -E -B2 -A8 'error|Error' "$dir.build.log" | head -80; exit 1; }
}

run_ctest() {
  local dir=$1; shift
  echo "== test $dir $*"
  ctest --test-dir "$dir" -j"$jobs" --timeout 600 "$@"
}

mkdir -p build
configure_and_build build/ci-release -DCMAKE_BUILD_TYPE=Release
run_ctest build/ci-release -LE '^fuzz$'
[ $quick = 1 ] && exit 0

configure_and_build build/ci-asan -DCMAKE_BUILD_TYPE=Debug -DOTELC_SANITIZE=address -DOTELC_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build/ci-asan -LE '^fuzz$'

configure_and_build build/ci-tsan -DCMAKE_BUILD_TYPE=Debug -DOTELC_SANITIZE=thread -DOTELC_BUILD_BENCH=OFF
TSAN_OPTIONS=halt_on_error=1 run_ctest build/ci-tsan -L '^unit$'

configure_and_build build/ci-fuzz --target fuzzers -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DOTELC_FUZZ=ON \
  -DOTELC_SANITIZE=address -DOTELC_BUILD_BENCH=OFF
OTELC_FUZZ_SECONDS=${OTELC_FUZZ_SECONDS:-10} run_ctest build/ci-fuzz -L '^fuzz$'
