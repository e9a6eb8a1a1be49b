import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import type { EvaluateRequest } from '../../src/engine/stages.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';
import { prepareInput, withPool } from '../helpers/worker-pool.js';

/**
 * The evaluation worker pool driven directly (engine/pool/worker-pool.ts), one real worker and the
 * real fixtures bundle: a job from prepare to discard, a shadow evaluation behind it, and what a
 * discarded job or a closed pool answers instead of hanging.
 */

let core: BareEngine;
let echo: WasmEvaluator;
const config = engineConfig({ workers: 1 });

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
  echo = core.policies.resolve('fixtures/echo');
});
afterAll(() => core.close());

const req: EvaluateRequest = { decisionId: 'd-1', entrypoint: 'fixtures/echo', nowMs: Date.parse('2026-12-06T10:00:00Z'), context: undefined };
const DENY = { reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] };

const prepare = (pool: WorkerPool, result: unknown = DENY) => prepareInput(pool, { result });

describe('WorkerPool', () => {
  it('a job is evaluated on its worker, shadow-evaluated behind it, and held until discarded', async () => {
    await withPool([echo], async (pool) => {
      const job = await prepare(pool);
      expect(pool.idle).toBe(false);
      expect(await pool.held()).toEqual([1]);
      expect((await pool.evaluate(job, echo, req)).decision).toBe('deny');
      expect(await pool.shadow(job, echo, req)).toEqual({ decision: 'deny', reasonCodes: ['no'] });
      pool.discard(job);
      expect(await pool.held()).toEqual([0]);
      expect(pool.idle).toBe(true);
    });
  });

  it('a discarded job is neither evaluated nor shadowed again, and a second discard changes nothing', async () => {
    await withPool([echo], async (pool) => {
      const job = await prepare(pool);
      pool.discard(job);
      pool.discard(job);
      await expect(pool.evaluate(job, echo, req)).rejects.toThrow('this job was discarded');
      await expect(pool.shadow(job, echo, req)).rejects.toThrow('this job was discarded');
      expect(await pool.held()).toEqual([0]);
    });
  });

  it('a closed pool refuses: a new decision, and a job it held', async () => {
    const pool = new WorkerPool(config);
    pool.activate([echo]);
    await pool.ready();
    const job = await prepare(pool);
    await pool.close();
    await pool.close();
    const refused = await refusal(prepare(pool));
    expect([refused.code, refused.message]).toEqual(['evaluation_unavailable', 'no evaluation worker is running; failing closed']);
    const held = await refusal(pool.evaluate(job, echo, req));
    expect(held.code).toBe('evaluation_unavailable');
    expect(held.message).toBe('evaluation worker 0 stopped (the engine is closing) with this decision in it; nothing was recorded');
    await expect(pool.shadow(job, echo, req)).rejects.toThrow('evaluation worker 0 stopped (the engine is closing)');
  });

  it('a bundle activated after a job was prepared is loaded on its worker before the job is evaluated with it', async () => {
    await withPool([echo], async (pool) => {
      const job = await prepare(pool);
      // A new set without the bundle (the worker drops it), then the job evaluated with it all the same.
      pool.activate([]);
      expect(await pool.shadow(job, echo, req)).toEqual({ decision: 'deny', reasonCodes: ['no'] });
      pool.discard(job);
      const next = await prepare(pool);
      pool.activate([]);
      expect((await pool.evaluate(next, echo, req)).decision).toBe('deny');
      pool.discard(next);
    });
  });
});
