import type { Approval__Output } from './gen/gavel/v1/Approval.js';
import { type JsonValue, parseJsonBytes } from './json.js';

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'consumed';

export interface ApprovalVote {
  approver: { id: string; roles: string[] };
  /** approve | reject */
  verdict: string;
  comment: string;
  /** RFC 3339. */
  at: string;
  /** The approval front end that asserted the approver. */
  caller: string;
}

/** An approval request (ApprovalService's Approval), typed. */
export interface Approval {
  id: string;
  state: ApprovalState;
  subjectId: string;
  subjectType: string;
  /** The user an agent acts for ("" when none). */
  onBehalfOf: string;
  team: string;
  costCenter: string;
  actionType: string;
  /** The tool or model. */
  resource: string;
  /** action.params as the ledger stored them (redacted); undefined when withheld from this caller. */
  params: JsonValue | undefined;
  fingerprint: string;
  approvers: string[];
  minApprovals: number;
  createdAt: string;
  expiresAt: string;
  /** When it left pending; "" while pending. */
  resolvedAt: string;
  /** The decision that created it. */
  requestedBy: string;
  /** The decision that used it ("" unless consumed). */
  consumedBy: string;
  caller: string;
  policy: { bundle: string; revision: string; digest: string };
  votes: ApprovalVote[];
  /** The caller may not read params and comments. */
  payloadWithheld: boolean;
}

export function approvalOf(a: Approval__Output): Approval {
  return {
    id: a.approval_id,
    state: a.state as ApprovalState,
    subjectId: a.subject_id,
    subjectType: a.subject_type,
    onBehalfOf: a.on_behalf_of,
    team: a.team,
    costCenter: a.cost_center,
    actionType: a.action_type,
    resource: a.resource,
    params: parseJsonBytes(a.params_json),
    fingerprint: a.fingerprint,
    approvers: [...a.approvers],
    minApprovals: a.min_approvals,
    createdAt: a.created_at,
    expiresAt: a.expires_at,
    resolvedAt: a.resolved_at,
    requestedBy: a.requested_by,
    consumedBy: a.consumed_by,
    caller: a.caller,
    policy: { bundle: a.policy?.bundle ?? '', revision: a.policy?.revision ?? '', digest: a.policy?.digest ?? '' },
    votes: a.votes.map((v) => ({
      approver: { id: v.approver?.id ?? '', roles: [...(v.approver?.roles ?? [])] },
      verdict: v.verdict,
      comment: v.comment,
      at: v.at,
      caller: v.caller,
    })),
    payloadWithheld: a.payload_withheld,
  };
}

/** No longer waiting on a person: approved (the call may be retried with its id), rejected, expired or consumed. */
export function isSettled(state: string): boolean {
  return state !== 'pending';
}
