import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInputValue, parseInputJson } from '../../src/engine/input.js';
import { GavelError } from '../../src/lib/errors.js';

/**
 * parseInputJson skips the walk over every value when the text cannot hold a
 * value that walk refuses (a number past the double range, a lone surrogate).
 * The gate must never let one through: on any text, parsing refuses exactly
 * what the full walk (checkInputValue, which always walks) refuses.
 */
const limits = { maxInputBytes: 1024 * 1024, maxDepth: 64 };

/** A JSON number literal: integer digits (no leading zero), optional fraction, optional exponent. */
const numberLiteral = fc
  .tuple(
    fc.integer({ min: 1, max: 9 }),
    fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), maxLength: 330 }),
    fc.option(fc.string({ unit: fc.constantFrom('0', '3', '9'), minLength: 1, maxLength: 5 })),
    fc.option(fc.tuple(fc.constantFrom('e', 'E', 'e+', 'E-', 'e-'), fc.integer({ min: 0, max: 999 }), fc.boolean())),
  )
  .map(([lead, digits, fraction, exp]) => {
    const exponent = exp ? `${exp[0]}${exp[2] ? '0' : ''}${exp[1]}` : '';
    return `${lead}${digits}${fraction === null ? '' : `.${fraction}`}${exponent}`;
  });

/** A JSON string literal that may carry \u escapes of surrogates, paired or not. */
const stringLiteral = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'é', '\\\\', '\\n', '\\ud800', '\\uDBFF', '\\udc00', '\\uDFFF', '\\ud83d\\ude00', '\\u00e9'),
      fc.string({ maxLength: 3 }).map((s) => JSON.stringify(s).slice(1, -1)),
    ),
    {
      maxLength: 6,
    },
  )
  .map((parts) => `"${parts.join('')}"`);

/** Objects with distinct keys: a duplicate key is refused by the text parser alone (input-duplicates.test.ts), which no parsed value shows. */
const text = fc
  .array(fc.tuple(stringLiteral, fc.oneof(numberLiteral, stringLiteral)), { minLength: 1, maxLength: 4 })
  .filter((pairs) => {
    const keys = pairs.map(([k], i) => (i === 0 ? 'k' : decodedKey(k)));
    return keys.every((k) => k !== undefined) && new Set(keys).size === keys.length;
  })
  .map((pairs) => `{${pairs.map(([k, v], i) => `${i === 0 ? '"k"' : k}:${v}`).join(',')}}`);

function decodedKey(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

function outcome(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (err) {
    if (err instanceof GavelError) return err.code;
    return 'not json';
  }
}

describe('the input gate', () => {
  it('refuses exactly what the full walk refuses, on any text', () => {
    fc.assert(
      fc.property(text, (t) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(t);
        } catch {
          return;
        }
        expect(outcome(() => parseInputJson(Buffer.from(t), limits))).toBe(outcome(() => checkInputValue(parsed, limits)));
      }),
      { numRuns: 3000 },
    );
  });

  it('lets the edges through the walk: just past the double range, a lone escape, a pair', () => {
    const refused = (t: string) => outcome(() => parseInputJson(Buffer.from(t), limits));
    expect(refused(`{"n":${'9'.repeat(309)}}`)).toBe('invalid_input');
    expect(refused(`{"n":${'9'.repeat(210)}e99}`)).toBe('invalid_input');
    expect(refused('{"n":2e308}')).toBe('invalid_input');
    expect(refused('{"n":1.7e308}')).toBe('accepted');
    expect(refused('{"s":"\\ud800"}')).toBe('invalid_input');
    expect(refused('{"s":"\\ud83d\\ude00"}')).toBe('accepted');
  });
});
