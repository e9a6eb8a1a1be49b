import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/engine.js';
import type { GavelError } from '../../src/lib/errors.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { type Caller, modelCall, usageReport } from '../usage/helpers.js';

/**
 * The shared usage rows checked against each replica's chain at its start and on its timer
 * (state/shared.ts over the PostgreSQL store's stateRows/repairState), in this process: the
 * same tampering as test/state/shared-tamper.test.ts, which drives `gavel serve` children,
 * read here through startRuntime so the store's code is measured where it runs. Also the
 * request id claims a replica left without a receipt, noted or dropped at its next start.
 */
const skip = postgresUnavailable();
const TEAM: Caller = { subject: 'pat', team: 'budget-test', costCenter: 'cc-shared' };

describe.skipIf(skip)('shared usage rows against the chains, in this process', () => {
  /** Every runtime started here, stopped (again: stop() is idempotent) before the server closes, whatever a test left. */
  const started: Runtime[] = [];
  const db = postgresForTests({
    beforeClose: async () => {
      for (const r of started) await r.stop().catch(() => undefined);
    },
  });

  const start = async (ledger: string, url: string, over: Partial<RuntimeConfig> = {}) => {
    const r = await startRuntime({ bundles: BUNDLES, ledger, usageStore: { url, timeoutMs: 2000, probeMs: 100 }, ...over });
    started.push(r);
    return r;
  };

  const decide = (r: Runtime, maxTokens: number, requestId = ''): Promise<Decision> =>
    r.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(modelCall(TEAM, 'standard-m', maxTokens, 'hi'))) }, requestId, caller: 'gateway' });

  const refusal = (p: Promise<Runtime>) =>
    p.then(
      async (r) => {
        await r.stop();
        throw new Error('started');
      },
      (err: GavelError) => err,
    );

  /** A spends the 5,000-token team budget in one call; B receives its report. */
  async function spent(url: string): Promise<{ a: string; b: string; decisionId: string }> {
    const a = join(tempDir('gavel-shared-a-'), 'ledger.db');
    const b = join(tempDir('gavel-shared-b-'), 'ledger.db');
    const ra = await start(a, url);
    const rb = await start(b, url);
    try {
      const d = await decide(ra, 4990);
      expect(d.decision).toBe('allow');
      await rb.report!.report(usageReport(d.decisionId, TEAM, 4990, 'gateway'));
      expect((await decide(ra, 100)).decision).toBe('deny');
      return { a, b, decisionId: d.decisionId };
    } finally {
      await ra.stop();
      await rb.stop();
    }
  }

  it('deleted shared rows refuse both starts, each naming the rows its chain accounts for; a rebuild restores them, recorded, and the team stays denied', async () => {
    const url = await freshDatabase(db, 'state_rt');
    const { a, b, decisionId } = await spent(url);
    await queryAt(url, 'DELETE FROM gavel_usage_charges; DELETE FROM gavel_usage_daily; DELETE FROM gavel_usage_minute; DELETE FROM gavel_usage_requests');
    const refusedA = await refusal(start(a, url));
    expect(refusedA.code).toBe('state_mismatch');
    expect(refusedA.message).toContain(`gavel_usage_charges ${decisionId}: missing`);
    expect(refusedA.message).toContain(`gavel_usage_requests ${decisionId}: missing`);
    // B recorded the report, not the requests: it names the charge alone.
    const refusedB = await refusal(start(b, url));
    expect(refusedB.code).toBe('state_mismatch');
    expect(refusedB.message).toContain(`gavel_usage_charges ${decisionId}: missing`);
    expect(refusedB.message).not.toContain('gavel_usage_requests');

    await (await start(a, url, { state: { rebuild: true } })).stop();
    const rb = await start(b, url, { state: { rebuild: true } });
    try {
      expect(await queryAt(url, `SELECT state, tokens FROM gavel_usage_charges WHERE decision_id = $1`, [decisionId])).toEqual([
        { state: 'settled', tokens: '4991' },
      ]);
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_requests')).toEqual([{ n: 2 }]);
      expect(await queryAt(url, `SELECT scope, tokens FROM gavel_usage_daily ORDER BY scope`)).toEqual([
        { scope: 'cost_center', tokens: '4991' },
        { scope: 'subject', tokens: '4991' },
        { scope: 'team', tokens: '4991' },
      ]);
      expect((await decide(rb, 100)).decision).toBe('deny');
    } finally {
      await rb.stop();
    }
    for (const ledger of [a, b]) {
      const file = new Database(ledger, { readonly: true });
      try {
        expect(file.prepare(`SELECT decision FROM entries WHERE kind = 'state'`).all()).toEqual([{ decision: 'rebuilt' }]);
      } finally {
        file.close();
      }
    }
    // Rebuilt: the next start needs no flag.
    await (await start(a, url)).stop();
  }, 60_000);

  it('an edited charge and an inserted bucket are named by the replica that recorded them; the other sees only the buckets', async () => {
    const url = await freshDatabase(db, 'state_rt_edit');
    const { a, b, decisionId } = await spent(url);
    await queryAt(
      url,
      `UPDATE gavel_usage_charges SET tokens = 1 WHERE decision_id = '${decisionId}';
       INSERT INTO gavel_usage_daily (scope, key, tier, day, tokens, cost_micros) VALUES ('team', 'elsewhere', 'standard', '2099-01-01', 7, 7)`,
    );
    const refusedB = await refusal(start(b, url));
    expect(refusedB.message).toContain(`gavel_usage_charges ${decisionId}: changed`);
    expect(refusedB.message).toContain('gavel_usage_daily team/elsewhere/standard/2099-01-01: not made by any entry');
    expect(refusedB.message).toMatch(/disagree with the ledger's chain in 2 rows/);
    const refusedA = await refusal(start(a, url));
    expect(refusedA.message).toContain('gavel_usage_daily team/budget-test/standard/');
    expect(refusedA.message).not.toContain('gavel_usage_charges');
    // B's rebuild writes its charge back and the buckets as the settled charges sum them: the stray one goes.
    await (await start(b, url, { state: { rebuild: true } })).stop();
    expect(await queryAt(url, `SELECT tokens FROM gavel_usage_charges WHERE decision_id = $1`, [decisionId])).toEqual([{ tokens: '4991' }]);
    expect(await queryAt(url, `SELECT key, tokens FROM gavel_usage_daily WHERE scope = 'team'`)).toEqual([{ key: 'budget-test', tokens: '4991' }]);
    await (await start(a, url)).stop();
  }, 60_000);

  it('buckets deleted under a running replica are rewritten by its timer; the team stays denied', async () => {
    const url = await freshDatabase(db, 'state_rt_timer');
    const { a } = await spent(url);
    const ra = await start(a, url, { usageStore: { url, timeoutMs: 2000, probeMs: 100, stateCheckSeconds: 1 } });
    try {
      await queryAt(url, 'DELETE FROM gavel_usage_daily; DELETE FROM gavel_usage_minute');
      await expect.poll(async () => (await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_daily'))[0]!.n, { timeout: 15_000, interval: 250 }).toBe(3);
      expect(await queryAt(url, `SELECT count(*)::int AS n FROM gavel_usage_minute`)).toEqual([{ n: 3 }]);
      expect((await decide(ra, 100)).decision).toBe('deny');
    } finally {
      await ra.stop();
    }
  }, 60_000);

  it('a request id claim left without its receipt is noted at the next start when the ledger has the decision, dropped when not', async () => {
    const url = await freshDatabase(db, 'state_rt_claims');
    const ledger = join(tempDir('gavel-shared-claims-'), 'ledger.db');
    const r = await start(ledger, url);
    let kept: Decision;
    try {
      kept = await decide(r, 10, 'req-kept');
      await decide(r, 10, 'req-lost');
    } finally {
      await r.stop();
    }
    const before = await queryAt(url, `SELECT request_id, seq, entry_hash, sig FROM gavel_request_ids ORDER BY request_id`);
    expect(before.map((x) => x.request_id)).toEqual(['req-kept', 'req-lost']);
    // As a stop between the claim and its receipt would leave them; the second names a decision no ledger holds.
    await queryAt(url, `UPDATE gavel_request_ids SET seq = NULL, entry_hash = NULL, sig = NULL`);
    await queryAt(url, `UPDATE gavel_request_ids SET decision_id = 'never-recorded' WHERE request_id = 'req-lost'`);
    const again = await start(ledger, url);
    try {
      expect(await queryAt(url, `SELECT request_id, seq, entry_hash, sig FROM gavel_request_ids ORDER BY request_id`)).toEqual([before[0]]);
      const replayed = await decide(again, 10, 'req-kept');
      expect(replayed.decisionId).toBe(kept.decisionId);
      expect(replayed.replayed).toBe(true);
    } finally {
      await again.stop();
    }
  }, 60_000);
});
