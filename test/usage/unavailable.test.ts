import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall } from './helpers.js';

/**
 * When another process holds the database's write lock, the decision's entry and its
 * reservation cannot commit (they share one transaction): fail closed with UNAVAILABLE,
 * record and reserve nothing, then recover.
 */
const file = join(tempDir(), 'l.db');
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: file, ledgerOptions: { busyTimeoutMs: 200 } });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

it('a database held locked by another process gives UNAVAILABLE ledger_unavailable; nothing is recorded or reserved', async () => {
  const who = { subject: 'lockee', team: 'platform', costCenter: 'cc-100' };
  const ok = await decide(c, modelCall(who));
  expect(ok.decision).toBe('DECISION_ALLOW');
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  try {
    const before = srv.core.parts.ledger.size;
    const err = await unaryError(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(modelCall(who))) });
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.metadata.get('gavel-error-code')[0]).toBe('ledger_unavailable');
    const report = await unaryError(c.usage, 'Report', {
      decision_id: ok.decision_id,
      subject: 'lockee',
      team: 'platform',
      cost_center: 'cc-100',
      model: 'standard-m',
      input_tokens: 1,
      output_tokens: 1,
    });
    expect(report.code).toBe(grpc.status.UNAVAILABLE);
    expect(srv.core.parts.ledger.size).toBe(before);
    const reserved = other.prepare(`SELECT COUNT(*) AS n FROM usage_charges WHERE subject = 'lockee'`).get() as { n: number };
    expect(reserved.n).toBe(1);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  expect((await decide(c, modelCall(who))).decision).toBe('DECISION_ALLOW');
});
