import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';
import { getAt, setAt } from '../lib/pointer.js';
import type { PolicyOutcome, RedactionSpec } from './result.js';
import { needsNormalising, normaliseText } from './scan-text.js';

export interface AppliedRedaction {
  path: string;
  kind: string;
}

export function redactionMarker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/** A value the policy asked to remove, with the kind to name it by. */
export interface Secret {
  text: string;
  kind: string;
}

/** Shorter whole-field values are not hunted elsewhere in the input: masking "yes" everywhere would destroy it. */
const MIN_SECRET_LENGTH = 4;

/**
 * Everything a redaction removes: each `match`, and every string inside the value a
 * whole-field redaction replaces (applyRedactions also replaces a non-string value
 * whole when it has a `match`), as sent and normalised. Strings nested in a removed
 * object or array count too: a token inside a redacted `card` object echoed in the
 * prompt or a reason would otherwise survive the redaction.
 */
export function secretsOf(input: JsonObject, redactions: RedactionSpec[]): Secret[] {
  const secrets: Secret[] = [];
  for (const r of redactions) {
    if (r.match !== undefined) secrets.push({ text: r.match, kind: r.kind });
    const value = getAt(input, r.path);
    if (value === undefined || (r.match !== undefined && typeof value === 'string')) continue;
    for (const text of stringsIn(value)) {
      if (text.length < MIN_SECRET_LENGTH) continue;
      secrets.push({ text, kind: r.kind });
      const normal = normaliseText(text);
      if (normal !== text && normal.length >= MIN_SECRET_LENGTH) secrets.push({ text: normal, kind: r.kind });
    }
  }
  // Longest first, so that a secret containing another is masked whole.
  return secrets.sort((a, b) => b.text.length - a.text.length);
}

/**
 * Masks what the policy asked to redact in a copy of the input. A redaction with
 * `match` replaces every occurrence of that substring in the string at `path`;
 * without `match` (or on a value that is not a string, such as a card number sent
 * as a JSON number) the whole value is replaced. Then every removed value is masked
 * wherever else it appears in the input (a matched email repeated in
 * action.params is not left behind), in any spelling: see maskSecrets.
 */
export function applyRedactions(input: JsonObject, redactions: RedactionSpec[], secrets: Secret[]): { redacted: JsonObject; applied: AppliedRedaction[] } {
  if (redactions.length === 0) return { redacted: input, applied: [] };
  const redacted = cloneJson(input);
  const applied = new Map<string, AppliedRedaction>();
  for (const spec of redactions) {
    const current = getAt(redacted, spec.path);
    if (current === undefined) continue;
    if (spec.match === undefined || typeof current !== 'string') setAt(redacted, spec.path, redactionMarker(spec.kind));
    applied.set(`${spec.path}\u0000${spec.kind}`, { path: spec.path, kind: spec.kind });
  }
  const masked = mapLeaves(redacted, leafMasker(secrets, redactionMarker)) as JsonObject;
  return { redacted: masked, applied: [...applied.values()] };
}

/**
 * Replaces each sensitive path with `{"sha256": hex(SHA-256(salt || JCS(value)))}` so the
 * ledger can prove what was seen without storing it. The salt is the entry's payload salt,
 * which stops a dictionary attack on short values such as phone numbers.
 */
export function hashSensitivePaths(input: JsonObject, paths: string[], salt: Uint8Array): JsonObject {
  if (paths.length === 0) return input;
  const out = cloneJson(input);
  for (const path of paths) {
    const value = getAt(out, path);
    if (value === undefined) continue;
    setAt(out, path, { sha256: saltedValueHash(salt, value) });
  }
  return out;
}

/** What a sensitive path's value is stored as: hex(SHA-256(salt || JCS(value))). */
export function saltedValueHash(salt: Uint8Array, value: JsonValue): string {
  return createHash('sha256').update(salt).update(canonicalJson(value)).digest('hex');
}

/**
 * Defence in depth: a policy may echo a removed value in a reason message or an
 * obligation. Every removed value is masked there too before anything leaves.
 */
export function scrubOutcome(outcome: PolicyOutcome, secrets: Secret[]): PolicyOutcome {
  if (secrets.length === 0) return outcome;
  const mask = leafMasker(secrets, () => '[REDACTED]');
  return {
    ...outcome,
    reasons: outcome.reasons.map((r) => ({ ...r, message: mask.text(r.message) })),
    obligations: mapLeaves(outcome.obligations, mask) as JsonObject,
  };
}

/**
 * A string with every removed value masked, in any spelling. The policy matches
 * on the normalised text (scan-text.ts), so a `match` such as 4111111111111111 may
 * stand in the string as ４１１１…, ٤١١١… or 4111\u200b1111…, where no substring
 * equals it. The rule is simple and safe: each verbatim occurrence is masked, and
 * when the normalised form of what is left still holds a removed value, the whole
 * string is masked.
 */
export function maskSecrets(text: string, secrets: Secret[], marker: (kind: string) => string): string {
  const masked = secrets.reduce((acc, s) => acc.split(s.text).join(marker(s.kind)), text);
  if (!needsNormalising(masked)) return masked;
  const normal = normaliseText(masked);
  const left = secrets.find((s) => normal.includes(s.text));
  return left === undefined ? masked : marker(left.kind);
}

/** Integers shorter than this are never taken for a removed value: 1234 may be anything. */
const MIN_SECRET_DIGITS = 7;

interface LeafMasker {
  text(text: string): string;
  number(n: number): JsonValue;
}

/**
 * Masks strings with maskSecrets, and integers that are a removed value sent as a
 * JSON number elsewhere in the input (a card in the prompt and again as an
 * integer in a field the policy does not scan): those whose digits are all the
 * digits of a removed value.
 */
function leafMasker(secrets: Secret[], marker: (kind: string) => string): LeafMasker {
  const byDigits = new Map<string, string>();
  for (const s of secrets) {
    const digits = s.text.replace(/\D/g, '');
    if (digits.length >= MIN_SECRET_DIGITS && !byDigits.has(digits)) byDigits.set(digits, s.kind);
  }
  return {
    text: (text) => maskSecrets(text, secrets, marker),
    number: (n) => {
      const kind = Number.isInteger(n) ? byDigits.get(String(Math.abs(n))) : undefined;
      return kind === undefined ? n : marker(kind);
    },
  };
}

/** Every string value (not key) inside a JSON value. */
function stringsIn(value: JsonValue): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isJsonObject(value)) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Every string value (not key) and number, masked. */
function mapLeaves(value: JsonValue, mask: LeafMasker): JsonValue {
  if (typeof value === 'string') return mask.text(value);
  if (typeof value === 'number') return mask.number(value);
  if (Array.isArray(value)) return value.map((v) => mapLeaves(v, mask));
  if (isJsonObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapLeaves(v, mask)]));
  return value;
}
