# Approvals: the obligation an approval-requiring rule asks for, and what an
# approval injected by the server in input.context.approval does to it.
package gavel.ai_test

transfer(amount) := tool(fiona, "payments.transfer", {"amount": amount})

with_approval(req, state, matches) := with_context(req, approval_ctx(state, matches))

needs_approval_obligation := {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 1, "expires_in": "4h"}}

# ---------------------------------------------------------------------------
# Approved for exactly this action.

test_granted_approval_allows if {
	d := decide(with_approval(transfer(25000), "approved", true))
	d.decision == "allow"
	codes(d) == {"allowed", "approval_granted"}
	has_reason(d, "allow", "approval_granted", "ai.approval")
	some r in d.reasons
	r.code == "approval_granted"
	contains(r.message, approval_id)
	d.obligations == {}
}

test_granted_approval_for_two_approver_transfer_allows if {
	d := decide(with_approval(transfer(250000), "approved", true))
	d.decision == "allow"
	codes(d) == {"allowed", "approval_granted"}
}

test_granted_approval_does_not_lift_permission if {
	d := decide(with_approval(tool(alice, "payments.transfer", {"amount": 25000}), "approved", true))
	d.decision == "deny"
	codes(d) == {"tool_not_permitted", "approval_granted"}
	d.obligations == {}
}

test_granted_approval_does_not_lift_other_denials if {
	req := with_context(with_approval(transfer(25000), "approved", true), {"history": {"tool_calls_last_minute": {"payments.transfer": 10}}})
	d := decide(req)
	d.decision == "deny"
	codes(d) == {"tool_rate_limited", "approval_granted"}
}

test_granted_approval_keeps_redaction if {
	d := decide(with_prompt(with_approval(transfer(25000), "approved", true), "call 555-123-4567"))
	d.decision == "redact"
	codes(d) == {"allowed", "approval_granted", "pii_detected"}
}

# ---------------------------------------------------------------------------
# Not (yet) usable approvals.

test_pending_approval_still_needs_approval if {
	d := decide(with_approval(transfer(25000), "pending", true))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval", "approval_pending"}
	has_reason(d, "require_approval", "approval_pending", "ai.approval")
	d.obligations == needs_approval_obligation
}

test_rejected_approval_denies if {
	d := decide(with_approval(transfer(25000), "rejected", true))
	d.decision == "deny"
	codes(d) == {"amount_requires_approval", "approval_rejected"}
	has_reason(d, "deny", "approval_rejected", "ai.approval")
	d.obligations == {}
}

test_expired_approval_still_needs_approval if {
	d := decide(with_approval(transfer(25000), "expired", true))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval", "approval_expired"}
	has_reason(d, "require_approval", "approval_expired", "ai.approval")
	d.obligations == needs_approval_obligation
}

test_consumed_approval_still_needs_approval if {
	d := decide(with_approval(transfer(25000), "consumed", true))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval", "approval_consumed"}
	has_reason(d, "require_approval", "approval_consumed", "ai.approval")
	d.obligations == needs_approval_obligation
}

test_mismatched_approval_still_needs_approval if {
	d := decide(with_approval(transfer(25000), "approved", false))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval", "approval_mismatch"}
	has_reason(d, "require_approval", "approval_mismatch", "ai.approval")
	some r in d.reasons
	r.code == "approval_mismatch"
	r.message == sprintf("approval '%s' was given for a different action", [approval_id])
	d.obligations == needs_approval_obligation
}

# matches must be the boolean true: a string, a number or nothing is a mismatch.
test_matches_must_be_boolean_true if {
	codes(decide(with_approval(transfer(25000), "approved", "true"))) == {"amount_requires_approval", "approval_mismatch"}
	codes(decide(with_approval(transfer(25000), "approved", 1))) == {"amount_requires_approval", "approval_mismatch"}
	no_matches := with_context(transfer(25000), {"approval": {"id": approval_id, "state": "approved"}})
	codes(decide(no_matches)) == {"amount_requires_approval", "approval_mismatch"}
}

# A mismatch is reported whatever the state, and the state is then not.
test_mismatch_in_any_state if {
	every state in ["pending", "rejected", "expired", "consumed", "unheard-of"] {
		d := decide(with_approval(transfer(25000), state, false))
		d.decision == "require_approval"
		codes(d) == {"amount_requires_approval", "approval_mismatch"}
	}
}

# An unknown or malformed state adds nothing: approval is still needed.
test_unknown_state_still_needs_approval if {
	d := decide(with_approval(transfer(25000), "APPROVED", true))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval"}
	d2 := decide(with_approval(transfer(25000), ["approved"], true))
	codes(d2) == {"amount_requires_approval"}
	d2.obligations == needs_approval_obligation
}

# A malformed approval is treated as absent.
test_malformed_approval_ignored if {
	every bad in ["approved", ["approved"], {}, null, true] {
		d := decide(with_context(transfer(25000), {"approval": bad}))
		d.decision == "require_approval"
		codes(d) == {"amount_requires_approval"}
		d.obligations == needs_approval_obligation
	}
}

# ---------------------------------------------------------------------------
# A request that needs no approval is unchanged by one.

test_approval_on_request_needing_none_changes_nothing if {
	every state in ["approved", "pending", "rejected", "expired", "consumed"] {
		every matches in [true, false] {
			allowed_only(decide(with_approval(transfer(2500), state, matches)))
			allowed_only(decide(with_approval(invoke(alice, "standard-m"), state, matches)))
		}
	}
	d := decide(with_approval(tool(alice, "payments.transfer", {"amount": 5}), "rejected", true))
	codes(d) == {"tool_not_permitted"}
}

# ---------------------------------------------------------------------------
# Defaults of the obligation (ai_config.approvals).

test_approval_defaults_are_data if {
	cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/approvals", "value": {"default_expires_in": "1h", "default_min_approvals": 2}}])
	d := decide_with(transfer(25000), cfg)
	d.obligations == {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 2, "expires_in": "1h"}}
}

test_approval_defaults_without_config if {
	cfg := json.patch(fixture_cfg, [{"op": "remove", "path": "/approvals"}])
	decide_with(transfer(25000), cfg).obligations == needs_approval_obligation
}

test_malformed_approval_config_falls_back if {
	every bad in [
		{"default_expires_in": "", "default_min_approvals": 0},
		{"default_expires_in": 4, "default_min_approvals": 1.5},
		{"default_expires_in": ["4h"], "default_min_approvals": "2"},
	] {
		cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/approvals", "value": bad}])
		decide_with(transfer(25000), cfg).obligations == needs_approval_obligation
	}
	bad_rule := json.patch(fixture_cfg, [
		{"op": "add", "path": "/tools/amount_thresholds/payments.transfer/min_approvals", "value": -1},
		{"op": "add", "path": "/tools/amount_thresholds/payments.transfer/expires_in", "value": ""},
	])
	decide_with(transfer(25000), bad_rule).obligations == needs_approval_obligation
}

# With several approval-requiring rules, approvers merge, min_approvals is the
# largest asked and expires_in that of the first rule by id.
test_several_approval_rules_combine if {
	needed := {
		{"finding": {"effect": "require_approval", "code": "b_needs", "rule": "ai.zeta", "message": "b"}, "approvers": {"role:b", "role:shared"}, "min_approvals": 1, "expires_in": "1h"},
		{"finding": {"effect": "require_approval", "code": "a_needs", "rule": "ai.alpha", "message": "a"}, "approvers": {"role:a", "role:shared"}, "min_approvals": 3, "expires_in": "8h"},
	}
	d := data.gavel.ai.decision with input as invoke(alice, "standard-m")
		with data.gavel.ai_config as fixture_cfg
		with data.gavel.pricing as fixture_pricing
		with data.gavel.ai.approval_needed as needed
	d.decision == "require_approval"
	codes(d) == {"a_needs", "b_needs"}
	d.obligations == {"approval": {"approvers": ["role:a", "role:b", "role:shared"], "min_approvals": 3, "expires_in": "8h"}}
	g := data.gavel.ai.decision with input as with_context(invoke(alice, "standard-m"), approved)
		with data.gavel.ai_config as fixture_cfg
		with data.gavel.pricing as fixture_pricing
		with data.gavel.ai.approval_needed as needed
	g.decision == "allow"
	codes(g) == {"allowed", "approval_granted"}
	count([r | some r in g.reasons; r.code == "approval_granted"]) == 1
}
