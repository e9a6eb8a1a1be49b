import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, type Clients } from '../helpers/client.js';
import { healthClient } from '../helpers/health.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresUnavailable, queryAt, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startChild, startInProcess, type ChildServer } from '../helpers/server.js';
import { decide, modelCall, report, usageOf, type Caller } from './helpers.js';

/**
 * Three `gavel serve` processes, each with its own ledger file, sharing one
 * real PostgreSQL usage store: the team budget "budget-test" (5000 tokens a
 * week in the reference bundle) is spent once, not three times. Each call is
 * estimated at 101 tokens (1 prompt token + max_tokens 100) and really uses 91.
 */
const BUDGET = 5000;

interface Replica {
  srv: ChildServer;
  c: Clients;
  ledger: string;
}

const skip = postgresUnavailable();
if (skip) console.warn(`skipping replica tests: ${skip}`);

describe.skipIf(skip)('replicas sharing a PostgreSQL usage store', () => {
  let db: TestPostgres;
  const freshUrl = () => freshDatabase(db, 'replicas');

  async function replicas(url: string, count: number): Promise<Replica[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const ledger = join(tempDir(`gavel-replica-${i}-`), 'ledger.db');
        const srv = await startChild(['--bundles', BUNDLES, '--ledger', ledger, '--workers', '0', '--usage-store', url, '--usage-store-timeout', '1000']);
        return { srv, c: clients(srv.address), ledger };
      }),
    );
  }

  async function stopAll(rs: Replica[]): Promise<void> {
    for (const r of rs) {
      r.c.close();
      r.srv.child.kill('SIGTERM');
    }
    await Promise.all(rs.map((r) => r.srv.exited));
  }

  /** Decision ids recorded in a (stopped) replica's ledger file. */
  function recorded(ledger: string): Set<string> {
    const file = new Database(ledger, { readonly: true });
    const ids = (file.prepare(`SELECT decision_id AS id FROM entries WHERE kind = 'decision'`).all() as Array<{ id: string }>).map((r) => r.id);
    file.close();
    return new Set(ids);
  }

  const charges = async (url: string) =>
    (await queryAt(url, 'SELECT decision_id, state FROM gavel_usage_charges')) as Array<{ decision_id: string; state: string }>;

  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('300 concurrent Decide+Report pairs over three replicas never overspend the team budget; reports land on another replica', async () => {
    const url = await freshUrl();
    const rs = await replicas(url, 3);
    try {
      const results = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const who: Caller = { subject: `replica-user-${i}`, team: 'budget-test', costCenter: 'cc-replicas' };
          const at = rs[i % 3]!;
          const d = await decide(at.c, modelCall(who, 'standard-m', 100, 'hi'));
          if (d.decision !== 'DECISION_ALLOW') return { allowed: false, codes: d.reasons.map((r: { code: string }) => r.code) as string[] };
          const routed = JSON.parse(d.obligations_json.toString()) as { route?: { model?: string } };
          // The report goes to the next replica: any replica settles any decision.
          const receipt = await report(rs[(i + 1) % 3]!.c, d.decision_id, who, routed.route?.model ?? 'standard-m', 1, 90);
          expect(receipt.duplicate).toBe(false);
          return { allowed: true, codes: [] as string[] };
        }),
      );
      const allowed = results.filter((r) => r.allowed).length;
      expect(allowed).toBeGreaterThan(40);
      // Reports landing while later calls are decided free 10 tokens each: at most BUDGET / 91 fit.
      expect(allowed).toBeLessThanOrEqual(Math.floor(BUDGET / 91));
      for (const r of rs) {
        const team = await usageOf(r.c, 'team', 'budget-test');
        expect(team.week.used_tokens).toBe(allowed * 91);
        expect(team.week.used_tokens).toBeLessThanOrEqual(BUDGET);
        expect(team.week.reserved_tokens).toBe(0);
      }
      for (const d of results.filter((r) => !r.allowed)) expect(d.codes).toContain('team_budget_exhausted');
      await stopAll(rs);
      // Every decision is in exactly one replica's ledger; every charge belongs to a recorded decision.
      const ledgers = rs.map((r) => recorded(r.ledger));
      expect(ledgers.reduce((sum, l) => sum + l.size, 0)).toBe(300);
      for (const l of ledgers) expect(l.size).toBe(100);
      const rows = await charges(url);
      expect(rows.length).toBe(allowed);
      for (const row of rows) {
        expect(row.state).toBe('settled');
        expect(ledgers.filter((l) => l.has(row.decision_id)).length).toBe(1);
      }
    } finally {
      await stopAll(rs);
    }
  }, 120_000);

  it('without reports, three replicas allow exactly as many calls as one replica alone', async () => {
    const url = await freshUrl();
    const calls = (i: number) => modelCall({ subject: `exact-user-${i}`, team: 'budget-test', costCenter: 'cc-exact' }, 'standard-m', 100, 'hi');
    const alone = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
    const ac = clients(alone.address);
    let single: number;
    try {
      single = (await Promise.all(Array.from({ length: 120 }, (_, i) => decide(ac, calls(i))))).filter((d) => d.decision === 'DECISION_ALLOW').length;
    } finally {
      ac.close();
      await alone.stop();
    }
    const rs = await replicas(url, 3);
    try {
      const decided = await Promise.all(Array.from({ length: 120 }, (_, i) => decide(rs[i % 3]!.c, calls(i))));
      const allowed = decided.filter((d) => d.decision === 'DECISION_ALLOW').length;
      expect(single).toBe(Math.floor(BUDGET / 101));
      expect(allowed).toBe(single);
      expect((await usageOf(rs[2]!.c, 'team', 'budget-test')).week.reserved_tokens).toBe(allowed * 101);
    } finally {
      await stopAll(rs);
    }
  }, 120_000);

  it('PostgreSQL stopped mid-load: Decides fail closed, health goes NOT_SERVING, and all recovers without restarting gavel', async () => {
    const url = await freshUrl();
    const rs = await replicas(url, 2);
    const health = rs.map((r) => healthClient(r.srv.address));
    try {
      const answered: Array<{ replica: number; id: string }> = [];
      const refused: string[] = [];
      let stopped = false;
      const load = Array.from({ length: 2 }, async (_, worker) => {
        for (let i = 0; i < 400 && !(stopped && refused.length > 20); i++) {
          const r = (i + worker) % 2;
          const who: Caller = { subject: `outage-${worker}-${i}`, team: 'outage-team', costCenter: 'cc-outage' };
          try {
            const d = await decide(rs[r]!.c, modelCall(who, 'standard-m', 100, 'hi'));
            expect(d.receipt.seq).toBeGreaterThan(0);
            answered.push({ replica: r, id: d.decision_id });
          } catch (err) {
            const e = err as { code: number; details: string };
            expect(e.code).toBe(14); // UNAVAILABLE
            expect(e.details).toMatch(/usage/);
            refused.push(e.details);
          }
          if (i === 30 && worker === 0) {
            await db.stop();
            stopped = true;
          }
        }
      });
      await Promise.all(load);
      expect(stopped).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      for (const h of health) await expect.poll(() => h.check(), { timeout: 10_000 }).toBe('NOT_SERVING');
      await db.start();
      for (const h of health) await expect.poll(() => h.check(), { timeout: 15_000 }).toBe('SERVING');
      // Serving again, on the same processes: a call is decided and reserved, and its report retried on the other replica counts once.
      const who: Caller = { subject: 'after-outage', team: 'outage-team', costCenter: 'cc-outage' };
      const d = await decide(rs[0]!.c, modelCall(who, 'standard-m', 100, 'hi'));
      expect(d.decision).toBe('DECISION_ALLOW');
      answered.push({ replica: 0, id: d.decision_id });
      const first = await report(rs[0]!.c, d.decision_id, who, 'standard-m', 1, 90);
      const retried = await report(rs[1]!.c, d.decision_id, who, 'standard-m', 1, 90);
      expect([first.duplicate, retried.duplicate]).toEqual([false, true]);
      expect((await usageOf(rs[1]!.c, 'subject', 'after-outage')).week).toMatchObject({ used_tokens: 91, reserved_tokens: 0 });
      await stopAll(rs);
      // Nothing answered without its entry, and no reservation without its decision.
      const ledgers = rs.map((r) => recorded(r.ledger));
      for (const a of answered) expect(ledgers[a.replica]!.has(a.id)).toBe(true);
      for (const row of await charges(url)) expect(ledgers.some((l) => l.has(row.decision_id))).toBe(true);
    } finally {
      for (const h of health) h.close();
      await stopAll(rs);
    }
  }, 120_000);
});
