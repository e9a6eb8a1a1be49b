import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { PostgresUsageStore } from '../../src/usage/postgres/store.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresUnavailable, queryAt, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { modelCall } from './helpers.js';

/** The engine deciding on the shared store: what happens to a reservation when the ledger or the database fails. */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL decision tests: ${skip}`);

describe.skipIf(skip)('deciding with the PostgreSQL usage store', () => {
  let db: TestPostgres;

  async function core(options: { failCommit?: () => boolean } = {}): Promise<{ core: Runtime; store: PostgresUsageStore; url: string }> {
    const url = await freshDatabase(db, 'decide');
    const c = await startRuntime({
      bundles: BUNDLES,
      ledger: join(tempDir(), 'ledger.db'),
      usageStore: { url, timeoutMs: 800, probeMs: 100 },
      ...(options.failCommit
        ? {
            ledgerFaults: {
              beforeCommit: () => {
                if (options.failCommit!()) throw new Error('disk full (injected)');
              },
            },
          }
        : {}),
    });
    const store = c.parts.usage;
    if (!(store instanceof PostgresUsageStore)) throw new Error('the runtime did not open the PostgreSQL store');
    return { core: c, store, url };
  }

  const decide = (c: Runtime, subject: string, team = 'pg-team') =>
    c.decide({
      policy: '',
      input: { json: Buffer.from(JSON.stringify(modelCall({ subject, team, costCenter: 'cc-pg' }))) },
      requestId: '',
      caller: 'gateway',
    });

  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('an allowed call is reserved in PostgreSQL with its caller, and recorded in the ledger', async () => {
    const { core: c, url } = await core();
    try {
      const d = await decide(c, 'pg-alice');
      expect(d.decision).toBe('allow');
      expect(c.parts.ledger.get(d.decisionId)).toBeDefined();
      const charge = await queryAt(url, `SELECT state, caller, asked_model, tokens FROM gavel_usage_charges WHERE decision_id = '${d.decisionId}'`);
      expect(charge).toEqual([{ state: 'reserved', caller: 'gateway', asked_model: 'standard-m', tokens: '101' }]);
    } finally {
      await c.stop();
    }
  });

  it('an entry the ledger cannot commit leaves no reservation behind in the shared store', async () => {
    let failing = true;
    const { core: c, url } = await core({ failCommit: () => failing });
    try {
      await expect(decide(c, 'pg-bob')).rejects.toMatchObject({ code: 'ledger_unavailable' });
      await expect.poll(async () => (await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_charges'))[0]!.n).toBe(0);
      expect((await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_requests'))[0]!.n).toBe(0);
      failing = false;
      const d = await decide(c, 'pg-bob');
      expect(d.decision).toBe('allow');
      expect((await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_charges'))[0]!.n).toBe(1);
    } finally {
      await c.stop();
    }
  });

  it('a hostile subject is refused closed by the engine, records nothing, and leaves the store up: NUL inside (a control character: no comparison form), or too long', async () => {
    const { core: c, store, url } = await core();
    try {
      for (const [subject, code] of [
        ['nul\u0000inside', 'invalid_input'],
        ['x'.repeat(10_000), 'invalid_input'],
      ] as const) {
        const err = await decide(c, subject).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GavelError);
        expect((err as GavelError).code).toBe(code);
        expect(store.health.ok).toBe(true);
      }
      expect(c.parts.ledger.size).toBe(0);
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_charges')).toEqual([{ n: 0 }]);
      expect((await decide(c, 'pg-ivan')).decision).toBe('allow');
    } finally {
      await c.stop();
    }
  });

  it('a budget locked past the deadline fails that call closed; the store stays healthy and the next call is served', async () => {
    const { core: c, store, url } = await core();
    const holder = new pg.Client({ connectionString: url });
    try {
      await decide(c, 'pg-carol', 'locked-team');
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`SELECT key FROM gavel_usage_keys WHERE key = 'team:locked-team' FOR UPDATE`);
      const err = await decide(c, 'pg-dave', 'locked-team').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GavelError);
      expect((err as GavelError).code).toBe('usage_unavailable');
      expect((err as GavelError).message).toMatch(/locked past the deadline/);
      expect(store.health.ok).toBe(true);
      // Another budget is not held up meanwhile.
      expect((await decide(c, 'pg-erin', 'other-team')).decision).toBe('allow');
      await holder.query('ROLLBACK');
      expect((await decide(c, 'pg-dave', 'locked-team')).decision).toBe('allow');
      // The refused call reserved nothing and recorded nothing.
      expect(Number((await queryAt(url, `SELECT count(*) AS n FROM gavel_usage_charges WHERE subject = 'pg-dave'`))[0]!.n)).toBe(1);
    } finally {
      await holder.end().catch(() => undefined);
      await c.stop();
    }
  });

  it('a database that stops answering fails calls closed past the deadline, health goes down, and it serves again once it answers', async () => {
    const { core: c, store } = await core();
    const postmaster = readFileSync(join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    // The postmaster and its children (every backend), from /proc.
    const pids = () => [
      Number(postmaster),
      ...readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === postmaster;
          } catch {
            return false;
          }
        })
        .map(Number),
    ];
    const signal = (list: number[], sig: NodeJS.Signals) => {
      for (const pid of list) process.kill(pid, sig);
    };
    let frozen: number[] = [];
    try {
      await decide(c, 'pg-frank');
      frozen = pids();
      signal(frozen, 'SIGSTOP');
      const started = Date.now();
      await expect(decide(c, 'pg-grace')).rejects.toMatchObject({ code: 'usage_unavailable' });
      // Bounded by the deadline (800 ms per step), never a hang.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(store.health.ok).toBe(false);
      // While down, calls are refused at once.
      const again = Date.now();
      await expect(decide(c, 'pg-heidi')).rejects.toMatchObject({ code: 'usage_unavailable' });
      expect(Date.now() - again).toBeLessThan(500);
      signal(frozen, 'SIGCONT');
      frozen = [];
      await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true);
      expect((await decide(c, 'pg-grace')).decision).toBe('allow');
    } finally {
      if (frozen.length > 0) signal(frozen, 'SIGCONT');
      await c.stop();
    }
  }, 30_000);
});
