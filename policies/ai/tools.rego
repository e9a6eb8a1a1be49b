# Tool calls and exports judged on their payload: amount thresholds that need
# approval, restricted export categories and risky tools outside safe
# environments.
package gavel.ai

# ---------------------------------------------------------------------------
# Amount thresholds (e.g. payments.transfer above 10000 needs a finance
# manager's approval, above 100000 two of them).

amount_rule := as_object(conf(["tools", "amount_thresholds", capability], {})) if action_type == "tool.call"

amount_rule_applies if count(amount_rule) > 0

amount_param := as_string(object.get(amount_rule, "param", "amount"))

amount := params[amount_param]

amount_valid if {
	is_number(amount)
	amount >= 0
}

findings contains reason("deny", "amount_invalid", "ai.tools.amount_threshold", msg) if {
	amount_rule_applies
	not amount_valid
	msg := sprintf("tool '%s' needs a non-negative number in params.%s", [capability, amount_param])
}

amount_approval_limit := as_number(object.get(amount_rule, "approve_above", 10000))

# Above two_approvers_above (when set) two distinct approvers must approve.
amount_needs_two if {
	two := object.get(amount_rule, "two_approvers_above", null)
	is_number(two)
	amount > two
}

amount_min_approvals := max({2, rule_min_approvals(amount_rule)}) if amount_needs_two

else := rule_min_approvals(amount_rule)

approval_needed contains approval_request(finding, amount_rule, amount_min_approvals) if {
	amount_rule_applies
	amount_valid
	amount > amount_approval_limit
	msg := sprintf("params.%s of tool '%s' is above the approval threshold of %v", [amount_param, capability, amount_approval_limit])
	finding := reason("require_approval", "amount_requires_approval", "ai.tools.amount_threshold", msg)
}

# ---------------------------------------------------------------------------
# Exports of restricted data categories.

export_category := c if {
	c := params.category
	is_string(c)
} else := ""

findings contains reason("deny", "export_category_missing", "ai.data_export.restricted_category", msg) if {
	action_type == "data.export"
	export_category == ""
	msg := "data.export must name params.category"
}

findings contains reason("deny", "restricted_data_export", "ai.data_export.restricted_category", msg) if {
	action_type == "data.export"
	export_category in string_set(conf(["data_export", "restricted_categories"], []))
	msg := sprintf("data category '%s' may not be exported", [export_category])
}

# ---------------------------------------------------------------------------
# Risky tools only run in sandboxed environments.

environment := as_string(object.get(ctx, "environment", ""))

findings contains reason("deny", "risky_tool_environment", "ai.tools.risky_environment", msg) if {
	action_type == "tool.call"
	capability in string_set(conf(["tools", "risky"], []))
	allowed := string_set(conf(["tools", "risky_allowed_environments"], []))
	not environment in allowed
	msg := sprintf("tool '%s' may only run in %s, not in '%s'", [capability, concat(", ", sort(allowed)), environment])
}
