#!/usr/bin/env bash
# Rebuilds the OPA-signed test bundles in test/fixtures/bundles/signed/ with the real opa
# (keys in test/fixtures/signing/: throwaway, for tests only). npm run fixtures:signed
set -euo pipefail
cd "$(dirname "$0")/.."
OPA="${OPA:-opa}"
SRC=test/fixtures/policies/fixtures
OUT=test/fixtures/bundles/signed
KEYS=test/fixtures/signing
mkdir -p "$OUT"
build() { # name revision signing-key alg [extra opa flags...]
  local name=$1 rev=$2 key=$3 alg=$4; shift 4
  "$OPA" build -t wasm -b "$SRC" --revision "$rev" -o "$OUT/$name.tar.gz" --signing-key "$key" --signing-alg "$alg" "$@"
}
build rs256 signed-rs256 "$KEYS/rsa.key" RS256
build ps256 signed-ps256 "$KEYS/rsa.key" PS256
build es256 signed-es256 "$KEYS/ec.key" ES256
build hs256 signed-hs256 "$(cat "$KEYS/hs.secret")" HS256
printf '{"scope": "gavel-prod"}' > /tmp/gavel-scope-claims.json
build scoped signed-scoped "$KEYS/rsa.key" RS256 --claims-file /tmp/gavel-scope-claims.json
build other signed-other "$KEYS/other-rsa.key" RS256
"$OPA" build -t wasm -b "$SRC" --revision unsigned-1 -o "$OUT/unsigned.tar.gz"
