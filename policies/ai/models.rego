# The model catalogue (data.gavel.pricing.models) and which models are
# approved for a data classification and for compliance frameworks.
package gavel.ai

requested_model := as_string(object.get(action, "model", ""))

model_known if {
	requested_model != ""
	is_object(pricing_models[requested_model])
}

model_tier(m) := as_string(object.get(pricing_models, [m, "tier"], ""))

requested_tier := model_tier(requested_model)

findings contains reason("deny", "unknown_model", "ai.models.unknown_model", msg) if {
	action_type == "model.invoke"
	not model_known
	msg := sprintf("model '%s' is not in the model catalogue", [requested_model])
}

# ---------------------------------------------------------------------------
# Data classification: a request without one is judged as the default class.

classification := c if {
	c := params.classification
	is_string(c)
} else := as_string(conf(["models", "default_classification"], ""))

classification_known if is_array(conf(["models", "by_classification", classification], null))

approved_for_classification(m) if m in string_set(conf(["models", "by_classification", classification], []))

findings contains reason("deny", "unknown_classification", "ai.models.unknown_classification", msg) if {
	action_type == "model.invoke"
	not classification_known
	msg := sprintf("data classification '%s' is not known", [classification])
}

findings contains reason("deny", "model_not_approved_for_classification", "ai.models.classification", msg) if {
	action_type == "model.invoke"
	model_known
	classification_known
	not approved_for_classification(requested_model)
	msg := sprintf("model '%s' is not approved for %s data", [requested_model, classification])
}

# ---------------------------------------------------------------------------
# Compliance frameworks: one name or a list; every one must approve the model.

frameworks := {f | some f in [params.framework]; is_string(f)} | string_set(object.get(params, "framework", []))

framework_known(f) if is_array(conf(["models", "by_framework", f], null))

approved_for_frameworks(m) if {
	every f in frameworks {
		m in string_set(conf(["models", "by_framework", f], []))
	}
}

findings contains reason("deny", "unknown_framework", "ai.models.unknown_framework", msg) if {
	action_type == "model.invoke"
	some f in frameworks
	not framework_known(f)
	msg := sprintf("compliance framework '%s' is not known", [f])
}

findings contains reason("deny", "model_not_approved_for_framework", "ai.models.framework", msg) if {
	action_type == "model.invoke"
	model_known
	some f in frameworks
	framework_known(f)
	not requested_model in string_set(conf(["models", "by_framework", f], []))
	msg := sprintf("model '%s' is not approved under %s", [requested_model, f])
}
