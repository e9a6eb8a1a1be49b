import type { Database } from 'better-sqlite3';
import type { Approval, ApprovalState, Vote } from '../engine/approvals/approval.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';
import { allApprovals } from '../ledger/approval-table.js';
import { embeddedChargeOf, type EmbeddedCharge } from '../usage/charge-columns.js';
import type { RequestRow } from '../usage/store.js';
import { hasTable } from './tables.js';
import { bodyText, type StoredBody } from '../ledger/payload-body.js';

/** A charge as the chain tells it: the usage_charges row, with its expiry (null once settled). */
export type DerivedCharge = EmbeddedCharge;

export interface ForeignSettlement {
  decisionId: string;
  subject: string;
  team: string;
  costCenter: string;
  atMs: number;
  model: string;
  tier: string;
  tokens: number;
  costMicros: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * The state the chain adds up to: every approval (the sum of its `approval`
 * entries), every usage charge (a metered decision's `usage.reserved`, then the
 * `usage` entries that settle or release it, and the approval entries that end
 * the request it was held for) and every request row (`usage.request`), in
 * chain order. The tables are indexes of this: compare.ts checks them against it.
 */
export interface DerivedState {
  approvals: Map<string, Approval>;
  charges: Map<string, DerivedCharge>;
  requests: Map<string, RequestRow>;
  /**
   * Settlements this chain recorded of charges it did not reserve (a report that reached this
   * replica for another replica's decision, with a shared store): checked against the shared rows.
   */
  foreignSettlements: Map<string, ForeignSettlement>;
  /**
   * Requests this chain made in a store shared by replicas (their rows live there, not in this file):
   * the approval id by the decision whose reservation each holds. Any replica may end the request and release it.
   */
  sharedHolds: Map<string, string>;
  /** True once the chain records usage (a usage section, a usage entry or a baseline): before that, the usage tables predate it. */
  recordsUsage: boolean;
  /** Time of the newest entry (ms), 0 on an empty chain: pruned rows are judged against it. */
  latestMs: number;
  /** Entries whose payload was erased: what they held cannot be checked. */
  erased: number;
  /**
   * The rows those entries vouched for, which no check can judge now (a retention job erased the
   * payload): the erased decision's id (its charge and request row), and the approval or decision an
   * erased approval or usage entry was about (its request_id).
   */
  erasedKeys: Set<string>;
  /** How many entries were read. */
  entries: number;
}

interface EntryRow {
  seq: number;
  kind: string;
  decision_id: string;
  time_ms: number;
  subject_id: string;
  subject_type: string;
  team: string;
  cost_center: string;
  decision: string;
  bundle: string;
  revision: string;
  digest: string;
  caller: string;
  request_id: string;
  body: StoredBody | null;
}

/**
 * Of a decision's payload only the end is read: its last key, `usage`, is a few hundred characters
 * (names are bounded to 256 bytes each), far inside this many.
 */
const DECISION_TAIL = 16_384;

// A file from before header version 2 has no kind column (its entries are all decisions; it is read-only here).
const entriesSql = (kind: string) => `SELECT e.seq, ${kind} AS kind, e.decision_id, e.time_ms, e.subject_id, e.subject_type, e.team, e.cost_center, e.decision,
  e.bundle, e.revision, e.digest, e.caller, e.request_id,
  CASE WHEN ${kind} = 'decision' AND typeof(p.body) = 'text' THEN substr(p.body, -${DECISION_TAIL}) ELSE p.body END AS body
  FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ORDER BY e.seq`;

function entriesQuery(db: Database): string {
  const columns = db.prepare('PRAGMA table_info(entries)').all() as Array<{ name: string }>;
  return entriesSql(columns.some((c) => c.name === 'kind') ? 'e.kind' : "'decision'");
}

/** Walks the whole chain once, oldest first. Decision payloads are not parsed whole: only their last key, `usage`. */
export function deriveState(db: Database): DerivedState {
  const state: DerivedState = {
    approvals: new Map(),
    charges: new Map(),
    requests: new Map(),
    foreignSettlements: new Map(),
    sharedHolds: new Map(),
    recordsUsage: false,
    latestMs: 0,
    erased: 0,
    erasedKeys: new Set(),
    entries: 0,
  };
  const apply = new StateFolder(db, state);
  for (const row of db.prepare(entriesQuery(db)).iterate() as IterableIterator<EntryRow>) {
    state.entries++;
    state.latestMs = Math.max(state.latestMs, row.time_ms);
    if (row.body === null) {
      state.erased++;
      state.erasedKeys.add(row.kind === 'approval' || row.kind === 'usage' ? row.request_id : row.decision_id);
      continue;
    }
    // A decision's payload stored deflated is read whole (payload-body.ts); stored as text, only its tail.
    if (typeof row.body !== 'string') row.body = inflated(row.body);
    apply.entry(row as TextRow);
  }
  if (state.erasedKeys.size > 0) adoptErased(db, state);
  return state;
}

/**
 * Rows an erased entry vouched for are taken as the tables hold them: an erasure (a retention job)
 * is not a disagreement, and what the chain can no longer say is neither confirmed nor denied. The
 * rows of every other entry are still checked, and the buckets are summed with these charges in.
 */
function adoptErased(db: Database, state: DerivedState): void {
  const erased = (key: string) => state.erasedKeys.has(key);
  if (hasTable(db, 'approvals')) for (const a of allApprovals(db)) if (erased(a.id)) state.approvals.set(a.id, a);
  if (hasTable(db, 'usage_charges')) {
    for (const r of db.prepare('SELECT * FROM usage_charges').iterate() as IterableIterator<Record<string, unknown>>) {
      const id = String(r.decision_id);
      if (erased(id)) state.charges.set(id, embeddedChargeOf(r));
    }
  }
  if (hasTable(db, 'usage_requests')) {
    for (const r of db.prepare('SELECT * FROM usage_requests').iterate() as IterableIterator<Record<string, unknown>>) {
      const id = String(r.decision_id);
      if (erased(id))
        state.requests.set(id, { decisionId: id, subject: String(r.subject), tool: String(r.tool), decision: String(r.decision), atMs: Number(r.at_ms) });
    }
  }
}

/** A deflated payload's text; one that does not inflate reads as nothing, as a text one that does not parse does (verify names it). */
function inflated(body: Buffer): string {
  try {
    return bodyText(body);
  } catch {
    return '';
  }
}

/** An entry whose payload is there, as text. */
type TextRow = EntryRow & { body: string };

class StateFolder {
  constructor(
    private readonly db: Database,
    private readonly state: DerivedState,
  ) {}

  entry(row: TextRow): void {
    if (row.kind === 'decision') this.decision(row);
    else if (row.kind === 'usage') this.usage(row, objectAt(JSON.parse(row.body) as JsonObject, 'usage'));
    else if (row.kind === 'approval') this.approval(row, objectAt(JSON.parse(row.body) as JsonObject, 'approval'));
    else if (row.kind === 'state') this.baseline(objectAt(JSON.parse(row.body) as JsonObject, 'state'));
  }

  private decision(row: TextRow): void {
    const usage = usageTail(row.body);
    if (!usage) return;
    this.state.recordsUsage = true;
    const request = objectAt(usage, 'request');
    this.state.requests.set(row.decision_id, {
      decisionId: row.decision_id,
      subject: str(request.subject),
      tool: str(request.tool),
      decision: row.decision,
      atMs: row.time_ms,
    });
    const r = usage.reserved;
    if (!isJsonObject(r)) return;
    this.state.charges.set(row.decision_id, {
      decisionId: row.decision_id,
      subject: str(r.subject),
      team: str(r.team),
      costCenter: str(r.cost_center),
      model: str(r.model),
      tier: str(r.tier),
      state: 'reserved',
      tokens: num(r.tokens),
      costMicros: num(r.cost_micros),
      inputTokens: null,
      outputTokens: null,
      atMs: row.time_ms,
      maxOutputTokens: numOrNull(r.max_output_tokens),
      estimatedInputTokens: numOrNull(r.estimated_input_tokens),
      caller: row.caller,
      askedModel: str(r.asked_model),
      expiresMs: num(r.expires_ms),
    });
  }

  private usage(row: EntryRow, u: JsonObject): void {
    this.state.recordsUsage = true;
    const id = str(u.decision_id);
    const charge = this.state.charges.get(id);
    if (u.event === 'released') {
      this.release(id);
      return;
    }
    if (u.event !== 'settled') return;
    const settled = {
      model: str(u.model),
      tier: str(u.tier),
      tokens: num(u.tokens),
      costMicros: num(u.cost_micros),
      inputTokens: num(u.input_tokens),
      outputTokens: num(u.output_tokens),
    };
    if (charge) this.state.charges.set(id, { ...charge, ...settled, state: 'settled', expiresMs: null });
    else {
      const who = { subject: row.subject_id, team: row.team, costCenter: row.cost_center, atMs: num(u.at_ms) };
      this.state.foreignSettlements.set(id, { decisionId: id, ...who, ...settled });
    }
  }

  /** What the stores do: only an unsettled reservation is released. */
  private release(decisionId: string): void {
    if (this.state.charges.get(decisionId)?.state === 'reserved') this.state.charges.delete(decisionId);
  }

  private approval(row: EntryRow, p: JsonObject): void {
    const id = str(p.id);
    const event = str(p.event);
    const state = str(p.state) as ApprovalState;
    if (event === 'requested' && p.store === 'shared') {
      this.state.sharedHolds.set(str(p.requested_by), id);
      return;
    }
    if (event === 'requested') {
      this.state.approvals.set(id, {
        id,
        state,
        fingerprint: str(p.fingerprint),
        subjectId: row.subject_id,
        subjectType: row.subject_type,
        onBehalfOf: str(p.on_behalf_of),
        team: row.team,
        costCenter: row.cost_center,
        actionType: str(p.action_type),
        resource: str(p.resource),
        params: isJsonObject(p.params) ? p.params : this.paramsOf(str(p.requested_by)),
        approvers: strings(p.approvers),
        minApprovals: num(p.min_approvals),
        createdAtMs: row.time_ms,
        expiresAtMs: Date.parse(str(p.expires_at)),
        requestedBy: str(p.requested_by),
        caller: row.caller,
        policy: { bundle: row.bundle, revision: row.revision, digest: row.digest },
        votes: [],
      });
      return;
    }
    const before = this.state.approvals.get(id);
    if (!before) return;
    const next: Approval = { ...before, state };
    if (event === 'approved' || event === 'rejected') next.votes = [...before.votes, voteOf(row, p)];
    if (state !== 'pending' && before.state === 'pending') next.resolvedAtMs = row.time_ms;
    if (event === 'expired') next.resolvedAtMs = row.time_ms;
    if (event === 'consumed') next.consumedBy = str(p.consumed_by);
    this.state.approvals.set(id, next);
    // An ended request drops the reservation its decision held (the desk stages that release with this entry).
    if (event === 'rejected' || event === 'expired' || event === 'consumed') this.release(before.requestedBy);
  }

  /** A ledger from before requests recorded their params: the requesting decision's stored action.params. */
  private paramsOf(decisionId: string): JsonObject {
    const row = this.db.prepare('SELECT p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.decision_id = ?').get(decisionId) as
      | { body: StoredBody }
      | undefined;
    if (!row) return {};
    const payload = JSON.parse(bodyText(row.body)) as JsonObject;
    const params = objectAt(objectAt(payload, 'input'), 'action').params;
    return isJsonObject(params) ? params : {};
  }

  /** The usage state an older ledger held when it began recording usage (state event `baseline`). */
  private baseline(s: JsonObject): void {
    if (s.event !== 'baseline') return;
    this.state.recordsUsage = true;
    for (const c of Array.isArray(s.charges) ? s.charges : []) {
      if (isJsonObject(c)) this.state.charges.set(str(c.decisionId), c as unknown as DerivedCharge);
    }
    for (const r of Array.isArray(s.requests) ? s.requests : []) {
      if (isJsonObject(r)) this.state.requests.set(str(r.decisionId), r as unknown as RequestRow);
    }
  }
}

function voteOf(row: EntryRow, p: JsonObject): Vote {
  const approver = objectAt(p, 'approver');
  return {
    approver: { id: str(approver.id), roles: strings(approver.roles) },
    verdict: p.verdict === 'reject' ? 'reject' : 'approve',
    comment: str(p.comment),
    atMs: row.time_ms,
    caller: row.caller,
  };
}

const USAGE_KEY = ',"usage":';

/**
 * The `usage` member of a decision payload, read from the end of its canonical
 * text: it is the last key (it sorts after `input` and `result`). Inside a JSON
 * string a quote is escaped, so `,"usage":` unescaped is structure; an inner
 * `usage` key leaves closing brackets after its value, which do not parse.
 */
export function usageTail(body: string): JsonObject | undefined {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at < 0) return undefined;
  try {
    const value = JSON.parse(body.slice(at + USAGE_KEY.length, -1)) as JsonValue;
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function objectAt(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  return isJsonObject(v) ? v : {};
}

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function num(v: JsonValue | undefined): number {
  return typeof v === 'number' ? v : 0;
}

function numOrNull(v: JsonValue | undefined): number | null {
  return typeof v === 'number' ? v : null;
}

function strings(v: JsonValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
