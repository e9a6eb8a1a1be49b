import { describe, expect, it } from 'vitest';
import { isApproximate, sameOutcome } from '../../src/engine/replay/compare.js';
import { Tally } from '../../src/engine/replay/tally.js';

describe('isApproximate', () => {
  const digest = 'ab'.repeat(32);
  it('an input stored as the policy saw it is exact', () => {
    expect(isApproximate({ input: { content: { prompt: 'hello', output: { sha256: 'short' } } }, result: { redactions: [] } })).toBe(false);
    expect(isApproximate({ input: { a: { sha256: digest, also: 1 } }, result: {} })).toBe(false);
    // Only a string is a digest (an array of one would read as its text).
    expect(isApproximate({ input: { a: { sha256: [digest] } }, result: {} })).toBe(false);
  });
  it('redactions or hashed_paths in the result make it approximate', () => {
    expect(isApproximate({ input: {}, result: { redactions: [{ path: '/content/prompt', kind: 'email' }] } })).toBe(true);
    expect(isApproximate({ input: {}, result: { hashed_paths: ['/content/output'] } })).toBe(true);
    expect(isApproximate({ input: {}, result: { redactions: [], hashed_paths: [] } })).toBe(false);
  });
  it('input_altered in the result makes it approximate (a redacted value is masked wherever it appears)', () => {
    expect(isApproximate({ input: {}, result: { input_altered: true } })).toBe(true);
    expect(isApproximate({ input: {}, result: { input_altered: 'yes' } })).toBe(false);
  });
  it('entries written before hashed_paths are read for the hash shape the engine writes, at any depth', () => {
    expect(isApproximate({ input: { content: { output: { sha256: digest } } }, result: {} })).toBe(true);
    expect(isApproximate({ input: { list: [1, [{ sha256: digest }]] }, result: {} })).toBe(true);
    expect(isApproximate({ input: { content: { prompt: 'hi', output: { sha256: digest } } }, result: {} })).toBe(true);
    // Only a string of 64 hex digits is the shape: not a list that spells one.
    expect(isApproximate({ input: { content: { output: { sha256: [digest] } } }, result: {} })).toBe(false);
  });
});

describe('sameOutcome', () => {
  it('compares the decision and the set of reason codes, not their order', () => {
    expect(sameOutcome({ decision: 'deny', reasonCodes: ['a', 'b'] }, { decision: 'deny', reasonCodes: ['b', 'a'] })).toBe(true);
    expect(sameOutcome({ decision: 'deny', reasonCodes: ['a'] }, { decision: 'deny', reasonCodes: ['a', 'b'] })).toBe(false);
    expect(sameOutcome({ decision: 'deny', reasonCodes: ['a'] }, { decision: 'allow', reasonCodes: ['a'] })).toBe(false);
    expect(sameOutcome({ decision: 'deny', reasonCodes: ['a', 'b'] }, { decision: 'deny', reasonCodes: ['a', 'c'] })).toBe(false);
    expect(sameOutcome({ decision: 'deny', reasonCodes: ['a', 'a'] }, { decision: 'deny', reasonCodes: ['a'] })).toBe(true);
  });
});

describe('Tally', () => {
  it('counts any reason code or decision name, "__proto__" and "constructor" included, as plain keys', () => {
    const t = new Tally();
    t.add({
      decisionId: 'a',
      from: { decision: '__proto__', reasonCodes: ['constructor'] },
      to: { decision: 'deny', reasonCodes: ['__proto__', 'toString'] },
      approximate: false,
    });
    const r = JSON.parse(JSON.stringify(t.report()));
    expect(r.transitions).toEqual([
      {
        from: '__proto__',
        to: 'deny',
        count: 1,
        reasons_added: JSON.parse('{"__proto__": 1, "toString": 1}'),
        reasons_removed: { constructor: 1 },
        examples: ['a'],
      },
    ]);
    expect(Object.keys(r.matrix)).toEqual(['__proto__']);
  });
});
