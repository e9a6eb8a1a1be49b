import type { Decision } from '../../runtime/faces.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../lib/json.js';
import type { ExtAuthzConfig } from './ext-authz-config.js';

/** google.rpc.Code values Envoy reads from CheckResponse.status. */
const OK = 0;
const PERMISSION_DENIED = 7;

export type HeaderOption = { header: { key: string; value: string }; append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };

/**
 * The CheckResponse for a decision (README "Behind Envoy"): ALLOW goes on with the decision's
 * headers (and the model a tier-down chose); DENY is 403, or 429 when only budgets or rates deny;
 * REQUIRE_APPROVAL is 403 with the approval request; REDACT, which ext_authz cannot apply to a body,
 * is 403 `redaction_required` unless the ext_proc filter will redact it (`redacting`).
 * `dynamic_metadata` carries the decision for Envoy's access log either way.
 */
export function checkResponse(d: Decision, config: ExtAuthzConfig, redacting: boolean): Record<string, unknown> {
  const metadata = structOf({
    decision_id: d.decisionId,
    decision: d.decision,
    reason_codes: d.reasons.map((r) => r.code),
    policy_revision: d.policy.revision,
    request_id: d.requestId,
  });
  const common = decisionHeaders(d);
  if (d.decision === 'allow' || (d.decision === 'redact' && redacting)) {
    const routed = routedModel(d.obligations);
    const model = routed ? [config.model_header, config.route_override_header].filter(Boolean).map((h) => header(h, routed)) : [];
    return {
      status: { code: OK, message: '', details: [] },
      ok_response: {
        headers: [...common, ...model],
        // What a caller sent under these names never reaches the route: only gavel names the model.
        headers_to_remove: routed ? [] : [config.model_header, config.route_override_header].filter(Boolean),
        response_headers_to_add: common,
      },
      dynamic_metadata: metadata,
    };
  }
  const denial = denialOf(d, config);
  return {
    status: { code: PERMISSION_DENIED, message: `gavel: ${d.decision} (${d.reasons.map((r) => r.code).join(', ') || 'no reason'})`, details: [] },
    denied_response: { status: { code: denial.status }, headers: denial.headers, body: denial.body },
    dynamic_metadata: metadata,
  };
}

/** What Envoy answers the caller when gavel does not let a request through (ext_authz's denied_response, ext_proc's immediate_response). */
export interface Denial {
  /** envoy.type.v3.StatusCode: 429 when only budgets or rates deny, else 403. */
  status: 'Forbidden' | 'TooManyRequests';
  headers: HeaderOption[];
  /** JSON: the outcome, the reasons, the decision id, and the approval request with how to retry. */
  body: string;
}

export function denialOf(d: Decision, config: ExtAuthzConfig): Denial {
  const quota = d.decision === 'deny' && quotaOnly(d, config);
  const body: JsonObject = {
    outcome: d.decision === 'redact' ? 'deny' : d.decision,
    ...(d.decision === 'redact' ? { code: 'redaction_required' } : {}),
    decision_id: d.decisionId,
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
    ...(d.approval
      ? {
          approval: {
            id: d.approval.id,
            state: d.approval.state,
            expires_at: d.approval.expiresAt,
            approvers: d.approval.approvers,
            how: `once approved, send the same request again with the header ${config.approval_header}: ${d.approval.id} (gavel.v1.ApprovalService/WatchApproval waits for it)`,
          },
        }
      : {}),
  };
  return {
    status: quota ? 'TooManyRequests' : 'Forbidden',
    headers: [...decisionHeaders(d), header('content-type', 'application/json'), ...(d.approval ? [header(config.approval_header, d.approval.id)] : [])],
    body: JSON.stringify(body),
  };
}

/** x-gavel-decision-id and x-gavel-policy-revision. */
export function decisionHeaders(d: Decision): HeaderOption[] {
  return [header('x-gavel-decision-id', d.decisionId), header('x-gavel-policy-revision', d.policy.revision)];
}

function quotaOnly(d: Decision, config: ExtAuthzConfig): boolean {
  const denying = d.reasons.filter((r) => r.effect === 'deny');
  return denying.length > 0 && denying.every((r) => config.quota_reasons.includes(r.code));
}

function routedModel(obligations: JsonObject): string | undefined {
  const route = obligations.route;
  return isJsonObject(route) && typeof route.model === 'string' && route.model !== '' ? route.model : undefined;
}

export function header(key: string, value: string): HeaderOption {
  return { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

/**
 * google.protobuf.Struct of a JSON object, in the form the loader encodes: protobufjs's own copy of
 * the well-known types keeps its camelCase field names (stringValue, …) whatever keepCase says.
 */
export function structOf(o: JsonObject): { fields: Record<string, unknown> } {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, protoValue(v)])) };
}

function protoValue(v: JsonValue): Record<string, unknown> {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(protoValue) } };
  return { structValue: structOf(v) };
}
