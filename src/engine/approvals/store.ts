import type { Approval, ApprovalState } from './approval.js';

export interface ApprovalFilter {
  state?: ApprovalState;
  /** Requests this role may approve: approvers naming "role:<role>" (or the bare role). */
  approverRole?: string;
  subject?: string;
  team?: string;
  /** Newest first, at most this many. */
  limit: number;
}

/**
 * The one interface an approval backend implements (SQLite in the ledger's
 * file: ledger/approval-table.ts). The engine changes an approval only under
 * its lock and only through `stageWrite`, whose returned write runs inside the ledger transaction
 * that records the change, so the table and the chain agree.
 */
export interface ApprovalStore {
  get(id: string): Promise<Approval | undefined>;
  list(filter: ApprovalFilter): Promise<Approval[]>;
  /** The newest open request (pending, or approved and unused) for this fingerprint that is not yet due at nowMs. */
  openFor(fingerprint: string, nowMs: number): Promise<Approval | undefined>;
  /** How many requests are open (pending, or approved and unused) and not yet due at nowMs. */
  openCount(nowMs: number): Promise<number>;
  /** Pending or approved approvals whose expiry is at or before nowMs, oldest expiry first. */
  due(nowMs: number, limit: number): Promise<Approval[]>;
  /** The write of this state of the approval, run by the ledger inside the transaction of its entry. */
  stageWrite(a: Approval): () => void;
}
