import { describe, expect, it } from 'vitest';
import { normaliseResultSet, serviceDeny, strongest, type Effect } from '../../src/engine/result.js';

/**
 * The result contract, unit by unit: an opa-wasm result set becomes an outcome,
 * or a DENY whose one reason names exactly what the policy got wrong (the caller
 * and the auditor read that message; a vague one hides a broken policy).
 */

const EP = 'pkg/decision';
const UNSCANNED = [
  { path: '/content', kind: 'unscanned' },
  { path: '/action/params', kind: 'unscanned' },
];
const set = (result: unknown) => [{ result }];

function deniedWith(resultSet: unknown): { code: string; message: string } {
  const out = normaliseResultSet(resultSet, EP);
  expect(out.decision).toBe('deny');
  expect(out.reasons).toHaveLength(1);
  expect(out.reasons[0]).toMatchObject({ rule: 'gavel.engine', effect: 'deny' });
  // Nothing was scanned for personal data: the free-text roots are removed whole.
  expect(out).toMatchObject({ redactions: UNSCANNED, obligations: {}, sensitivePaths: [] });
  return { code: out.reasons[0]!.code, message: out.reasons[0]!.message };
}

const broken = (why: string) => ({ code: 'policy_error', message: `entrypoint ${EP} broke the result contract: ${why}` });
const none = { code: 'no_decision', message: `entrypoint ${EP} returned no result (undefined); failing closed` };

describe('no result', () => {
  it.each([
    ['an empty result set', []],
    ['no result set at all', undefined],
    ['a result set that is not an array', { result: { decision: 'allow' } }],
    ['a first element that is not an object', ['allow']],
    ['a first element without result', [{ other: 1 }]],
  ])('%s -> no_decision', (_name, resultSet) => {
    expect(deniedWith(resultSet)).toEqual(none);
  });
});

describe('a broken contract names the problem', () => {
  it.each([
    ['a result that is a string', 'allow', 'result must be an object, got string'],
    ['a result that is null', null, 'result must be an object, got null'],
    ['a result that is an array', [1], 'result must be an object, got an array'],
    ['an unknown decision', { decision: 'maybe' }, 'decision must be one of deny, require_approval, redact, allow, got "maybe"'],
    ['a decision that is not a string', { decision: 1 }, 'decision must be one of deny, require_approval, redact, allow, got 1'],
    ['reasons that are not an array', { decision: 'allow', reasons: {} }, 'reasons must be an array, got object'],
    ['a reason that is not an object', { decision: 'allow', reasons: ['x'] }, 'reasons[0] must be an object'],
    ['a reason without a code', { decision: 'allow', reasons: [{}] }, 'reasons[0].code must be a string, got nothing'],
    ['a reason code that is null', { decision: 'allow', reasons: [{ code: null }] }, 'reasons[0].code must be a string, got null'],
    ['a reason message that is not a string', { decision: 'allow', reasons: [{ code: 'c', message: 5 }] }, 'reasons[0].message must be a string, got number'],
    ['a reason rule that is not a string', { decision: 'allow', reasons: [{ code: 'c', rule: [] }] }, 'reasons[0].rule must be a string, got an array'],
    [
      'a reason effect that is unknown',
      { decision: 'allow', reasons: [{ code: 'c' }, { code: 'd', effect: 'no' }] },
      'reasons[1].effect must be one of deny, require_approval, redact, allow, got "no"',
    ],
    ['a reason with no effect and no decision', { reasons: [{ code: 'c' }] }, 'reasons[0] has no effect and the result has no decision'],
    ['redactions that are not an array', { decision: 'allow', redactions: 'x' }, 'redactions must be an array, got string'],
    ['a redaction that is not an object', { decision: 'allow', redactions: [true] }, 'redactions[0] must be an object'],
    [
      'a redaction path that is not a pointer',
      { decision: 'allow', redactions: [{ path: 'content', kind: 'k' }] },
      'redactions[0].path must be a JSON pointer like "/content/prompt"',
    ],
    [
      'a redaction path of the whole input',
      { decision: 'allow', redactions: [{ path: '', kind: 'k' }] },
      'redactions[0].path must not point at the whole input',
    ],
    ['a redaction without a path', { decision: 'allow', redactions: [{ kind: 'k' }] }, 'redactions[0].path must be a string, got nothing'],
    ['a redaction without a kind', { decision: 'allow', redactions: [{ path: '/a' }] }, 'redactions[0].kind must be a string, got nothing'],
    [
      'a redaction match that is not a string',
      { decision: 'allow', redactions: [{ path: '/a', kind: 'k', match: 1 }] },
      'redactions[0].match must be a string, got number',
    ],
    [
      'an empty redaction match',
      {
        decision: 'allow',
        redactions: [
          { path: '/a', kind: 'k' },
          { path: '/a', kind: 'k', match: '' },
        ],
      },
      'redactions[1].match must not be empty',
    ],
    ['obligations that are not an object', { decision: 'allow', obligations: 'x' }, 'obligations must be an object, got string'],
    ['obligations that are an array', { decision: 'allow', obligations: [] }, 'obligations must be an object, got an array'],
    ['sensitive paths that are not an array', { decision: 'allow', sensitive_paths: '/a' }, 'sensitive_paths must be an array, got string'],
    [
      'a sensitive path that is not a pointer',
      { decision: 'allow', sensitive_paths: ['/a', 'b'] },
      'sensitive_paths[1] must be a JSON pointer like "/content/prompt"',
    ],
    ['a sensitive path of the whole input', { decision: 'allow', sensitive_paths: [''] }, 'sensitive_paths[0] must not point at the whole input'],
    ['neither a decision nor any reason', {}, 'result has neither a decision nor any reason'],
  ])('%s', (_name, result, why) => {
    expect(deniedWith(set(result))).toEqual(broken(why));
  });
});

describe('a well-formed result', () => {
  it('keeps reasons (defaults filled in), redactions with and without match, obligations and sensitive paths', () => {
    const out = normaliseResultSet(
      set({
        decision: 'allow',
        reasons: [{ code: 'ok' }, { code: 'pii', message: 'found', rule: 'r.pii', effect: 'redact' }],
        redactions: [
          { path: '/content/prompt', kind: 'email', match: 'a@b.c' },
          { path: '/content/ssn', kind: 'ssn' },
        ],
        obligations: { route: { model: 'small' } },
        sensitive_paths: ['/subject/phone'],
      }),
      EP,
    );
    expect(out).toEqual({
      decision: 'redact',
      reasons: [
        { code: 'pii', message: 'found', rule: 'r.pii', effect: 'redact' },
        { code: 'ok', message: '', rule: '', effect: 'allow' },
      ],
      redactions: [
        { path: '/content/prompt', kind: 'email', match: 'a@b.c' },
        { path: '/content/ssn', kind: 'ssn' },
      ],
      obligations: { route: { model: 'small' } },
      sensitivePaths: ['/subject/phone'],
    });
    expect(Object.keys(out.redactions[1]!)).toEqual(['path', 'kind']);
  });

  it('null obligations count as none', () => {
    expect(normaliseResultSet(set({ decision: 'allow', obligations: null }), EP)).toMatchObject({ decision: 'allow', obligations: {} });
  });

  it('a reason without an effect takes the declared decision', () => {
    expect(normaliseResultSet(set({ decision: 'deny', reasons: [{ code: 'no' }] }), EP).reasons[0]!.effect).toBe('deny');
  });

  it('reasons are ordered by effect, then rule, then code', () => {
    const out = normaliseResultSet(
      set({
        reasons: [
          { code: 'b', rule: 'r2', effect: 'allow' },
          { code: 'a', rule: 'r2', effect: 'allow' },
          { code: 'z', rule: 'r1', effect: 'allow' },
          { code: 'y', rule: 'r9', effect: 'require_approval' },
        ],
      }),
      EP,
    );
    expect(out.decision).toBe('require_approval');
    expect(out.reasons.map((r) => r.code)).toEqual(['y', 'z', 'a', 'b']);
  });

  it('only the first element of the result set counts', () => {
    expect(normaliseResultSet([{ result: { decision: 'allow' } }, { result: { decision: 'deny' } }], EP).decision).toBe('allow');
  });
});

describe('strongest and serviceDeny', () => {
  it.each([
    [[], undefined],
    [['allow'], 'allow'],
    [['allow', 'allow'], 'allow'],
    [['redact', 'allow'], 'redact'],
    [['allow', 'redact'], 'redact'],
    [['require_approval', 'redact'], 'require_approval'],
    [['allow', 'deny', 'require_approval'], 'deny'],
  ] as Array<[Effect[], Effect | undefined]>)('strongest(%j) is %s', (effects, expected) => {
    expect(strongest(effects)).toBe(expected);
  });

  it('serviceDeny is a deny with one service reason that removes the unscanned free text', () => {
    expect(serviceDeny('evaluation_error', 'boom')).toEqual({
      decision: 'deny',
      reasons: [{ code: 'evaluation_error', message: 'boom', rule: 'gavel.engine', effect: 'deny' }],
      redactions: UNSCANNED,
      obligations: {},
      sensitivePaths: [],
    });
  });
});
