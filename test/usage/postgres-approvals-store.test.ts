import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import type { Receipt } from '../../src/engine/ledger.js';
import { GavelError } from '../../src/lib/errors.js';
import { PostgresApprovalStore, readSharedApprovals, type SharedApprovalsOptions } from '../../src/usage/postgres/approvals.js';
import { migrateDatabase } from '../../src/usage/postgres/schema.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { approval, HOUR, signers, T0 } from './shared-approval-fixtures.js';

/**
 * The shared approval store (usage/postgres/approvals.ts) on its own, on a real PostgreSQL: what it
 * honours (a sealed row with a known replica's signature; while a change awaits its seal, the sealed row
 * it replaced), its filters and counts, a seal that cannot be made yet and is retried, a change over a
 * row that moved, and what a watcher hears while LISTEN is down. The runtime-level tests
 * (test/approvals/shared-approvals.test.ts) drive it through three replicas.
 */

const skip = postgresUnavailable();
describe.skipIf(skip)('PostgresApprovalStore on its own', () => {
  const db = postgresForTests();
  const open: Array<{ store: PostgresApprovalStore; pool: pg.Pool }> = [];
  afterEach(async () => {
    for (const { store, pool } of open.splice(0)) {
      store.close();
      await pool.end();
    }
  });

  interface Replica {
    store: PostgresApprovalStore;
    receipts: Map<string, Receipt>;
    ended: Set<string>;
    errors: string[];
    /** Makes `next` (over `previous`, read from this store) and seals it with a receipt for its entry. */
    put(next: Approval, previous?: Approval): Promise<void>;
  }

  async function replicaOn(url: string, ledgerId: string, keys: ReturnType<typeof signers>, over: Partial<SharedApprovalsOptions> = {}): Promise<Replica> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const receipts = new Map<string, Receipt>();
    const ended = new Set<string>();
    const errors: string[] = [];
    const store = new PostgresApprovalStore(pool, {
      ledgerId,
      signer: keys.of(ledgerId),
      pollMs: 50,
      receiptOf: (id) => receipts.get(id),
      endedHere: (id) => ended.has(id),
      connect: () => new pg.Client({ connectionString: url }),
      guard: (step) => step(),
      onError: (err, what) => errors.push(`${what}: ${(err as Error).message}`),
      ...over,
    });
    open.push({ store, pool });
    let entries = 0;
    const put = async (next: Approval, previous?: Approval) => {
      const entryId = `${ledgerId}-entry-${++entries}`;
      const w = store.stage({ next, previous, entryId });
      await w.shared!.write();
      receipts.set(entryId, { seq: entries, entryHash: `hash-${entries}` });
      await w.settle(receipts.get(entryId));
    };
    return { store, receipts, ended, errors, put };
  }

  async function fresh(): Promise<string> {
    const url = await freshDatabase(db, 'approvals');
    await migrateDatabase(url, 5000);
    return url;
  }

  /** Replicas a and b on a fresh database, each knowing the other's key. */
  async function pair(): Promise<{ url: string; keys: ReturnType<typeof signers>; a: Replica; b: Replica }> {
    const url = await fresh();
    const keys = signers();
    return { url, keys, a: await replicaOn(url, 'ledger-a', keys), b: await replicaOn(url, 'ledger-b', keys) };
  }

  it('lists by subject, team and approver role (either spelling), newest first; counts the open requests not yet due', async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    const first = approval({ subjectId: 'bob', team: 'data', approvers: ['role:team-lead'] });
    const second = approval({ subjectId: 'bob', team: 'platform', approvers: ['finance'] });
    const third = approval({ subjectId: 'carol', team: 'data', approvers: ['user:dan', 'role:finance'], state: 'rejected' });
    const due = approval({ expiresAtMs: T0 + 1000 });
    for (const x of [first, second, third, due]) await a.put(x);
    const ids = async (f: Parameters<PostgresApprovalStore['list']>[0]) => (await a.store.list(f)).map((x) => x.id);
    expect(await ids({ subject: 'bob', limit: 10 })).toEqual([second.id, first.id]);
    expect(await ids({ team: 'data', limit: 10 })).toEqual([third.id, first.id]);
    expect(await ids({ subject: 'bob', team: 'data', limit: 10 })).toEqual([first.id]);
    expect(await ids({ approverRole: 'team-lead', limit: 10 })).toEqual([due.id, first.id]);
    expect(await ids({ approverRole: 'finance', limit: 10 })).toEqual([third.id, second.id]);
    expect(await ids({ approverRole: 'dan', limit: 10 })).toEqual([]);
    expect(await ids({ state: 'rejected', limit: 10 })).toEqual([third.id]);
    expect(await ids({ limit: 2 })).toEqual([due.id, third.id]);
    // Open (pending or approved) and expiring after the instant asked about.
    expect(await a.store.openCount(T0)).toBe(3);
    expect(await a.store.openCount(T0 + 1000)).toBe(2);
    expect((await a.store.due(T0 + 1000, 10)).map((x) => x.id)).toEqual([due.id]);
    expect(await a.store.openFor(first.fingerprint, T0)).toEqual(first);
    expect(await a.store.openFor(third.fingerprint, T0)).toBeUndefined();
    expect(await a.store.openFor(due.fingerprint, T0 + 1000)).toBeUndefined();
  });

  it('while a change awaits its seal every replica sees the sealed row it replaced; then the change', async () => {
    const { url, a, b } = await pair();
    const req = approval();
    await a.put(req);
    const read = (await b.store.get(req.id))!;
    const approved: Approval = { ...read, state: 'approved', resolvedAtMs: T0 + 5 };
    const w = b.store.stage({ next: approved, previous: read, entryId: 'b-vote' });
    expect(w.version).toBe(2);
    await w.shared!.write();
    // Written, not sealed: both see the pending request, and list it as pending, not approved.
    expect((await a.store.get(req.id))?.state).toBe('pending');
    expect((await b.store.get(req.id))?.state).toBe('pending');
    expect((await a.store.list({ state: 'pending', limit: 5 })).map((x) => x.id)).toEqual([req.id]);
    expect(await a.store.list({ state: 'approved', limit: 5 })).toEqual([]);
    b.receipts.set('b-vote', { seq: 7, entryHash: 'h7' });
    await w.settle(b.receipts.get('b-vote'));
    expect(await a.store.get(req.id)).toEqual(approved);
    expect((await a.store.list({ state: 'approved', limit: 5 })).map((x) => x.id)).toEqual([req.id]);
    const [row] = await queryAt(url, 'SELECT version, ledger_id, entry_id, seq, entry_hash, previous FROM gavel_approvals WHERE id = $1', [req.id]);
    expect(row).toEqual({ version: '2', ledger_id: 'ledger-b', entry_id: 'b-vote', seq: '7', entry_hash: 'h7', previous: null });
  });

  it("a subject or team filter is the query's: an older match is found behind more newer rows than the pages read", async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    const old = approval({ subjectId: 'bob', team: 'data' });
    await a.put(old);
    const rejected = approval({ state: 'rejected' });
    await a.put(rejected);
    // More than 8 pages of 16 newer rows of another subject and team.
    for (let i = 0; i < 130; i++) await a.put(approval());
    expect((await a.store.list({ subject: 'bob', limit: 1 })).map((x) => x.id)).toEqual([old.id]);
    expect((await a.store.list({ team: 'data', limit: 1 })).map((x) => x.id)).toEqual([old.id]);
    expect((await a.store.list({ state: 'rejected', limit: 1 })).map((x) => x.id)).toEqual([rejected.id]);
  });

  it('a change over a row another replica changed first is refused as approval_changed, and one over a row not read here too', async () => {
    const { a, b } = await pair();
    const req = approval();
    await a.put(req);
    const readA = (await a.store.get(req.id))!;
    const readB = (await b.store.get(req.id))!;
    await b.put({ ...readB, state: 'rejected', resolvedAtMs: T0 + 1 }, readB);
    const late = a.store.stage({ next: { ...readA, state: 'approved' }, previous: readA, entryId: 'a-late' });
    const err = await late.shared!.write().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('approval_changed');
    expect((err as GavelError).message).toBe('another replica changed this approval at the same moment; read it again');
    expect((await a.store.get(req.id))?.state).toBe('rejected');
    // An approval this store never returned has no row to change over.
    expect(() => a.store.stage({ next: { ...readA, state: 'approved' }, previous: { ...readA }, entryId: 'a-copy' })).toThrow(
      new GavelError('approval_changed', `approval ${req.id} was not read from the shared store; read it again`),
    );
    // Any other failure is passed on as it is.
    const other = a.store.stage({ next: approval({ id: req.id }), previous: undefined, entryId: 'a-dup' });
    const dup = await other.shared!.write().catch((e: unknown) => e);
    expect(dup).not.toBeInstanceOf(GavelError);
    expect((dup as Error).message).toMatch(/duplicate key/);
  });

  it('a seal whose entry is not in the ledger yet fails, leaves the row unsealed, and is retried by the poll until it holds', async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    const req = approval();
    const w = a.store.stage({ next: req, previous: undefined, entryId: 'a-1' });
    await w.shared!.write();
    const err = await w.settle({ seq: 1, entryHash: 'h1' }).catch((e: unknown) => e as Error);
    expect(err?.message).toBe(`approval ${req.id}: the entry a-1 that records its change is not in this replica's ledger`);
    // A new request with no sealed row before it is honoured by nobody meanwhile.
    expect(await a.store.get(req.id)).toBeUndefined();
    expect(await a.store.openCount(T0)).toBe(0);
    a.receipts.set('a-1', { seq: 1, entryHash: 'h1' });
    await expect.poll(async () => (await a.store.get(req.id))?.state, { timeout: 5000, interval: 50 }).toBe('pending');
    expect(await a.store.openCount(T0)).toBe(1);
  });

  it('a change given up is undone: the new request is deleted, a vote restores the row it replaced, sealed as it was', async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    const given = approval();
    const w = a.store.stage({ next: given, previous: undefined, entryId: 'a-1' });
    await w.shared!.write();
    await w.settle(undefined);
    expect(await queryAt(url, 'SELECT id FROM gavel_approvals WHERE id = $1', [given.id])).toEqual([]);
    const req = approval();
    await a.put(req);
    const [sealed] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [req.id]);
    const read = (await a.store.get(req.id))!;
    const vote = a.store.stage({ next: { ...read, state: 'approved' }, previous: read, entryId: 'a-vote' });
    await vote.shared!.write();
    await vote.settle(undefined);
    expect(await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [req.id])).toEqual([sealed]);
    expect(await a.store.get(req.id)).toEqual(req);
  });

  it('a row no known replica signed, an edited row, a row put back, an unsealed row over another row: not honoured; a bad signature and a row put back reported', async () => {
    const { url, keys, a, b } = await pair();
    const signed = approval();
    const edited = approval();
    const rolled = approval();
    const stray = approval();
    for (const x of [signed, edited, rolled, stray]) await a.put(x);
    // Rolled: approved by b, then put back by hand to the pending row b saw pass.
    const [pendingRow] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [rolled.id]);
    const read = (await b.store.get(rolled.id))!;
    await b.put({ ...read, state: 'approved', resolvedAtMs: T0 + 9 }, read);
    expect((await b.store.get(rolled.id))?.state).toBe('approved');
    const cols = Object.keys(pendingRow!).filter((c) => c !== 'id');
    await queryAt(url, `UPDATE gavel_approvals SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [
      rolled.id,
      ...cols.map((c) => pendingRow![c]),
    ]);
    await queryAt(url, `UPDATE gavel_approvals SET state = 'approved' WHERE id = $1`, [edited.id]);
    // An unsealed row whose `previous` is another approval's sealed row.
    const [other] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [signed.id]);
    await queryAt(url, `UPDATE gavel_approvals SET sig = NULL, version = 2, previous = $2 WHERE id = $1`, [stray.id, JSON.stringify(other)]);
    b.errors.length = 0;
    expect(await b.store.get(edited.id)).toBeUndefined();
    expect(await b.store.get(rolled.id)).toBeUndefined();
    expect(await b.store.get(stray.id)).toBeUndefined();
    expect((await b.store.get(signed.id))?.state).toBe('pending');
    expect(b.errors).toEqual([
      `a shared approval row: approval ${edited.id}: its shared row does not carry a valid signature of a known replica; not honoured`,
      `a shared approval row: approval ${rolled.id}: its shared row was put back to an earlier state (version 1); not honoured`,
    ]);
    // A replica that never saw it pass honours the row put back; one whose ledger ended it does not.
    const c = await replicaOn(url, 'ledger-c', keys);
    expect((await c.store.get(rolled.id))?.state).toBe('pending');
    c.ended.add(signed.id);
    expect(await c.store.get(signed.id)).toBeUndefined();
    // Rows a replica signed whose key this one does not hold are not vouched for (c honoured this one above).
    keys.forget('ledger-a');
    c.errors.length = 0;
    expect(await c.store.get(rolled.id)).toBeUndefined();
    expect(c.errors).toEqual([
      `a shared approval row: approval ${rolled.id}: its shared row does not carry a valid signature of a known replica; not honoured`,
    ]);
    // A row that does not parse is reported, not thrown.
    await queryAt(url, `UPDATE gavel_approvals SET params = '{' WHERE id = $1`, [signed.id]);
    c.errors.length = 0;
    expect(await c.store.get(signed.id)).toBeUndefined();
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toMatch(new RegExp(`^reading shared approval row ${signed.id}: `));
  });

  it('an unsealed row shows the sealed row before it, and is read as that row: a forged re-opening opens nothing', async () => {
    const { url, keys, a } = await pair();
    const c = await replicaOn(url, 'ledger-c', keys);
    const rejected = approval({ state: 'rejected', approvers: ['role:team-lead'] });
    const lapsed = approval({ expiresAtMs: T0 + 10 });
    const moved = approval();
    const approved = approval({ state: 'approved' });
    for (const x of [rejected, lapsed, moved, approved]) await a.put(x);
    // Someone with database access writes an unsealed change over each sealed row (no replica recorded it):
    // open again, later expiry, another subject and team, another fingerprint.
    for (const [x, set] of [
      [rejected, `state = 'pending'`],
      [lapsed, `expires_ms = ${T0 + 99 * HOUR}`],
      [moved, `subject_id = 'mallory', team = 'evil'`],
      [approved, `fingerprint = 'fp-forged'`],
    ] as const) {
      const [row] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [x.id]);
      await queryAt(url, `UPDATE gavel_approvals SET ${set}, version = 2, sig = NULL, previous = $2 WHERE id = $1`, [x.id, JSON.stringify(row)]);
    }
    expect(await c.store.openFor(rejected.fingerprint, T0)).toBeUndefined();
    expect(await c.store.openFor(lapsed.fingerprint, T0 + 20)).toBeUndefined();
    expect(await c.store.openFor('fp-forged', T0)).toBeUndefined();
    // The sealed rows still answer for themselves.
    expect(await c.store.get(approved.id)).toEqual(approved);
    expect(await c.store.get(moved.id)).toEqual(moved);
    expect(await c.store.list({ subject: 'mallory', limit: 10 })).toEqual([]);
    expect(await c.store.list({ team: 'evil', limit: 10 })).toEqual([]);
    // Over a sealed row of its own id but not the version before it (a rollback to version 1 of a version-3 row): nothing.
    const twice = approval();
    await a.put(twice);
    const [v1] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [twice.id]);
    const read = (await a.store.get(twice.id))!;
    await a.put({ ...read, votes: [] }, read);
    await queryAt(url, `UPDATE gavel_approvals SET version = 3, sig = NULL, previous = $2 WHERE id = $1`, [twice.id, JSON.stringify(v1)]);
    expect(await c.store.get(twice.id)).toBeUndefined();
  });

  it('an answer is filled from further pages past rows nobody honours, and stops at the limit', async () => {
    const url = await fresh();
    const keys = signers();
    const a = await replicaOn(url, 'ledger-a', keys);
    const kept = [approval(), approval(), approval()];
    for (const x of kept) await a.put(x);
    const noise = Array.from({ length: 40 }, () => approval());
    for (const x of noise) await a.put(x);
    // The 40 newest rows are edited: none is honoured.
    await queryAt(url, `UPDATE gavel_approvals SET team = 'edited' WHERE id = ANY($1)`, [noise.map((x) => x.id)]);
    expect((await a.store.list({ limit: 2 })).map((x) => x.id)).toEqual([kept[2]!.id, kept[1]!.id]);
    expect((await a.store.list({ limit: 10 })).map((x) => x.id)).toEqual([kept[2]!.id, kept[1]!.id, kept[0]!.id]);
    // The open-requests gauge counts open rows in SQL, vouched for or not (a metric; no decision reads it).
    expect(await a.store.openCount(T0)).toBe(43);
  });

  it('while LISTEN cannot connect, a watcher hears of each sealed change once, by polling; unwatched ids are not read', async () => {
    const url = await fresh();
    const keys = signers();
    const dead = new URL(url);
    dead.port = '1';
    const a = await replicaOn(url, 'ledger-a', keys, { connect: () => new pg.Client({ connectionString: dead.toString() }) });
    const b = await replicaOn(url, 'ledger-b', keys);
    const req = approval();
    const unwatched = approval();
    await b.put(req);
    await b.put(unwatched);
    const heard: string[] = [];
    const stop = a.store.changes(
      (x) => heard.push(`${x.id} ${x.state}`),
      () => [req.id],
    );
    await expect.poll(() => heard, { timeout: 5000, interval: 25 }).toEqual([`${req.id} pending`]);
    const read = (await b.store.get(req.id))!;
    await b.put({ ...read, state: 'approved', resolvedAtMs: T0 + 3 }, read);
    const readU = (await b.store.get(unwatched.id))!;
    await b.put({ ...readU, state: 'rejected', resolvedAtMs: T0 + 3 }, readU);
    // Edited: a read of it would be reported among a's errors (checked below: only LISTEN's are there).
    await queryAt(url, `UPDATE gavel_approvals SET team = 'edited' WHERE id = $1`, [unwatched.id]);
    await expect.poll(() => heard, { timeout: 5000, interval: 25 }).toEqual([`${req.id} pending`, `${req.id} approved`]);
    // Several polls later, nothing new.
    await new Promise((r) => setTimeout(r, 300));
    expect(heard).toEqual([`${req.id} pending`, `${req.id} approved`]);
    expect(a.errors.every((e) => e.startsWith('listening for shared approval changes (polling until it is back): '))).toBe(true);
    expect(a.errors.length).toBeGreaterThan(0);
    // Unsubscribed: a later change is not heard.
    stop();
    const again = (await b.store.get(req.id))!;
    await b.put({ ...again, state: 'consumed', consumedBy: 'dec-x' }, again);
    await new Promise((r) => setTimeout(r, 300));
    expect(heard).toEqual([`${req.id} pending`, `${req.id} approved`]);
    // Closed while a watcher is subscribed: no more polling, so no more failed LISTEN attempts.
    const before = a.errors.length;
    a.store.changes(
      () => undefined,
      () => [req.id],
    );
    await expect.poll(() => a.errors.length, { timeout: 5000, interval: 25 }).toBeGreaterThan(before);
    a.store.close();
    await new Promise((r) => setTimeout(r, 150));
    const after = a.errors.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(a.errors.length).toBe(after);
  });

  it('alone() runs its task only while no other connection holds the sweep lock', async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    let ran = 0;
    const task = async () => ++ran;
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('gavel approval sweep'))`);
      expect(await a.store.alone(task)).toBe(0);
      expect(ran).toBe(0);
    } finally {
      await holder.end();
    }
    expect(await a.store.alone(task)).toBe(1);
    // The lock went with the sweep's connection: the next sweep takes it again.
    expect(await a.store.alone(task)).toBe(2);
  });

  it('readSharedApprovals reads every row, oldest first, on a connection of its own', async () => {
    const url = await fresh();
    const a = await replicaOn(url, 'ledger-a', signers());
    const later = approval({ createdAtMs: T0 + 50_000 });
    const earlier = approval({ createdAtMs: T0 + 10 });
    await a.put(later);
    await a.put(earlier);
    const rows = await readSharedApprovals(url, 5000);
    expect(rows.map((r) => r.id)).toEqual([earlier.id, later.id]);
    expect(rows[0]).toMatchObject({ subject_id: 'alice', state: 'pending', version: '1', ledger_id: 'ledger-a' });
    const dead = new URL(url);
    dead.port = '1';
    await expect(readSharedApprovals(dead.toString(), 2000)).rejects.toThrow();
  });
});
