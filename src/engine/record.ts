import { comparedAs, type HeaderFacts } from './header-facts.js';
import type { PolicyRef } from './policy-ref.js';
import type { CanonicalRecord } from './ledger.js';
import { canonicalJson } from '../lib/canonical.js';
import type { JsonObject } from '../lib/json.js';
import type { AppliedRedaction } from './redact.js';
import type { PolicyOutcome } from './result.js';

export interface RecordParts {
  decisionId: string;
  now: Date;
  /** Who asked for what, from the input as received (see header-facts.ts). */
  header: HeaderFacts;
  /** The input as stored: redacted, sensitive paths hashed. */
  stored: JsonObject;
  outcome: PolicyOutcome;
  applied: AppliedRedaction[];
  /** Sensitive paths stored as salted hashes (present in the input). */
  hashed: string[];
  policy: PolicyRef;
  entrypoint: string;
  salt: Uint8Array;
  /** An idempotent request's commitment to its input (idempotency.ts requestHash). */
  requestHash?: string;
}

/**
 * Builds the ledger record of one decision: indexed header fields plus the redacted payload, as canonical JSON.
 * The header keeps the subject, team and cost center as received; where one is compared (and its budget kept)
 * under another form, the payload's `compared_as` names that form.
 */
export function ledgerRecord(p: RecordParts): CanonicalRecord {
  const forms = comparedAs(p.header);
  return {
    decisionId: p.decisionId,
    time: p.now.toISOString(),
    ...p.header,
    decision: p.outcome.decision,
    reasonCodes: p.outcome.reasons.map((r) => r.code),
    bundle: p.policy.bundle,
    revision: p.policy.revision,
    digest: p.policy.digest,
    entrypoint: p.entrypoint,
    payloadJcs: canonicalJson({
      input: p.stored,
      result: {
        decision: p.outcome.decision,
        reasons: p.outcome.reasons.map((r) => ({ ...r })),
        redactions: p.applied.map((r) => ({ ...r })),
        obligations: p.outcome.obligations,
        ...(p.hashed.length > 0 ? { hashed_paths: p.hashed } : {}),
        // Redaction masks each removed value wherever it appears, so the stored input may differ even where no path applied.
        ...(p.outcome.redactions.length > 0 || p.hashed.length > 0 ? { input_altered: true } : {}),
      },
      ...(Object.keys(forms).length > 0 ? { compared_as: forms } : {}),
      ...(p.requestHash ? { request_hash: p.requestHash } : {}),
    }),
    salt: p.salt,
  };
}
