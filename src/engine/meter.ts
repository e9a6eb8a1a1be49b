import type { SharedApprovalWrite } from './approvals/store.js';
import type { Bundle } from '../bundles/bundle.js';
import type { JsonObject } from '../lib/json.js';
import type { Receipt, StagedWrite } from './ledger.js';
import type { PolicyOutcome } from './result.js';
import type { UsageFacts } from './usage-facts.js';

/**
 * What the engine needs from a usage store to decide with usage, as a
 * read-evaluate-commit: `context` reads usage and says which versions it read;
 * `stage` checks those versions are still current and, if so, stages the
 * decision's usage rows to commit in the same ledger transaction as its entry.
 *
 * The engine holds a lock on `keys(facts)` from `context` to `stage`, so two
 * decisions that read or write the same budget or history are evaluated one
 * after the other and neither sees a stale total; a snapshot can still go
 * stale through writes that take no lock (a usage report, a release), and such
 * a decision is evaluated again with a fresh one. Budgets stay exact while no
 * write transaction is held during evaluation.
 */
export interface DecisionMeter {
  /** The usage keys a decision with these facts reads and may write (what the engine locks). */
  keys(facts: UsageFacts): string[];
  /**
   * Facts merged into input.context (usage, estimate, history) and the snapshot they were read at.
   * `replacing` names a decision whose reservation this one takes over (the request an approval
   * was given for): it is not counted, so the call is not counted twice.
   */
  context(facts: UsageFacts, bundle: Bundle, now: Date, replacing?: string): Promise<MeteredContext>;
  /**
   * The decision's usage writes, or undefined when the snapshot is stale (evaluate again with a
   * fresh one). A shared store commits its rows here, before the entry is appended; `finish(false)`
   * takes them back if the entry is given up.
   */
  stage(decision: MeteredDecision, snapshot: UsageSnapshot): MeteredWrite | undefined | Promise<MeteredWrite | undefined>;
  /**
   * The caller gave up after its decision was recorded: its reservation stops counting at once (the
   * decision's entry stays), recorded by an entry of its own, so the chain still sums to the budgets.
   */
  release(decisionId: string, caller: string): Promise<void>;
  /**
   * The same, as a write in another entry's transaction (an approval request rejected, expired or
   * used: the reservation it held goes with the entry that records it).
   */
  stagedRelease(decisionId: string): StagedWrite;
  /** A claimed request's entry committed: a shared store notes its receipt, so the other replicas can answer it too. */
  requestRecorded?(claim: RequestClaim, decisionId: string, receipt: Receipt): void;
}

/** A decision's usage writes, and what its payload records of them (its last key, `usage`): budgets are recomputable from the chain. */
export interface MeteredWrite extends StagedWrite {
  payload: JsonObject;
}

/**
 * Opaque to the engine: what a context was read at (key versions, or a database transaction
 * holding the keys). Every snapshot is staged through or ended: the engine calls `end` on each
 * one it does not stage (idempotent).
 */
export interface UsageSnapshot {
  end(): void;
}

export interface MeteredContext {
  context: JsonObject;
  snapshot: UsageSnapshot;
}

export interface MeteredDecision {
  decisionId: string;
  facts: UsageFacts;
  outcome: Pick<PolicyOutcome, 'decision' | 'obligations'>;
  bundle: Bundle;
  now: Date;
  /** Who asked: only they may report the call's usage, to whichever replica. */
  caller: string;
  /**
   * A REQUIRE_APPROVAL's reservation: held until this time (the approval request's expiry), or
   * none at all when null (the call already waits on a request that holds one). Undefined: the
   * usual reservation time.
   */
  holdUntilMs?: number | null;
  /** An idempotent call's request id, claimed with its rows by a store shared with other replicas (idempotency.ts). */
  claim?: RequestClaim;
  /** The decision's change of an approval in a store shared with other replicas, committed with its rows (approvals/store.ts). */
  approval?: SharedApprovalWrite;
}

/**
 * A request id taken in the transaction that reserves for its decision, so that replicas sharing a
 * store decide it once: a store that is the ledger's own file (SQLite) has the entry itself and needs
 * nothing; a shared one keeps the recorded answer for the other replicas.
 */
export interface RequestClaim {
  caller: string;
  requestId: string;
  /** Claims older than this (outside the idempotency window) no longer hold the id. */
  sinceMs: number;
  /** The recorded answer, as JSON text (a RecordedRequest without its receipt), built only when a store asks. */
  answer(): string;
}
