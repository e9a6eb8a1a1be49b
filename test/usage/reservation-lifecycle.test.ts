import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { historyKey, usageKey, type Reservation, type RequestRow } from '../../src/usage/store.js';
import { commitStaged, storeReservation, withoutEntry } from './helpers.js';

/**
 * A reservation's life in the SQLite usage store, through its public methods:
 * staged (counted at once, before any write), applied inside the ledger's
 * transaction, finished, settled or released; and which usage versions each
 * step moves, since a decision that read a moved version must decide again.
 */

const T0 = Date.parse('2026-11-18T12:00:00Z'); // a Wednesday, mid-day, mid-month
const alice = { subject: 'alice', team: 'platform', costCenter: 'cc-1' };
const bob = { subject: 'bob', team: 'research', costCenter: 'cc-2' };

/** Each store's database, for the rows a test writes without the ledger. */
const dbOf = new WeakMap<SqliteUsageStore, Database.Database>();

function store(config = {}) {
  const db = new Database(':memory:');
  const s = new SqliteUsageStore(db, usageConfig(config));
  dbOf.set(s, db);
  return { db, store: s };
}

/** A settlement's rows written straight to the store's database, with no ledger entry. */
const written = (s: SqliteUsageStore) => withoutEntry(dbOf.get(s));

function reservation(id: string, over: Partial<Reservation> = {}): Reservation {
  return storeReservation(id, T0, alice, over);
}

function request(r: { decisionId: string; subject: string; atMs: number }, over: Partial<RequestRow> = {}): RequestRow {
  return { decisionId: r.decisionId, subject: r.subject, tool: '', decision: 'allow', atMs: r.atMs, ...over };
}

/** Stages, applies and finishes, as the ledger does for a decision that commits. */
function commit(s: SqliteUsageStore, r: Reservation): void {
  const w = s.stage({ request: request(r), reservation: r });
  commitStaged(dbOf.get(s)!, w);
}

const scopes = [
  ['subject', 'alice'],
  ['team', 'platform'],
  ['cost_center', 'cc-1'],
] as const;

describe('a staged reservation', () => {
  it('counts in every scope at once, before it is written', async () => {
    const { db, store: s } = store();
    s.stage({ request: request(reservation('d1')), reservation: reservation('d1') });
    for (const [scope, key] of scopes) {
      const u = await s.usage(scope, key, T0 + 1000);
      for (const w of ['day', 'week', 'month', 'rolling'] as const) {
        expect(u[w]).toEqual({ tokens: 300, cost: 0.0045, used_tokens: 0, reserved_tokens: 300, used_cost: 0, reserved_cost: 0.0045 });
      }
      expect(Object.keys(u.by_tier)).toEqual(['standard']);
    }
    expect(db.prepare('SELECT COUNT(*) AS n FROM usage_charges').get()).toEqual({ n: 0 });
    expect(await s.charge('d1')).toBeUndefined();
  });

  it('counts only for its own keys', async () => {
    const { store: s } = store();
    s.stage({ request: request(reservation('d1')), reservation: reservation('d1') });
    for (const [scope, key] of [
      ['subject', 'bob'],
      ['team', 'research'],
      ['cost_center', 'cc-2'],
      ['team', 'alice'],
      ['cost_center', 'platform'],
    ] as const) {
      expect((await s.usage(scope, key, T0 + 1000)).month.tokens).toBe(0);
    }
  });

  it('stops counting at its expiry instant, not after it', async () => {
    const { store: s } = store();
    s.stage({ request: request(reservation('d1')), reservation: reservation('d1', { expiresMs: T0 + 5000 }) });
    expect((await s.usage('subject', 'alice', T0 + 4999)).day.reserved_tokens).toBe(300);
    expect((await s.usage('subject', 'alice', T0 + 5000)).day.reserved_tokens).toBe(0);
  });

  it('counts only in the windows it falls in (the rolling window is the last hour)', async () => {
    const { store: s } = store();
    const at = T0 - 2 * 3_600_000; // two hours earlier: today, but outside the rolling hour
    s.stage({ request: request(reservation('d1', { atMs: at })), reservation: reservation('d1', { atMs: at, expiresMs: T0 + 60_000 }) });
    const u = await s.usage('subject', 'alice', T0);
    expect(u.day.reserved_tokens).toBe(300);
    expect(u.rolling.reserved_tokens).toBe(0);
  });

  it('is gone when its transaction ends without writing it (finished false, its rows never written)', async () => {
    const { db, store: s } = store();
    const w = s.stage({ request: request(reservation('d1')), reservation: reservation('d1') });
    w.finish(false, []);
    expect((await s.usage('team', 'platform', T0)).day.tokens).toBe(0);
    expect(db.prepare('SELECT COUNT(*) AS n FROM usage_requests').get()).toEqual({ n: 0 });
  });

  it('once applied and finished, is counted once, from the table', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    expect((await s.usage('subject', 'alice', T0 + 1000)).day).toMatchObject({ reserved_tokens: 300, tokens: 300 });
    expect(await s.charge('d1')).toEqual({
      ...alice,
      decisionId: 'd1',
      model: 'standard-m',
      tier: 'standard',
      state: 'reserved',
      tokens: 300,
      costMicros: 4_500,
      inputTokens: null,
      outputTokens: null,
      atMs: T0,
      maxOutputTokens: 256,
      estimatedInputTokens: 44,
      caller: 'gateway',
      askedModel: 'standard-m',
    });
  });

  it('a stored reservation also stops counting at its expiry', async () => {
    const { store: s } = store();
    commit(s, reservation('d1', { expiresMs: T0 + 5000 }));
    expect((await s.usage('cost_center', 'cc-1', T0 + 4999)).day.reserved_tokens).toBe(300);
    expect((await s.usage('cost_center', 'cc-1', T0 + 5000)).day.reserved_tokens).toBe(0);
  });

  it('without a stated max_tokens, is stored with no output limit', async () => {
    const { store: s } = store();
    commit(s, reservation('d1', { maxOutputTokens: null }));
    expect((await s.charge('d1'))!.maxOutputTokens).toBeNull();
  });

  it('sums per tier, and the totals are the sum of the tiers', async () => {
    const { store: s } = store();
    commit(s, reservation('d1', { tier: 'standard', tokens: 100, costMicros: 1_000_001 }));
    s.stage({ request: request(reservation('d2')), reservation: reservation('d2', { tier: 'premium', tokens: 10, costMicros: 2_000_002 }) });
    const u = await s.usage('subject', 'alice', T0 + 1000);
    expect(Object.keys(u.by_tier)).toEqual(['premium', 'standard']);
    expect(u.by_tier.premium!.day.reserved_tokens).toBe(10);
    expect(u.by_tier.standard!.day.reserved_cost).toBe(1.000001);
    expect(u.day).toEqual({ tokens: 110, cost: 3.000003, used_tokens: 0, reserved_tokens: 110, used_cost: 0, reserved_cost: 3.000003 });
  });
});

describe('versions a decision read', () => {
  const aliceKeys = [usageKey('subject', 'alice'), usageKey('team', 'platform'), usageKey('cost_center', 'cc-1'), historyKey('alice')];

  it('a reservation staged for the same budgets makes an earlier snapshot stale; another subject’s does not', () => {
    const { store: s } = store();
    const before = s.snapshot(aliceKeys);
    expect(s.isCurrent(before)).toBe(true);
    s.stage({ request: request({ ...bob, decisionId: 'b1', atMs: T0 }), reservation: reservation('b1', { ...bob }) });
    expect(s.isCurrent(before)).toBe(true);
    s.stage({ request: request(reservation('a1')), reservation: reservation('a1') });
    expect(s.isCurrent(before)).toBe(false);
    expect(s.isCurrent(s.snapshot(aliceKeys))).toBe(true);
  });

  for (const [scope, key] of scopes) {
    it(`a reservation moves the ${scope} budget`, () => {
      const { store: s } = store();
      const before = s.snapshot([usageKey(scope, key)]);
      s.stage({ request: request(reservation('a1')), reservation: reservation('a1') });
      expect(s.isCurrent(before)).toBe(false);
    });
  }

  it('a request without a reservation moves its subject’s history but no budget', () => {
    const { store: s } = store();
    const budgets = s.snapshot(aliceKeys.slice(0, 3));
    const history = s.snapshot([historyKey('alice')]);
    s.stage({ request: request({ ...alice, decisionId: 'r1', atMs: T0 }) });
    expect(s.isCurrent(budgets)).toBe(true);
    expect(s.isCurrent(history)).toBe(false);
  });

  it('a settlement moves the budgets; a duplicate report, a conflict and an unknown id do not', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    let snap = s.snapshot(aliceKeys.slice(0, 3));
    const settlement = { ...alice, decisionId: 'd1', model: 'standard-m', tier: 'standard', inputTokens: 40, outputTokens: 200, costMicros: 3_120, atMs: T0 };
    expect(await s.settle(settlement, written(s))).toEqual({ kind: 'settled' });
    expect(s.isCurrent(snap)).toBe(false);
    snap = s.snapshot(aliceKeys.slice(0, 3));
    expect(await s.settle(settlement, written(s))).toEqual({ kind: 'duplicate', tokens: 240, costMicros: 3_120 });
    expect(await s.settle({ ...settlement, costMicros: 3_121 }, written(s))).toMatchObject({ kind: 'conflict' });
    expect(await s.settle({ ...settlement, decisionId: 'nope' }, written(s))).toEqual({ kind: 'unknown' });
    expect(s.isCurrent(snap)).toBe(true);
  });

  it('a release moves the budgets only when it drops a live reservation', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    const snap = s.snapshot(aliceKeys.slice(0, 3));
    await s.release('unknown-id');
    expect(s.isCurrent(snap)).toBe(true);
    await s.release('d1');
    expect(s.isCurrent(snap)).toBe(false);
  });
});

describe('settling a reservation', () => {
  const settlement = (over = {}) => ({
    ...alice,
    decisionId: 'd1',
    model: 'standard-m',
    tier: 'standard',
    inputTokens: 40,
    outputTokens: 200,
    costMicros: 3_120,
    atMs: T0,
    ...over,
  });

  it('replaces the estimate by the reported numbers, as used usage at the decision’s time', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await s.settle(settlement(), written(s));
    expect(await s.charge('d1')).toMatchObject({ state: 'settled', tokens: 240, costMicros: 3_120, inputTokens: 40, outputTokens: 200, atMs: T0 });
    for (const [scope, key] of scopes) {
      const u = await s.usage(scope, key, T0 + 1000);
      expect(u.day).toEqual({ tokens: 240, cost: 0.00312, used_tokens: 240, reserved_tokens: 0, used_cost: 0.00312, reserved_cost: 0 });
      expect(u.rolling.used_tokens).toBe(240);
    }
    // Settled usage does not expire with the reservation's TTL.
    expect((await s.usage('subject', 'alice', T0 + 3_600_000)).day.used_tokens).toBe(240);
  });

  it('a report for a tier-down records the model and tier that ran', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await s.settle(settlement({ model: 'small-s', tier: 'economy' }), written(s));
    expect(await s.charge('d1')).toMatchObject({ model: 'small-s', tier: 'economy' });
    const u = await s.usage('team', 'platform', T0 + 1000);
    expect(Object.keys(u.by_tier)).toEqual(['economy']);
  });

  it('the same report again is a duplicate carrying the settled numbers; a changed one is a conflict, whichever number changed', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await s.settle(settlement(), written(s));
    expect(await s.settle(settlement(), written(s))).toEqual({ kind: 'duplicate', tokens: 240, costMicros: 3_120 });
    for (const change of [{ inputTokens: 41 }, { outputTokens: 199 }, { costMicros: 3_000 }]) {
      expect(await s.settle(settlement(change), written(s))).toEqual({
        kind: 'conflict',
        message: 'usage for decision d1 was already reported with different numbers',
      });
    }
    expect((await s.usage('subject', 'alice', T0 + 1000)).day.used_tokens).toBe(240);
  });

  it('settling the same reservation twice never adds it twice', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await Promise.all([s.settle(settlement(), written(s)), s.settle(settlement(), written(s))]);
    expect((await s.usage('subject', 'alice', T0 + 1000)).day.used_tokens).toBe(240);
  });
});

describe('releasing a reservation', () => {
  it('drops a live reservation at once', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await s.release('d1');
    expect(await s.charge('d1')).toBeUndefined();
    expect((await s.usage('subject', 'alice', T0 + 1000)).day.tokens).toBe(0);
  });

  it('never drops settled usage', async () => {
    const { store: s } = store();
    commit(s, reservation('d1'));
    await s.settle({ ...alice, decisionId: 'd1', model: 'standard-m', tier: 'standard', inputTokens: 1, outputTokens: 2, costMicros: 3, atMs: T0 }, written(s));
    await s.release('d1');
    expect(await s.charge('d1')).toMatchObject({ state: 'settled', tokens: 3 });
  });
});

describe('request history with staged requests', () => {
  it('counts staged requests, denials and tool calls of the subject in their windows', async () => {
    const { store: s } = store();
    const r = (id: string, atMs: number, over: Partial<RequestRow> = {}) =>
      s.stage({ request: { decisionId: id, subject: 'alice', tool: '', decision: 'allow', atMs, ...over } });
    r('now-tool', T0 - 1000, { tool: 'search' });
    r('now-tool-2', T0 - 2000, { tool: 'search', decision: 'deny' });
    r('edge-minute', T0 - 60_000, { tool: 'mail' });
    r('old-deny', T0 - 30 * 60_000, { decision: 'deny', tool: 'search' });
    r('edge-hour', T0 - 3_600_000, { decision: 'deny' });
    r('too-old', T0 - 3_600_001, { decision: 'deny' });
    r('other', T0, { subject: 'bob', tool: 'search', decision: 'deny' } as Partial<RequestRow>);
    expect(await s.history('alice', T0)).toEqual({ requests_last_minute: 3, denials_last_hour: 3, tool_calls_last_minute: { search: 2, mail: 1 } });
  });

  it('counts written requests the same way', async () => {
    const { store: s } = store();
    const w = (id: string, atMs: number, over: Partial<RequestRow> = {}) => {
      const staged = s.stage({ request: { decisionId: id, subject: 'alice', tool: '', decision: 'allow', atMs, ...over } });
      commitStaged(dbOf.get(s)!, staged);
    };
    w('a', T0 - 1000, { tool: 'search' });
    w('b', T0 - 60_000, { tool: 'search', decision: 'deny' });
    w('c', T0 - 60_001, { tool: 'mail', decision: 'deny' });
    w('d', T0 - 3_600_001, { decision: 'deny' });
    expect(await s.history('alice', T0)).toEqual({ requests_last_minute: 2, denials_last_hour: 2, tool_calls_last_minute: { search: 2 } });
    expect(await s.history('nobody', T0)).toEqual({ requests_last_minute: 0, denials_last_hour: 0, tool_calls_last_minute: {} });
  });

  it('old request rows are pruned every 1000 writes (history never looks back more than an hour)', () => {
    const { db, store: s } = store();
    const count = () => (db.prepare('SELECT COUNT(*) AS n FROM usage_requests').get() as { n: number }).n;
    const write = (id: string, atMs: number) => {
      const staged = s.stage({ request: { decisionId: id, subject: 'alice', tool: '', decision: 'allow', atMs } });
      commitStaged(dbOf.get(s)!, staged);
    };
    write('old', T0 - 2 * 3_600_000 - 1);
    write('kept', T0 - 2 * 3_600_000);
    for (let i = 0; i < 997; i++) write(`n${i}`, T0);
    expect(count()).toBe(999);
    write('thousandth', T0);
    expect(count()).toBe(999);
    expect(db.prepare(`SELECT decision_id FROM usage_requests WHERE decision_id IN ('old', 'kept')`).all()).toEqual([{ decision_id: 'kept' }]);
    // The next prune is another 1000 writes away.
    write('after', T0 + 3 * 3_600_000);
    expect(count()).toBe(1000);
  });
});

describe('edges of the reservation store', () => {
  it('a staged reservation made at the very start of the day counts in that day', async () => {
    const { store: s } = store();
    const midnight = Date.parse('2026-11-18T00:00:00Z');
    s.stage({ request: request(reservation('d1', { atMs: midnight })), reservation: reservation('d1', { atMs: midnight, expiresMs: midnight + 600_000 }) });
    expect((await s.usage('subject', 'alice', midnight + 1000)).day.reserved_tokens).toBe(300);
  });

  it('a staged request without a tool is not counted as a tool call', async () => {
    const { store: s } = store();
    s.stage({ request: { decisionId: 'm1', subject: 'alice', tool: '', decision: 'allow', atMs: T0 - 1000 } });
    s.stage({ request: { decisionId: 't1', subject: 'alice', tool: 'search', decision: 'allow', atMs: T0 - 1000 } });
    expect(await s.history('alice', T0)).toEqual({ requests_last_minute: 2, denials_last_hour: 0, tool_calls_last_minute: { search: 1 } });
  });

  it('each subject has its own history version', () => {
    const { store: s } = store();
    const alices = s.snapshot([historyKey('alice')]);
    s.stage({ request: { decisionId: 'b1', subject: 'bob', tool: '', decision: 'allow', atMs: T0 } });
    expect(s.isCurrent(alices)).toBe(true);
    expect(historyKey('alice')).not.toBe(historyKey('bob'));
    expect(historyKey('alice')).not.toBe(usageKey('subject', 'alice'));
  });

  it('per-minute usage older than two rolling windows is pruned with the requests', async () => {
    const { db, store: s } = store({ rollingMinutes: 60 });
    const minutes = () =>
      (db.prepare('SELECT minute FROM usage_minute WHERE scope = ? ORDER BY minute').all('subject') as Array<{ minute: number }>).map((r) => r.minute);
    for (const [id, atMs] of [
      ['old', T0 - 2 * 3_600_000 - 60_000],
      ['kept', T0 - 90 * 60_000],
    ] as const) {
      commit(s, reservation(id, { atMs }));
      await s.settle({ ...alice, decisionId: id, model: 'standard-m', tier: 'standard', inputTokens: 1, outputTokens: 1, costMicros: 1, atMs }, written(s));
    }
    expect(minutes()).toHaveLength(2);
    const request = (i: number) => s.stage({ request: { decisionId: `r${i}`, subject: 'bob', tool: '', decision: 'allow', atMs: T0 } });
    // Two staged above, 997 here: the thousandth's entry is given up, its prune with it; the next one prunes instead.
    for (let i = 0; i < 997; i++) commitStaged(dbOf.get(s)!, request(i));
    request(997).finish(false, []);
    expect(minutes()).toHaveLength(2);
    commitStaged(dbOf.get(s)!, request(998));
    expect(minutes()).toEqual([Math.floor((T0 - 90 * 60_000) / 60_000)]);
    // Pruned: the next prune is a thousand requests away.
    commit(s, reservation('later', { atMs: T0 - 2 * 3_600_000 - 30_000 }));
    await s.settle(
      {
        ...alice,
        decisionId: 'later',
        model: 'standard-m',
        tier: 'standard',
        inputTokens: 1,
        outputTokens: 1,
        costMicros: 1,
        atMs: T0 - 2 * 3_600_000 - 30_000,
      },
      written(s),
    );
    commitStaged(dbOf.get(s)!, request(999));
    expect(minutes()).toHaveLength(2);
  });

  it('a ledger file from before the report limits gains their columns; its old rows carry no limits', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE usage_charges (
      decision_id TEXT PRIMARY KEY, subject TEXT NOT NULL, team TEXT NOT NULL, cost_center TEXT NOT NULL, model TEXT NOT NULL,
      tier TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT NOT NULL, tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
      input_tokens INTEGER, output_tokens INTEGER, expires_ms INTEGER)`);
    db.prepare(`INSERT INTO usage_charges VALUES ('old', 'alice', 'platform', 'cc-1', 'standard-m', 'standard', ?, 'reserved', 10, 20, NULL, NULL, ?)`).run(
      T0,
      T0 + 600_000,
    );
    const s = new SqliteUsageStore(db, usageConfig());
    dbOf.set(s, db);
    expect(await s.charge('old')).toMatchObject({
      state: 'reserved',
      tokens: 10,
      maxOutputTokens: null,
      estimatedInputTokens: null,
      caller: null,
      askedModel: null,
    });
    commit(s, reservation('new'));
    expect(await s.charge('new')).toMatchObject({ maxOutputTokens: 256, estimatedInputTokens: 44, caller: 'gateway', askedModel: 'standard-m' });
    // Opening it again adds nothing twice.
    expect(() => new SqliteUsageStore(db, usageConfig())).not.toThrow();
  });
});
