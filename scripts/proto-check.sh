#!/usr/bin/env bash
# The API's protos: `buf lint` (STANDARD, buf.yaml) and `buf breaking` against the image of the
# last release in proto/releases (made at release time: buf build --exclude-source-info -o proto/releases/<version>.json).
# Installs the pinned buf (.buf-version) with go install when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION="$(tr -d '[:space:]' < .buf-version)"
export PATH="$HOME/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"
if ! buf --version 2>/dev/null | grep -x "${BUF_VERSION#v}" >/dev/null; then
  echo "installing buf ${BUF_VERSION} with go install"
  GOFLAGS= go install "github.com/bufbuild/buf/cmd/buf@${BUF_VERSION}"
fi
buf lint
last="$(ls proto/releases/*.json | sort -V | tail -1)"
buf breaking --against "$last"
echo "buf lint: ok; buf breaking against $last: ok"
bash scripts/gen-go.sh --check
