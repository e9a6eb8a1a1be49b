import { afterAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { AdaptiveRunner, INLINE_WINDOW } from '../../src/engine/adaptive-runner.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import { InlineRunner } from '../../src/engine/runner.js';
import { engineConfig } from '../../src/engine/config.js';
import type { DecideRequest, Decision } from '../../src/engine/engine.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { BUNDLES, FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';

/**
 * With workers, a small decision that arrives while nothing else is being
 * evaluated runs on the engine's own thread (no thread hops); everything else
 * still goes to the workers. What the worker pool guards stays guarded: a
 * bundle evaluates inline only after INLINE_WINDOW evaluations in a row each
 * took at most inlineSlowMs, never right after an activation, never with shadow
 * bundles active, and only inputs of at most inlineMaxBytes.
 */

let requests = 0;
/** Each request its own id: one id is one decision (idempotent Decide). */
const request = (input: unknown, policy = ''): DecideRequest => ({
  policy,
  input: { json: Buffer.from(JSON.stringify(input)) },
  requestId: `adaptive-${++requests}`,
  caller: 'test',
});

const ALLOW = { result: { decision: 'allow' } };

const cores: Runtime[] = [];
afterAll(async () => {
  for (const core of cores) await core.stop();
});

async function fixtureCore(engine: Partial<RuntimeConfig['engine']> = {}, extra: Partial<RuntimeConfig> = {}): Promise<Runtime> {
  const core = await startRuntime({
    bundles: FIXTURE_BUNDLES,
    ledger: ':memory:',
    // A generous bound by default: a cold evaluation on a slow machine must not decide what these tests see.
    engine: { defaultEntrypoint: 'fixtures/echo', workers: 1, inlineSlowMs: 1000, ...engine },
    usage: false,
    ...extra,
  });
  cores.push(core);
  await core.parts.engine.ready();
  return core;
}

/** Decides one at a time, each alone in the engine. */
async function oneByOne(core: Runtime, n: number, input: unknown = ALLOW): Promise<void> {
  for (let i = 0; i < n; i++) expect((await core.decide(request({ ...(input as object), i }))).decision).toBe('allow');
}

describe('lone decisions on the engine thread', () => {
  it(`the first ${INLINE_WINDOW} go to a worker, then a lone small one is evaluated inline and recorded the same way`, async () => {
    const core = await fixtureCore();
    expect({ workers: core.stats.workers, restarts: core.stats.workerRestarts, inlineMaxBytes: core.stats.inlineMaxBytes }).toEqual({
      workers: 1,
      restarts: 0,
      inlineMaxBytes: 8192,
    });
    await oneByOne(core, INLINE_WINDOW);
    expect(core.stats.inlineEvaluations).toBe(0);
    const before = core.parts.ledger.size;
    const d = await core.decide(request({ result: { decision: 'deny', reasons: [{ code: 'nope', message: 'no' }] } }));
    expect(core.stats.inlineEvaluations).toBe(1);
    expect(d.decision).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toEqual(['nope']);
    expect(core.parts.ledger.size).toBe(before + 1);
    expect(core.parts.ledger.get(d.decisionId)?.decision).toBe('deny');
    expect(await core.parts.engine.heldByWorkers()).toEqual([0]);
  });

  it('the reference policy answers and stores alike inline and on a worker', async () => {
    const now = () => new Date('2026-11-18T12:00:00Z');
    const adaptive = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', engine: { workers: 1 }, now });
    const pooled = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', engine: { workers: 1, inlineMaxBytes: 0 }, now });
    cores.push(adaptive, pooled);
    const input = {
      subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
      action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 64 } },
      content: { prompt: 'Mail jane.doe@example.com the summary.' },
      context: { environment: 'prod' },
    };
    const first = await adaptive.decide(request(input));
    // The first evaluations of a bundle are slow (the wasm tiers up): inline follows INLINE_WINDOW fast ones.
    let inline = first;
    for (let i = 0; i < 10 * INLINE_WINDOW && adaptive.stats.inlineEvaluations === 0; i++) inline = await adaptive.decide(request(input));
    expect(adaptive.stats.inlineEvaluations).toBe(1);
    const worker = await pooled.decide(request(input));
    expect(pooled.stats.inlineEvaluations).toBe(0);
    const stored = (core: Runtime, id: string) => {
      const p = core.parts.ledger.get(id)!.payload as { input: { content: unknown }; result: unknown; redactions: unknown };
      return { content: p.input.content, result: p.result, redactions: p.redactions };
    };
    for (const d of [inline, worker]) expect(d.redactions.length).toBeGreaterThan(0);
    expect({ decision: inline.decision, reasons: inline.reasons, redactions: inline.redactions, redactedInput: inline.redactedInput?.content }).toEqual({
      decision: worker.decision,
      reasons: worker.reasons,
      redactions: worker.redactions,
      redactedInput: worker.redactedInput?.content,
    });
    expect(stored(adaptive, inline.decisionId)).toEqual(stored(pooled, worker.decisionId));
    expect(stored(adaptive, first.decisionId)).toEqual(stored(pooled, worker.decisionId));
  });

  it('decisions that arrive together go to the workers: only the first, alone when it came, runs inline', async () => {
    const core = await fixtureCore({ workers: 2 });
    await oneByOne(core, INLINE_WINDOW);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => core.decide(request({ ...ALLOW, i }))));
    expect(answers.every((d) => d.decision === 'allow')).toBe(true);
    expect(core.stats.inlineEvaluations).toBe(1);
    expect(await core.parts.engine.heldByWorkers()).toEqual([0, 0]);
  });

  it('a lone small decision that arrives while a worker evaluates another goes to a worker too', async () => {
    const core = await fixtureCore({ workers: 2 });
    await oneByOne(core, INLINE_WINDOW);
    // A Struct input always goes to a worker: over 100 ms there, during which the small one arrives.
    const slow = core.decide({ ...request({}, 'fixtures/hungry'), input: { value: { n: 300_000 } } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await core.decide(request(ALLOW))).decision).toBe('allow');
    expect((await slow).decision).toBe('allow');
    expect(core.stats.inlineEvaluations).toBe(0);
    await oneByOne(core, 1);
    expect(core.stats.inlineEvaluations).toBe(1);
  });

  it('decisions that wait for the same budget keys are evaluated on the engine thread, each on the totals its predecessors left', async () => {
    const now = () => new Date('2026-11-18T12:00:00Z');
    const start = async (engine: Partial<RuntimeConfig['engine']>) => {
      const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', engine: { workers: 1, inlineSlowMs: 1000, ...engine }, now });
      cores.push(core);
      return core;
    };
    const adaptive = await start({});
    const pooled = await start({ inlineMaxBytes: 0 });
    // One team and cost center, a subject each: every decision reserves against the same two budgets.
    const input = (i: number) => ({
      subject: { id: `member-${i}`, type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
      action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 64 } },
      content: { prompt: 'hello' },
      context: { environment: 'prod' },
    });
    for (const core of [adaptive, pooled]) for (let i = 0; i < INLINE_WINDOW; i++) await core.decide(request(input(i)));
    const inlineBefore = adaptive.stats.inlineEvaluations;
    const burst = (core: Runtime) => Promise.all(Array.from({ length: 12 }, (_, i) => core.decide(request(input(1000 + i)))));
    const [together, apart] = [await burst(adaptive), await burst(pooled)];
    // The first takes the keys while its evaluation is on the worker; the eleven that find them taken are moved here.
    expect(adaptive.stats.inlineEvaluations - inlineBefore).toBe(11);
    expect(pooled.stats.inlineEvaluations).toBe(0);
    // What each decision saw of the team's week, in the order they were recorded: one estimate more each time, as on a worker.
    const seen = (core: Runtime, ds: Decision[]) =>
      ds
        .map((d) => core.parts.ledger.get(d.decisionId)!)
        .sort((a, b) => a.seq - b.seq)
        .map((e) => {
          const ctx = (e.payload as { input: { context: { usage: { team: { week: { reserved_tokens: number } } }; estimate: { tokens: number } } } }).input
            .context;
          return { decision: e.decision, reserved: ctx.usage.team.week.reserved_tokens, estimate: ctx.estimate.tokens };
        });
    const a = seen(adaptive, together);
    expect(a).toEqual(seen(pooled, apart));
    expect(a.map((x) => x.reserved)).toEqual(a.map((x, i) => a[0]!.reserved + i * x.estimate));
    expect(a.every((x) => x.decision === 'allow' && x.estimate > 0)).toBe(true);
    expect(await adaptive.parts.engine.heldByWorkers()).toEqual([0]);
  });

  it('an input over inlineMaxBytes goes to a worker; one at the limit runs inline', async () => {
    const core = await fixtureCore({ inlineMaxBytes: 1000 });
    await oneByOne(core, INLINE_WINDOW);
    const sized = (bytes: number) => {
      const base = JSON.stringify({ ...ALLOW, pad: '' });
      return { ...ALLOW, pad: 'x'.repeat(bytes - base.length) };
    };
    expect(Buffer.byteLength(JSON.stringify(sized(1001)))).toBe(1001);
    await core.decide(request(sized(1001)));
    expect(core.stats.inlineEvaluations).toBe(0);
    await core.decide(request(sized(1000)));
    expect(core.stats.inlineEvaluations).toBe(1);
  });

  it('a structured (Struct) input goes to a worker', async () => {
    const core = await fixtureCore();
    await oneByOne(core, INLINE_WINDOW);
    await core.decide({ ...request({}), input: { value: ALLOW } });
    expect(core.stats.inlineEvaluations).toBe(0);
  });

  it(`one slow evaluation sends lone decisions back to the workers until ${INLINE_WINDOW} fast ones follow`, async () => {
    const core = await fixtureCore({ inlineSlowMs: 50 });
    await oneByOne(core, INLINE_WINDOW);
    // Over 100 ms of evaluation (a 300,000-number array), timed by the worker (a Struct input never runs inline).
    const hungry = { n: 300_000 };
    expect((await core.decide({ ...request({}, 'fixtures/hungry'), input: { value: hungry } })).decision).toBe('allow');
    expect(core.stats.inlineEvaluations).toBe(0);
    await oneByOne(core, INLINE_WINDOW);
    expect(core.stats.inlineEvaluations).toBe(0);
    await oneByOne(core, 1);
    expect(core.stats.inlineEvaluations).toBe(1);
    // The same, timed here: a small input that came alone runs inline, and is slow.
    expect((await core.decide(request(hungry, 'fixtures/hungry'))).decision).toBe('allow');
    expect(core.stats.inlineEvaluations).toBe(2);
    await oneByOne(core, INLINE_WINDOW);
    expect(core.stats.inlineEvaluations).toBe(2);
    await oneByOne(core, 1);
    expect(core.stats.inlineEvaluations).toBe(3);
  });

  it('an activation makes the new bundles prove themselves on workers again', async () => {
    const core = await fixtureCore();
    await oneByOne(core, INLINE_WINDOW + 1);
    expect(core.stats.inlineEvaluations).toBe(1);
    core.parts.engine.activate(loadBundles(FIXTURE_BUNDLES));
    await oneByOne(core, INLINE_WINDOW);
    expect(core.stats.inlineEvaluations).toBe(1);
    await oneByOne(core, 1);
    expect(core.stats.inlineEvaluations).toBe(2);
  });

  it('never while shadow bundles are active', async () => {
    const core = await fixtureCore({}, { shadow: {} });
    await oneByOne(core, INLINE_WINDOW);
    core.policies.shadow!.activate(loadBundles(FIXTURE_BUNDLES));
    await oneByOne(core, 3);
    expect(core.stats.inlineEvaluations).toBe(0);
    core.policies.shadow!.activate([]);
    // The last shadowed decision's shadow evaluation may still hold its worker for the first of these.
    await oneByOne(core, 3);
    expect(core.stats.inlineEvaluations).toBeGreaterThanOrEqual(2);
  });

  it('bad input refused inline is refused as on a worker, and the next lone decision still runs inline', async () => {
    const core = await fixtureCore();
    const pooled = await fixtureCore({ inlineMaxBytes: 0 });
    await oneByOne(core, INLINE_WINDOW);
    const bad = { ...request({}), input: { json: Buffer.from('{"a":') } };
    const [a, b] = [await refusal(core.decide(bad)), await refusal(pooled.decide(bad))];
    expect({ code: a.code, message: a.message }).toEqual({ code: b.code, message: b.message });
    expect(a.code).toBe('invalid_input');
    await oneByOne(core, 1);
    expect(core.stats.inlineEvaluations).toBe(1);
  });

  it('a job discarded twice frees its place once: the next lone decision still runs inline', async () => {
    const pool = new WorkerPool(engineConfig({ workers: 1 }));
    const runner = new AdaptiveRunner(pool, new InlineRunner(engineConfig({})), engineConfig({}));
    try {
      for (let i = 0; i < INLINE_WINDOW; i++) runner.observe(0.1);
      const lone = () => runner.prepare({ input: { json: Buffer.from(JSON.stringify(ALLOW)) }, requestId: 'r', caller: 'test' });
      const first = await lone();
      runner.discard(first);
      runner.discard(first);
      const second = await lone();
      const third = await lone();
      // The second is this thread's; only the third, prepared while the second is open, is held by the worker.
      expect(await runner.held()).toEqual([1]);
      runner.discard(second);
      runner.discard(third);
    } finally {
      await runner.close();
    }
  });

  it('serialize moves a worker job here only as the rules allow; a job already here, or one this thread cannot prepare, stays', async () => {
    const pool = new WorkerPool(engineConfig({ workers: 1 }));
    const runner = new AdaptiveRunner(pool, new InlineRunner(engineConfig({})), engineConfig({ inlineMaxBytes: 100 }));
    const req = (input: unknown) => ({ input: { json: Buffer.from(JSON.stringify(input)) }, requestId: 'r', caller: 'test' });
    try {
      // Not yet INLINE_WINDOW fast evaluations: it stays on its worker.
      const small = await runner.prepare(req(ALLOW));
      expect(await runner.serialize(small, req(ALLOW))).toBe(small);
      expect(await runner.held()).toEqual([1]);
      for (let i = 0; i < INLINE_WINDOW; i++) runner.observe(0.1);
      // Over inlineMaxBytes: stays (the pool holds the first job, so this one goes to the worker too).
      const big = { ...ALLOW, pad: 'x'.repeat(200) };
      const bigJob = await runner.prepare(req(big));
      expect(await runner.serialize(bigJob, req(big))).toBe(bigJob);
      expect(await runner.held()).toEqual([2]);
      // Input this thread refuses (here: not the job's own, which cannot happen in the engine): the worker's job stands.
      expect(await runner.serialize(small, { ...req(ALLOW), input: { json: Buffer.from('{"a":') } })).toBe(small);
      expect(await runner.held()).toEqual([2]);
      // Allowed: prepared again here, and the worker forgets its copy.
      const moved = await runner.serialize(small, req(ALLOW));
      expect(moved).not.toBe(small);
      expect(await runner.held()).toEqual([1]);
      // Already here: the same job back, nothing prepared twice.
      expect(await runner.serialize(moved, req(ALLOW))).toBe(moved);
      runner.discard(moved);
      runner.discard(bigJob);
      // Each job moved here took one place and gave it back: a lone decision runs here again.
      const lone = await runner.prepare(req(ALLOW));
      expect(await runner.held()).toEqual([0]);
      runner.discard(lone);
    } finally {
      await runner.close();
    }
  });

  it('closing it closes its worker pool: nothing more goes to a worker', async () => {
    const pool = new WorkerPool(engineConfig({ workers: 1 }));
    const runner = new AdaptiveRunner(pool, new InlineRunner(engineConfig({})), engineConfig({}));
    await runner.ready();
    await runner.close();
    // Not yet proven fast, so this one is a worker's: there is none now.
    const err = await refusal(runner.prepare({ input: { json: Buffer.from(JSON.stringify(ALLOW)) }, requestId: 'r', caller: 'test' }));
    expect(err.code).toBe('evaluation_unavailable');
  });

  it('inlineMaxBytes 0 keeps every evaluation on a worker; the config refuses what is not a size or a time', async () => {
    const core = await fixtureCore({ inlineMaxBytes: 0 });
    await oneByOne(core, INLINE_WINDOW + 4);
    expect(core.stats.inlineEvaluations).toBe(0);
    expect(() => engineConfig({ inlineMaxBytes: -1 })).toThrow(/engine\.inlineMaxBytes must be an integer of 0 or more/);
    expect(() => engineConfig({ inlineMaxBytes: 1.5 })).toThrow(/engine\.inlineMaxBytes/);
    expect(() => engineConfig({ inlineSlowMs: 0 })).toThrow(/engine\.inlineSlowMs must be a positive number/);
    expect(engineConfig({}).inlineMaxBytes).toBe(8192);
  });
});
