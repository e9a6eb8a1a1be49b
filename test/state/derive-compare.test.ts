import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { GavelError } from '../../src/lib/errors.js';
import type { JsonObject } from '../../src/lib/json.js';
import { bucketZone, refusal as refusalOf } from '../../src/state/check.js';
import type { StateMismatch } from '../../src/state/compare.js';
import { deriveState } from '../../src/state/derive.js';
import { stateMismatches } from '../../src/state/verify-state.js';
import { usageConfig } from '../../src/usage/config.js';
import { Meter } from '../../src/usage/meter.js';
import { applyReport } from '../../src/usage/report.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { settlementRecord } from '../../src/usage/usage-entries.js';
import { MANAGER, SECOND_MANAGER, transfer } from '../approvals/helpers.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { editStateTables } from '../helpers/state-edit.js';
import { modelCall, TestClock, usageReport } from '../usage/helpers.js';

/**
 * What the chain adds up to (src/state/derive.ts) against the tables
 * (compare.ts), line by line: every kind of entry that changes state leaves
 * tables the check agrees with, and each edit the check must name is named,
 * with the horizons (pruned request rows and minute buckets) at their edges.
 * Measured with Stryker (stryker.state.config.mjs): each test here kills
 * mutants the tamper tests left alive.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

const T0 = Date.parse('2026-11-24T10:00:00Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const WHO = { subject: 'tess', team: 'platform', costCenter: 'cc-100' };
const EXHAUSTED = { subject: 'tess', team: 'budget-test', costCenter: 'cc-edge' };
const SAM = { subject: 'sam', team: 'platform', costCenter: 'cc-100' };
const LEAD = { id: 'tara', roles: ['team-lead'] };

async function open(file: string, extra: Partial<RuntimeConfig> = {}, clock = new TestClock(T0)): Promise<Runtime> {
  const core = await startRuntime({ bundles: BUNDLES, ledger: file, now: clock.now, ...extra });
  cores.push(core);
  return core;
}

async function stop(core: Runtime): Promise<void> {
  cores.splice(cores.indexOf(core), 1);
  await core.stop();
}

function decide(core: Runtime, input: unknown) {
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
}

/** The gateway's report of a model call (UsageService.Report runs applyReport the same way). */
async function report(core: Runtime, decisionId: string, who: typeof WHO, outputTokens: number, atMs: number): Promise<void> {
  await applyReport(
    {
      store: core.parts.usage!,
      bundles: core.policies.bundles,
      currency: 'USD',
      findDecision: () => undefined,
      reportFactor: 10,
      ledger: core.parts.ledger,
      now: () => new Date(atMs),
    },
    usageReport(decisionId, who, outputTokens),
  );
}

/** `gavel audit verify`'s state check, on the file as it is. */
function verified(file: string): StateMismatch[] {
  const db = new Database(file, { readonly: true });
  try {
    return stateMismatches(db);
  } finally {
    db.close();
  }
}

function rows<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function refused(run: () => unknown): Promise<GavelError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof GavelError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** A refused start releases the file's writer lock as it closes (asynchronously): the next start waits for it. */
async function openAfterRefusal(file: string, extra: Partial<RuntimeConfig> = {}): Promise<Runtime> {
  for (let tries = 0; ; tries++) {
    try {
      return await open(file, extra);
    } catch (err) {
      if (!(err instanceof GavelError && err.code === 'ledger_in_use') || tries > 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const key = (m: StateMismatch) => [m.table, m.key, m.problem];

describe('every kind of entry adds up to the tables', () => {
  it('two settled calls in one minute are summed in each bucket, and a settlement replaces what the reservation estimated', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file);
    const first = await decide(core, modelCall(WHO, 'standard-m', 100));
    const second = await decide(core, modelCall(WHO, 'standard-m', 100));
    await report(core, first.decisionId, WHO, 40, T0);
    await report(core, second.decisionId, WHO, 60, T0);
    expect(await core.audit.verifyState()).toEqual([]);
    await stop(core);

    const day = rows<{ tokens: number }>(file, "SELECT tokens FROM usage_daily WHERE scope = 'team' AND key = 'platform'");
    expect(day).toEqual([{ tokens: 41 + 61 }]);
    const again = await open(file);
    expect(again.state).toMatchObject({ mismatches: [], baselined: false });
    await stop(again);

    editStateTables(
      file,
      "UPDATE usage_daily SET tokens = tokens - 1 WHERE scope = 'team'; UPDATE usage_minute SET cost_micros = cost_micros + 1 WHERE scope = 'team'",
    );
    const found = verified(file);
    expect(found.map(key)).toEqual([
      ['usage_daily', 'team/platform/standard/2026-11-24', 'changed'],
      ['usage_minute', `team/platform/standard/${T0 / MINUTE}`, 'changed'],
    ]);
    expect(found[0]).toMatchObject({ expected: expect.stringMatching(/^102\/\d+$/), actual: expect.stringMatching(/^101\/\d+$/) });
  });

  it('approval events (a rejection, a second approver still to come, a consumed and an expired approval) and a released reservation', async () => {
    const file = join(tempDir(), 'ledger.db');
    const clock = new TestClock(T0);
    const core = await open(file, { bundles: withSeatApproval(loadBundles(BUNDLES)), usage: { reservationTtlSeconds: 120 } }, clock);
    const desk = core.parts.approvals!;
    const ask = async () => {
      const asked = await decide(core, modelCall(SAM, 'standard-m', 100));
      expect(asked.decision).toBe('require_approval');
      return asked;
    };

    // Rejected: the vote is a rejection, and the reservation the request held is dropped.
    const rejected = await ask();
    clock.advance(MINUTE);
    await desk.resolve({ approvalId: rejected.approval!.id, verdict: 'reject', approver: LEAD, comment: 'no', caller: 'ui' });
    expect(await core.parts.usage!.charge(rejected.decisionId)).toBeUndefined();

    // Approved, then used a minute later: consumed, resolved when approved, the request's reservation dropped.
    clock.advance(MINUTE);
    const approved = await ask();
    clock.advance(MINUTE);
    await desk.resolve({ approvalId: approved.approval!.id, verdict: 'approve', approver: LEAD, comment: '', caller: 'ui' });
    // Approved, not yet used: the request still holds its reservation.
    expect(await core.audit.verifyState()).toEqual([]);
    clock.advance(MINUTE);
    const used = await decide(core, { ...modelCall(SAM, 'standard-m', 100), context: { environment: 'prod', approval_id: approved.approval!.id } });
    expect(used.decision).toBe('allow');
    expect(await core.parts.usage!.charge(approved.decisionId)).toBeUndefined();

    // Two approvers needed: after the first the request is still pending, not resolved.
    const large = await decide(core, transfer(150_000));
    await desk.resolve({ approvalId: large.approval!.id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'ui' });
    expect((await desk.get(large.approval!.id))?.state).toBe('pending');
    expect(await core.audit.verifyState()).toEqual([]);

    // Approved and never used: it expires later than it was resolved.
    const unused = await decide(core, transfer(40_000));
    clock.advance(MINUTE);
    await desk.resolve({ approvalId: unused.approval!.id, verdict: 'approve', approver: SECOND_MANAGER, comment: '', caller: 'ui' });

    // Left pending: expires with its reservation.
    clock.advance(MINUTE);
    const expiring = await ask();
    clock.advance(4 * HOUR + 1000);
    expect(await desk.sweep()).toBeGreaterThanOrEqual(3);
    expect((await desk.get(unused.approval!.id))?.state).toBe('expired');
    expect(await core.parts.usage!.charge(expiring.decisionId)).toBeUndefined();

    // Reported while waiting, then rejected: a settled charge is not released.
    const reported = await ask();
    await report(core, reported.decisionId, SAM, 40, clock.now().getTime());
    await desk.resolve({ approvalId: reported.approval!.id, verdict: 'reject', approver: LEAD, comment: '', caller: 'ui' });
    expect((await core.parts.usage!.charge(reported.decisionId))?.state).toBe('settled');

    // A caller gone after its decision was recorded: the reservation is released by a usage entry.
    const gone = await decide(core, modelCall(WHO, 'standard-m', 100));
    await new Meter(core.parts.usage!, core.parts.ledger, clock.now).release(gone.decisionId, 'gw');
    expect(await core.parts.usage!.charge(gone.decisionId)).toBeUndefined();

    expect(await core.audit.verifyState()).toEqual([]);
    await stop(core);
    expect(verified(file)).toEqual([]);
  });

  it('a settlement of a decision this chain did not reserve (a shared store) is kept apart, attributed from its entry', async () => {
    const core = await open(join(tempDir(), 'ledger.db'));
    const charge = {
      ...WHO,
      decisionId: 'elsewhere-1',
      model: 'standard-m',
      tier: 'standard',
      state: 'reserved' as const,
      tokens: 101,
      costMicros: 1500,
      inputTokens: null,
      outputTokens: null,
      atMs: T0 - 5 * MINUTE,
      maxOutputTokens: 100,
      estimatedInputTokens: 1,
      caller: 'gw',
      askedModel: 'standard-m',
    };
    const settled = { ...WHO, decisionId: 'elsewhere-1', model: 'standard-m', tier: 'standard', inputTokens: 3, outputTokens: 40, costMicros: 700, atMs: T0 };
    await core.parts.ledger.append(settlementRecord(charge, settled, 'gw', new Date(T0)));
    const derived = deriveState(core.parts.ledger.db);
    expect(derived.charges.has('elsewhere-1')).toBe(false);
    expect(derived.recordsUsage).toBe(true);
    expect(derived.foreignSettlements.get('elsewhere-1')).toEqual({
      decisionId: 'elsewhere-1',
      subject: 'tess',
      team: 'platform',
      costCenter: 'cc-100',
      atMs: T0 - 5 * MINUTE,
      model: 'standard-m',
      tier: 'standard',
      tokens: 43,
      costMicros: 700,
      inputTokens: 3,
      outputTokens: 40,
    });
  });
});

describe('rows old enough to have been pruned', () => {
  it('a request row within two hours of the newest entry is missing when deleted, an older one not; a rebuild writes back those within', async () => {
    const file = join(tempDir(), 'ledger.db');
    const clock = new TestClock(T0 - 1);
    const core = await open(file, {}, clock);
    const older = await decide(core, transfer(500));
    clock.set(new Date(T0).toISOString());
    const edge = await decide(core, transfer(500));
    clock.advance(2 * HOUR);
    const newest = await decide(core, transfer(500));
    await stop(core);
    editStateTables(file, 'DELETE FROM usage_requests');

    expect(verified(file).map(key)).toEqual([
      ['usage_requests', edge.decisionId, 'missing'],
      ['usage_requests', newest.decisionId, 'missing'],
    ]);
    await openAfterRefusal(file, { state: { rebuild: true } });
    const kept = rows<{ decision_id: string }>(file, 'SELECT decision_id FROM usage_requests ORDER BY at_ms').map((r) => r.decision_id);
    expect(kept).toEqual([edge.decisionId, newest.decisionId]);
    expect(kept).not.toContain(older.decisionId);
  });

  it('a minute bucket within two rolling windows of the newest entry is missing when deleted, an older one not', async () => {
    const settledThen = async (laterMs: number) => {
      const file = join(tempDir(), 'ledger.db');
      const clock = new TestClock(T0);
      const core = await open(file, {}, clock);
      const call = await decide(core, modelCall(WHO, 'standard-m', 100));
      await report(core, call.decisionId, WHO, 40, T0);
      clock.set(new Date(T0 + laterMs).toISOString());
      await decide(core, transfer(500));
      await stop(core);
      editStateTables(file, 'DELETE FROM usage_minute');
      return verified(file);
    };
    const minute = T0 / MINUTE;
    expect((await settledThen(120 * MINUTE)).map(key)).toEqual([
      ['usage_minute', `subject/tess/standard/${minute}`, 'missing'],
      ['usage_minute', `team/platform/standard/${minute}`, 'missing'],
      ['usage_minute', `cost_center/cc-100/standard/${minute}`, 'missing'],
    ]);
    expect(await settledThen(121 * MINUTE)).toEqual([]);
  });
});

describe('refusals and rebuilds name what they found', () => {
  it("a refusal names twenty rows and counts the rest; a rebuild lists a thousand in its state entry, whose header is the server's", async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    await decide(first, transfer(500));
    await stop(first);
    editStateTables(
      file,
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001)
       INSERT INTO usage_daily(scope, key, tier, day, tokens, cost_micros) SELECT 'team', 'forged-' || i, 'standard', '2026-11-24', 1, 1 FROM n`,
    );
    const err = await refused(() => open(file));
    expect(err.code).toBe('state_mismatch');
    expect(err.message).toContain(
      "disagree with the ledger's chain in 1001 rows: usage_daily team/forged-1/standard/2026-11-24: not made by any entry; usage_daily ",
    );
    expect(err.message.match(/: not made by any entry/g)).toHaveLength(20);
    expect(err.message).toContain(
      ' and 981 more. Nothing is served from state the chain does not add up to: restore the file, or start with --rebuild-state to recompute the tables from the chain (recorded in the ledger)',
    );

    const rebuilt = await openAfterRefusal(file, { state: { rebuild: true } });
    expect(rebuilt.state.mismatches).toHaveLength(1001);
    const entry = rebuilt.parts.ledger.db.prepare("SELECT e.*, p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'state'").get() as Record<
      string,
      unknown
    > & { body: string };
    expect(entry).toMatchObject({
      subject_id: '',
      subject_type: '',
      team: '',
      cost_center: '',
      action_type: 'state.rebuilt',
      resource: '',
      decision: 'rebuilt',
      reason_codes: '[]',
      bundle: '',
      revision: '',
      digest: '',
      entrypoint: '',
      request_id: '',
      caller: 'gavel',
    });
    const state = JSON.parse(entry.body).state as { event: string; reason: string; mismatches: number; rows: unknown[] };
    expect(state).toMatchObject({ event: 'rebuilt', reason: 'started with --rebuild-state', mismatches: 1001 });
    expect(state.rows).toHaveLength(1000);
    expect(state.rows[0]).toEqual({ table: 'usage_daily', key: 'team/forged-1/standard/2026-11-24', problem: 'unrecorded' });
  });

  it('twenty rows are all named, with nothing more to count', () => {
    const some = (n: number): StateMismatch[] => Array.from({ length: n }, (_, i) => ({ table: 'approvals', key: `a${i}`, problem: 'changed' }));
    expect(refusalOf(some(20), 'f.db').message).toContain('approvals a19: changed. Nothing is served');
    expect(refusalOf(some(21), 'f.db').message).toContain('approvals a19: changed and 1 more. Nothing is served');
    expect(refusalOf(some(1), 'f.db').message).toContain("disagree with the ledger's chain in 1 row: approvals a0: changed. Nothing");
  });
});

describe('rebuilds', () => {
  it('with metering off rewrite the approvals and leave the usage tables as they are', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    const id = (await decide(first, transfer(40_000))).approval!.id;
    await decide(first, modelCall(WHO, 'standard-m', 100));
    await stop(first);
    editStateTables(file, `UPDATE approvals SET state = 'approved' WHERE id = '${id}'`);
    const before = rows(file, 'SELECT * FROM usage_charges');
    const rebuilt = await openAfterRefusal(file, { usage: false, state: { rebuild: true } });
    expect(rebuilt.state.mismatches.map(key)).toEqual([['approvals', id, 'changed']]);
    expect((await rebuilt.parts.approvals!.get(id))?.state).toBe('pending');
    await stop(rebuilt);
    expect(rows(file, 'SELECT * FROM usage_charges')).toEqual(before);
  });

  it('remove an approval row that no entry made, in a chain without approvals', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    await decide(first, transfer(500));
    await stop(first);
    editStateTables(
      file,
      `INSERT INTO approvals(
        id, state, fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center, action_type, resource, params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest, votes, resolved_ms, consumed_by)
       VALUES ('forged', 'approved', 'fp', 'fiona', 'user', '', 'finance', 'cc-200', 'tool.call', 'payments.transfer',
         '{}', '[]', 1, ${T0}, ${T0 + HOUR}, 'd', 'gw', 'ai', 'r', 'g', '[]', ${T0}, NULL)`,
    );
    expect(verified(file).map(key)).toEqual([['approvals', 'forged', 'unrecorded']]);
    await stop(await openAfterRefusal(file, { state: { rebuild: true } }));
    expect(rows(file, 'SELECT id FROM approvals')).toEqual([]);
  });
});

describe('a chain that does not record usage', () => {
  /** A file an older gavel wrote: a decision in the chain, metering off. */
  async function older(): Promise<string> {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, { usage: false });
    expect((await decide(core, transfer(500))).decision).toBe('allow');
    await stop(core);
    return file;
  }

  function withUsageTables(file: string, sql = ''): void {
    const db = new Database(file);
    new SqliteUsageStore(db, usageConfig());
    db.exec(sql);
    db.close();
  }

  const stateEntries = (file: string) => rows<{ body: string }>(file, "SELECT p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'state'");

  it('with no usage tables, or empty ones, starts metering without a baseline', async () => {
    const bare = await older();
    expect((await open(bare)).state).toMatchObject({ baselined: false, mismatches: [] });
    const empty = await older();
    withUsageTables(empty);
    expect((await open(empty)).state).toMatchObject({ baselined: false, mismatches: [] });
    expect(stateEntries(bare)).toEqual([]);
    expect(stateEntries(empty)).toEqual([]);
  });

  it('holding only a request row, or only a live reservation (no request table), records it as the baseline (expiry kept)', async () => {
    const requestOnly = await older();
    withUsageTables(
      requestOnly,
      `INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES ('old-1', 'tess', 'payments.transfer', 'allow', ${T0})`,
    );
    const reservationOnly = await older();
    withUsageTables(
      reservationOnly,
      `INSERT INTO usage_charges(decision_id, subject, team, cost_center, model, tier, at_ms, state, tokens, cost_micros, expires_ms,
         max_output_tokens, estimated_input_tokens, caller, asked_model)
       VALUES ('old-2', 'tess', 'platform', 'cc-100', 'standard-m', 'standard', ${T0}, 'reserved', 600, 9, ${T0 + 60_000}, 100, 1, 'gw', 'standard-m');
       DROP TABLE usage_requests`,
    );
    // Before its first start with metering, verify does not hold the tables to a chain that never recorded usage.
    expect(verified(reservationOnly)).toEqual([]);

    const first = await open(requestOnly);
    expect(first.state).toMatchObject({ baselined: true, mismatches: [] });
    const second = await open(reservationOnly);
    expect(second.state).toMatchObject({ baselined: true, mismatches: [] });
    await stop(first);
    await stop(second);
    expect(JSON.parse(stateEntries(requestOnly)[0]!.body).state.requests).toEqual([
      { decisionId: 'old-1', subject: 'tess', tool: 'payments.transfer', decision: 'allow', atMs: T0 },
    ]);
    const baseline = JSON.parse(stateEntries(reservationOnly)[0]!.body).state;
    expect(baseline.charges).toMatchObject([{ decisionId: 'old-2', state: 'reserved', expiresMs: T0 + 60_000 }]);
    expect(baseline.requests).toEqual([]);
    expect((await open(reservationOnly)).state).toMatchObject({ baselined: false, mismatches: [] });
  });

  it('an empty chain does not vouch for usage rows something else wrote: refused, not recorded as a baseline; a rebuild clears them', async () => {
    const file = join(tempDir(), 'ledger.db');
    // A settled charge with the buckets it would add up to: consistent, but no entry made it.
    withUsageTables(
      file,
      `INSERT INTO usage_charges(decision_id, subject, team, cost_center, model, tier, at_ms, state, tokens, cost_micros, input_tokens, output_tokens)
         VALUES ('forged', 'tess', 'platform', 'cc-100', 'standard-m', 'standard', ${T0}, 'settled', 5, 5, 1, 4);
       INSERT INTO usage_daily(scope, key, tier, day, tokens, cost_micros)
         VALUES ('subject', 'tess', 'standard', '2026-11-24', 5, 5), ('team', 'platform', 'standard', '2026-11-24', 5, 5), ('cost_center', 'cc-100', 'standard', '2026-11-24', 5, 5)`,
    );
    const err = await refused(() => open(file));
    expect(err.message).toContain('usage_charges forged: not made by any entry');
    expect(err.message).toContain('usage_daily team/platform/standard/2026-11-24: not made by any entry');
    expect(stateEntries(file)).toEqual([]);

    const rebuilt = await openAfterRefusal(file, { state: { rebuild: true } });
    expect(rebuilt.state.baselined).toBe(false);
    await stop(rebuilt);
    expect(rows(file, 'SELECT * FROM usage_charges')).toEqual([]);
    expect(rows(file, 'SELECT * FROM usage_daily')).toEqual([]);
  });

  it('a rebuild recorded before metering began is not a baseline: usage rows found later are still recorded as one', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file, { usage: false });
    const id = (await decide(first, transfer(40_000))).approval!.id;
    await stop(first);
    editStateTables(file, `UPDATE approvals SET state = 'approved' WHERE id = '${id}'`);
    const rebuilt = await openAfterRefusal(file, { usage: false, state: { rebuild: true } });
    expect(rebuilt.state.mismatches.map(key)).toEqual([['approvals', id, 'changed']]);
    await stop(rebuilt);

    withUsageTables(
      file,
      `INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES ('old-1', 'fiona', 'payments.transfer', 'allow', ${T0})`,
    );
    expect((await open(file)).state).toMatchObject({ baselined: true, mismatches: [] });
    expect(stateEntries(file).map((e) => JSON.parse(e.body).state.event)).toEqual(['rebuilt', 'baseline']);
  });
});

describe('what the file records', () => {
  it("verify buckets days in the zone the file's usage was kept in, not UTC", async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, { usage: { timeZone: 'Pacific/Kiritimati' } });
    const call = await decide(core, modelCall(WHO, 'standard-m', 100));
    await report(core, call.decisionId, WHO, 40, T0);
    await stop(core);
    // 10:00 UTC is already the next day at UTC+14.
    expect(rows(file, 'SELECT DISTINCT day FROM usage_daily')).toEqual([{ day: '2026-11-25' }]);
    expect(verified(file)).toEqual([]);

    const db = new Database(':memory:');
    expect(bucketZone(db, 'Europe/Paris')).toBe('Europe/Paris');
    db.exec('CREATE TABLE usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    expect(bucketZone(db, 'Europe/Paris')).toBe('Europe/Paris');
    db.close();
  });

  it('a file from before header version 2 (no kind column) is read as decisions', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file);
    await decide(core, modelCall(WHO, 'standard-m', 100));
    await decide(core, transfer(500));
    await stop(core);
    const old = join(tempDir(), 'old.db');
    copyFileSync(file, old);
    editStateTables(old, 'DROP INDEX entries_kind; ALTER TABLE entries DROP COLUMN kind');

    const db = new Database(old, { readonly: true });
    try {
      const derived = deriveState(db);
      expect([derived.charges.size, derived.requests.size]).toEqual([1, 2]);
      expect(stateMismatches(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('an erased payload is counted, and the rows it vouched for are taken as the tables hold them (an erasure is not a disagreement)', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, { usage: false });
    const allowed = await decide(core, transfer(500));
    const asked = await decide(core, transfer(40_000));
    const id = asked.approval!.id;
    await core.parts.approvals!.resolve({ approvalId: id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'ui' });
    await stop(core);
    editStateTables(
      file,
      `DELETE FROM payloads WHERE seq IN (SELECT seq FROM entries WHERE decision_id = '${allowed.decisionId}'
         OR (kind = 'approval' AND request_id = '${id}' AND decision = 'requested'))`,
      ['payloads_no_delete'],
    );
    const db = new Database(file, { readonly: true });
    try {
      const derived = deriveState(db);
      expect(derived.erased).toBe(2);
      expect(derived.erasedKeys).toEqual(new Set([allowed.decisionId, id]));
      // The approval is the table's own row: the chain can no longer say what it was asked for.
      expect(derived.approvals.get(id)).toMatchObject({ id, state: 'approved' });
      expect(stateMismatches(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("a request entry without params (written before requests recorded them) takes them from the requesting decision's payload", async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file);
    const asked = await decide(core, transfer(40_000));
    const id = asked.approval!.id;
    await stop(core);
    const [requested] = rows<{ seq: number; body: string }>(
      file,
      "SELECT e.seq, p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'approval' AND e.decision = 'requested'",
    );
    const payload = JSON.parse(requested!.body) as { approval: JsonObject };
    expect(payload.approval.params).toEqual({ amount: 40_000, currency: 'USD', to_account: 'ACME-001' });
    delete payload.approval.params;
    editStateTables(file, `UPDATE payloads SET body = '${canonicalJson(payload as unknown as JsonObject)}' WHERE seq = ${requested!.seq}`, [
      'payloads_no_update',
    ]);
    expect(verified(file)).toEqual([]);

    // Without the decision's payload either, the params are unknown: the row is named, not trusted.
    editStateTables(file, `DELETE FROM payloads WHERE seq = (SELECT seq FROM entries WHERE decision_id = '${asked.decisionId}')`, ['payloads_no_delete']);
    expect(verified(file).map(key)).toEqual([['approvals', id, 'changed']]);
  });
});

describe('a dropped state table', () => {
  it('is refused at start, its rows missing; rebuilt, the tables are back and an exhausted team stays denied', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    const call = await decide(first, modelCall(EXHAUSTED, 'standard-m', 4990));
    await report(first, call.decisionId, EXHAUSTED, 4990, T0);
    expect((await decide(first, modelCall(EXHAUSTED, 'standard-m', 100))).decision).toBe('deny');
    const pending = (await decide(first, transfer(40_000))).approval!.id;
    await stop(first);
    editStateTables(file, 'DROP TABLE usage_charges; DROP TABLE usage_daily; DROP TABLE usage_minute; DROP TABLE usage_requests; DROP TABLE approvals');

    const named = verified(file);
    for (const table of ['usage_charges', 'usage_daily', 'usage_minute', 'usage_requests', 'approvals']) {
      expect(named.filter((m) => m.table === table && m.problem === 'missing').length).toBeGreaterThan(0);
    }
    expect(named.every((m) => m.problem === 'missing')).toBe(true);
    // With every usage table gone the file looks like a replica's whose usage is kept in PostgreSQL:
    // verify compares its approvals only; the server, which knows where its usage is kept, refuses.
    const bare = join(tempDir(), 'bare.db');
    copyFileSync(file, bare);
    editStateTables(bare, 'DROP TABLE usage_meta');
    expect(verified(bare).map((m) => m.table)).toEqual(['approvals']);
    const err = await refused(() => open(file));
    expect(err.message).toContain(`usage_charges ${call.decisionId}: missing (the chain has it)`);
    expect(err.message).toContain(`approvals ${pending}: missing (the chain has it)`);

    const rebuilt = await openAfterRefusal(file, { state: { rebuild: true } });
    expect((await decide(rebuilt, modelCall(EXHAUSTED, 'standard-m', 100))).decision).toBe('deny');
    expect((await decide(rebuilt, transfer(40_000, { approvalId: pending }))).approval?.state).toBe('pending');
    await stop(rebuilt);
    expect(verified(file)).toEqual([]);
  });

  it('under a running server is noticed before the next read and made again from the chain', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, { state: { checkMs: 60_000 } });
    const call = await decide(core, modelCall(EXHAUSTED, 'standard-m', 4990));
    await report(core, call.decisionId, EXHAUSTED, 4990, T0);
    editStateTables(file, 'DROP TABLE usage_charges; DROP TABLE usage_daily; DROP TABLE usage_minute');
    expect((await decide(core, modelCall(EXHAUSTED, 'standard-m', 100))).decision).toBe('deny');
    expect(await core.audit.verifyState()).toEqual([]);
  });
});

/** The reference bundle with one seat (sam) whose monthly spend needs a team lead's approval from the first cent (test/approvals/reservations.test.ts). */
function withSeatApproval(bundles: Bundle[]): Bundle[] {
  return bundles.map((b) => {
    if (b.name !== 'ai') return b;
    const data = structuredClone(b.data) as { gavel: { ai_config: { budgets: { seat_monthly_spend: { by_subject: Record<string, unknown> } } } } };
    data.gavel.ai_config.budgets.seat_monthly_spend.by_subject.sam = { approval_at: 0.000001, cap_at: 0.002 };
    return { ...b, data } as Bundle;
  });
}
