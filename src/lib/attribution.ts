import { identityForm } from './identity-form.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';

/**
 * Who a decision is charged to and what it does, read from the input the same
 * way the reference policy reads it (policies/ai/main.rego: billing_team,
 * billing_cost_center, capability): an agent without a team or cost center of
 * its own is charged to the user it acts for. The ledger's indexed columns and
 * the usage store both use these, so a budget, an audit query and a usage
 * report all name the same team.
 */
export interface Attribution {
  subject: string;
  team: string;
  costCenter: string;
}

export function attributionOf(input: JsonObject): Attribution {
  const subject = objectAt(input, 'subject');
  const delegator = objectAt(subject, 'on_behalf_of');
  return {
    subject: text(subject, 'id'),
    team: text(subject, 'team') || text(delegator, 'team'),
    costCenter: text(subject, 'cost_center') || text(delegator, 'cost_center'),
  };
}

/**
 * The same attribution in its comparison form (identity-form.ts), which keys
 * budgets, request history and usage reads: `Fiona` and `fiona` spend one budget.
 */
export function comparedAttribution(a: Attribution): Attribution {
  return { subject: identityForm(a.subject), team: identityForm(a.team), costCenter: identityForm(a.costCenter) };
}

/** The capability an action exercises, as rate limits count it: the tool, or "data.export". */
export function capabilityOf(input: JsonObject): string {
  const action = objectAt(input, 'action');
  const type = text(action, 'type');
  if (type === 'tool.call') return text(action, 'tool');
  if (type === 'data.export') return 'data.export';
  return '';
}

export function objectAt(obj: JsonObject, key: string): JsonObject {
  const value: JsonValue | undefined = obj[key];
  return isJsonObject(value) ? value : {};
}

export function text(obj: JsonObject, key: string): string {
  const value = obj[key];
  return typeof value === 'string' ? value : '';
}
