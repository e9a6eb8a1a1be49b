import type { Approval, Vote } from './approval.js';

/**
 * An approval's fields, defined once, in the order of the `approvals` table's columns. Each names
 * its column, the Approval field it holds (`policy.bundle`: a member of `policy`), what kind of
 * value it is, and its name in the wire form (the gRPC Approval message and `gavel approvals
 * --json`) when that is not the column's. The table's DDL, its INSERT and the row mapping
 * (ledger/approval-table.ts) and the wire form (wire.ts) are all derived from this
 * list, so a new column is one entry here plus the step that adds it to existing files
 * (ledger/schema.ts); a compile error names any Approval field without a column.
 *
 * Kinds: `text` and `integer` are stored as they are; `time` is epoch milliseconds (RFC 3339 on
 * the wire, "" when absent); `json` is stored as JSON text; `state` is one of APPROVAL_STATES.
 * `optional` ones are null in the table and absent from the Approval when unset.
 */
export interface ApprovalColumn {
  column: string;
  field: ApprovalField;
  kind: 'text' | 'integer' | 'time' | 'json' | 'state';
  optional?: true;
  /** The table's key. */
  key?: true;
  /** Its wire name (`policy.bundle`: a member of `policy`); the column's name when absent. */
  wire?: string;
  /** Its wire value, when not the field's own (`withheld`: the caller may not read params and comments). */
  toWire?: (value: unknown, withheld: boolean) => unknown;
}

export type ApprovalField = Exclude<keyof Approval, 'policy'> | `policy.${keyof Approval['policy']}`;

/** A `time` on the wire: RFC 3339, "" when absent. */
export const isoTime = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : '');

export const APPROVAL_COLUMNS = [
  { column: 'id', field: 'id', kind: 'text', key: true, wire: 'approval_id' },
  { column: 'state', field: 'state', kind: 'state' },
  { column: 'fingerprint', field: 'fingerprint', kind: 'text' },
  { column: 'subject_id', field: 'subjectId', kind: 'text' },
  { column: 'subject_type', field: 'subjectType', kind: 'text' },
  { column: 'on_behalf_of', field: 'onBehalfOf', kind: 'text' },
  { column: 'team', field: 'team', kind: 'text' },
  { column: 'cost_center', field: 'costCenter', kind: 'text' },
  { column: 'action_type', field: 'actionType', kind: 'text' },
  { column: 'resource', field: 'resource', kind: 'text' },
  {
    column: 'params',
    field: 'params',
    kind: 'json',
    wire: 'params_json',
    toWire: (params, withheld) => (withheld ? Buffer.alloc(0) : Buffer.from(JSON.stringify(params))),
  },
  { column: 'approvers', field: 'approvers', kind: 'json' },
  { column: 'min_approvals', field: 'minApprovals', kind: 'integer' },
  { column: 'created_ms', field: 'createdAtMs', kind: 'time', wire: 'created_at' },
  { column: 'expires_ms', field: 'expiresAtMs', kind: 'time', wire: 'expires_at' },
  { column: 'requested_by', field: 'requestedBy', kind: 'text' },
  { column: 'caller', field: 'caller', kind: 'text' },
  { column: 'bundle', field: 'policy.bundle', kind: 'text', wire: 'policy.bundle' },
  { column: 'revision', field: 'policy.revision', kind: 'text', wire: 'policy.revision' },
  { column: 'digest', field: 'policy.digest', kind: 'text', wire: 'policy.digest' },
  {
    column: 'votes',
    field: 'votes',
    kind: 'json',
    toWire: (votes, withheld) =>
      (votes as Vote[]).map((v) => ({ approver: v.approver, verdict: v.verdict, comment: withheld ? '' : v.comment, at: isoTime(v.atMs), caller: v.caller })),
  },
  { column: 'resolved_ms', field: 'resolvedAtMs', kind: 'time', optional: true, wire: 'resolved_at' },
  { column: 'consumed_by', field: 'consumedBy', kind: 'text', optional: true },
] as const satisfies readonly ApprovalColumn[];

/** Fails to compile while an Approval field has no column. */
type Unstored = Exclude<ApprovalField, (typeof APPROVAL_COLUMNS)[number]['field']>;
const everyFieldStored: [Unstored] extends [never] ? true : Unstored = true;
void everyFieldStored;

/** A field's value in an approval (`policy.bundle`: a member of `policy`). */
export function fieldOf(a: Approval, field: ApprovalField): unknown {
  if (field.startsWith('policy.')) return a.policy[field.slice('policy.'.length) as keyof Approval['policy']];
  return a[field as Exclude<ApprovalField, `policy.${string}`>];
}

/** Sets `field` of the approval being built; an unset optional (undefined) is left out. */
export function setField(out: Record<string, unknown>, field: ApprovalField, value: unknown): void {
  if (value === undefined) return;
  setPath(out, field, value);
}

/** Sets a value at `path` (`policy.bundle`: member `bundle` of `policy`, made when missing). */
export function setPath(out: Record<string, unknown>, path: string, value: unknown): void {
  const dot = path.indexOf('.');
  if (dot < 0) {
    out[path] = value;
    return;
  }
  const outer = path.slice(0, dot);
  out[outer] ??= {};
  (out[outer] as Record<string, unknown>)[path.slice(dot + 1)] = value;
}
