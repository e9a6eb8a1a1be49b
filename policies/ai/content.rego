# Content checks. Every string in input.content and input.action.params, at
# any depth, is scanned: personal data is redacted (one redaction per match,
# carrying the exact substring and the JSON pointer to the string, so the
# service can mask it), and prompt-injection / exfiltration instructions deny
# the request. Content of a shape the policy does not understand is denied.
# Messages never repeat the matched text.
#
# The patterns run on normalised text, which gavel supplies in
# input.context.scan (OPA's wasm has no Unicode normalisation; README "The
# input document"): a string or key whose normalised form differs is read from
# there, by its pointer, while every redaction still names the original
# string. A match found only in the normalised form is not in the original:
# the service then masks the whole string. Integers of 13 to 19 digits are
# read as their decimal digits, so a card number sent as a JSON number meets
# the card detector too (and is replaced whole).
package gavel.ai

# ---------------------------------------------------------------------------
# What is scanned: every string and object key under these roots, each string
# addressed by its JSON pointer.

scan_roots := [["/content", object.get(req, "content", null)], ["/action/params", object.get(action, "params", null)]]

# gavel's view of the roots (src/engine/scan-view.ts): texts and keys map the
# pointer of a string, or of an object member, to its normalised form, present
# only where it differs; skeletons lists the lower-case look-alike skeletons
# (Unicode TS #39) of strings and keys, read by the injection patterns alone.
# Absent (plain `opa eval`, these tests): the text is scanned as it is.
scan_view := as_object(object.get(ctx, "scan", {}))

scan_texts := as_object(object.get(scan_view, "texts", {}))

scan_keys := as_object(object.get(scan_view, "keys", {}))

scan_skeletons := [s | some s in as_array(object.get(scan_view, "skeletons", [])); is_string(s)]

# opa-wasm frees nothing until an evaluation ends, and walk materialises every
# node with its path: a 200 KB list of small values would exhaust the wasm
# memory after seconds of work. So the size is measured first, cheaply and
# with bounded memory, on the JSON text: every string or key counts 1, every
# ",", ":" and "[" outside them 1 (about one per value). The regex stops one
# past the limit.
max_scanned := as_number(conf(["content", "max_scanned_values"], 20000))

scan_json := json.marshal([root[1] | some root in scan_roots])

scan_weight := count(regex.find_all_string_submatch_n(`"(?:[^"\\]|\\.)*"|[,:\[]`, scan_json, max_scanned + 1))

# Too large to scan: denied, and every root is redacted whole (an evaluation
# that traps would record them as they are). Every unit of weight takes at
# least one character, so a short text needs no regex.
scan_overflow if {
	count(scan_json) > max_scanned
	scan_weight > max_scanned
}

findings contains reason("deny", "content_too_large", "ai.content.too_large", msg) if {
	scan_overflow
	msg := sprintf("content and action.params hold more than %s strings, keys and values, too many to scan; the request is denied and both are redacted whole", [format_int(max_scanned, 10)])
}

# Every node under the roots as [root index, path, value] (one walk).
scan_nodes := [] if {
	scan_overflow
} else := [[r, p, v] |
	some r, root in scan_roots
	walk(root[1], [p, v])
]

# The strings and card-length integers, in walk order: list items in order,
# object members in an order fixed by their keys (sorted in `opa test`, hashed
# in wasm; the same for the same input either way). Not sorted: sort is
# quadratic in opa-wasm. "text" is what the patterns read.
texts := [{"node": [n[0], n[1]], "path": p, "text": scanned_text(p, n[2])} |
	some n in scan_nodes
	scanned_value(n[2])
	p := pointer(scan_roots[n[0]][0], n[1])
]

scanned_value(v) if is_string(v)

scanned_value(v) if card_length_integer(v)

# An integer of 13 to 19 digits, either sign: as long as a card number. Its
# digits are read with json.marshal (opa-wasm's format_int fails on integers this large).
# gavel parses JSON numbers as doubles: past 2^53 (16 digits) the digits the
# policy sees may already be rounded; a card is safe only as a string there.
card_length_integer(v) if {
	is_number(v)
	abs(v) >= 1000000000000
	abs(v) < 10000000000000000000
	not contains(json.marshal(v), ".")
}

scanned_text(p, v) := t if {
	is_string(v)
	t := object.get(scan_texts, p, v)
	is_string(t)
} else := v if {
	is_string(v)
} else := json.marshal(v)

# Every object key under the roots as [root index, path of the object, key as
# the patterns read it].
key_nodes := [[n[0], n[1], key_text(n[0], n[1], k)] |
	some n in scan_nodes
	is_object(n[2])
	some k, _ in n[2]
]

# The pointer of a member is built only when gavel normalised some key.
key_text(r, path, k) := t if {
	count(scan_keys) > 0
	t := object.get(scan_keys, pointer(scan_roots[r][0], array.concat(path, [k])), k)
	is_string(t)
} else := k

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

# opa-wasm compiles a pattern again on every evaluation that runs it, which
# costs more than the rest of a decision; so a detector may carry a gate of
# cheap necessary conditions, and its regex runs only on strings that pass:
#   requires: strings, one of which the text must contain as is (e.g. "@");
#   min_digits: the fewest ASCII digits (0-9, what RE2's \d matches) a match
#     of the pattern holds.
# A match is a substring of the text, so a text that fails the gate has no
# match and skipping the regex loses nothing. A detector without a gate (or
# with a malformed one) always runs.
pii_matches(d, s, digits) := regex.find_all_string_submatch_n(d.pattern, s, pii_limit + 1) if {
	pii_gate_open(d, s, digits)
} else := []

pii_gate_open(d, s, digits) if {
	digits >= pii_min_digits(d)
	pii_required_present(d, s)
}

pii_min_digits(d) := as_number(object.get(d, "min_digits", 0))

pii_required_present(d, _) if not pii_requires(d)

pii_required_present(d, s) if {
	some keyword in d.requires
	contains(s, keyword)
}

# A usable "requires": a non-empty list of strings.
pii_requires(d) if {
	is_array(object.get(d, "requires", null))
	count(d.requires) > 0
	every keyword in d.requires {
		is_string(keyword)
	}
}

# The number of ASCII digits in s, without a regex: one native builtin that
# drops them, and the difference in length.
digit_count(s) := count(s) - count(strings.replace_n(no_digits, s))

no_digits := {"0": "", "1": "", "2": "", "3": "", "4": "", "5": "", "6": "", "7": "", "8": "", "9": ""}

has_pii(s) if {
	digits := digit_count(s)
	some d in pii_detectors
	some hit in pii_matches(d, s, digits)
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

# The outermost such objects, in walk order.
pii_key_nodes := [[n[0], n[1]] |
	count(pii_key_objects) > 0
	some n in scan_nodes
	[n[0], n[1]] in pii_key_objects
	not in_pii_key_object([n[0], n[1]])
]

pii_texts := [t | some t in texts; not in_pii_key_object(t.node)]

# For each scanned string, for each detector: its matches, at most pii_limit + 1.
pii_hits := [pii_text_hits(t.text) | some t in pii_texts]

pii_text_hits(s) := [pii_matches(d, s, digits) | some d in pii_detectors] if {
	digits := digit_count(s)
}

# The strings with any match, as [index in pii_texts, matches per detector]:
# what follows works on these alone.
pii_found := [[i, per_text] | some i, per_text in pii_hits; any_match(per_text)]

any_match(per_text) if {
	some hits in per_text
	count(hits) > 0
}

flooded(per_text) if {
	some hits in per_text
	count(hits) > pii_limit
}

# For each string that is not flooded, for each detector: the matches that
# pass its checksum, in text order.
pii_valid := [[f[0], [[hit[0] | some hit in hits; checksum_ok(object.get(pii_detectors[j], "checksum", ""), hit[0])] | some j, hits in f[1]]] |
	some f in pii_found
	not flooded(f[1])
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

# For each string that is not flooded, the matches it lists: {kind, match}
# in detector and text order.
pii_listed := [[v[0], [{"kind": as_string(pii_detectors[j].kind), "match": m} |
	some j, matches in v[1]
	some m in matches
	not shadowed(v[1], j, m)
]] |
	some v in pii_valid
]

# Every listed match costs the service a pass over the input (it masks each
# removed value wherever it appears): past max_redactions matches in all, a
# root holding any is redacted whole instead.
max_redactions := as_number(conf(["content", "max_redactions"], 500))

pii_match_count := sum([count(hits) | some f in pii_found; some hits in f[1]])

pii_overflow if pii_match_count > max_redactions

pii_roots := {pii_texts[f[0]].node[0] | some f in pii_found}

masked_roots := {r | some r, root in scan_roots; scan_overflow; root[1] != null} | {r | pii_overflow; some r in pii_roots}

listed_redactions := [{"path": pii_texts[l[0]].path, "kind": x.kind, "match": x.match} |
	not pii_overflow
	some l in pii_listed
	some x in l[1]
]

# No "match": the service masks the whole value.
flooded_redactions := [{"path": pii_texts[f[0]].path, "kind": "personal_data"} |
	not pii_overflow
	some f in pii_found
	flooded(f[1])
]

key_redactions := [{"path": pointer(scan_roots[o[0]][0], o[1]), "kind": "personal_data"} |
	some o in pii_key_nodes
	not o[0] in masked_roots
]

root_redactions := [{"path": root[0], "kind": "personal_data"} | some r, root in scan_roots; r in masked_roots]

redactions := array.concat(array.concat(listed_redactions, flooded_redactions), array.concat(key_redactions, root_redactions))

# One reason per kind of finding (sprintf runs in JavaScript, a costly call
# per message): the first pointer in walk order names it, with the count of
# the others.
findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	not pii_overflow
	some kind in {x.kind | some l in pii_listed; some x in l[1]}
	per_text := [[l[0], n] |
		some l in pii_listed
		n := count([1 | some x in l[1]; x.kind == kind])
		n > 0
	]
	total := sum([e[1] | some e in per_text])
	msg := pii_message(pii_texts[per_text[0][0]].path, count(per_text) - 1, total, kind)
}

pii_message(path, 0, n, kind) := sprintf("%s contains %d %s value(s); they are redacted", [path, n, kind])

pii_message(path, others, n, kind) := sprintf("%s and %d other string(s) contain %d %s value(s); they are redacted", [path, others, n, kind]) if others > 0

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	paths := [r.path | some r in flooded_redactions]
	count(paths) > 0
	msg := flood_message(paths[0], count(paths) - 1)
}

flood_message(path, 0) := sprintf("%s holds more than %s matches of one kind of personal data; the whole field is redacted", [path, format_int(pii_limit, 10)])

flood_message(path, others) := sprintf("%s and %d other string(s) hold more than %s matches of one kind of personal data; each is redacted whole", [path, others, format_int(pii_limit, 10)]) if others > 0

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	paths := [r.path | some r in key_redactions]
	count(paths) > 0
	msg := key_message(paths[0], count(paths) - 1)
}

key_message(path, 0) := sprintf("%s has a key that holds personal data; the whole value is redacted", [path])

key_message(path, others) := sprintf("%s and %d other object(s) have a key that holds personal data; each is redacted whole", [path, others]) if others > 0

findings contains reason("redact", "pii_detected", "ai.content.pii", msg) if {
	pii_overflow
	paths := [scan_roots[r][0] | some r in sort(pii_roots)]
	msg := sprintf("content and action.params hold more than %s matches of personal data; %s redacted whole", [format_int(max_redactions, 10), concat(" and ", paths)])
}

# ---------------------------------------------------------------------------
# Prompt injection and exfiltration instructions, in any scanned string or key.

injection_texts := array.concat(
	array.concat([[t.text, lower(t.text)] | some t in texts], [[n[2], lower(n[2])] | some n in key_nodes]),
	[[s, s] | some s in scan_skeletons],
)

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
	fields := [f | some f, v in content; not understood_field(v)]
	count(fields) > 0
	msg := sprintf("%s%s has a shape the policy does not understand (expected a string, number, boolean or null, a list or object of those, or a list of {role, content} messages); the request is denied", [content_field_label(fields[0]), other_fields(count(fields) - 1)])
}

other_fields(0) := ""

other_fields(n) := sprintf(" (and %d other field(s))", [n]) if n > 0

# A field is named by its pointer unless its name holds personal data.
content_field_label(f) := "a /content field whose name holds personal data" if has_pii(key_text(0, [], f))

else := pointer("/content", [f])
