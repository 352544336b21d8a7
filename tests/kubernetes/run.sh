#!/usr/bin/env bash
# Validates deploy/kubernetes/ offline (validate.mjs says what is checked), then plants known
# mistakes to show each is reported. npm's kubernetes-models and yaml, at pinned versions, are
# installed once into a cache under ${TMPDIR:-/tmp} (CI starts clean: one ~20 s install).
# Usage: run.sh SOURCE_DIR READYPROBE_BINARY
set -euo pipefail
src=$1
binary=$2
MODELS=5.1.0 # kubernetes-models: the schema of Kubernetes 1.36
YAML=2.9.1
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (Node.js and npm come with this kind of machine)"; exit 1; }
done
cache=${TMPDIR:-/tmp}/readyprobe-npm-cache/kubernetes-models-$MODELS-yaml-$YAML
if [[ ! -d $cache/node_modules/kubernetes-models ]]; then
  mkdir -p "$(dirname "$cache")"
  partial=$(mktemp -d "$cache.partial-XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  npm install --prefix "$partial" --no-audit --no-fund --no-save --loglevel=error \
    "kubernetes-models@$MODELS" "yaml@$YAML" >"$partial.log" 2>&1 || { cat "$partial.log"; rm -f "$partial.log"; exit 1; }
  rm -f "$partial.log"
  # another run may have finished first: keep its copy
  mv -T "$partial" "$cache" 2>/dev/null || true
fi
exec node "$src/tests/kubernetes/validate.mjs" --modules "$cache/node_modules" --binary "$binary" \
  "$src/deploy/kubernetes" --self-test
