import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, TestClock, usageOf } from './helpers.js';

/**
 * Budgets are keyed by the comparison form of the subject, team and cost
 * center (lib/identity-form.ts): `Fiona` and `fiona` spend one budget, read
 * back under either spelling, and a report may name either.
 */
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

it('Fiona and fiona spend one budget of subject, team and cost center; GetUsage and Report take either spelling', async () => {
  const upper = await decide(c, modelCall({ subject: 'Fiona', team: 'Finance-Ops', costCenter: 'CC-9' }, 'standard-m', 100));
  const lower = await decide(c, modelCall({ subject: 'fiona', team: 'finance-ops', costCenter: 'ｃｃ-9' }, 'standard-m', 100));
  for (const d of [upper, lower]) expect(d.decision).toBe('DECISION_ALLOW');
  for (const [scope, key] of [
    ['subject', 'fiona'],
    ['subject', 'FIONA'],
    ['team', 'finance-ops'],
    ['cost_center', 'cc-9'],
  ] as const) {
    expect((await usageOf(c, scope, key)).week.reserved_tokens, `${scope} ${key}`).toBe(2 * 101);
  }
  // The ledger keeps each decision's names as received.
  const row = srv.core.parts.ledger.db.prepare('SELECT subject_id, team, cost_center FROM entries WHERE decision_id = ?').get(upper.decision_id);
  expect(row).toEqual({ subject_id: 'Fiona', team: 'Finance-Ops', cost_center: 'CC-9' });

  // Fiona's decision, reported under the other spelling: the same charge.
  const r = await report(c, upper.decision_id, { subject: 'fiona', team: 'FINANCE-OPS', costCenter: 'cc-9' }, 'standard-m', 1, 50);
  expect(r.tokens).toBe(51);
  const usage = await usageOf(c, 'subject', 'Fiona');
  expect([usage.week.used_tokens, usage.week.reserved_tokens]).toEqual([51, 101]);
  // Another person is still another person, and an invisible character is not a spelling.
  const other = await unaryError(c.usage, 'Report', {
    decision_id: lower.decision_id,
    subject: 'fiona\u200d',
    team: 'finance-ops',
    cost_center: 'cc-9',
    model: 'standard-m',
    input_tokens: 1,
    output_tokens: 1,
    cost: '',
  });
  expect(other.code).toBe(3);
  expect(other.details).toMatch(/subject "fiona\u200d" does not match/);
});
