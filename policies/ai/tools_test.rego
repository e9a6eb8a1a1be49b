# Tool payload rules: amount thresholds, restricted exports, risky tools.
package gavel.ai_test

# ---------------------------------------------------------------------------
# payments.transfer.

test_finance_small_transfer_allowed if {
	allowed_only(decide(tool(fiona, "payments.transfer", {"amount": 2500})))
}

test_finance_transfer_at_threshold_allowed if {
	allowed_only(decide(tool(fiona, "payments.transfer", {"amount": 10000})))
}

test_finance_large_transfer_needs_approval if {
	d := decide(tool(fiona, "payments.transfer", {"amount": 10000.01}))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval"}
	has_reason(d, "require_approval", "amount_requires_approval", "ai.tools.amount_threshold")
	d.obligations == {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 1, "expires_in": "4h"}}
}

test_finance_transfer_above_threshold_needs_one_finance_manager if {
	d := decide(tool(fiona, "payments.transfer", {"amount": 10001}))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval"}
	d.obligations == {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 1, "expires_in": "4h"}}
}

test_finance_transfer_above_100000_needs_two_approvers if {
	d := decide(tool(fiona, "payments.transfer", {"amount": 100001}))
	d.decision == "require_approval"
	codes(d) == {"amount_requires_approval"}
	d.obligations == {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 2, "expires_in": "4h"}}
	decide(tool(fiona, "payments.transfer", {"amount": 100000})).obligations.approval.min_approvals == 1
}

test_two_approvers_threshold_is_data if {
	lower := json.patch(fixture_cfg, [{"op": "replace", "path": "/tools/amount_thresholds/payments.transfer/two_approvers_above", "value": 20000}])
	decide_with(tool(fiona, "payments.transfer", {"amount": 25000}), lower).obligations.approval.min_approvals == 2
	unset := json.patch(fixture_cfg, [{"op": "remove", "path": "/tools/amount_thresholds/payments.transfer/two_approvers_above"}])
	decide_with(tool(fiona, "payments.transfer", {"amount": 250000}), unset).obligations.approval.min_approvals == 1
	bad := json.patch(fixture_cfg, [{"op": "replace", "path": "/tools/amount_thresholds/payments.transfer/two_approvers_above", "value": "100000"}])
	decide_with(tool(fiona, "payments.transfer", {"amount": 250000}), bad).obligations.approval.min_approvals == 1
}

# A rule's own min_approvals and expires_in win over the defaults; above
# two_approvers_above the larger of 2 and min_approvals applies.
test_amount_rule_min_approvals_and_expiry_are_data if {
	cfg := json.patch(fixture_cfg, [
		{"op": "add", "path": "/tools/amount_thresholds/payments.transfer/min_approvals", "value": 3},
		{"op": "add", "path": "/tools/amount_thresholds/payments.transfer/expires_in", "value": "30m"},
	])
	decide_with(tool(fiona, "payments.transfer", {"amount": 25000}), cfg).obligations == {"approval": {"approvers": ["role:finance-manager"], "min_approvals": 3, "expires_in": "30m"}}
	decide_with(tool(fiona, "payments.transfer", {"amount": 250000}), cfg).obligations.approval.min_approvals == 3
}

test_non_finance_transfer_denied if {
	d := decide(tool(alice, "payments.transfer", {"amount": 5}))
	d.decision == "deny"
	codes(d) == {"tool_not_permitted"}
}

test_transfer_without_amount_denied if {
	d := decide(tool(fiona, "payments.transfer", {}))
	d.decision == "deny"
	codes(d) == {"amount_invalid"}
	has_reason(d, "deny", "amount_invalid", "ai.tools.amount_threshold")
}

test_transfer_with_string_amount_denied if {
	d := decide(tool(fiona, "payments.transfer", {"amount": "25000"}))
	codes(d) == {"amount_invalid"}
}

test_transfer_with_negative_amount_denied if {
	d := decide(tool(fiona, "payments.transfer", {"amount": -1}))
	codes(d) == {"amount_invalid"}
}

test_threshold_is_data if {
	cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/tools/amount_thresholds/payments.transfer/approve_above", "value": 100}])
	d := decide_with(tool(fiona, "payments.transfer", {"amount": 2500}), cfg)
	d.decision == "require_approval"
}

test_threshold_defaults_to_10000 if {
	cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/tools/amount_thresholds/payments.transfer", "value": {"approvers": ["x"]}}])
	allowed_only(decide_with(tool(fiona, "payments.transfer", {"amount": 10000}), cfg))
	d := decide_with(tool(fiona, "payments.transfer", {"amount": 10001}), cfg)
	d.decision == "require_approval"
	d.obligations == {"approval": {"approvers": ["x"], "min_approvals": 1, "expires_in": "4h"}}
}

# ---------------------------------------------------------------------------
# data.export.

test_export_allowed if {
	allowed_only(decide(export(alice, "sales_aggregates")))
}

test_restricted_export_denied if {
	d := decide(export(alice, "customer_pii"))
	codes(d) == {"restricted_data_export"}
	has_reason(d, "deny", "restricted_data_export", "ai.data_export.restricted_category")
	d2 := decide(export(alice, "health_records"))
	codes(d2) == {"restricted_data_export"}
}

test_export_without_category_denied if {
	d := decide({"subject": alice, "action": {"type": "data.export"}})
	codes(d) == {"export_category_missing"}
	has_reason(d, "deny", "export_category_missing", "ai.data_export.restricted_category")
}

test_export_needs_grant if {
	d := decide(export(rita, "sales_aggregates"))
	codes(d) == {"tool_not_permitted"}
}

# ---------------------------------------------------------------------------
# Risky tools.

test_shell_exec_in_prod_denied if {
	d := decide(tool(erin, "shell.exec", {"command": "ls"}))
	codes(d) == {"risky_tool_environment"}
	has_reason(d, "deny", "risky_tool_environment", "ai.tools.risky_environment")
}

test_fs_delete_without_environment_denied if {
	d := decide({"subject": erin, "action": {"type": "tool.call", "tool": "fs.delete"}})
	codes(d) == {"risky_tool_environment"}
}

test_risky_tools_allowed_in_dev_and_sandbox if {
	allowed_only(decide(with_context(tool(erin, "shell.exec", {}), {"environment": "dev"})))
	allowed_only(decide(with_context(tool(erin, "fs.delete", {}), {"environment": "sandbox"})))
}

test_risky_tool_needs_grant_too if {
	d := decide(with_context(tool(alice, "shell.exec", {}), {"environment": "dev"}))
	codes(d) == {"tool_not_permitted"}
}

test_non_risky_tool_in_prod_allowed if {
	allowed_only(decide(tool(erin, "fs.read", {})))
}
