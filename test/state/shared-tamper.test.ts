import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { clients, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { failedStart, startChild, type ChildServer } from '../helpers/server.js';
import { decide, modelCall, report, type Caller } from '../usage/helpers.js';

/**
 * The same tampering on the shared PostgreSQL store (issue 24, finding 2 with
 * replicas): deleting the charges and buckets must not reset a spent budget.
 * Replica A decides, replica B receives the report; each checks the shared
 * rows its own chain accounts for. On the old code both restarted and served
 * the exhausted team again.
 */
const skip = postgresUnavailable();
const TEAM: Caller = { subject: 'pat', team: 'budget-test', costCenter: 'cc-shared' };

interface Replica {
  srv: ChildServer;
  c: Clients;
}

describe.skipIf(skip)('shared usage rows checked against the replicas’ chains', () => {
  const db = postgresForTests();

  const args = (ledger: string, url: string, ...extra: string[]) => [
    '--bundles',
    BUNDLES,
    '--ledger',
    ledger,
    '--workers',
    '0',
    '--usage-store',
    url,
    ...extra,
  ];

  async function start(ledger: string, url: string, ...extra: string[]): Promise<Replica> {
    const srv = await startChild(args(ledger, url, ...extra));
    return { srv, c: clients(srv.address) };
  }

  async function stop(r: Replica): Promise<void> {
    r.c.close();
    r.srv.child.kill('SIGTERM');
    await r.srv.exited;
  }

  /** A spends the 5,000-token team budget in one call; B receives its report. */
  async function spent(url: string): Promise<{ a: string; b: string; decisionId: string }> {
    const a = join(tempDir('gavel-shared-a-'), 'ledger.db');
    const b = join(tempDir('gavel-shared-b-'), 'ledger.db');
    const [ra, rb] = await Promise.all([start(a, url), start(b, url)]);
    try {
      const d = await decide(ra.c, modelCall(TEAM, 'standard-m', 4990, 'hi'));
      expect(d.decision).toBe('DECISION_ALLOW');
      await report(rb.c, d.decision_id, TEAM, 'standard-m', 1, 4990);
      expect((await decide(ra.c, modelCall(TEAM, 'standard-m', 100, 'hi'))).decision).toBe('DECISION_DENY');
      return { a, b, decisionId: d.decision_id };
    } finally {
      await Promise.all([stop(ra), stop(rb)]);
    }
  }

  it('deleted shared charges and buckets refuse both replicas’ starts, naming the rows; --rebuild-state restores them and the team stays denied', async () => {
    const url = await freshDatabase(db, 'shared_tamper');
    const { a, b, decisionId } = await spent(url);
    await queryAt(url, 'DELETE FROM gavel_usage_charges; DELETE FROM gavel_usage_daily; DELETE FROM gavel_usage_minute; DELETE FROM gavel_usage_requests');

    const refusedA = await failedStart(args(a, url));
    expect(refusedA).toContain('exited with 3');
    expect(refusedA).toContain(`gavel_usage_charges ${decisionId}: missing`);
    // The request rows rate limits count (A decided twice).
    expect(refusedA).toContain(`gavel_usage_requests ${decisionId}: missing`);
    const refusedB = await failedStart(args(b, url));
    expect(refusedB).toContain(`gavel_usage_charges ${decisionId}: missing`);

    // A restores its reservation; B, the settlement it recorded, and the buckets it sums to.
    await stop(await start(a, url, '--rebuild-state'));
    const rb = await start(b, url, '--rebuild-state');
    try {
      expect(await queryAt(url, `SELECT state, tokens FROM gavel_usage_charges WHERE decision_id = '${decisionId}'`)).toEqual([
        { state: 'settled', tokens: '4991' },
      ]);
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_requests')).toEqual([{ n: 2 }]);
      expect((await decide(rb.c, modelCall(TEAM, 'standard-m', 100, 'hi'))).decision).toBe('DECISION_DENY');
    } finally {
      await stop(rb);
    }
    for (const ledger of [a, b]) {
      const file = new Database(ledger, { readonly: true });
      expect(file.prepare(`SELECT decision FROM entries WHERE kind = 'state'`).all()).toEqual([{ decision: 'rebuilt' }]);
      file.close();
    }
    // Rebuilt: the next starts need no flag.
    await stop(await start(a, url));
  }, 120_000);

  it('buckets deleted under a running replica are rewritten by its timer and recorded; the team stays denied', async () => {
    const url = await freshDatabase(db, 'shared_running');
    const { a } = await spent(url);
    const ra = await start(a, url, '--shared-state-check-seconds', '1');
    try {
      await queryAt(url, 'DELETE FROM gavel_usage_daily; DELETE FROM gavel_usage_minute');
      await expect.poll(async () => (await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_daily'))[0]!.n, { timeout: 15_000, interval: 250 }).toBe(3);
      expect((await decide(ra.c, modelCall(TEAM, 'standard-m', 100, 'hi'))).decision).toBe('DECISION_DENY');
      await expect.poll(() => ra.srv.lines.some((l) => l.includes('shared usage rows were changed by another program')), { timeout: 5_000 }).toBe(true);
    } finally {
      await stop(ra);
    }
  }, 120_000);
});
