import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/audit.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import type { StateCheckResult } from '../../src/state/check.js';
import { applyReport } from '../../src/usage/report.js';
import { transfer } from '../approvals/helpers.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { editStateTables } from '../helpers/state-edit.js';
import { modelCall, usageReport } from '../usage/helpers.js';

/**
 * Every state table of the embedded store, edited, inserted into and deleted
 * from, with the server stopped (the start refuses, naming the row; `audit
 * verify` names it too) and while it runs (the edit is found before the next
 * read, rebuilt from the chain and reported).
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

const WHO = { subject: 'tess', team: 'platform', costCenter: 'cc-100' };

function decide(core: Runtime, input: unknown) {
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
}

/** A ledger holding one row in every state table: a pending approval, a settled and a reserved charge, requests, buckets. */
async function populated(core: Runtime): Promise<void> {
  await decide(core, transfer(40_000));
  const settled = await decide(core, modelCall(WHO, 'standard-m', 100));
  await applyReport(
    {
      store: core.parts.usage!,
      bundles: core.policies.bundles,
      currency: 'USD',
      findDecision: () => undefined,
      reportFactor: 10,
      ledger: core.parts.ledger,
      now: () => new Date(),
    },
    usageReport(settled.decisionId, WHO, 50),
  );
  await decide(core, modelCall(WHO, 'standard-m', 80));
}

/** One edit of each kind per table, as SQL for an editor that dropped gavel's write protection. */
const EDITS: Array<{ table: string; kind: 'edit' | 'insert' | 'delete'; sql: string; problem: string }> = [
  { table: 'approvals', kind: 'edit', sql: 'UPDATE approvals SET min_approvals = 0', problem: 'changed' },
  {
    table: 'approvals',
    kind: 'insert',
    sql: "INSERT INTO approvals(id, state, fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center, action_type, resource, params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest, votes, resolved_ms, consumed_by) SELECT 'x-forged', state, fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center, action_type, resource, params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest, votes, resolved_ms, consumed_by FROM approvals",
    problem: 'not made by any entry',
  },
  { table: 'approvals', kind: 'delete', sql: 'DELETE FROM approvals', problem: 'missing' },
  { table: 'usage_charges', kind: 'edit', sql: "UPDATE usage_charges SET cost_micros = 0 WHERE state = 'reserved'", problem: 'changed' },
  {
    table: 'usage_charges',
    kind: 'insert',
    sql: "INSERT INTO usage_charges(decision_id, subject, team, cost_center, model, tier, at_ms, state, tokens, cost_micros, input_tokens, output_tokens, expires_ms, max_output_tokens, estimated_input_tokens, caller, asked_model) SELECT 'x-forged', subject, team, cost_center, model, tier, at_ms, state, tokens, cost_micros, input_tokens, output_tokens, expires_ms, max_output_tokens, estimated_input_tokens, caller, asked_model FROM usage_charges LIMIT 1",
    problem: 'not made by any entry',
  },
  { table: 'usage_charges', kind: 'delete', sql: "DELETE FROM usage_charges WHERE state = 'settled'", problem: 'missing' },
  { table: 'usage_requests', kind: 'edit', sql: "UPDATE usage_requests SET decision = 'allow'", problem: 'changed' },
  {
    table: 'usage_requests',
    kind: 'insert',
    sql: "INSERT INTO usage_requests SELECT 'x-forged', subject, tool, decision, at_ms FROM usage_requests LIMIT 1",
    problem: 'not made by any entry',
  },
  { table: 'usage_requests', kind: 'delete', sql: 'DELETE FROM usage_requests', problem: 'missing' },
  { table: 'usage_daily', kind: 'edit', sql: 'UPDATE usage_daily SET tokens = 0', problem: 'changed' },
  {
    table: 'usage_daily',
    kind: 'insert',
    sql: "INSERT INTO usage_daily VALUES ('team', 'x-forged', 'standard', '2026-01-01', 1, 1)",
    problem: 'not made by any entry',
  },
  { table: 'usage_daily', kind: 'delete', sql: 'DELETE FROM usage_daily', problem: 'missing' },
  { table: 'usage_minute', kind: 'edit', sql: 'UPDATE usage_minute SET cost_micros = 0', problem: 'changed' },
  {
    table: 'usage_minute',
    kind: 'insert',
    sql: "INSERT INTO usage_minute SELECT 'team', 'x-forged', tier, minute, 1, 1 FROM usage_minute LIMIT 1",
    problem: 'not made by any entry',
  },
  { table: 'usage_minute', kind: 'delete', sql: 'DELETE FROM usage_minute', problem: 'missing' },
];

describe.each(EDITS)('$table, $kind', ({ table, sql, problem }) => {
  it('with the server stopped: the start is refused and verify fails, each naming the row', async () => {
    const file = join(tempDir(), 'ledger.db');
    const first = await startRuntime({ bundles: BUNDLES, ledger: file });
    await populated(first);
    await first.stop();
    expect(editStateTables(file, sql)).toBeGreaterThan(0);

    let refusal: unknown;
    try {
      cores.push(await startRuntime({ bundles: BUNDLES, ledger: file }));
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(GavelError);
    expect((refusal as GavelError).message).toMatch(new RegExp(`${table} \\S+: ${problem}`));
    // Let the refused start let go of the file before verify opens it.
    await new Promise((r) => setTimeout(r, 200));
    const verified = verifyCommand({ ledger: file });
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`  ${table} \\S+: ${problem === 'not made by any entry' ? 'unrecorded' : problem}`));
  });

  it('while the server runs: found before the next read, rebuilt from the chain and reported', async () => {
    const file = join(tempDir(), 'ledger.db');
    const repaired: StateCheckResult[] = [];
    const core = await startRuntime({ bundles: BUNDLES, ledger: file, state: { checkMs: 3_600_000, onRepaired: (r) => repaired.push(r) } });
    cores.push(core);
    await populated(core);
    const before = await core.audit.verifyState();
    expect(before).toEqual([]);
    expect(editStateTables(file, sql)).toBeGreaterThan(0);
    // The next decision reads the state tables (usage and approvals): the guard checks first.
    await decide(core, modelCall(WHO, 'standard-m', 10));
    expect(repaired.flatMap((r) => r.mismatches.map((m) => m.table))).toContain(table);
    expect(await core.audit.verifyState()).toEqual([]);
  });
});
