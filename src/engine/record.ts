import type { DecisionRecord } from '../ledger/types.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
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
  const subject = field(p.stored, 'subject');
  const action = field(p.stored, 'action');
  return {
    decisionId: p.decisionId,
    time: p.now.toISOString(),
    subjectId: text(subject, 'id'),
    subjectType: text(subject, 'type'),
    team: text(subject, 'team'),
    costCenter: text(subject, 'cost_center'),
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

function field(obj: JsonObject, key: string): JsonObject {
  const value: JsonValue | undefined = obj[key];
  return isJsonObject(value) ? value : {};
}

function text(obj: JsonObject, key: string): string {
  const value = obj[key];
  return typeof value === 'string' ? value : '';
}
