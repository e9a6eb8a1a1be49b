# Model catalogue, classification and compliance-framework approvals.
package gavel.ai_test

test_unknown_model_denied if {
	d := decide(invoke(rita, "gpt-imaginary"))
	d.decision == "deny"
	codes(d) == {"unknown_model"}
	has_reason(d, "deny", "unknown_model", "ai.models.unknown_model")
}

test_missing_model_denied if {
	d := decide({"subject": alice, "action": {"type": "model.invoke"}})
	codes(d) == {"unknown_model"}
}

test_non_string_model_denied if {
	d := decide(object.union(invoke(alice, "standard-m"), {"action": {"model": ["standard-m"]}}))
	codes(d) == {"unknown_model"}
}

# A model added to pricing is known, but stays unusable until it is granted
# and approved for the data classification.
test_added_pricing_model_is_known if {
	pricing := json.patch(fixture_pricing, [{"op": "add", "path": "/models/tiny-x", "value": {"tier": "economy", "input_per_1k": "0.0001", "output_per_1k": "0.0002"}}])
	granted := json.patch(fixture_cfg, [{"op": "add", "path": "/access/roles/research/models/-", "value": "tiny-x"}])
	d1 := data.gavel.ai.decision with input as invoke(rita, "tiny-x")
		with data.gavel.ai_config as granted
		with data.gavel.pricing as pricing
	codes(d1) == {"model_not_approved_for_classification"}
	approved := json.patch(granted, [{"op": "add", "path": "/models/by_classification/internal/-", "value": "tiny-x"}])
	d2 := data.gavel.ai.decision with input as invoke(rita, "tiny-x")
		with data.gavel.ai_config as approved
		with data.gavel.pricing as pricing
	allowed_only(d2)
}

# ---------------------------------------------------------------------------
# Classification.

test_default_classification_allows_all_models if {
	allowed_only(decide(invoke(rita, "frontier-xl")))
}

test_confidential_allows_frontier if {
	allowed_only(decide(with_params(invoke(rita, "frontier-xl"), {"classification": "confidential"})))
}

test_confidential_rejects_economy if {
	d := decide(with_params(invoke(rita, "economy-s"), {"classification": "confidential"}))
	codes(d) == {"model_not_approved_for_classification"}
	has_reason(d, "deny", "model_not_approved_for_classification", "ai.models.classification")
}

test_restricted_only_standard if {
	allowed_only(decide(with_params(invoke(rita, "standard-m"), {"classification": "restricted"})))
	d := decide(with_params(invoke(rita, "frontier-xl"), {"classification": "restricted"}))
	codes(d) == {"model_not_approved_for_classification"}
}

test_unknown_classification_denied if {
	d := decide(with_params(invoke(rita, "standard-m"), {"classification": "top-secret"}))
	codes(d) == {"unknown_classification"}
	has_reason(d, "deny", "unknown_classification", "ai.models.unknown_classification")
}

test_non_string_classification_uses_default if {
	allowed_only(decide(with_params(invoke(rita, "economy-s"), {"classification": 3})))
}

# ---------------------------------------------------------------------------
# Frameworks.

test_hipaa_allows_standard if {
	allowed_only(decide(with_params(invoke(rita, "standard-m"), {"framework": "hipaa"})))
}

test_hipaa_rejects_frontier if {
	d := decide(with_params(invoke(rita, "frontier-xl"), {"framework": "hipaa"}))
	codes(d) == {"model_not_approved_for_framework"}
	has_reason(d, "deny", "model_not_approved_for_framework", "ai.models.framework")
}

test_framework_list_needs_every_framework if {
	allowed_only(decide(with_params(invoke(rita, "frontier-xl"), {"framework": ["gdpr", "sox"]})))
	d := decide(with_params(invoke(rita, "frontier-xl"), {"framework": ["gdpr", "pci"]}))
	codes(d) == {"model_not_approved_for_framework"}
}

test_unknown_framework_denied if {
	d := decide(with_params(invoke(rita, "standard-m"), {"framework": "itar"}))
	codes(d) == {"unknown_framework"}
	has_reason(d, "deny", "unknown_framework", "ai.models.unknown_framework")
}

test_frameworks_ignored_for_tools if {
	allowed_only(decide(tool(alice, "docs.read", {"framework": "itar", "classification": "top-secret"})))
}
