/**
 * The runtime's faces: what an edge (gRPC services, metrics, the CLI) may use of a running gavel.
 * Each face is one use case; edges import these types (and the wire helpers re-exported here),
 * never the adapters behind them.
 */
import type { Bundle } from '../bundles/bundle.js';
import type { Approval } from '../engine/approvals/approval.js';
import type { ApprovalEvent } from '../engine/approvals/records.js';
import type { ResolveRequest } from '../engine/approvals/desk.js';
import type { ApprovalFilter } from '../engine/approvals/store.js';
import type { Decision, DecideRequest } from '../engine/engine.js';
import type { OfflineDecision, OfflineReceipt } from '../engine/offline.js';
import type { PolicyEventResult } from '../engine/policy-event.js';
import type { ReplayRun } from '../engine/replay/replayer.js';
import type { PolicyStatus } from '../ledger/policy-status.js';
import type { EntryDetail, EntrySummary, QueryFilter } from '../ledger/query.js';
import type { ConsistencyProofBundle, EntryRef, InclusionProofBundle } from '../ledger/proofs.js';
import type { WireVerifyReport } from '../ledger/wire.js';
import type { ErasureRequest, ErasureResult } from '../ledger/erasure.js';
import type { StateMismatch } from '../state/compare.js';
import type { ReasonDay } from '../ledger/reason-counts.js';
import type { TimelineEvent } from '../ledger/timeline.js';
import type { UsageReceipt, UsageReportInput } from '../usage/report.js';
import type { SpendDay, SpendTotal } from '../usage/spend.js';
import type { Scope } from '../usage/store.js';

export type { Cancellation, Decision, DecideRequest, DecideInput, TraceContext } from '../engine/engine.js';
export type { OfflineDecision, OfflineMode, OfflineReceipt } from '../engine/offline.js';
export type { EntryDetail, EntrySummary, PageCursor, QueryFilter } from '../ledger/query.js';
export { pageCursor } from '../ledger/query.js';
export type { TimelineEvent, TimelineApproval } from '../ledger/timeline.js';
export type { PolicyStatus } from '../ledger/policy-status.js';
export type { ReasonDay } from '../ledger/reason-counts.js';
export type { SpendDay, SpendTotal } from '../usage/spend.js';
export type { Scope } from '../usage/store.js';
export type { Approval, Approver } from '../engine/approvals/approval.js';
export type { WireVerifyReport } from '../ledger/wire.js';
export type { ErasureBasis, ErasureCriteria, ErasureRequest, ErasureResult } from '../ledger/erasure.js';
export { oneCriterion } from '../ledger/erasure.js';
export { wireEntry } from '../ledger/header.js';
export { wireReceipt } from '../ledger/wire.js';
export type { UsageReceipt, UsageReportInput } from '../usage/report.js';
export type { ReplayRun } from '../engine/replay/replayer.js';

/** Decide: one decision, recorded in the ledger before it is answered. */
export type DecideFace = (request: DecideRequest) => Promise<Decision>;

/** Records a decision made without gavel (engine/offline.ts); a second delivery of the same id is a duplicate. */
export type OfflineFace = (decision: OfflineDecision) => Promise<OfflineReceipt>;

/** Input bounds the edges size their own limits by. */
export interface DecideLimits {
  maxInputBytes: number;
  maxDepth: number;
}

/** Usage: reports settle reservations (each an entry); totals read per subject, team or cost center. */
export interface ReportFace {
  report(report: UsageReportInput): Promise<UsageReceipt>;
  /** Totals of one key (compared as people read names: `Fiona` reads `fiona`'s). */
  usage(scope: Scope, key: string): Promise<unknown>;
}

/** Audit: queries over the chain, one entry, integrity, checkpoints. */
export interface AuditFace {
  query(filter: QueryFilter): Iterable<EntrySummary>;
  get(decisionId: string): EntryDetail | undefined;
  /** The chain recomputed (against a checkpoint when given) and, when it holds, the state tables against it. */
  verify(checkpoint?: string, witnesses?: WitnessRequirement): Promise<WireVerifyReport>;
  latestCheckpoint(): CheckpointInfo;
  /**
   * One entry's inclusion proof against a signed checkpoint: the one stored at `treeSize`, or the
   * latest (signed now when it does not cover the entry yet). ledger/proofs.ts.
   */
  inclusionProof(ref: EntryRef, treeSize?: number): Promise<InclusionProofBundle>;
  /** The consistency proof between two sizes (`to`: the ledger now). */
  consistencyProof(from: number, to?: number): ConsistencyProofBundle;
  /** Erases payloads with an erasure entry in the chain (ledger/erasure.ts); the request is checked first (invalid_erasure). */
  erase(request: ErasureRequest): Promise<ErasureResult>;
  /** The approval (and embedded usage) tables recomputed from the chain now: the rows that disagree (off the event loop). */
  verifyState(): Promise<StateMismatch[]>;
  /** Entries in the ledger. */
  readonly size: number;
  /** The same ledger as the console reads it. */
  readonly view: LedgerView;
}

/** Cosignatures a verify requires: witness verifier keys (C2SP vkey text) and how many of them must have cosigned a checkpoint. */
export interface WitnessRequirement {
  keys: string[];
  min: number;
}

/** The latest signed checkpoint of a ledger, and the key that verifies it. */
export interface CheckpointInfo {
  note: string;
  size: number;
  headHash: string;
  verifierKey: string;
}

/**
 * One ledger as the console reads it: a running gavel's own (`runtime.audit.view`), or a file that
 * `gavel console --ledger` opened read-only. One implementation serves both (runtime/ledger-view.ts).
 */
export interface LedgerView {
  /** The ledger file (what pages and exports name). */
  readonly label: string;
  /** The ledger's origin (its id in checkpoints). */
  readonly origin: string;
  query(filter: QueryFilter): Iterable<EntrySummary>;
  get(decisionId: string): EntryDetail | undefined;
  timeline(filter: Pick<QueryFilter, 'subject' | 'team' | 'costCenter' | 'since' | 'until' | 'limit'>): TimelineEvent[];
  policyStatus(): PolicyStatus;
  latestCheckpoint(): CheckpointInfo;
  /** The chain recomputed with the ledger's key, reporting progress; then the state tables against it. */
  verify(onProgress?: (done: number, total: number) => void): Promise<WireVerifyReport>;
  topSpenders(scope: Scope, sinceMs: number, limit: number): SpendTotal[];
  spendByDay(scope: Scope, key: string | undefined, sinceMs: number): SpendDay[];
  /** Per UTC day, read a day at a time with the event loop given back between days. */
  reasonsByDay(codes: readonly string[], sinceMs: number): Promise<ReasonDay[]>;
  readonly size: number;
}

/** Approvals: list, read, resolve and watch requests; counts for metrics. */
export interface ApprovalsFace {
  list(filter: ApprovalFilter): Promise<Approval[]>;
  get(approvalId: string): Promise<Approval>;
  resolve(request: ResolveRequest): Promise<Approval>;
  watch(approvalId: string, listener: (a: Approval) => void): () => void;
  events(): ReadonlyMap<ApprovalEvent, number>;
  open(): Promise<number>;
}

/** The replay of recorded decisions against a candidate bundle (PolicyService.Replay). */
export interface ReplayRequest {
  bundle: Buffer;
  policy: string;
  since: string;
  until: string;
  subject: string;
  team: string;
  limit: number;
}

export interface ReplayHooks {
  /** Called once the candidate is read and the recorded decisions are counted. */
  started(candidate: { revision: string; digest: string }, total: number): void;
  progress(done: number, total: number): void;
  signal: AbortSignal;
}

/** Shadow evaluation: the candidate set and its counts. */
export interface ShadowFace {
  readonly bundles: readonly Bundle[];
  activate(bundles: Bundle[]): void;
  transitions(): Array<{ live: string; shadow: string; count: number }>;
  readonly dropped: number;
  readonly queued: number;
  /** Evaluations that did not finish, or whose rows could not be written. */
  readonly failed: number;
  readonly disabled: number;
}

/** Policies: what is live, its history, replay, and the shadow set. */
export interface PoliciesFace {
  readonly bundles: readonly Bundle[];
  /** True while at least one bundle is active. */
  readonly ready: boolean;
  /** Live bundles and refusals as the ledger's policy events tell them. */
  status(): PolicyStatus;
  /**
   * Activates this set whole in place of the live one (checked, compiled, swapped in one step; each change
   * recorded as a policy event with `source`); false when it was refused and the previous set keeps serving.
   */
  activate(bundles: Bundle[], source: string): boolean;
  /** Checks the request and takes the one replay slot synchronously (throws replay_busy), then runs. */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayRun>;
  /** Every policy change seen (recorded or counted only): bundle and result. */
  onEvent(listener: (bundle: string, result: PolicyEventResult) => void): void;
  shadow: ShadowFace | undefined;
}

/** One readiness signal: a bundle is active, the ledger records, usage can be read. */
export interface HealthFace {
  readonly ok: boolean;
  onChange(listener: (ok: boolean) => void): void;
  /** What each configured witness last said of this ledger's checkpoints (none configured: empty). Changes call the listeners too. */
  readonly witnesses: readonly WitnessStatus[];
}

/** What one witness last said of this ledger. */
export interface WitnessStatus {
  url: string;
  /** The witness's name (its key's). */
  name: string;
  /** The largest checkpoint size it cosigned for this ledger (0: none yet). */
  cosignedSize: number;
  /** Set when the witness refused a checkpoint because this ledger's history is not the one it saw; cleared by its next cosignature. */
  refused?: string;
  /** The last submission that failed for another reason (unreachable, malformed answer); cleared likewise. */
  error?: string;
}

/** Figures the metrics edge reads at each scrape. */
export interface RuntimeStats {
  readonly workers: number;
  readonly workerRestarts: number;
  readonly evaluationFaults: number;
  readonly inlineEvaluations: number;
  readonly inlineMaxBytes: number;
  /** The ledger is written by its own thread (ledger.thread), not on the serving thread. */
  readonly ledgerThread: boolean;
}
