import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import { WasmEvaluator } from '../../src/engine/evaluator.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import type { Job } from '../../src/engine/runner.js';
import type { EvaluateRequest } from '../../src/engine/stages.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';
import { prepareInput, withPool } from '../helpers/worker-pool.js';

/**
 * Where the evaluation worker pool (engine/pool/worker-pool.ts) puts work, on real workers and the real
 * fixtures bundle: at most eight decisions per worker and the rest queued, new ones to the least loaded,
 * a shadow evaluation only on a worker with no live decision in hand, the bundles each worker keeps
 * loaded, the watchdog's clock, and a lost worker not replaced once the pool is closed.
 */

let core: BareEngine;
let echo: WasmEvaluator;
let hungry: WasmEvaluator;
/** The same bundle as echo's, evaluated by another instance: to a worker, another bundle to load. */
let again: WasmEvaluator;

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
  echo = core.policies.resolve('fixtures/echo');
  hungry = core.policies.resolve('fixtures/hungry');
  again = new WasmEvaluator(echo.bundle, engineConfig());
});
afterAll(() => core.close());

const at = Date.parse('2026-12-06T10:00:00Z');
const ECHO: EvaluateRequest = { decisionId: 'd-1', entrypoint: 'fixtures/echo', nowMs: at, context: undefined };
const HUNGRY: EvaluateRequest = { decisionId: 'd-2', entrypoint: 'fixtures/hungry', nowMs: at, context: undefined };
const DENY = { result: { reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] } };

const prepare = (pool: WorkerPool, input: unknown = DENY) => prepareInput(pool, input);

/** A promise's state once everything posted before this call has been answered by every worker. */
async function settledYet(pool: WorkerPool, p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await pool.held();
  await new Promise((r) => setImmediate(r));
  return settled;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkerPool scheduling', () => {
  it('a worker holds at most eight decisions; the ninth waits until one leaves, then takes its place', async () => {
    await withPool([echo], async (pool) => {
      const jobs = await Promise.all(Array.from({ length: 8 }, () => prepare(pool)));
      const ninth = prepare(pool);
      expect(await settledYet(pool, ninth)).toBe(false);
      expect(await pool.held()).toEqual([8]);
      pool.discard(jobs[0]!);
      const job = await ninth;
      expect(await pool.held()).toEqual([8]);
      for (const j of [...jobs.slice(1), job]) pool.discard(j);
      expect(await pool.held()).toEqual([0]);
      expect(pool.idle).toBe(true);
    });
  });

  it('a job discarded twice, or shadowed twice, gives up its one place once', async () => {
    await withPool([echo], async (pool) => {
      const jobs = await Promise.all(Array.from({ length: 8 }, () => prepare(pool)));
      pool.discard(jobs[0]!);
      pool.discard(jobs[0]!);
      await pool.evaluate(jobs[1]!, echo, ECHO);
      const shadowed = [pool.shadow(jobs[1]!, echo, ECHO), pool.shadow(jobs[1]!, echo, ECHO)];
      // A job that gave its place to a shadow evaluation and is then discarded gives up nothing more.
      pool.discard(jobs[7]!);
      await pool.evaluate(jobs[6]!, echo, ECHO);
      const late = pool.shadow(jobs[6]!, echo, ECHO);
      pool.discard(jobs[6]!);
      // Four places free (jobs 0, 1, 6 and 7): four of five new decisions get one, the fifth waits.
      const more = [prepare(pool), prepare(pool), prepare(pool), prepare(pool), prepare(pool)];
      const taken = await Promise.all(more.slice(0, 4));
      expect(await settledYet(pool, more[4]!)).toBe(false);
      for (const j of [...jobs.slice(2, 6), ...taken]) pool.discard(j);
      pool.discard(await more[4]!);
      // Its input was dropped before the shadow evaluation could run.
      await expect(late).rejects.toThrow(`worker has no prepared decision`);
      expect(await Promise.all(shadowed)).toEqual([
        { decision: 'deny', reasonCodes: ['no'] },
        { decision: 'deny', reasonCodes: ['no'] },
      ]);
      pool.discard(jobs[1]!);
      expect(await pool.held()).toEqual([0]);
    });
  });

  it('new decisions go to the worker with the fewest in hand', async () => {
    await withPool(
      [echo],
      async (pool) => {
        const jobs: Job[] = [];
        for (let i = 0; i < 4; i++) jobs.push(await prepare(pool));
        expect(await pool.held()).toEqual([2, 2]);
        pool.discard(jobs[0]!);
        pool.discard(jobs[2]!);
        pool.discard(jobs[1]!);
        // One worker holds one decision now, the other none: the next goes to the idle one.
        jobs.push(await prepare(pool));
        expect((await pool.held()).sort()).toEqual([1, 1]);
        for (const j of jobs.slice(3)) pool.discard(j);
      },
      { workers: 2 },
    );
  });

  it('a shadow evaluation waits until its worker holds no live decision, then runs', async () => {
    await withPool([echo], async (pool) => {
      const a = await prepare(pool);
      const b = await prepare(pool);
      await pool.evaluate(a, echo, ECHO);
      const shadowed = pool.shadow(a, echo, ECHO);
      expect(await settledYet(pool, shadowed)).toBe(false);
      pool.discard(b);
      expect(await shadowed).toEqual({ decision: 'deny', reasonCodes: ['no'] });
      pool.discard(a);
    });
  });

  it('a worker running a shadow evaluation counts as busy: a new live decision goes to the idle one', async () => {
    await withPool(
      [echo],
      async (pool) => {
        const slow = await prepare(pool, { n: 600_000 });
        expect(await pool.held()).toEqual([1, 0]);
        await pool.evaluate(slow, hungry, HUNGRY);
        // About 250 ms of shadow evaluation on worker 0, which now holds no live decision.
        const shadowed = pool.shadow(slow, hungry, HUNGRY);
        const next = await prepare(pool);
        expect(await pool.held()).toEqual([1, 1]);
        expect(await shadowed).toEqual({ decision: 'allow', reasonCodes: ['counted'] });
        pool.discard(next);
        pool.discard(slow);
      },
      { workers: 2 },
    );
  });
});

describe('WorkerPool bundles', () => {
  it('each worker loads the active bundles, live and shadow, drops the rest, and loads one once however often it is named', async () => {
    await withPool(
      [echo],
      async (pool) => {
        // echo and hungry are two entrypoints of one bundle, one evaluator.
        expect(hungry).toBe(echo);
        expect(await pool.census()).toEqual([
          { held: 0, bundles: 1 },
          { held: 0, bundles: 1 },
        ]);
        pool.activate([echo, again]);
        expect((await pool.census()).map((c) => c.bundles)).toEqual([2, 2]);
        pool.activate([echo]);
        expect((await pool.census()).map((c) => c.bundles)).toEqual([1, 1]);
        pool.activateShadow([again]);
        expect((await pool.census()).map((c) => c.bundles)).toEqual([2, 2]);
        pool.activate([echo, again]);
        pool.activateShadow([]);
        expect((await pool.census()).map((c) => c.bundles)).toEqual([2, 2]);
        const job = await prepare(pool);
        await pool.evaluate(job, echo, ECHO);
        await pool.shadow(job, again, ECHO);
        pool.discard(job);
        expect(await pool.census()).toEqual([
          { held: 0, bundles: 2 },
          { held: 0, bundles: 2 },
        ]);
        pool.activate([]);
        expect((await pool.census()).map((c) => c.bundles)).toEqual([0, 0]);
      },
      { workers: 2 },
    );
  });
});

describe('WorkerPool watchdog and restarts', () => {
  it('the evaluation timeout counts from when an idle worker is handed work, not from its last answer', async () => {
    await withPool(
      [echo],
      async (pool) => {
        const job = await prepare(pool, { n: 600_000 });
        // Idle for longer than the timeout since its last answer; then about 250 ms of evaluation (the watchdog looks
        // every 250 ms), well within it, even on a machine so busy that it takes ten times as long.
        await pause(3_500);
        expect((await pool.evaluate(job, hungry, HUNGRY)).reasons).toMatchObject([{ code: 'counted', message: '600000' }]);
        expect(pool.restarts).toBe(0);
        pool.discard(job);
      },
      { workers: 1, evaluationTimeoutMs: 3_000 },
    );
  });

  it('messages posted to a worker stuck on one do not restart its clock', async () => {
    await withPool(
      [echo],
      async (pool) => {
        const stuck = await prepare(pool, { n: 1_000_000 });
        const evaluation = refusal(pool.evaluate(stuck, hungry, HUNGRY));
        // A ping every 20 ms while it is stuck, each one a message behind the evaluation.
        const pings = setInterval(() => void pool.held().catch(() => undefined), 20);
        try {
          const err = await evaluation;
          expect(err.message).toContain('one decision ran past engine.evaluationTimeoutMs (100 ms)');
        } finally {
          clearInterval(pings);
        }
      },
      { workers: 1, evaluationTimeoutMs: 100 },
    );
  });

  it('a worker that had run for over a second before it was lost is replaced at once', async () => {
    await withPool(
      [echo],
      async (pool) => {
        await pause(1_100);
        const stuck = await prepare(pool, { n: 1_000_000 });
        const err = await refusal(pool.evaluate(stuck, hungry, HUNGRY));
        expect(err.message).toContain('one decision ran past engine.evaluationTimeoutMs (100 ms)');
        expect(pool.restarts).toBe(1);
        await pause(100);
        const job = await prepare(pool);
        expect((await pool.evaluate(job, echo, ECHO)).decision).toBe('deny');
        pool.discard(job);
      },
      { workers: 1, evaluationTimeoutMs: 100 },
    );
  });

  it('a worker lost just before the pool closes is not replaced after it; decisions queued at close are refused', async () => {
    const pool = new WorkerPool(engineConfig({ workers: 1, evaluationTimeoutMs: 100 }));
    pool.activate([echo]);
    await pool.ready();
    const stuck = await prepare(pool, { n: 1_000_000 });
    await refusal(pool.evaluate(stuck, hungry, HUNGRY));
    await pool.close();
    // Past the restart delay (1 s): a replacement would answer here.
    await pause(1_300);
    expect(await pool.census()).toEqual([]);

    const full = new WorkerPool(engineConfig({ workers: 1 }));
    full.activate([echo]);
    await full.ready();
    await Promise.all(Array.from({ length: 8 }, () => prepare(full)));
    const queued = prepare(full);
    await full.close();
    const refused = await refusal(queued);
    expect([refused.code, refused.message]).toEqual(['evaluation_unavailable', 'the engine is closing; failing closed']);
    expect(await full.held()).toEqual([]);
  });
});
