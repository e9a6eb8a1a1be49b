import { status } from '@grpc/grpc-js';
import { GavelError } from './errors.js';
import type { DecideRequest } from './gen/gavel/v1/DecideRequest.js';
import type { DecideResponse__Output } from './gen/gavel/v1/DecideResponse.js';
import { isJsonObject, type JsonObject, type JsonValue, parseJsonBytes } from './json.js';
import type { OfflineInfo } from './offline.js';

export type Outcome = 'allow' | 'deny' | 'require_approval' | 'redact';

/**
 * The input document (README "The input document"), a plain object sent as JSON, or its JSON
 * already encoded (a Uint8Array of UTF-8). Typed as any object so that an interface of the caller's
 * own fits; anything but a JSON object is the server's `invalid_input`.
 */
export type DecideInput = object;

export interface DecideOptions {
  /** This call's deadline (default: the client's deadlineMs), spanning its retries. */
  deadlineMs?: number;
  /** Aborting cancels the call: before it is recorded, the server records nothing for it. */
  signal?: AbortSignal;
  /** Echoed back and recorded; a UUID when not given. The same on every attempt. */
  requestId?: string;
  /** The entrypoint, e.g. "gavel/ai/decision"; the server's default when not given. */
  policy?: string;
  /** The route (createClient's `routes`) whose fail mode answers when gavel cannot be asked; without one the call throws. */
  route?: string;
}

/** A rule that fired: its code, message, the rule's name, and the effect it asked for. */
export interface Reason {
  code: string;
  message: string;
  rule: string;
  effect: string;
}

/** A masked span: the JSON pointer of the field and the kind of data it held (never the value). */
export interface Redaction {
  path: string;
  kind: string;
}

export interface DecisionApproval {
  id: string;
  /** RFC 3339. */
  expiresAt: string;
  /** Who may approve, as the policy named them ("role:finance-manager", "user:ana"). */
  approvers: string[];
  /** pending, or consumed when this decision used it. */
  state: string;
  minApprovals: number;
}

const OUTCOMES: Record<string, Outcome> = {
  DECISION_ALLOW: 'allow',
  DECISION_DENY: 'deny',
  DECISION_REQUIRE_APPROVAL: 'require_approval',
  DECISION_REDACT: 'redact',
};

/** A DecideResponse, typed and parsed. */
export class Decision {
  readonly outcome: Outcome;
  readonly reasons: Reason[];
  /** obligations_json parsed ({} when the policy set none). */
  readonly obligations: JsonObject;
  /**
   * The model the call may use: the one a tier-down routed to (obligations.route.model), else the
   * one the input asked for (action.model); undefined when the action names no model.
   */
  readonly model: string | undefined;
  /** The input with every redaction applied; undefined when nothing was redacted. Send this, not the original, on `redact`. */
  readonly redactedInput: JsonObject | undefined;
  readonly redactions: Redaction[];
  /** The approval request a REQUIRE_APPROVAL created or waits on, or the one an allowed decision used. */
  readonly approval: DecisionApproval | undefined;
  readonly decisionId: string;
  readonly requestId: string;
  /** Where the decision is in the ledger: its entry's seq and hash. */
  /** Where gavel recorded it: the entry's seq and hash, and its leaf in the ledger's Merkle tree (seq - 1; AuditService.GetInclusionProof proves it). */
  readonly receipt: { seq: number; entryHash: string; leafIndex: number };
  readonly policy: { bundle: string; revision: string; digest: string };
  readonly entrypoint: string;
  /** RFC 3339 time the server put into input.context.now (the client's clock for an offline decision). */
  readonly evaluatedAt: string;
  /**
   * Set when gavel could not be asked and the route's fail mode answered: decisionId is then a UUID
   * the client made, receipt.seq is 0, and the outbox holds the decision until gavel records it.
   */
  readonly offline: OfflineInfo | undefined;
  /**
   * True when gavel answered a retry of a request id it had already decided (the SDK's own retry after a
   * timeout, say) with the recorded decision: the same decisionId and receipt, nothing counted twice.
   */
  readonly replayed: boolean;

  constructor(res: DecideResponse__Output, input: DecideInput, offline?: OfflineInfo) {
    const outcome = OUTCOMES[res.decision];
    if (!outcome) throw new GavelError('internal', `the server answered decision ${res.decision}`, { grpcCode: status.INTERNAL, retryable: false });
    this.outcome = outcome;
    this.reasons = res.reasons.map(({ code, message, rule, effect }) => ({ code, message, rule, effect }));
    this.obligations = objectOr(parseJsonBytes(res.obligations_json), {});
    this.redactedInput = objectOr(parseJsonBytes(res.redacted_input_json), undefined);
    this.model = routedModel(this.obligations) ?? askedModel(this.redactedInput ?? inputObject(input));
    this.redactions = res.redactions.map(({ path, kind }) => ({ path, kind }));
    this.approval = res.approval ? approvalOf(res.approval) : undefined;
    this.decisionId = res.decision_id;
    this.requestId = res.request_id;
    this.receipt = { seq: res.receipt?.seq ?? 0, entryHash: res.receipt?.entry_hash ?? '', leafIndex: Number(res.receipt?.leaf_index ?? 0) };
    this.policy = { bundle: res.policy?.bundle ?? '', revision: res.policy?.revision ?? '', digest: res.policy?.digest ?? '' };
    this.entrypoint = res.entrypoint;
    this.evaluatedAt = res.evaluated_at;
    this.offline = offline;
    this.replayed = res.replayed === true;
  }

  /**
   * True for `allow` only. A `redact` decision lets the call go on with `redactedInput` in place of
   * the original; it is not "allowed" as sent, so a caller that only checks this fails closed.
   */
  isAllowed(): boolean {
    return this.outcome === 'allow';
  }
}

/** The DecideRequest (or DecideStreamRequest: the same fields) for an input. */
export function decideRequest(input: DecideInput, requestId: string, policy: string | undefined): DecideRequest {
  return { policy: policy ?? '', input_json: input instanceof Uint8Array ? Buffer.from(input) : encode(input), request_id: requestId };
}

function encode(input: object): Buffer {
  try {
    return Buffer.from(JSON.stringify(input) ?? '', 'utf8');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new GavelError('invalid_input', `the input cannot be sent as JSON: ${why}`, { grpcCode: status.INVALID_ARGUMENT, retryable: false, cause: err });
  }
}

function approvalOf(a: NonNullable<DecideResponse__Output['approval']>): DecisionApproval {
  return { id: a.approval_id, expiresAt: a.expires_at, approvers: [...a.approvers], state: a.state, minApprovals: a.min_approvals };
}

function objectOr<T>(value: JsonValue | undefined, fallback: T): JsonObject | T {
  return isJsonObject(value) ? value : fallback;
}

function routedModel(obligations: JsonObject): string | undefined {
  const route = obligations.route;
  return isJsonObject(route) && typeof route.model === 'string' ? route.model : undefined;
}

function askedModel(input: unknown): string | undefined {
  const action = isJsonObject(input) ? input.action : undefined;
  return isJsonObject(action) && typeof action.model === 'string' ? action.model : undefined;
}

function inputObject(input: DecideInput): unknown {
  if (!(input instanceof Uint8Array)) return input;
  try {
    return objectOr(parseJsonBytes(input), undefined);
  } catch {
    return undefined;
  }
}
