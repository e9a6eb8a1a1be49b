import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { replayOne, type ReplayItem } from '../../src/engine/replay/replay-one.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * One recorded decision replayed (engine/replay/replay-one.ts) with the real fixtures bundle as the
 * candidate: the stored input evaluated as it is, or the reason it could not be replayed at all.
 */

let core: BareEngine;
const candidate = (name: string): WasmEvaluator | undefined => core.policies.find(name);

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
});
afterAll(() => core.close());

const item = (payload: string | null, over: Partial<ReplayItem> = {}): ReplayItem => ({
  decisionId: 'd-1',
  entrypoint: 'fixtures/echo',
  decision: 'allow',
  reasonCodes: ['ok'],
  payload,
  ...over,
});
const stored = (input: unknown, result: unknown = {}) => JSON.stringify({ input, result });

describe('replayOne', () => {
  it('evaluates the stored input and compares it with the recorded outcome', () => {
    const r = replayOne(candidate, item(stored({ result: { reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] } })));
    expect(r).toEqual({
      comparison: { decisionId: 'd-1', from: { decision: 'allow', reasonCodes: ['ok'] }, to: { decision: 'deny', reasonCodes: ['no'] }, approximate: false },
    });
  });

  it('an entrypoint given overrides the recorded one', () => {
    const r = replayOne(candidate, item(stored({ result: { decision: 'allow' } }), { entrypoint: 'gone/entrypoint' }), 'fixtures/echo');
    expect(r).toMatchObject({ comparison: { to: { decision: 'allow' } } });
  });

  it('a redacted stored input is compared as approximate', () => {
    const r = replayOne(candidate, item(stored({ result: { decision: 'allow' } }, { redactions: [{ path: '/content/prompt', kind: 'email' }] })));
    expect(r).toMatchObject({ comparison: { approximate: true } });
  });

  it.each([
    ['an erased payload', item(null), 'payload_erased'],
    ['an entrypoint the candidate does not have', item(stored({}), { entrypoint: 'gone/entrypoint' }), 'entrypoint_missing'],
    ['a payload that is not JSON', item('{"input": '), 'payload_unreadable'],
    ['a payload that is not an object', item('[1, 2]'), 'payload_unreadable'],
    ['a payload whose input is not an object', item('{"input": "text", "result": {}}'), 'payload_unreadable'],
  ])('%s is skipped, saying why', (_, given, why) => {
    expect(replayOne(candidate, given)).toEqual({ skipped: why });
  });
});
