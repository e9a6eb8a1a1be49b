/**
 * Caller roles and the role each method of gavel's API requires.
 *
 * Every method of every gavel service is listed; the guard refuses to start a
 * service with a method missing here (fail closed: a new method is unreachable
 * until someone decides who may call it). Health and reflection are not gavel
 * services and need no role.
 */
export const ROLES = ['decide', 'report', 'audit', 'audit-payloads', 'approve', 'approve-on-behalf', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export const ROLE_DOCS: Record<Role, string> = {
  decide: "`DecisionService.Decide` and `DecideStream`, `AuditService.RecordOffline`, Envoy's `Authorization/Check` and `ExternalProcessor/Process`",
  report: '`UsageService.Report` (only for decisions the same identity asked for) and `GetUsage`',
  audit: 'every `AuditService` method',
  'audit-payloads': 'the stored payload in `GetDecision` (without it the payload is withheld: empty `payload_json`, `payload_withheld = true`)',
  approve:
    "`ApprovalService.Resolve` as the approver itself (its certificate; its approver roles from the access file's `people:`), `ListApprovals`, `GetApproval`, `WatchApproval`",
  'approve-on-behalf':
    "`ApprovalService.Resolve` naming another person as the approver (an approval front end); the person's roles come from the access file's `people:`, never from the request",
  admin: '`PolicyService.ListBundles` (as does `audit`), `PolicyService.Replay` and `AuditService.Erase` (admin only); the policy-management API to come',
};

/** Full method path (as gRPC names it) → the role a caller needs (any one of a list). */
export const METHOD_ROLES: Readonly<Record<string, Role | readonly Role[]>> = {
  '/gavel.v1.DecisionService/Decide': 'decide',
  '/gavel.v1.DecisionService/DecideStream': 'decide',
  '/gavel.v1.UsageService/Report': 'report',
  '/gavel.v1.UsageService/GetUsage': 'report',
  '/gavel.v1.AuditService/QueryDecisions': 'audit',
  '/gavel.v1.AuditService/GetDecision': 'audit',
  '/gavel.v1.AuditService/Verify': 'audit',
  '/gavel.v1.AuditService/LatestCheckpoint': 'audit',
  '/gavel.v1.AuditService/GetInclusionProof': 'audit',
  '/gavel.v1.AuditService/GetConsistencyProof': 'audit',
  '/gavel.v1.AuditService/Erase': 'admin',
  '/gavel.v1.AuditService/RecordOffline': 'decide',
  '/gavel.v1.PolicyService/ListBundles': ['admin', 'audit'],
  '/gavel.v1.PolicyService/Replay': 'admin',
  '/gavel.v1.ApprovalService/ListApprovals': ['approve', 'audit'],
  '/gavel.v1.ApprovalService/GetApproval': ['decide', 'approve', 'audit'],
  '/gavel.v1.ApprovalService/Resolve': ['approve', 'approve-on-behalf'],
  '/gavel.v1.ApprovalService/WatchApproval': ['decide', 'approve', 'audit'],
  // Envoy's ext_authz: each Check is a decision.
  '/envoy.service.auth.v3.Authorization/Check': 'decide',
  '/envoy.service.ext_proc.v3.ExternalProcessor/Process': 'decide',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
