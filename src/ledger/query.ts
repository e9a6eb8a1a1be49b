import type { Database, Statement } from 'better-sqlite3';
import { ENTRY_KINDS } from '../engine/ledger.js';
import { erasedBy } from './erasure.js';
import { GavelError } from '../lib/errors.js';
import type { JsonObject } from '../lib/json.js';
import { summaryOfRow, type EntryRow, type EntrySummary } from './header.js';
import { bodyText, type StoredBody } from './payload-body.js';

export interface QueryFilter {
  subject?: string;
  team?: string;
  action?: string;
  decision?: string;
  /** RFC 3339 time, or a duration back from now such as 15m, 24h, 7d. */
  since?: string;
  until?: string;
  revision?: string;
  decisionId?: string;
  costCenter?: string;
  /** The header's request_id: a decision's own, or what a usage entry (the decision) or an approval entry (the approval id) names. */
  requestId?: string;
  /** The identity that asked (mTLS caller, or the approval front end). */
  caller?: string;
  /** The model or tool acted on (action.model / action.tool). */
  resource?: string;
  /** Entries whose reason codes include this one. */
  reason?: string;
  /**
   * Keyset paging: only entries after this one in the order asked for (newest first: older than it).
   * `pageCursor(last)` of the previous page; a cursor stays valid however many entries are appended.
   */
  cursor?: PageCursor;
  /** An EntryKind (decision, policy, approval, usage, state, offline); absent = every kind. */
  kind?: string;
  limit?: number;
  /** asc: oldest first (timelines); desc: newest first (the default). */
  order?: 'asc' | 'desc';
}

export type { EntrySummary };

/** Where a page ended: its last entry's seq and time (time orders a page that only time bounds). */
export interface PageCursor {
  seq: number;
  timeMs: number;
}

export function pageCursor(entry: Pick<EntrySummary, 'seq' | 'time'>): PageCursor {
  return { seq: entry.seq, timeMs: Date.parse(entry.time) };
}

export type EntryDetail = EntrySummary & {
  /** The stored (redacted) payload, or null when an erasure erased it. */
  payload: JsonObject | null;
  salt: string | null;
  /** With the payload erased: the erasure entry that did it (its seq and id, who, the basis and reason). */
  erasedBy?: ErasedBy;
};

export interface ErasedBy {
  seq: number;
  decisionId: string;
  time: string;
  by: string;
  basis: string;
  reason: string;
}

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 100_000;
const DECISIONS = ['allow', 'deny', 'require_approval', 'redact'];
/** What a policy entry's `decision` holds. */
const POLICY_EVENTS = ['activated', 'deactivated', 'refused'];
/** What an approval entry's `decision` holds. */
const APPROVAL_EVENTS = ['requested', 'approved', 'rejected', 'expired', 'consumed'];

/** Builds the WHERE clause; every filter is served by an index on (column, seq). */
export function where(filter: QueryFilter, now: Date): { sql: string; params: unknown[]; byTime: boolean } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const eq = (column: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    clauses.push(`${column} = ?`);
    params.push(value);
  };
  eq('subject_id', filter.subject);
  eq('team', filter.team);
  eq('action_type', filter.action);
  eq('decision', filter.decision ? parseDecision(filter.decision) : undefined);
  eq('revision', filter.revision);
  eq('decision_id', filter.decisionId);
  eq('kind', filter.kind ? parseKind(filter.kind) : undefined);
  eq('cost_center', filter.costCenter);
  eq('request_id', filter.requestId);
  eq('caller', filter.caller);
  eq('resource', filter.resource);
  if (filter.reason) {
    clauses.push('EXISTS (SELECT 1 FROM json_each(reason_codes) WHERE value = ?)');
    params.push(filter.reason);
  }
  if (filter.since) {
    clauses.push('time_ms >= ?');
    params.push(parseTime(filter.since, now, 'since'));
  }
  if (filter.until) {
    clauses.push('time_ms < ?');
    params.push(parseTime(filter.until, now, 'until'));
  }
  // With only time bounds, walk the time index in time order; otherwise an equality index in seq order.
  const byTime = params.length > 0 && clauses.every((c) => c.startsWith('time_ms'));
  const cursor = filter.cursor;
  if (cursor) {
    if (!Number.isSafeInteger(cursor.seq) || !Number.isFinite(cursor.timeMs)) throw new GavelError('invalid_query', 'the page cursor is not one gavel made');
    const before = filter.order !== 'asc';
    const cmp = before ? '<' : '>';
    if (byTime) {
      clauses.push(`(time_ms ${cmp} ? OR (time_ms = ? AND seq ${cmp} ?))`);
      params.push(cursor.timeMs, cursor.timeMs, cursor.seq);
    } else {
      clauses.push(`seq ${cmp} ?`);
      params.push(cursor.seq);
    }
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params, byTime };
}

const KINDS: readonly string[] = ENTRY_KINDS;

export function parseKind(text: string): string {
  const normal = text.toLowerCase();
  if (!KINDS.includes(normal)) throw new GavelError('invalid_query', `kind must be one of ${KINDS.join(', ')}, got "${text}"`);
  return normal;
}

export function parseDecision(text: string): string {
  const normal = text.toLowerCase().replace(/^decision_/, '');
  const known = [...DECISIONS, ...POLICY_EVENTS, ...APPROVAL_EVENTS];
  if (!known.includes(normal)) throw new GavelError('invalid_query', `decision must be one of ${known.join(', ')}, got "${text}"`);
  return normal;
}

export function parseTime(text: string, now: Date, key: string): number {
  const duration = /^(\d+)(s|m|h|d)$/.exec(text);
  if (duration) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return now.getTime() - Number(duration[1]) * unit;
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new GavelError('invalid_query', `${key} must be an RFC 3339 time or a duration like 24h, got "${text}"`);
  return ms;
}

function limitOf(filter: QueryFilter): number {
  const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
  if (!Number.isInteger(limit) || limit <= 0 || limit > MAX_QUERY_LIMIT) {
    throw new GavelError('invalid_query', `limit must be an integer between 1 and ${MAX_QUERY_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** Streams matching entries (headers only), newest first unless order is asc. */
export function* queryEntries(db: Database, filter: QueryFilter, now = new Date()): Generator<EntrySummary> {
  // A file from before entry kinds, opened read-only: every entry is a decision.
  if (filter.kind && !hasKinds(db)) {
    if (parseKind(filter.kind) !== 'decision') return;
    filter = { ...filter, kind: undefined };
  }
  const { sql, params, byTime } = where(filter, now);
  const order = filter.order === 'asc' ? 'ASC' : 'DESC';
  const orderBy = byTime ? `time_ms ${order}, seq ${order}` : `seq ${order}`;
  const stmt = db.prepare(`SELECT * FROM entries ${sql} ORDER BY ${orderBy} LIMIT ?`);
  for (const row of stmt.iterate(...params, limitOf(filter))) yield summaryOfRow(row as EntryRow);
}

/**
 * Every policy event (oldest first), or those with seq in (after, before): no limit, since what is
 * live is the replay of all of them; a ledger holds few next to its decisions.
 */
export function* policyEntries(db: Database, range: { after?: number; before?: number } = {}): Generator<EntrySummary> {
  if (!hasKinds(db)) return;
  const stmt = db.prepare("SELECT * FROM entries WHERE kind = 'policy' AND seq > ? AND seq < ? ORDER BY seq");
  for (const row of stmt.iterate(range.after ?? 0, range.before ?? Number.MAX_SAFE_INTEGER)) yield summaryOfRow(row as EntryRow);
}

/** The last activation before `seq`: the policy that was live when that entry was written. */
export function activationBefore(db: Database, seq: number): EntrySummary | undefined {
  if (!hasKinds(db)) return undefined;
  const row = db.prepare("SELECT * FROM entries WHERE kind = 'policy' AND decision = 'activated' AND seq < ? ORDER BY seq DESC LIMIT 1").get(seq);
  return row ? summaryOfRow(row as EntryRow) : undefined;
}

export function hasKinds(db: Database): boolean {
  return (db.prepare('PRAGMA table_info(entries)').all() as Array<{ name: string }>).some((c) => c.name === 'kind');
}

/**
 * The latest decision entry a caller recorded under a request id at or after `sinceMs`, with its payload
 * (engine/idempotency.ts). Read through the entries_request index (request_id, seq) alone: request ids are mostly
 * unique. The `+` keeps SQLite from choosing entries_kind instead, which walks every decision newest first
 * (what it picked without it: a lookup that grew with the ledger; test/ledger/request-lookup.test.ts).
 */
export function findRequestEntry(db: Database, caller: string, requestId: string, sinceMs: number): EntryDetail | undefined {
  let statement = requestStatements.get(db);
  if (!statement) {
    statement = db.prepare(REQUEST_LOOKUP);
    requestStatements.set(db, statement);
  }
  const row = statement.get(requestId, caller, sinceMs) as (EntryRow & { salt: Buffer | null; body: StoredBody | null }) | undefined;
  return row && detailOfRow(row);
}

/** The lookup of findRequestEntry (exported for the test of its query plan). */
export const REQUEST_LOOKUP = `SELECT e.*, p.salt AS salt, p.body AS body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq
  WHERE e.request_id = ? AND +e.caller = ? AND +e.kind = 'decision' AND +e.time_ms >= ? ORDER BY e.seq DESC LIMIT 1`;

/** Prepared once per connection: the lookup runs on every idempotent Decide. */
const requestStatements = new WeakMap<Database, Statement>();

/**
 * Whether this ledger recorded the end of an approval (rejected, expired or used): a shared row showing it
 * open again was put back (usage/postgres/approvals.ts). On `entries_request`, like the request id lookup.
 */
export function approvalEnded(db: Database, approvalId: string): boolean {
  let statement = endedStatements.get(db);
  if (!statement) {
    statement = db.prepare(APPROVAL_ENDED);
    endedStatements.set(db, statement);
  }
  return statement.get(approvalId) !== undefined;
}

export const APPROVAL_ENDED = `SELECT 1 FROM entries e WHERE e.request_id = ? AND +e.kind = 'approval'
  AND +e.decision IN ('rejected', 'expired', 'consumed') LIMIT 1`;

const endedStatements = new WeakMap<Database, Statement>();

export function getEntry(db: Database, decisionId: string): EntryDetail | undefined {
  const row = db
    .prepare('SELECT e.*, p.salt AS salt, p.body AS body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.decision_id = ?')
    .get(decisionId) as (EntryRow & { salt: Buffer | null; body: StoredBody | null }) | undefined;
  return row && withErasure(db, detailOfRow(row));
}

function detailOfRow(row: EntryRow & { salt: Buffer | null; body: StoredBody | null }): EntryDetail {
  return { ...summaryOfRow(row), payload: row.body === null ? null : (JSON.parse(bodyText(row.body)) as JsonObject), salt: row.salt?.toString('hex') ?? null };
}

/** An erased entry's detail names the erasure entry that erased it (none: the payload is missing, which verify fails). */
function withErasure(db: Database, detail: EntryDetail): EntryDetail {
  if (detail.payload !== null) return detail;
  const e = erasedBy(db, detail.seq);
  if (!e) return detail;
  return { ...detail, erasedBy: { seq: e.seq, decisionId: e.decisionId, time: e.time, by: e.detail.by, basis: e.detail.basis, reason: e.detail.reason } };
}
