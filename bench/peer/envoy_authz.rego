# The bench peer's policy (bench/ext-authz.ts): opa-envoy-plugin evaluates the reference `ai`
# policy on the input gavel maps the same CheckRequest to (examples/envoy/ext-authz.yaml's header
# subject; the body's model, max_tokens and messages), with the sample's fixed context as its
# usage and time (data.bench.context), as the OPA row of bench/service.ts gets it.
package envoy.authz

import rego.v1

http := input.attributes.request.http

body := json.unmarshal(http.body)

gavel_input := {
	"subject": {
		"id": http.headers["x-gavel-subject"],
		"type": "user",
		"roles": split(http.headers["x-gavel-roles"], ","),
		"team": http.headers["x-gavel-team"],
		"cost_center": http.headers["x-gavel-cost-center"],
	},
	"action": {"type": "model.invoke", "model": body.model, "params": {"max_tokens": body.max_tokens}},
	"content": {"messages": body.messages},
	"context": data.bench.context,
}

decision := d if {
	d := data.gavel.ai.decision with input as gavel_input
}

result := {
	"allowed": decision.decision == "allow",
	"headers": {"x-gavel-decision": decision.decision},
}
