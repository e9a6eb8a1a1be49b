import type { Bundle } from '../bundles/bundle.js';
import type { JsonObject } from '../lib/json.js';
import type { PolicyOutcome } from './result.js';

/**
 * What the engine needs from a usage store to decide with usage. The engine
 * calls `atomically` around read-context / evaluate / record, so a check and the
 * reservation it leads to cannot interleave with another decision's.
 */
export interface DecisionMeter {
  atomically<T>(body: () => Promise<T>): Promise<T>;
  /** Facts merged into input.context: usage, estimate, history. */
  context(input: JsonObject, bundle: Bundle, now: Date): Promise<JsonObject>;
  /** Records the request and, for an allowed model call, reserves its estimated cost. */
  record(decision: MeteredDecision): Promise<void>;
  /** Undoes `record` when the decision could not be written to the ledger. */
  cancel(decisionId: string): Promise<void>;
}

export interface MeteredDecision {
  decisionId: string;
  input: JsonObject;
  outcome: PolicyOutcome;
  bundle: Bundle;
  now: Date;
}
