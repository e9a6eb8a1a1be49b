import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, TestClock, usageOf, withoutEntry } from './helpers.js';

/** Budgets are charged where the policy looks for them: agents to the user they act for, approvals once approved. */
const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db'), now: clock.now });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const bob = { id: 'bob', type: 'user', roles: ['employee'], team: 'budget-test', cost_center: 'cc-bt' };
const viaAgent = (maxTokens: number) => ({
  subject: { id: 'agent-support-bot', type: 'agent', on_behalf_of: bob },
  action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: maxTokens } },
  content: { prompt: 'hi' },
  context: { environment: 'prod' },
});

it("an agent without a team of its own is charged to, and limited by, the user's team", async () => {
  const first = await decide(c, viaAgent(4000));
  expect(first.decision).toBe('DECISION_ALLOW');
  expect((await usageOf(c, 'team', 'budget-test')).week.reserved_tokens).toBe(4001);
  // The report names the team the decision was charged to.
  const r = await report(c, first.decision_id, { subject: 'agent-support-bot', team: 'budget-test', costCenter: 'cc-bt' }, 'standard-m', 1, 3999);
  expect(r.tokens).toBe(4000);
  // bob's team has 1000 tokens left: neither bob nor his agent may spend 2000 more.
  const direct = await decide(c, { ...viaAgent(2000), subject: bob });
  const delegated = await decide(c, viaAgent(2000));
  for (const d of [direct, delegated]) {
    expect(d.decision).toBe('DECISION_DENY');
    expect(d.reasons.map((x: { code: string }) => x.code)).toContain('team_budget_exhausted');
  }
  const row = srv.core.parts.ledger.db.prepare('SELECT team, cost_center FROM entries WHERE decision_id = ?').get(first.decision_id);
  expect(row).toEqual({ team: 'budget-test', cost_center: 'cc-bt' });
});

it('a model call that required approval is reserved, and its report is accepted once approved', async () => {
  const seat = { subject: 'spender', team: 'platform', costCenter: 'cc-100' };
  // Seed a month of spend just under the approval threshold (5000) through a settled call.
  const seed = await decide(c, modelCall(seat, 'standard-m', 100));
  // Spend this large cannot come through Report (a report is bounded by its decision's price); seed it in the store.
  await srv.core.parts.usage!.settle(
    {
      ...seat,
      decisionId: seed.decision_id,
      model: 'standard-m',
      tier: 'standard',
      inputTokens: 1,
      outputTokens: 99,
      costMicros: 4_999_999_000,
      atMs: Date.now(),
    },
    withoutEntry(srv.core.parts.ledger.db),
  );
  const pending = await decide(c, modelCall(seat, 'standard-m', 100));
  expect(pending.decision).toBe('DECISION_REQUIRE_APPROVAL');
  expect((await usageOf(c, 'subject', 'spender')).month.reserved_tokens).toBe(101);
  const r = await report(c, pending.decision_id, seat, 'standard-m', 1, 50);
  expect(r.duplicate).toBe(false);
  // Another call (max_tokens differs): a request of its own, with its own reservation (the same call again would wait on the first).
  const big = await decide(c, modelCall(seat, 'standard-m', 90));
  expect(big.approval.approval_id).not.toBe(pending.approval.approval_id);
  await srv.core.parts.usage!.settle(
    {
      ...seat,
      decisionId: big.decision_id,
      model: 'standard-m',
      tier: 'standard',
      inputTokens: 1,
      outputTokens: 50,
      costMicros: 15_000_000_000,
      atMs: Date.now(),
    },
    withoutEntry(srv.core.parts.ledger.db),
  );
  // Now past the seat's hard cap (20000): the next call is denied outright.
  const next = await decide(c, modelCall(seat, 'standard-m', 100));
  expect(next.decision).toBe('DECISION_DENY');
  expect(next.reasons.map((x: { code: string }) => x.code)).toContain('seat_spend_cap');
});

it('data exports count against their rate limit like tool calls', async () => {
  const analyst = { id: 'exporter', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
  const exportCall = { subject: analyst, action: { type: 'data.export', params: { category: 'sales_summary' } }, context: { environment: 'prod' } };
  const answers: string[] = [];
  for (let i = 0; i < 62; i++) answers.push((await decide(c, exportCall)).decision);
  expect(answers[0]).toBe('DECISION_ALLOW');
  expect(answers.filter((a) => a === 'DECISION_ALLOW')).toHaveLength(60);
  expect(answers.slice(60)).toEqual(['DECISION_DENY', 'DECISION_DENY']);
});
