import type { JsonObject } from '../../lib/json.js';
import type { PolicyRef } from '../policy-ref.js';

/**
 * A human approval of one exact action. States: pending → approved | rejected
 * | expired, and approved → consumed | expired (an approval unused by its
 * expiry lapses). Terminal: rejected, expired, consumed.
 */
export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'consumed';

export const APPROVAL_STATES: readonly ApprovalState[] = ['pending', 'approved', 'rejected', 'expired', 'consumed'];

export type Verdict = 'approve' | 'reject';

/** The person who approves or rejects, as the approval front end asserts them. */
export interface Approver {
  id: string;
  roles: string[];
}

/**
 * Where an approver's roles came from, recorded in the vote's entry: the access file's `people:`
 * (the approver proven by certificate, or named by a front end holding approve-on-behalf), or the
 * request itself (no access file: development).
 */
export type RolesFrom = 'access-file' | 'asserted';

export interface Vote {
  approver: Approver;
  verdict: Verdict;
  /** Free text; stored in the approval and in its ledger entry's payload, never in an indexed header field. */
  comment: string;
  atMs: number;
  /** The identity of the front end that asserted the approver (the gRPC caller). */
  caller: string;
}

export interface Approval {
  id: string;
  state: ApprovalState;
  /** sha256 of the canonical action (fingerprint.ts): the approval is for exactly this. */
  fingerprint: string;
  subjectId: string;
  subjectType: string;
  /** The user an agent acted for ("" when none): never an approver of it. */
  onBehalfOf: string;
  team: string;
  costCenter: string;
  actionType: string;
  /** The tool or model. */
  resource: string;
  /** action.params as the ledger stored them (redacted): what the approver is shown. */
  params: JsonObject;
  /** Who may approve, as the policy named them: "role:<role>", "user:<id>" (a bare name is a role). */
  approvers: string[];
  minApprovals: number;
  createdAtMs: number;
  expiresAtMs: number;
  /** The decision that answered REQUIRE_APPROVAL and created this request. */
  requestedBy: string;
  /** Who asked for that decision (the enforcement point's identity). */
  caller: string;
  policy: PolicyRef;
  votes: Vote[];
  /** When it left pending (approved, rejected or expired). */
  resolvedAtMs?: number;
  /** The decision that used it (state consumed). */
  consumedBy?: string;
}

/** What the policy sees as input.context.approval (injected by gavel, never taken from the caller). */
export interface ApprovalContext {
  id: string;
  /** An approval state, or "unknown" for an id gavel has no approval for. */
  state: ApprovalState | 'unknown';
  approvers: string[];
  /** True when the approval was given for exactly this action (same fingerprint). */
  matches: boolean;
}

/** What a decision's answer says about the approval it created, reused or used. */
export interface DecisionApproval {
  id: string;
  state: ApprovalState;
  expiresAt: string;
  approvers: string[];
  minApprovals: number;
}

export function isTerminal(state: ApprovalState): boolean {
  return state === 'rejected' || state === 'expired' || state === 'consumed';
}

/** Pending or approved, and past its expiry: it expires now. */
export function isDue(a: Approval, nowMs: number): boolean {
  return (a.state === 'pending' || a.state === 'approved') && nowMs >= a.expiresAtMs;
}

export function approvalsGiven(a: Approval): number {
  return a.votes.filter((v) => v.verdict === 'approve').length;
}

export function contextOf(a: Approval | undefined, id: string, fingerprint: string): ApprovalContext {
  if (!a) return { id, state: 'unknown', approvers: [], matches: false };
  return { id: a.id, state: a.state, approvers: [...a.approvers], matches: a.fingerprint === fingerprint };
}

export function decisionApproval(a: Approval): DecisionApproval {
  return { id: a.id, state: a.state, expiresAt: new Date(a.expiresAtMs).toISOString(), approvers: [...a.approvers], minApprovals: a.minApprovals };
}
