import { describe, expect, it } from 'vitest';
import { applyRedactions, redactionMarker, secretsOf } from '../../src/engine/redact.js';
import type { RedactionSpec } from '../../src/engine/result.js';
import type { JsonObject } from '../../src/lib/json.js';

/**
 * What a redaction with `match` removes when the value at its path is not a
 * string: the whole value is replaced (applyRedactions), so every string inside
 * it is gone too and must be hunted wherever else it appears, exactly as for a
 * redaction without `match`.
 */

const M = redactionMarker;

function redact(input: JsonObject, redactions: RedactionSpec[]) {
  return applyRedactions(input, redactions, secretsOf(input, redactions));
}

describe('a match on a non-string value', () => {
  it('counts the strings inside the replaced object as removed, besides the match itself', () => {
    const input: JsonObject = { card: { holder: 'Jane Roe', number: '4111111111111111' } };
    const texts = secretsOf(input, [{ path: '/card', kind: 'card', match: 'zz' }]).map((s) => s.text);
    expect(texts.sort()).toEqual(['4111111111111111', 'Jane Roe', 'zz']);
  });

  it('masks an echo of a string from inside the replaced object elsewhere in the input', () => {
    const input: JsonObject = {
      card: { holder: 'Jane Roe', number: '4111111111111111' },
      content: { prompt: 'bill Jane Roe on 4111111111111111' },
    };
    const { redacted } = redact(input, [{ path: '/card', kind: 'card', match: '4111' }]);
    expect(redacted).toEqual({ card: M('card'), content: { prompt: `bill ${M('card')} on ${M('card')}` } });
    expect(JSON.stringify(redacted)).not.toContain('Jane Roe');
  });

  it('masks an echo of a string from inside a replaced array', () => {
    const input: JsonObject = { tokens: ['alpha-token', 'beta-token'], note: 'used beta-token today' };
    const { redacted } = redact(input, [{ path: '/tokens', kind: 'tok', match: 'nothing-like-it' }]);
    expect(redacted).toEqual({ tokens: M('tok'), note: `used ${M('tok')} today` });
  });

  it('on a string value removes only the match: the rest of the string stays readable elsewhere', () => {
    const input: JsonObject = { prompt: 'mail a@x.io please', copy: 'mail a@x.io please' };
    expect(secretsOf(input, [{ path: '/prompt', kind: 'email', match: 'a@x.io' }])).toEqual([{ text: 'a@x.io', kind: 'email' }]);
    const { redacted } = redact(input, [{ path: '/prompt', kind: 'email', match: 'a@x.io' }]);
    expect(redacted).toEqual({ prompt: `mail ${M('email')} please`, copy: `mail ${M('email')} please` });
  });
});

describe('no redactions', () => {
  it('hands back the input object itself, not a copy (the engine stores it as is)', () => {
    const input: JsonObject = { content: { prompt: 'nothing to hide' } };
    const out = applyRedactions(input, [], []);
    expect(out.redacted).toBe(input);
    expect(out.applied).toEqual([]);
  });
});
