import { createHash } from 'node:crypto';
import { canonicalJson } from '../bundles/digest.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './json.js';
import { getAt, setAt } from './pointer.js';
import type { PolicyOutcome, RedactionSpec } from './result.js';

export interface AppliedRedaction {
  path: string;
  kind: string;
}

export function redactionMarker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/**
 * Masks what the policy asked to redact in a copy of the input. A redaction with
 * `match` replaces every occurrence of that substring in the string at `path`;
 * without `match` the whole value is replaced.
 */
export function applyRedactions(input: JsonObject, redactions: RedactionSpec[]): { redacted: JsonObject; applied: AppliedRedaction[] } {
  const redacted = cloneJson(input);
  const applied = new Map<string, AppliedRedaction>();
  // Longest matches first so that a match containing another is masked whole.
  const ordered = [...redactions].sort((a, b) => (b.match?.length ?? Infinity) - (a.match?.length ?? Infinity));
  for (const spec of ordered) {
    const current = getAt(redacted, spec.path);
    if (current === undefined) continue;
    const marker = redactionMarker(spec.kind);
    const next = spec.match !== undefined && typeof current === 'string' ? current.split(spec.match).join(marker) : marker;
    setAt(redacted, spec.path, next);
    applied.set(`${spec.path}\u0000${spec.kind}`, { path: spec.path, kind: spec.kind });
  }
  return { redacted, applied: [...applied.values()] };
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
    const digest = createHash('sha256').update(salt).update(canonicalJson(value)).digest('hex');
    setAt(out, path, { sha256: digest });
  }
  return out;
}

/**
 * Defence in depth: a policy may echo a matched value in a reason message or an
 * obligation. Every redacted substring is masked there too before anything leaves.
 */
export function scrubOutcome(outcome: PolicyOutcome): PolicyOutcome {
  const secrets = outcome.redactions.map((r) => r.match).filter((m): m is string => typeof m === 'string' && m.length > 0);
  if (secrets.length === 0) return outcome;
  const scrub = (text: string) => secrets.reduce((acc, s) => acc.split(s).join('[REDACTED]'), text);
  return {
    ...outcome,
    reasons: outcome.reasons.map((r) => ({ ...r, message: scrub(r.message) })),
    obligations: scrubJson(outcome.obligations, scrub) as JsonObject,
  };
}

function scrubJson(value: JsonValue, scrub: (s: string) => string): JsonValue {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, scrub));
  if (isJsonObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubJson(v, scrub)]));
  return value;
}
