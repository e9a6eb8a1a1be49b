import { attributionOf, objectAt, text } from '../lib/attribution.js';
import { GavelError } from '../lib/errors.js';
import { identityForm, identityProblem } from '../lib/identity-form.js';
import type { JsonObject } from '../lib/json.js';

/** Longest string (UTF-8 bytes) that may reach an indexed ledger header field. */
export const MAX_HEADER_FIELD_BYTES = 256;

/**
 * The indexed header fields that say who asked for what. They are read from the
 * input as received, never from the redacted copy: an auditor must find a
 * subject by id even when the same id (an email, say) was masked in the prompt.
 */
export interface HeaderFacts {
  subjectId: string;
  subjectType: string;
  team: string;
  costCenter: string;
  actionType: string;
  resource: string;
  requestId: string;
  caller: string;
}

/**
 * Throws GavelError invalid_input, before anything is evaluated or recorded,
 * when a name that separates people or keys a budget cannot be compared (see checkNames).
 */
export function headerFactsOf(input: JsonObject, request: { requestId: string; caller: string }): HeaderFacts {
  const subject = objectAt(input, 'subject');
  const action = objectAt(input, 'action');
  checkNames(subject);
  const who = attributionOf(input);
  return {
    subjectId: who.subject,
    subjectType: text(subject, 'type'),
    team: who.team,
    costCenter: who.costCenter,
    actionType: text(action, 'type'),
    resource: text(action, 'model') || text(action, 'tool'),
    requestId: request.requestId,
    caller: request.caller,
  };
}

/**
 * Refuses a name two people could share by spelling it differently where no
 * one sees it: an invisible or control character (`mia` + U+200D), or
 * surrounding spaces. Such a name would key a budget of its own, and an
 * approver could not be told apart from the subject it names.
 */
function checkNames(subject: JsonObject): void {
  const delegator = objectAt(subject, 'on_behalf_of');
  for (const [obj, prefix] of [
    [subject, 'subject'],
    [delegator, 'subject.on_behalf_of'],
  ] as const) {
    // The subject's and the delegator's id, team and cost center: who is who, and who pays.
    for (const key of ['id', 'team', 'cost_center']) {
      const name = text(obj, key);
      const problem = name !== name.trim() ? 'has surrounding spaces' : identityProblem(name);
      if (problem) throw new GavelError('invalid_input', `${prefix}.${key} ${problem}; names are compared as people read them`);
    }
  }
}

/**
 * The comparison form of the header's names where it differs from the name as
 * received (`Fiona` is compared as `fiona`): recorded beside them in the
 * decision's payload as `compared_as`. Empty when every name is its own form.
 */
export function comparedAs(header: HeaderFacts): Record<string, string> {
  const forms: Record<string, string> = {};
  for (const [key, field] of [
    ['subjectId', 'subject_id'],
    ['team', 'team'],
    ['costCenter', 'cost_center'],
  ] as const) {
    const form = identityForm(header[key]);
    if (form !== header[key]) forms[field] = form;
  }
  return forms;
}

const FIELD_NAMES: Record<keyof HeaderFacts, string> = {
  subjectId: 'subject.id',
  subjectType: 'subject.type',
  team: 'team',
  costCenter: 'cost_center',
  actionType: 'action.type',
  resource: 'action.model / action.tool',
  requestId: 'request_id',
  caller: 'caller',
};

/** Every header string is bounded: an oversized one is INVALID_ARGUMENT before anything is evaluated or recorded. */
export function checkHeaderBounds(header: HeaderFacts): void {
  for (const [key, value] of Object.entries(header) as Array<[keyof HeaderFacts, string]>) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_HEADER_FIELD_BYTES) {
      throw new GavelError('invalid_input', `${FIELD_NAMES[key]} is ${bytes} bytes; at most ${MAX_HEADER_FIELD_BYTES} are recorded`);
    }
  }
}
