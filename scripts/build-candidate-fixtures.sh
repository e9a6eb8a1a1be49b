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
cp -r policies/ai "$work/ai"
cp test/fixtures/policies/candidates/keyword_deny.rego "$work/ai/keyword_deny.rego"
"$OPA" build -t wasm -b "$work/ai" --revision candidate-keyword-1 --ignore '*_test.rego' --ignore samples -o "$OUT/keyword-deny.tar.gz"
