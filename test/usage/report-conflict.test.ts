import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, usageOf } from './helpers.js';

/** UsageService.Report over real gRPC: a re-report that differs only in cost is a conflict, not a duplicate. */
let srv: InProcessServer;
let c: Clients;
const dana = { subject: 'dana', team: 'platform', costCenter: 'cc-100' };

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const reportRequest = (decisionId: string, cost: string, model = 'standard-m') => ({
  decision_id: decisionId,
  subject: dana.subject,
  team: dana.team,
  cost_center: dana.costCenter,
  model,
  input_tokens: 5,
  output_tokens: 50,
  cost,
});

describe('report conflicts', () => {
  it('same tokens, different explicit cost -> FAILED_PRECONDITION report_conflict; the first settlement stands', async () => {
    const d = await decide(c, modelCall(dana));
    expect(d.decision).toBe('DECISION_ALLOW');
    const first = await report(c, d.decision_id, dana, 'standard-m', 5, 50, '0.0008');
    expect(first).toMatchObject({ duplicate: false, cost: '0.0008', tokens: 55 });
    // The very same report again is a harmless duplicate.
    expect((await report(c, d.decision_id, dana, 'standard-m', 5, 50, '0.0008')).duplicate).toBe(true);
    const settled = await usageOf(c, 'subject', 'dana');

    const err = await unaryError(c.usage, 'Report', reportRequest(d.decision_id, '0.0009'));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.metadata.get('gavel-error-code')).toEqual(['report_conflict']);
    expect(err.details).toContain(d.decision_id);

    // Nothing was re-charged: usage is what the first report settled.
    expect(await usageOf(c, 'subject', 'dana')).toEqual(settled);
    expect(settled.day).toMatchObject({ used_tokens: 55, used_cost: 0.0008 });
  });

  it('a re-report naming another model is refused before it can conflict: the model must be the decided one', async () => {
    const d = await decide(c, modelCall(dana));
    expect(d.decision).toBe('DECISION_ALLOW');
    await report(c, d.decision_id, dana, 'standard-m', 5, 50); // cost from the price table
    const settled = await usageOf(c, 'subject', 'dana');
    const err = await unaryError(c.usage, 'Report', reportRequest(d.decision_id, '', 'economy-s'));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('gavel-error-code')).toEqual(['invalid_report']);
    expect(await usageOf(c, 'subject', 'dana')).toEqual(settled);
  });
});
