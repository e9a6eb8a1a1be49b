import Database, { type Database as Db } from 'better-sqlite3';
import type { Approval } from '../engine/approvals/approval.js';
import { allApprovals } from '../ledger/approval-table.js';
import { canonicalJson } from '../lib/canonical.js';
import { UsageBuckets } from '../usage/buckets.js';
import { chargeRowOf } from '../usage/store.js';
import type { DerivedCharge, DerivedState } from './derive.js';

/** One row of a state table that the chain does not add up to. */
export interface StateMismatch {
  table: 'approvals' | 'usage_charges' | 'usage_requests' | 'usage_daily' | 'usage_minute';
  /** The row's key (an approval id, a decision id, or scope/key/tier/day-or-minute). */
  key: string;
  /** missing (the chain has it, the table not), unrecorded (the table has it, no entry made it), or changed. */
  problem: 'missing' | 'unrecorded' | 'changed';
  /** What the chain says, and what the table holds (canonical JSON), when there is one. */
  expected?: string;
  actual?: string;
}

/** Request rows are pruned after two hours, minute buckets after two rolling windows: older ones may be gone. */
const REQUEST_HORIZON_MS = 2 * 3_600_000;

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
 * up to, naming each row that disagrees. Tables that do not exist (metering or
 * approvals never on) hold nothing.
 */
export function compareState(db: Db, derived: DerivedState, options: CompareOptions): StateMismatch[] {
  const out: StateMismatch[] = [];
  if (hasTable(db, 'approvals')) compareApprovals(db, derived, out);
  if (options.usage && hasTable(db, 'usage_charges') && (derived.recordsUsage || derived.entries === 0)) {
    compareRows(out, 'usage_charges', rowsBy(db, 'SELECT * FROM usage_charges', (r) => String(r.decision_id), chargeOfRow), mapOf(derived.charges, chargeForm), {
      mayLack: () => false,
    });
    const horizon = derived.latestMs - REQUEST_HORIZON_MS;
    compareRows(out, 'usage_requests', rowsBy(db, 'SELECT * FROM usage_requests', (r) => String(r.decision_id), requestOfRow), mapOf(derived.requests, requestForm), {
      mayLack: (v) => (JSON.parse(v) as { at_ms: number }).at_ms < horizon,
    });
    compareBuckets(db, derived, options.usage, out);
  }
  return out;
}

function compareApprovals(db: Db, derived: DerivedState, out: StateMismatch[]): void {
  const table = new Map<string, string>();
  for (const a of allApprovals(db)) table.set(a.id, approvalForm(a));
  compareRows(out, 'approvals', table, mapOf(derived.approvals, approvalForm), { mayLack: () => false });
}

function compareBuckets(db: Db, derived: DerivedState, options: { timeZone: string; rollingMinutes: number }, out: StateMismatch[]): void {
  if (!hasTable(db, 'usage_daily')) return;
  const expected = expectedBuckets(derived, options.timeZone);
  const bucketKey = (r: Record<string, unknown>, column: string) => `${r.scope}/${r.key}/${r.tier}/${r[column]}`;
  const form = (r: Record<string, unknown>) => canonicalJson({ tokens: Number(r.tokens), cost_micros: Number(r.cost_micros) });
  compareRows(out, 'usage_daily', rowsBy(db, 'SELECT * FROM usage_daily', (r) => bucketKey(r, 'day'), form), rowsBy(expected, 'SELECT * FROM usage_daily', (r) => bucketKey(r, 'day'), form), {
    mayLack: () => false,
  });
  const oldest = Math.floor((derived.latestMs - 2 * options.rollingMinutes * 60_000) / 60_000);
  compareRows(
    out,
    'usage_minute',
    rowsBy(db, 'SELECT * FROM usage_minute', (r) => bucketKey(r, 'minute'), form),
    rowsBy(expected, 'SELECT * FROM usage_minute', (r) => bucketKey(r, 'minute'), form),
    { mayLack: (_v, key) => Number(key.slice(key.lastIndexOf('/') + 1)) < oldest },
  );
  expected.close();
}

/** The daily and minute buckets of every settled charge, added by the store's own code into a scratch database. */
export function expectedBuckets(derived: DerivedState, timeZone: string): Db {
  const scratch = new Database(':memory:');
  const buckets = new UsageBuckets(scratch, { timeZone, rebuildTimeZone: false });
  for (const c of derived.charges.values()) if (c.state === 'settled') buckets.add(c);
  return scratch;
}

function compareRows(
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

function rowsBy(db: Db, sql: string, keyOf: (r: Record<string, unknown>) => string, form: (r: Record<string, unknown>) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of db.prepare(sql).iterate() as IterableIterator<Record<string, unknown>>) out.set(keyOf(r), form(r));
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
  return chargeForm({ ...chargeRowOf(r), expiresMs: r.expires_ms === null || r.expires_ms === undefined ? null : Number(r.expires_ms) });
}

function chargeForm(c: DerivedCharge): string {
  return canonicalJson(c);
}

function requestOfRow(r: Record<string, unknown>): string {
  return canonicalJson({ decision_id: r.decision_id, subject: r.subject, tool: r.tool, decision: r.decision, at_ms: Number(r.at_ms) });
}

function requestForm(r: { decisionId: string; subject: string; tool: string; decision: string; atMs: number }): string {
  return canonicalJson({ decision_id: r.decisionId, subject: r.subject, tool: r.tool, decision: r.decision, at_ms: r.atMs });
}

export function hasTable(db: Db, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}
