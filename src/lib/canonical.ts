import { createHash } from 'node:crypto';
import * as jcs from 'canonicalize';

// canonicalize is CommonJS (module.exports = fn); its typings claim an ES default export.
const canonicalize = (jcs as unknown as { default: (value: unknown) => string | undefined }).default;

/** RFC 8785 (JCS) canonical JSON: the one byte form gavel hashes, signs and compares. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalised as JSON');
  return text;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
