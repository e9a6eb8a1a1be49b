# Human approvals: what an approval-requiring rule asks for, and what an
# approval the service injects does to it.
#
# A rule that needs approval does not add its require_approval finding to
# `findings` directly: it adds an entry to `approval_needed` (the finding plus
# the approvers, min_approvals and expires_in it asks for). The findings are
# emitted unless a matching approved approval is present, in which case one
# approval_granted (allow) finding replaces them. Deny rules are unaffected.
#
# input.context.approval is set by the server, never by the caller:
# {"id", "state": pending|approved|rejected|expired|consumed, "approvers", "matches"}
# where matches says whether the approval was given for exactly this action.
package gavel.ai

approvals_cfg := as_object(conf(["approvals"], {}))

# A positive whole number from data, else the fallback.
count_or(x, fallback) := x if {
	is_number(x)
	x >= 1
	round(x) == x
} else := fallback

# A non-empty string from data, else the fallback.
text_or(x, fallback) := x if {
	is_string(x)
	x != ""
} else := fallback

default_min_approvals := count_or(object.get(approvals_cfg, "default_min_approvals", 1), 1)

default_expires_in := text_or(object.get(approvals_cfg, "default_expires_in", "4h"), "4h")

# The entry an approval-requiring rule adds to approval_needed; rule_cfg is
# the rule's data block (approvers, min_approvals, expires_in).
approval_request(finding, rule_cfg, needed) := {
	"finding": finding,
	"approvers": string_set(object.get(rule_cfg, "approvers", [])),
	"min_approvals": needed,
	"expires_in": text_or(object.get(rule_cfg, "expires_in", ""), default_expires_in),
}

# The approvals a rule's data block asks for (min_approvals, else the default).
rule_min_approvals(rule_cfg) := count_or(object.get(rule_cfg, "min_approvals", 0), default_min_approvals)

approval_requested if count(approval_needed) > 0

# ---------------------------------------------------------------------------
# The injected approval (wrong types are treated as absent).

approval := as_object(object.get(ctx, "approval", {}))

approval_present if count(approval) > 0

approval_id := as_string(object.get(approval, "id", ""))

approval_state := as_string(object.get(approval, "state", ""))

# Strict: matches must be the boolean true, not "true" or 1.
approval_matches if approval.matches == true

approval_granted if {
	approval.state == "approved"
	approval.matches == true
}

# ---------------------------------------------------------------------------
# Findings.

findings contains n.finding if {
	some n in approval_needed
	not approval_granted
}

# What an approval for exactly this action does, by its state.
approval_state_reasons := {
	"approved": {"effect": "allow", "code": "approval_granted", "message": "approval '%s' was granted for this action"},
	"pending": {"effect": "require_approval", "code": "approval_pending", "message": "approval '%s' is still pending"},
	"rejected": {"effect": "deny", "code": "approval_rejected", "message": "approval '%s' was rejected"},
	"expired": {"effect": "require_approval", "code": "approval_expired", "message": "approval '%s' has expired; a new approval is needed"},
	"consumed": {"effect": "require_approval", "code": "approval_consumed", "message": "approval '%s' was already used; a new approval is needed"},
}

findings contains reason(s.effect, s.code, "ai.approval", sprintf(s.message, [approval_id])) if {
	approval_requested
	approval_matches
	s := approval_state_reasons[approval_state]
}

findings contains reason("require_approval", "approval_mismatch", "ai.approval", msg) if {
	approval_requested
	approval_present
	not approval_matches
	msg := sprintf("approval '%s' was given for a different action", [approval_id])
}

# ---------------------------------------------------------------------------
# The approval obligation, while approval is still needed.

approvers := {a | some n in approval_needed; some a in n.approvers}

min_approvals := max({n.min_approvals | some n in approval_needed})

# With several rules, the expiry of the first by rule id (then code).
approval_expires_in := [k[2] |
	some k in sort([[n.finding.rule, n.finding.code, n.expires_in] | some n in approval_needed])
][0]

obligation_parts["approval"] := {
	"approvers": sort(approvers),
	"min_approvals": min_approvals,
	"expires_in": approval_expires_in,
} if {
	approval_requested
	not approval_granted
}
