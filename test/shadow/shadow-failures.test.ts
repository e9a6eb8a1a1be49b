import { describe, expect, it } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig } from '../../src/engine/config.js';
import { InlineRunner, type Job } from '../../src/engine/runner.js';
import { Shadow, shadowConfig, type ShadowRecord } from '../../src/engine/shadow/shadow.js';
import type { EvaluateRequest, ShadowOutcome } from '../../src/engine/stages.js';
import { GavelError } from '../../src/lib/errors.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * A shadow evaluation that cannot finish (engine/shadow/shadow.ts), on the real fixtures bundle with a
 * runner whose shadow step fails as told: an evaluation that stopped its worker switches its bundle off
 * until the set is activated again; any other failure is counted and the bundle stays on.
 */

const bundles = loadBundles(FIXTURE_BUNDLES);
const config = engineConfig({});
const req: EvaluateRequest = { decisionId: 'd-1', entrypoint: 'fixtures/echo', nowMs: Date.parse('2026-12-06T10:00:00Z'), context: undefined };
const live = { bundle: 'live', revision: 'r1', digest: 'x', decision: 'allow', reasonCodes: [] };

/** A runner whose shadow step answers with `next()`; every discarded job is noted. */
class TellingRunner extends InlineRunner {
  next: () => Promise<ShadowOutcome> = () => Promise.resolve({ decision: 'deny', reasonCodes: ['no'] });
  discarded: Job[] = [];
  override shadow(): Promise<ShadowOutcome> {
    return this.next();
  }
  override discard(job: Job): void {
    this.discarded.push(job);
  }
}

function shadowed() {
  const runner = new TellingRunner(config);
  const records: ShadowRecord[] = [];
  const disabled: string[] = [];
  const shadow = new Shadow(runner, { record: (r) => records.push(r) }, shadowConfig(), config, (bundle, reason) => disabled.push(`${bundle.name}: ${reason}`));
  shadow.activate(bundles);
  return { runner, shadow, records, disabled };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const job = {} as Job;

describe('Shadow, when an evaluation cannot finish', () => {
  it('one that stopped its worker (evaluation_unavailable) switches its bundle off until the set is activated again', async () => {
    const { runner, shadow, disabled } = shadowed();
    runner.next = () => Promise.reject(new GavelError('evaluation_unavailable', 'the worker ran past the evaluation timeout'));
    expect(shadow.offer(job, req, live)).toBe(true);
    await settle();
    expect([shadow.failed, shadow.disabled, shadow.queued]).toEqual([1, 1, 0]);
    expect(disabled).toEqual(['fixtures: the worker ran past the evaluation timeout']);
    expect(runner.discarded).toEqual([job]);
    // Off: the next job is not taken (the caller discards it).
    expect(shadow.offer(job, req, live)).toBe(false);
    shadow.activate(bundles);
    expect(shadow.disabled).toBe(0);
    runner.next = () => Promise.resolve({ decision: 'deny', reasonCodes: ['no'] });
    expect(shadow.offer(job, req, live)).toBe(true);
  });

  it('without a listener for switched-off bundles, one is switched off all the same; the set it was given is what it says it has', async () => {
    const runner = new TellingRunner(config);
    const shadow = new Shadow(runner, { record: () => undefined }, shadowConfig(), config);
    expect(shadow.bundles).toEqual([]);
    shadow.activate(bundles);
    expect(shadow.bundles.map((b) => [b.name, b.digest])).toEqual(bundles.map((b) => [b.name, b.digest]));
    runner.next = () => Promise.reject(new GavelError('evaluation_unavailable', 'the worker crashed'));
    shadow.offer(job, req, live);
    await settle();
    expect([shadow.failed, shadow.disabled]).toEqual([1, 1]);
    shadow.activate([]);
    expect(shadow.bundles).toEqual([]);
  });

  it.each([
    ['a plain error', () => new Error('boom')],
    ['another refusal', () => new GavelError('internal', 'trapped')],
    ['an error that only carries the code', () => Object.assign(new Error('boom'), { code: 'evaluation_unavailable' })],
  ])('%s is counted, and the bundle stays on', async (_, failure) => {
    const { runner, shadow, disabled } = shadowed();
    runner.next = () => Promise.reject(failure());
    shadow.offer(job, req, live);
    await settle();
    expect([shadow.failed, shadow.disabled]).toEqual([1, 0]);
    expect(disabled).toEqual([]);
    expect(shadow.offer(job, req, live)).toBe(true);
  });

  it('two evaluations stopped at once switch the bundle off once, and say so once', async () => {
    const { runner, shadow, disabled } = shadowed();
    runner.next = () => Promise.reject(new GavelError('evaluation_unavailable', 'the worker crashed'));
    shadow.offer(job, req, live);
    shadow.offer(job, req, live);
    await settle();
    expect([shadow.failed, shadow.disabled]).toEqual([2, 1]);
    expect(disabled).toEqual(['fixtures: the worker crashed']);
  });

  it('a runner that throws at once is a failure like any other, and the job is still discarded', async () => {
    const { runner, shadow } = shadowed();
    runner.next = () => {
      throw new Error('no worker to take it');
    };
    expect(shadow.offer(job, req, live)).toBe(true);
    await settle();
    expect([shadow.failed, shadow.queued]).toEqual([1, 0]);
    expect(runner.discarded).toEqual([job]);
  });

  it('a bundle replaced while its evaluation ran is not switched off: the new set is another chance', async () => {
    const { runner, shadow, disabled } = shadowed();
    let fail!: (err: Error) => void;
    runner.next = () => new Promise((_, reject) => (fail = reject));
    shadow.offer(job, req, live);
    shadow.activate(loadBundles(FIXTURE_BUNDLES));
    fail(new GavelError('evaluation_unavailable', 'the worker crashed'));
    await settle();
    expect([shadow.failed, shadow.disabled]).toEqual([1, 0]);
    expect(disabled).toEqual([]);
  });

  it('the queue bound is checked: a size of 0 is refused, naming the key', () => {
    expect(() => shadowConfig({ queue: 0 })).toThrow(/^config shadow\.queue must be a positive/);
  });
});
