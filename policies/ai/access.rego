# Who may use which model and tool: role/team grants for users and services,
# the agent registry for agents, and the on_behalf_of user for delegated
# requests (an agent never gets more than the user it acts for).
package gavel.ai

# ---------------------------------------------------------------------------
# Grants by role and team.

granted(p, kind) := {item |
	some role in p.roles
	some item in string_set(conf(["access", "roles", role, kind], []))
} | {item | some item in string_set(conf(["access", "teams", p.team, kind], []))}

principal_may_use_model(p) if requested_model in granted(p, "models")

principal_may_use_capability(p) if capability in granted(p, "tools")

# ---------------------------------------------------------------------------
# Agent registry.

is_agent if subject_type == "agent"

agent_entry := as_object(conf(["agents", "registry", subject_id], {}))

agent_registered if {
	subject_id != ""
	is_object(conf(["agents", "registry", subject_id], null))
}

agent_run_by_roles := string_set(object.get(agent_entry, "run_by_roles", []))

# An agent limited to some roles may only run for a user holding one of them.
agent_delegation_ok if count(agent_run_by_roles) == 0

agent_delegation_ok if {
	has_delegator
	count(agent_run_by_roles & delegator.roles) > 0
}

agent_may_run if not is_agent

agent_may_run if {
	is_agent
	agent_registered
	agent_delegation_ok
}

findings contains reason("deny", "agent_not_registered", "ai.agents.registry", msg) if {
	is_agent
	not agent_registered
	msg := sprintf("agent '%s' is not registered", [subject_id])
}

findings contains reason("deny", "agent_delegation_not_permitted", "ai.agents.delegation", msg) if {
	is_agent
	agent_registered
	not agent_delegation_ok
	msg := sprintf("agent '%s' may only run on behalf of a user with role %s", [subject_id, concat(" or ", sort(agent_run_by_roles))])
}

# ---------------------------------------------------------------------------
# Models.

subject_may_use_model if {
	not is_agent
	principal_may_use_model(subject_principal)
}

subject_may_use_model if {
	is_agent
	requested_model in string_set(object.get(agent_entry, "models", []))
}

delegator_may_use_model if not has_delegator

delegator_may_use_model if principal_may_use_model(delegator)

findings contains reason("deny", "model_not_permitted", "ai.models.role_access", msg) if {
	action_type == "model.invoke"
	model_known
	not is_agent
	not principal_may_use_model(subject_principal)
	msg := sprintf("no role or team of the subject grants model '%s'", [requested_model])
}

findings contains reason("deny", "agent_model_not_permitted", "ai.agents.models", msg) if {
	action_type == "model.invoke"
	model_known
	agent_registered
	is_agent
	not subject_may_use_model
	msg := sprintf("agent '%s' is not registered for model '%s'", [subject_id, requested_model])
}

findings contains reason("deny", "on_behalf_of_not_permitted", "ai.agents.on_behalf_of_model", msg) if {
	action_type == "model.invoke"
	model_known
	not delegator_may_use_model
	msg := sprintf("the user acted for (on_behalf_of) may not use model '%s'", [requested_model])
}

# ---------------------------------------------------------------------------
# Tools (and data.export, which needs the capability "data.export").

subject_may_use_capability if {
	not is_agent
	principal_may_use_capability(subject_principal)
}

subject_may_use_capability if {
	is_agent
	capability in string_set(object.get(agent_entry, "tools", []))
}

delegator_may_use_capability if not has_delegator

delegator_may_use_capability if principal_may_use_capability(delegator)

findings contains reason("deny", "tool_not_permitted", "ai.tools.role_access", msg) if {
	action_type in tool_actions
	not is_agent
	not principal_may_use_capability(subject_principal)
	msg := sprintf("no role or team of the subject grants tool '%s'", [capability])
}

findings contains reason("deny", "agent_tool_not_permitted", "ai.agents.tools", msg) if {
	action_type in tool_actions
	agent_registered
	is_agent
	not subject_may_use_capability
	msg := sprintf("agent '%s' is not registered for tool '%s'", [subject_id, capability])
}

findings contains reason("deny", "on_behalf_of_not_permitted", "ai.agents.on_behalf_of_tool", msg) if {
	action_type in tool_actions
	not delegator_may_use_capability
	msg := sprintf("the user acted for (on_behalf_of) may not call tool '%s'", [capability])
}
