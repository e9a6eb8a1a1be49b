import type { Database, Statement } from 'better-sqlite3';
import { APPROVAL_STATES, type Approval } from '../engine/approvals/approval.js';
import { APPROVAL_COLUMNS, fieldOf, setField, type ApprovalColumn } from '../engine/approvals/columns.js';
import type { ApprovalChange, ApprovalFilter, ApprovalStore, ApprovalWrite } from '../engine/approvals/store.js';

/** SQLite's type for each kind of column (engine/approvals/columns.ts); optional ones may be null. */
const SQL_TYPES: Record<ApprovalColumn['kind'], string> = { text: 'TEXT', integer: 'INTEGER', time: 'INTEGER', json: 'TEXT', state: 'TEXT' };

const COLUMNS: readonly ApprovalColumn[] = APPROVAL_COLUMNS;

function columnDdl(c: ApprovalColumn): string {
  if (c.key) return `${c.column} ${SQL_TYPES[c.kind]} PRIMARY KEY`;
  const check = c.kind === 'state' ? ` CHECK (${c.column} IN (${APPROVAL_STATES.map((s) => `'${s}'`).join(', ')}))` : '';
  return `${c.column} ${SQL_TYPES[c.kind]}${c.optional ? '' : ' NOT NULL'}${check}`;
}

/** The table at its current shape, from the column list (older files are brought to it by ledger/schema.ts). */
export function approvalsDdl(): string {
  return `
CREATE TABLE IF NOT EXISTS approvals (
${COLUMNS.map((c) => `  ${columnDdl(c)}`).join(',\n')}
);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals(created_ms);
CREATE INDEX IF NOT EXISTS approvals_open ON approvals(expires_ms) WHERE state IN ('pending', 'approved');
CREATE INDEX IF NOT EXISTS approvals_subject ON approvals(subject_id, created_ms);
CREATE INDEX IF NOT EXISTS approvals_team ON approvals(team, created_ms);
CREATE INDEX IF NOT EXISTS approvals_open_fingerprint ON approvals(fingerprint, created_ms) WHERE state IN ('pending', 'approved');
`;
}

/** INSERT OR REPLACE of every column, with named parameters (independent of a file's column order). */
const PUT_SQL = `INSERT OR REPLACE INTO approvals(${COLUMNS.map((c) => c.column).join(', ')}) VALUES (${COLUMNS.map((c) => `@${c.column}`).join(', ')})`;

export function putApprovalSql(): string {
  return PUT_SQL;
}

/** An approvals row as SQLite returns it, column name to value. */
type Row = Record<string, string | number | null>;

/**
 * Approval requests in the ledger's SQLite file, beside the chain that records
 * every change of them: the table is the current state, the `approval` entries
 * the history. Written only by `stage`, inside the ledger transaction of the
 * entry that records the change.
 */
export class SqliteApprovalStore implements ApprovalStore {
  private readonly db: Database;
  private readonly stmts: Record<'get' | 'due' | 'open' | 'openCount', Statement>;

  /** Called before each read (state/guard.ts): an edit by another process is checked against the chain first. */
  private readonly guard: { check(): void } | undefined;

  constructor(db: Database, guard?: { check(): void }) {
    this.db = db;
    this.guard = guard;
    db.exec(approvalsDdl());
    this.stmts = {
      get: db.prepare('SELECT * FROM approvals WHERE id = ?'),
      open: db.prepare(`SELECT * FROM approvals WHERE fingerprint = ? AND state IN ('pending', 'approved') AND expires_ms > ?
        ORDER BY created_ms DESC LIMIT 1`),
      openCount: db.prepare(`SELECT COUNT(*) AS n FROM approvals WHERE state IN ('pending', 'approved') AND expires_ms > ?`),
      due: db.prepare(`SELECT * FROM approvals WHERE state IN ('pending', 'approved') AND expires_ms <= ? ORDER BY expires_ms LIMIT ?`),
    };
  }

  async get(id: string): Promise<Approval | undefined> {
    this.guard?.check();
    const row = this.stmts.get.get(id) as Row | undefined;
    return row ? approvalOf(row) : undefined;
  }

  async list(filter: ApprovalFilter): Promise<Approval[]> {
    this.guard?.check();
    const clauses: string[] = [];
    const params: unknown[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (!value) return;
      clauses.push(`${column} = ?`);
      params.push(value);
    };
    eq('state', filter.state);
    eq('subject_id', filter.subject);
    eq('team', filter.team);
    if (filter.approverRole) {
      clauses.push("EXISTS (SELECT 1 FROM json_each(approvals.approvers) WHERE value = ? OR value = 'role:' || ?)");
      params.push(filter.approverRole, filter.approverRole);
    }
    const sql = `SELECT * FROM approvals ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY created_ms DESC, id LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit) as Row[]).map(approvalOf);
  }

  async openFor(fingerprint: string, nowMs: number): Promise<Approval | undefined> {
    this.guard?.check();
    const row = this.stmts.open.get(fingerprint, nowMs) as Row | undefined;
    return row ? approvalOf(row) : undefined;
  }

  async openCount(nowMs: number): Promise<number> {
    this.guard?.check();
    return (this.stmts.openCount.get(nowMs) as { n: number }).n;
  }

  async due(nowMs: number, limit: number): Promise<Approval[]> {
    this.guard?.check();
    return (this.stmts.due.all(nowMs, limit) as Row[]).map(approvalOf);
  }

  /** The row is written in the entry's transaction: it is there if and only if the entry is. */
  stage(change: ApprovalChange): ApprovalWrite {
    return {
      writes: [{ sql: PUT_SQL, params: rowOf(change.next) }],
      settle: async () => undefined,
    };
  }
}

/** Replaces the whole table (a rebuild from the chain: state/rebuild.ts), in the caller's transaction; made when absent. */
export function replaceApprovals(db: Database, approvals: Iterable<Approval>): void {
  db.exec(approvalsDdl());
  db.prepare('DELETE FROM approvals').run();
  const put = db.prepare(putApprovalSql());
  for (const a of approvals) put.run(rowOf(a));
}

/** Every approval in the file, oldest first (for checking the table against the chain): reads only, on any connection. */
export function* allApprovals(db: Database): IterableIterator<Approval> {
  for (const row of db.prepare('SELECT * FROM approvals ORDER BY created_ms, id').iterate() as IterableIterator<Row>) yield approvalOf(row);
}

/** An approval as its row: every column of the list, JSON kinds as text, unset optional ones null. */
export function rowOf(a: Approval): Row {
  const row: Row = {};
  for (const c of COLUMNS) {
    const value = fieldOf(a, c.field);
    row[c.column] = value === undefined ? null : c.kind === 'json' ? JSON.stringify(value) : (value as string | number);
  }
  return row;
}

/** A row as the approval it holds: JSON kinds parsed, null optional ones left out. */
export function approvalOf(r: Row): Approval {
  const out: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const value = r[c.column];
    setField(out, c.field, value === null ? undefined : c.kind === 'json' ? JSON.parse(value as string) : value);
  }
  return out as unknown as Approval;
}
