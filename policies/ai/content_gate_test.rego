# The gates in front of the personal-data regexes (requires, min_digits):
# they skip strings that cannot match, and lose no match at their edges.
package gavel.ai_test

import data.gavel.ai

# The committed detectors, as the policy reads them.
committed_detectors := ds if {
	ds := ai.pii_detectors with data.gavel.ai_config as fixture_cfg
}

# A detector's matches through its gate, as the policy computes them.
gated(d, s) := ms if {
	ms := ai.pii_matches(d, s, ai.digit_count(s)) with data.gavel.ai_config as fixture_cfg
}

# The same detector with no gate: its regex on the whole string.
ungated(d, s) := regex.find_all_string_submatch_n(d.pattern, s, 51)

# Strings at the edges of every gate: a match at the very start or end of the
# string or alone in it, exactly the fewest digits a detector needs, every
# separator the patterns accept, and one digit short of a gate.
gate_edge_strings := [
	"jane.doe@example.com",
	"jane.doe@example.com wrote",
	"write to jane.doe@example.com",
	"a@b.co",
	"@",
	"no at sign: jane.doe(at)example.com",
	"555-867-5309",
	"(555) 867-5309",
	"(555)867-5309",
	"555.867.5309",
	"555 867 5309",
	"555867-5309",
	"call 555-867-5309",
	"555-867-530",
	"+1234",
	"+1 2 34",
	"+1 2 3",
	"+44 (20) 7946-0958",
	"+1-415-555-0100.",
	"4111 1111 1111 1111",
	"4111-1111-1111-1111",
	"4111111111111111",
	"4222222222222",
	"422222222222",
	"3782 822463 10005",
	"card 4111 1111 1111 1111",
	"4111 1111 1111",
	"078-05-1120",
	"SSN 078-05-1120.",
	"078 05 1120",
	"07-805-1120",
	"078.05.1120",
	"SSN 078.05.1120.",
	"078.05-1120",
	"AB 12 34 56 C",
	"AB123456C",
	"AB 12 34 5 C",
	"x AB 12 34 56 C",
	"\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",
	"Summarise the attached meeting notes in three bullet points.",
	"",
]

test_gates_lose_no_match if {
	every s in gate_edge_strings {
		every d in committed_detectors {
			gated(d, s) == ungated(d, s)
		}
	}
}

# The gates do close: on the benchmark's prompt, and one digit short of a
# detector's minimum, its regex is skipped.
test_gates_close_on_text_that_cannot_match if {
	every d in committed_detectors {
		not ai.pii_gate_open(d, "Summarise the attached meeting notes in three bullet points.", 0)
	}
}

test_gate_opens_at_min_digits if {
	some card in committed_detectors
	card.id == "payment_card"
	not ai.pii_gate_open(card, "422222222222", 12)
	ai.pii_gate_open(card, "4222222222222", 13)
}

test_gate_needs_a_required_string if {
	some email in committed_detectors
	email.id == "email"
	not ai.pii_gate_open(email, "jane.doe(at)example.com", 0)
	ai.pii_gate_open(email, "@", 0)
}

test_digit_count if {
	ai.digit_count("") == 0
	ai.digit_count("no digits") == 0
	ai.digit_count("a1b22-333") == 6
	ai.digit_count("0123456789") == 10
	ai.digit_count("é1ü2") == 2

	# Only ASCII digits count: RE2's \d matches nothing else.
	ai.digit_count("\u0661\u0662\u0663") == 0
}

# Whole decisions: matches at the edges of a string and with separators are
# still redacted.
test_email_at_start_and_end_redacted if {
	redactions_of("jane.doe@example.com") == [{"path": "/content/prompt", "kind": "email", "match": "jane.doe@example.com"}]
	redactions_of("a@b.co wrote to c@d.io") == [
		{"path": "/content/prompt", "kind": "email", "match": "a@b.co"},
		{"path": "/content/prompt", "kind": "email", "match": "c@d.io"},
	]
}

test_phone_with_separators_redacted if {
	every p in ["555-867-5309", "(555) 867-5309", "555.867.5309", "555 867 5309"] {
		redactions_of(p) == [{"path": "/content/prompt", "kind": "phone", "match": p}]
	}
}

test_shortest_international_phone_redacted if {
	redactions_of("dial +1234") == [{"path": "/content/prompt", "kind": "phone", "match": "+1234"}]
}

test_card_with_spaces_and_shortest_card_redacted if {
	redactions_of("card 4111 1111 1111 1111") == [{"path": "/content/prompt", "kind": "card", "match": "4111 1111 1111 1111"}]
	redactions_of("4222222222222") == [{"path": "/content/prompt", "kind": "card", "match": "4222222222222"}]
}

test_national_ids_at_min_digits_redacted if {
	redactions_of("078-05-1120") == [{"path": "/content/prompt", "kind": "national_id", "match": "078-05-1120"}]
	redactions_of("AB123456C") == [{"path": "/content/prompt", "kind": "national_id", "match": "AB123456C"}]
}

# A key is gated as a string is.
test_key_with_phone_redacts_object if {
	inp := object.union(invoke(alice, "standard-m"), {"content": {"meta": {"555-867-5309": "x"}}})
	decide(inp).redactions == [{"path": "/content/meta", "kind": "personal_data"}]
}

# A gate that is absent or malformed never skips the regex: the detector runs
# on every string.
test_malformed_gate_runs_the_regex if {
	every gate in [{}, {"requires": []}, {"requires": [5]}, {"requires": "zzz"}, {"min_digits": "99"}, {"min_digits": null}] {
		det := object.union({"id": "custom", "kind": "email", "pattern": "[a-z]+@x\\.io"}, gate)
		cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/content/pii_detectors", "value": [det]}])
		d := decide_with(with_prompt(invoke(alice, "standard-m"), "mail ann@x.io"), cfg)
		d.redactions == [{"path": "/content/prompt", "kind": "email", "match": "ann@x.io"}]
	}
}

# A gate that cannot be met skips the regex, even where it would match: the
# gate is trusted, so it must hold for every match of its pattern.
test_gate_is_trusted if {
	det := {"id": "custom", "kind": "email", "pattern": "[a-z]+@x\\.io", "requires": ["zzz"]}
	cfg := json.patch(fixture_cfg, [{"op": "replace", "path": "/content/pii_detectors", "value": [det]}])
	decide_with(with_prompt(invoke(alice, "standard-m"), "mail ann@x.io"), cfg).redactions == []

	digits := object.union(det, {"requires": ["@"], "min_digits": 1})
	cfg2 := json.patch(fixture_cfg, [{"op": "replace", "path": "/content/pii_detectors", "value": [digits]}])
	decide_with(with_prompt(invoke(alice, "standard-m"), "mail ann@x.io"), cfg2).redactions == []
}
