import type { EntryRecord } from '../engine/ledger.js';
import { canonicalJson } from '../lib/canonical.js';
import type { JsonObject } from '../lib/json.js';
import type { ChargeRow, Settlement, StagedUsage } from './store.js';
import { newEntryId } from '../lib/entry-id.js';
import { newSalt } from '../lib/salt.js';

/**
 * Usage as chain entries, so that every budget total can be recomputed from the
 * chain (ledger/derived-state.ts) and checked against the tables:
 *
 * - a metered decision's own payload gains a last key, `usage`, holding its
 *   request row (`request`: subject, tool) and, when it reserves, the
 *   reservation (`reserved`): usageSection;
 * - a report that settles a reservation is an entry of kind `usage`, event
 *   `settled`: settlementRecord;
 * - a reservation dropped because its caller went away is an entry of kind
 *   `usage`, event `released`: releaseRecord. (A reservation dropped because its
 *   approval request ended is implied by that approval entry.)
 *
 * The header of a usage entry names the charge's subject, team and cost center,
 * `action_type` "usage.<event>", `resource` the model, `decision` the event and
 * `request_id` the decision it settles or releases.
 */
export type UsageEvent = 'settled' | 'released';

/** The `usage` key of a metered decision's payload (snake_case, as every payload). */
export function usageSection(rows: StagedUsage): JsonObject {
  const r = rows.reservation;
  return {
    request: { subject: rows.request.subject, tool: rows.request.tool },
    ...(r
      ? {
          reserved: {
            subject: r.subject,
            team: r.team,
            cost_center: r.costCenter,
            model: r.model,
            tier: r.tier,
            tokens: r.tokens,
            cost_micros: r.costMicros,
            expires_ms: r.expiresMs,
            max_output_tokens: r.maxOutputTokens,
            estimated_input_tokens: r.estimatedInputTokens,
            asked_model: r.askedModel,
          },
        }
      : {}),
  };
}

export function settlementRecord(charge: ChargeRow, s: Settlement, reporter: string, now: Date): EntryRecord {
  return usageRecord('settled', charge, s.model, reporter, now, {
    // When the call was decided: the day and minute its usage counts in, for a replica that holds no reservation of it.
    at_ms: charge.atMs,
    model: s.model,
    tier: s.tier,
    input_tokens: s.inputTokens,
    output_tokens: s.outputTokens,
    tokens: s.inputTokens + s.outputTokens,
    cost_micros: s.costMicros,
  });
}

export function releaseRecord(charge: ChargeRow, caller: string, now: Date): EntryRecord {
  return usageRecord('released', charge, charge.model, caller, now, {});
}

function usageRecord(event: UsageEvent, charge: ChargeRow, model: string, caller: string, now: Date, detail: JsonObject): EntryRecord {
  return {
    kind: 'usage',
    decisionId: newEntryId(),
    time: now.toISOString(),
    subjectId: charge.subject,
    subjectType: '',
    team: charge.team,
    costCenter: charge.costCenter,
    actionType: `usage.${event}`,
    resource: model,
    decision: event,
    reasonCodes: [],
    bundle: '',
    revision: '',
    digest: '',
    entrypoint: '',
    requestId: charge.decisionId,
    caller,
    payloadJcs: canonicalJson({ usage: { event, decision_id: charge.decisionId, ...detail } }),
    salt: newSalt(),
  };
}
