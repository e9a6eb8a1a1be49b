import { afterEach, describe, expect, it } from 'vitest';
import type { RequestClaim } from '../../src/engine/meter.js';
import { GavelError } from '../../src/lib/errors.js';
import { usageConfig } from '../../src/usage/config.js';
import { postgresUsageConfig } from '../../src/usage/postgres/config.js';
import type { RowSigner } from '../../src/usage/postgres/row-signer.js';
import { PostgresUsageStore } from '../../src/usage/postgres/store.js';
import { historyKey, scopeKeys, type StagedUsage } from '../../src/usage/store.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { requestsSeen, stageAfterRead, storeReservation, withoutEntry } from './helpers.js';
import { approval, signers } from './shared-approval-fixtures.js';

/**
 * One decision's transaction on the shared usage store (PostgresUsageStore.read), on a real PostgreSQL:
 * a read asked again at another time, the subject's history kept in memory between decisions and
 * numbered across replicas, the request id claims staged with the rows and their receipts noted after,
 * and a stage that finds its keys' rows gone before it writes.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL read tests: ${skip}`);

const T0 = Date.parse('2026-12-06T12:00:00Z');
const HOUR = 3_600_000;
const alice = { subject: 'alice', team: 'platform', costCenter: 'cc-1' };
const keys = [...scopeKeys(alice), historyKey(alice.subject)];
const request = (decisionId: string, atMs = T0, decision = 'allow') => ({ decisionId, subject: 'alice', tool: 'search', decision, atMs });

describe.skipIf(skip)("a decision's read of the shared usage store", () => {
  const db = postgresForTests();
  /** Reads ended and stores closed after each test, whether it passed or not. */
  const onExit: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of onExit.splice(0).reverse()) await f();
  });
  async function open(url: string, o: { signer?: RowSigner; pruneMs?: number } = {}): Promise<PostgresUsageStore> {
    const pg = postgresUsageConfig(url, { probeMs: 100, timeoutMs: 1500, ...(o.pruneMs ? { pruneMs: o.pruneMs } : {}) });
    const store = (await PostgresUsageStore.open(pg, usageConfig())).store;
    store.attach('ledger-a', o.signer);
    onExit.push(() => store.close());
    return store;
  }
  const stage = (store: PostgresUsageStore, rows: StagedUsage) => stageAfterRead(store, alice, rows);

  it('asked again at another time or without another decision’s reservation, a read reads again', async () => {
    const store = await open(await freshDatabase(db, 'read'));
    await stage(store, { request: request('held'), reservation: storeReservation('held', T0, alice) });
    await stage(store, { request: request('done', T0 - 1), reservation: storeReservation('done', T0 - 1, alice) });
    const settlement = { ...alice, decisionId: 'done', model: 'standard-m', tier: 'standard', inputTokens: 10, outputTokens: 40, costMicros: 50, atMs: T0 };
    await store.settle(settlement, withoutEntry());
    const read = await store.read(keys);
    onExit.push(() => read.end());
    expect((await read.history('alice', T0 + 1)).requests_last_minute).toBe(2);
    // Each budget's own rows, though the read fetched three at once: counted once each.
    expect((await read.usage('team', 'platform', T0 + 1)).day).toMatchObject({ reserved_tokens: 300, used_tokens: 50 });
    expect((await read.usage('subject', 'alice', T0 + 1)).day).toMatchObject({ reserved_tokens: 300, used_tokens: 50 });
    // A subject and a team of the same name: each budget counts its own scope's rows, not every row of that name.
    const ops = { subject: 'ops', team: 'ops', costCenter: 'cc-9' };
    for (const [id, who] of [
      ['ops-1', ops],
      ['ops-2', { ...ops, subject: 'ops-bot' }],
    ] as const) {
      const r = await store.read([...scopeKeys(who), historyKey(who.subject)]);
      await r.history(who.subject, T0);
      (await r.stage({ request: { ...request(id), subject: who.subject }, reservation: storeReservation(id, T0, who) }))!.finish(true, []);
    }
    const opsRead = await store.read([...scopeKeys(ops), historyKey('ops')]);
    onExit.push(() => opsRead.end());
    expect((await opsRead.usage('subject', 'ops', T0 + 1)).day.reserved_tokens).toBe(300);
    expect((await opsRead.usage('team', 'ops', T0 + 1)).day.reserved_tokens).toBe(600);
    opsRead.end();
    // A minute later the requests have left the window; leaving out `held`, nothing is reserved.
    expect((await read.history('alice', T0 + 61_000)).requests_last_minute).toBe(0);
    expect((await read.usage('team', 'platform', T0 + 61_000, 'held')).day.reserved_tokens).toBe(0);
    expect((await read.usage('team', 'platform', T0 + 61_000)).day.reserved_tokens).toBe(300);
    const staged = await read.stage({ request: request('next', T0 + 61_000) });
    staged!.finish(true, []);
    expect((await store.history('alice', T0 + 61_001)).requests_last_minute).toBe(1);
  });

  it('the history is kept in memory between decisions: its own requests counted at once, others’ read by their number', async () => {
    const url = await freshDatabase(db, 'read');
    const [a, b] = [await open(url), await open(url)];
    await stage(a, { request: request('a-1') });
    // Rows changed behind the numbering are not read again: a's log is its memory, not a query of the last minute.
    await queryAt(url, `DELETE FROM gavel_usage_requests WHERE decision_id = 'a-1'`);
    expect(await requestsSeen(a, alice, T0 + 1)).toBe(1);
    expect(await requestsSeen(a, alice, T0 + 2)).toBe(1);
    expect((await a.history('alice', T0 + 2)).requests_last_minute).toBe(0);
    await stage(a, { request: request('a-2', T0 + 3) });
    expect(await requestsSeen(a, alice, T0 + 4)).toBe(2);
    // b's requests reach a's log by their number, after a read of a's that found nothing new.
    expect(await requestsSeen(b, alice, T0 + 5)).toBe(1);
    await stage(b, { request: request('b-1', T0 + 6) });
    await stage(b, { request: request('b-2', T0 + 7) });
    expect(await requestsSeen(a, alice, T0 + 8)).toBe(4);
    expect(await requestsSeen(b, alice, T0 + 8)).toBe(3);
    const numbered = await queryAt(url, `SELECT decision_id, subject_seq FROM gavel_usage_requests ORDER BY subject_seq`);
    expect(numbered).toEqual([
      { decision_id: 'a-2', subject_seq: '2' },
      { decision_id: 'b-1', subject_seq: '3' },
      { decision_id: 'b-2', subject_seq: '4' },
    ]);
  });

  it('a stage that finds its keys’ rows gone writes nothing and fails closed', async () => {
    const url = await freshDatabase(db, 'read');
    const store = await open(url);
    const read = await store.read(keys);
    await queryAt(url, 'DELETE FROM gavel_usage_keys');
    await expect(read.stage({ request: request('lost'), reservation: storeReservation('lost', T0, alice) })).rejects.toEqual(
      new GavelError('usage_unavailable', 'usage key rows are missing from the usage store (were its tables emptied?); failing closed'),
    );
    expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_requests')).toEqual([{ n: 0 }]);
    expect(await store.charge('lost')).toBeUndefined();
    // The next decision puts the rows back.
    await stage(store, { request: request('found'), reservation: storeReservation('found', T0, alice) });
    expect(await store.charge('found')).toMatchObject({ state: 'reserved' });
    // A stage with no read before it locks and checks the rows itself, and commits.
    const unread = await store.read(keys);
    (await unread.stage({ request: request('unread'), reservation: storeReservation('unread', T0, alice) }))!.finish(true, []);
    expect(await store.charge('unread')).toMatchObject({ state: 'reserved' });
  });

  it('an approval change commits with the decision’s rows; over a row changed meanwhile, nothing is written and the decision is made again', async () => {
    const url = await freshDatabase(db, 'read');
    const store = await open(url, { signer: signers().of('ledger-a') });
    const receipts = new Map([['e-1', { seq: 1, entryHash: 'h1' }]]);
    const approvals = store.approvals({ pollMs: 1000, receiptOf: (id) => receipts.get(id), endedHere: () => false, onError: () => undefined });
    try {
      const req = approval();
      const created = approvals.stage({ next: req, previous: undefined, entryId: 'e-1' });
      await stage(store, { request: request('d-1'), reservation: storeReservation('d-1', T0, alice), approval: created.shared! });
      await created.settle(receipts.get('e-1'));
      const read = (await approvals.get(req.id))!;
      expect(read).toEqual(req);
      await approvals.stage({ next: { ...read, state: 'rejected', resolvedAtMs: T0 + 1 }, previous: read, entryId: 'e-2' }).shared!.write();
      const late = approvals.stage({ next: { ...read, state: 'approved', resolvedAtMs: T0 + 2 }, previous: read, entryId: 'e-3' });
      const decision = await store.read(keys);
      await decision.history('alice', T0);
      expect(await decision.stage({ request: request('d-3'), reservation: storeReservation('d-3', T0, alice), approval: late.shared! })).toBeUndefined();
      await expect(decision.stage({ request: request('d-4') })).rejects.toThrow('this usage read has ended');
      expect(await store.charge('d-3')).toBeUndefined();
      expect(await queryAt(url, 'SELECT decision_id FROM gavel_usage_requests')).toEqual([{ decision_id: 'd-1' }]);
      expect(await queryAt(url, 'SELECT state, entry_id FROM gavel_approvals')).toEqual([{ state: 'rejected', entry_id: 'e-2' }]);
      // With an approval change, a stage refused for another reason is that refusal.
      const other = approvals.stage({ next: approval(), previous: undefined, entryId: 'e-5' });
      const refused = stage(store, { request: request('d-5'), reservation: storeReservation('d-1', T0, alice), approval: other.shared! });
      await expect(refused).rejects.toMatchObject({ code: 'usage_unavailable', message: expect.stringMatching(/gavel_usage_charges_pkey/) });
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_approvals')).toEqual([{ n: 1 }]);
    } finally {
      approvals.close();
      await store.close();
    }
  });

  it('prunes on its own timer: what no read counts any more goes', async () => {
    const url = await freshDatabase(db, 'read');
    const store = await open(url, { pruneMs: 50 });
    const now = Date.now();
    await stage(store, {
      request: request('stale', now - 3 * HOUR),
      reservation: storeReservation('stale', now - 3 * HOUR, alice, { expiresMs: now - 25 * HOUR }),
    });
    await expect.poll(async () => store.charge('stale'), { timeout: 5000 }).toBeUndefined();
    expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_usage_requests')).toEqual([{ n: 0 }]);
    // Request id claims go once past the longest window a caller can ask for (30 days), not before.
    const DAY = 24 * HOUR;
    await queryAt(
      url,
      `INSERT INTO gavel_request_ids (caller, request_id, decision_id, ledger_id, at_ms, answer)
         VALUES ('gw', 'month-old', 'month-old', 'ledger-a', $1, '{}'), ('gw', 'week-old', 'week-old', 'ledger-a', $2, '{}')`,
      [now - 31 * DAY, now - 7 * DAY],
    );
    await expect.poll(async () => queryAt(url, 'SELECT request_id FROM gavel_request_ids'), { timeout: 5000 }).toEqual([{ request_id: 'week-old' }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await queryAt(url, 'SELECT request_id FROM gavel_request_ids')).toEqual([{ request_id: 'week-old' }]);
  });

  it('the database gone, an idle connection’s error takes the store down before any call; it comes back up on its own', async () => {
    const store = await open(await freshDatabase(db, 'read'));
    await store.history('alice', T0);
    await db.stop();
    await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(false);
    expect(store.health.reason).toMatch(
      /^usage store postgres:\/\/gavel:\*\*\*@127\.0\.0\.1:\d+\/read_\w+: (terminating connection due to administrator command|Connection terminated unexpectedly)/,
    );
    await db.start();
    await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true);
  });

  it('while the database is down, receipts, a claim given up and a reservation taken back wait; they go once it is back', async () => {
    const url = await freshDatabase(db, 'read');
    const store = await open(url);
    const c1: RequestClaim = { caller: 'gw', requestId: 'c-1', sinceMs: T0 - 60_000, answer: () => '{"decision":"allow"}' };
    const c2: RequestClaim = { ...c1, requestId: 'c-2' };
    await stage(store, { request: request('d-1'), claim: c1 });
    const read = await store.read(keys);
    await read.history('alice', T0);
    const given = await read.stage({ request: request('d-2'), reservation: storeReservation('d-2', T0, alice), claim: c2 });
    const late = await store.read(keys);
    await late.history('alice', T0);
    await db.stop();
    await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(false);
    // A claiming stage while the store is down: that refusal, not a claim taken.
    await expect(late.stage({ request: request('d-3'), claim: { ...c1, requestId: 'c-3' } })).rejects.toMatchObject({
      code: 'usage_unavailable',
      message: expect.stringMatching(/^the usage store is unavailable \(/),
    });
    store.requestRecorded(c1, 'd-1', { seq: 1, entryHash: 'h1' });
    given!.finish(false, []);
    await new Promise((r) => setTimeout(r, 100));
    await db.start();
    await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => queryAt(url, 'SELECT request_id, seq FROM gavel_request_ids ORDER BY request_id'), { timeout: 5000 })
      .toEqual([{ request_id: 'c-1', seq: '1' }]);
    expect(await store.charge('d-2')).toBeUndefined();
    expect(await queryAt(url, 'SELECT decision_id FROM gavel_usage_requests')).toEqual([{ decision_id: 'd-1' }]);
  });

  describe('request id claims', () => {
    const claim = (requestId: string, sinceMs = T0 - 60_000): RequestClaim => ({
      caller: 'gw',
      requestId,
      sinceMs,
      answer: () => JSON.stringify({ decision: 'allow', requestId }),
    });

    it('noted with their receipts, several in one statement, unsigned by a store with no signer; a claim held is in progress', async () => {
      const url = await freshDatabase(db, 'read');
      const store = await open(url);
      await stage(store, { request: request('d-1'), claim: claim('r-1') });
      await stage(store, { request: request('d-2'), claim: claim('r-2') });
      expect(await store.findRequest('gw', 'r-9', T0 - 60_000)).toBeUndefined();
      // Claimed, its receipt not noted yet: in progress, for this replica as for any other.
      await expect(store.findRequest('gw', 'r-1', T0 - 60_000)).rejects.toEqual(
        new GavelError(
          'request_in_progress',
          'request_id "r-1" of gw is being decided on another replica, or was decided there a moment ago: retry to get its answer',
        ),
      );
      store.requestRecorded(claim('r-1'), 'd-1', { seq: 3, entryHash: 'h3' });
      store.requestRecorded(claim('r-2'), 'd-2', { seq: 4, entryHash: 'h4' });
      await expect
        .poll(async () => queryAt(url, 'SELECT request_id, decision_id, seq, entry_hash, sig FROM gavel_request_ids ORDER BY request_id'), {
          timeout: 5000,
        })
        .toEqual([
          { request_id: 'r-1', decision_id: 'd-1', seq: '3', entry_hash: 'h3', sig: null },
          { request_id: 'r-2', decision_id: 'd-2', seq: '4', entry_hash: 'h4', sig: null },
        ]);
      expect(await store.findRequest('gw', 'r-1', T0 - 60_000)).toEqual({ decision: 'allow', requestId: 'r-1', receipt: { seq: 3, entryHash: 'h3' } });
      // The same id again inside its window: another decision holds it.
      const held = await stage(store, { request: request('d-3'), reservation: storeReservation('d-3', T0, alice), claim: claim('r-1') }).catch(
        (e: unknown) => e,
      );
      expect(held).toEqual(
        new GavelError(
          'request_in_progress',
          'request_id "r-1" of gw is being decided on another replica, or was decided there a moment ago: retry to get its answer',
        ),
      );
      expect(await store.charge('d-3')).toBeUndefined();
    });

    it('a claim older than the window is taken over; a stage refused for another reason is that reason, and claims nothing', async () => {
      const url = await freshDatabase(db, 'read');
      const store = await open(url);
      await stage(store, { request: request('old'), claim: claim('r-1') });
      // A window that starts after the first claim: the id is free again.
      await stage(store, { request: request('new', T0 + 10), claim: claim('r-1', T0 + 1) });
      expect(await queryAt(url, 'SELECT request_id, decision_id FROM gavel_request_ids')).toEqual([{ request_id: 'r-1', decision_id: 'new' }]);
      // A reservation whose decision id is taken violates another key: not request_in_progress, and r-2 stays free.
      await stage(store, { request: request('dup'), reservation: storeReservation('dup', T0, alice) });
      const err = await stage(store, { request: request('dup'), reservation: storeReservation('dup', T0, alice), claim: claim('r-2') }).catch(
        (e: unknown) => e as GavelError,
      );
      expect(err).toBeInstanceOf(GavelError);
      expect((err as GavelError).code).toBe('usage_unavailable');
      expect((err as GavelError).message).toMatch(/^the usage store refused a step \(.*gavel_usage_charges_pkey/);
      await stage(store, { request: request('r-2-taker'), claim: claim('r-2') });
      // A connection cut under a claiming stage: the store's failure, not a claim taken.
      const read = await store.read(keys);
      await read.history('alice', T0);
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gavel' AND state LIKE 'idle in transaction%'`);
      await expect(read.stage({ request: request('cut'), claim: claim('r-3') })).rejects.toMatchObject({
        code: 'usage_unavailable',
        // Reached in time or not: the connection's own error may have taken the store down first.
        message: expect.stringMatching(/^the usage store (could not be reached in time|is unavailable) \(/),
      });
    });
  });
});
