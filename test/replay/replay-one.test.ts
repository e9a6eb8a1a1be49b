import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { answerBatch } from '../../src/engine/replay/protocol.js';
import { batchReplayer, replayOne, type ReplayItem } from '../../src/engine/replay/replay-one.js';
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

describe('a batch replayed, as a replay worker does it', () => {
  const allow = item(stored({ result: { decision: 'allow' } }), { decisionId: 'd-a' });
  const deny = item(stored({ result: { reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] } }), { decisionId: 'd-b', entrypoint: 'other/entrypoint' });

  it('each item in order, with the entrypoints the candidate bundle has (or the one given)', () => {
    const echo = core.policies.resolve('fixtures/echo');
    const only = batchReplayer({ entrypoints: ['fixtures/echo'] }, echo);
    expect(only([allow, deny, item(null)])).toEqual([
      { comparison: { decisionId: 'd-a', from: { decision: 'allow', reasonCodes: ['ok'] }, to: { decision: 'allow', reasonCodes: [] }, approximate: false } },
      { skipped: 'entrypoint_missing' },
      { skipped: 'payload_erased' },
    ]);
    const given = batchReplayer({ entrypoints: ['fixtures/echo'] }, echo, 'fixtures/echo');
    expect(given([deny])).toMatchObject([{ comparison: { decisionId: 'd-b', to: { decision: 'deny', reasonCodes: ['no'] } } }]);
    expect(batchReplayer({ entrypoints: [] }, echo)([allow])).toEqual([{ skipped: 'entrypoint_missing' }]);
  });

  it("a worker's answer is the batch's results under its id, or the fault that stopped it", () => {
    const replay = batchReplayer(core.policies.resolve('fixtures/echo').bundle, core.policies.resolve('fixtures/echo'));
    expect(answerBatch(replay, { t: 'batch', id: 4, items: [allow] })).toEqual({ t: 'done', id: 4, results: replay([allow]) });
    const broken = () => {
      throw new RangeError('out of memory');
    };
    expect(answerBatch(broken, { t: 'batch', id: 5, items: [allow] })).toEqual({ t: 'fault', id: 5, message: 'out of memory' });
  });
});
