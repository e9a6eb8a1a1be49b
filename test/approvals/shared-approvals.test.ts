import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import type { DecideRequest, Decision } from '../../src/engine/engine.js';
import { GavelError } from '../../src/lib/errors.js';
import type { Runtime } from '../../src/runtime.js';
import { failingCommits, postgresReplicas, verifierKeyOf } from '../helpers/pg-replicas.js';
import { BUNDLES } from '../helpers/paths.js';
import { startRuntime } from '../../src/runtime.js';
import { postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { runCli } from '../helpers/server.js';
import { TestClock } from '../usage/helpers.js';
import { MANAGER, transfer } from './helpers.js';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { modelCall } from '../usage/helpers.js';

const LEAD = { id: 'tara', roles: ['team-lead'] };

/**
 * Approvals in the shared PostgreSQL store (usage/postgres/approvals.ts), driven through the
 * runtime's faces of three replicas in this process, each with its own ledger file and key, all
 * sharing one real PostgreSQL: a request made on one is listed, resolved, watched and used on the
 * others; used once across all of them; and only rows signed by a known replica are honoured.
 */

const skip = postgresUnavailable();
const T0 = Date.parse('2026-12-05T10:00:00Z');

function request(input: unknown, caller = 'gateway-1'): DecideRequest {
  return { policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller };
}

async function ask(r: Runtime, amount = 50_000): Promise<Decision> {
  const d = await r.decide(request(transfer(amount)));
  expect(d.decision).toBe('require_approval');
  return d;
}

function approve(r: Runtime, id: string, approver = MANAGER): Promise<Approval> {
  return r.approvals!.resolve({ approvalId: id, verdict: 'approve', approver, comment: 'ok', caller: 'console' });
}

/** Approval events in one replica's ledger file, by event. */
function events(ledger: string, id: string): string[] {
  const db = new Database(ledger, { readonly: true });
  try {
    return (db.prepare(`SELECT decision FROM entries WHERE kind = 'approval' AND request_id = ? ORDER BY seq`).all(id) as Array<{ decision: string }>).map(
      (r) => r.decision,
    );
  } finally {
    db.close();
  }
}

async function rejected(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GavelError);
  return (err as GavelError).code;
}

describe.skipIf(skip)('approvals shared by replicas through PostgreSQL', () => {
  const replicas = postgresReplicas('shared_approvals', { peers: true });

  it('a request made on A is listed and resolved on B, watched on C, and used on C once', async () => {
    const { all, ledgers, url } = await replicas(3);
    const [a, b, c] = all as [Runtime, Runtime, Runtime];
    const asked = await ask(a);
    const id = asked.approval!.id;

    const listed = await b.approvals!.list({ limit: 10 });
    expect(listed.map((x) => [x.id, x.state])).toEqual([[id, 'pending']]);

    const seen: string[] = [];
    const stop = c.approvals!.watch(id, (x) => seen.push(x.state));
    expect((await approve(b, id)).state).toBe('approved');
    expect((await c.approvals!.get(id)).state).toBe('approved');
    // C hears of B's change (a change superseded before a replica reads it reaches its watchers as the later one).
    await expect.poll(() => seen, { timeout: 15_000 }).toEqual(['approved']);

    const used = await c.decide(request(transfer(50_000, { approvalId: id })));
    expect(used.decision).toBe('allow');
    expect((await a.approvals!.get(id)).state).toBe('consumed');
    const again = await a.decide(request(transfer(50_000, { approvalId: id })));
    expect(again.decision).toBe('require_approval');
    expect(again.reasons.map((r) => r.code)).toContain('approval_consumed');

    await expect.poll(() => seen, { timeout: 15_000 }).toEqual(['approved', 'consumed']);
    stop();
    // Each replica's chain records the events it performed: together they tell the whole story.
    expect(events(ledgers[0]!, id)).toEqual(['requested']);
    expect(events(ledgers[1]!, id)).toEqual(['approved']);
    expect(events(ledgers[2]!, id)).toEqual(['consumed']);

    // The audit: the shared rows against the three chains, and the story across them.
    const verified = await runCli(['audit', 'verify', ...ledgers.flatMap((l) => ['--ledger', l]), '--state-store', url]);
    expect(verified.stdout).toContain('shared approvals: ok: 2 rows signed by their replicas and recorded in their chains');
    expect(verified.code).toBe(0);
    const story = await runCli(['audit', 'timeline', '--subject', 'fiona', '--json', ...ledgers.flatMap((l) => ['--ledger', l])]);
    const told = story.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ofThis = told.filter((e) => e.kind === 'approval' && (e.approval as { id: string }).id === id);
    expect(ofThis.map((e) => [e.decision, e.ledger])).toEqual([
      ['requested', ledgers[0]],
      ['approved', ledgers[1]],
      ['consumed', ledgers[2]],
    ]);

    // Put back to its approved state (a copy of the row taken before it was used): the audit names the rollback.
    await queryAt(url, `UPDATE gavel_approvals SET state = 'approved' WHERE id = '${id}'`);
    const tampered = await runCli(['audit', 'verify', ...ledgers.flatMap((l) => ['--ledger', l]), '--state-store', url]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`${id}: its signature is not`);
  });

  it('a row put back to an earlier signed state (a rollback by someone with database access) is named by the audit', async () => {
    const { all, ledgers, url } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const id = (await ask(a)).approval!.id;
    await approve(b, id);
    const [copy] = (await queryAt(url, `SELECT * FROM gavel_approvals WHERE id = '${id}'`)) as Array<Record<string, unknown>>;
    expect((await a.decide(request(transfer(50_000, { approvalId: id })))).decision).toBe('allow');
    const audit = () => runCli(['audit', 'verify', ...ledgers.flatMap((l) => ['--ledger', l]), '--state-store', url]);
    expect((await audit()).code).toBe(0);
    const columns = Object.keys(copy!).filter((c) => c !== 'id');
    await queryAt(url, `UPDATE gavel_approvals SET ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [
      id,
      ...columns.map((c) => copy![c]),
    ]);
    const after = await audit();
    expect(after.code).toBe(1);
    expect(after.stdout).toContain(`${id}: rolled back: ${ledgers[0]} recorded it consumed as version 3 (seq`);
    // The replica whose chain recorded the use does not honour the row put back.
    const onA = await a.decide(request(transfer(50_000, { approvalId: id })));
    expect(onA.decision).not.toBe('allow');
    // Another replica cannot tell (the row carries a valid signature): used twice, and the audit names it.
    expect((await b.decide(request(transfer(50_000, { approvalId: id })))).decision).toBe('allow');
    const reused = await audit();
    expect(reused.code).toBe(1);
    expect(reused.stdout).toMatch(new RegExp(`${id}: changed twice as version 3: .*consumed.*consumed`));
  });

  it('identical calls at once on one replica make one request: the action stays held until the request is sealed', async () => {
    const { all } = await replicas(1);
    const answers = await Promise.all(Array.from({ length: 6 }, () => ask(all[0]!, 70_000)));
    expect(new Set(answers.map((d) => d.approval!.id)).size).toBe(1);
    expect((await all[0]!.approvals!.list({ state: 'pending', limit: 10 })).length).toBe(1);
  });

  it('ten Decides carrying one approval, spread over three replicas at once, are allowed exactly once', async () => {
    const { all } = await replicas(3);
    const id = (await ask(all[0]!)).approval!.id;
    await approve(all[1]!, id);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        all[i % 3]!.decide(request(transfer(50_000, { approvalId: id }))).then((d) => `${d.decision} ${d.reasons.map((r) => r.code).join(',')}`),
      ),
    );
    expect(outcomes.filter((o) => o.startsWith('allow'))).toHaveLength(1);
    // The others see it used (a policy may also deny them on the tool's rate limit): none allowed.
    for (const o of outcomes.filter((x) => !x.startsWith('allow'))) expect(o).toContain('approval_consumed');
  });

  it('an UPDATE by someone with database access approves nothing: an edited row is honoured by no replica', async () => {
    const { all, url } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const id = (await ask(a)).approval!.id;
    await queryAt(url, `UPDATE gavel_approvals SET state = 'approved' WHERE id = '${id}'`);
    expect(await rejected(b.approvals!.get(id))).toBe('approval_not_found');
    const d = await b.decide(request(transfer(50_000, { approvalId: id })));
    expect(d.decision).not.toBe('allow');
    // Judged as an id gavel has no approval for.
    const unknown = await b.decide(request(transfer(50_000, { approvalId: 'no-such-approval' })));
    expect(d.reasons.map((r) => r.code)).toEqual(unknown.reasons.map((r) => r.code));
    expect(await rejected(approve(b, id))).toBe('approval_not_found');

    // Nor does a row that claims to be awaiting its seal over another approval's sealed row.
    const other = (await ask(a, 30_000)).approval!.id;
    const [sealed] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [other]);
    await queryAt(url, `UPDATE gavel_approvals SET sig = NULL, version = $3, previous = $2 WHERE id = $1`, [
      id,
      JSON.stringify(sealed),
      Number(sealed!.version) + 1,
    ]);
    expect(await rejected(b.approvals!.get(id))).toBe('approval_not_found');
    const listed = (await b.approvals!.list({ limit: 10 })).map((x) => x.id);
    expect(listed).toContain(other);
    expect(listed).not.toContain(id);
  });

  it('a reservation held by an open shared request is restored when deleted from the store; once the request ends, its release stands', async () => {
    const seat = (bundles: Bundle[]) =>
      bundles.map((bundle) => {
        if (bundle.name !== 'ai') return bundle;
        const data = structuredClone(bundle.data) as any;
        data.gavel.ai_config.budgets.seat_monthly_spend.by_subject.sam = { approval_at: 0.000001, cap_at: 0.002 };
        return { ...bundle, data };
      });
    const { all, url } = await replicas(2, (_, u) => ({
      bundles: seat(loadBundles(BUNDLES)),
      usageStore: { url: u, timeoutMs: 2000, probeMs: 100, stateCheckSeconds: 1, peerKeys: [] },
    }));
    const [a, b] = all as [Runtime, Runtime];
    const asked = await a.decide(request(modelCall({ subject: 'sam', team: 'platform', costCenter: 'cc-100' }, 'standard-m', 100)));
    expect(asked.decision).toBe('require_approval');
    const held = () => queryAt(url, `SELECT count(*)::int AS n FROM gavel_usage_charges WHERE decision_id = $1`, [asked.decisionId]);
    expect(await held()).toEqual([{ n: 1 }]);
    await queryAt(url, 'DELETE FROM gavel_usage_charges WHERE decision_id = $1', [asked.decisionId]);
    await expect.poll(held, { timeout: 15_000 }).toEqual([{ n: 1 }]);
    await a.approvals!.resolve({ approvalId: asked.approval!.id, verdict: 'reject', approver: LEAD, comment: 'no', caller: 'console' });
    await expect.poll(held, { timeout: 15_000 }).toEqual([{ n: 0 }]);
    // Two more checks run: the request ended, so its hold is not put back.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await held()).toEqual([{ n: 0 }]);
    expect((await a.approvals!.get(asked.approval!.id)).state).toBe('rejected');
    void b;
  });

  it('a replica honours only the rows of replicas whose keys it was given', async () => {
    // B is given no peer key: A's rows are not vouched for by any key it knows.
    const { all } = await replicas(2, (i, url) => (i === 1 ? { usageStore: { url, timeoutMs: 2000, probeMs: 100 } } : {}));
    const [a, b] = all as [Runtime, Runtime];
    const id = (await ask(a)).approval!.id;
    expect((await a.approvals!.get(id)).state).toBe('pending');
    expect(await rejected(b.approvals!.get(id))).toBe('approval_not_found');
    // B's own rows are its to vouch for, and A knows B's key.
    const own = (await ask(b, 30_000)).approval!.id;
    expect((await a.approvals!.get(own)).state).toBe('pending');
  });

  it('listing by state pages over the rows in that state, not over the newest rows', async () => {
    const { all } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const older = (await ask(a)).approval!.id;
    const newer = (await ask(a, 30_000)).approval!.id;
    await b.approvals!.resolve({ approvalId: newer, verdict: 'reject', approver: MANAGER, comment: 'no', caller: 'console' });
    expect((await b.approvals!.list({ state: 'pending', limit: 1 })).map((x) => x.id)).toEqual([older]);
    expect((await b.approvals!.list({ state: 'rejected', limit: 1 })).map((x) => x.id)).toEqual([newer]);
  });

  it('a peer key that is not a verifier key refuses to start, naming it', async () => {
    const err = await replicas(1, (_, url) => ({ usageStore: { url, peerKeys: ['not-a-key'] } })).catch((e: unknown) => e as GavelError);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('config_invalid');
    expect((err as GavelError).message).toContain('--peer-key "not-a-key"');
  });

  it('a vote whose entry is given up is undone: the request stays pending for every replica', async () => {
    let failing = false;
    const { all } = await replicas(2, (i) => (i === 1 ? failingCommits(() => failing) : {}));
    const [a, b] = all as [Runtime, Runtime];
    const id = (await ask(a)).approval!.id;
    failing = true;
    expect(await rejected(approve(b, id))).toBe('ledger_unavailable');
    failing = false;
    await expect.poll(async () => (await a.approvals!.get(id)).state, { timeout: 15_000 }).toBe('pending');
    // Reads show it pending while b's undo may still be removing the unsealed vote: a vote in that moment is told to read again.
    await expect
      .poll(
        () =>
          approve(a, id).then(
            (r) => r.state,
            (err: GavelError) => err.code,
          ),
        { timeout: 15_000, interval: 100 },
      )
      .toBe('approved');
  });

  it('a replica that stopped between writing a change and sealing it seals it at its next start, or undoes it when its ledger lacks the entry', async () => {
    const { all, ledgers, url } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const voted = (await ask(a)).approval!.id;
    const lost = (await ask(a, 30_000)).approval!.id;
    await approve(b, voted);
    await b.stop();
    // As a stop right after the vote's entry committed would leave it: written, not sealed.
    await queryAt(url, `UPDATE gavel_approvals SET sig = NULL, seq = NULL, entry_hash = NULL WHERE id = $1`, [voted]);
    // As a stop before the entry committed would: a change no ledger recorded, over the sealed row it replaced.
    const [sealed] = await queryAt(url, 'SELECT * FROM gavel_approvals WHERE id = $1', [lost]);
    await queryAt(
      url,
      `UPDATE gavel_approvals SET state = 'approved', version = version + 1, ledger_id = $2, entry_id = 'never-recorded', sig = NULL, seq = NULL, entry_hash = NULL, previous = $3 WHERE id = $1`,
      [lost, (await queryAt(url, 'SELECT ledger_id FROM gavel_approvals WHERE id = $1', [voted]))[0]!.ledger_id, JSON.stringify(sealed)],
    );
    expect(await rejected(a.approvals!.get(voted))).toBe('approval_not_found');
    const restarted = await startRuntime({
      bundles: BUNDLES,
      ledger: ledgers[1]!,
      usageStore: { url, timeoutMs: 2000, probeMs: 100, peerKeys: [await verifierKeyOf(ledgers[0]!)] },
    });
    try {
      expect((await a.approvals!.get(voted)).state).toBe('approved');
      expect((await a.approvals!.get(lost)).state).toBe('pending');
      expect(await queryAt(url, 'SELECT count(*)::int AS n FROM gavel_approvals WHERE sig IS NULL')).toEqual([{ n: 0 }]);
    } finally {
      await restarted.stop();
    }
  });

  it('WatchApproval on one replica hears of changes on another; after its LISTEN connection drops, by polling until it is back', async () => {
    const { all, url } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const first = (await ask(a)).approval!.id;
    const second = (await ask(a, 30_000)).approval!.id;
    const seen: string[] = [];
    const stops = [first, second].map((id) => a.approvals!.watch(id, (x) => seen.push(`${x.id === first ? 'first' : 'second'} ${x.state}`)));
    await approve(b, first);
    // (While a replica polls it may also tell a watcher the state it already had: watchers take the latest.)
    await expect.poll(() => seen.includes('first approved'), { timeout: 15_000 }).toBe(true);
    const listening = async () =>
      (await queryAt(url, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND datname = current_database()`))[0]!.n;
    await expect.poll(listening, { timeout: 15_000 }).toBe(2);
    // The replicas' LISTEN connections are cut by the database: changes still reach the watchers.
    const cut = await queryAt(
      url,
      `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND datname = current_database()`,
    );
    expect(cut).toEqual([{ cut: true }, { cut: true }]);
    await approve(b, second);
    await expect.poll(() => seen.includes('second approved'), { timeout: 15_000 }).toBe(true);
    expect(seen.filter((x) => x.endsWith('approved'))).toEqual(['first approved', 'second approved']);
    // And each replica listens again.
    await expect.poll(listening, { timeout: 15_000 }).toBe(2);
    for (const stop of stops) stop();
  });

  it('expiry: one replica at a time sweeps, and each request expires once across them', async () => {
    const clock = new TestClock(T0);
    const { all, ledgers, url } = await replicas(3, () => ({ now: clock.now }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ask(all[i]!, 20_000 + i)).approval!.id);
    clock.advance(25 * 3600 * 1000);
    // While another holds the sweep's lock, no replica sweeps: listing shows them as they are.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('gavel approval sweep'))`);
      const listed = await Promise.all(all.map((r) => r.approvals!.list({ limit: 10 })));
      for (const l of listed) expect(l.map((x) => x.state)).toEqual(['pending', 'pending', 'pending']);
    } finally {
      await holder.end();
    }
    await Promise.all(all.map((r) => r.approvals!.list({ limit: 10 })));
    for (const id of ids) {
      expect((await all[0]!.approvals!.get(id)).state).toBe('expired');
      expect(ledgers.flatMap((l) => events(l, id)).filter((e) => e === 'expired')).toHaveLength(1);
    }
  });
});
