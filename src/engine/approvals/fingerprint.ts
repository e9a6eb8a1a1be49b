import { objectAt, text } from '../../lib/attribution.js';
import { canonicalJson, sha256Hex } from '../../lib/canonical.js';
import { GavelError } from '../../lib/errors.js';
import { identityForm } from '../../lib/identity-form.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../lib/json.js';
import { inexactParamsOf } from '../input.js';

/** Longest approval id accepted in input.context.approval_id. */
export const MAX_APPROVAL_ID_BYTES = 128;

/**
 * What binds an approval to one exact action: the fingerprint of the request,
 * the id of the approval it carries (input.context.approval_id), and the user
 * an agent acts for (who may not approve it). Worked out where the input is
 * parsed, so the engine's thread never walks the input.
 */
export interface ActionBinding {
  /** sha256 (hex) of the action in RFC 8785 canonical JSON: see `fingerprintOf`. */
  fingerprint: string;
  /** input.context.approval_id, "" when absent. */
  approvalId: string;
  /** subject.on_behalf_of.id, "" when none. */
  onBehalfOf: string;
}

/**
 * The action an approval is for: the subject (id, type, and the team and cost
 * center it is charged to), the user an agent acts for (id, team, cost
 * center), the action's type, tool and model, and its params, exactly as sent
 * (values keep their JSON types: an amount of 10001 is not "10001"). Anything
 * else (the prompt, roles, the context) may change between the request and its retry.
 *
 * Ids, teams and cost centers are bound in their comparison form
 * (lib/identity-form.ts): `Fiona` retrying `fiona`'s approved action is the same
 * action. Params are bound by their exact decimals: where the input's text held a
 * number its double does not (`50000.000000000001`, which parses to 50000),
 * `params_decimals` maps its pointer within params to its exact value
 * (input-scan.ts exactDecimal), so that amount is not 50000's approval. The key
 * is absent when every number is its double, so such fingerprints are as before.
 */
export function fingerprintOf(input: JsonObject): string {
  const subject = objectAt(input, 'subject');
  const action = objectAt(input, 'action');
  const delegator = subject.on_behalf_of;
  const onBehalfOf = isJsonObject(delegator) ? delegator : undefined;
  const value = (v: JsonValue | undefined): JsonValue => (v === undefined ? null : v);
  const name = (v: JsonValue | undefined): JsonValue => (typeof v === 'string' ? identityForm(v) : value(v));
  const decimals = inexactParamsOf(input);
  return sha256Hex(
    canonicalJson({
      v: 1,
      subject: { id: name(subject.id), type: value(subject.type), team: name(subject.team), cost_center: name(subject.cost_center) },
      on_behalf_of: onBehalfOf === undefined ? null : { id: name(onBehalfOf.id), team: name(onBehalfOf.team), cost_center: name(onBehalfOf.cost_center) },
      action: { type: value(action.type), tool: value(action.tool), model: value(action.model) },
      params: value(action.params),
      ...(decimals ? { params_decimals: Object.fromEntries(decimals) } : {}),
    }),
  );
}

export function bindingOf(input: JsonObject): ActionBinding {
  const context = objectAt(input, 'context');
  const id = context.approval_id;
  if (id !== undefined && typeof id !== 'string') throw new GavelError('invalid_input', 'context.approval_id must be a string (the id Decide returned)');
  if (id !== undefined && Buffer.byteLength(id, 'utf8') > MAX_APPROVAL_ID_BYTES) {
    throw new GavelError('invalid_input', `context.approval_id is longer than ${MAX_APPROVAL_ID_BYTES} bytes`);
  }
  return { fingerprint: fingerprintOf(input), approvalId: id ?? '', onBehalfOf: text(objectAt(objectAt(input, 'subject'), 'on_behalf_of'), 'id') };
}
