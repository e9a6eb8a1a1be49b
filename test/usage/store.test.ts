import { commitStaged, withoutEntry } from './helpers.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { Reservation } from '../../src/usage/store.js';
import { tempDir } from '../helpers/paths.js';

/** The usage store alone: reservations, settlement into buckets, time-zone rebuilds, bounded reads. */
const who = { subject: 's1', team: 't1', costCenter: 'c1' };

async function charge(db: Database.Database, store: SqliteUsageStore, id: string, atIso: string, tokens: number, costMicros: number): Promise<void> {
  const atMs = Date.parse(atIso);
  reserveNow(db, store, {
    ...who,
    decisionId: id,
    model: 'standard-m',
    tier: 'standard',
    tokens,
    costMicros,
    atMs,
    expiresMs: atMs + 600_000,
    maxOutputTokens: null,
    estimatedInputTokens: 0,
    caller: 'gateway',
    askedModel: 'standard-m',
  });
  const result = await store.settle(
    { ...who, decisionId: id, model: 'standard-m', tier: 'standard', inputTokens: 0, outputTokens: tokens, costMicros, atMs },
    withoutEntry(db),
  );
  expect(result.kind).toBe('settled');
}

describe('SqliteUsageStore', () => {
  it('settled usage lands in every scope and window; reservations count until settled', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, usageConfig());
    await charge(db, store, 'd1', '2026-11-20T10:00:00Z', 100, 1_000_000);
    reserveNow(db, store, {
      ...who,
      decisionId: 'd2',
      model: 'frontier-xl',
      tier: 'premium',
      tokens: 50,
      costMicros: 500_000,
      atMs: Date.parse('2026-11-20T10:30:00Z'),
      expiresMs: Date.parse('2026-11-20T10:40:00Z'),
      maxOutputTokens: null,
      estimatedInputTokens: 0,
      caller: 'gateway',
      askedModel: 'frontier-xl',
    });
    const now = Date.parse('2026-11-20T10:35:00Z');
    for (const scope of ['subject', 'team', 'cost_center'] as const) {
      const u = await store.usage(scope, scope === 'subject' ? 's1' : scope === 'team' ? 't1' : 'c1', now);
      expect(u.day).toEqual({ tokens: 150, cost: 1.5, used_tokens: 100, reserved_tokens: 50, used_cost: 1, reserved_cost: 0.5 });
      expect(u.by_tier.premium!.day.reserved_tokens).toBe(50);
      expect(u.by_tier.standard!.month.used_tokens).toBe(100);
    }
    // After the TTL the reservation no longer counts; the settled usage still does.
    expect((await store.usage('subject', 's1', Date.parse('2026-11-20T10:41:00Z'))).day).toMatchObject({ tokens: 100, reserved_tokens: 0 });
  });

  it('days follow the configured time zone, and changing the zone on purpose rebuilds the daily totals', async () => {
    const file = join(tempDir(), 'usage.db');
    let db = new Database(file);
    const utc = new SqliteUsageStore(db, usageConfig({ timeZone: 'UTC' }));
    await charge(db, utc, 'late', '2026-11-21T03:00:00Z', 70, 0); // Friday 19:00 in Los Angeles, Saturday in UTC
    expect((await utc.usage('subject', 's1', Date.parse('2026-11-21T04:00:00Z'))).day.used_tokens).toBe(70);
    db.close();
    db = new Database(file);
    const la = new SqliteUsageStore(db, usageConfig({ timeZone: 'America/Los_Angeles', rebuildTimeZone: true }));
    // Saturday 10:00 in Los Angeles: the charge was made on Friday there.
    const sat = await la.usage('subject', 's1', Date.parse('2026-11-21T18:00:00Z'));
    expect(sat.day.used_tokens).toBe(0);
    expect(sat.week.used_tokens).toBe(70);
    db.close();
  });

  it('a window read touches bucket rows, not every charge: the plan uses the primary keys', () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, usageConfig());
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    expect(plan(`SELECT SUM(tokens) FROM usage_daily WHERE scope = 'team' AND key = 't' AND day >= '2026-11-01' AND day <= '2026-11-30'`)).toMatch(
      /USING PRIMARY KEY \(scope=\? AND key=\? AND day>\? AND day<\?\)/,
    );
    expect(plan(`SELECT SUM(tokens) FROM usage_minute WHERE scope = 'team' AND key = 't' AND minute >= 5`)).toMatch(
      /USING PRIMARY KEY \(scope=\? AND key=\? AND minute>\?\)/,
    );
    // The reservations, read once at the start: a range of the partial index of reserved charges (those expired long ago left out), not every charge ever made.
    expect(plan(`SELECT decision_id, team FROM usage_charges WHERE state = 'reserved' AND expires_ms >= 5`)).toBe(
      'SEARCH usage_charges USING INDEX usage_reserved (expires_ms>?)',
    );
  });
});

/** Writes a reservation the way the ledger does for a decision: staged, applied, finished. */
function reserveNow(db: Database.Database, store: SqliteUsageStore, r: Reservation): void {
  const staged = store.stage({ request: { decisionId: r.decisionId, subject: r.subject, tool: '', decision: 'allow', atMs: r.atMs }, reservation: r });
  commitStaged(db, staged);
}
