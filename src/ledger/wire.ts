import type { EntryKind } from '../engine/ledger.js';
import type { TimelineEvent } from './timeline.js';
import type { VerifyReport } from './verify.js';

/**
 * Ledger results in wire form: the field names of the gRPC messages
 * (proto/gavel/v1/audit.proto), snake_case, which the CLI's --json prints too,
 * so a script reads the same names from either. Entries: `wireEntry` (header.ts).
 */

/** gavel.v1.LedgerReceipt: where an entry is in the chain and, as leaf_index, in the Merkle tree. */
export function wireReceipt(r: { seq: number; entryHash: string }): { seq: number; entry_hash: string; leaf_index: number } {
  return { seq: r.seq, entry_hash: r.entryHash, leaf_index: r.seq - 1 };
}

/** gavel.v1.VerifyResponse. */
export interface WireVerifyReport {
  ok: boolean;
  entries: number;
  head_hash: string;
  checkpoints_checked: number;
  /** The first bad seq; 0 when the ledger verified. */
  failed_seq: number;
  /** A FailureKind; "" when the ledger verified. */
  failure_kind: string;
  message: string;
  payloads_erased: number;
  /** Rows of the approval and usage tables that disagree with what the chain adds up to (state/verify-state.ts). */
  state_mismatches: Array<{ table: string; key: string; problem: string }>;
  tree_checked: boolean;
  /** With witness keys asked for: the newest checkpoint size enough of them cosigned (0: none asked), and their names. */
  witnessed_size: number;
  witnessed_by: string[];
  /** The erasure entries that removed the erased payloads (their seqs). */
  erasure_seqs: number[];
}

export function wireVerifyReport(report: VerifyReport): WireVerifyReport {
  return {
    ok: report.ok,
    entries: report.entries,
    head_hash: report.headHash,
    checkpoints_checked: report.checkpointsChecked,
    failed_seq: report.failure?.seq ?? 0,
    failure_kind: report.failure?.kind ?? '',
    message: report.failure?.message ?? 'ledger verified',
    payloads_erased: report.payloadsErased,
    state_mismatches: [],
    tree_checked: report.treeChecked,
    witnessed_size: report.witnessed?.size ?? 0,
    witnessed_by: report.witnessed?.by ?? [],
    erasure_seqs: report.erasures,
  };
}

/** A timeline event as `gavel audit timeline --json` prints it; names shared with the Entry message (action_type). */
export interface WireTimelineEvent {
  kind: EntryKind;
  seq: number;
  time: string;
  decision_id: string;
  subject_id: string;
  action_type: string;
  resource: string;
  decision: string;
  rules: string[];
  crossed: string[];
  week_tokens?: number;
  revision?: string;
  /** The payload was erased: the erasure entry's seq (0: none names it). */
  erased_by_seq?: number;
  approval?: {
    id: string;
    event: string;
    state: string;
    decision_id: string;
    approver?: { id: string; roles: string[] };
    comment?: string;
    approvals: number;
    min_approvals: number;
    approvers: string[];
    expires_at: string;
    caller: string;
  };
}

export function wireTimelineEvent(e: TimelineEvent): WireTimelineEvent {
  return {
    kind: e.kind,
    seq: e.seq,
    time: e.time,
    decision_id: e.decisionId,
    subject_id: e.subjectId,
    action_type: e.action,
    resource: e.resource,
    decision: e.decision,
    rules: e.rules,
    crossed: e.crossed,
    ...(e.weekTokens !== undefined ? { week_tokens: e.weekTokens } : {}),
    ...(e.revision !== undefined ? { revision: e.revision } : {}),
    ...(e.erasedBy !== undefined ? { erased_by_seq: e.erasedBy } : {}),
    ...(e.approval
      ? {
          approval: {
            id: e.approval.id,
            event: e.approval.event,
            state: e.approval.state,
            decision_id: e.approval.decisionId,
            ...(e.approval.approver ? { approver: e.approval.approver, comment: e.approval.comment ?? '' } : {}),
            approvals: e.approval.approvals,
            min_approvals: e.approval.minApprovals,
            approvers: e.approval.approvers,
            expires_at: e.approval.expiresAt,
            caller: e.approval.caller,
          },
        }
      : {}),
  };
}
