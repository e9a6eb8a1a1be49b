import type { DecisionRecord } from './ledger.js';
import { attributionOf, objectAt, text } from '../lib/attribution.js';
import type { JsonObject } from '../lib/json.js';
import type { AppliedRedaction } from './redact.js';
import type { PolicyOutcome } from './result.js';

export interface RecordParts {
  decisionId: string;
  now: Date;
  /** The input as evaluated (for indexing fields only; never stored). */
  input: JsonObject;
  /** The input as stored: redacted, sensitive paths hashed. */
  stored: JsonObject;
  outcome: PolicyOutcome;
  applied: AppliedRedaction[];
  policy: { bundle: string; revision: string; digest: string };
  entrypoint: string;
  request: { requestId: string; caller: string };
  salt: Uint8Array;
}

/** Builds the ledger record of one decision: indexed header fields plus the redacted payload. */
export function ledgerRecord(p: RecordParts): DecisionRecord {
  const subject = objectAt(p.stored, 'subject');
  const action = objectAt(p.stored, 'action');
  const who = attributionOf(p.stored);
  return {
    decisionId: p.decisionId,
    time: p.now.toISOString(),
    subjectId: text(subject, 'id'),
    subjectType: text(subject, 'type'),
    team: who.team,
    costCenter: who.costCenter,
    actionType: text(action, 'type'),
    resource: text(action, 'model') || text(action, 'tool'),
    decision: p.outcome.decision,
    reasonCodes: p.outcome.reasons.map((r) => r.code),
    bundle: p.policy.bundle,
    revision: p.policy.revision,
    digest: p.policy.digest,
    entrypoint: p.entrypoint,
    requestId: p.request.requestId,
    caller: p.request.caller,
    payload: {
      input: p.stored,
      result: {
        decision: p.outcome.decision,
        reasons: p.outcome.reasons.map((r) => ({ ...r })),
        redactions: p.applied.map((r) => ({ ...r })),
        obligations: p.outcome.obligations,
      },
    },
    salt: p.salt,
  };
}
