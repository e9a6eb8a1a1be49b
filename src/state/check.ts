import type { Database } from 'better-sqlite3';
import { systemRecord, type EntryRecord } from '../engine/ledger.js';
import type { JsonObject } from '../lib/json.js';
import { GavelError } from '../lib/errors.js';
import { embeddedChargeOf } from '../usage/charge-columns.js';
import { compareState, hasTable, type StateMismatch } from './compare.js';
import { deriveState, type DerivedCharge, type DerivedState } from './derive.js';
import { rebuildTables } from './rebuild.js';

/** What the check needs of the ledger: its file, and an append that is durable when it returns. */
export interface StateLedger {
  readonly db: Database;
  /** Appends now (flushing the queue), `inTransaction` in the entry's transaction; throws unless both committed. */
  appendNow(record: EntryRecord, inTransaction?: () => void): void;
}

export interface StateCheckOptions {
  /** The embedded usage store's bucketing, when usage lives in the ledger file (undefined: PostgreSQL or metering off). */
  usage: { timeZone: string; rollingMinutes: number } | undefined;
  /** Rewrite disagreeing tables from the chain (and record that it did) instead of refusing. */
  rebuild: boolean;
  /** Why a rebuild happens (start-up flag, or a foreign write noticed while serving). */
  reason: string;
}

export interface StateCheckResult {
  /** Rows that disagreed with the chain (rebuilt when `rebuild`). */
  mismatches: StateMismatch[];
  /** True when this check recorded the usage tables as the baseline of a ledger from before usage entries. */
  baselined: boolean;
  entries: number;
}

/** How many disagreeing rows a refusal names, and a rebuild entry lists. */
const NAMED = 20;
const RECORDED = 1000;

/**
 * Checks the approval and usage tables against the chain before they are
 * trusted: every row must be what the chain adds up to. A disagreement is
 * refused (`state_mismatch`, naming the rows) unless `rebuild`, which rewrites
 * the tables from the chain in the transaction of a `state` entry that records
 * the rebuild and the rows it changed.
 *
 * A ledger from before usage entries (its chain records no usage, its tables
 * hold some) first records its usage tables as a `state` entry, event
 * `baseline`: from then on the chain alone adds up to the budgets.
 */
export function checkState(ledger: StateLedger, options: StateCheckOptions): StateCheckResult {
  const db = ledger.db;
  let derived = deriveState(db);
  let baselined = false;
  if (options.usage && !derived.recordsUsage && derived.entries > 0 && holdsUsage(db)) {
    ledger.appendNow(baselineRecord(db));
    derived = deriveState(db);
    baselined = true;
  }
  const mismatches = compareState(db, derived, { usage: options.usage });
  if (mismatches.length === 0) return { mismatches, baselined, entries: derived.entries };
  if (!options.rebuild) throw refusal(mismatches, db.name);
  ledger.appendNow(rebuildRecord(mismatches, options.reason), () => rebuildTables(db, derived, options.usage));
  return { mismatches, baselined, entries: derived.entries };
}

export function refusal(mismatches: StateMismatch[], file: string): GavelError {
  const named = mismatches.slice(0, NAMED).map(describe).join('; ');
  const more = mismatches.length > NAMED ? ` and ${mismatches.length - NAMED} more` : '';
  return new GavelError(
    'state_mismatch',
    `the state tables in ${file} disagree with the ledger's chain in ${mismatches.length} ${mismatches.length === 1 ? 'row' : 'rows'}: ${named}${more}. ` +
      'Nothing is served from state the chain does not add up to: restore the file, or start with --rebuild-state to recompute the tables from the chain (recorded in the ledger)',
  );
}

/**
 * How many rows of each table disagreed, and how: what a log line says. Row keys can hold subject
 * ids (bucket keys) and stay out of logs; the `state` entry in the ledger and the refusal name them.
 */
export function mismatchSummary(mismatches: StateMismatch[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mismatches) out[`${m.table} ${m.problem}`] = (out[`${m.table} ${m.problem}`] ?? 0) + 1;
  return out;
}

export function describe(m: StateMismatch): string {
  const what = m.problem === 'missing' ? 'missing (the chain has it)' : m.problem === 'unrecorded' ? 'not made by any entry' : 'changed';
  return `${m.table} ${m.key}: ${what}`;
}

/** The zone the embedded store's daily buckets are keyed in (usage_meta), or `configured` before it has any. */
export function bucketZone(db: Database, configured: string): string {
  if (!hasTable(db, 'usage_meta')) return configured;
  const row = db.prepare(`SELECT value FROM usage_meta WHERE key = 'time_zone'`).get() as { value: string } | undefined;
  return row?.value ?? configured;
}

function holdsUsage(db: Database): boolean {
  return ['usage_charges', 'usage_requests'].some((t) => hasTable(db, t) && db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined);
}

function baselineRecord(db: Database): EntryRecord {
  const charges: DerivedCharge[] = (db.prepare('SELECT * FROM usage_charges ORDER BY decision_id').all() as Array<Record<string, unknown>>).map(
    embeddedChargeOf,
  );
  const requests = hasTable(db, 'usage_requests')
    ? (db
        .prepare('SELECT decision_id AS decisionId, subject, tool, decision, at_ms AS atMs FROM usage_requests ORDER BY decision_id')
        .all() as DerivedState['requests'] extends Map<string, infer R> ? R[] : never)
    : [];
  return stateRecord('baseline', { charges, requests });
}

export function rebuildRecord(mismatches: StateMismatch[], reason: string): EntryRecord {
  const rows = mismatches.slice(0, RECORDED).map((m) => ({ table: m.table, key: m.key, problem: m.problem }));
  return stateRecord('rebuilt', { reason, mismatches: mismatches.length, rows });
}

function stateRecord(event: 'baseline' | 'rebuilt', detail: Record<string, unknown>): EntryRecord {
  return systemRecord({ kind: 'state', actionType: `state.${event}`, decision: event }, { state: { event, ...detail } } as JsonObject, new Date());
}
