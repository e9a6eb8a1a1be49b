import { verify } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { VerifierKey } from '../ledger/keys.js';
import { readLedgerId } from '../ledger/meta.js';
import { approvalOf, sealOf, signedBody, type SharedApprovalRow } from '../usage/postgres/approvals.js';

/** A replica's ledger as the audit reads it: its file, opened read-only, and the key its checkpoints verify with. */
export interface ReplicaLedger {
  path: string;
  db: Database;
  key: VerifierKey;
}

export interface SharedApprovalProblem {
  approval_id: string;
  problem: string;
}

export interface SharedApprovalsReport {
  ok: boolean;
  rows: number;
  problems: SharedApprovalProblem[];
}

interface ApprovalEntry {
  ledger: string;
  seq: number;
  decisionId: string;
  entryHash: string;
  timeMs: number;
  event: string;
  state: string;
  fingerprint: string;
  shared: boolean;
}

/**
 * The shared approval rows against the replicas' chains (`gavel audit verify --state-store`): each row
 * must be sealed, signed by the key of the replica it names, and say what that replica's entry at its
 * seq says (same entry id and hash, approval, state and fingerprint); that entry must be the newest event
 * of the approval in all the ledgers given (a row put back to an earlier signed state is a rollback); and
 * every request a ledger recorded in the shared store must have its row.
 */
export function checkSharedApprovals(rows: readonly SharedApprovalRow[], ledgers: readonly ReplicaLedger[]): SharedApprovalsReport {
  const byId = new Map(ledgers.map((l) => [readLedgerId(l.db), l]));
  const events = new Map<string, ApprovalEntry[]>();
  for (const l of ledgers) for (const e of approvalEntries(l)) events.set(e.id, [...(events.get(e.id) ?? []), e.entry]);
  const problems: SharedApprovalProblem[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const a = approvalOf(row);
    seen.add(a.id);
    const problem = rowProblem(row, byId, events.get(a.id) ?? []);
    if (problem) problems.push({ approval_id: a.id, problem });
  }
  for (const [id, list] of events) {
    const requested = list.find((e) => e.event === 'requested' && e.shared);
    if (requested && !seen.has(id))
      problems.push({ approval_id: id, problem: `missing: ${requested.ledger} recorded its request (seq ${requested.seq}), the shared store has no row` });
  }
  return { ok: problems.length === 0, rows: rows.length, problems };
}

function rowProblem(row: SharedApprovalRow, byId: ReadonlyMap<string, ReplicaLedger>, events: readonly ApprovalEntry[]): string | undefined {
  const a = approvalOf(row);
  const s = sealOf(row);
  if (row.sig === null || row.sig === undefined || s.seq === null || s.entryHash === null) {
    return 'unsealed: a change awaiting its entry, or left by a replica that stopped before sealing it (no replica honours it)';
  }
  const ledger = byId.get(s.ledgerId);
  if (!ledger) return `not checked: the ledger of replica ${s.ledgerId}, which made its last change, was not given`;
  if (!verify(null, Buffer.from(signedBody(a, s)), ledger.key.publicKey, Buffer.from(String(row.sig), 'base64'))) {
    return `its signature is not ${ledger.path}'s: the row was changed outside gavel`;
  }
  const entry = events.find((e) => e.ledger === ledger.path && e.seq === s.seq);
  if (!entry) return `${ledger.path} has no approval entry of it at seq ${s.seq}`;
  if (entry.entryHash !== s.entryHash || entry.decisionId !== s.entryId) return `${ledger.path} seq ${s.seq} is another entry than the row names`;
  if (entry.state !== a.state || entry.fingerprint !== a.fingerprint) {
    return `${ledger.path} seq ${s.seq} records it ${entry.state}, the row says ${a.state}${entry.fingerprint !== a.fingerprint ? ' for another action' : ''}`;
  }
  const newest = [...events].sort((x, y) => y.timeMs - x.timeMs)[0]!;
  if (newest !== entry && newest.timeMs > entry.timeMs) {
    return `rolled back: ${newest.ledger} recorded it ${newest.state} (seq ${newest.seq}) after the entry the row names`;
  }
  return undefined;
}

function* approvalEntries(l: ReplicaLedger): IterableIterator<{ id: string; entry: ApprovalEntry }> {
  const rows = l.db
    .prepare(
      `SELECT e.seq, e.decision_id, e.request_id, e.entry_hash, e.time_ms, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'approval'`,
    )
    .iterate() as IterableIterator<{ seq: number; decision_id: string; request_id: string; entry_hash: string; time_ms: number; body: string | null }>;
  for (const r of rows) {
    // An erased payload leaves the header: the event is known by its entry, not what it said.
    const p = r.body ? ((JSON.parse(r.body) as { approval?: Record<string, unknown> }).approval ?? {}) : {};
    yield {
      id: r.request_id,
      entry: {
        ledger: l.path,
        seq: r.seq,
        decisionId: r.decision_id,
        entryHash: r.entry_hash,
        timeMs: r.time_ms,
        event: String(p.event ?? ''),
        state: String(p.state ?? ''),
        fingerprint: String(p.fingerprint ?? ''),
        shared: p.store === 'shared',
      },
    };
  }
}
