import { canonicalJson } from '../../lib/canonical.js';
import type { EntryRecord } from '../ledger.js';
import { approvalsGiven, type Approval, type Approver, type RolesFrom, type Vote } from './approval.js';
import { identityForm } from '../../lib/identity-form.js';
import type { JsonObject } from '../../lib/json.js';
import { newEntryId } from '../../lib/entry-id.js';
import { newSalt } from '../../lib/salt.js';

/** What happened to an approval: each is one ledger entry of kind "approval". */
export type ApprovalEvent = 'requested' | 'approved' | 'rejected' | 'expired' | 'consumed';

export interface ApprovalEventParts {
  event: ApprovalEvent;
  /** The approval after the event. */
  approval: Approval;
  /** The decision it belongs to: the one that asked (requested) or used it (consumed). */
  decisionId?: string;
  /** The vote this event records (approved, rejected). */
  vote?: Vote;
  /** Who caused it: the decision's caller, the approval front end, or "gavel" (expiry). */
  caller: string;
  /** A vote's: where the approver's roles came from. */
  rolesFrom?: RolesFrom;
  /** The request lives in a store shared by replicas (recorded with `requested`: its row is not in this ledger's file). */
  shared?: boolean;
  /** The entry's id, when the store needed it first (a shared store names the entry in the row). */
  entryId?: string;
  /** A shared store's version of the row this event made: an audit counts an approval's changes by it. */
  version?: number;
  now: Date;
}

/**
 * The ledger record of an approval event, in the chain with the decisions. The
 * header says who and what (the request's subject, team, cost center, tool or
 * model), `action_type` "approval.<event>", `decision` the event and
 * `request_id` the approval id; the payload holds the rest, the approver's
 * comment included (free text stays out of indexed columns).
 */
export function approvalEventRecord(p: ApprovalEventParts): EntryRecord {
  const a = p.approval;
  return {
    kind: 'approval',
    decisionId: p.entryId ?? newEntryId(),
    time: p.now.toISOString(),
    subjectId: a.subjectId,
    subjectType: a.subjectType,
    team: a.team,
    costCenter: a.costCenter,
    actionType: `approval.${p.event}`,
    resource: a.resource,
    decision: p.event,
    reasonCodes: [],
    bundle: a.policy.bundle,
    revision: a.policy.revision,
    digest: a.policy.digest,
    entrypoint: '',
    requestId: a.id,
    caller: p.caller,
    payloadJcs: canonicalJson({
      approval: {
        id: a.id,
        event: p.event,
        state: a.state,
        fingerprint: a.fingerprint,
        action_type: a.actionType,
        resource: a.resource,
        on_behalf_of: a.onBehalfOf,
        approvers: a.approvers,
        min_approvals: a.minApprovals,
        approvals: approvalsGiven(a),
        expires_at: new Date(a.expiresAtMs).toISOString(),
        requested_by: a.requestedBy,
        // What the approver is shown, so the request can be rebuilt from the chain alone (state/derive.ts).
        ...(p.event === 'requested' ? { params: a.params, ...(p.shared ? { store: 'shared' } : {}) } : {}),
        ...(p.decisionId ? { decision_id: p.decisionId } : {}),
        ...(a.consumedBy ? { consumed_by: a.consumedBy } : {}),
        ...(p.version !== undefined ? { version: p.version } : {}),
        ...(p.vote ? { approver: approverRecord(p.vote.approver, p.rolesFrom, p.caller), verdict: p.vote.verdict, comment: p.vote.comment } : {}),
      },
    }),
    salt: newSalt(),
  };
}

/**
 * The approver, the form their id is compared in where it differs (README "Approvals"), where their
 * roles came from, and whether a front end (the entry's caller) named them rather than the person calling.
 */
function approverRecord(a: Approver, rolesFrom: RolesFrom | undefined, caller: string): JsonObject {
  const form = identityForm(a.id);
  return {
    id: a.id,
    roles: a.roles,
    ...(form !== a.id ? { compared_as: form } : {}),
    ...(rolesFrom ? { roles_from: rolesFrom } : {}),
    ...(rolesFrom && identityForm(caller) !== form ? { named_by: caller } : {}),
  };
}
