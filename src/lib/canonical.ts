import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';

/**
 * RFC 8785 (JCS) canonical JSON: the one byte form gavel hashes, signs and compares.
 *
 * For JSON values (what gavel hashes: parsed inputs, records, headers) JCS is
 * JSON.stringify with every object's keys sorted by UTF-16 code units: JCS
 * takes its number form (ECMAScript Number::toString) and its string escaping
 * from JSON.stringify. So the common case is a copy of the value with each
 * object's keys in that order, written by JSON.stringify itself: on a 5 KB
 * decision input a third quicker than a serializer written in JavaScript, with
 * a third of its garbage (it runs on every Decide, more than once). V8 writes
 * integer-like keys first whatever their insertion order, so objects with keys
 * that start with a digit, `__proto__` (which an assignment would not copy),
 * `toJSON`, and nesting deeper than any input gavel accepts (or a cycle) go to
 * safe-stable-stringify with `deterministic` sorting, which is JCS for every
 * JSON value. test/lib/canonical.test.ts checks both against the `canonicalize`
 * package on arbitrary JSON values. Values JSON cannot carry are refused, not
 * coerced: non-finite numbers (JCS forbids them), bigints, cycles.
 */
const general = configure({ deterministic: true, bigint: false, circularValue: Error, strict: true });

/** Thrown by the copy when a value needs the general serializer. */
const GENERAL = Symbol('general');

/** Deeper than this goes to the general serializer (gavel's inputs are bounded well below it: input.ts). */
const MAX_COPY_DEPTH = 256;

export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(sortedCopy(value, 0));
  } catch (err) {
    if (err !== GENERAL) throw err;
    text = general(value);
  }
  if (text === undefined) throw new Error('value cannot be canonicalised as JSON');
  return text;
}

/** The value with every object's keys in UTF-16 code-unit order; anything else JSON.stringify would not write as JCS throws GENERAL. */
function sortedCopy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'number' ? Number.isFinite(value) : typeof value === 'string' || typeof value === 'boolean' || value === null || value === undefined)
      return value;
    throw GENERAL;
  }
  if (depth > MAX_COPY_DEPTH) throw GENERAL;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = sortedCopy(value[i], depth + 1);
    return out;
  }
  const o = value as Record<string, unknown>;
  if (typeof o.toJSON === 'function') throw GENERAL;
  const keys = sortCodeUnits(Object.keys(o));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') throw GENERAL;
    out[key] = sortedCopy(o[key], depth + 1);
  }
  return out;
}

/** Insertion sort by UTF-16 code units: objects have a few keys, where it beats Array.prototype.sort. */
function sortCodeUnits(keys: string[]): string[] {
  if (keys.length > 64) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let at = i;
    while (at > 0 && keys[at - 1]! > key) {
      keys[at] = keys[at - 1]!;
      at--;
    }
    keys[at] = key;
  }
  return keys;
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
