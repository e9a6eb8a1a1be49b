import type { Database, Statement } from 'better-sqlite3';
import type { Approval, ApprovalState, Vote } from '../engine/approvals/approval.js';
import type { ApprovalFilter, ApprovalStore } from '../engine/approvals/store.js';
import type { JsonObject } from '../lib/json.js';

const DDL = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'consumed')),
  fingerprint TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  on_behalf_of TEXT NOT NULL,
  team TEXT NOT NULL,
  cost_center TEXT NOT NULL,
  action_type TEXT NOT NULL,
  resource TEXT NOT NULL,
  params TEXT NOT NULL,
  approvers TEXT NOT NULL,
  min_approvals INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  caller TEXT NOT NULL,
  bundle TEXT NOT NULL,
  revision TEXT NOT NULL,
  digest TEXT NOT NULL,
  votes TEXT NOT NULL,
  resolved_ms INTEGER,
  consumed_by TEXT
);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals(created_ms);
CREATE INDEX IF NOT EXISTS approvals_open ON approvals(expires_ms) WHERE state IN ('pending', 'approved');
CREATE INDEX IF NOT EXISTS approvals_subject ON approvals(subject_id, created_ms);
CREATE INDEX IF NOT EXISTS approvals_team ON approvals(team, created_ms);
CREATE INDEX IF NOT EXISTS approvals_open_fingerprint ON approvals(fingerprint, created_ms) WHERE state IN ('pending', 'approved');
`;

interface Row {
  id: string;
  state: ApprovalState;
  fingerprint: string;
  subject_id: string;
  subject_type: string;
  on_behalf_of: string;
  team: string;
  cost_center: string;
  action_type: string;
  resource: string;
  params: string;
  approvers: string;
  min_approvals: number;
  created_ms: number;
  expires_ms: number;
  requested_by: string;
  caller: string;
  bundle: string;
  revision: string;
  digest: string;
  votes: string;
  resolved_ms: number | null;
  consumed_by: string | null;
}

/**
 * Approval requests in the ledger's SQLite file, beside the chain that records
 * every change of them: the table is the current state, the `approval` entries
 * the history. Written only by `write`, inside the ledger transaction of the
 * entry that records the change.
 */
export class SqliteApprovalStore implements ApprovalStore {
  private readonly db: Database;
  private readonly stmts: Record<'get' | 'put' | 'due' | 'open' | 'openCount', Statement>;

  /** Called before each read (state/guard.ts): an edit by another process is checked against the chain first. */
  private readonly guard: { check(): void } | undefined;

  constructor(db: Database, guard?: { check(): void }) {
    this.db = db;
    this.guard = guard;
    db.exec(DDL);
    this.stmts = {
      get: db.prepare('SELECT * FROM approvals WHERE id = ?'),
      put: db.prepare(`INSERT OR REPLACE INTO approvals(id, state, fingerprint, subject_id, subject_type, on_behalf_of, team, cost_center,
        action_type, resource, params, approvers, min_approvals, created_ms, expires_ms, requested_by, caller, bundle, revision, digest,
        votes, resolved_ms, consumed_by)
        VALUES (@id, @state, @fingerprint, @subject_id, @subject_type, @on_behalf_of, @team, @cost_center, @action_type, @resource, @params,
        @approvers, @min_approvals, @created_ms, @expires_ms, @requested_by, @caller, @bundle, @revision, @digest, @votes, @resolved_ms, @consumed_by)`),
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

  /** Replaces the whole table (a rebuild from the chain), in the caller's transaction. */
  replaceAll(approvals: Iterable<Approval>): void {
    this.db.prepare('DELETE FROM approvals').run();
    for (const a of approvals) this.stmts.put.run(rowOf(a));
  }

  write(a: Approval): () => void {
    const row = rowOf(a);
    return () => {
      this.stmts.put.run(row);
    };
  }
}

/** Every approval in the file, oldest first (for checking the table against the chain): reads only, on any connection. */
export function* allApprovals(db: Database): IterableIterator<Approval> {
  for (const row of db.prepare('SELECT * FROM approvals ORDER BY created_ms, id').iterate() as IterableIterator<Row>) yield approvalOf(row);
}

function rowOf(a: Approval): Row {
  return {
    id: a.id,
    state: a.state,
    fingerprint: a.fingerprint,
    subject_id: a.subjectId,
    subject_type: a.subjectType,
    on_behalf_of: a.onBehalfOf,
    team: a.team,
    cost_center: a.costCenter,
    action_type: a.actionType,
    resource: a.resource,
    params: JSON.stringify(a.params),
    approvers: JSON.stringify(a.approvers),
    min_approvals: a.minApprovals,
    created_ms: a.createdAtMs,
    expires_ms: a.expiresAtMs,
    requested_by: a.requestedBy,
    caller: a.caller,
    bundle: a.policy.bundle,
    revision: a.policy.revision,
    digest: a.policy.digest,
    votes: JSON.stringify(a.votes),
    resolved_ms: a.resolvedAtMs ?? null,
    consumed_by: a.consumedBy ?? null,
  };
}

function approvalOf(r: Row): Approval {
  return {
    id: r.id,
    state: r.state,
    fingerprint: r.fingerprint,
    subjectId: r.subject_id,
    subjectType: r.subject_type,
    onBehalfOf: r.on_behalf_of,
    team: r.team,
    costCenter: r.cost_center,
    actionType: r.action_type,
    resource: r.resource,
    params: JSON.parse(r.params) as JsonObject,
    approvers: JSON.parse(r.approvers) as string[],
    minApprovals: r.min_approvals,
    createdAtMs: r.created_ms,
    expiresAtMs: r.expires_ms,
    requestedBy: r.requested_by,
    caller: r.caller,
    policy: { bundle: r.bundle, revision: r.revision, digest: r.digest },
    votes: JSON.parse(r.votes) as Vote[],
    ...(r.resolved_ms !== null ? { resolvedAtMs: r.resolved_ms } : {}),
    ...(r.consumed_by !== null ? { consumedBy: r.consumed_by } : {}),
  };
}
