import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/audit.js';
import { mismatchSummary } from '../../src/state/check.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { MANAGER, transfer } from '../approvals/helpers.js';
import { clients, unary } from '../helpers/client.js';
import { BUNDLES, GAVEL_BIN, tempDir } from '../helpers/paths.js';
import { startInProcess } from '../helpers/server.js';

/**
 * `gavel audit verify` and AuditService.Verify recompute the approval and usage
 * tables from the chain and name each row that disagrees (on the old code
 * verify said ok after every one of these edits); verify reads a read-only copy;
 * serve on a folder it cannot write names the file.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

/**
 * The two read-only cases run gavel as user `nobody` (runuser): only as root, and only where nobody
 * can reach this checkout (a clone inside a private `mktemp -d` folder is out of its reach).
 */
const nobodyCanRun = process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', GAVEL_BIN]).status === 0;

function decide(core: Runtime, input: unknown) {
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
}

/** A ledger with an approved request, a pending one and a model call, then closed. */
async function ledgerWithState(): Promise<{ file: string; approved: string; pending: string }> {
  const file = join(tempDir(), 'ledger.db');
  const core = await startRuntime({ bundles: BUNDLES, ledger: file });
  const approved = (await decide(core, transfer(20_000))).approval!.id;
  await core.parts.approvals!.resolve({ approvalId: approved, verdict: 'approve', approver: MANAGER, comment: 'ok', caller: 'ui' });
  const pending = (await decide(core, transfer(30_000))).approval!.id;
  const call = {
    subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
    action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 50 } },
    content: { prompt: 'hi' },
  };
  expect((await decide(core, call)).decision).toBe('allow');
  await core.stop();
  return { file, approved, pending };
}

function editor(file: string, sql: string): void {
  const db = new Database(file);
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_writer_%'").all() as Array<{ name: string }>) {
    db.exec(`DROP TRIGGER ${name}`);
  }
  db.exec(sql);
  db.close();
}

describe('gavel audit verify', () => {
  it('says the tables agree with the chain, and names every row that does not once edited', async () => {
    const { file, approved, pending } = await ledgerWithState();
    const clean = verifyCommand({ ledger: file });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('approval and usage tables agree with the chain');

    editor(
      file,
      `UPDATE approvals SET state = 'approved', votes = '[]' WHERE id = '${pending}';
       DELETE FROM approvals WHERE id = '${approved}';
       DELETE FROM usage_charges; DELETE FROM usage_daily;`,
    );
    const text = verifyCommand({ ledger: file });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('FAILED (state): the chain verified');
    expect(text.stdout).toContain(`approvals ${pending}: changed`);
    expect(text.stdout).toContain(`approvals ${approved}: missing`);
    expect(text.stdout).toMatch(/usage_charges [0-9a-f-]{36}: missing/);

    const json = JSON.parse(verifyCommand({ ledger: file, json: true }).stdout) as { ok: boolean; failure_kind: string; state_mismatches: unknown[] };
    expect(json.ok).toBe(false);
    expect(json.failure_kind).toBe('state');
    expect(json.state_mismatches).toContainEqual({ table: 'approvals', key: pending, problem: 'changed' });
    expect(json.state_mismatches).toContainEqual({ table: 'approvals', key: approved, problem: 'missing' });
  });

  it('AuditService.Verify on a running server names an edited row too', async () => {
    const { file, pending } = await ledgerWithState();
    const srv = await startInProcess({ bundles: BUNDLES, ledger: file, state: { checkMs: 3_600_000 } });
    const c = clients(srv.address);
    try {
      expect(await unary(c.audit, 'Verify', {})).toMatchObject({ ok: true, state_mismatches: [] });
      editor(file, `UPDATE approvals SET state = 'approved' WHERE id = '${pending}'`);
      // Verify reads the file as it is: the edit is named (nothing has read the table since).
      expect(await unary(c.audit, 'Verify', {})).toMatchObject({
        ok: false,
        failure_kind: 'state',
        state_mismatches: [{ table: 'approvals', key: pending, problem: 'changed' }],
      });
    } finally {
      c.close();
      await srv.stop();
    }
  });

  it.runIf(nobodyCanRun)('reads a read-only copy in a read-only folder, as an auditor who is not its owner', async () => {
    const { file } = await ledgerWithState();
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const pub = join(dir, 'pub.txt');
    writeFileSync(pub, spawnSync('node', [GAVEL_BIN, 'audit', 'pubkey', '--ledger', file], { encoding: 'utf8' }).stdout);
    const evidence = join(dir, 'evidence');
    mkdirSync(evidence);
    copyFileSync(file, join(evidence, 'ledger.db'));
    chmodSync(join(evidence, 'ledger.db'), 0o444);
    chmodSync(evidence, 0o555);
    const run = spawnSync('runuser', ['-u', 'nobody', '--', 'node', GAVEL_BIN, 'audit', 'verify', '--ledger', join(evidence, 'ledger.db'), '--pubkey', pub], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ok: \d+ entries/);
  });

  it.runIf(nobodyCanRun)('serve on a folder it cannot write names the ledger file and the folder', () => {
    const dir = tempDir();
    chmodSync(dir, 0o555);
    const ledger = join(dir, 'ledger.db');
    const run = spawnSync('runuser', ['-u', 'nobody', '--', 'node', GAVEL_BIN, 'serve', '--ledger', ledger, '--listen', '127.0.0.1:0'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain(`ledger ${ledger} cannot be opened for writing`);
    expect(run.stderr).toContain(`in ${dir}`);
  });

  it('serve refuses a state check interval past a day (a timer beyond 2^31 ms would fire at once, over and over): exit 2', () => {
    const run = spawnSync('node', [GAVEL_BIN, 'serve', '--shared-state-check-seconds', '100000', '--ledger', join(tempDir(), 'l.db')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('must be at most 86400');
  });

  it('a log line counts the disagreeing rows per table and problem, never naming them (bucket keys hold subject ids)', () => {
    const summary = mismatchSummary([
      { table: 'usage_daily', key: 'subject/jane@example.com/standard/2026-11-24', problem: 'changed' },
      { table: 'usage_daily', key: 'team/t/standard/2026-11-24', problem: 'changed' },
      { table: 'approvals', key: 'a1', problem: 'missing' },
    ]);
    expect(summary).toEqual({ 'usage_daily changed': 2, 'approvals missing': 1 });
    expect(JSON.stringify(summary)).not.toContain('jane');
  });
});
