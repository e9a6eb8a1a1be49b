import { inputDigest, requestHash } from '../../src/engine/idempotency.js';
import type { JsonObject } from '../../src/lib/json.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import type { DecideRequest } from '../../src/engine/engine.js';
import { BUNDLES, FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';
import { loadSamples, usageIndependent } from '../helpers/samples.js';

/**
 * Decisions evaluated on worker threads answer exactly as decisions evaluated
 * on the engine's own thread, refuse bad input the same way, and fail closed
 * when a worker cannot finish: a trap is a recorded DENY as before; a worker
 * that runs past the evaluation timeout is replaced and the decisions it held
 * are refused, with nothing recorded.
 */

const request = (input: unknown, policy = ''): DecideRequest => ({
  policy,
  input: { json: Buffer.from(JSON.stringify(input)) },
  requestId: `pool-${randomUUID()}`,
  caller: 'test',
});

/** Salted hashes of sensitive paths differ per entry (each has its own salt); their place and shape must not. */
function unsalted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unsalted);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === 'sha256' && /^[0-9a-f]{64}$/.test(String(entries[0]![1]))) return '[salted sha256]';
  return Object.fromEntries(entries.map(([k, v]) => [k, unsalted(v)]));
}

/** What a decision says and stores, without what differs on every call (ids, salts, times). */
function comparable(core: Runtime, d: Awaited<ReturnType<Runtime['decide']>>, input: unknown) {
  const entry = core.parts.ledger.get(d.decisionId)!;
  const { request_hash, approval, ...stored } = entry.payload as {
    input: { context: Record<string, unknown> };
    request_hash: string;
    approval?: { approval_id: string; state: string };
  };
  const { now: _now, ...context } = stored.input.context;
  // Salted: each entry's own, but the same commitment to the input wherever it was computed.
  expect(request_hash).toBe(requestHash(Buffer.from(entry.salt!, 'hex'), inputDigest(input as JsonObject)));
  return {
    decision: d.decision,
    reasons: d.reasons,
    redactions: d.redactions,
    redactedInput: d.redactedInput ? { ...d.redactedInput, context: undefined } : undefined,
    obligations: d.obligations,
    policy: d.policy,
    stored: unsalted({ ...stored, input: { ...stored.input, context } }),
    // The approval each runtime's own request got: its id differs, its state and presence do not.
    approvalState: approval?.state,
    header: { subject: entry.subjectId, team: entry.team, decision: entry.decision, reasonCodes: entry.reasonCodes, caller: entry.caller },
  };
}

describe('the reference policy on workers and inline', () => {
  const cores: Runtime[] = [];
  const build = async (workers: number) => {
    // inlineMaxBytes 0: every decision on a worker, however few arrive (adaptive-runner.test.ts covers the others).
    const core = await startRuntime({
      bundles: BUNDLES,
      ledger: ':memory:',
      engine: { workers, inlineMaxBytes: 0 },
      now: () => new Date('2026-11-18T12:00:00Z'),
    });
    cores.push(core);
    return core;
  };
  afterAll(async () => {
    for (const core of cores) await core.stop();
  });

  it('every shared sample gets the same answer and the same stored record', async () => {
    const pooled = await build(2);
    const inline = await build(0);
    await pooled.parts.engine.ready();
    expect(pooled.stats.workers).toBe(2);
    expect(inline.stats.workers).toBe(0);
    const samples = loadSamples().filter(usageIndependent);
    expect(samples.length).toBeGreaterThan(10);
    for (const s of samples) {
      const [a, b] = [await pooled.decide(request(s.input)), await inline.decide(request(s.input))];
      expect(comparable(pooled, a, s.input), s.file).toEqual(comparable(inline, b, s.input));
      expect(a.decision, s.file).toBe(s.expect.decision);
    }
  });

  it('bad input is refused the same way, with the same code and message', async () => {
    const pooled = await build(2);
    const inline = await build(0);
    const bad: DecideRequest[] = [
      { ...request({}), input: { json: Buffer.from('{"a":') } },
      { ...request({}), input: { json: Buffer.from([0xff, 0xfe]) } },
      { ...request({}), input: { json: Buffer.from('[1,2]') } },
      request({ deep: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) }),
      request({ subject: { id: 'x'.repeat(300) } }),
      request({ n: 1 }, 'no/such/entrypoint'),
      { ...request({}), input: { json: Buffer.alloc(2 * 1024 * 1024, 0x20) } },
    ];
    for (const r of bad) {
      const [a, b] = [await refusal(pooled.decide(r)), await refusal(inline.decide(r))];
      expect({ code: a.code, message: a.message }).toEqual({ code: b.code, message: b.message });
    }
    expect(pooled.parts.ledger.size).toBe(0);
    // Refused before or after parsing, every decision let go of its parsed input.
    expect(await pooled.parts.engine.heldByWorkers()).toEqual([0, 0]);
  });

  it('workers keep no parsed input once its decision is answered, whatever happened to it', async () => {
    const pooled = await build(2);
    const ac = new AbortController();
    ac.abort();
    const inputs = loadSamples().map((s) => s.input);
    await Promise.allSettled([
      ...inputs.map((input) => pooled.decide(request(input))),
      pooled.decide({ ...request(inputs[0]), signal: ac.signal }),
      pooled.decide(request(inputs[0], 'no/such/entrypoint')),
    ]);
    expect(await pooled.parts.engine.heldByWorkers()).toEqual([0, 0]);
  });
});

describe('failing closed on workers', () => {
  let core: Runtime;
  const options = (extra: Partial<RuntimeConfig['engine']> = {}): RuntimeConfig => ({
    bundles: FIXTURE_BUNDLES,
    ledger: ':memory:',
    engine: { defaultEntrypoint: 'fixtures/echo', workers: 2, inlineMaxBytes: 0, ...extra },
    usage: false,
  });
  beforeAll(async () => {
    core = await startRuntime(options({ memoryInitialPages: 4, memoryMaxPages: 16 }));
  });
  afterAll(() => core.stop());

  it('a trap in a worker is a recorded DENY evaluation_error, counted, and the worker goes on serving', async () => {
    const trapped = await core.decide(request({ n: 100_000 }, 'fixtures/hungry'));
    expect(trapped.decision).toBe('deny');
    expect(trapped.reasons[0]).toMatchObject({ code: 'evaluation_error', effect: 'deny' });
    expect(trapped.reasons[0]!.message).toContain('opa_malloc');
    expect(core.stats.evaluationFaults).toBe(1);
    expect(core.parts.ledger.get(trapped.decisionId)?.decision).toBe('deny');
    for (let i = 0; i < 4; i++) expect((await core.decide(request({ n: 1000 }, 'fixtures/hungry'))).decision).toBe('allow');
    expect(core.stats.workerRestarts).toBe(0);
  });

  it('a worker stuck past the evaluation timeout is replaced: its decision is refused, nothing recorded, the next one served', async () => {
    const slow = await startRuntime(options({ evaluationTimeoutMs: 100 }));
    try {
      await slow.parts.engine.ready();
      const before = slow.parts.ledger.size;
      // About 750 ms of evaluation: far past the 100 ms timeout.
      const err = await refusal(slow.decide(request({ n: 1_000_000 }, 'fixtures/hungry')));
      expect(err.code).toBe('evaluation_unavailable');
      expect(err.message).toMatch(
        /^evaluation worker \d stopped \(one decision ran past engine\.evaluationTimeoutMs \(100 ms\)\) with this decision in it; nothing was recorded$/,
      );
      expect(slow.parts.ledger.size).toBe(before);
      expect(slow.stats.workerRestarts).toBe(1);
      const next = await slow.decide(request({ result: { decision: 'allow' } }));
      expect(next.reasons).toEqual([]);
      expect(next.decision).toBe('allow');
      expect(slow.parts.ledger.size).toBe(before + 1);
    } finally {
      await slow.stop();
    }
  });

  it('a slow decision holds up only its own worker: small ones keep being answered on the other', async () => {
    const two = await startRuntime(options());
    try {
      await two.parts.engine.ready();
      const order: string[] = [];
      // About 250 ms of evaluation (a 600,000-number array), against about a millisecond for each small one.
      const big = two.decide(request({ n: 600_000 }, 'fixtures/hungry')).then((d) => order.push(`big:${d.decision}`));
      const small = Array.from({ length: 24 }, (_, i) => two.decide(request({ result: { decision: 'allow' }, i })).then(() => order.push('small')));
      await Promise.all([big, ...small]);
      // At most the 7 its worker had already taken wait behind the big one; the other 17 go to the other worker.
      expect(order.indexOf('big:allow')).toBeGreaterThanOrEqual(16);
    } finally {
      await two.stop();
    }
  });

  it('a closed engine refuses instead of hanging', async () => {
    const closing = await startRuntime(options());
    await closing.stop();
    const err = await refusal(closing.decide(request({ result: { decision: 'allow' } })));
    expect(['evaluation_unavailable', 'ledger_unavailable']).toContain(err.code);
  });
});
