import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { RowWriter } from '../../src/ledger/row-writes.js';
import { isJsonObject } from '../../src/lib/json.js';
import type { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { Reservation } from '../../src/usage/store.js';
import { windowStarts } from '../../src/usage/windows.js';
import type { Workload } from './workload.js';

/**
 * Fills the usage store with `count` settled model calls made earlier this
 * month by the workload's own subjects, teams and cost center, as a server
 * that has been running for a while would hold. Used to show how metering
 * cost grows with the history a budget window covers; each row is one
 * standard-m call of the size the workload makes (~530 tokens), so no budget
 * comes near its limit and every decision stays "allow".
 */
export async function seedSettledCharges(db: Database.Database, store: SqliteUsageStore, workload: Workload, count: number, now = new Date()): Promise<void> {
  const monthStart = windowStarts(now, store.config.timeZone, store.config.rollingMinutes).month;
  const span = Math.max(1, now.getTime() - 60_000 - monthStart);
  for (let i = 0; i < count; i++) {
    const subject = workload.inputs[i % workload.inputs.length]?.subject;
    if (!isJsonObject(subject)) throw new Error('workload input without subject');
    const who = { subject: String(subject.id), team: String(subject.team), costCenter: String(subject.cost_center) };
    const atMs = monthStart + Math.floor((i / count) * span);
    const decisionId = randomUUID();
    const call = { ...who, decisionId, model: 'standard-m', tier: 'standard' };
    reserveNow(db, store, {
      ...call,
      tokens: 527,
      costMicros: 9_200,
      atMs,
      expiresMs: atMs + 600_000,
      maxOutputTokens: null,
      estimatedInputTokens: 0,
      caller: 'bench',
      askedModel: 'standard-m',
    });
    // Seeded state, not a served report: written straight through, with no entry.
    await store.settle({ ...call, inputTokens: 15, outputTokens: 512, costMicros: 7_725, atMs: atMs + 5_000 }, async (_c, staged) => {
      staged.finish(true, new RowWriter(db).run(staged.writes));
    });
  }
}

/** Writes a reservation the way the ledger does for a decision: staged, applied, finished. */
function reserveNow(db: Database.Database, store: SqliteUsageStore, r: Reservation): void {
  const staged = store.stage({ request: { decisionId: r.decisionId, subject: r.subject, tool: '', decision: 'allow', atMs: r.atMs }, reservation: r });
  staged.finish(true, new RowWriter(db).run(staged.writes));
}

/**
 * Fills the store with `count` committed requests by `subject`, spread evenly
 * over the hour before `now`, as an agent calling at that rate would leave
 * (the history the policy sees: requests and tool calls in the last minute,
 * denials in the last hour). Requests only, no charges: budgets are untouched.
 */
export function seedRequests(db: Database.Database, store: SqliteUsageStore, subject: string, count: number, now = Date.now()): void {
  const writer = new RowWriter(db);
  for (let i = 0; i < count; i++) {
    const atMs = now - 3_600_000 + Math.floor((i / count) * 3_600_000);
    const staged = store.stage({ request: { decisionId: randomUUID(), subject, tool: '', decision: i % 20 ? 'allow' : 'deny', atMs } });
    staged.finish(true, writer.run(staged.writes));
  }
}
