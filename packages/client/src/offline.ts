import { randomUUID } from 'node:crypto';
import type { GavelError } from './errors.js';
import type { DecideRequest } from './gen/gavel/v1/DecideRequest.js';
import type { DecideResponse__Output } from './gen/gavel/v1/DecideResponse.js';
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

/**
 * Gavel could not be asked (no connection, the breaker open, no answer in time, a transient fault
 * it reported), as opposed to a refusal (invalid_input, permission_denied): only then does a
 * route's fail mode answer.
 */
export function gavelUnreachable(err: GavelError): boolean {
  if (CALLERS.has(err.code)) return false;
  return err.retryable || UNREACHABLE.has(err.code);
}

/** The record of a decision made under `mode` because of `err`, for the outbox and the answer. */
export function offlineRecord(request: DecideRequest, route: string, mode: FailMode, err: GavelError): OfflineRecord {
  const reason =
    mode === 'closed'
      ? { code: 'pdp_unavailable', message: `gavel could not be asked (${err.code}): route ${route} fails closed` }
      : { code: 'pdp_unavailable_fail_open', message: `gavel could not be asked (${err.code}): route ${route} fails open` };
  return {
    offline_id: randomUUID(),
    decided_at: new Date().toISOString(),
    mode,
    decision: mode === 'closed' ? 'deny' : 'allow',
    reasons: [reason],
    input_json: Buffer.from(request.input_json ?? '').toString('utf8'),
    request_id: request.request_id ?? '',
    policy: request.policy ?? '',
    route,
    cause: err.code,
  };
}

/** The record as a DecideResponse would have carried it: no ledger receipt (seq 0), no policy. */
export function offlineResponse(r: OfflineRecord): DecideResponse__Output {
  return {
    decision_id: r.offline_id,
    decision: r.decision === 'deny' ? 'DECISION_DENY' : 'DECISION_ALLOW',
    reasons: r.reasons.map((x) => ({ ...x, rule: '', effect: r.decision, effect_enum: 'DECISION_UNSPECIFIED' })),
    redacted_input_json: Buffer.alloc(0),
    redactions: [],
    obligations_json: Buffer.alloc(0),
    policy: null,
    receipt: null,
    request_id: r.request_id,
    entrypoint: r.policy,
    evaluated_at: r.decided_at,
    approval: null,
  };
}

/** What RecordOffline is sent for a record. */
export function recordOfflineRequest(r: OfflineRecord): RecordOfflineRequest {
  return {
    offline_id: r.offline_id,
    decided_at: r.decided_at,
    mode: r.mode === 'closed' ? 'OFFLINE_MODE_CLOSED' : 'OFFLINE_MODE_OPEN',
    decision: r.decision === 'deny' ? 'DECISION_DENY' : 'DECISION_ALLOW',
    reasons: r.reasons,
    input_json: Buffer.from(r.input_json, 'utf8'),
    request_id: r.request_id,
    policy: r.policy,
    cause: r.cause,
  };
}
