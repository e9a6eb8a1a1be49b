import type { Bundle } from '../bundles/bundle.js';
import type { JsonObject } from '../lib/json.js';
import type { StagedWrite } from './ledger.js';
import type { PolicyOutcome } from './result.js';

/**
 * What the engine needs from a usage store to decide with usage, as an
 * optimistic read-evaluate-commit: `context` reads usage without any lock and
 * says which versions it read; `stage` checks those versions are still current
 * and, if so, stages the decision's usage rows to commit in the same ledger
 * transaction as its entry. A stale snapshot is evaluated again, so budgets stay
 * exact while no write lock is held during evaluation.
 */
export interface DecisionMeter {
  /** Facts merged into input.context (usage, estimate, history) and the snapshot they were read at. */
  context(input: JsonObject, bundle: Bundle, now: Date): Promise<MeteredContext>;
  /** The decision's usage writes, or undefined when the snapshot is stale (evaluate again with a fresh one). */
  stage(decision: MeteredDecision, snapshot: UsageSnapshot): StagedWrite | undefined;
  /** The caller gave up after its decision was recorded: its reservation stops counting at once (the entry stays). */
  release(decisionId: string): Promise<void>;
}

/** Opaque to the engine: the versions of every usage key a context was built from. */
export interface UsageSnapshot {
  readonly versions: ReadonlyMap<string, number>;
}

export interface MeteredContext {
  context: JsonObject;
  snapshot: UsageSnapshot;
}

export interface MeteredDecision {
  decisionId: string;
  input: JsonObject;
  outcome: PolicyOutcome;
  bundle: Bundle;
  now: Date;
}
