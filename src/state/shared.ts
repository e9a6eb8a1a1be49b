import type { Database } from 'better-sqlite3';
import type { EntryRecord, Receipt } from '../engine/ledger.js';
import type { SharedBucket, SharedCharge, SharedSince, SharedStateRows } from '../usage/postgres/store.js';
import type { RequestRow } from '../usage/store.js';
import { localDay } from '../usage/windows.js';
import { chargeForm, compareRows, expectedBuckets, type StateMismatch } from './compare.js';
import { rebuildRecord, refusal } from './check.js';
import { deriveState, type DerivedCharge, type DerivedState } from './derive.js';

/** What the check needs of the shared (PostgreSQL) store. */
export interface SharedStateStore {
  stateRows(decisionIds: string[], since: SharedSince): Promise<SharedStateRows>;
  repairState(charges: SharedCharge[], buckets: { daily: SharedBucket[]; minute: SharedBucket[] }, since: SharedSince, requests: RequestRow[]): Promise<void>;
}

export interface SharedCheckOptions {
  /** This replica's ledger id: the charges its chain reserved carry it. */
  ledgerId: string;
  timeZone: string;
  rollingMinutes: number;
  nowMs: number;
  /**
   * Of these shared approval requests, those the shared store shows ended (rejected, expired, used, vouched
   * for by a replica's signature): their holds may have been released by another replica.
   */
  endedApprovals?: (approvalIds: string[]) => Promise<Set<string>>;
}

const DAY = 86_400_000;
const REQUEST_WINDOW_MS = 3_600_000;
/** The shared store prunes reservations this long after they expired (a late report can still settle one before). */
const PRUNED_AFTER_MS = DAY;

export interface SharedCheck {
  mismatches: StateMismatch[];
  /** The mismatches a repair that never lowers a bucket fixes: charges, and buckets missing or below the sum. */
  below: StateMismatch[];
  /**
   * Writes back what the chain says for every mismatched charge, then the buckets: exactly as the
   * settled charges sum them, or (`neverLower`) at least that, never below what they hold.
   */
  repair(how: 'exact' | 'never-lower'): Promise<void>;
}

/**
 * The shared usage rows against this replica's chain. With PostgreSQL each
 * replica's chain holds its own part of the usage: the reservations its
 * decisions made and the reports it received. Those rows must be in the shared
 * store as the chain has them (a reservation may since have been settled by a
 * report to another replica; one expired a day ago may have been pruned). The
 * daily and minute buckets of the windows budgets read must be the sums of the
 * settled charges, so deleting buckets is caught by every replica, and deleting
 * charges by each replica for its own. Rows of other replicas' making are theirs
 * to check (at their start, or `gavel audit verify` over every ledger).
 */
export async function checkSharedState(store: SharedStateStore, derived: DerivedState, o: SharedCheckOptions): Promise<SharedCheck> {
  const since: SharedSince = {
    ms: o.nowMs - 42 * DAY,
    day: localDay(o.nowMs - 40 * DAY, o.timeZone),
    minute: Math.floor((o.nowMs - 2 * o.rollingMinutes * 60_000) / 60_000),
  };
  // Request rows count for rate limits for an hour, and are pruned after two: the recent ones must be there.
  const recent = [...derived.requests.values()].filter((r) => r.atMs >= o.nowMs - REQUEST_WINDOW_MS);
  const ids = [...new Set([...derived.charges.keys(), ...derived.foreignSettlements.keys(), ...recent.map((r) => r.decisionId)])];
  const rows = await store.stateRows(ids, since);
  const shared = new Map(rows.charges.map((c) => [c.decisionId, c]));
  const mismatches: StateMismatch[] = [];
  const restore = new Map<string, SharedCharge>();
  const note = (key: string, problem: StateMismatch['problem'], expected: SharedCharge, actual: SharedCharge | undefined) => {
    mismatches.push({ table: 'gavel_usage_charges', key, problem, expected: sharedForm(expected), ...(actual ? { actual: sharedForm(actual) } : {}) });
    restore.set(key, expected);
  };
  // The hold of a shared approval request is released by whichever replica records its end: missing is right once it ended.
  const holds = [...derived.charges.values()].filter((c) => c.state === 'reserved' && !shared.has(c.decisionId) && derived.sharedHolds.has(c.decisionId));
  const ended = holds.length > 0 && o.endedApprovals ? await o.endedApprovals(holds.map((c) => derived.sharedHolds.get(c.decisionId)!)) : new Set<string>();
  for (const c of derived.charges.values()) {
    const want: SharedCharge = { ...c, ledgerId: o.ledgerId };
    const have = shared.get(c.decisionId);
    if (!have) {
      const pruned = c.state === 'reserved' && c.expiresMs !== null && c.expiresMs < o.nowMs - PRUNED_AFTER_MS;
      const released = c.state === 'reserved' && ended.has(derived.sharedHolds.get(c.decisionId) ?? '');
      if (!pruned && !released) note(c.decisionId, 'missing', want, undefined);
    } else if (c.state === 'reserved' && have.state === 'settled') {
      // Settled by a report to another replica: what the reservation fixed must still hold.
      if (reservationForm(have) !== reservationForm(want)) note(c.decisionId, 'changed', { ...have, ...reservationPart(want) }, have);
    } else if (sharedForm(have) !== sharedForm(want)) note(c.decisionId, 'changed', want, have);
  }
  for (const f of derived.foreignSettlements.values()) {
    const have = shared.get(f.decisionId);
    const settled = { model: f.model, tier: f.tier, tokens: f.tokens, costMicros: f.costMicros, inputTokens: f.inputTokens, outputTokens: f.outputTokens };
    const want: SharedCharge = have
      ? { ...have, ...settled, state: 'settled', expiresMs: null }
      : {
          ...settled,
          decisionId: f.decisionId,
          subject: f.subject,
          team: f.team,
          costCenter: f.costCenter,
          atMs: f.atMs,
          state: 'settled',
          expiresMs: null,
          maxOutputTokens: null,
          estimatedInputTokens: null,
          caller: null,
          askedModel: null,
          ledgerId: '',
        };
    if (!have) note(f.decisionId, 'missing', want, undefined);
    else if (sharedForm(have) !== sharedForm(want)) note(f.decisionId, 'changed', want, have);
  }
  const requests = new Map(rows.requests.map((r) => [r.decisionId, JSON.stringify(r)]));
  const restoreRequests: RequestRow[] = [];
  for (const r of recent) {
    const want = JSON.stringify({ decisionId: r.decisionId, subject: r.subject, tool: r.tool, decision: r.decision, atMs: r.atMs });
    const have = requests.get(r.decisionId);
    if (have === want) continue;
    mismatches.push({
      table: 'gavel_usage_requests',
      key: r.decisionId,
      problem: have === undefined ? 'missing' : 'changed',
      expected: want,
      ...(have ? { actual: have } : {}),
    });
    restoreRequests.push(r);
  }
  const settled = new Map(rows.settled.map((c) => [c.decisionId, c]));
  for (const c of restore.values()) if (c.state === 'settled' && c.atMs >= since.ms) settled.set(c.decisionId, c);
  const expected = expectedBuckets(settled.values() as Iterable<DerivedCharge>, o.timeZone);
  const daily = [...expected.daily.values()].filter((b) => String(b.at) >= since.day);
  const minute = [...expected.minute.values()].filter((b) => Number(b.at) >= since.minute);
  compareBuckets(mismatches, 'gavel_usage_daily', rows.daily, daily);
  compareBuckets(mismatches, 'gavel_usage_minute', rows.minute, minute);
  const below = mismatches.filter((m) => m.table === 'gavel_usage_charges' || m.table === 'gavel_usage_requests' || m.actual === undefined || belowSum(m));
  return {
    mismatches,
    below,
    repair: (how) =>
      store.repairState(
        [...restore.values()],
        how === 'exact' ? { daily, minute } : { daily: neverLower(rows.daily, daily), minute: neverLower(rows.minute, minute) },
        since,
        restoreRequests,
      ),
  };
}

/**
 * The buckets a repair writes: each at least what the settled charges sum to, and never below what
 * it holds. This replica vouches only for the charges its own chain recorded; a bucket above the sum
 * may be right (a charge another replica recorded was lowered) or an insertion, and lowering it would
 * hand out budget on the word of an edited row. Fail closed: it stays, named in the log.
 */
function neverLower(actual: SharedBucket[], expected: SharedBucket[]): SharedBucket[] {
  const id = (b: SharedBucket) => `${b.scope}/${b.key}/${b.tier}/${b.at}`;
  const out = new Map(actual.map((b) => [id(b), { ...b }]));
  for (const want of expected) {
    const have = out.get(id(want));
    if (!have) out.set(id(want), { ...want });
    else {
      have.tokens = Math.max(have.tokens, want.tokens);
      have.cost_micros = Math.max(have.cost_micros, want.cost_micros);
    }
  }
  return [...out.values()];
}

/** A bucket holding less than the settled charges sum to (tokens/cost_micros forms). */
function belowSum(m: StateMismatch): boolean {
  if (m.expected === undefined || m.actual === undefined) return false;
  const [wantTokens, wantCost] = m.expected.split('/').map(Number) as [number, number];
  const [haveTokens, haveCost] = m.actual.split('/').map(Number) as [number, number];
  return haveTokens < wantTokens || haveCost < wantCost;
}

function compareBuckets(out: StateMismatch[], table: StateMismatch['table'], actual: SharedBucket[], expected: SharedBucket[]): void {
  const forms = (rows: SharedBucket[]) => new Map(rows.map((b) => [`${b.scope}/${b.key}/${b.tier}/${b.at}`, `${b.tokens}/${b.cost_micros}`]));
  compareRows(out, table, forms(actual), forms(expected), { mayLack: () => false });
}

/** What a reservation fixes, which a later settlement does not change. */
function reservationPart(c: SharedCharge) {
  return {
    subject: c.subject,
    team: c.team,
    costCenter: c.costCenter,
    atMs: c.atMs,
    caller: c.caller,
    askedModel: c.askedModel,
    maxOutputTokens: c.maxOutputTokens,
    estimatedInputTokens: c.estimatedInputTokens,
    ledgerId: c.ledgerId,
  };
}

function reservationForm(c: SharedCharge): string {
  return JSON.stringify(Object.values(reservationPart(c)));
}

/** Every column of a shared charge: the embedded store's, and the replica that reserved it. */
function sharedForm(c: SharedCharge): string {
  return JSON.stringify([c.ledgerId, chargeForm(c)]);
}

/** What the shared check needs of this replica's ledger: its file, and an append (answered once durable). */
export interface SharedStateLedger {
  readonly db: Database;
  append(record: EntryRecord): Promise<Receipt>;
}

/**
 * The check at a replica's start (`refuse`, or `rebuild` with --rebuild-state: the rows written back
 * exactly and the rebuild recorded in the chain, a `state` entry), or on its timer (`repair`: what
 * would undercount usage is written back and recorded; a bucket above the sum is left as it is,
 * since this replica cannot vouch for the charges other replicas recorded). Returns what it fixed.
 */
export async function reconcileShared(
  store: SharedStateStore,
  ledger: SharedStateLedger,
  o: SharedCheckOptions & { mode: 'refuse' | 'rebuild' | 'repair'; reason: string },
): Promise<StateMismatch[]> {
  const check = await checkSharedState(store, deriveState(ledger.db), o);
  if (o.mode === 'repair') {
    if (check.below.length === 0) return [];
    await check.repair('never-lower');
    await ledger.append(rebuildRecord(check.below, o.reason));
    return check.below;
  }
  if (check.mismatches.length === 0) return [];
  if (o.mode === 'refuse') throw refusal(check.mismatches, 'the shared usage store');
  await check.repair('exact');
  await ledger.append(rebuildRecord(check.mismatches, o.reason));
  return check.mismatches;
}
