import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundles } from '../../../src/bundles/loader.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient, GavelError } from '../src/index.js';

/** decide, report and health against the real server on loopback: the reference bundles, a SQLite ledger. */
let srv: InProcessServer;
let client: GavelClient;
const alice = { subject: 'sdk-alice', team: 'platform', costCenter: 'cc-100' };

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
  client = createClient({ target: srv.address, tls: 'insecure', caller: 'sdk-test', deadlineMs: 10_000 });
});
afterAll(async () => {
  await client.close();
  await srv.stop();
});

/** The refusal a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<GavelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GavelError);
  return err as GavelError;
}

describe('decide', () => {
  it('allow: typed fields, and a receipt that is the ledger entry of this decision', async () => {
    const d = await client.decide(modelCall(alice), { requestId: 'sdk-allow-1' });
    expect(d.outcome).toBe('allow');
    expect(d.isAllowed()).toBe(true);
    expect(d.requestId).toBe('sdk-allow-1');
    expect(d.model).toBe('standard-m');
    expect(d.reasons.map((r) => r.code)).toContain('allowed');
    expect(Object.keys(d.reasons[0]!).sort()).toEqual(['code', 'effect', 'message', 'rule']);
    expect(d.obligations).toEqual(expect.any(Object));
    expect(d.redactedInput).toBeUndefined();
    expect(d.approval).toBeUndefined();
    expect(d.policy.bundle).toBe('ai');
    expect(d.policy.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Date.parse(d.evaluatedAt)).not.toBeNaN();

    const entry = srv.core.audit.get(d.decisionId)!;
    expect(entry).toBeDefined();
    expect(d.receipt).toEqual({ seq: entry.seq, entryHash: entry.entryHash, leafIndex: entry.seq - 1 });
    expect(entry.requestId).toBe('sdk-allow-1');
    expect(entry.caller).toBe('unverified:sdk-test');
    expect(entry.decision).toBe('allow');
    expect(d.policy).toEqual({ bundle: entry.bundle, revision: entry.revision, digest: entry.digest });
  });

  it('deny: a model the role may not use', async () => {
    const d = await client.decide(modelCall(alice, 'frontier-xl'));
    expect(d.outcome).toBe('deny');
    expect(d.isAllowed()).toBe(false);
    expect(d.reasons.find((r) => r.code === 'model_not_permitted')).toMatchObject({ effect: 'deny' });
    expect(srv.core.audit.get(d.decisionId)?.decision).toBe('deny');
  });

  it('a request id is generated (a UUID) when none is given', async () => {
    const d = await client.decide(modelCall(alice));
    expect(d.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(srv.core.audit.get(d.decisionId)?.requestId).toBe(d.requestId);
  });

  it('redact: the redacted input parsed, the redactions, and isAllowed() false', async () => {
    const input = modelCall(alice, 'standard-m', 100, 'mail jane.doe@example.com the report');
    const d = await client.decide(input);
    expect(d.outcome).toBe('redact');
    expect(d.isAllowed()).toBe(false);
    expect(d.redactions).toEqual([{ path: '/content/prompt', kind: 'email' }]);
    expect(d.redactedInput).toMatchObject({ content: { prompt: 'mail [REDACTED:email] the report' } });
    expect(d.model).toBe('standard-m');
  });

  it('model after a tier-down: the routed model, the one to call and report', async () => {
    // From the reference bundle's data, as test/usage/tier-down.test.ts: the team's weekly budget and the ladder's top rung.
    const data = loadBundles(BUNDLES).find((b) => b.entrypoints.includes('gavel/ai/decision'))!.data as unknown as {
      gavel: {
        ai_config: {
          budgets: {
            team_weekly_tokens: { by_team: Record<string, number> };
            team_tier_ladder: { rungs: Array<{ at_ratio: number; route: Record<string, string> }> };
          };
        };
      };
    };
    const budgets = data.gavel.ai_config.budgets;
    const rung = [...budgets.team_tier_ladder.rungs].sort((a, b) => b.at_ratio - a.at_ratio).find((r) => r.route.standard)!;
    const team = { team: 'budget-test', costCenter: 'cc-tier' };
    const filler = await client.decide(
      modelCall({ subject: 'filler', ...team }, 'standard-m', Math.ceil(budgets.team_weekly_tokens.by_team['budget-test']! * rung.at_ratio), ''),
    );
    expect([filler.outcome, filler.model]).toEqual(['allow', 'standard-m']);

    const d = await client.decide(modelCall({ subject: 'erin', ...team }, 'standard-m', 100, 'x'.repeat(40)));
    expect(d.outcome).toBe('allow');
    expect(d.reasons.map((r) => r.code)).toContain('budget_tier_down');
    expect(d.obligations).toEqual({ route: { model: rung.route.standard } });
    expect(d.model).toBe(rung.route.standard);
    const usage = { subject: 'erin', team: team.team, costCenter: team.costCenter, inputTokens: 10, outputTokens: 50 };
    expect((await client.report(d.decisionId, { ...usage, model: d.model! })).duplicate).toBe(false);
  });

  it('the input may be JSON bytes already, and the entrypoint named', async () => {
    const d = await client.decide(Buffer.from(JSON.stringify(modelCall(alice))), { policy: 'gavel/ai/decision' });
    expect(d.outcome).toBe('allow');
    expect(d.entrypoint).toBe('gavel/ai/decision');
    expect(d.model).toBe('standard-m');
  });
});

describe('errors read from the status details', () => {
  it('bad input: invalid_input, INVALID_ARGUMENT, not retryable', async () => {
    const err = await refusal(client.decide(Buffer.from('[1, 2]')));
    expect({ code: err.code, grpcCode: err.grpcCode, grpcStatus: err.grpcStatus, retryable: err.retryable }).toEqual({
      code: 'invalid_input',
      grpcCode: 3,
      grpcStatus: 'INVALID_ARGUMENT',
      retryable: false,
    });
    expect(err.message).toMatch(/JSON object/);
  });

  it('a subject name with an invisible character: invalid_input', async () => {
    const err = await refusal(client.decide(modelCall({ ...alice, subject: 'mia\u200d' })));
    expect(err.code).toBe('invalid_input');
  });

  it('an unknown entrypoint: unknown_entrypoint, NOT_FOUND', async () => {
    const err = await refusal(client.decide(modelCall(alice), { policy: 'no/such/entrypoint' }));
    expect([err.code, err.grpcStatus]).toEqual(['unknown_entrypoint', 'NOT_FOUND']);
  });

  it('an input that is not JSON is refused before sending', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const before = srv.core.audit.size;
    const err = await refusal(client.decide(cyclic as never));
    expect([err.code, err.grpcStatus]).toEqual(['invalid_input', 'INVALID_ARGUMENT']);
    expect(srv.core.audit.size).toBe(before);
  });
});

describe('deadline', () => {
  it('a tiny deadline: deadline_exceeded, DEADLINE_EXCEEDED', async () => {
    await client.health(); // connected: the deadline passes on the call, not while connecting
    const err = await refusal(client.decide(modelCall(alice), { deadlineMs: 1 }));
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['deadline_exceeded', 'DEADLINE_EXCEEDED', false]);
  });
});

describe('report', () => {
  it('settles the usage of an allowed decision; a repeat counts nothing', async () => {
    const d = await client.decide(modelCall(alice));
    const usage = { subject: alice.subject, team: alice.team, costCenter: alice.costCenter, model: d.model!, inputTokens: 10, outputTokens: 20 };
    const receipt = await client.report(d.decisionId, usage);
    expect(receipt).toMatchObject({ decisionId: d.decisionId, duplicate: false, tokens: 30, currency: 'USD' });
    expect(receipt.cost).toMatch(/^\d+(\.\d+)?$/);
    expect(await client.report(d.decisionId, usage)).toMatchObject({ duplicate: true, tokens: 30 });
  });

  it('a report that does not match its decision: invalid_report', async () => {
    const d = await client.decide(modelCall(alice));
    const err = await refusal(
      client.report(d.decisionId, {
        subject: 'someone-else',
        team: alice.team,
        costCenter: alice.costCenter,
        model: 'standard-m',
        inputTokens: 1,
        outputTokens: 1,
      }),
    );
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['invalid_report', 'INVALID_ARGUMENT', false]);
  });
});

describe('health', () => {
  it('SERVING', async () => {
    expect(await client.health()).toBe('SERVING');
  });
});

describe('close', () => {
  it('cancels open streams; later calls fail with closed', async () => {
    const c = createClient({ target: srv.address, tls: 'insecure' });
    const s = c.decideStream();
    expect((await s.decide(modelCall(alice))).outcome).toBe('allow');
    await c.close();
    expect((await refusal(c.decide(modelCall(alice)))).code).toBe('closed');
    expect((await refusal(c.report('x', { subject: 's', team: 't', costCenter: 'c', model: 'm', inputTokens: 1, outputTokens: 1 }))).code).toBe('closed');
    expect((await refusal(s.decide(modelCall(alice)))).code).toBe('closed');
    expect(() => c.decideStream()).toThrow(GavelError);
  });
});
