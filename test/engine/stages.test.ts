import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluationFault, type WasmEvaluator } from '../../src/engine/evaluator.js';
import { evaluateDecision, evaluateOutcome, prepareDecision, type EvaluateRequest } from '../../src/engine/stages.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * The two stages of a decision (engine/stages.ts) called as the runners call them, on the real
 * fixtures bundle: `fixtures/echo` answers with whatever `input.result` holds, so each case says
 * what the policy decides and looks at what the stage makes of it: the entry's payload, the
 * context the policy saw (stored with the input), what a REQUIRE_APPROVAL hands the approval desk.
 */

const LIMITS = { maxInputBytes: 1 << 20, maxDepth: 64 };
let core: BareEngine;
let echo: WasmEvaluator;

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
  echo = core.policies.resolve('fixtures/echo');
});
afterAll(() => core.close());

const prepare = (input: unknown, over: { idempotent?: boolean } = {}) =>
  prepareDecision({ input: { value: input }, requestId: 'r-1', caller: 'test', ...over }, LIMITS);

const request = (over: Partial<EvaluateRequest> = {}): EvaluateRequest => ({
  decisionId: 'd-1',
  entrypoint: 'fixtures/echo',
  nowMs: Date.parse('2026-12-06T10:00:00Z'),
  context: undefined,
  ...over,
});

/** The entry's payload as the ledger will hash and store it. */
function payloadOf(input: unknown, req: Partial<EvaluateRequest> = {}, prep: { idempotent?: boolean } = {}) {
  const evaluated = evaluateDecision(echo, prepare(input, prep), request(req));
  return { evaluated, payload: JSON.parse(evaluated.record.payloadJcs) as Record<string, any> };
}

describe('prepare: the input digest only where the call is idempotent', () => {
  it('a call that is not idempotent keeps no digest, and its entry records no request_hash', () => {
    const input = { result: { decision: 'allow' } };
    expect(prepare(input).inputDigest).toBeUndefined();
    expect(payloadOf(input).payload.request_hash).toBeUndefined();
  });

  it('an idempotent call keeps the digest, and its entry commits to it with request_hash', () => {
    const input = { result: { decision: 'allow' } };
    expect(prepare(input, { idempotent: true }).inputDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(payloadOf(input, {}, { idempotent: true }).payload.request_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('evaluate: hashed paths', () => {
  it('names only the sensitive paths the input has: a path the policy names but the input lacks is not listed', () => {
    const { payload } = payloadOf({
      content: { ssn: '123-45-6789' },
      result: { decision: 'allow', sensitive_paths: ['/content/ssn', '/content/absent'] },
    });
    expect(payload.result.hashed_paths).toEqual(['/content/ssn']);
    expect(payload.input.content.ssn).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(payload.input.content).not.toHaveProperty('absent');
  });
});

describe('evaluate: the action a REQUIRE_APPROVAL asks about', () => {
  const action = { type: 'tool.call', params: { amount: 12, to: 'acct-9' } };

  it('a REQUIRE_APPROVAL hands the desk the action params as stored', () => {
    const { evaluated } = payloadOf({ action, result: { reasons: [{ code: 'big', effect: 'require_approval', rule: 'r' }] } });
    expect(evaluated.decision).toBe('require_approval');
    expect(evaluated.actionParams).toEqual({ amount: 12, to: 'acct-9' });
  });

  it('any other decision hands over none', () => {
    const { evaluated } = payloadOf({ action, result: { decision: 'allow' } });
    expect(evaluated.decision).toBe('allow');
    expect(evaluated).not.toHaveProperty('actionParams');
  });
});

describe("evaluate: context.approval is gavel's to give", () => {
  const own = { id: 'apr-own', state: 'approved', approvers: ['me'], matches: true };
  const looked = { id: 'apr-1', state: 'approved' as const, approvers: ['lead', 'cfo'], matches: true };
  const contextSeen = (req: Partial<EvaluateRequest>) =>
    payloadOf({ context: { approval: own, tz: 'UTC' }, result: { decision: 'allow' } }, req).payload.input.context;

  it('without approvals (no desk, approval undefined) the input’s own context.approval reaches the policy', () => {
    expect(contextSeen({})).toMatchObject({ approval: own, tz: 'UTC' });
  });

  it('with approvals and no approval carried (null), the caller’s own is removed', () => {
    const context = contextSeen({ approval: null });
    expect(context).not.toHaveProperty('approval');
    expect(context.tz).toBe('UTC');
  });

  it('with an approval looked up, the policy sees that one, approvers included', () => {
    expect(contextSeen({ approval: looked }).approval).toEqual(looked);
  });
});

describe('evaluateOutcome: only an evaluation fault becomes a DENY', () => {
  const throwing = (err: Error) =>
    ({
      evaluate: () => {
        throw err;
      },
    }) as unknown as WasmEvaluator;

  it('an EvaluationFault (a trap) is DENY evaluation_error from the engine, naming the entrypoint', () => {
    const outcome = evaluateOutcome(throwing(new EvaluationFault('unreachable')), {}, 'fixtures/echo');
    expect(outcome.decision).toBe('deny');
    expect(outcome.reasons).toEqual([
      { code: 'evaluation_error', message: 'evaluation of fixtures/echo failed (unreachable); failing closed', rule: 'gavel.engine', effect: 'deny' },
    ]);
  });

  it('any other error is not an answer: it is thrown to the caller, which fails closed', () => {
    const bug = new TypeError('a bug');
    expect(() => evaluateOutcome(throwing(bug), {}, 'fixtures/echo')).toThrow(bug);
  });
});
