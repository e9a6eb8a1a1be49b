import type { Approver, RolesFrom } from '../../engine/approvals/approval.js';
import { GavelError } from '../../lib/errors.js';
import { identityForm } from '../../lib/identity-form.js';
import type { AccessPolicy } from './access-policy.js';
import type { PeerIdentity } from './certificate-identity.js';
import type { Caller } from './guard.js';

/** Who votes on an approval, and where their roles came from (recorded in the vote's entry). */
export interface ProvenApprover {
  approver: Approver;
  rolesFrom: RolesFrom;
}

/**
 * The approver of a Resolve (README "Approvers authenticate"). With an access file, gavel says who
 * approves and with which roles:
 * - a caller naming nobody, or itself, is the approver (their own certificate), needs `approve`, and
 *   holds the approver roles the file's `people:` grants its identity;
 * - a caller naming someone else is a front end acting on their behalf: it needs `approve-on-behalf`,
 *   and the person holds the roles `people:` grants them.
 * Roles the request asserts are never added: one the file does not grant is refused.
 * Without an access file (no mutual TLS, development) the approver is taken as asserted.
 */
export function provenApprover(asserted: Approver, caller: Caller, access: AccessPolicy): ProvenApprover {
  if (!access.authenticatesPeople) return { approver: { id: asserted.id, roles: [...asserted.roles] }, rolesFrom: 'asserted' };
  const self = asserted.id === '' || identityForm(asserted.id) === identityForm(caller.id);
  if (self && !caller.roles.has('approve')) {
    throw new GavelError(
      'permission_denied',
      `${caller.id} resolves as itself and needs role "approve"; a front end naming the approver needs "approve-on-behalf"`,
    );
  }
  if (!self && !caller.roles.has('approve-on-behalf')) {
    throw new GavelError(
      'permission_denied',
      `${caller.id} names another person as the approver (${asserted.id}) and does not hold role "approve-on-behalf"; an approver may resolve with their own certificate`,
    );
  }
  const person: PeerIdentity = self ? caller.identity : personOf(asserted.id);
  const roles = access.approverRolesOf(person);
  const extra = asserted.roles.filter((r) => !roles.includes(r));
  if (extra.length > 0) {
    throw new GavelError(
      'approver_not_allowed',
      `roles ${extra.map((r) => JSON.stringify(r)).join(', ')} asserted for ${person.name} are not granted by the access file's people: section (it grants ${roles.length > 0 ? roles.join(', ') : 'none'}); leave roles empty and gavel supplies them`,
    );
  }
  return { approver: { id: person.name, roles }, rolesFrom: 'access-file' };
}

/** A person a front end names, as the access file's patterns match them: a URI when it has a scheme, else a name. */
export function personOf(identity: string): PeerIdentity {
  return { kind: /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(identity) ? 'uri' : 'cn', name: identity };
}
