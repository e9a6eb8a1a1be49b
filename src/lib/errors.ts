/**
 * The one registry of gavel's stable error codes and service reason codes.
 *
 * Errors carry a stable `code`; the transport maps codes to gRPC status at the
 * edge (transport/status.ts) and nothing else in the core knows about gRPC.
 * The README's "Error codes" and "Service reason codes" tables are checked
 * against these lists by test/errors-doc.test.ts.
 */

/** Transport-neutral status names; the values match the gRPC code names. */
export type StatusName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'UNAVAILABLE'
  | 'FAILED_PRECONDITION'
  | 'DEADLINE_EXCEEDED'
  | 'ABORTED'
  | 'INTERNAL';

export const ERROR_CODES = {
  invalid_input: { status: 'INVALID_ARGUMENT', doc: 'The input is not a UTF-8 JSON object, or both/neither input forms were sent.' },
  input_too_large: { status: 'RESOURCE_EXHAUSTED', doc: 'The input exceeds `engine.maxInputBytes` (default 1 MiB).' },
  input_too_deep: { status: 'INVALID_ARGUMENT', doc: 'The input nests deeper than `engine.maxDepth` (default 64).' },
  unknown_entrypoint: { status: 'NOT_FOUND', doc: 'No active bundle declares the requested entrypoint; the message lists the known ones.' },
  not_ready: { status: 'UNAVAILABLE', doc: 'No bundle is active yet.' },
  ledger_unavailable: {
    status: 'UNAVAILABLE',
    doc: 'The ledger append failed, or the ledger file was deleted or replaced under the server; no answer is given without its record.',
  },
  ledger_in_use: { status: 'FAILED_PRECONDITION', doc: 'Another process (pid named) is already the writer of this ledger file; one file takes one writer.' },
  ledger_missing: {
    status: 'FAILED_PRECONDITION',
    doc: 'A signing key exists but its ledger is missing, empty or another ledger; start with `--new-ledger` only if a fresh ledger is intended.',
  },
  usage_unavailable: {
    status: 'UNAVAILABLE',
    doc: 'Usage state could not be read or reserved (the shared store unreachable or past its deadline, a budget locked past it), or kept changing through 8 evaluations of one decision; fail closed.',
  },
  evaluation_unavailable: {
    status: 'UNAVAILABLE',
    doc: 'The evaluation worker holding the decision stopped (it crashed, or one decision ran past `engine.evaluationTimeoutMs`); nothing is recorded and the worker is replaced.',
  },
  abandoned: {
    status: 'DEADLINE_EXCEEDED',
    doc: 'The caller cancelled or its deadline passed before the decision was recorded: nothing is recorded or reserved for it.',
  },
  unauthenticated: {
    status: 'UNAUTHENTICATED',
    doc: 'Mutual TLS is on and the client certificate names no identity: no URI or DNS SAN and no CN, or the first one is malformed (a URI SAN without a scheme, a DNS SAN that is not a host name or is a wildcard, a CN that reads as a URI) or holds an invisible or control character.',
  },
  permission_denied: {
    status: 'PERMISSION_DENIED',
    doc: 'The caller\'s identity does not hold the role the method needs (README "Access"), or a usage report names a decision another identity asked for.',
  },
  sign_in_invalid: {
    status: 'UNAUTHENTICATED',
    doc: 'A console sign-in link is not one this server signed, has expired or was already used; or a console session expired or was signed out.',
  },
  decision_not_found: { status: 'NOT_FOUND', doc: 'No ledger entry has that decision id (or seq).' },
  proof_unavailable: {
    status: 'FAILED_PRECONDITION',
    doc: 'No signed checkpoint covers the entry yet (the server signs one on request), or the ledger file has no Merkle tree yet (gavel serve builds it when it opens the file).',
  },
  invalid_proof_request: {
    status: 'INVALID_ARGUMENT',
    doc: 'A proof was asked for sizes outside the ledger (0 <= from <= to <= its size), or against a checkpoint that cannot be read.',
  },
  invalid_witness_requirement: {
    status: 'INVALID_ARGUMENT',
    doc: 'A verify asked for witness cosignatures with a witness key that cannot be read, or with min_witnesses 0 or more than the keys given.',
  },
  invalid_erasure: {
    status: 'INVALID_ARGUMENT',
    doc: 'An erasure names no or an empty subject, decision or time, no reason (or one over 1 KiB), or a basis other than gdpr-art17, retention, legal-order or other.',
  },
  invalid_query: { status: 'INVALID_ARGUMENT', doc: 'An audit query filter is malformed (bad time, bad decision name, bad limit).' },
  invalid_report: { status: 'INVALID_ARGUMENT', doc: 'A usage report is missing attribution or carries negative or malformed numbers.' },
  invalid_offline: {
    status: 'INVALID_ARGUMENT',
    doc: 'A RecordOffline request is malformed (id, time in the future, mode and decision that do not go together, a fallback without its revision), or its offline_id names an entry of another kind.',
  },
  idempotency_conflict: {
    status: 'FAILED_PRECONDITION',
    doc: 'A Decide reuses a `request_id` this caller already had decided within the idempotency window (`--idempotency-window`, default 24h) with a different input (or one whose recorded payload was erased); the earlier decision is not given for it: use a new request id.',
  },
  request_in_progress: {
    status: 'ABORTED',
    doc: "Another replica is deciding a Decide with this caller's `request_id` at this moment (or has just decided it and not yet written its receipt to the shared store): retry in a moment to get its answer. Never a second decision.",
  },
  approval_changed: {
    status: 'ABORTED',
    doc: 'Another replica changed this approval at the same moment (a vote, an expiry, its use) in the shared store: read it again, and retry if the vote still applies.',
  },
  report_conflict: { status: 'FAILED_PRECONDITION', doc: 'A usage report for a decision id was already settled with different numbers.' },
  bundle_invalid: { status: 'FAILED_PRECONDITION', doc: 'A bundle failed to load or verify; nothing from that bundle set is activated.' },
  ledger_in_memory: {
    status: 'FAILED_PRECONDITION',
    doc: 'Replay reads the ledger file on a connection of its own; this server\'s ledger is in memory (":memory:") and cannot be replayed.',
  },
  replay_busy: { status: 'RESOURCE_EXHAUSTED', doc: 'A replay is already running on this server; one runs at a time: retry when it has ended.' },
  approval_not_found: { status: 'NOT_FOUND', doc: 'No approval has that id.' },
  approval_not_pending: {
    status: 'FAILED_PRECONDITION',
    doc: 'The approval is no longer pending (approved, rejected, expired or consumed); only a pending request can be resolved.',
  },
  approver_not_allowed: {
    status: 'PERMISSION_DENIED',
    doc: 'The approver may not resolve this request: not among the approvers the policy named, the subject itself, the user an agent acts for, or already voted on it.',
  },
  approvals_unavailable: { status: 'UNAVAILABLE', doc: 'Approval state (in the ledger file) could not be read; the call fails closed.' },
  state_mismatch: {
    status: 'FAILED_PRECONDITION',
    doc: 'The approval or usage tables disagree with what the ledger chain adds up to (rows edited, inserted or deleted outside gavel); the message names the rows. `gavel serve` refuses to start (exit 3) unless `--rebuild-state`; `audit verify` fails.',
  },
  too_many_watches: { status: 'RESOURCE_EXHAUSTED', doc: 'The server already holds 1024 open `WatchApproval` streams; retry later or poll `GetApproval`.' },
  invalid_approval: {
    status: 'INVALID_ARGUMENT',
    doc: 'A Resolve request lacks the approval id, a verdict or the approver, or carries an oversize comment or role list.',
  },
  config_invalid: { status: 'INVALID_ARGUMENT', doc: 'A configuration value is invalid; the message names the key.' },
  internal: { status: 'INTERNAL', doc: 'An unexpected fault; details go to the log, not the wire.' },
} as const satisfies Record<string, { status: StatusName; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Reason codes the service itself emits (policies add their own). */
export const SERVICE_REASON_CODES = {
  policy_error: 'The policy result broke the result contract; the decision is DENY.',
  no_decision: 'The policy result was undefined; the decision is DENY.',
  evaluation_error: 'Evaluation trapped or ran out of memory; the decision is DENY and the evaluator is replaced.',
  content_truncated:
    'The edge received only part of the body (Envoy ext_authz past `max_request_bytes` with `allow_partial_message`); the decision is DENY without evaluation, never made on a prefix, and nothing of the body is stored.',
  body_unreadable:
    'A body the route reads (a model call, or params from the body) is not one JSON object with unique keys; the decision is DENY without evaluation, and nothing of the body is stored.',
} as const;

export type ServiceReasonCode = keyof typeof SERVICE_REASON_CODES;

export class GavelError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GavelError';
    this.code = code;
  }

  get status(): StatusName {
    return ERROR_CODES[this.code].status;
  }
}

/**
 * The fail-closed wrap, written once: a GavelError passes as it is (it already names what failed);
 * anything else becomes `code` with `message`, its cause kept for the log, never for the wire.
 */
export function failClosed(err: unknown, code: ErrorCode, message: string): GavelError {
  return err instanceof GavelError ? err : new GavelError(code, message, { cause: err });
}

/** Runs `step`; a failure is rethrown as failClosed(err, code, message). */
export async function closedOnFailure<T>(code: ErrorCode, message: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw failClosed(err, code, message);
  }
}

export function isGavelError(err: unknown): err is GavelError {
  return err instanceof GavelError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
