#!/usr/bin/env bash
# The committed Go client (gen/go, module github.com/gavel-pdp/gavel/gen/go) from proto/ with buf
# and the pinned protoc-gen-go and protoc-gen-go-grpc (installed with go install when missing).
#   bash scripts/gen-go.sh           regenerate gen/go
#   bash scripts/gen-go.sh --check   regenerate into a temporary copy and fail if gen/go differs
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.0
export PATH="$HOME/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"
if ! protoc-gen-go --version 2>/dev/null | grep -q "${PROTOC_GEN_GO}$"; then
  GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO}"
fi
if ! protoc-gen-go-grpc --version 2>/dev/null | grep -q "${PROTOC_GEN_GO_GRPC#v}$"; then
  GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC}"
fi
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cp -r proto buf.yaml buf.gen.yaml "$tmp/"
  (cd "$tmp" && buf generate)
  if ! diff -r "$tmp/gen/go/gavel" gen/go/gavel; then
    echo "gen/go is not what proto/ generates: run bash scripts/gen-go.sh and commit" >&2
    exit 1
  fi
  echo "gen/go matches proto/"
else
  rm -rf gen/go/gavel
  buf generate
  (cd gen/go && GOFLAGS= go build ./...)
  echo "gen/go regenerated"
fi
