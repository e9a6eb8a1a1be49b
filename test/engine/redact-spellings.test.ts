import { describe, expect, it } from 'vitest';
import { applyRedactions, maskSecrets, redactionMarker, scrubOutcome, secretsOf } from '../../src/engine/redact.js';
import type { PolicyOutcome, RedactionSpec } from '../../src/engine/result.js';
import type { JsonObject } from '../../src/lib/json.js';

/**
 * A removed value survives in no spelling: the policy matches on normalised
 * text (src/engine/scan-text.ts), so its `match` may stand in the input only
 * as full-width or Arabic-Indic digits, split by invisible characters, or as a
 * JSON number.
 */
function redact(input: JsonObject, redactions: RedactionSpec[]) {
  return applyRedactions(input, redactions, secretsOf(input, redactions)).redacted;
}

const M = redactionMarker;
const CARD = '4111111111111111';
const FULL_WIDTH = '４１１１１１１１１１１１１１１１';
const card = (path: string): RedactionSpec => ({ path, kind: 'card', match: CARD });

describe('maskSecrets', () => {
  const secrets = [{ text: CARD, kind: 'card' }];

  it('masks a verbatim match in place and keeps the rest', () => {
    expect(maskSecrets(`Grüße, card ${CARD}.`, secrets, M)).toBe(`Grüße, card ${M('card')}.`);
  });

  it.each([
    ['full-width', FULL_WIDTH],
    ['Arabic-Indic', '٤١١١١١١١١١١١١١١١'],
    ['split by U+200B', '4111\u200b1111\u200b1111\u200b1111'],
  ])('masks the whole string where the match stands %s', (_name, spelling) => {
    expect(maskSecrets(`card ${spelling}, thanks`, secrets, M)).toBe(M('card'));
  });

  it('masks the whole string when one spelling is verbatim and another is not', () => {
    expect(maskSecrets(`${CARD} and ${FULL_WIDTH}`, secrets, M)).toBe(M('card'));
  });

  it('keeps a string whose normalised form holds no removed value', () => {
    expect(maskSecrets('４１１１ only', secrets, M)).toBe('４１１１ only');
    expect(maskSecrets('plain ascii', secrets, M)).toBe('plain ascii');
  });
});

describe('applyRedactions in other spellings', () => {
  it('a card matched in the normalised text masks its string whole, here and wherever it appears', () => {
    const input: JsonObject = { content: { prompt: `card ${FULL_WIDTH}` }, context: { copy: `again ${FULL_WIDTH}`, other: 'kept' } };
    expect(redact(input, [card('/content/prompt')])).toEqual({ content: { prompt: M('card') }, context: { copy: M('card'), other: 'kept' } });
  });

  it('a card sent as a JSON number is replaced whole, and the same integer elsewhere too', () => {
    const input: JsonObject = { action: { params: { card: 4111111111111111 } }, context: { raw: 4111111111111111, amount: 1234567, small: 411111 } };
    const out = redact(input, [card('/action/params/card')]);
    expect(out).toEqual({ action: { params: { card: M('card') } }, context: { raw: M('card'), amount: 1234567, small: 411111 } });
  });

  it('an integer whose digits are those of a match with separators is masked', () => {
    const input: JsonObject = {
      content: { prompt: 'card 4111-1111-1111-1111' },
      context: { n: 4111111111111111, f: 4111111111111111.5, m: -4111111111111111 },
    };
    const out = redact(input, [{ path: '/content/prompt', kind: 'card', match: '4111-1111-1111-1111' }]);
    expect(out).toEqual({ content: { prompt: `card ${M('card')}` }, context: { n: M('card'), f: 4111111111111111.5, m: M('card') } });
  });

  it('integers shorter than seven digits are never taken for a removed value', () => {
    const input: JsonObject = { content: { prompt: 'pin 123456 code 1234567' }, context: { a: 123456, b: 1234567 } };
    const out = redact(input, [
      { path: '/content/prompt', kind: 'pin', match: '123456' },
      { path: '/content/prompt', kind: 'code', match: '1234567' },
    ]);
    expect(out).toEqual({ content: { prompt: `pin ${M('pin')} code ${M('code')}` }, context: { a: 123456, b: M('code') } });
  });

  it('a whole-field string is hunted in its normalised form too', () => {
    const input: JsonObject = { ssn: '０７８-０５-１１２０', note: 'ssn 078-05-1120 on file' };
    expect(secretsOf(input, [{ path: '/ssn', kind: 'national_id' }]).map((s) => s.text)).toEqual(['０７８-０５-１１２０', '078-05-1120']);
    expect(redact(input, [{ path: '/ssn', kind: 'national_id' }])).toEqual({ ssn: M('national_id'), note: `ssn ${M('national_id')} on file` });
  });
});

describe('scrubOutcome in other spellings', () => {
  it('masks a removed value echoed in another spelling in a reason or an obligation', () => {
    const outcome: PolicyOutcome = {
      decision: 'redact',
      reasons: [{ code: 'x', message: `saw ${FULL_WIDTH}`, rule: 'r', effect: 'redact' }],
      redactions: [card('/content/prompt')],
      obligations: { note: `card ${FULL_WIDTH}`, n: 4111111111111111, keep: 'ok' },
      sensitivePaths: [],
    };
    const scrubbed = scrubOutcome(outcome, [{ text: CARD, kind: 'card' }]);
    expect(scrubbed.reasons[0]!.message).toBe('[REDACTED]');
    expect(scrubbed.obligations).toEqual({ note: '[REDACTED]', n: '[REDACTED]', keep: 'ok' });
  });
});
