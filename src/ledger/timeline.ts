import type { EntryKind } from '../engine/ledger.js';
import type { Database } from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';
import { isJsonObject, valueAt, type JsonValue } from '../lib/json.js';
import { activationBefore, getEntry, policyEntries, queryEntries, type EntrySummary, type QueryFilter } from './query.js';

/** An approval event as the timeline tells it. */
export interface TimelineApproval {
  id: string;
  /** requested, approved, rejected, expired, consumed. */
  event: string;
  /** The state after the event. */
  state: string;
  /** The decision it belongs to: the one that asked (requested) or used it (consumed). */
  decisionId: string;
  /** Who cast the vote (approved, rejected). */
  approver?: { id: string; roles: string[] };
  comment?: string;
  approvals: number;
  minApprovals: number;
  approvers: string[];
  expiresAt: string;
  /** Who caused it: the decision's caller, the approval front end, or gavel (expiry). */
  caller: string;
}

export interface TimelineEvent {
  /** decision; policy: a bundle went live (activated), stopped (deactivated) or was refused; approval: a request and what became of it. */
  kind: EntryKind;
  seq: number;
  time: string;
  decisionId: string;
  subjectId: string;
  action: string;
  resource: string;
  decision: string;
  /** "rule (code)" of every rule that fired. */
  rules: string[];
  /** Reason codes seen here for the first time in this timeline that are not plain allows: a threshold crossed, a new kind of denial. */
  crossed: string[];
  /** Week tokens used by the subject when this was decided, when the decision saw usage. */
  weekTokens?: number;
  /** Policy events: the bundle revision that went live, stopped or was refused. */
  revision?: string;
  approval?: TimelineApproval;
  /** The payload was erased (rules and usage are gone with it): the erasure entry's seq, 0 when none names it. */
  erasedBy?: number;
}

/**
 * The incident timeline for one subject or team, oldest first: what happened,
 * which rules fired, and where the answers changed (a budget rung reached, a
 * limit crossed, a new denial reason).
 */
export function timeline(db: Database, filter: Pick<QueryFilter, 'subject' | 'team' | 'costCenter' | 'since' | 'until' | 'limit'>): TimelineEvent[] {
  if (!filter.subject && !filter.team && !filter.costCenter) throw new GavelError('invalid_query', 'timeline needs --subject, --team or --cost-center');
  const seen = new Set<string>();
  const events: TimelineEvent[] = [];
  for (const entry of queryEntries(db, { ...filter, order: 'asc', limit: filter.limit ?? 10_000 })) {
    const detail = getEntry(db, entry.decisionId);
    if (entry.kind === 'approval') {
      events.push(approvalEvent(entry, detail?.payload?.approval, entry.caller));
      continue;
    }
    const result = detail?.payload?.result;
    const reasons = isJsonObject(result) && Array.isArray(result.reasons) ? result.reasons.filter(isJsonObject) : [];
    const crossed: string[] = [];
    // A reason seen for the first time in this timeline is a line crossed; the plain allow never is.
    for (const r of reasons) {
      const code = String(r.code);
      if (!seen.has(code) && code !== 'allowed') crossed.push(code);
      seen.add(code);
    }
    events.push({
      ...eventOf('decision', entry),
      rules: reasons.map((r) => `${String(r.rule)} (${String(r.code)})`),
      crossed,
      ...weekTokens(detail?.payload?.input),
      ...(detail && detail.payload === null ? { erasedBy: detail.erasedBy?.seq ?? 0 } : {}),
    });
  }
  return withPolicyEvents(db, events);
}

/**
 * The policy events between the first and the last decision shown, interleaved by seq, after the
 * last activation before the first (the policy that decided it): an incident timeline shows
 * "bundle ai revision R went live here" between the decisions it changed.
 */
function withPolicyEvents(db: Database, events: TimelineEvent[]): TimelineEvent[] {
  if (events.length === 0) return events;
  const first = events[0]!.seq;
  const last = events[events.length - 1]!.seq;
  const before = activationBefore(db, first);
  const inside = [...policyEntries(db, { after: first, before: last })];
  const merged = [...(before ? [before] : []), ...inside].map((p): TimelineEvent => ({ ...eventOf('policy', p), revision: p.revision }));
  return [...events, ...merged].sort((a, b) => a.seq - b.seq);
}

/** An approval entry (the subject's own: its header names the request's subject and team). */
function approvalEvent(entry: EntrySummary, payload: JsonValue | undefined, caller: string): TimelineEvent {
  const p = isJsonObject(payload) ? payload : {};
  const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : '');
  const num = (v: JsonValue | undefined) => (typeof v === 'number' ? v : 0);
  const approver = isJsonObject(p.approver) ? p.approver : undefined;
  const approval: TimelineApproval = {
    id: str(p.id) || entry.requestId,
    event: entry.decision,
    state: str(p.state),
    decisionId: str(p.decision_id),
    approvals: num(p.approvals),
    minApprovals: num(p.min_approvals),
    approvers: Array.isArray(p.approvers) ? p.approvers.filter((a): a is string => typeof a === 'string') : [],
    expiresAt: str(p.expires_at),
    caller,
    ...(approver
      ? {
          approver: { id: str(approver.id), roles: Array.isArray(approver.roles) ? approver.roles.filter((r): r is string => typeof r === 'string') : [] },
          comment: str(p.comment),
        }
      : {}),
  };
  return { ...eventOf('approval', entry), approval };
}

/** What every timeline event takes from its entry's header (no rules fired, nothing crossed until a decision says so). */
function eventOf(kind: TimelineEvent['kind'], entry: EntrySummary): TimelineEvent {
  return {
    kind,
    seq: entry.seq,
    time: entry.time,
    decisionId: entry.decisionId,
    subjectId: entry.subjectId,
    action: entry.actionType,
    resource: entry.resource,
    decision: entry.decision,
    rules: [],
    crossed: [],
  };
}

function weekTokens(input: JsonValue | undefined): { weekTokens?: number } {
  const tokens = valueAt(input, ['context', 'usage', 'subject', 'week', 'tokens']);
  return typeof tokens === 'number' ? { weekTokens: tokens } : {};
}
