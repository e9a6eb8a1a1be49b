# Content checks: personal data in scanned fields is redacted (one redaction
# per match, carrying the exact substring so the service can mask it), and
# prompt-injection / exfiltration instructions deny the request. Messages
# never repeat the matched text.
package gavel.ai

scan_fields := [f | some f in as_array(conf(["content", "scan_fields"], [])); is_string(f)]

scanned contains [f, v] if {
	some f in scan_fields
	v := object.get(content, f, null)
	is_string(v)
}

pii_detectors := [d | some d in as_array(conf(["content", "pii_detectors"], [])); is_object(d); is_string(d.pattern)]

# At most this many matches of one detector are listed per field; the regex
# stops one past it. More than that and the field is masked whole instead:
# listing (and cross-checking) every match would cost quadratic time and wasm
# memory, which no budget of a decision can afford.
pii_limit := as_number(conf(["content", "max_matches_per_detector"], 50))

pii_scan := [{"field": f, "detector": i, "d": d, "hits": regex.find_all_string_submatch_n(d.pattern, v, pii_limit + 1)} |
	some f in scan_fields
	v := object.get(content, f, null)
	is_string(v)
	some i, d in pii_detectors
]

flooded_fields := {s.field | some s in pii_scan; count(s.hits) > pii_limit}

# Every match of every detector, in field, detector and text order.
pii_candidates := [{"path": sprintf("/content/%s", [s.field]), "kind": as_string(s.d.kind), "match": hit[0], "detector": s.detector} |
	some s in pii_scan
	not s.field in flooded_fields
	some hit in s.hits
	checksum_ok(object.get(s.d, "checksum", ""), hit[0])
]

checksum_ok(kind, _) if kind != "luhn"

checksum_ok("luhn", s) if luhn_valid(s)

# Luhn check of the digits of s: from the right, every second digit is doubled
# (minus 9 when that exceeds 9) and the total must be a multiple of 10.
luhn_valid(s) if {
	digits := [to_number(h[0]) | some h in regex.find_all_string_submatch_n(`[0-9]`, s, -1)]
	n := count(digits)
	total := sum([luhn_term(d, (n - 1) - i) | some i, d in digits])
	total % 10 == 0
}

luhn_term(d, pos) := d if pos % 2 == 0

luhn_term(d, pos) := d * 2 if {
	pos % 2 == 1
	d <= 4
}

luhn_term(d, pos) := (d * 2) - 9 if {
	pos % 2 == 1
	d > 4
}

# The same text found by an earlier detector is masked by that redaction. A
# match inside a longer match is kept: the service masks longest first, and the
# shorter text may also stand on its own elsewhere in the field.
shadowed(c) if {
	some o in pii_candidates
	o.path == c.path
	o.match == c.match
	o.detector < c.detector
}

listed_redactions := [{"path": c.path, "kind": c.kind, "match": c.match} |
	some c in pii_candidates
	not shadowed(c)
]

# No "match": the service masks the whole field.
flooded_redactions := [{"path": sprintf("/content/%s", [f]), "kind": "personal_data"} | some f in flooded_fields]

redactions := array.concat(listed_redactions, flooded_redactions)

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	some r in listed_redactions
	path := r.path
	kind := r.kind
	n := count([x | some x in listed_redactions; x.path == path; x.kind == kind])
	msg := sprintf("%s contains %d %s value(s); they are redacted", [path, n, kind])
}

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	some f in flooded_fields
	msg := sprintf("/content/%s holds more than %d matches of one kind of personal data; the whole field is redacted", [f, pii_limit])
}

# ---------------------------------------------------------------------------
# Prompt injection and exfiltration instructions.

injection_hits contains id if {
	some field_value in scanned
	v := field_value[1]
	some p in as_array(conf(["content", "injection_patterns"], []))
	is_string(p.pattern)
	may_match(p, lower(v))
	regex.match(p.pattern, v)
	id := as_string(object.get(p, "id", "unnamed"))
}

# opa-wasm compiles a pattern on every evaluation, which dominates the cost of
# a decision; a pattern's optional "requires" keywords (lower case) let text
# that contains none of them skip the regex altogether.
may_match(p, _) if not is_array(object.get(p, "requires", null))

may_match(p, lowered) if {
	some keyword in p.requires
	contains(lowered, keyword)
}

findings contains reason("deny", "prompt_injection", "ai.content.prompt_injection", msg) if {
	count(injection_hits) > 0
	msg := sprintf("content matches prompt-injection pattern(s): %s", [concat(", ", sort(injection_hits))])
}
