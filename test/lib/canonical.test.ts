import * as jcs from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, withLastKey } from '../../src/lib/canonical.js';

/**
 * canonicalJson is RFC 8785: the `canonicalize` package (a JCS implementation
 * that follows the RFC's reference code) is the oracle, on arbitrary JSON
 * values and on the cases the RFC calls out (key order by UTF-16 code units,
 * number forms, escaping).
 */
const reference = (jcs as unknown as { default: (value: unknown) => string | undefined }).default;

const key = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('1', '10', '9', '', '\u20ac', '\ud83d\ude00', 'a\u0000b'));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('canonicalJson', () => {
  it('agrees with the canonicalize package on arbitrary JSON values', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('orders keys by UTF-16 code units (integer-like keys too) and writes numbers in their ECMAScript form', () => {
    const value = { '10': 1, '9': 2, b: [1e21, 1e-7, -0, 0.1], a: '\u2028"\\\n', '\u20ac': true, '\ud83d\ude00': null, '\uffff': 3 };
    expect(canonicalJson(value)).toBe('{"10":1,"9":2,"a":"\u2028\\"\\\\\\n","b":[1e+21,1e-7,0,0.1],"\u20ac":true,"\ud83d\ude00":null,"\uffff":3}');
    expect(canonicalJson(value)).toBe(reference(value));
  });

  it('refuses what JSON cannot carry: non-finite numbers, bigints, cycles', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [{ n: Number.NaN }, { n: Number.POSITIVE_INFINITY }, [Number.NEGATIVE_INFINITY], { b: 1n }, cycle]) {
      expect(() => canonicalJson(bad)).toThrow();
    }
  });
});

describe('withLastKey', () => {
  it('adds `usage` to a decision payload exactly as canonicalJson of the whole would place it', () => {
    fc.assert(
      fc.property(json, json, json, fc.boolean(), (input, result, usage, compared) => {
        const payload: Record<string, unknown> = { input, result, ...(compared ? { compared_as: { subject_id: 'fiona' } } : {}) };
        const whole = canonicalJson({ ...payload, usage: { v: usage } });
        expect(withLastKey(canonicalJson(payload), 'usage', { v: usage })).toBe(whole);
        expect(reference({ ...payload, usage: { v: usage } })).toBe(whole);
      }),
    );
  });

  it('refuses what is not a non-empty object', () => {
    for (const text of ['{}', '[1]', '"x"']) expect(() => withLastKey(text, 'usage', {})).toThrow(/non-empty canonical JSON object/);
  });
});
