"""Ask gavel for a decision from Python, and read a refusal with gRPC's standard helpers.

    pip install -r examples/python/requirements.txt
    python -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen proto/gavel/v1/*.proto
    PYTHONPATH=gen python examples/python/decide.py 127.0.0.1:50051
"""

import json
import sys

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gavel.v1 import decision_pb2, decision_pb2_grpc

target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
with grpc.insecure_channel(target) as channel:
    decisions = decision_pb2_grpc.DecisionServiceStub(channel)

    request = {
        "subject": {"id": "alice", "type": "user", "roles": ["employee"], "team": "platform", "cost_center": "cc-100"},
        "action": {"type": "model.invoke", "model": "standard-m", "params": {"max_tokens": 256}},
        "content": {"prompt": "Summarise this"},
    }
    answer = decisions.Decide(
        decision_pb2.DecideRequest(input_json=json.dumps(request).encode(), request_id="py-1"),
        metadata=[("x-gavel-caller", "python-example")],
        timeout=5,
    )
    print(json.dumps({
        "decision": decision_pb2.Decision.Name(answer.decision),
        "reasons": [r.code for r in answer.reasons],
        "decision_id": answer.decision_id,
        "seq": answer.receipt.seq,
    }))

    # A refusal: the stable code is the reason of a google.rpc.ErrorInfo in the status details.
    try:
        decisions.Decide(decision_pb2.DecideRequest(input_json=b"[1, 2]"), timeout=5)
    except grpc.RpcError as call:
        status = rpc_status.from_call(call)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                print(json.dumps({
                    "status": call.code().name,
                    "reason": info.reason,
                    "domain": info.domain,
                    "retryable": info.metadata["retryable"],
                }))
