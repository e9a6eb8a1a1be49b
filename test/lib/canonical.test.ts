import * as jcs from 'canonicalize';
import fc from 'fast-check';
import { configure } from 'safe-stable-stringify';
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
    for (const bad of [{ n: Number.NaN }, { n: Number.POSITIVE_INFINITY }, [Number.NEGATIVE_INFINITY], { b: 1n }, [{ f: () => 1 }], { s: Symbol('s') }]) {
      expect(() => canonicalJson(bad)).toThrow(/safely be stringified|non-finite|bigint/i);
    }
    // Found as a cycle (by the general serializer), not as a stack overflow.
    expect(() => canonicalJson(cycle)).toThrow(/circular/i);
    expect(() => canonicalJson([1, [cycle]])).toThrow(/circular/i);
  });

  /**
   * Most values are written by JSON.stringify over a key-sorted copy; the rest by the general
   * serializer (safe-stable-stringify). Both give what the general one gives, on the values that
   * take the other path: integer-like and `__proto__` keys, toJSON, nesting deeper than the copy goes.
   */
  it('writes what the general serializer writes, on every kind of value either path takes', () => {
    const generalJson = configure({ deterministic: true, bigint: false, circularValue: Error, strict: true });
    let deep: unknown = { leaf: 'x' };
    for (let i = 0; i < 300; i++) deep = i % 2 ? { z: deep, a: i } : [deep, undefined];
    const values: unknown[] = [
      { b: 1, a: { d: [3, undefined, { y: null, x: true }], c: undefined } },
      JSON.parse('{"__proto__": {"b": 1, "a": 2}, "z": 0}'),
      { when: new Date(0), buf: Buffer.from('ab'), map: new Map([['k', 1]]), typed: new Uint8Array([5, 6]) },
      { toJSON: () => ({ b: 2, a: 1 }) },
      { '1a': 1, b: 2, '01': 3 },
      deep,
      [undefined, 'x', -0, 1e21, 0.1],
      'text',
      7,
      null,
    ];
    for (const value of values) expect(canonicalJson(value)).toBe(generalJson(value));
    expect(canonicalJson(JSON.parse('{"__proto__": {"b": 1, "a": 2}, "z": 0}'))).toBe('{"__proto__":{"a":2,"b":1},"z":0}');
    expect(canonicalJson({ when: new Date(0) })).toBe('{"when":"1970-01-01T00:00:00.000Z"}');
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
