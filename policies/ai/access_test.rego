# Role/team grants, the agent registry and on_behalf_of limits.
package gavel.ai_test

# ---------------------------------------------------------------------------
# Models by role and team.

test_employee_may_use_standard_and_economy if {
	allowed_only(decide(invoke(alice, "standard-m")))
	allowed_only(decide(invoke(alice, "economy-s")))
}

test_employee_denied_frontier if {
	d := decide(invoke(alice, "frontier-xl"))
	d.decision == "deny"
	codes(d) == {"model_not_permitted"}
	has_reason(d, "deny", "model_not_permitted", "ai.models.role_access")
}

test_research_role_may_use_frontier if {
	allowed_only(decide(invoke(rita, "frontier-xl")))
}

test_ml_engineer_may_use_frontier if {
	allowed_only(decide(invoke(object.union(mia, {"team": "platform"}), "frontier-xl")))
}

test_research_team_may_use_frontier if {
	allowed_only(decide(invoke(tom, "frontier-xl")))
}

test_user_without_roles_denied if {
	d := decide(invoke({"id": "nobody", "type": "user"}, "economy-s"))
	codes(d) == {"model_not_permitted"}
}

# ---------------------------------------------------------------------------
# Tools by role.

test_employee_may_call_granted_tool if {
	allowed_only(decide(tool(alice, "docs.read", {})))
}

test_employee_denied_ungranted_tool if {
	d := decide(tool(alice, "ledger.read", {}))
	codes(d) == {"tool_not_permitted"}
	has_reason(d, "deny", "tool_not_permitted", "ai.tools.role_access")
}

test_tool_call_without_tool_denied if {
	d := decide({"subject": alice, "action": {"type": "tool.call"}})
	d.decision == "deny"
	codes(d) == {"tool_not_permitted"}
}

# ---------------------------------------------------------------------------
# Agents.

test_registered_agent_without_user_may_use_its_tools if {
	allowed_only(decide(tool({"id": "agent-support-bot", "type": "agent"}, "search.web", {})))
}

test_registered_agent_without_user_may_use_its_models if {
	allowed_only(decide(invoke({"id": "agent-research", "type": "agent"}, "frontier-xl")))
}

test_agent_not_registered if {
	d := decide(invoke({"id": "agent-unknown", "type": "agent", "on_behalf_of": alice}, "standard-m"))
	codes(d) == {"agent_not_registered"}
	has_reason(d, "deny", "agent_not_registered", "ai.agents.registry")
}

test_agent_without_id_not_registered if {
	d := decide(tool({"type": "agent"}, "docs.read", {}))
	codes(d) == {"agent_not_registered"}
}

test_agent_roles_grant_nothing if {
	d := decide(tool({"id": "agent-support-bot", "type": "agent", "roles": ["finance"]}, "payments.transfer", {"amount": 1}))
	codes(d) == {"agent_tool_not_permitted"}
	has_reason(d, "deny", "agent_tool_not_permitted", "ai.agents.tools")
}

test_agent_model_not_registered if {
	d := decide(invoke(agent("agent-support-bot", rita), "frontier-xl"))
	codes(d) == {"agent_model_not_permitted"}
	has_reason(d, "deny", "agent_model_not_permitted", "ai.agents.models")
}

test_agent_never_exceeds_user_model if {
	d := decide(invoke(agent("agent-research", alice), "frontier-xl"))
	codes(d) == {"on_behalf_of_not_permitted"}
	has_reason(d, "deny", "on_behalf_of_not_permitted", "ai.agents.on_behalf_of_model")
}

test_agent_with_capable_user_may_use_model if {
	allowed_only(decide(invoke(agent("agent-research", rita), "frontier-xl")))
}

test_agent_never_exceeds_user_tool if {
	d := decide(tool(agent("agent-research", alice), "notebook.run", {}))
	codes(d) == {"on_behalf_of_not_permitted"}
	has_reason(d, "deny", "on_behalf_of_not_permitted", "ai.agents.on_behalf_of_tool")
}

test_agent_and_user_both_lacking_tool if {
	d := decide(tool(agent("agent-support-bot", alice), "payments.transfer", {"amount": 1}))
	codes(d) == {"agent_tool_not_permitted", "on_behalf_of_not_permitted"}
}

test_agent_run_by_roles_satisfied if {
	allowed_only(decide(tool(agent("agent-finance-ops", fiona), "ledger.read", {})))
}

test_agent_run_by_roles_violated if {
	d := decide(tool(agent("agent-finance-ops", alice), "ledger.read", {}))
	"agent_delegation_not_permitted" in codes(d)
	has_reason(d, "deny", "agent_delegation_not_permitted", "ai.agents.delegation")
}

test_agent_run_by_roles_needs_a_user if {
	d := decide(tool({"id": "agent-finance-ops", "type": "agent"}, "ledger.read", {}))
	codes(d) == {"agent_delegation_not_permitted"}
}

test_delegated_export_needs_user_grant if {
	cfg := json.patch(fixture_cfg, [{
		"op": "add",
		"path": "/agents/registry/agent-exporter",
		"value": {"models": [], "tools": ["data.export"]},
	}])
	allowed_only(decide_with(export(agent("agent-exporter", alice), "sales"), cfg))
	d := decide_with(export(agent("agent-exporter", rita), "sales"), cfg)
	codes(d) == {"on_behalf_of_not_permitted"}
}

test_service_on_behalf_of_is_limited_too if {
	svc := {"id": "svc", "type": "service", "roles": ["research"], "on_behalf_of": alice}
	d := decide(invoke(svc, "frontier-xl"))
	codes(d) == {"on_behalf_of_not_permitted"}
}

test_malformed_on_behalf_of_narrows if {
	d := decide(invoke({"id": "agent-support-bot", "type": "agent", "on_behalf_of": "alice"}, "standard-m"))
	codes(d) == {"on_behalf_of_not_permitted"}
}
