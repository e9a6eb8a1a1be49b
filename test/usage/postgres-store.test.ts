import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';
import { usageConfig } from '../../src/usage/config.js';
import { postgresUsageConfig } from '../../src/usage/postgres/config.js';
import { migrateDatabase, SCHEMA_VERSION } from '../../src/usage/postgres/schema.js';
import { PostgresUsageStore } from '../../src/usage/postgres/store.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { historyKey, scopeKeys, type Reservation, type UsageStore } from '../../src/usage/store.js';
import { freshDatabase, postgresUnavailable, queryAt, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { commitStaged, storeReservation, withoutEntry } from './helpers.js';

/** The shared usage store against a real PostgreSQL server started for this file. */
const T0 = Date.parse('2026-11-18T12:00:00Z');
const alice = { subject: 'alice', team: 'platform', costCenter: 'cc-1' };
const bob = { subject: 'bob', team: 'platform', costCenter: 'cc-2' };

function reservation(id: string, who = alice, over: Partial<Reservation> = {}): Reservation {
  return storeReservation(id, T0, who, over);
}

/** Reserves through a read, as the meter does, and commits the entry (finish true); an embedded store's rows go to `db`. */
async function reserve(store: UsageStore, r: Reservation, decision = 'allow', db?: Database.Database): Promise<void> {
  const read = await store.read([...scopeKeys(r), historyKey(r.subject)]);
  const staged = await read.stage({ request: { decisionId: r.decisionId, subject: r.subject, tool: '', decision, atMs: r.atMs }, reservation: r });
  if (!staged) throw new Error('stale');
  if (db) commitStaged(db, staged);
  else staged.finish(true, []); // a shared store's rows are in PostgreSQL already
  read.end();
}

const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL usage store tests: ${skip}`);

describe.skipIf(skip)('PostgresUsageStore', () => {
  let db: TestPostgres;
  /** A fresh database per test: the schema is created by gavel itself. */
  const freshUrl = () => freshDatabase(db, 'store');
  async function open(url: string, config = {}) {
    return (await PostgresUsageStore.open(postgresUsageConfig(url, { probeMs: 100, timeoutMs: 1500 }), usageConfig(config))).store;
  }

  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('creates its schema once, however many replicas start at once; migrating again changes nothing', async () => {
    const url = await freshUrl();
    const results = await Promise.all([1, 2, 3, 4].map(() => migrateDatabase(url, 5000)));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, SCHEMA_VERSION]);
    expect(results.every((r) => r.to === SCHEMA_VERSION)).toBe(true);
    expect(await migrateDatabase(url, 5000)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [], created: [] });
    const store = await open(url);
    await store.close();
  });

  it('refuses a database newer than it knows, and a replica whose time zone differs from the store’s', async () => {
    const url = await freshUrl();
    const first = await open(url, { timeZone: 'Europe/Paris' });
    await first.close();
    await expect(open(url, { timeZone: 'UTC' })).rejects.toThrow(/time zone Europe\/Paris.*configured for UTC/);
    await expect(open(url, { timeZone: 'UTC' })).rejects.toMatchObject({ code: 'config_invalid' });
    await queryAt(url, 'INSERT INTO gavel_schema_version (version) VALUES (99)');
    await expect(open(url, { timeZone: 'Europe/Paris' })).rejects.toThrow(/schema is at version 99, newer than this gavel knows/);
    await expect(open(url, { timeZone: 'Europe/Paris' })).rejects.toMatchObject({ code: 'config_invalid' });
    // Unreachable at open: usage_unavailable naming the store without its password.
    const down = await open('postgres://gavel:hunter2@127.0.0.1:1/gavel').catch((e: unknown) => e as GavelError);
    expect(down).toMatchObject({ code: 'usage_unavailable' });
    expect((down as GavelError).message).toMatch(/usage store at postgres:\/\/gavel:\*\*\*@127\.0\.0\.1:1\/gavel could not be opened/);
  });

  it('gives the same totals, settlements and refusals as the embedded store for the same calls', async () => {
    const url = await freshUrl();
    const shared = await open(url);
    const embeddedDb = new Database(':memory:');
    const embedded = new SqliteUsageStore(embeddedDb, usageConfig());
    try {
      for (const store of [shared, embedded] as UsageStore[]) {
        store instanceof PostgresUsageStore && store.attach('ledger-a');
        const db = store === embedded ? embeddedDb : undefined;
        await reserve(store, reservation('d1'), 'allow', db);
        await reserve(store, reservation('d2', bob, { tier: 'premium', model: 'frontier-xl', tokens: 900, costMicros: 90_000 }), 'allow', db);
        await reserve(store, reservation('d3', alice, { atMs: T0 - 3 * 86_400_000, expiresMs: T0 + 1 }), 'allow', db);
        // A team and a cost center named like a subject: each scope counts only its own.
        await reserve(store, reservation('d4', { subject: 'carol', team: 'alice', costCenter: 'bob' }, { tokens: 7, maxOutputTokens: null }), 'allow', db);
      }
      const settle = { ...alice, decisionId: 'd1', model: 'standard-m', tier: 'standard', inputTokens: 40, outputTokens: 200, costMicros: 3_600, atMs: T0 };
      const results = [];
      for (const store of [shared, embedded] as UsageStore[]) {
        const written = withoutEntry(store === embedded ? embeddedDb : undefined);
        results.push([
          await store.settle(settle, written),
          await store.settle(settle, written),
          await store.settle({ ...settle, outputTokens: 201 }, written),
          await store.settle({ ...settle, decisionId: 'nope' }, written),
        ]);
      }
      expect(results[0]).toEqual(results[1]);
      expect(results[0]!.map((r) => r.kind)).toEqual(['settled', 'duplicate', 'conflict', 'unknown']);
      for (const at of [T0 + 1000, T0 + 700_000]) {
        for (const [scope, key] of [
          ['subject', 'alice'],
          ['team', 'platform'],
          ['cost_center', 'cc-2'],
        ] as const) {
          const a = await shared.usage(scope, key, at);
          expect(a).toEqual(await embedded.usage(scope, key, at));
          expect(await shared.usage(scope, key, at, 'd2')).toEqual(await embedded.usage(scope, key, at, 'd2'));
        }
      }
      expect((await shared.usage('team', 'platform', T0 + 1000)).week).toMatchObject({ used_tokens: 240, reserved_tokens: 900 });
      expect(await shared.history('alice', T0 + 1000)).toEqual(await embedded.history('alice', T0 + 1000));
      expect(await shared.charge('d1')).toEqual(await embedded.charge('d1'));
      expect(await shared.charge('d2')).toEqual(await embedded.charge('d2'));
      expect(await shared.charge('d4')).toEqual(await embedded.charge('d4'));
      expect(await shared.charge('d4')).toMatchObject({ maxOutputTokens: null, inputTokens: null, outputTokens: null });
      for (const [scope, key] of [
        ['subject', 'alice'],
        ['team', 'alice'],
        ['cost_center', 'bob'],
        ['subject', 'bob'],
      ] as const) {
        expect(await shared.usage(scope, key, T0 + 1000)).toEqual(await embedded.usage(scope, key, T0 + 1000));
      }
      expect((await shared.usage('team', 'alice', T0 + 1000)).week.reserved_tokens).toBe(7);
      // Through one decision's read of all three scopes at once, as the meter reads: subject bob and cost center bob are two keys.
      const mixed = { subject: 'bob', team: 'alice', costCenter: 'bob' };
      const read = await shared.read([...scopeKeys(mixed), historyKey('bob')]);
      for (const [scope, key] of [
        ['subject', 'bob'],
        ['team', 'alice'],
        ['cost_center', 'bob'],
      ] as const) {
        expect(await read.usage(scope, key, T0 + 1000)).toEqual(await embedded.usage(scope, key, T0 + 1000));
      }
      read.end();
      await shared.release('d2');
      await embedded.release('d2');
      expect(await shared.usage('team', 'platform', T0 + 1000)).toEqual(await embedded.usage('team', 'platform', T0 + 1000));
    } finally {
      await shared.close();
    }
  });

  it('a read holds its keys: another replica’s read of the same budget waits until the first has staged', async () => {
    const url = await freshUrl();
    const [a, b] = [await open(url), await open(url)];
    a.attach('ledger-a');
    b.attach('ledger-b');
    try {
      const keys = [...scopeKeys(alice), historyKey(alice.subject)];
      const first = await a.read(keys);
      expect((await first.usage('team', 'platform', T0)).week.tokens).toBe(0);
      const order: string[] = [];
      const second = b.read(keys).then(async (read) => {
        const u = await read.usage('team', 'platform', T0);
        order.push('second read');
        read.end();
        return u;
      });
      await new Promise((r) => setTimeout(r, 200));
      order.push('first staged');
      const staged = await first.stage({
        request: { decisionId: 'x1', subject: 'alice', tool: '', decision: 'allow', atMs: T0 },
        reservation: reservation('x1'),
      });
      staged!.finish(true, []);
      // The second read saw the first one's reservation: it could not have read before it committed.
      expect((await second).week.reserved_tokens).toBe(300);
      expect(order).toEqual(['first staged', 'second read']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a report waits for a decision holding the same budget, so no decision is evaluated on totals that change under it', async () => {
    const url = await freshUrl();
    const [a, b] = [await open(url), await open(url)];
    a.attach('ledger-a');
    b.attach('ledger-b');
    try {
      await reserve(a, reservation('earlier'));
      const read = await b.read([...scopeKeys(bob), historyKey(bob.subject)]);
      // bob shares alice's team: the earlier call's settlement changes what this read saw.
      expect((await read.usage('team', 'platform', T0)).week.reserved_tokens).toBe(300);
      const order: string[] = [];
      const settled = a
        .settle(
          { ...alice, decisionId: 'earlier', model: 'standard-m', tier: 'standard', inputTokens: 40, outputTokens: 200, costMicros: 3_600, atMs: T0 },
          withoutEntry(),
        )
        .then((r) => {
          order.push('settled');
          return r;
        });
      await new Promise((r) => setTimeout(r, 200));
      order.push('decision staged');
      const staged = await read.stage({
        request: { decisionId: 'later', subject: 'bob', tool: '', decision: 'allow', atMs: T0 },
        reservation: reservation('later', bob),
      });
      staged!.finish(true, []);
      expect((await settled).kind).toBe('settled');
      expect(order).toEqual(['decision staged', 'settled']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('one call’s data the database refuses fails that call alone: the store stays up for the others', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      const odd = { subject: 'nul\u0000inside', team: 'platform', costCenter: 'cc-1' };
      await expect(reserve(store, reservation('odd', odd))).rejects.toMatchObject({ code: 'usage_unavailable' });
      expect(store.health.ok).toBe(true);
      await reserve(store, reservation('fine'));
      expect(await store.charge('fine')).toMatchObject({ state: 'reserved' });
      // Quotes and backslashes are data, however they are sent.
      const quoted = { subject: "o'brien\\'; DROP TABLE gavel_usage_keys; --", team: 'te\\am', costCenter: "cc'" };
      await reserve(store, reservation('quoted', quoted, { caller: "ga'te\\way" }));
      expect(await store.charge('quoted')).toMatchObject({ ...quoted, caller: "ga'te\\way", state: 'reserved' });
      expect((await store.usage('team', 'te\\am', T0)).week.reserved_tokens).toBe(300);
      expect((await store.history(quoted.subject, T0 + 1)).requests_last_minute).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('a read stages a denied call’s request alone, refuses a second stage, and reads only its own subject’s history', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      const read = await store.read([...scopeKeys(alice), historyKey(alice.subject)]);
      await expect(read.history('mallory', T0)).rejects.toThrow(/history of mallory was not part of this read/);
      const staged = await read.stage({ request: { decisionId: 'denied', subject: 'alice', tool: 'search', decision: 'deny', atMs: T0 } });
      staged!.finish(true, []);
      await expect(read.stage({ request: { decisionId: 'again', subject: 'alice', tool: '', decision: 'allow', atMs: T0 } })).rejects.toThrow(/ended/);
      expect(await store.charge('denied')).toBeUndefined();
      expect(await store.history('alice', T0 + 1)).toEqual({ requests_last_minute: 1, denials_last_hour: 1, tool_calls_last_minute: { search: 1 } });
      expect(await store.history('alice', T0 + 61_000)).toEqual({ requests_last_minute: 0, denials_last_hour: 1, tool_calls_last_minute: {} });
    } finally {
      await store.close();
    }
  });

  it('a release with another entry frees the reservation once that entry commits, and keeps the request’s history', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      await reserve(store, reservation('held'));
      store.stagedRelease('held').finish(false, []);
      await new Promise((r) => setTimeout(r, 100));
      expect(await store.charge('held')).toMatchObject({ state: 'reserved' });
      store.stagedRelease('held').finish(true, []);
      await expect.poll(async () => store.charge('held')).toBeUndefined();
      expect((await store.history('alice', T0 + 1)).requests_last_minute).toBe(1);
      expect((await store.usage('team', 'platform', T0 + 1)).week.reserved_tokens).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('pruning drops what no read counts: old requests, old minute buckets, reservations expired a day ago', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      const HOUR = 3_600_000;
      await reserve(store, reservation('old', alice, { atMs: T0 - 3 * HOUR, expiresMs: T0 - 25 * HOUR }));
      await reserve(store, reservation('recent', alice, { atMs: T0 - HOUR, expiresMs: T0 - HOUR }));
      await reserve(store, reservation('settle-me', bob, { atMs: T0 - 3 * HOUR, expiresMs: T0 + HOUR }));
      await store.settle(
        { ...bob, decisionId: 'settle-me', model: 'standard-m', tier: 'standard', inputTokens: 1, outputTokens: 9, costMicros: 10, atMs: T0 },
        withoutEntry(),
      );
      await reserve(store, reservation('lately', bob, { atMs: T0 - 10 * 60_000, expiresMs: T0 + HOUR }));
      await store.settle(
        { ...bob, decisionId: 'lately', model: 'standard-m', tier: 'standard', inputTokens: 1, outputTokens: 4, costMicros: 5, atMs: T0 },
        withoutEntry(),
      );
      await store.pruneOld(T0);
      expect(await store.charge('old')).toBeUndefined();
      expect(await store.charge('recent')).toMatchObject({ state: 'reserved' });
      expect(await store.charge('settle-me')).toMatchObject({ state: 'settled' });
      const requests = await queryAt(url, 'SELECT decision_id FROM gavel_usage_requests ORDER BY decision_id');
      expect(requests.map((r) => r.decision_id)).toEqual(['lately', 'recent']);
      // The minute buckets of the call settled 3 hours ago are gone (its day bucket still counts it); those of 10 minutes ago stay.
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_minute')).toEqual([{ n: 3 }]);
      expect((await store.usage('subject', 'bob', T0)).day.used_tokens).toBe(15);
      expect((await store.usage('subject', 'bob', T0)).rolling.used_tokens).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('usage key rows gone from the database fail the call closed; the next call puts them back', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      await reserve(store, reservation('first'));
      await queryAt(url, 'DELETE FROM gavel_usage_keys');
      const read = await store.read([...scopeKeys(alice), historyKey(alice.subject)]);
      await expect(read.usage('team', 'platform', T0)).rejects.toThrow(/usage key rows are missing/);
      read.end();
      expect(store.health.ok).toBe(true);
      await reserve(store, reservation('second'));
      expect(await store.charge('second')).toMatchObject({ state: 'reserved' });
    } finally {
      await store.close();
    }
  });

  it('a connection cut while a decision holds it is an error for that call, not a crash; a closed store refuses', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      const read = await store.read([...scopeKeys(alice), historyKey(alice.subject)]);
      await read.usage('team', 'platform', T0);
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gavel' AND state LIKE 'idle in transaction%'`);
      await expect(read.stage({ request: { decisionId: 'cut', subject: 'alice', tool: '', decision: 'allow', atMs: T0 } })).rejects.toMatchObject({
        code: 'usage_unavailable',
      });
      await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true);
      await reserve(store, reservation('after-cut'));
      expect(await store.charge('cut')).toBeUndefined();
    } finally {
      await store.close();
    }
    await store.close();
    await expect(store.read([historyKey('alice')])).rejects.toThrow(/usage store is closed/);
    await expect(store.usage('team', 'platform', T0)).rejects.toMatchObject({ code: 'usage_unavailable' });
  });

  it('refuses misuse by name: shared approvals before attach or twice, a read staged after its end, a history not read', async () => {
    const url = await freshUrl();
    const store = await open(url);
    const approvalsOptions = { pollMs: 1000, receiptOf: () => undefined, endedHere: () => false, onError: () => undefined };
    try {
      expect(() => store.approvals(approvalsOptions)).toThrow('attach the ledger and its signer before opening shared approvals');
      store.attach('ledger-a');
      // attach without a signer: still no approvals.
      expect(() => store.approvals(approvalsOptions)).toThrow('attach the ledger and its signer before opening shared approvals');
      const read = await store.read([...scopeKeys(alice), historyKey(alice.subject)]);
      await expect(read.history('bob', T0)).rejects.toThrow('history of bob was not part of this read');
      read.end();
      await expect(read.stage({ request: { decisionId: 'late', subject: 'alice', tool: '', decision: 'allow', atMs: T0 } })).rejects.toThrow(
        'this usage read has ended',
      );
      expect(await store.charge('late')).toBeUndefined();
    } finally {
      await store.close();
    }
    const signed = await open(url);
    try {
      // A signer without a ledger to name is no attachment either.
      signed.attach('', { sign: () => 'sig', verify: () => false });
      expect(() => signed.approvals(approvalsOptions)).toThrow('attach the ledger and its signer before opening shared approvals');
      signed.attach('ledger-b', { sign: () => 'sig', verify: () => false });
      signed.approvals(approvalsOptions).close();
      expect(() => signed.approvals(approvalsOptions)).toThrow('the shared approval store is already open');
    } finally {
      await signed.close();
    }
  });

  it('an entry given up takes its reservation back; a read ended without staging writes nothing', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    try {
      const keys = [...scopeKeys(alice), historyKey(alice.subject)];
      const read = await store.read(keys);
      const staged = await read.stage({
        request: { decisionId: 'g1', subject: 'alice', tool: '', decision: 'allow', atMs: T0 },
        reservation: reservation('g1'),
      });
      expect((await store.usage('team', 'platform', T0)).week.reserved_tokens).toBe(300);
      staged!.finish(false, []);
      await expect.poll(async () => (await store.usage('team', 'platform', T0)).week.reserved_tokens).toBe(0);
      expect(await store.charge('g1')).toBeUndefined();
      expect((await store.history('alice', T0 + 1)).requests_last_minute).toBe(0);
      const ended = await store.read(keys);
      ended.end();
      ended.end();
      expect((await store.history('alice', T0 + 1)).requests_last_minute).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('deletes at start the reservations its ledger never recorded, and only its own', async () => {
    const url = await freshUrl();
    const [a, b] = [await open(url), await open(url)];
    a.attach('ledger-a');
    b.attach('ledger-b');
    try {
      await reserve(a, reservation('recorded'));
      await reserve(a, reservation('lost'));
      await reserve(b, reservation('other-replica'));
      expect(await a.reconcile((id) => id === 'recorded')).toBe(1);
      expect(await a.charge('lost')).toBeUndefined();
      expect(await a.charge('recorded')).toMatchObject({ state: 'reserved' });
      expect(await a.charge('other-replica')).toMatchObject({ state: 'reserved' });
      // The lost decision's request row goes too: history counts only recorded decisions (this replica's and the other's).
      expect((await a.history('alice', T0 + 1)).requests_last_minute).toBe(2);
      expect(await a.reconcile((id) => id === 'recorded')).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails closed while the database is down and recovers on its own when it returns', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-a');
    const changes: boolean[] = [];
    store.health.onChange((ok) => changes.push(ok));
    try {
      await reserve(store, reservation('before'));
      await db.stop();
      const keys = [...scopeKeys(alice), historyKey(alice.subject)];
      const down = await store.read(keys).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(down).toBeInstanceOf(GavelError);
      expect((down as GavelError).code).toBe('usage_unavailable');
      expect(store.health.ok).toBe(false);
      expect(store.health.reason).not.toContain(new URL(db.url).password);
      await expect(store.charge('before')).rejects.toThrow(`the usage store is unavailable (${store.health.reason}); failing closed`);
      // While down, each call fails at once with the same code.
      await expect(store.usage('team', 'platform', T0)).rejects.toMatchObject({ code: 'usage_unavailable' });
      // A release refused while down is kept, and done once the database is back.
      await expect(store.release('before')).rejects.toMatchObject({ code: 'usage_unavailable' });
      await db.start();
      await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true);
      expect(changes).toEqual([false, true]);
      await expect.poll(async () => (await store.usage('team', 'platform', T0)).week.reserved_tokens, { timeout: 10_000 }).toBe(0);
      expect(await store.charge('before')).toBeUndefined();
      await reserve(store, reservation('after'));
      expect((await store.usage('team', 'platform', T0)).week.reserved_tokens).toBe(300);
    } finally {
      await store.close();
    }
  }, 60_000);
});
