import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { InlineRunner } from '../../src/engine/runner.js';
import type { EvaluateRequest } from '../../src/engine/stages.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * The runner without workers (engine/runner.ts): both stages on this thread, a job usable until
 * it is discarded, shadow evaluations one per event-loop turn, and nothing held between decisions.
 */

let core: BareEngine;
let echo: WasmEvaluator;
const runner = new InlineRunner(engineConfig({}));

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
  echo = core.policies.resolve('fixtures/echo');
});
afterAll(() => core.close());

const prepare = (result: unknown) => runner.prepare({ input: { value: { result } }, requestId: 'r-1', caller: 'test' });
const req: EvaluateRequest = { decisionId: 'd-1', entrypoint: 'fixtures/echo', nowMs: Date.parse('2026-12-06T10:00:00Z'), context: undefined };

describe('InlineRunner', () => {
  it('evaluates a prepared job, as often as asked, until it is discarded', async () => {
    const job = await prepare({ decision: 'deny', reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] });
    expect((await runner.evaluate(job, echo, req)).decision).toBe('deny');
    expect((await runner.evaluate(job, echo, req)).decision).toBe('deny');
    runner.discard(job);
    await expect(runner.evaluate(job, echo, req)).rejects.toThrow('this job was discarded');
    runner.discard(job);
  });

  it('shadow-evaluates a job to its decision and reason codes; a discarded one fails alone, and the next still runs', async () => {
    const gone = await prepare({ decision: 'allow' });
    const kept = await prepare({ reasons: [{ code: 'needs_review', effect: 'require_approval', rule: 'r' }] });
    runner.discard(gone);
    const [failed, outcome] = await Promise.allSettled([runner.shadow(gone, echo, req), runner.shadow(kept, echo, req)]);
    expect(failed).toMatchObject({ status: 'rejected', reason: new Error('this job was discarded') });
    expect(outcome).toEqual({ status: 'fulfilled', value: { decision: 'require_approval', reasonCodes: ['needs_review'] } });
  });

  it('holds nothing between decisions and has no worker to wait for', async () => {
    await expect(runner.ready()).resolves.toBeUndefined();
    expect(await runner.held()).toEqual([]);
    expect([runner.size, runner.restarts]).toEqual([0, 0]);
  });
});
