import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';
import { verifierOf } from '../../src/ledger/keys.js';
import { verifyInclusionBundle } from '../../src/ledger/proofs.js';
import { ThreadedLedger } from '../../src/ledger/threaded.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import type { StateCheckResult } from '../../src/state/check.js';
import { MANAGER, transfer } from '../approvals/helpers.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { editStateTables } from '../helpers/state-edit.js';
import { modelCall, TestClock } from '../usage/helpers.js';

/**
 * `ledger.thread` (`gavel serve --ledger-thread`, off by default): the ledger file is written by a thread of its own
 * (ledger/threaded.ts) and the serving thread only reads it. What is recorded must not change: every
 * answer's entry committed before it leaves, budgets exact, the state tables this server's alone
 * (a foreign write repaired on the writer thread and recorded), proofs, erasure, and a file that a
 * server without the thread carries on.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

const T0 = Date.parse('2026-11-24T10:00:00Z');
const TEAM = { subject: 'tess', team: 'budget-test', costCenter: 'cc-edge' };
const THREAD = { ledgerOptions: { thread: true } };

async function open(file: string, extra: Partial<RuntimeConfig> = {}): Promise<Runtime> {
  const core = await startRuntime({ bundles: BUNDLES, ledger: file, now: new TestClock(T0).now, ...extra });
  cores.push(core);
  return core;
}

function decide(core: Runtime, input: unknown) {
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
}

function entryAt(file: string, seq: number): { decision_id: string; entry_hash: string } | undefined {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT decision_id, entry_hash FROM entries WHERE seq = ?').get(seq) as { decision_id: string; entry_hash: string } | undefined;
  } finally {
    db.close();
  }
}

describe('a server whose ledger is written by its own thread', () => {
  it('answers with receipts of committed entries, keeps budgets exact, and its serving connection cannot write state', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, THREAD);
    expect(core.parts.ledger).toBeInstanceOf(ThreadedLedger);

    // Many at once: one group commit on the writer thread per turn; each receipt names its own entry.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => decide(core, modelCall({ ...TEAM, subject: `s${i}`, team: `t${i}` }, 'standard-m', 10))),
    );
    expect(answers.map((a) => a.decision)).toEqual(answers.map(() => 'allow'));
    expect(new Set(answers.map((a) => a.receipt!.seq)).size).toBe(40);
    for (const a of answers) expect(entryAt(file, a.receipt!.seq)).toEqual({ decision_id: a.decisionId, entry_hash: a.receipt!.entryHash });

    // The team's 5,000 tokens a week: a reservation of 4,990 holds, the next 100 do not fit.
    expect((await decide(core, modelCall(TEAM, 'standard-m', 4990))).decision).toBe('allow');
    const over = await decide(core, modelCall(TEAM, 'standard-m', 100));
    expect(over.decision).toBe('deny');

    // This thread's connection writes nothing at all, state or not.
    expect(() => core.parts.ledger.db.prepare('DELETE FROM usage_requests').run()).toThrow(/readonly/);
    expect(() => core.parts.ledger.db.prepare("INSERT INTO meta(key, value) VALUES ('x', 'y')").run()).toThrow(/readonly/);
    const verified = await core.audit.verify();
    expect(verified).toMatchObject({ ok: true, entries: core.audit.size });
    expect(await core.audit.verifyState()).toEqual([]);
  });

  it('holds the file: a second server on it is refused while the thread writes', async () => {
    const file = join(tempDir(), 'ledger.db');
    await open(file, THREAD);
    const err = await open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('ledger_in_use');
  });

  it('an approval approved by an editor is repaired from the chain on the writer thread before the read goes on, and that is recorded', async () => {
    const file = join(tempDir(), 'ledger.db');
    const repaired: StateCheckResult[] = [];
    const core = await open(file, { ...THREAD, state: { onRepaired: (r) => repaired.push(r), checkMs: 60_000 } });
    const pending = await decide(core, transfer(40_000));
    expect(pending.decision).toBe('require_approval');
    const id = pending.approval!.id;
    editStateTables(file, `UPDATE approvals SET state = 'approved', votes = '[]' WHERE id = '${id}'`);

    // The read waits for the repair: the edit is neither honoured nor missed.
    expect((await decide(core, transfer(40_000, { approvalId: id }))).decision).toBe('require_approval');
    expect(repaired.flatMap((r) => r.mismatches.map((m) => [m.table, m.key, m.problem]))).toEqual([['approvals', id, 'changed']]);
    const states = core.parts.ledger.db.prepare("SELECT decision FROM entries WHERE kind = 'state'").pluck().all();
    expect(states).toEqual(['rebuilt']);
    // The protection is back: an editor without the triggers dropped cannot write.
    const db = new Database(file);
    try {
      expect(() => db.prepare("UPDATE approvals SET state = 'approved'").run()).toThrow(/no such function: gavel_writer/);
    } finally {
      db.close();
    }
    await core.parts.approvals!.resolve({ approvalId: id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'ui' });
    expect((await decide(core, transfer(40_000, { approvalId: id }))).decision).toBe('allow');
  });

  it('proves inclusion (signing a checkpoint on the thread when none covers the entry), erases, and the file carries on without the thread', async () => {
    const file = join(tempDir(), 'ledger.db');
    const core = await open(file, { ...THREAD, ledgerOptions: { thread: true, checkpointEvery: 1_000_000, checkpointSeconds: 3600 } });
    const d = await decide(core, modelCall(TEAM, 'standard-m', 10));
    const proof = await core.audit.inclusionProof({ decisionId: d.decisionId });
    expect(verifyInclusionBundle(proof, verifierOf({ name: core.parts.ledger.origin, publicKey: core.parts.ledger.key.publicKey })).checkpoint.size).toBe(
      d.receipt!.seq,
    );

    // A second decision keeps usage in the chain once the first's payload is gone.
    await decide(core, modelCall(TEAM, 'standard-m', 10));
    const erased = await core.audit.erase({ criteria: { decision: d.decisionId }, reason: 'test', basis: 'gdpr-art17', by: 'dpo' });
    expect(erased).toMatchObject({ erased: 1, seqs: [[d.receipt!.seq, d.receipt!.seq]] });
    const size = core.audit.size;
    cores.splice(0);
    await core.stop();

    const again = await open(file);
    expect(again.parts.ledger).not.toBeInstanceOf(ThreadedLedger);
    expect(again.audit.size).toBe(size);
    expect(again.audit.latestCheckpoint().size).toBe(size);
    expect(await again.audit.verify()).toMatchObject({ ok: true, entries: size });
  });

  it('is off by default; fault hooks keep the ledger on the serving thread; a ledger in memory cannot have it', async () => {
    const byDefault = await open(join(tempDir(), 'ledger.db'));
    expect(byDefault.parts.ledger).not.toBeInstanceOf(ThreadedLedger);
    expect(byDefault.stats.ledgerThread).toBe(false);
    expect((await open(join(tempDir(), 'ledger.db'), THREAD)).stats.ledgerThread).toBe(true);
    const faulted = await open(join(tempDir(), 'ledger.db'), { ledgerFaults: {} });
    expect(faulted.parts.ledger).not.toBeInstanceOf(ThreadedLedger);
    expect(faulted.stats.ledgerThread).toBe(false);
    await expect(open(join(tempDir(), 'ledger.db'), { ...THREAD, ledgerFaults: {} })).rejects.toThrow(/config ledger.thread: ledger faults are hooks/);
    expect((await open(':memory:')).stats.ledgerThread).toBe(false);
    await expect(open(':memory:', THREAD)).rejects.toThrow(/config ledger.thread needs a ledger file/);
  });
});
