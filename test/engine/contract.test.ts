import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { bareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { payloadText } from '../helpers/payloads.js';

/** The result contract and fail-closed paths, driven through the real engine and real wasm. */
let core: Runtime;
const json = (o: unknown) => ({ json: Buffer.from(JSON.stringify(o)) });
const decide = (policy: string, input: unknown) => core.decide({ policy, input: json(input), requestId: randomUUID(), caller: 'test' });

beforeAll(async () => {
  core = await startRuntime({ bundles: FIXTURE_BUNDLES, ledger: ':memory:', engine: { defaultEntrypoint: 'fixtures/echo' }, usage: false });
});
afterAll(() => core.stop());

describe('precedence', () => {
  const cases: Array<[string[], string]> = [
    [['allow'], 'allow'],
    [['allow', 'redact'], 'redact'],
    [['redact', 'require_approval', 'allow'], 'require_approval'],
    [['require_approval', 'deny', 'redact', 'allow'], 'deny'],
  ];
  it.each(cases)('effects %j decide %s and return every reason', async (effects, expected) => {
    const reasons = effects.map((effect, i) => ({ code: `c${i}`, message: `m${i}`, rule: `rule.${i}`, effect }));
    const d = await decide('fixtures/echo', { result: { reasons } });
    expect(d.decision).toBe(expected);
    expect(d.reasons.map((r) => r.code).sort()).toEqual(effects.map((_, i) => `c${i}`).sort());
    expect(d.reasons[0]!.effect).toBe(expected);
  });

  it('a declared decision joins the reasons in precedence', async () => {
    const d = await decide('fixtures/echo', { result: { decision: 'deny', reasons: [{ code: 'ok', effect: 'allow', rule: 'r' }] } });
    expect(d.decision).toBe('deny');
  });

  it('redactions alone make the decision at least redact', async () => {
    const d = await decide('fixtures/echo', {
      content: { prompt: 'hi' },
      result: { decision: 'allow', redactions: [{ path: '/content/prompt', kind: 'greeting' }] },
    });
    expect(d.decision).toBe('redact');
    expect(d.redactions).toEqual([{ path: '/content/prompt', kind: 'greeting' }]);
  });
});

describe('fail closed', () => {
  it('a result that breaks the contract is DENY policy_error naming the problem', async () => {
    const d = await decide('fixtures/broken', {});
    expect(d.decision).toBe('deny');
    expect(d.reasons).toHaveLength(1);
    expect(d.reasons[0]).toMatchObject({ code: 'policy_error', rule: 'gavel.engine' });
    expect(d.reasons[0]!.message).toContain('"maybe"');
  });

  it.each([
    [{ reasons: 'nope' }, 'reasons must be an array'],
    [{ reasons: [{ code: 1, effect: 'deny' }] }, 'reasons[0].code must be a string'],
    [{ decision: 'allow', redactions: [{ path: 'content', kind: 'x' }] }, 'JSON pointer'],
    [{ decision: 'allow', obligations: [1] }, 'obligations must be an object'],
    [{}, 'neither a decision nor any reason'],
  ])('contract violation %j -> policy_error', async (result, text) => {
    const d = await decide('fixtures/echo', { result });
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]!.code).toBe('policy_error');
    expect(d.reasons[0]!.message).toContain(text);
  });

  it('an undefined result is DENY no_decision', async () => {
    const d = await decide('fixtures/undefined_result', { defined: false });
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]!.code).toBe('no_decision');
    const ok = await decide('fixtures/undefined_result', { defined: true });
    expect(ok.decision).toBe('allow');
  });

  it('a wasm trap is DENY evaluation_error, the evaluator is replaced, the next call is served', async () => {
    // An engine built from its parts: the test reads the evaluator it resolves (a runtime keeps its policy set to itself).
    const bare = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
    const decide = (policy: string, input: unknown) => bare.engine.decide({ policy, input: json(input), requestId: randomUUID(), caller: 'test' });
    try {
      const evaluator = bare.policies.resolve('fixtures/conflict');
      const faults = evaluator.faultCount;
      const d = await decide('fixtures/conflict', { a: true, b: true });
      expect(d.decision).toBe('deny');
      expect(d.reasons[0]!.code).toBe('evaluation_error');
      expect(evaluator.faultCount).toBe(faults + 1);
      expect((await decide('fixtures/conflict', { a: true })).decision).toBe('allow');
      expect((await decide('fixtures/conflict', { b: true })).decision).toBe('deny');
    } finally {
      await bare.close();
    }
  });

  it('running out of wasm memory is DENY evaluation_error and the next call is served', async () => {
    const d = await decide('fixtures/hungry', { n: 50_000_000 });
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]!.code).toBe('evaluation_error');
    const next = await decide('fixtures/hungry', { n: 1000 });
    expect(next.decision).toBe('allow');
    expect(next.reasons[0]!.message).toBe('1000');
  });
});

describe('every answer has its ledger entry', () => {
  it('receipts are contiguous and match the ledger head', async () => {
    const a = await decide('fixtures/echo', { result: { decision: 'allow' } });
    const b = await decide('fixtures/broken', {});
    expect(b.receipt.seq).toBe(a.receipt.seq + 1);
    expect(core.parts.ledger.headHash).toBe(b.receipt.entryHash);
  });

  it('time is supplied by the service in input.context.now, overriding the caller', async () => {
    const d = await decide('fixtures/echo', { context: { now: '1999-01-01T00:00:00Z' }, result: { decision: 'allow' } });
    const stored = JSON.parse(payloadText(core.parts.ledger.db, d.receipt.seq)) as { input: { context: { now: string } } };
    expect(stored.input.context.now).toBe(d.evaluatedAt);
    expect(stored.input.context.now).not.toBe('1999-01-01T00:00:00Z');
  });
});
