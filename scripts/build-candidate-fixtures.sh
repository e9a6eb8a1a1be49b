#!/usr/bin/env bash
# Rebuilds the candidate bundles replay and shadow tests use (test/fixtures/bundles/candidates/)
# with the real opa: the reference policies/ai plus one extra rule each. npm run fixtures:candidates
set -euo pipefail
cd "$(dirname "$0")/.."
OPA="${OPA:-opa}"
OUT=test/fixtures/bundles/candidates
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build() { # name revision rule-file
  rm -rf "$work/ai" && cp -r policies/ai "$work/ai"
  cp "test/fixtures/policies/candidates/$3" "$work/ai/$3"
  "$OPA" build -t wasm -b "$work/ai" --revision "$2" --ignore '*_test.rego' --ignore samples -o "$OUT/$1.tar.gz"
}
build keyword-deny candidate-keyword-1 keyword_deny.rego
# About 2 s on a fresh instance, 0.3 s after (numbers.range loops; needs engine.memoryMaxPages 16384): slower than any live decision.
build slow candidate-slow-1 slow.rego
