import { attributionOf, objectAt, text } from '../lib/attribution.js';
import { GavelError } from '../lib/errors.js';
import type { JsonObject } from '../lib/json.js';

/** Longest string (UTF-8 bytes) that may reach an indexed ledger header field. */
export const MAX_HEADER_FIELD_BYTES = 256;

/**
 * The indexed header fields that say who asked for what. They are read from the
 * input as received, never from the redacted copy: an auditor must find a
 * subject by id even when the same id (an email, say) was masked in the prompt.
 */
export interface Identity {
  subjectId: string;
  subjectType: string;
  team: string;
  costCenter: string;
  actionType: string;
  resource: string;
  requestId: string;
  caller: string;
}

export function identityOf(input: JsonObject, request: { requestId: string; caller: string }): Identity {
  const subject = objectAt(input, 'subject');
  const action = objectAt(input, 'action');
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

const FIELD_NAMES: Record<keyof Identity, string> = {
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
export function checkIdentityBounds(identity: Identity): void {
  for (const [key, value] of Object.entries(identity) as Array<[keyof Identity, string]>) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_HEADER_FIELD_BYTES) {
      throw new GavelError('invalid_input', `${FIELD_NAMES[key]} is ${bytes} bytes; at most ${MAX_HEADER_FIELD_BYTES} are recorded`);
    }
  }
}
