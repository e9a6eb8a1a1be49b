import type { Database } from 'better-sqlite3';
import { replaceApprovals } from '../ledger/approval-table.js';
import { chargeParams, insertChargeSql } from '../usage/charge-columns.js';
import { createUsageTables } from '../usage/sqlite.js';
import { expectedBuckets } from './compare.js';
import { hasTable, REQUEST_HORIZON_MS } from './tables.js';
import type { DerivedState } from './derive.js';

/**
 * Rewrites the approval and usage tables as the chain adds them up, in the
 * caller's transaction (the ledger's, with the entry that records the rebuild).
 * Request rows older than two hours are left out: history only looks back an hour.
 * A table that was dropped is made again when the chain has rows for it.
 */
export function rebuildTables(db: Database, derived: DerivedState, usage: { timeZone: string } | undefined): void {
  if (hasTable(db, 'approvals') || derived.approvals.size > 0) replaceApprovals(db, derived.approvals.values());
  if (!usage || !(hasTable(db, 'usage_charges') || derived.recordsUsage)) return;
  createUsageTables(db);
  db.prepare('DELETE FROM usage_charges').run();
  const charge = db.prepare(insertChargeSql());
  for (const c of derived.charges.values()) charge.run(chargeParams(c));
  db.prepare('DELETE FROM usage_requests').run();
  const request = db.prepare('INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES (@decisionId, @subject, @tool, @decision, @atMs)');
  for (const r of derived.requests.values()) if (r.atMs >= derived.latestMs - REQUEST_HORIZON_MS) request.run(r);
  const expected = expectedBuckets(derived.charges.values(), usage.timeZone);
  for (const [table, column, sums] of [
    ['usage_daily', 'day', expected.daily],
    ['usage_minute', 'minute', expected.minute],
  ] as const) {
    db.prepare(`DELETE FROM ${table}`).run();
    const insert = db.prepare(
      `INSERT INTO ${table}(scope, key, tier, ${column}, tokens, cost_micros) VALUES (@scope, @key, @tier, @at, @tokens, @cost_micros)`,
    );
    for (const row of sums.values()) insert.run(row);
  }
}
