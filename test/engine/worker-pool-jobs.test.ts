import type { Worker } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import type { EvaluateRequest } from '../../src/engine/stages.js';
import { finishDeflate } from '../../src/lib/deflate-head.js';
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
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Each list of messages the pool posts to its one worker from now on, by kind (`prepare 3`: the message's kind and id). */
function posted(pool: WorkerPool): string[][] {
  const { worker } = (pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0]!;
  const lists: string[][] = [];
  const post = worker.postMessage.bind(worker);
  worker.postMessage = (list: Array<{ t: string; id?: number }>, transfer?: readonly ArrayBuffer[]) => {
    lists.push(list.map((m) => (m.id === undefined ? m.t : `${m.t} ${m.id}`)));
    post(list, transfer);
  };
  return lists;
}

describe('WorkerPool', () => {
  it('a job is evaluated on its worker, shadow-evaluated behind it, and held until discarded', async () => {
    await withPool([echo], async (pool) => {
      const job = await prepare(pool);
      expect(pool.idle).toBe(false);
      expect(await pool.held()).toEqual([1]);
      const evaluated = await pool.evaluate(job, echo, req);
      expect(evaluated.decision).toBe('deny');
      // The payload's head came as bytes and a length; its text is the payload's own but the last `}`, taken back here.
      const { payloadJcs, payloadHead } = evaluated.record;
      expect(payloadHead?.text).toBe(payloadJcs.slice(0, -1));
      expect(inflateRawSync(finishDeflate(payloadHead!.bytes, '}')).toString()).toBe(payloadJcs);
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

  it("one turn's messages go to the worker as one list; a drop waits for the next one while the worker has other work", async () => {
    await withPool([echo], async (pool) => {
      const lists = posted(pool);
      const [a, b, c] = await Promise.all([prepare(pool), prepare(pool), prepare(pool)]);
      expect(lists).toHaveLength(1);
      expect(lists[0]).toHaveLength(3);
      expect(lists[0]!.every((m) => m.startsWith('prepare '))).toBe(true);
      const id = (m: string | undefined) => m!.split(' ')[1];
      const [idA, idB, idC] = lists[0]!.map(id);

      // b and c still in hand: a's drop goes with the next message.
      pool.discard(a!);
      await turn();
      await turn();
      expect(lists).toHaveLength(1);
      expect((await pool.evaluate(b!, echo, req)).decision).toBe('deny');
      expect(lists[1]).toEqual([`drop ${idA}`, `evaluate ${idB}`]);

      // Two drops while c is in hand wait; the last job dropped sends them at the end of its turn.
      pool.discard(b!);
      await turn();
      expect(lists).toHaveLength(2);
      pool.discard(c!);
      await turn();
      expect(lists[2]).toEqual([`drop ${idB}`, `drop ${idC}`]);
      expect(await pool.held()).toEqual([0]);
    });
  });

  it('a message that cannot cross to the worker fails alone: the decisions posted with it go on', async () => {
    await withPool([echo], async (pool) => {
      const unclonable = pool.prepare({ input: { value: { run: () => 1 } } as never, requestId: 'r-x', caller: 'test' });
      const good = prepare(pool);
      await expect(unclonable).rejects.toThrow(/could not be cloned/);
      const job = await good;
      expect((await pool.evaluate(job, echo, req)).decision).toBe('deny');
      pool.discard(job);
      // The refused decision holds no place on the worker.
      expect(pool.idle).toBe(true);
      expect(await pool.held()).toEqual([0]);
    });
  });

  it('answers to slow work are not held for the end of the turn: eight evaluations posted together come back in eight lists', async () => {
    // The pool's watchdog times a worker from the last answer it heard: answers held until a long list is done would
    // make evaluations, each within engine.evaluationTimeoutMs but longer together, look like one stuck evaluation.
    const hungry = core.policies.resolve('fixtures/hungry');
    await withPool([echo, hungry], async (pool) => {
      // Each evaluation counts 400,000 numbers: tens of milliseconds, far past the 2 ms an answer may wait.
      const jobs = await Promise.all(Array.from({ length: 8 }, () => prepareInput(pool, { n: 400_000 })));
      const sent = posted(pool);
      const { worker } = (pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0]!;
      const heard: string[][] = [];
      worker.on('message', (list: Array<{ t: string }>) => heard.push(list.map((m) => m.t)));
      const answers = await Promise.all(jobs.map((job) => pool.evaluate(job, hungry, { ...req, entrypoint: 'fixtures/hungry' })));
      expect(sent.filter((l) => l.some((m) => m.startsWith('evaluate ')))).toHaveLength(1);
      expect(answers.map((a) => a.decision)).toEqual(Array(8).fill('allow'));
      expect(heard).toEqual(Array(8).fill(['evaluated']));
      for (const job of jobs) pool.discard(job);
    });
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
