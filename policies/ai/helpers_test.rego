# Shared fixtures for the gavel.ai tests.
#
# `opa test policies/ --ignore samples` loads policies/ai/data.json under
# data.ai.gavel (plain directory loading prefixes the directory), while
# `opa test -b policies/ai` loads it under data.gavel as the bundle does. The
# fixtures accept both and every test injects them with `with`, so the tests
# judge the committed data.json either way.
package gavel.ai_test

fixture_cfg := c if {
	c := data.ai.gavel.ai_config
} else := data.gavel.ai_config

fixture_pricing := p if {
	p := data.ai.gavel.pricing
} else := data.gavel.pricing

# The decision for an input against the committed data.
decide(inp) := d if {
	d := data.gavel.ai.decision with input as inp
		with data.gavel.ai_config as fixture_cfg
		with data.gavel.pricing as fixture_pricing
}

# The decision for an input against modified configuration.
decide_with(inp, cfg) := d if {
	d := data.gavel.ai.decision with input as inp
		with data.gavel.ai_config as cfg
		with data.gavel.pricing as fixture_pricing
}

codes(d) := {r.code | some r in d.reasons}

rules_fired(d) := {r.rule | some r in d.reasons}

has_reason(d, effect, code, rule) if {
	some r in d.reasons
	r.effect == effect
	r.code == code
	r.rule == rule
}

# ---------------------------------------------------------------------------
# Subjects and requests.

alice := {"id": "alice", "type": "user", "roles": ["employee"], "team": "platform", "cost_center": "cc-100"}

fiona := {"id": "fiona", "type": "user", "roles": ["finance", "employee"], "team": "finance", "cost_center": "cc-200"}

erin := {"id": "erin", "type": "user", "roles": ["engineer", "employee"], "team": "platform", "cost_center": "cc-100"}

rita := {"id": "rita", "type": "user", "roles": ["research"], "team": "research", "cost_center": "cc-500"}

# A member of the research team without a research role.
tom := {"id": "tom", "type": "user", "roles": [], "team": "research", "cost_center": "cc-500"}

mia := {"id": "mia", "type": "user", "roles": ["ml-engineer", "employee"], "team": "budget-test", "cost_center": "cc-400"}

agent(id, user) := {"id": id, "type": "agent", "on_behalf_of": user}

invoke(subject, model) := {
	"subject": subject,
	"action": {"type": "model.invoke", "model": model, "params": {"max_tokens": 256}},
	"content": {"prompt": "Summarise the release notes."},
	"context": {"environment": "prod", "now": "2025-06-02T10:00:00Z", "estimate": {"tokens": 256, "cost": 0.01}},
}

tool(subject, name, tool_params) := {
	"subject": subject,
	"action": {"type": "tool.call", "tool": name, "params": tool_params},
	"context": {"environment": "prod", "now": "2025-06-02T10:00:00Z"},
}

export(subject, category) := {
	"subject": subject,
	"action": {"type": "data.export", "params": {"category": category}},
	"context": {"environment": "prod", "now": "2025-06-02T10:00:00Z"},
}

with_params(req, extra) := object.union(req, {"action": object.union(req.action, {"params": object.union(req.action.params, extra)})})

with_prompt(req, prompt) := object.union(req, {"content": {"prompt": prompt}})

with_context(req, extra) := object.union(req, {"context": object.union(req.context, extra)})

# usage.<scope>.<window>.<field> = value, everything else absent.
usage_of(scope, window, field, value) := {"usage": {scope: {window: {field: value}}}}

# input.context.approval as the server injects it.
approval_id := "3f2b8c1e-7a4d-4e9b-9c62-0d5a1e8f4b27"

approval_ctx(state, matches) := {"approval": {"id": approval_id, "state": state, "approvers": ["role:finance-manager"], "matches": matches}}

approved := approval_ctx("approved", true)

allowed_only(d) if {
	d.decision == "allow"
	codes(d) == {"allowed"}
}

denied_with(d, code) if {
	d.decision == "deny"
	code in codes(d)
}
