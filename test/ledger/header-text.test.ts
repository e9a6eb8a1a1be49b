import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/lib/canonical.js';
import { entryHashes, entryLeafHash, headerText } from '../../src/ledger/hash.js';
import type { ChainHeader } from '../../src/ledger/header.js';
import { leafHash, nodeHash } from '../../src/ledger/merkle.js';

/**
 * The header's canonical text is written without the general JCS serializer (hash.ts): it must be
 * byte for byte what RFC 8785 gives (canonicalJson) for every header, strings of any code points
 * included; and both hashes from one buffer must be the ones hash.ts documents.
 */
const text = fc.string({ unit: 'binary', maxLength: 40 });
const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
const header = fc.record({
  v: fc.constantFrom(1, 2),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  kind: fc.constantFrom('decision', 'policy', 'erasure'),
  decision_id: text,
  time: text,
  subject_id: text,
  team: text,
  reason_codes: fc.array(text, { maxLength: 4 }),
  payload_hash: hex64,
  prev_hash: hex64,
});

describe('the header text', () => {
  it('is RFC 8785 (canonicalJson) for every header of strings, integers and string arrays', () => {
    fc.assert(
      fc.property(header, (h) => headerText(h as unknown as ChainHeader) === canonicalJson(h)),
      { numRuns: 2000 },
    );
  });

  it('falls back to canonicalJson for any other value (a number that is not an integer, an object)', () => {
    const odd = { v: 2, seq: 1, weight: 1.5, nested: { b: 1, a: 2 }, prev_hash: '0'.repeat(64) } as unknown as ChainHeader;
    expect(headerText(odd)).toBe(canonicalJson(odd));
  });
});

describe('the entry hashes from one buffer', () => {
  it('are SHA-256(prev_hash bytes ‖ text) and SHA-256(0x00 ‖ text), also for a prev_hash that is not 32 bytes of hex', () => {
    fc.assert(
      fc.property(header, fc.constantFrom('', 'zz', 'abc', '0'.repeat(62)), (h, badPrev) => {
        for (const prev of [h.prev_hash, badPrev]) {
          const hh = { ...h, prev_hash: prev } as unknown as ChainHeader;
          const t = headerText(hh);
          const expected = createHash('sha256').update(Buffer.from(prev, 'hex')).update(t, 'utf8').digest('hex');
          const got = entryHashes(hh, t);
          if (got.entryHash !== expected || !got.leaf.equals(entryLeafHash(hh, t))) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
    expect(
      leafHash(Buffer.from('x')).equals(
        createHash('sha256')
          .update(Buffer.from([0]))
          .update('x')
          .digest(),
      ),
    ).toBe(true);
    const [l, r] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    expect(
      nodeHash(l, r).equals(
        createHash('sha256')
          .update(Buffer.from([1]))
          .update(l)
          .update(r)
          .digest(),
      ),
    ).toBe(true);
  });
});
