import type { Bundle } from '../../bundles/bundle.js';
import { isJsonObject, type JsonObject } from '../../lib/json.js';
import type { WasmEvaluator } from '../evaluator.js';
import { evaluateOutcome } from '../stages.js';
import { isApproximate, type Comparison } from './compare.js';
import type { RecordedDecision, StoredPayload } from './recorded.js';

/** A recorded decision as it crosses to a replay worker: only what the evaluation needs. */
export type ReplayItem = Pick<RecordedDecision, 'decisionId' | 'entrypoint' | 'decision' | 'reasonCodes' | 'payload'>;

/** Why a recorded decision could not be replayed at all. */
export type SkipReason = 'payload_erased' | 'entrypoint_missing' | 'payload_unreadable';

export type ReplayResult = { comparison: Comparison } | { skipped: SkipReason };

/**
 * Re-evaluates one recorded decision with a candidate: the stored input as it
 * is, context included (the time, usage, estimate and history the decision
 * saw), never the live clock or live usage. `entrypoint` overrides the
 * recorded one.
 */
export function replayOne(candidate: (entrypoint: string) => WasmEvaluator | undefined, item: ReplayItem, entrypoint?: string): ReplayResult {
  if (item.payload === null) return { skipped: 'payload_erased' };
  const name = entrypoint || item.entrypoint;
  const evaluator = candidate(name);
  if (!evaluator) return { skipped: 'entrypoint_missing' };
  const payload = storedPayload(item.payload);
  if (!payload) return { skipped: 'payload_unreadable' };
  const outcome = evaluateOutcome(evaluator, payload.input, name);
  return {
    comparison: {
      decisionId: item.decisionId,
      from: { decision: item.decision, reasonCodes: item.reasonCodes },
      to: { decision: outcome.decision, reasonCodes: outcome.reasons.map((r) => r.code) },
      approximate: isApproximate(payload),
    },
  };
}

/** Replays batches with one candidate bundle's evaluator: the same on this thread and in a replay worker. */
export function batchReplayer(bundle: Pick<Bundle, 'entrypoints'>, evaluator: WasmEvaluator, entrypoint?: string): (items: ReplayItem[]) => ReplayResult[] {
  const candidate = (name: string) => (bundle.entrypoints.includes(name) ? evaluator : undefined);
  return (items) => items.map((item) => replayOne(candidate, item, entrypoint));
}

function storedPayload(text: string): StoredPayload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(value) || !isJsonObject(value.input)) return undefined;
  const result = isJsonObject(value.result) ? value.result : {};
  return { input: value.input as JsonObject, result: result as StoredPayload['result'] };
}
