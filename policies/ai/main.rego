# Gavel reference policy for AI usage.
#
# Every rule contributes findings (reasons) to `findings`; `decision` combines
# them by precedence deny > require_approval > redact > allow, and a request
# no rule permits is denied by default. All catalogues and limits live in
# data.gavel.ai_config / data.gavel.pricing (policies/ai/data.json).
#
# The module is compiled to WebAssembly and evaluated by @open-policy-agent/opa-wasm,
# so it must only use builtins that SDK implements (the build passes its
# capabilities.json to `opa build`), and it never reads the clock or the network:
# the time arrives as input.context.now.
#
# Every input field may be missing or of the wrong type; the helpers below turn
# such values into empty objects, lists, strings or zero so that no rule is left
# undefined and the decision object is always produced.
package gavel.ai

# METADATA
# title: Gavel AI decision
# description: The combined decision for one AI request (see the result contract in the README).
# entrypoint: true
decision := {
	"decision": outcome,
	"reasons": sorted_reasons,
	"redactions": redactions,
	"obligations": obligations,
	"sensitive_paths": sensitive_paths,
}

# ---------------------------------------------------------------------------
# Type guards: a value of the wrong type is treated as absent.

as_object(x) := x if is_object(x)

else := {}

as_array(x) := x if is_array(x)

else := []

as_string(x) := x if is_string(x)

else := ""

as_number(x) := x if is_number(x)

else := 0

# Lists of strings from an input or config value (non-strings are dropped).
string_set(x) := {s | some s in as_array(x); is_string(s)}

# ---------------------------------------------------------------------------
# Configuration.

default cfg := {}

cfg := data.gavel.ai_config

default pricing_models := {}

pricing_models := as_object(data.gavel.pricing.models)

conf(path, fallback) := object.get(cfg, path, fallback)

# ---------------------------------------------------------------------------
# Input normalisation.

req := input if is_object(input)

else := {}

subject := as_object(object.get(req, "subject", {}))

action := as_object(object.get(req, "action", {}))

content := as_object(object.get(req, "content", {}))

ctx := as_object(object.get(req, "context", {}))

params := as_object(object.get(action, "params", {}))

action_type := as_string(object.get(action, "type", ""))

# A subject without a type is an ordinary user.
subject_type := t if {
	t := object.get(subject, "type", "user")
	is_string(t)
} else := ""

subject_id := as_string(object.get(subject, "id", ""))

# A principal as the permission rules see it: roles as a set, team as a string.
principal(p) := {
	"id": as_string(object.get(p, "id", "")),
	"roles": string_set(object.get(p, "roles", [])),
	"team": as_string(object.get(p, "team", "")),
	"cost_center": as_string(object.get(p, "cost_center", "")),
}

subject_principal := principal(subject)

# A malformed on_behalf_of still counts as a delegator (with no roles), so it
# narrows what the subject may do instead of being ignored.
has_delegator if object.get(subject, "on_behalf_of", null) != null

delegator := principal(as_object(object.get(subject, "on_behalf_of", {})))

# Budgets are charged to the subject's team / cost center, or to the user's
# when an agent carries none of its own.
billing_team := subject_principal.team if subject_principal.team != ""

else := delegator.team

billing_cost_center := subject_principal.cost_center if {
	subject_principal.cost_center != ""
} else := delegator.cost_center

# The capability an action needs: the tool for tool.call, "data.export" for exports.
capability := as_string(object.get(action, "tool", "")) if action_type == "tool.call"

capability := "data.export" if action_type == "data.export"

tool_actions := {"tool.call", "data.export"}

# ---------------------------------------------------------------------------
# Request-level checks.

known_subject_type if subject_type in string_set(conf(["subjects", "types"], []))

findings contains reason("deny", "unknown_subject_type", "ai.request.unknown_subject_type", msg) if {
	not known_subject_type
	msg := sprintf("subject type '%s' is not one of the known subject types", [subject_type])
}

known_action_types := {"model.invoke", "tool.call", "data.export"}

findings contains reason("deny", "unknown_action", "ai.request.unknown_action", msg) if {
	not action_type in known_action_types
	msg := sprintf("action type '%s' is not one of model.invoke, tool.call, data.export", [action_type])
}

# ---------------------------------------------------------------------------
# Permission: a request is permitted only when the subject (and, for delegated
# requests, the user behind it) is granted what the action needs. Everything
# else is denied by default.

permitted if {
	known_subject_type
	action_type == "model.invoke"
	model_known
	subject_may_use_model
	delegator_may_use_model
	agent_may_run
}

permitted if {
	known_subject_type
	action_type in tool_actions
	subject_may_use_capability
	delegator_may_use_capability
	agent_may_run
}

# ---------------------------------------------------------------------------
# Combination.

reason(effect, code, rule, message) := {"effect": effect, "code": code, "rule": rule, "message": message}

has_effect(effect) if {
	some r in findings
	r.effect == effect
}

# Default deny, reported only when no specific rule explains the denial.
default_deny contains reason("deny", "not_permitted", "ai.default_deny", msg) if {
	not permitted
	not has_effect("deny")
	msg := "request is not permitted by any rule"
}

allow_reason contains reason("allow", "allowed", "ai.allow", msg) if {
	permitted
	not has_effect("deny")
	not has_effect("require_approval")
	msg := "request is permitted"
}

all_reasons := (findings | default_deny) | allow_reason

outcome := "deny" if {
	some r in all_reasons
	r.effect == "deny"
} else := "require_approval" if {
	some r in all_reasons
	r.effect == "require_approval"
} else := "redact" if {
	some r in all_reasons
	r.effect == "redact"
} else := "allow"

effect_rank := {"deny": 0, "require_approval": 1, "redact": 2, "allow": 3}

# Sorted by effect precedence, then code, rule and message, so the list is
# identical across evaluations (sets have no guaranteed order in wasm).
sorted_reasons := [reason(k[4], k[1], k[2], k[3]) |
	some k in sort([[effect_rank[r.effect], r.code, r.rule, r.message, r.effect] | some r in all_reasons])
]

# Obligations only matter for requests that go ahead.
obligations := {} if outcome == "deny"

else := obligation_parts

obligation_parts["route"] := {"model": route_target} if route_obligation

# obligation_parts["approval"]: see approvals.rego.

sensitive_paths := sort([pointer("/content", [f]) |
	some f in string_set(conf(["content", "sensitive_fields"], []))
	object.get(content, f, null) != null
])
