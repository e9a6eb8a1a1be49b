# Budgets: subject tokens, the team tier ladder, cost-center caps, seat spend
# and per-tool rate limits.
package gavel.ai_test

# mia is on team budget-test, whose weekly budget is 5000 tokens.
# A one-token call, so that each rung is reached by usage alone.
team_at(model, week_tokens) := with_context(
	invoke(mia, model),
	object.union(usage_of("team", "week", "tokens", week_tokens), {"estimate": {"tokens": 1, "cost": 0.0001}}),
)

# ---------------------------------------------------------------------------
# Per-subject weekly tokens (usage + this call's estimate).

test_subject_budget_edge if {
	allowed_only(decide(with_context(invoke(alice, "standard-m"), usage_of("subject", "week", "tokens", 4999744))))
	d := decide(with_context(invoke(alice, "standard-m"), usage_of("subject", "week", "tokens", 4999745)))
	d.decision == "deny"
	codes(d) == {"subject_budget_exhausted"}
	has_reason(d, "deny", "subject_budget_exhausted", "ai.budgets.subject_weekly_tokens")
}

test_subject_budget_override if {
	cfg := json.patch(fixture_cfg, [{"op": "add", "path": "/budgets/subject_weekly_tokens/by_subject/alice", "value": 100}])
	d := decide_with(invoke(alice, "standard-m"), cfg)
	codes(d) == {"subject_budget_exhausted"}
}

test_budgets_ignore_tool_calls if {
	req := with_context(tool(alice, "docs.read", {}), {"usage": {
		"subject": {"week": {"tokens": 1e12}, "month": {"cost": 1e9}},
		"team": {"week": {"tokens": 1e12}},
		"cost_center": {"month": {"cost": 1e12}},
	}})
	allowed_only(decide(req))
}

# ---------------------------------------------------------------------------
# Team tier ladder (budget-test: 5000 tokens; rungs 0.8, 0.95; deny at 1.0).

test_ladder_below_80_any_tier if {
	allowed_only(decide(team_at("frontier-xl", 3999)))
	allowed_only(decide(team_at("standard-m", 3999)))
}

test_ladder_80_routes_premium_to_standard if {
	d := decide(team_at("frontier-xl", 4000))
	d.decision == "allow"
	codes(d) == {"allowed", "budget_tier_down"}
	has_reason(d, "allow", "budget_tier_down", "ai.budgets.team_tier_ladder")
	d.obligations == {"route": {"model": "standard-m"}}
}

test_ladder_80_leaves_standard_and_economy if {
	allowed_only(decide(team_at("standard-m", 4500)))
	allowed_only(decide(team_at("economy-s", 4500)))
}

test_ladder_95_routes_premium_and_standard_to_economy if {
	d := decide(team_at("frontier-xl", 4750))
	codes(d) == {"allowed", "budget_tier_down"}
	d.obligations == {"route": {"model": "economy-s"}}
	d2 := decide(team_at("standard-m", 4999))
	d2.obligations == {"route": {"model": "economy-s"}}
	allowed_only(decide(team_at("economy-s", 4999)))
}

test_ladder_message if {
	d := decide(team_at("frontier-xl", 4100))
	{r.message | some r in d.reasons; r.code == "budget_tier_down"} == {"team 'budget-test' has used 82% of its weekly token budget; premium model routed to standard-m"}
}

test_ladder_100_denied if {
	d := decide(team_at("economy-s", 5000))
	d.decision == "deny"
	codes(d) == {"team_budget_exhausted"}
	has_reason(d, "deny", "team_budget_exhausted", "ai.budgets.team_tier_ladder")
	d.obligations == {}
	d2 := decide(team_at("frontier-xl", 7000))
	codes(d2) == {"team_budget_exhausted"}
}

test_ladder_call_must_fit_the_remaining_budget if {
	fits := with_context(invoke(mia, "economy-s"), object.union(usage_of("team", "week", "tokens", 4899), {"estimate": {"tokens": 101}}))
	decide(fits).decision == "allow"
	over := with_context(invoke(mia, "economy-s"), object.union(usage_of("team", "week", "tokens", 4900), {"estimate": {"tokens": 101}}))
	codes(decide(over)) == {"team_budget_exhausted"}
}

test_ladder_default_team_budget_is_generous if {
	allowed_only(decide(with_context(invoke(rita, "frontier-xl"), usage_of("team", "week", "tokens", 1000000))))
}

test_ladder_uses_delegator_team if {
	a := {"id": "agent-research", "type": "agent", "on_behalf_of": mia}
	d := decide(with_context(invoke(a, "frontier-xl"), usage_of("team", "week", "tokens", 4000)))
	d.obligations == {"route": {"model": "standard-m"}}
}

test_ladder_zero_budget_denied if {
	cfg := json.patch(fixture_cfg, [{"op": "add", "path": "/budgets/team_weekly_tokens/by_team/budget-test", "value": 0}])
	d := decide_with(invoke(mia, "economy-s"), cfg)
	codes(d) == {"team_budget_exhausted"}
}

test_ladder_rungs_are_data_in_any_order if {
	cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/budgets/team_tier_ladder/rungs", "value": [
		{"at_ratio": 0.5, "route": {"premium": "economy-s"}},
		{"at_ratio": 0.2, "route": {"premium": "standard-m"}},
		{"at_ratio": "bad"},
	]}])
	decide_with(team_at("frontier-xl", 1500), cfg).obligations == {"route": {"model": "standard-m"}}
	decide_with(team_at("frontier-xl", 2500), cfg).obligations == {"route": {"model": "economy-s"}}
}

test_ladder_route_must_respect_classification if {
	req := with_params(team_at("standard-m", 4800), {"classification": "restricted"})
	d := decide(req)
	d.decision == "deny"
	codes(d) == {"tier_down_not_approved"}
	has_reason(d, "deny", "tier_down_not_approved", "ai.budgets.team_tier_ladder")
}

test_ladder_route_must_respect_framework if {
	req := with_params(team_at("frontier-xl", 4000), {"framework": "gdpr"})
	decide(req).obligations == {"route": {"model": "standard-m"}}
	req2 := with_params(team_at("frontier-xl", 4800), {"framework": "sox"})
	codes(decide(req2)) == {"tier_down_not_approved"}
}

test_ladder_requires_approval_keeps_route if {
	req := with_context(team_at("frontier-xl", 4000), {"usage": {
		"team": {"week": {"tokens": 4000}},
		"subject": {"month": {"cost": 5000}},
	}})
	d := decide(req)
	d.decision == "require_approval"
	d.obligations == {"route": {"model": "standard-m"}, "approval": {"approvers": ["role:team-lead"], "min_approvals": 1, "expires_in": "4h"}}
}

# ---------------------------------------------------------------------------
# Cost-center monthly cap.

test_cost_center_cap_edge if {
	allowed_only(decide(with_context(invoke(alice, "standard-m"), usage_of("cost_center", "month", "cost", 999999.5))))
	d := decide(with_context(invoke(alice, "standard-m"), usage_of("cost_center", "month", "cost", 999999.995)))
	codes(d) == {"cost_center_cap_exceeded"}
	has_reason(d, "deny", "cost_center_cap_exceeded", "ai.budgets.cost_center_monthly_cap")
}

test_cost_center_override if {
	cfg := json.patch(fixture_cfg, [{"op": "add", "path": "/budgets/cost_center_monthly_cap/by_cost_center/cc-100", "value": 5}])
	d := decide_with(with_context(invoke(alice, "standard-m"), usage_of("cost_center", "month", "cost", 5)), cfg)
	codes(d) == {"cost_center_cap_exceeded"}
}

# ---------------------------------------------------------------------------
# Seat spend: approval at 5000, cap at 20000 (usage + estimate).

test_seat_below_approval_allowed if {
	allowed_only(decide(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 4999.98))))
}

test_seat_approval if {
	d := decide(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 4999.995)))
	d.decision == "require_approval"
	codes(d) == {"seat_spend_approval"}
	has_reason(d, "require_approval", "seat_spend_approval", "ai.budgets.seat_spend")
	d.obligations == {"approval": {"approvers": ["role:team-lead"], "min_approvals": 1, "expires_in": "4h"}}
}

test_seat_approval_names_team_lead_from_data if {
	cfg := json.patch(fixture_cfg, [
		{"op": "replace", "path": "/budgets/seat_monthly_spend/approvers", "value": ["role:team-lead", "role:budget-owner", 7]},
		{"op": "add", "path": "/budgets/seat_monthly_spend/min_approvals", "value": 2},
		{"op": "add", "path": "/budgets/seat_monthly_spend/expires_in", "value": "24h"},
	])
	d := decide_with(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 5000)), cfg)
	d.obligations == {"approval": {"approvers": ["role:budget-owner", "role:team-lead"], "min_approvals": 2, "expires_in": "24h"}}
}

test_seat_approval_granted_allowed if {
	req := with_context(invoke(alice, "standard-m"), object.union(usage_of("subject", "month", "cost", 5000), approved))
	d := decide(req)
	d.decision == "allow"
	codes(d) == {"allowed", "approval_granted"}
	has_reason(d, "allow", "approval_granted", "ai.approval")
	d.obligations == {}
}

test_seat_cap_denies_despite_granted_approval if {
	req := with_context(invoke(alice, "standard-m"), object.union(usage_of("subject", "month", "cost", 20000), approved))
	d := decide(req)
	d.decision == "deny"
	codes(d) == {"seat_spend_cap"}
	d.obligations == {}
}

test_seat_cap if {
	d := decide(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 19999.995)))
	d.decision == "deny"
	codes(d) == {"seat_spend_cap"}
	has_reason(d, "deny", "seat_spend_cap", "ai.budgets.seat_spend")
}

test_seat_override if {
	cfg := json.patch(fixture_cfg, [{"op": "add", "path": "/budgets/seat_monthly_spend/by_subject/alice", "value": {"approval_at": 1, "cap_at": 2}}])
	decide_with(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 1)), cfg).decision == "require_approval"
	decide_with(with_context(invoke(alice, "standard-m"), usage_of("subject", "month", "cost", 2)), cfg).decision == "deny"
}

# ---------------------------------------------------------------------------
# Tool rate limits.

rate(req, tool_name, n) := with_context(req, {"history": {"tool_calls_last_minute": {tool_name: n}}})

test_tool_rate_default_limit if {
	allowed_only(decide(rate(tool(alice, "docs.read", {}), "docs.read", 59)))
	d := decide(rate(tool(alice, "docs.read", {}), "docs.read", 60))
	codes(d) == {"tool_rate_limited"}
	has_reason(d, "deny", "tool_rate_limited", "ai.budgets.tool_rate_limit")
}

test_tool_rate_per_tool_limit if {
	allowed_only(decide(rate(tool(fiona, "payments.transfer", {"amount": 1}), "payments.transfer", 9)))
	d := decide(rate(tool(fiona, "payments.transfer", {"amount": 1}), "payments.transfer", 10))
	codes(d) == {"tool_rate_limited"}
}

test_tool_rate_counts_only_that_tool if {
	allowed_only(decide(rate(tool(alice, "docs.read", {}), "search.web", 1000)))
}

test_tool_rate_for_exports if {
	d := decide(rate(export(alice, "sales"), "data.export", 60))
	codes(d) == {"tool_rate_limited"}
}

test_runaway_agent_loop_tripped if {
	d := decide(rate(tool(agent("agent-support-bot", alice), "search.web", {}), "search.web", 500))
	d.decision == "deny"
	codes(d) == {"tool_rate_limited"}
}

test_subject_budget_falls_back_to_max_tokens if {
	req := {
		"subject": alice,
		"action": {"type": "model.invoke", "model": "standard-m", "params": {"max_tokens": 1000}},
		"context": usage_of("subject", "week", "tokens", 4999500),
	}
	codes(decide(req)) == {"subject_budget_exhausted"}
	req2 := object.union(req, {"action": {"params": {"max_tokens": 500}}})
	allowed_only(decide(req2))
}
