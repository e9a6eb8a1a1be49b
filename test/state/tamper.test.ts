import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import type { StateCheckResult } from '../../src/state/check.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { editStateTables } from '../helpers/state-edit.js';
import { MANAGER, transfer } from '../approvals/helpers.js';
import { commitStaged, modelCall, TestClock, usageReport, withoutEntry } from '../usage/helpers.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { usageConfig } from '../../src/usage/config.js';

/**
 * No state outside the chain decides (issue 24, findings 1 and 2): the approval
 * and usage tables are edited, inserted into and deleted from by another
 * program, with the server stopped and while it runs, and gavel must neither
 * honour the change nor miss it. On the old code each of these edits changed
 * the next decision (a pending 40,000 transfer allowed; an exhausted team
 * allowed again) and nothing noticed.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

const T0 = Date.parse('2026-11-24T10:00:00Z');
const TEAM = { subject: 'tess', team: 'budget-test', costCenter: 'cc-edge' };

async function open(file: string, extra: Partial<RuntimeConfig> = {}, clock = new TestClock(T0)) {
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

async function refusal(run: () => unknown): Promise<GavelError> {
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

function kinds(core: Runtime, kind: string): Array<{ decision: string; body: string }> {
  return core.parts.ledger.db
    .prepare('SELECT e.decision, p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = ? ORDER BY e.seq')
    .all(kind) as Array<{ decision: string; body: string }>;
}

/** A 40,000 transfer waiting for one finance manager. */
async function pendingTransfer(core: Runtime): Promise<string> {
  const d = await decide(core, transfer(40_000));
  expect(d.decision).toBe('require_approval');
  return d.approval!.id;
}

/** Team budget-test (5,000 tokens a week) spent by one reported call: the next call is denied. */
async function exhaustedTeam(core: Runtime): Promise<void> {
  const d = await decide(core, modelCall(TEAM, 'standard-m', 4990));
  expect(d.decision).toBe('allow');
  // Reported as the gateway would (UsageService.Report runs applyReport the same way).
  const { applyReport } = await import('../../src/usage/report.js');
  await applyReport(
    {
      store: core.parts.usage!,
      bundles: core.policies.bundles,
      currency: 'USD',
      findDecision: () => undefined,
      reportFactor: 10,
      ledger: core.parts.ledger,
      now: () => new Date(T0),
    },
    usageReport(d.decisionId, TEAM, 4990),
  );
  expect((await decide(core, modelCall(TEAM, 'standard-m', 100))).decision).toBe('deny');
}

describe('with the server stopped', () => {
  it('an approval set to approved is refused at start, named; --rebuild-state restores it from the chain and records that it did', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    const id = await pendingTransfer(first);
    await stop(first);
    editStateTables(file, `UPDATE approvals SET state = 'approved', votes = '[]' WHERE id = '${id}'`);

    const err = await refusal(() => open(file));
    expect(err.code).toBe('state_mismatch');
    expect(err.message).toContain(`approvals ${id}: changed`);

    const rebuilt = await openAfterRefusal(file, { state: { rebuild: true } });
    expect(rebuilt.state.mismatches.map((m) => [m.table, m.key, m.problem])).toEqual([['approvals', id, 'changed']]);
    const [event] = kinds(rebuilt, 'state');
    expect(event?.decision).toBe('rebuilt');
    expect(JSON.parse(event!.body).state.rows).toEqual([{ table: 'approvals', key: id, problem: 'changed' }]);
    // The retry carrying the approval still waits: nobody approved it.
    const retry = await decide(rebuilt, transfer(40_000, { approvalId: id }));
    expect(retry.decision).toBe('require_approval');
    expect(retry.approval?.state).toBe('pending');
  });

  it('an invented approved row (for a transfer that never asked) is refused as made by no entry', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    const id = await pendingTransfer(first);
    await stop(first);
    editStateTables(
      file,
      `INSERT INTO approvals(id, state, fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center, action_type, resource, params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest, votes, resolved_ms, consumed_by)
       SELECT 'forged', 'approved', fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center, action_type, resource,
         params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest, '[]', resolved_ms, consumed_by
       FROM approvals WHERE id = '${id}'`,
    );
    const err = await refusal(() => open(file));
    expect(err.message).toContain('approvals forged: not made by any entry');
  });

  it('a deleted approval is refused as missing', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    const id = await pendingTransfer(first);
    await stop(first);
    editStateTables(file, `DELETE FROM approvals WHERE id = '${id}'`);
    expect((await refusal(() => open(file))).message).toContain(`approvals ${id}: missing (the chain has it)`);
  });

  it('deleting every usage table does not reset an exhausted budget: refused at start; rebuilt, the team is still denied', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    await exhaustedTeam(first);
    await stop(first);
    editStateTables(file, 'DELETE FROM usage_charges; DELETE FROM usage_daily; DELETE FROM usage_minute; DELETE FROM usage_requests');

    const err = await refusal(() => open(file));
    expect(err.code).toBe('state_mismatch');
    for (const table of ['usage_charges', 'usage_daily', 'usage_minute', 'usage_requests']) expect(err.message).toContain(`${table} `);

    const rebuilt = await openAfterRefusal(file, { state: { rebuild: true } });
    expect((await decide(rebuilt, modelCall(TEAM, 'standard-m', 100))).decision).toBe('deny');
    await stop(rebuilt);
    // Rebuilt tables agree with the chain: the next start needs no flag.
    expect((await open(file)).state.mismatches).toEqual([]);
  });

  it('an edited settled charge and an inserted usage row are each named', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    await exhaustedTeam(first);
    await stop(first);
    editStateTables(
      file,
      `UPDATE usage_charges SET tokens = 1 WHERE state = 'settled';
       INSERT INTO usage_daily(scope, key, tier, day, tokens, cost_micros) VALUES ('team', 'other', 'standard', '2026-11-24', 5, 5)`,
    );
    const err = await refusal(() => open(file));
    expect(err.message).toMatch(/usage_charges [0-9a-f-]{36}: changed/);
    expect(err.message).toContain('usage_daily team/other/standard/2026-11-24: not made by any entry');
  });
});

describe('while the server runs', () => {
  it('a write to a state table without lifting the protection fails in the editor', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file);
    await pendingTransfer(core);
    const db = new Database(file);
    try {
      expect(() => db.prepare("UPDATE approvals SET state = 'approved'").run()).toThrow(/no such function: gavel_writer/);
      expect(() => db.prepare('DELETE FROM usage_requests').run()).toThrow(/no such function: gavel_writer/);
    } finally {
      db.close();
    }
  });

  it('an approval approved by an editor is ignored and noticed: rebuilt from the chain before it is read, and recorded', async () => {
    const file = join(tempDir(), 'ledger.db');
    const repaired: StateCheckResult[] = [];
    const core = await open(file, { state: { onRepaired: (r) => repaired.push(r), checkMs: 60_000 } });
    const id = await pendingTransfer(core);
    editStateTables(file, `UPDATE approvals SET state = 'approved', votes = '[]' WHERE id = '${id}'`);
    const retry = await decide(core, transfer(40_000, { approvalId: id }));
    expect(retry.decision).toBe('require_approval');
    expect(repaired.flatMap((r) => r.mismatches.map((m) => [m.table, m.key, m.problem]))).toEqual([['approvals', id, 'changed']]);
    expect(kinds(core, 'state').map((e) => e.decision)).toEqual(['rebuilt']);
    // The real approval still works: one manager approves, the retry is allowed once.
    await core.parts.approvals!.resolve({ approvalId: id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'ui' });
    expect((await decide(core, transfer(40_000, { approvalId: id }))).decision).toBe('allow');
  });

  it('deleted usage rows are noticed by the timer and rebuilt: the exhausted team stays denied', async () => {
    const file = join(tempDir(), 'ledger.db');
    const repaired: StateCheckResult[] = [];
    const core = await open(file, { state: { onRepaired: (r) => repaired.push(r), checkMs: 20 } });
    await exhaustedTeam(core);
    editStateTables(file, 'DELETE FROM usage_charges; DELETE FROM usage_daily; DELETE FROM usage_minute');
    await expect.poll(() => repaired.length, { timeout: 5000 }).toBe(1);
    expect(new Set(repaired[0]!.mismatches.map((m) => m.table))).toEqual(new Set(['usage_charges', 'usage_daily', 'usage_minute']));
    expect((await decide(core, modelCall(TEAM, 'standard-m', 100))).decision).toBe('deny');
    const db = new Database(file, { readonly: true });
    try {
      expect((db.prepare("SELECT COUNT(*) AS n FROM usage_charges WHERE state = 'settled'").get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('a retention job that erased payloads', () => {
  it('does not stop the start: the rows the erased entries vouched for are taken as they are, every other row is still checked', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await open(file);
    await exhaustedTeam(first);
    await stop(first);
    // The retention job: every decision payload removed (the chain still verifies; README "Auditing").
    editStateTables(file, "DROP TRIGGER payloads_no_delete; DELETE FROM payloads WHERE seq IN (SELECT seq FROM entries WHERE kind = 'decision')");
    const again = await open(file);
    expect(again.state.mismatches).toEqual([]);
    expect((await decide(again, modelCall(TEAM, 'standard-m', 100))).decision).toBe('deny');
    await stop(again);
    editStateTables(file, 'DELETE FROM usage_daily');
    expect((await refusal(() => open(file))).message).toContain('usage_daily team/budget-test/standard/2026-11-24: missing');
  });
});

describe('a ledger from before usage entries', () => {
  it('records its usage tables once as the baseline entry, then holds them to it', async () => {
    const file = join(tempDir(), 'ledger.db');
    // An older gavel: decisions in the chain, usage in the tables, no usage in the chain.
    const older = await open(file, { usage: false });
    expect((await decide(older, transfer(500))).decision).toBe('allow');
    await stop(older);
    const db = new Database(file);
    const store = new SqliteUsageStore(db, usageConfig());
    const reservation = { ...TEAM, decisionId: 'old-1', model: 'standard-m', tier: 'standard', tokens: 600, costMicros: 9, atMs: T0, expiresMs: T0 + 60_000 };
    const staged = store.stage({
      request: { decisionId: 'old-1', subject: TEAM.subject, tool: '', decision: 'allow', atMs: T0 },
      reservation: { ...reservation, maxOutputTokens: null, estimatedInputTokens: 1, caller: 'gw', askedModel: 'standard-m' },
    });
    commitStaged(db, staged);
    await store.settle(
      { ...TEAM, decisionId: 'old-1', model: 'standard-m', tier: 'standard', inputTokens: 100, outputTokens: 400, costMicros: 9, atMs: T0 },
      withoutEntry(db),
    );
    db.close();

    const upgraded = await open(file);
    expect(upgraded.state).toMatchObject({ baselined: true, mismatches: [] });
    const [baseline] = kinds(upgraded, 'state');
    expect(baseline?.decision).toBe('baseline');
    expect(JSON.parse(baseline!.body).state.charges).toMatchObject([{ decisionId: 'old-1', state: 'settled', tokens: 500 }]);
    await stop(upgraded);

    editStateTables(file, "UPDATE usage_charges SET tokens = 0 WHERE decision_id = 'old-1'");
    expect((await refusal(() => open(file))).message).toContain('usage_charges old-1: changed');
  });
});
