import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import { APPROVAL_COLUMNS, type ApprovalColumn } from '../../src/engine/approvals/columns.js';
import { approvalWire } from '../../src/engine/approvals/wire.js';
import { approvalOf, approvalsDdl, putApprovalSql, rowOf, SqliteApprovalStore } from '../../src/ledger/approval-table.js';
import { wireApproval } from '../../src/transport/approval-service.js';
import { RowWriter } from '../../src/ledger/row-writes.js';

/**
 * The approvals column list (engine/approvals/columns.ts) is the one place an approval's columns
 * are named: the table, its INSERT, the row mapping and the wire form all carry every column it
 * lists, checked here from the list itself (a column added to it is checked with no edit here).
 */

const COLUMNS: readonly ApprovalColumn[] = APPROVAL_COLUMNS;
const T0 = Date.parse('2026-11-18T12:00:00Z');

/** An approval with every field set, optional ones too. */
const FULL: Approval = {
  id: 'ap-1',
  state: 'consumed',
  fingerprint: 'f'.repeat(64),
  subjectId: 'sam',
  subjectType: 'agent',
  onBehalfOf: 'olga',
  team: 'finance',
  costCenter: 'cc-200',
  actionType: 'tool.call',
  resource: 'payments.transfer',
  params: { amount: 40_000, to: 'acme' },
  approvers: ['role:finance-manager', 'user:ceo'],
  minApprovals: 2,
  createdAtMs: T0,
  expiresAtMs: T0 + 3_600_000,
  requestedBy: 'd-1',
  caller: 'gateway',
  policy: { bundle: 'ai', revision: 'rev-7', digest: 'sha256:abc' },
  votes: [{ approver: { id: 'mia', roles: ['finance-manager'] }, verdict: 'approve', comment: 'ok, paid', atMs: T0 + 60_000, caller: 'ui' }],
  resolvedAtMs: T0 + 60_000,
  consumedBy: 'd-2',
};

const { resolvedAtMs: _r, consumedBy: _c, ...PENDING_FIELDS } = FULL;
const PENDING: Approval = { ...PENDING_FIELDS, state: 'pending', votes: [] };

/** A wire path's value (`policy.bundle`: member bundle of policy). */
function at(o: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
}

describe('the approvals column list', () => {
  it('makes the table: every column, in list order, NOT NULL unless optional, the key and the state check', () => {
    const db = new Database(':memory:');
    new SqliteApprovalStore(db);
    const info = db.prepare('PRAGMA table_info(approvals)').all() as Array<{ name: string; notnull: number; pk: number }>;
    expect(info.map((c) => c.name)).toEqual(COLUMNS.map((c) => c.column));
    for (const c of COLUMNS) {
      const column = info.find((i) => i.name === c.column)!;
      expect([c.column, column.pk === 1]).toEqual([c.column, c.key === true]);
      if (!c.key) expect([c.column, column.notnull === 1]).toEqual([c.column, !c.optional]);
    }
    expect(approvalsDdl()).toContain("state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'consumed'))");
    expect(() => db.prepare(putApprovalSql()).run({ ...rowOf(PENDING), state: 'open' })).toThrow(/CHECK constraint failed/);
  });

  it('writes and reads every column: the INSERT names each, the row holds each, and an approval comes back as it went in', async () => {
    const sql = putApprovalSql();
    for (const c of COLUMNS) expect(sql).toMatch(new RegExp(`[(, ]${c.column}[,)].*@${c.column}\\b`));
    expect(Object.keys(rowOf(FULL))).toEqual(COLUMNS.map((c) => c.column));
    expect(approvalOf(rowOf(FULL))).toEqual(FULL);
    // Unset optional fields are null in the row and absent from the approval read back.
    const pendingRow = rowOf(PENDING);
    for (const c of COLUMNS) expect([c.column, pendingRow[c.column] === null]).toEqual([c.column, c.optional === true]);
    expect(approvalOf(pendingRow)).toStrictEqual(PENDING);

    const db = new Database(':memory:');
    const store = new SqliteApprovalStore(db);
    for (const a of [FULL, { ...PENDING, id: 'ap-2' }]) new RowWriter(db).run(store.stage({ next: a, previous: undefined, entryId: 'e' }).writes);
    expect(await store.get('ap-1')).toEqual(FULL);
    expect(await store.get('ap-2')).toStrictEqual({ ...PENDING, id: 'ap-2' });
  });

  it('gives every column its wire name, and the wire form is the Approval message it was', () => {
    const wire = approvalWire(FULL, false);
    for (const c of COLUMNS) expect([c.column, at(wire, c.wire ?? c.column)]).not.toEqual([c.column, undefined]);
    const names = new Set(COLUMNS.map((c) => (c.wire ?? c.column).split('.')[0]));
    expect(Object.keys(wireApproval(FULL, { withheld: false })).sort()).toEqual([...names, 'payload_withheld', 'state_enum'].sort());
    expect(wireApproval(FULL, { withheld: false })).toMatchObject({
      approval_id: 'ap-1',
      state: 'consumed',
      subject_id: 'sam',
      subject_type: 'agent',
      on_behalf_of: 'olga',
      team: 'finance',
      cost_center: 'cc-200',
      action_type: 'tool.call',
      resource: 'payments.transfer',
      params_json: Buffer.from('{"amount":40000,"to":"acme"}'),
      fingerprint: 'f'.repeat(64),
      approvers: ['role:finance-manager', 'user:ceo'],
      min_approvals: 2,
      created_at: '2026-11-18T12:00:00.000Z',
      expires_at: '2026-11-18T13:00:00.000Z',
      resolved_at: '2026-11-18T12:01:00.000Z',
      requested_by: 'd-1',
      consumed_by: 'd-2',
      caller: 'gateway',
      policy: { bundle: 'ai', revision: 'rev-7', digest: 'sha256:abc' },
      votes: [
        {
          approver: { id: 'mia', roles: ['finance-manager'] },
          verdict: 'approve',
          comment: 'ok, paid',
          at: '2026-11-18T12:01:00.000Z',
          caller: 'ui',
          verdict_enum: 'VERDICT_APPROVE',
        },
      ],
      payload_withheld: false,
      state_enum: 'APPROVAL_STATE_CONSUMED',
    });
    // Withheld: no params, no comments; unset optional fields are "".
    expect(wireApproval(PENDING, { withheld: true })).toMatchObject({ params_json: Buffer.alloc(0), resolved_at: '', consumed_by: '', payload_withheld: true });
    expect(wireApproval({ ...FULL }, { withheld: true }).votes).toEqual([
      {
        approver: { id: 'mia', roles: ['finance-manager'] },
        verdict: 'approve',
        comment: '',
        at: '2026-11-18T12:01:00.000Z',
        caller: 'ui',
        verdict_enum: 'VERDICT_APPROVE',
      },
    ]);
  });
});
