import { randomUUID } from 'node:crypto';
import type { Outcome } from './decision.js';
import type { GavelError } from './errors.js';
import type { FallbackDecision } from './fallback.js';
import type { DecideRequest } from './gen/gavel/v1/DecideRequest.js';
import type { DecideResponse__Output } from './gen/gavel/v1/DecideResponse.js';
import type { Decision__Output as DecisionEnum } from './gen/gavel/v1/Decision.js';
import type { OfflineMode__Output as OfflineMode } from './gen/gavel/v1/OfflineMode.js';
import type { RecordOfflineRequest } from './gen/gavel/v1/RecordOfflineRequest.js';
import type { FailMode } from './options.js';
import type { OfflineRecord } from './outbox.js';

/** How a Decision made without gavel says so. */
export interface OfflineInfo {
  mode: FailMode;
  /** The error code that kept gavel from being asked. */
  cause: string;
  route: string;
}

/** Codes that say gavel could not be asked, whatever their retryable flag. */
const UNREACHABLE = new Set(['unavailable', 'circuit_open', 'deadline_exceeded']);
/** The caller's own doing: never a reason to decide without gavel. */
const CALLERS = new Set(['cancelled', 'closed']);

const DECISION_ENUM: Record<Outcome, DecisionEnum> = {
  allow: 'DECISION_ALLOW',
  deny: 'DECISION_DENY',
  require_approval: 'DECISION_REQUIRE_APPROVAL',
  redact: 'DECISION_REDACT',
};
const MODE_ENUM: Record<FailMode, OfflineMode> = { closed: 'OFFLINE_MODE_CLOSED', open: 'OFFLINE_MODE_OPEN', fallback: 'OFFLINE_MODE_FALLBACK' };

/**
 * Gavel could not be asked (no connection, the breaker open, no answer in time, a transient fault
 * it reported), as opposed to a refusal (invalid_input, permission_denied): only then does a
 * route's fail mode answer.
 */
export function gavelUnreachable(err: GavelError): boolean {
  if (CALLERS.has(err.code)) return false;
  return err.retryable || UNREACHABLE.has(err.code);
}

/** The record of a decision made under the closed or open mode because of `err`, for the outbox and the answer. */
export function offlineRecord(request: DecideRequest, route: string, mode: 'closed' | 'open', err: GavelError, why = ''): OfflineRecord {
  const reason =
    mode === 'closed'
      ? { code: 'pdp_unavailable', message: `gavel could not be asked (${err.code}): route ${route} fails closed${why}` }
      : { code: 'pdp_unavailable_fail_open', message: `gavel could not be asked (${err.code}): route ${route} fails open` };
  return { ...recordOf(request, route, err), mode, decision: mode === 'closed' ? 'deny' : 'allow', reasons: [reason] };
}

/** The record of what the local copy of the bundle decided (a fallback route). */
export function fallbackRecord(request: DecideRequest, route: string, err: GavelError, local: FallbackDecision): OfflineRecord {
  return {
    ...recordOf(request, route, err),
    mode: 'fallback',
    decision: local.decision,
    reasons: local.reasons.map(({ code, message }) => ({ code, message })),
    policy_version: { ...local.policy },
  };
}

function recordOf(request: DecideRequest, route: string, err: GavelError): Omit<OfflineRecord, 'mode' | 'decision' | 'reasons'> {
  return {
    offline_id: randomUUID(),
    decided_at: new Date().toISOString(),
    input_json: Buffer.from(request.input_json ?? '').toString('utf8'),
    request_id: request.request_id ?? '',
    policy: request.policy ?? '',
    route,
    cause: err.code,
  };
}

/**
 * The record as a DecideResponse would have carried it: no ledger receipt (seq 0); a fallback
 * answer also carries the local bundle's redactions, obligations and revision.
 */
export function offlineResponse(r: OfflineRecord, local?: FallbackDecision): DecideResponse__Output {
  return {
    decision_id: r.offline_id,
    decision: DECISION_ENUM[r.decision],
    reasons: local
      ? local.reasons.map((x) => ({ ...x, effect_enum: 'DECISION_UNSPECIFIED' }))
      : r.reasons.map((x) => ({ ...x, rule: '', effect: r.decision, effect_enum: 'DECISION_UNSPECIFIED' })),
    redacted_input_json: local?.redactedInput ? Buffer.from(JSON.stringify(local.redactedInput)) : Buffer.alloc(0),
    redactions: local ? local.redactions.map(({ path, kind }) => ({ path, kind })) : [],
    obligations_json: local ? Buffer.from(JSON.stringify(local.obligations)) : Buffer.alloc(0),
    policy: r.policy_version ?? null,
    receipt: null,
    request_id: r.request_id,
    entrypoint: local?.entrypoint ?? r.policy,
    evaluated_at: r.decided_at,
    approval: null,
    replayed: false,
  };
}

/** What RecordOffline is sent for a record. */
export function recordOfflineRequest(r: OfflineRecord): RecordOfflineRequest {
  return {
    offline_id: r.offline_id,
    decided_at: r.decided_at,
    mode: MODE_ENUM[r.mode],
    decision: DECISION_ENUM[r.decision],
    reasons: r.reasons,
    input_json: Buffer.from(r.input_json, 'utf8'),
    request_id: r.request_id,
    policy: r.policy,
    cause: r.cause,
    ...(r.policy_version ? { policy_version: r.policy_version } : {}),
  };
}
