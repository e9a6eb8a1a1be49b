import type { Receipt, RowWrite } from '../ledger.js';
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

/** One change of an approval, and the ledger entry that records it. */
export interface ApprovalChange {
  next: Approval;
  /** The approval as it was read when the change was decided; undefined for a new request. */
  previous: Approval | undefined;
  /** The id of the entry that records the change (its approval event's `decisionId`). */
  entryId: string;
}

/**
 * How one change is written. The embedded store keeps its rows in the ledger's own file and writes
 * them in the entry's transaction (`writes`). A store shared by replicas writes the change before the
 * entry, and only while the row is still as `previous` was read (`shared`), then seals it with the
 * entry's receipt once that commits, or undoes it when the entry is given up (`settle`).
 */
export interface ApprovalWrite {
  /** Rows written in the ledger's transaction of the entry (none for a shared store). */
  writes: readonly RowWrite[];
  /** A shared store's version of the row this change makes (recorded in its entry, so an audit can count the changes). */
  version?: number;
  shared?: SharedApprovalWrite;
  /** After the entry committed (its receipt) or was given up (undefined); resolves once every replica sees the outcome. */
  settle(receipt: Receipt | undefined): Promise<void>;
}

/**
 * A shared store's conditional write of one change. A decision's change (a new request, an approval
 * used) commits in the same database transaction as the decision's usage rows (`statements`, run by
 * the shared usage store that stages them): a row changed by another replica since it was read fails
 * that transaction, and the decision is evaluated again on what is there now. A vote or an expiry
 * runs it alone (`write`).
 */
export interface SharedApprovalWrite {
  /** The write as statements of the shared database, for the transaction that stages a decision. */
  readonly statements: readonly string[];
  /** The write in a transaction of its own; throws approval_changed when another replica changed the row first. */
  write(): Promise<void>;
}

/**
 * The one interface an approval backend implements: SQLite in the ledger's file
 * (ledger/approval-table.ts), or PostgreSQL shared by replicas (usage/postgres/approvals.ts).
 * The engine changes an approval only under its lock and only through `stage`, so the
 * state and the chain that records it agree.
 */
export interface ApprovalStore {
  /** True for a store shared by replicas (its requests are recorded as such: state/derive.ts leaves them out of the file's table). */
  readonly shared?: boolean;
  get(id: string): Promise<Approval | undefined>;
  list(filter: ApprovalFilter): Promise<Approval[]>;
  /** The newest open request (pending, or approved and unused) for this fingerprint that is not yet due at nowMs. */
  openFor(fingerprint: string, nowMs: number): Promise<Approval | undefined>;
  /** How many requests are open (pending, or approved and unused) and not yet due at nowMs. */
  openCount(nowMs: number): Promise<number>;
  /** Pending or approved approvals whose expiry is at or before nowMs, oldest expiry first. */
  due(nowMs: number, limit: number): Promise<Approval[]>;
  /** How this change is written, with the entry that records it. */
  stage(change: ApprovalChange): ApprovalWrite;
  /**
   * A shared store: calls `listener` with each watched approval (ids from `watched`) once a change of it
   * by any replica is sealed; returns the unsubscribe function.
   */
  changes?(listener: (a: Approval) => void, watched: () => Iterable<string>): () => void;
  /** A shared store: runs `task` (an expiry sweep) only while no other replica runs one; 0 without running it otherwise. */
  alone?(task: () => Promise<number>): Promise<number>;
}
