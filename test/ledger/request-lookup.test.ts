import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { REQUEST_LOOKUP } from '../../src/ledger/query.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { modelCall } from '../usage/helpers.js';

/**
 * The idempotency lookup (caller, request_id) runs on every Decide that carries a request id: it must
 * read the entries_request index, whatever else the planner could pick. Without the `+` in its WHERE,
 * SQLite chose entries_kind and walked every decision newest first, a cost that grew with the ledger.
 */
let core: Runtime | undefined;
afterAll(async () => {
  await core?.stop();
});

it('reads entries_request alone, before and after ANALYZE', async () => {
  const file = join(tempDir(), 'l.db');
  core = await startRuntime({ bundles: BUNDLES, ledger: file });
  const who = { subject: 'lookup', team: 'platform', costCenter: 'cc-100' };
  for (let i = 0; i < 50; i++) {
    await core.decide({ policy: '', input: { value: modelCall(who, 'standard-m', 10 + i) }, requestId: `q-${i}`, caller: 'gw' });
  }
  const db = core.parts.ledger.db;
  const plan = () => (db.prepare(`EXPLAIN QUERY PLAN ${REQUEST_LOOKUP}`).all('q-1', 'gw', 0) as Array<{ detail: string }>).map((r) => r.detail);
  expect(plan()[0]).toBe('SEARCH e USING INDEX entries_request (request_id=?)');
  // ANALYZE as an operator's shell would run it (the server's own connection only reads).
  const shell = new Database(file);
  shell.exec('ANALYZE');
  shell.close();
  expect(plan()[0]).toBe('SEARCH e USING INDEX entries_request (request_id=?)');
  expect(core.parts.ledger.findRequest('gw', 'q-7', 0)?.requestId).toBe('q-7');
  expect(core.parts.ledger.findRequest('other', 'q-7', 0)).toBeUndefined();
});
