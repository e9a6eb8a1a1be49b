# Content checks. Every string in input.content and input.action.params, at
# any depth, is scanned: personal data is redacted (one redaction per match,
# carrying the exact substring and the JSON pointer to the string, so the
# service can mask it), and prompt-injection / exfiltration instructions deny
# the request. Content of a shape the policy does not understand is denied.
# Messages never repeat the matched text.
package gavel.ai

# ---------------------------------------------------------------------------
# What is scanned: every string under these roots, addressed by its pointer.

scan_roots := [["/content", object.get(req, "content", null)], ["/action/params", object.get(action, "params", null)]]

# Every node under the roots as [root index, path, value] (one walk).
scan_nodes := [[r, p, v] |
	some r, root in scan_roots
	walk(root[1], [p, v])
]

# The strings, sorted by root and path so that the order (of redactions, and
# so of the answer) is the same in wasm and in `opa test`.
texts := [{"node": [n[0], n[1]], "path": pointer(scan_roots[n[0]][0], n[1]), "text": n[2]} |
	some n in sort([n | some n in scan_nodes; is_string(n[2])])
]

# Every object key under the roots as [root index, path of the object, key].
key_nodes := [[n[0], n[1], k] |
	some n in scan_nodes
	is_object(n[2])
	some k, _ in n[2]
]

# RFC 6901: "~" becomes "~0" and "/" becomes "~1" in a key; indexes are decimal.
pointer(prefix, path) := concat("/", array.concat([prefix], [pointer_token(k) | some k in path]))

pointer_token(k) := replace(replace(k, "~", "~0"), "/", "~1") if is_string(k)

else := format_int(k, 10)

# ---------------------------------------------------------------------------
# Personal data.

pii_detectors := [d | some d in as_array(conf(["content", "pii_detectors"], [])); is_object(d); is_string(d.pattern)]

# At most this many matches of one detector are listed per string; the regex
# stops one past it. More than that and the string is masked whole instead:
# listing (and cross-checking) every match would cost quadratic time and wasm
# memory, which no budget of a decision can afford.
pii_limit := as_number(conf(["content", "max_matches_per_detector"], 50))

has_pii(s) if {
	some d in pii_detectors
	some hit in regex.find_all_string_submatch_n(d.pattern, s, pii_limit + 1)
	checksum_ok(object.get(d, "checksum", ""), hit[0])
}

# A key cannot be masked in place: an object with a key that holds personal
# data is redacted whole, and nothing inside it is listed (its pointers would
# carry the key).
pii_key_objects := {[n[0], n[1]] | some n in key_nodes; has_pii(n[2])}

# True when the node [root, path] lies inside such an object.
in_pii_key_object(node) if {
	count(pii_key_objects) > 0
	some n, _ in node[1]
	[node[0], array.slice(node[1], 0, n)] in pii_key_objects
}

pii_key_redactions := [{"path": pointer(scan_roots[o[0]][0], o[1]), "kind": "personal_data"} |
	some o in sort(pii_key_objects)
	not in_pii_key_object(o)
]

pii_texts := [t | some t in texts; not in_pii_key_object(t.node)]

# For each scanned string, for each detector: its matches, at most pii_limit + 1.
pii_hits := [[regex.find_all_string_submatch_n(d.pattern, t.text, pii_limit + 1) | some d in pii_detectors] | some t in pii_texts]

flooded := {i | some i, per_text in pii_hits; some hits in per_text; count(hits) > pii_limit}

# For each string, for each detector: the matches that pass its checksum, in
# text order (none for a flooded string, which is masked whole).
pii_valid := [[[hit[0] | some hit in hits; checksum_ok(object.get(pii_detectors[j], "checksum", ""), hit[0])] |
	some j, hits in per_text
	not i in flooded
] |
	some i, per_text in pii_hits
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
# shorter text may also stand on its own elsewhere in the string.
shadowed(per_text, j, m) if {
	some k, earlier in per_text
	k < j
	m in earlier
}

# For each string, the matches it lists: {kind, match} in detector and text order.
pii_listed := [[{"kind": as_string(pii_detectors[j].kind), "match": m} |
	some j, matches in per_text
	some m in matches
	not shadowed(per_text, j, m)
] |
	some per_text in pii_valid
]

listed_redactions := [{"path": pii_texts[i].path, "kind": x.kind, "match": x.match} |
	some i, items in pii_listed
	some x in items
]

# No "match": the service masks the whole string.
flooded_redactions := [{"path": t.path, "kind": "personal_data"} | some i, t in pii_texts; i in flooded]

redactions := array.concat(array.concat(listed_redactions, flooded_redactions), pii_key_redactions)

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	some i, items in pii_listed
	some kind in {x.kind | some x in items}
	n := count([x | some x in items; x.kind == kind])
	msg := sprintf("%s contains %d %s value(s); they are redacted", [pii_texts[i].path, n, kind])
}

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	some i in flooded
	msg := sprintf("%s holds more than %d matches of one kind of personal data; the whole field is redacted", [pii_texts[i].path, pii_limit])
}

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	some r in pii_key_redactions
	msg := sprintf("%s has a key that holds personal data; the whole value is redacted", [r.path])
}

# ---------------------------------------------------------------------------
# Prompt injection and exfiltration instructions, in any scanned string or key.

injection_texts := array.concat([[t.text, lower(t.text)] | some t in texts], [[n[2], lower(n[2])] | some n in key_nodes])

injection_hits contains id if {
	some p in as_array(conf(["content", "injection_patterns"], []))
	is_string(p.pattern)
	some t in injection_texts
	may_match(p, t[1])
	regex.match(p.pattern, t[0])
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

# ---------------------------------------------------------------------------
# Shapes. input.content is understood when it is absent, null, or an object
# each of whose fields is
#   - a scalar: a string, number, boolean or null;
#   - a flat object: an object whose values are scalars;
#   - a list whose items are scalars, flat objects, or messages: objects with a
#     string "role", a "content" that is a string or a list of scalars and flat
#     objects (parts such as {"type": "text", "text": "..."}), and otherwise
#     scalar values.
# Anything else (deeper nesting, tool calls, images as objects, a content that
# is itself a string or a list) is denied: the policy cannot vouch for it.

scalar(x) if is_string(x)

scalar(x) if is_number(x)

scalar(x) if is_boolean(x)

scalar(x) if is_null(x)

flat_object(x) if {
	is_object(x)
	every v in x {
		scalar(v)
	}
}

message(x) if {
	is_object(x)
	is_string(x.role)
	message_content(x.content)
	every k, v in x {
		message_entry(k, v)
	}
}

message_content(c) if is_string(c)

message_content(c) if {
	is_array(c)
	every part in c {
		scalar_or_flat(part)
	}
}

message_entry("content", _)

message_entry(k, v) if {
	k != "content"
	scalar(v)
}

scalar_or_flat(x) if scalar(x)

scalar_or_flat(x) if flat_object(x)

list_item(x) if scalar_or_flat(x)

list_item(x) if message(x)

understood_field(v) if scalar_or_flat(v)

understood_field(v) if {
	is_array(v)
	every x in v {
		list_item(x)
	}
}

findings contains reason("deny", "content_unrecognised", "ai.content.shape", msg) if {
	c := object.get(req, "content", null)
	c != null
	not is_object(c)
	msg := sprintf("/content must be an object of fields, got %s; the request is denied", [type_name(c)])
}

findings contains reason("deny", "content_unrecognised", "ai.content.shape", msg) if {
	some f, v in content
	not understood_field(v)
	msg := sprintf("%s has a shape the policy does not understand (expected a string, number, boolean or null, a list or object of those, or a list of {role, content} messages); the request is denied", [content_field_label(f)])
}

# A field is named by its pointer unless its name holds personal data.
content_field_label(f) := "a /content field whose name holds personal data" if has_pii(f)

else := pointer("/content", [f])
