import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyRedactions, hashSensitivePaths, redactionMarker, scrubOutcome, secretsOf } from '../../src/engine/redact.js';
import type { PolicyOutcome, RedactionSpec } from '../../src/engine/result.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import type { JsonObject } from '../../src/lib/json.js';

/**
 * Unit tests for src/engine/redact.ts. The rule they guard: a value named in
 * redactions[] never survives, whatever its JSON type or length, and the
 * caller's input is never mutated.
 */

/** What the engine does: secrets from the input, then the redactions applied with them. */
function redact(input: JsonObject, redactions: RedactionSpec[]) {
  return applyRedactions(input, redactions, secretsOf(input, redactions));
}

/** Runs fn and checks that it left `input` exactly as it was. */
function untouched<T>(input: JsonObject, fn: (input: JsonObject) => T): T {
  const before = structuredClone(input);
  const out = fn(input);
  expect(input).toEqual(before);
  return out;
}

const M = redactionMarker;

describe('redactionMarker', () => {
  it('names the kind', () => {
    expect(M('email')).toBe('[REDACTED:email]');
  });
});

describe('secretsOf', () => {
  it('takes a whole-field string of 4+ characters, and skips shorter ones', () => {
    const input = { a: 'abcd', b: 'abc', c: '', d: 'x' };
    const specs = ['a', 'b', 'c', 'd'].map((k) => ({ path: `/${k}`, kind: 'k' }));
    expect(secretsOf(input, specs)).toEqual([{ text: 'abcd', kind: 'k' }]);
  });

  it('takes a whole-field string also as normalised, when that differs and still has 4+ characters', () => {
    // A zero-width space: five characters as sent, four normalised.
    expect(secretsOf({ a: '41\u200b11' }, [{ path: '/a', kind: 'card' }])).toEqual([
      { text: '41\u200b11', kind: 'card' },
      { text: '4111', kind: 'card' },
    ]);
    expect(secretsOf({ a: '4\u200b11' }, [{ path: '/a', kind: 'card' }])).toEqual([{ text: '4\u200b11', kind: 'card' }]);
  });

  it('takes every match, however short, even where the path is missing', () => {
    expect(
      secretsOf({ a: 'xyz' }, [
        { path: '/a', kind: 'k', match: 'y' },
        { path: '/missing', kind: 'm', match: 'qq' },
      ]),
    ).toEqual([
      { text: 'qq', kind: 'm' },
      { text: 'y', kind: 'k' },
    ]);
  });

  it('takes the strings nested inside a whole-field object or array', () => {
    const input = { o: { inner: 'nested-token', deeper: { list: ['in-an-array', 'no', 42] } }, arr: ['array-token', { k: 'object-in-array' }] };
    const texts = secretsOf(input, [
      { path: '/o', kind: 'o' },
      { path: '/arr', kind: 'a' },
    ]).map((s) => s.text);
    expect(texts.sort()).toEqual(['array-token', 'in-an-array', 'nested-token', 'object-in-array']);
  });

  it('takes nothing from numbers, booleans, null or a missing path', () => {
    const input = { n: 12345678, t: true, z: null };
    expect(
      secretsOf(input, [
        { path: '/n', kind: 'k' },
        { path: '/t', kind: 'k' },
        { path: '/z', kind: 'k' },
        { path: '/nope', kind: 'k' },
      ]),
    ).toEqual([]);
  });

  it('follows escaped keys and array indices', () => {
    const input = { 'a/b': { 'c~d': ['zero', 'one-secret'] } };
    expect(secretsOf(input, [{ path: '/a~1b/c~0d/1', kind: 'k' }])).toEqual([{ text: 'one-secret', kind: 'k' }]);
  });

  it('sorts longest first, so that a secret containing another is masked whole', () => {
    const texts = secretsOf({ a: 'abcd', b: 'abcdefgh', c: 'abcdef' }, [
      { path: '/a', kind: 'k' },
      { path: '/b', kind: 'k' },
      { path: '/c', kind: 'k' },
    ]).map((s) => s.text);
    expect(texts).toEqual(['abcdefgh', 'abcdef', 'abcd']);
  });
});

describe('applyRedactions: whole-field', () => {
  const values: [string, JsonObject[string]][] = [
    ['an object', { user: 'someone', pin: 1234, nested: { deep: [true, null] } }],
    ['an array', ['first', 2, false, null, { k: 'v' }]],
    ['an empty object', {}],
    ['an empty array', []],
    ['an integer', 5551234567],
    ['a negative fraction', -0.5],
    ['zero', 0],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an empty string', ''],
    ['a one-character string', 'x'],
    ['a two-character string', 'ab'],
    ['a three-character string', 'abc'],
    ['a long string', 'a long secret value'],
  ];

  it.each(values)('%s at the path is replaced by the marker', (_name, value) => {
    const input: JsonObject = { field: value, other: 'kept' };
    const { redacted, applied } = untouched(input, (i) => redact(i, [{ path: '/field', kind: 'secret' }]));
    expect(redacted).toEqual({ field: M('secret'), other: 'kept' });
    expect(applied).toEqual([{ path: '/field', kind: 'secret' }]);
  });

  it.each(values)('%s nested in objects and arrays is replaced by the marker', (_name, value) => {
    const input: JsonObject = { outer: { list: ['keep', { inner: value, sibling: 'stays' }] } };
    const { redacted } = untouched(input, (i) => redact(i, [{ path: '/outer/list/1/inner', kind: 'k' }]));
    expect(redacted).toEqual({ outer: { list: ['keep', { inner: M('k'), sibling: 'stays' }] } });
  });

  it.each([
    ['a slash', 'a/b', '/a~1b'],
    ['a tilde', 'a~b', '/a~0b'],
    ['a literal "~1"', '~1', '/~01'],
    ['a literal "~0"', '~0', '/~00'],
    ['only a slash', '/', '/~1'],
    ['only a tilde', '~', '/~0'],
    ['the empty string', '', '/'],
  ])('a key containing %s is found through its escaped pointer', (_name, key, pointer) => {
    const input: JsonObject = { [key]: { hidden: [1, 'two'] }, a: 'kept', b: 'kept too' };
    const { redacted, applied } = untouched(input, (i) => redact(i, [{ path: pointer, kind: 'k' }]));
    expect(redacted).toEqual({ [key]: M('k'), a: 'kept', b: 'kept too' });
    expect(applied).toEqual([{ path: pointer, kind: 'k' }]);
  });

  it('array elements are replaced by index, of any type', () => {
    const input: JsonObject = { a: [{ o: 1 }, [2], 3, 'four-long', true, null, 'ok'] };
    const specs = [0, 1, 2, 3, 4, 5].map((i) => ({ path: `/a/${i}`, kind: `k${i}` }));
    const { redacted, applied } = untouched(input, (i) => redact(i, specs));
    expect(redacted).toEqual({ a: [M('k0'), M('k1'), M('k2'), M('k3'), M('k4'), M('k5'), 'ok'] });
    expect(applied).toHaveLength(6);
  });

  it('a path that is not there is not listed as applied', () => {
    const input: JsonObject = { a: [1], b: { c: 'd' } };
    const { redacted, applied } = untouched(input, (i) =>
      redact(i, [
        { path: '/a/5', kind: 'k' },
        { path: '/b/x', kind: 'k' },
        { path: '/z/y', kind: 'k' },
      ]),
    );
    expect(redacted).toEqual(input);
    expect(applied).toEqual([]);
  });

  it('a path and kind named twice is listed once', () => {
    const { applied } = redact({ a: 'value' }, [
      { path: '/a', kind: 'k' },
      { path: '/a', kind: 'k' },
    ]);
    expect(applied).toEqual([{ path: '/a', kind: 'k' }]);
  });

  it('a path inside a field redacted whole, in either order, leaves only the marker', () => {
    const input: JsonObject = { a: { b: 'inner-secret', c: 7 } };
    for (const specs of [
      [
        { path: '/a', kind: 'outer' },
        { path: '/a/b', kind: 'inner' },
      ],
      [
        { path: '/a/b', kind: 'inner' },
        { path: '/a', kind: 'outer' },
      ],
    ]) {
      const { redacted } = untouched(input, (i) => redact(i, specs));
      expect(redacted).toEqual({ a: M('outer') });
    }
  });

  it('no redactions returns the input itself, with nothing applied', () => {
    const input: JsonObject = { a: 'b' };
    expect(redact(input, [])).toEqual({ redacted: input, applied: [] });
  });
});

describe('applyRedactions: the removed values are hunted elsewhere in the input', () => {
  it('a whole-field string of 4+ characters is masked wherever it appears', () => {
    const input: JsonObject = { ssn: '078-05-1120', prompt: 'my ssn is 078-05-1120.', params: { copy: ['078-05-1120', 'x078-05-1120x'] } };
    const { redacted } = untouched(input, (i) => redact(i, [{ path: '/ssn', kind: 'national_id' }]));
    expect(redacted).toEqual({
      ssn: M('national_id'),
      prompt: `my ssn is ${M('national_id')}.`,
      params: { copy: [M('national_id'), `x${M('national_id')}x`] },
    });
  });

  it('strings inside a whole-field object or array are masked wherever they appear', () => {
    const input: JsonObject = {
      card: { number: '4111111111111111', holder: 'Jane Roe', cvc: 123 },
      list: ['token-one', ['token-two']],
      prompt: 'charge 4111111111111111 for Jane Roe with token-one and token-two',
    };
    const { redacted } = untouched(input, (i) =>
      redact(i, [
        { path: '/card', kind: 'card' },
        { path: '/list', kind: 'tok' },
      ]),
    );
    expect(redacted).toEqual({ card: M('card'), list: M('tok'), prompt: `charge ${M('card')} for ${M('card')} with ${M('tok')} and ${M('tok')}` });
  });

  it('strings shorter than 4 characters are not hunted elsewhere (masking "yes" everywhere would destroy the input)', () => {
    const input: JsonObject = { answer: 'yes', prompt: 'yes, yes' };
    const { redacted } = redact(input, [{ path: '/answer', kind: 'k' }]);
    expect(redacted).toEqual({ answer: M('k'), prompt: 'yes, yes' });
  });

  it('a secret containing another is masked whole, not in pieces', () => {
    const input: JsonObject = { short: 'abcd', long: 'abcdefgh', text: 'abcdefgh abcd' };
    const { redacted } = redact(input, [
      { path: '/short', kind: 's' },
      { path: '/long', kind: 'l' },
    ]);
    expect(redacted.text).toBe(`${M('l')} ${M('s')}`);
  });
});

describe('applyRedactions: match (substring)', () => {
  it('replaces every occurrence of the match in the string at the path, and only that', () => {
    const input: JsonObject = { content: { prompt: 'write to a@x.io or a@x.io now' } };
    const { redacted, applied } = untouched(input, (i) => redact(i, [{ path: '/content/prompt', kind: 'email', match: 'a@x.io' }]));
    expect(redacted).toEqual({ content: { prompt: `write to ${M('email')} or ${M('email')} now` } });
    expect(applied).toEqual([{ path: '/content/prompt', kind: 'email' }]);
  });

  it('masks the match wherever else it appears in the input, however short', () => {
    const input: JsonObject = { prompt: 'pin 42 here', params: { pin: 'pin=42', list: ['42'] } };
    const { redacted } = untouched(input, (i) => redact(i, [{ path: '/prompt', kind: 'pin', match: '42' }]));
    expect(redacted).toEqual({ prompt: `pin ${M('pin')} here`, params: { pin: `pin=${M('pin')}`, list: [M('pin')] } });
  });

  it('replaces a non-string value at the path whole', () => {
    for (const value of [{ a: 'b' }, ['x'], 7, true, null]) {
      const input: JsonObject = { v: value };
      const { redacted } = untouched(input, (i) => redact(i, [{ path: '/v', kind: 'k', match: 'x' }]));
      expect(redacted).toEqual({ v: M('k') });
    }
  });

  it('works under escaped keys and array indices', () => {
    const input: JsonObject = { 'a/b': [{ 'c~d': 'secret=hunter2' }] };
    const { redacted } = untouched(input, (i) => redact(i, [{ path: '/a~1b/0/c~0d', kind: 'pw', match: 'hunter2' }]));
    expect(redacted).toEqual({ 'a/b': [{ 'c~d': `secret=${M('pw')}` }] });
  });
});

describe('scrubOutcome', () => {
  const outcome = (): PolicyOutcome => ({
    decision: 'redact',
    reasons: [
      { code: 'a', message: 'found 078-05-1120 and nested-token', rule: 'r', effect: 'redact' },
      { code: 'b', message: 'nothing here', rule: 'r', effect: 'allow' },
    ],
    redactions: [{ path: '/ssn', kind: 'national_id' }],
    obligations: { note: '078-05-1120', deep: { list: ['x nested-token y', 5, null] } },
    sensitivePaths: [],
  });

  it('masks every secret in reason messages and obligations, without mutating the outcome', () => {
    const before = outcome();
    const input = structuredClone(before);
    const secrets = [
      { text: 'nested-token', kind: 'k' },
      { text: '078-05-1120', kind: 'national_id' },
    ];
    const out = scrubOutcome(input, secrets);
    expect(input).toEqual(before);
    expect(out.reasons.map((r) => r.message)).toEqual(['found [REDACTED] and [REDACTED]', 'nothing here']);
    expect(out.obligations).toEqual({ note: '[REDACTED]', deep: { list: ['x [REDACTED] y', 5, null] } });
    expect(out.redactions).toEqual(before.redactions);
    expect(out.decision).toBe('redact');
  });

  it('scrubs strings taken from inside a whole-field object (secretsOf + scrubOutcome)', () => {
    const input: JsonObject = { ssn: { value: '078-05-1120' }, obj: { inner: 'nested-token' } };
    const secrets = secretsOf(input, [
      { path: '/ssn', kind: 'national_id' },
      { path: '/obj', kind: 'k' },
    ]);
    const out = JSON.stringify(scrubOutcome(outcome(), secrets));
    expect(out).not.toContain('078-05-1120');
    expect(out).not.toContain('nested-token');
  });

  it('returns the outcome itself when there is nothing to scrub', () => {
    const o = outcome();
    expect(scrubOutcome(o, [])).toBe(o);
  });
});

describe('hashSensitivePaths', () => {
  const salt = new Uint8Array(16).fill(7);
  const digest = (value: unknown, s = salt) => createHash('sha256').update(s).update(canonicalJson(value)).digest('hex');

  it.each([
    ['an object', { b: 2, a: [1, 'x'] }],
    ['an array', [1, 'two', null]],
    ['a number', 5551234567],
    ['a boolean', false],
    ['null', null],
    ['an empty string', ''],
    ['a string', 'ab'],
  ])('%s becomes {sha256: hex(SHA-256(salt || JCS(value)))}', (_name, value) => {
    const input: JsonObject = { s: value as JsonObject[string], keep: 'k' };
    const out = untouched(input, (i) => hashSensitivePaths(i, ['/s'], salt));
    expect(out).toEqual({ s: { sha256: digest(value) }, keep: 'k' });
  });

  it('hashes canonical JSON, so key order does not change the digest', () => {
    const a = hashSensitivePaths({ s: { x: 1, y: 2 } }, ['/s'], salt);
    const b = hashSensitivePaths({ s: { y: 2, x: 1 } }, ['/s'], salt);
    expect(a).toEqual(b);
  });

  it('a different salt gives a different digest', () => {
    const a = hashSensitivePaths({ s: '555-1234' }, ['/s'], salt);
    const b = hashSensitivePaths({ s: '555-1234' }, ['/s'], new Uint8Array(16).fill(8));
    expect(a).not.toEqual(b);
  });

  it('follows nested paths, array indices and escaped keys, and skips missing paths', () => {
    const input: JsonObject = { 'a/b': { 'c~d': ['zero', { phone: '555-1234' }] }, other: 1 };
    const out = untouched(input, (i) => hashSensitivePaths(i, ['/a~1b/c~0d/1/phone', '/a~1b/c~0d/0', '/missing/path', '/a~1b/c~0d/9'], salt));
    expect(out).toEqual({ 'a/b': { 'c~d': [{ sha256: digest('zero') }, { phone: { sha256: digest('555-1234') } }] }, other: 1 });
  });

  it('returns the input itself when there is nothing to hash', () => {
    const input: JsonObject = { a: 1 };
    expect(hashSensitivePaths(input, [], salt)).toBe(input);
  });
});
