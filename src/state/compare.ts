import { hasTable, REQUEST_HORIZON_MS } from './tables.js';
import type { Database as Db } from 'better-sqlite3';
import type { Approval } from '../engine/approvals/approval.js';
import { allApprovals } from '../ledger/approval-table.js';
import { canonicalJson } from '../lib/canonical.js';
import { chargeColumns, embeddedChargeOf } from '../usage/charge-columns.js';
import { scopesOf } from '../usage/store.js';
import { localDay } from '../usage/windows.js';
import type { DerivedCharge, DerivedState } from './derive.js';

/** One row of a state table that the chain does not add up to. */
export interface StateMismatch {
  table:
    | 'approvals'
    | 'usage_charges'
    | 'usage_requests'
    | 'usage_daily'
    | 'usage_minute'
    | 'gavel_usage_charges'
    | 'gavel_usage_requests'
    | 'gavel_usage_daily'
    | 'gavel_usage_minute';
  /** The row's key (an approval id, a decision id, or scope/key/tier/day-or-minute). */
  key: string;
  /** missing (the chain has it, the table not), unrecorded (the table has it, no entry made it), or changed. */
  problem: 'missing' | 'unrecorded' | 'changed';
  /** What the chain says, and what the table holds (canonical JSON), when there is one. */
  expected?: string;
  actual?: string;
}

export interface CompareOptions {
  /**
   * The embedded usage store's bucketing: the zone its daily buckets are keyed in (usage_meta) and
   * its rolling window (minute rows older than two may be pruned). Undefined: usage is not kept in
   * this file (PostgreSQL, or metering off), so only approvals are compared.
   */
  usage: { timeZone: string; rollingMinutes: number } | undefined;
}

/**
 * Every row of the approval and usage tables against the state the chain adds
 * up to, naming each row that disagrees. A table that does not exist holds
 * nothing (metering or approvals never on): a dropped one misses every row the
 * chain has for it.
 */
export function compareState(db: Db, derived: DerivedState, options: CompareOptions): StateMismatch[] {
  const out: StateMismatch[] = [];
  compareApprovals(db, derived, out);
  if (options.usage && (derived.recordsUsage || derived.entries === 0)) {
    compareRows(
      out,
      'usage_charges',
      rowsBy(db, 'usage_charges', (r) => String(r.decision_id), chargeOfRow),
      mapOf(derived.charges, chargeForm),
      {
        mayLack: () => false,
      },
    );
    const horizon = derived.latestMs - REQUEST_HORIZON_MS;
    compareRows(
      out,
      'usage_requests',
      rowsBy(db, 'usage_requests', (r) => String(r.decision_id), requestOfRow),
      mapOf(derived.requests, requestForm),
      {
        mayLack: (v) => (JSON.parse(v) as { at_ms: number }).at_ms < horizon,
      },
    );
    compareBuckets(db, derived, options.usage, out);
  }
  return out;
}

function compareApprovals(db: Db, derived: DerivedState, out: StateMismatch[]): void {
  const table = new Map<string, string>();
  if (hasTable(db, 'approvals')) for (const a of allApprovals(db)) table.set(a.id, approvalForm(a));
  compareRows(out, 'approvals', table, mapOf(derived.approvals, approvalForm), { mayLack: () => false });
}

function compareBuckets(db: Db, derived: DerivedState, options: { timeZone: string; rollingMinutes: number }, out: StateMismatch[]): void {
  const expected = expectedBuckets(derived.charges.values(), options.timeZone);
  const bucketKey = (r: Record<string, unknown>, column: string) => `${r.scope}/${r.key}/${r.tier}/${r[column]}`;
  const form = (r: { tokens?: unknown; cost_micros?: unknown }) => `${Number(r.tokens)}/${Number(r.cost_micros)}`;
  const forms = (sums: BucketSums) => new Map([...sums].map(([k, v]) => [k, form(v)]));
  compareRows(
    out,
    'usage_daily',
    rowsBy(db, 'usage_daily', (r) => bucketKey(r, 'day'), form),
    forms(expected.daily),
    { mayLack: () => false },
  );
  const oldest = Math.floor((derived.latestMs - 2 * options.rollingMinutes * 60_000) / 60_000);
  compareRows(
    out,
    'usage_minute',
    rowsBy(db, 'usage_minute', (r) => bucketKey(r, 'minute'), form),
    forms(expected.minute),
    {
      mayLack: (_v, key) => Number(key.slice(key.lastIndexOf('/') + 1)) < oldest,
    },
  );
}

/**
 * The daily and minute buckets of every settled charge, as the store adds them (UsageBuckets.add):
 * per scope, key and tier, on the charge's local day and its minute.
 */
export function expectedBuckets(charges: Iterable<DerivedCharge>, timeZone: string): { daily: BucketSums; minute: BucketSums } {
  const daily: BucketSums = new Map();
  const minute: BucketSums = new Map();
  const dayOf = memoDay(timeZone);
  for (const c of charges) {
    if (c.state !== 'settled') continue;
    const day = dayOf(c.atMs);
    const at = Math.floor(c.atMs / 60_000);
    for (const [scope, key] of scopesOf(c)) {
      add(daily, `${scope}/${key}/${c.tier}/${day}`, { scope, key, tier: c.tier, at: day }, c);
      add(minute, `${scope}/${key}/${c.tier}/${at}`, { scope, key, tier: c.tier, at }, c);
    }
  }
  return { daily, minute };
}

export type BucketSums = Map<string, { scope: string; key: string; tier: string; at: string | number; tokens: number; cost_micros: number }>;

function add(
  sums: BucketSums,
  id: string,
  where: { scope: string; key: string; tier: string; at: string | number },
  c: { tokens: number; costMicros: number },
): void {
  const row = sums.get(id);
  if (row) {
    row.tokens += c.tokens;
    row.cost_micros += c.costMicros;
  } else sums.set(id, { ...where, tokens: c.tokens, cost_micros: c.costMicros });
}

/** The local day of an instant, computed once per quarter hour (every zone offset and transition falls on one). */
function memoDay(timeZone: string): (atMs: number) => string {
  const days = new Map<number, string>();
  return (atMs) => {
    const quarter = Math.floor(atMs / 900_000);
    let day = days.get(quarter);
    if (day === undefined) {
      day = localDay(quarter * 900_000, timeZone);
      days.set(quarter, day);
    }
    return day;
  };
}

export function compareRows(
  out: StateMismatch[],
  table: StateMismatch['table'],
  actual: Map<string, string>,
  expected: Map<string, string>,
  rules: { mayLack: (expected: string, key: string) => boolean },
): void {
  for (const [key, want] of expected) {
    const have = actual.get(key);
    if (have === undefined) {
      if (!rules.mayLack(want, key)) out.push({ table, key, problem: 'missing', expected: want });
    } else if (have !== want) out.push({ table, key, problem: 'changed', expected: want, actual: have });
  }
  for (const [key, have] of actual) if (!expected.has(key)) out.push({ table, key, problem: 'unrecorded', actual: have });
}

function rowsBy(db: Db, table: string, keyOf: (r: Record<string, unknown>) => string, form: (r: Record<string, unknown>) => string): Map<string, string> {
  const out = new Map<string, string>();
  if (!hasTable(db, table)) return out;
  for (const r of db.prepare(`SELECT * FROM ${table}`).iterate() as IterableIterator<Record<string, unknown>>) out.set(keyOf(r), form(r));
  return out;
}

function mapOf<T>(m: Map<string, T>, form: (v: T) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of m) out.set(k, form(v));
  return out;
}

export function approvalForm(a: Approval): string {
  return canonicalJson(a);
}

function chargeOfRow(r: Record<string, unknown>): string {
  return chargeForm(embeddedChargeOf(r));
}

/** The charge fields the ledger file keeps, in its column order (usage/charge-columns.ts). */
const CHARGE_FIELDS = chargeColumns('embedded').map((c) => c.field as keyof DerivedCharge);

/** Every column, in one fixed order (a JSON array: cheaper than canonical JSON of an object, as exact). */
export function chargeForm(c: DerivedCharge): string {
  return JSON.stringify(CHARGE_FIELDS.map((f) => c[f]));
}

function requestOfRow(r: Record<string, unknown>): string {
  return JSON.stringify({ decision_id: r.decision_id, subject: r.subject, tool: r.tool, decision: r.decision, at_ms: Number(r.at_ms) });
}

function requestForm(r: { decisionId: string; subject: string; tool: string; decision: string; atMs: number }): string {
  return JSON.stringify({ decision_id: r.decisionId, subject: r.subject, tool: r.tool, decision: r.decision, at_ms: r.atMs });
}

export { hasTable };
