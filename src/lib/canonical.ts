import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';

/**
 * RFC 8785 (JCS) canonical JSON: the one byte form gavel hashes, signs and compares.
 *
 * For JSON values (what gavel hashes: parsed inputs, records, headers) JCS is
 * JSON.stringify with every object's keys sorted by UTF-16 code units: JCS
 * takes its number form (ECMAScript Number::toString) and its string escaping
 * from JSON.stringify. safe-stable-stringify with `deterministic` sorting is
 * exactly that, and about 3.5x faster than the `canonicalize` package on a
 * decision payload; test/lib/canonical.test.ts checks the two agree on
 * arbitrary JSON values. Values JSON cannot carry are refused, not coerced:
 * non-finite numbers (JCS forbids them), bigints, cycles.
 */
const stringify = configure({ deterministic: true, bigint: false, circularValue: Error, strict: true });

export function canonicalJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new Error('value cannot be canonicalised as JSON');
  return text;
}

/**
 * A canonical object's text with one more top-level member. It stays RFC 8785
 * only when `key` sorts after every key already there (the engine adds `usage`
 * after a payload's `input` and `result`): the new member goes last, where
 * canonical order puts it. The caller vouches for the order (parsing a whole
 * payload to check it would cost more than building it); test/lib/canonical.test.ts
 * checks the engine's use against canonicalJson.
 */
export function withLastKey(objectJcs: string, key: string, value: unknown): string {
  if (!objectJcs.startsWith('{') || !objectJcs.endsWith('}') || objectJcs === '{}') throw new Error('not a non-empty canonical JSON object');
  return `${objectJcs.slice(0, -1)},${JSON.stringify(key)}:${canonicalJson(value)}}`;
}

/** As withLastKey, with the new member first: the caller vouches that `key` sorts before every key already there. */
export function withFirstKey(objectJcs: string, key: string, value: unknown): string {
  if (!objectJcs.startsWith('{') || !objectJcs.endsWith('}')) throw new Error('not a canonical JSON object');
  const member = `${JSON.stringify(key)}:${canonicalJson(value)}`;
  return objectJcs === '{}' ? `{${member}}` : `{${member},${objectJcs.slice(1)}`;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
