import type { Database } from 'better-sqlite3';
import type { WireVerifyReport } from '../ledger/wire.js';
import { bucketZone, describe, refusal } from './check.js';
import { compareState, hasTable, type StateMismatch } from './compare.js';
import { deriveState } from './derive.js';

/** The default rolling window (usage/config.ts): minute rows older than two of them may have been pruned. */
const ROLLING_MINUTES = 60;

const USAGE_TABLES = ['usage_charges', 'usage_requests', 'usage_daily', 'usage_minute', 'usage_meta'];

/**
 * What `audit verify` adds to the chain's verification: the approval and usage
 * tables recomputed from the entries and compared row by row. The daily buckets
 * are recomputed in the zone the file records (usage_meta). A file with no
 * usage table keeps no usage (metering off, or a replica whose usage is in
 * PostgreSQL): only its approvals are compared. (A server knows where its usage
 * is kept: one that keeps it in the file refuses to start when they are gone.)
 */
export function stateMismatches(db: Database, rollingMinutes = ROLLING_MINUTES): StateMismatch[] {
  const usage = USAGE_TABLES.some((t) => hasTable(db, t)) ? { timeZone: bucketZone(db, 'UTC'), rollingMinutes } : undefined;
  return compareState(db, deriveState(db), { usage });
}

/** The verify report with the state check's findings: any mismatch fails it (failure_kind "state") unless the chain already did. */
export function withState(report: WireVerifyReport, mismatches: StateMismatch[], file: string): WireVerifyReport {
  const rows = mismatches.map((m) => ({ table: m.table, key: m.key, problem: m.problem }));
  if (mismatches.length === 0) return { ...report, state_mismatches: rows };
  if (!report.ok) return { ...report, state_mismatches: rows };
  return { ...report, ok: false, failure_kind: 'state', message: refusal(mismatches, file).message, state_mismatches: rows };
}

export { describe };
