import type { Approval } from './approval.js';
import { APPROVAL_COLUMNS, fieldOf, isoTime, setPath, type ApprovalColumn } from './columns.js';

/**
 * The Approval message (also what `gavel approvals … --json` prints), every column of the list
 * under its wire name; `withheld` leaves params and comments out (the transport decides who may
 * read them).
 */
export function approvalWire(a: Approval, withheld: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of APPROVAL_COLUMNS as readonly ApprovalColumn[]) {
    const value = fieldOf(a, c.field);
    setPath(out, c.wire ?? c.column, c.toWire ? c.toWire(value, withheld) : wireValue(c, value));
  }
  return out;
}

function wireValue(c: ApprovalColumn, value: unknown): unknown {
  if (c.kind === 'time') return isoTime(value);
  if (c.optional && value === undefined) return '';
  return value;
}
