#!/usr/bin/env bash
# run_smoke.sh FUZZER CORPUS — runs a libFuzzer target briefly (a smoke test, not a campaign) on a scratch copy
# of its seed corpus, so the committed corpus is never modified. OTELC_FUZZ_SECONDS overrides the budget.
set -euo pipefail
fuzzer=$1 corpus=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/ 2>/dev/null || true
exec "$fuzzer" -max_total_time="${OTELC_FUZZ_SECONDS:-10}" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 "$work"
