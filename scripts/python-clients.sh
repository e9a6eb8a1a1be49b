#!/usr/bin/env bash
# The Python gRPC client the tests run the Python examples with: a virtualenv in .cache/python
# with examples/python/requirements.txt (grpcio, grpcio-tools, grpcio-status). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .cache/python/bin/python ]; then python3 -m venv .cache/python; fi
.cache/python/bin/pip install --quiet --disable-pip-version-check -r examples/python/requirements.txt
.cache/python/bin/python -c 'import grpc, grpc_tools, grpc_status; print("python clients:", grpc.__version__)'
