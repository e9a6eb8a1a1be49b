import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import { approvalWire } from '../../src/engine/approvals/wire.js';
import { approvalsDdl, rowOf, SqliteApprovalStore } from '../../src/ledger/approval-table.js';
import { LEDGER_SCHEMA } from '../../src/ledger/schema.js';
import { addColumns, fileVersion, latestVersion, migrateFile, type FileSchema } from '../../src/lib/sqlite-schema.js';
import { RowWriter } from '../../src/ledger/row-writes.js';

/**
 * A throwaway column, added the way a real one is: one entry in the column list (here appended by
 * a mock of engine/approvals/columns.ts, so every module that reads the list sees it) and one
 * schema step. Nothing else changes, and the table, its INSERT, the rows and the wire form carry it;
 * a file at the version before the step gets it when the step runs.
 */
vi.mock('../../src/engine/approvals/columns.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/engine/approvals/columns.js')>();
  return { ...real, APPROVAL_COLUMNS: [...real.APPROVAL_COLUMNS, { column: 'trial_note', field: 'trialNote', kind: 'text', optional: true }] };
});

const NOTE_STEP = {
  version: latestVersion(LEDGER_SCHEMA) + 1,
  what: 'approvals gain a trial note',
  up: (db: Database.Database) => addColumns(db, 'approvals', [['trial_note', 'TEXT']]),
};
const WITH_NOTE: FileSchema = { ...LEDGER_SCHEMA, steps: [...LEDGER_SCHEMA.steps, NOTE_STEP] };

const T0 = Date.parse('2026-11-18T12:00:00Z');
const APPROVAL: Approval = {
  id: 'ap-1',
  state: 'pending',
  fingerprint: 'f'.repeat(64),
  subjectId: 'sam',
  subjectType: 'agent',
  onBehalfOf: '',
  team: 'finance',
  costCenter: 'cc-200',
  actionType: 'tool.call',
  resource: 'payments.transfer',
  params: { amount: 40_000 },
  approvers: ['role:finance-manager'],
  minApprovals: 1,
  createdAtMs: T0,
  expiresAtMs: T0 + 3_600_000,
  requestedBy: 'd-1',
  caller: 'gateway',
  policy: { bundle: 'ai', revision: 'rev-7', digest: 'sha256:abc' },
  votes: [],
};
const noted = (a: Approval, note: string) => ({ ...a, trialNote: note }) as Approval;

describe('a column added to approvals', () => {
  it('is in a new table, its INSERT, its rows and the wire form', async () => {
    const db = new Database(':memory:');
    const store = new SqliteApprovalStore(db);
    expect((db.prepare('PRAGMA table_info(approvals)').all() as Array<{ name: string }>).map((c) => c.name).at(-1)).toBe('trial_note');
    new RowWriter(db).run(store.stage({ next: noted(APPROVAL, 'call finance first'), previous: undefined, entryId: 'e' }).writes);
    expect(db.prepare('SELECT trial_note FROM approvals').get()).toEqual({ trial_note: 'call finance first' });
    expect(await store.get('ap-1')).toEqual(noted(APPROVAL, 'call finance first'));
    expect(approvalWire(noted(APPROVAL, 'call finance first'), false)).toMatchObject({ trial_note: 'call finance first', approval_id: 'ap-1' });
    expect(approvalWire(APPROVAL, false)).toMatchObject({ trial_note: '' });
  });

  it('reaches a file at the version before its step when the step runs; its old rows read without it', async () => {
    // A file as this gavel makes it: at the last version, an approvals table without the column, one row in it.
    const db = new Database(':memory:');
    migrateFile(db, LEDGER_SCHEMA);
    const before = approvalsDdl().replace(',\n  trial_note TEXT', '');
    expect(before).not.toContain('trial_note');
    db.exec(before);
    const { trial_note: _none, ...old } = rowOf({ ...APPROVAL, id: 'old' });
    db.prepare(
      `INSERT INTO approvals(${Object.keys(old).join(', ')}) VALUES (${Object.keys(old)
        .map((k) => `@${k}`)
        .join(', ')})`,
    ).run(old);
    expect(fileVersion(db, 0)).toBe(NOTE_STEP.version - 1);

    expect(migrateFile(db, WITH_NOTE)).toEqual({ from: NOTE_STEP.version - 1, to: NOTE_STEP.version, applied: [NOTE_STEP.version] });
    const store = new SqliteApprovalStore(db);
    expect(await store.get('old')).toStrictEqual({ ...APPROVAL, id: 'old' });
    new RowWriter(db).run(store.stage({ next: noted(APPROVAL, 'kept'), previous: undefined, entryId: 'e' }).writes);
    expect(await store.get('ap-1')).toEqual(noted(APPROVAL, 'kept'));
    expect(migrateFile(db, WITH_NOTE).applied).toEqual([]);
  });
});
