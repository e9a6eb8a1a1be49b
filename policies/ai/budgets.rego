# Budgets and rate limits. Usage, estimates and history are supplied by the
# service in input.context; anything missing counts as zero, so a request
# without usage data is judged as the first one of the period.
package gavel.ai

usage := as_object(object.get(ctx, "usage", {}))

# usage.<scope>.<window>.<field>, zero when absent or not a number.
used(scope, window, field) := as_number(object.get(usage, [scope, window, field], 0))

estimate := as_object(object.get(ctx, "estimate", {}))

# Tokens of this call: the service's estimate, else the requested max_tokens.
estimate_tokens := t if {
	t := estimate.tokens
	is_number(t)
} else := as_number(object.get(params, "max_tokens", 0))

estimate_cost := as_number(object.get(estimate, "cost", 0))

history := as_object(object.get(ctx, "history", {}))

# A limit from data: the per-id override when there is one, else the default.
limit(block, overrides, id) := as_number(conf(["budgets", block, overrides, id], conf(["budgets", block, "default"], 0)))

budgeted if action_type == "model.invoke"

# ---------------------------------------------------------------------------
# Per-subject weekly tokens.

subject_token_limit := limit("subject_weekly_tokens", "by_subject", subject_id)

findings contains reason("deny", "subject_budget_exhausted", "ai.budgets.subject_weekly_tokens", msg) if {
	budgeted
	used("subject", "week", "tokens") + estimate_tokens > subject_token_limit
	msg := sprintf("subject's weekly token budget of %v would be exceeded", [subject_token_limit])
}

# ---------------------------------------------------------------------------
# Per-team tier ladder on the weekly token budget.

team_token_budget := limit("team_weekly_tokens", "by_team", billing_team)

team_ratio := used("team", "week", "tokens") / team_token_budget if team_token_budget > 0

ladder := as_object(conf(["budgets", "team_tier_ladder"], {}))

deny_at_ratio := as_number(object.get(ladder, "deny_at_ratio", 1))

team_exhausted if team_token_budget <= 0

team_exhausted if team_ratio >= deny_at_ratio

# The call itself must fit: the service reserves this estimate atomically with
# the check, so concurrent calls cannot together pass the budget.
team_exhausted if {
	team_token_budget > 0
	(used("team", "week", "tokens") + estimate_tokens) / team_token_budget > deny_at_ratio
}

percent(ratio) := round(ratio * 100)

findings contains reason("deny", "team_budget_exhausted", "ai.budgets.team_tier_ladder", msg) if {
	budgeted
	team_exhausted
	msg := sprintf("team '%s' has used its weekly token budget of %v", [billing_team, team_token_budget])
}

rungs := [r | some r in as_array(object.get(ladder, "rungs", [])); is_object(r); is_number(r.at_ratio)]

# The highest rung the team has reached (by threshold, whatever the list order).
active_rung := [r |
	some r in rungs
	r.at_ratio == max({x.at_ratio | some x in rungs; team_ratio >= x.at_ratio})
][0]

route_target := t if {
	budgeted
	not team_exhausted
	t := as_string(object.get(active_rung, ["route", requested_tier], ""))
	t != ""
	t != requested_model
}

route_obligation if route_target

# Routing must not send data to a model its classification or framework forbids.
route_target_approved if {
	approved_for_classification(route_target)
	approved_for_frameworks(route_target)
}

findings contains reason("allow", "budget_tier_down", "ai.budgets.team_tier_ladder", msg) if {
	route_target
	route_target_approved
	msg := sprintf("team '%s' has used %d%% of its weekly token budget; %s model routed to %s", [billing_team, percent(team_ratio), requested_tier, route_target])
}

findings contains reason("deny", "tier_down_not_approved", "ai.budgets.team_tier_ladder", msg) if {
	route_target
	not route_target_approved
	msg := sprintf("team '%s' must be routed to %s, which is not approved for this data", [billing_team, route_target])
}

# ---------------------------------------------------------------------------
# Per-cost-center monthly spend cap.

cost_center_cap := limit("cost_center_monthly_cap", "by_cost_center", billing_cost_center)

findings contains reason("deny", "cost_center_cap_exceeded", "ai.budgets.cost_center_monthly_cap", msg) if {
	budgeted
	used("cost_center", "month", "cost") + estimate_cost > cost_center_cap
	msg := sprintf("cost center '%s' would exceed its monthly cap of %v", [billing_cost_center, cost_center_cap])
}

# ---------------------------------------------------------------------------
# Per-seat monthly spend: approval first, then a hard cap.

seat := as_object(conf(["budgets", "seat_monthly_spend"], {}))

seat_threshold(key) := as_number(object.get(seat, ["by_subject", subject_id, key], object.get(seat, key, 0)))

seat_spend := used("subject", "month", "cost") + estimate_cost

seat_over_cap if seat_spend >= seat_threshold("cap_at")

seat_needs_approval if {
	seat_spend >= seat_threshold("approval_at")
	not seat_over_cap
}

findings contains reason("deny", "seat_spend_cap", "ai.budgets.seat_spend", msg) if {
	budgeted
	seat_over_cap
	msg := sprintf("subject's monthly spend would reach the cap of %v", [seat_threshold("cap_at")])
}

# Approval is asked of seat.approvers (the team lead); a granted approval
# lifts it, never the cap above.
approval_needed contains approval_request(finding, seat, rule_min_approvals(seat)) if {
	budgeted
	seat_needs_approval
	msg := sprintf("subject's monthly spend would reach the approval threshold of %v", [seat_threshold("approval_at")])
	finding := reason("require_approval", "seat_spend_approval", "ai.budgets.seat_spend", msg)
}

# ---------------------------------------------------------------------------
# Per-tool rate limits: a circuit breaker for runaway agent loops.

tool_calls_last_minute := as_number(object.get(history, ["tool_calls_last_minute", capability], 0))

tool_rate_limit := as_number(conf(
	["budgets", "tool_rate_limits", "by_tool", capability],
	conf(["budgets", "tool_rate_limits", "default_per_minute"], 0),
))

findings contains reason("deny", "tool_rate_limited", "ai.budgets.tool_rate_limit", msg) if {
	action_type in tool_actions
	tool_calls_last_minute >= tool_rate_limit
	msg := sprintf("tool '%s' was called %d times in the last minute (limit %v)", [capability, tool_calls_last_minute, tool_rate_limit])
}
