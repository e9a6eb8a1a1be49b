import { identityForm } from '../../lib/identity-form.js';
import type { Approval, Approver } from './approval.js';

/**
 * Whether this person may cast a vote on this request, or why not: an
 * approver is never the subject, nor the user an agent acts for, never votes
 * twice on one request, and must be named by the policy's approvers — by role
 * ("role:finance-manager", or a bare "finance-manager") or as a person
 * ("user:ana"). People are compared in their comparison form
 * (lib/identity-form.ts): `Fiona` and full-width `ｆｉｏｎａ` are the subject
 * `fiona`, and `MIA` has already voted when `mia` has.
 */
export function ineligibility(a: Approval, approver: Approver): string | undefined {
  const who = identityForm(approver.id);
  if (who === identityForm(a.subjectId)) return `${approver.id} is the subject of this request and may not approve it`;
  if (a.onBehalfOf !== '' && who === identityForm(a.onBehalfOf)) return `${approver.id} is the user this agent acts for and may not approve its request`;
  if (a.votes.some((v) => identityForm(v.approver.id) === who))
    return `${approver.id} has already voted on this request; each approval needs a distinct approver`;
  if (!a.approvers.some((name) => names(name, approver, who)))
    return `${approver.id} is not one of the approvers this request names (${a.approvers.join(', ')})`;
  return undefined;
}

function names(name: string, approver: Approver, who: string): boolean {
  if (name.startsWith('user:')) return who === identityForm(name.slice('user:'.length));
  const role = name.startsWith('role:') ? name.slice('role:'.length) : name;
  return role !== '' && approver.roles.includes(role);
}
