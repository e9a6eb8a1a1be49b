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
  event: string;
  state: string;
  fingerprint: string;
  shared: boolean;
  /** The row version the event made (events of shared requests); undefined when its payload was erased. */
  version: number | undefined;
  erased: boolean;
}

/**
 * The shared approval rows against the replicas' chains (`gavel audit verify --state-store`): each row
 * must be sealed, signed by the key of the replica it names, and say what that replica's entry at its
 * seq says (same entry id and hash, approval, state and fingerprint). Every change of a shared request is
 * an event that records the row version it made, so the chains count the changes: versions 1..n once
 * each, the row at version n, and at most one end (rejected, expired, used). A row put back to an earlier
 * signed state, or used again after that, breaks the count. And every request a ledger recorded in the
 * shared store must have its row. No clock is compared: replicas' clocks need not agree.
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

const ENDS = new Set(['rejected', 'expired', 'consumed']);

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
  if (!entry.erased && (entry.state !== a.state || entry.fingerprint !== a.fingerprint)) {
    return `${ledger.path} seq ${s.seq} records it ${entry.state}, the row says ${a.state}${entry.fingerprint !== a.fingerprint ? ' for another action' : ''}`;
  }
  return countProblem(s.version, events);
}

/** The changes the chains recorded against the row's version: each version once, none past the row's, one end at most. */
function countProblem(version: number, events: readonly ApprovalEntry[]): string | undefined {
  const counted = events.filter((e) => e.version !== undefined);
  const later = counted.filter((e) => e.version! > version).sort((x, y) => y.version! - x.version!)[0];
  if (later) return `rolled back: ${later.ledger} recorded it ${later.state} as version ${later.version} (seq ${later.seq}); the row is at version ${version}`;
  const byVersion = new Map<number, ApprovalEntry>();
  for (const e of counted) {
    const twice = byVersion.get(e.version!);
    if (twice)
      return `changed twice as version ${e.version}: ${twice.ledger} seq ${twice.seq} (${twice.event}) and ${e.ledger} seq ${e.seq} (${e.event}); a row was put back and changed again`;
    byVersion.set(e.version!, e);
  }
  const ends = counted.filter((e) => ENDS.has(e.event));
  if (ends.length > 1)
    return `ended ${ends.length} times (${ends.map((e) => `${e.ledger} seq ${e.seq} ${e.event}`).join(', ')}); a row was put back after it ended`;
  return undefined;
}

function* approvalEntries(l: ReplicaLedger): IterableIterator<{ id: string; entry: ApprovalEntry }> {
  const rows = l.db
    .prepare(
      `SELECT e.seq, e.decision_id, e.request_id, e.entry_hash, e.decision, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'approval'`,
    )
    .iterate() as IterableIterator<{ seq: number; decision_id: string; request_id: string; entry_hash: string; decision: string; body: string | null }>;
  for (const r of rows) {
    // An erased payload leaves the header: the event is known by its entry, not what it said.
    const p = r.body ? ((JSON.parse(r.body) as { approval?: Record<string, unknown> }).approval ?? {}) : undefined;
    // The header names the event too: an erased payload leaves it.
    const event = r.decision;
    yield {
      id: r.request_id,
      entry: {
        ledger: l.path,
        seq: r.seq,
        decisionId: r.decision_id,
        entryHash: r.entry_hash,
        event,
        state: String(p?.state ?? ''),
        fingerprint: String(p?.fingerprint ?? ''),
        shared: p?.store === 'shared',
        version: typeof p?.version === 'number' ? p.version : undefined,
        erased: p === undefined,
      },
    };
  }
}
