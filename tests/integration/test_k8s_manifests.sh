#!/usr/bin/env bash
# test_k8s_manifests.sh — the receiver configuration shipped in k8s/otelc-receiver.yaml (the ConfigMap) and the
# configs in examples/ validate with the receiver we build, with the env variables the DaemonSet sets.
set -euo pipefail
bin="$OTELC_BUILD_DIR/receiver/otelc-receiver"
[ -x "$bin" ] || { echo "otelc-receiver not built at $bin"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # name file
  if POD_IP=127.0.0.1 NODE_NAME=node-1 "$bin" --validate --config "$2" >"$tmp/out" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $1:"; cat "$tmp/out"
  fi
}
# The ConfigMap's config.yaml block, unindented.
awk '/^  config.yaml: \|/{f=1;next} f&&/^---/{exit} f{sub(/^    /,"");print}' \
  "$OTELC_SOURCE_DIR/k8s/otelc-receiver.yaml" > "$tmp/daemonset.yaml"
[ -s "$tmp/daemonset.yaml" ] || { echo "no config.yaml block found in k8s/otelc-receiver.yaml"; exit 1; }
check daemonset-configmap "$tmp/daemonset.yaml"
for f in "$OTELC_SOURCE_DIR"/examples/*.yaml; do
  [ -e "$f" ] && check "$(basename "$f")" "$f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
