import type { Database } from 'better-sqlite3';
import { systemRecord, type EntryRecord } from '../engine/ledger.js';
import type { JsonObject } from '../lib/json.js';
import { canonicalJson } from '../lib/canonical.js';
import { GavelError } from '../lib/errors.js';
import { bodyText, type StoredBody } from './payload-body.js';

/**
 * Signed erasure: a payload (and its salt) leaves the ledger only with an `erasure` entry in the
 * chain naming who erased it, why, on what basis, and exactly which seqs. The headers stay (who,
 * what, outcome, reasons, revision): they are the audit trail, and the chain and the Merkle tree
 * still verify over them, so no inclusion proof breaks. `audit verify` tells an erased payload
 * (covered by an erasure entry after it) from a missing one (a failure naming its seq).
 *
 * The erasure entry's payload: {"erasure": {"basis", "reason", "by", "criteria", "seqs": [[from, to], …], "count"}}.
 * Erasure, policy and state entries are never erased: they carry no one's content, and they are
 * what makes the rest checkable.
 */
export const ERASURE_BASES = ['gdpr-art17', 'retention', 'legal-order', 'other'] as const;
export type ErasureBasis = (typeof ERASURE_BASES)[number];

/** Kinds whose payloads hold what people sent or were decided on; only these are erased. */
export const ERASABLE_KINDS = ['decision', 'offline', 'approval', 'usage'] as const;

/** Which payloads: one subject's, one decision's (with the approval and usage entries about it), or every one before a time. */
export type ErasureCriteria = { subject: string } | { decision: string } | { before: string };

/**
 * The one criterion a request names (`names`: how the caller's interface spells subject, decision
 * and before, for the message); none or several is invalid_erasure.
 */
export function oneCriterion(
  given: { subject?: string | undefined; decision?: string | undefined; before?: string | undefined },
  names: readonly [string, string, string],
): ErasureCriteria {
  const named: ErasureCriteria[] = [];
  if (given.subject !== undefined) named.push({ subject: given.subject });
  if (given.decision !== undefined) named.push({ decision: given.decision });
  if (given.before !== undefined) named.push({ before: given.before });
  if (named.length !== 1) throw new GavelError('invalid_erasure', `name exactly one of ${names[0]}, ${names[1]} and ${names[2]}`);
  return named[0]!;
}

export interface ErasureRequest {
  criteria: ErasureCriteria;
  reason: string;
  basis: ErasureBasis;
  /** Who asks (the caller's identity, or the operator at the CLI). */
  by: string;
}

/** What an erasure entry says it erased, read back from its payload. */
export interface ErasureDetail {
  basis: ErasureBasis;
  reason: string;
  by: string;
  criteria: ErasureCriteria;
  seqs: Array<[number, number]>;
  count: number;
  /**
   * The ledger key's Ed25519 signature (base64) over the canonical JSON of the other members: an
   * erasure entry written by anyone but the writer holding the key (a file edited while gavel was
   * stopped, its chain recomputed) does not verify.
   */
  signature: string;
}

/** What the signature covers: the detail without it, as canonical JSON. */
export function erasureSigned(detail: Omit<ErasureDetail, 'signature'>): Buffer {
  return Buffer.from(`gavel.erasure/v1\n${canonicalJson(detail as never)}`, 'utf8');
}

/** What an erasure did: how many payloads, which seqs, and its entry (none when nothing matched). */
export interface ErasureResult {
  erased: number;
  seqs: Array<[number, number]>;
  entry?: { decisionId: string; seq: number; entryHash: string };
}

/** Reason text past this is refused: a reason is a sentence, not a document. */
const MAX_REASON_BYTES = 1024;

/** Checks a request's fields; the message names what is wrong. */
export function checkErasureRequest(r: ErasureRequest): void {
  const bad = (message: string): never => {
    throw new GavelError('invalid_erasure', message);
  };
  if (!(ERASURE_BASES as readonly string[]).includes(r.basis)) bad(`basis must be one of ${ERASURE_BASES.join(', ')}`);
  if (r.reason.trim() === '') bad('a reason is required: it is recorded in the erasure entry');
  if (Buffer.byteLength(r.reason) > MAX_REASON_BYTES) bad(`the reason is over ${MAX_REASON_BYTES} bytes`);
  const c = r.criteria;
  if ('subject' in c && c.subject === '') bad('the subject id is empty');
  if ('decision' in c && c.decision === '') bad('the decision id is empty');
  if ('before' in c && !Number.isFinite(Date.parse(c.before))) bad(`before must be an RFC 3339 time, not ${JSON.stringify(c.before)}`);
  const since = 'before' in c ? (c as { since?: string }).since : undefined;
  if (since !== undefined && !Number.isFinite(Date.parse(since))) bad(`since must be an RFC 3339 time, not ${JSON.stringify(since)}`);
}

/**
 * The seqs whose payloads the criteria match and that still hold one, ascending, at most `limit`
 * (a retention sweep erases in bounded steps). An unknown decision id is NOT_FOUND.
 */
export function erasableSeqs(db: Database, criteria: ErasureCriteria, limit: number): number[] {
  const kinds = ERASABLE_KINDS.map((k) => `'${k}'`).join(', ');
  const base = `SELECT e.seq FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind IN (${kinds})`;
  if ('subject' in criteria) {
    return db.prepare(`${base} AND e.subject_id = ? ORDER BY e.seq LIMIT ?`).pluck().all(criteria.subject, limit) as number[];
  }
  if ('before' in criteria) {
    // Along the time index from `since`, stopping at `limit`: no sort of every older entry (a sweep of 10M would).
    const from = (criteria as { since?: string }).since;
    const since = from === undefined ? Number.MIN_SAFE_INTEGER : Date.parse(from);
    const seqs = db
      .prepare(
        `SELECT e.seq FROM entries e INDEXED BY entries_time JOIN payloads p ON p.seq = e.seq WHERE e.time_ms >= ? AND e.time_ms < ? AND e.kind IN (${kinds}) LIMIT ?`,
      )
      .pluck()
      .all(since, Date.parse(criteria.before), limit) as number[];
    return seqs.sort((a, b) => a - b);
  }
  const decision = db.prepare('SELECT seq FROM entries WHERE decision_id = ?').get(criteria.decision) as { seq: number } | undefined;
  if (!decision) throw new GavelError('decision_not_found', `no ledger entry has decision id ${criteria.decision}`);
  // The decision's own entry, and the approval and usage entries about it (their request_id is its id).
  return db
    .prepare(`${base} AND (e.seq = ? OR (e.kind IN ('approval', 'usage') AND e.request_id = ?)) ORDER BY e.seq LIMIT ?`)
    .pluck()
    .all(decision.seq, criteria.decision, limit) as number[];
}

/** Ascending seqs as runs [from, to] (inclusive). */
export function seqRanges(seqs: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/** The chain entry that records an erasure of `seqs`. */
export function erasureRecord(request: ErasureRequest, seqs: readonly number[], now: Date, sign: (message: Buffer) => Buffer): EntryRecord {
  const unsigned: Omit<ErasureDetail, 'signature'> = {
    basis: request.basis,
    reason: request.reason,
    by: request.by,
    criteria: request.criteria,
    seqs: seqRanges(seqs),
    count: seqs.length,
  };
  const detail: ErasureDetail = { ...unsigned, signature: sign(erasureSigned(unsigned)).toString('base64') };
  // The subject erased is named in the payload's criteria, not in an indexed header: the header says who erased.
  return systemRecord(
    { kind: 'erasure', actionType: 'ledger.erase', decision: 'erased', reasonCodes: [request.basis], caller: request.by },
    { erasure: detail } as unknown as JsonObject,
    now,
  );
}

/** An erasure entry's detail from its payload text; undefined when it is not one (or unreadable). */
export function erasureDetail(body: string | null): ErasureDetail | undefined {
  if (body === null) return undefined;
  try {
    const d = (JSON.parse(body) as { erasure?: ErasureDetail }).erasure;
    if (!d || !Array.isArray(d.seqs) || !d.seqs.every((r) => Array.isArray(r) && r.length === 2 && r.every(Number.isSafeInteger) && r[0]! <= r[1]!))
      return undefined;
    return d;
  } catch {
    return undefined;
  }
}

interface KnownErasure {
  seq: number;
  decisionId: string;
  time: string;
  detail: ErasureDetail;
}

/** Erasure entries read so far, per connection: entries are appended only, and an erasure entry's payload is never erased. */
const known = new WeakMap<Database, { after: number; erasures: KnownErasure[] }>();

/** The erasure entry that erased `seq`'s payload, with what it says; undefined when none did. */
export function erasedBy(db: Database, seq: number): KnownErasure | undefined {
  let cache = known.get(db);
  if (!cache) {
    cache = { after: 0, erasures: [] };
    known.set(db, cache);
  }
  const rows = db
    .prepare(
      `SELECT e.seq, e.decision_id, e.time, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'erasure' AND e.seq > ? ORDER BY e.seq`,
    )
    .all(cache.after) as Array<{ seq: number; decision_id: string; time: string; body: StoredBody | null }>;
  for (const row of rows) {
    const detail = erasureDetail(row.body === null ? null : bodyText(row.body));
    if (detail) cache.erasures.push({ seq: row.seq, decisionId: row.decision_id, time: row.time, detail });
    cache.after = row.seq;
  }
  return cache.erasures.find((e) => e.seq > seq && e.detail.seqs.some(([from, to]) => from <= seq && seq <= to));
}
