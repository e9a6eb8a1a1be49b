import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, usageOf } from '../usage/helpers.js';

/** A report must match the decision it settles; one report cannot block a cost center for the month. */
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const who = { subject: 'poisoner', team: 'platform', costCenter: 'cc-100' };
const request = (decisionId: string, over: Record<string, unknown>) => ({
  decision_id: decisionId,
  subject: who.subject,
  team: who.team,
  cost_center: who.costCenter,
  model: 'standard-m',
  input_tokens: 1,
  output_tokens: 1,
  cost: '',
  ...over,
});

async function refused(over: Record<string, unknown>, text: string | RegExp, maxTokens = 100): Promise<void> {
  const d = await decide(c, modelCall(who, 'standard-m', maxTokens));
  expect(d.decision).toBe('DECISION_ALLOW');
  const before = await usageOf(c, 'cost_center', 'cc-100');
  const err = await unaryError(c.usage, 'Report', request(d.decision_id, over));
  expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(err.metadata.get('gavel-error-code')).toEqual(['invalid_report']);
  expect(err.details).toMatch(text);
  expect(await usageOf(c, 'cost_center', 'cc-100')).toMatchObject({ month: { used_cost: before.month.used_cost, used_tokens: before.month.used_tokens } });
  expect(await srv.core.parts.usage!.charge(d.decision_id)).toMatchObject({ state: 'reserved' });
}

describe('reports cannot poison budgets', () => {
  it('a cost far above the price table for the reported tokens is refused, naming the bound; the cost center is not blocked', async () => {
    await refused({ cost: '9999999999.999999', input_tokens: 1, output_tokens: 1 }, /more than 10x the price table's .* \(bound /);
    expect((await decide(c, modelCall({ ...who, subject: 'bystander' }))).decision).toBe('DECISION_ALLOW');
  });

  it('a model other than the one decided is refused', () => refused({ model: 'frontier-xl' }, 'is not the model decision'));

  it('output tokens beyond the max_tokens the decision allowed are refused', () => refused({ output_tokens: 101 }, 'exceeds the max_tokens 100'));

  it('input tokens far beyond the decision estimate are refused', () => refused({ input_tokens: 10_000_000 }, 'input_tokens 10000000 is more than the bound'));

  it.each([' 0.0001', '0.0001 ', '0.0000001', '1e-4', '+0.0001'])('cost %j is rejected, not rounded or trimmed', (cost) => refused({ cost }, 'cost must be'));

  it('a huge model name is not echoed back whole', async () => {
    const d = await decide(c, modelCall(who));
    const err = await unaryError(c.usage, 'Report', request(d.decision_id, { model: 'm'.repeat(100_000) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details.length).toBeLessThan(400);
  });

  it('a plausible report within the bound still settles', async () => {
    const d = await decide(c, modelCall(who));
    const r = await report(c, d.decision_id, who, 'standard-m', 3, 90, '0.002');
    expect(r).toMatchObject({ duplicate: false, cost: '0.002', tokens: 93 });
  });
});
