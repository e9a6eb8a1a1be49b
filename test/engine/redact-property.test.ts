import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { redactionMarker } from '../../src/engine/redact.js';
import type { JsonObject, JsonValue } from '../../src/lib/json.js';
import { escapeToken, getAt } from '../../src/lib/pointer.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { payloadText } from '../helpers/payloads.js';

/**
 * Property: whatever the JSON type, length or location of a value named in
 * redactions[], it survives nowhere — not in the Decision returned by
 * engine.decide, not in the ledger payload — even when the policy echoes it in a
 * reason or an obligation and the caller repeats it in another field.
 *
 * The echo fixture returns input.result as the policy result, so each run chooses
 * the redactions itself. Redacted strings are drawn from Greek letters and every
 * other string is ASCII, so a redacted string can never turn up by coincidence:
 * any Greek letter left in the output is a leak.
 */

let core: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: FIXTURE_BUNDLES, ledger: ':memory:', engine: { defaultEntrypoint: 'fixtures/echo' }, usage: false });
});
afterAll(() => core.stop());

const SECRET_ALPHABET = 'αβγδεζηθικλμνξοπρστυφχψω';
const LEAK = new RegExp(`[${SECRET_ALPHABET}]`, 'u');
/** secretsOf's MIN_SECRET_LENGTH: shorter whole-field strings are masked at their path only. */
const MIN_HUNTED = 4;

const greek = fc.constantFrom(...SECRET_ALPHABET);
/** Empty, one-, two- and three-character strings as often as ones long enough to be hunted elsewhere. */
const secretString = fc.oneof(fc.string({ unit: greek, maxLength: 3 }), fc.string({ unit: greek, minLength: MIN_HUNTED, maxLength: 12 }));
/** Keys that need JSON-pointer escaping, or look like escapes themselves. */
const key = fc.constantFrom('a', 'b/c', 'd~e', '~1', '~0', '/', '~', 'x~1/y', '', '0');

/** A value to redact whole: any JSON type, nested; its strings are Greek, its keys ASCII. */
const { secretValue } = fc.letrec<{ secretValue: JsonValue }>((tie) => ({
  secretValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: secretString, weight: 3 },
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('secretValue'), { maxLength: 3 }),
    fc.dictionary(key, tie('secretValue'), { maxKeys: 3 }),
  ),
}));

/** A step down from the slot's own top-level key: an object key or an array index. */
const step = fc.oneof(
  key.map((k) => ({ key: k })),
  fc.nat(2).map((index) => ({ index })),
);

const slot = fc.record({
  prefix: key,
  steps: fc.array(step, { maxLength: 3 }),
  redact: fc.boolean(),
  kind: fc.constantFrom('email', 'phone', 'national_id', 'card'),
  secret: secretValue,
  plain: fc.oneof(fc.string({ unit: fc.constantFrom(...'abcdefghij -'), maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
});
type Slot = typeof slot extends fc.Arbitrary<infer T> ? T : never;

/** Nests `leaf` under the steps; siblings and other array cells hold ASCII filler. */
function nest(steps: Slot['steps'], leaf: JsonValue): JsonValue {
  const [first, ...rest] = steps;
  if (first === undefined) return leaf;
  const inner = nest(rest, leaf);
  // `sibling` is not among the generated keys, so it never overwrites the step's own key.
  if ('key' in first) return { [first.key]: inner, sibling: 'filler' };
  return Array.from({ length: first.index + 1 }, (_, i) => (i === first.index ? inner : `cell-${i}`));
}

function stringsIn(value: JsonValue): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function substrings(text: string, length: number): string[] {
  return Array.from({ length: Math.max(0, text.length - length + 1) }, (_, i) => text.slice(i, i + length));
}

interface Case {
  input: JsonObject;
  redacted: { pointer: string; kind: string; value: JsonValue }[];
  kept: { pointer: string; value: JsonValue }[];
}

/** Builds the input: each slot under /data/<prefix><i>/..., long redacted strings echoed in the input, a reason and an obligation. */
function build(slots: Slot[]): Case {
  const data: JsonObject = {};
  const c: Case = { input: {}, redacted: [], kept: [] };
  slots.forEach((s, i) => {
    const top = `${s.prefix}${i}`;
    const value = s.redact ? s.secret : s.plain;
    data[top] = nest(s.steps, value);
    const pointer = ['/data', escapeToken(top), ...s.steps.map((st) => ('key' in st ? escapeToken(st.key) : String(st.index)))].join('/');
    if (s.redact) c.redacted.push({ pointer, kind: s.kind, value });
    else c.kept.push({ pointer, value });
  });
  // Only strings long enough to be hunted are echoed: shorter ones are masked at their path alone, by design.
  const echoes = c.redacted.flatMap((r) => stringsIn(r.value)).filter((t) => t.length >= MIN_HUNTED);
  const echoed = `echo: ${echoes.join(' | ')} end`;
  data.echo = echoed;
  data.echoes = echoes;
  c.input = {
    data,
    result: {
      decision: 'allow',
      reasons: [{ code: 'echoed', message: echoed, rule: 'r' }],
      redactions: c.redacted.map((r) => ({ path: r.pointer, kind: r.kind })),
      obligations: { note: echoed, list: echoes, nested: { again: echoes } },
    },
  };
  return c;
}

describe('redaction, through the engine and the ledger', () => {
  it('no redacted value, of any type, survives in the Decision or the stored payload', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(slot, { minLength: 1, maxLength: 5 }), async (slots) => {
        const c = build(slots);
        const d = await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(c.input)) }, requestId: '', caller: 'prop' });
        const body = payloadText(core.parts.ledger.db, d.receipt.seq);
        const stored = (JSON.parse(body) as { input: JsonObject }).input;
        const out = JSON.stringify(d) + body;

        // Nothing Greek left anywhere: no redacted string, whole or in part, of any length.
        expect(out).not.toMatch(LEAK);
        for (const text of c.redacted.flatMap((r) => stringsIn(r.value))) {
          for (const part of substrings(text, MIN_HUNTED)) expect(out).not.toContain(part);
        }

        // Each redacted path holds the marker, whatever was there: object, array, number, boolean, null or string.
        expect(d.redactions).toEqual(expect.arrayContaining(c.redacted.map((r) => ({ path: r.pointer, kind: r.kind }))));
        for (const r of c.redacted) {
          const marker = redactionMarker(r.kind);
          expect(getAt(d.redactedInput ?? {}, r.pointer), r.pointer).toBe(marker);
          expect(getAt(stored, r.pointer), r.pointer).toBe(marker);
        }
        // Fields no one asked to redact come through intact.
        const seen = d.redactedInput ?? stored;
        for (const k of c.kept) {
          expect(getAt(seen, k.pointer), k.pointer).toEqual(k.value);
          expect(getAt(stored, k.pointer), k.pointer).toEqual(k.value);
        }
      }),
      { numRuns: 200 },
    );
  });
});
