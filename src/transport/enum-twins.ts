import { APPROVAL_STATES } from '../engine/approvals/approval.js';
import { ENTRY_KINDS } from '../engine/ledger.js';
import { OFFLINE_MODES } from '../engine/offline.js';
import { GavelError } from '../lib/errors.js';

/**
 * Enum twins. A string field of the API whose values form a fixed set has an enum field beside it
 * (`state` and `state_enum`), for clients that generate code from the protos. The enum value is the
 * string upper-cased under the enum's prefix ('require_approval' -> DECISION_REQUIRE_APPROVAL); a
 * string outside the set, or none, is the _UNSPECIFIED value. Answers carry both; a request may set
 * either, or both when they agree.
 */
export interface EnumTwin {
  /** The enum's value prefix, as buf's ENUM_VALUE_PREFIX wants it: DECISION, APPROVAL_STATE. */
  prefix: string;
  values: readonly string[];
}

export const DECISION: EnumTwin = { prefix: 'DECISION', values: ['allow', 'deny', 'require_approval', 'redact'] };
export const APPROVAL_STATE: EnumTwin = { prefix: 'APPROVAL_STATE', values: APPROVAL_STATES };
export const ENTRY_KIND: EnumTwin = { prefix: 'ENTRY_KIND', values: ENTRY_KINDS };
export const VERDICT: EnumTwin = { prefix: 'VERDICT', values: ['approve', 'reject'] };
export const USAGE_SCOPE: EnumTwin = { prefix: 'USAGE_SCOPE', values: ['subject', 'team', 'cost_center'] };
export const MISMATCH_PROBLEM: EnumTwin = { prefix: 'MISMATCH_PROBLEM', values: ['missing', 'unrecorded', 'changed'] };
/** Not a twin (RecordOffline has only the enum field): the same mapping, for reading it. */
export const OFFLINE_MODE: EnumTwin = { prefix: 'OFFLINE_MODE', values: OFFLINE_MODES };

/** The enum value (its name) of a string field's value. */
export function enumOf(twin: EnumTwin, value: string): string {
  return twin.values.includes(value) ? `${twin.prefix}_${value.toUpperCase()}` : `${twin.prefix}_UNSPECIFIED`;
}

/**
 * A request field given as its string, its enum twin, or both: the string ('' when neither is set).
 * Both set and naming different values is INVALID_ARGUMENT (`code`), naming both fields.
 */
export function stringOf(twin: EnumTwin, field: string, value: string, enumValue: string | undefined, code: 'invalid_query'): string {
  const unset = `${twin.prefix}_UNSPECIFIED`;
  const fromEnum = enumValue && enumValue !== unset ? enumValue.slice(twin.prefix.length + 1).toLowerCase() : '';
  if (!fromEnum) return value;
  if (value && enumOf(twin, value.toLowerCase().replace(new RegExp(`^${twin.prefix.toLowerCase()}_`), '')) !== enumValue) {
    throw new GavelError(code, `${field} "${value}" and ${field}_enum ${enumValue} name different values: set one, or both alike`);
  }
  return value || fromEnum;
}
