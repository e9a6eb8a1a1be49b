import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { commitStaged, storeReservation, withoutEntry } from './helpers.js';

/**
 * The embedded store keeps its days in one time zone, as the shared store does: a start in
 * another zone with usage already bucketed is refused, naming both zones and the way out,
 * and re-buckets only when asked to.
 */
const who = { subject: 's1', team: 't1', costCenter: 'c1' };
/** Friday 19:00 in Los Angeles, Saturday 03:00 in UTC. */
const LATE_FRIDAY = Date.parse('2026-11-21T03:00:00Z');
const SATURDAY_NOON_UTC = Date.parse('2026-11-21T12:00:00Z');

async function settledCharge({ db, store }: { db: Database.Database; store: SqliteUsageStore }, id: string, atMs: number, tokens: number): Promise<void> {
  const r = storeReservation(id, atMs, who, { tokens, costMicros: 0 });
  commitStaged(db, store.stage({ request: { decisionId: id, subject: who.subject, tool: '', decision: 'allow', atMs }, reservation: r }));
  const settle = { ...who, decisionId: id, model: r.model, tier: r.tier, inputTokens: 0, outputTokens: tokens, costMicros: 0, atMs };
  // Written straight through, as with no ledger entry (a served report is recorded: usage/report.ts).
  const result = await store.settle(settle, withoutEntry(db));
  expect(result.kind).toBe('settled');
}

function openAt(file: string, config: Parameters<typeof usageConfig>[0]): { db: Database.Database; store: SqliteUsageStore } {
  const db = new Database(file);
  try {
    return { db, store: new SqliteUsageStore(db, usageConfig(config)) };
  } catch (err) {
    db.close();
    throw err;
  }
}

describe('the embedded usage store and its time zone', () => {
  it('refuses to start in another zone once usage is bucketed, naming both zones and --rebuild-usage-time-zone', async () => {
    const file = join(tempDir(), 'usage.db');
    const first = openAt(file, { timeZone: 'America/Los_Angeles' });
    await settledCharge(first, 'late', LATE_FRIDAY, 70);
    first.db.close();

    let refused: unknown;
    try {
      openAt(file, { timeZone: 'UTC' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(GavelError);
    expect(refused).toMatchObject({ code: 'config_invalid' });
    expect((refused as Error).message).toContain(`the usage state in ${file} keeps its days in time zone America/Los_Angeles`);
    expect((refused as Error).message).toContain('configured for UTC: start with --time-zone America/Los_Angeles, or add --rebuild-usage-time-zone');
    expect((refused as Error).message).toContain('on purpose (days, and so day, week and month budgets, move with the zone)');

    // Refused means untouched: the original zone still finds the charge on Friday.
    const again = openAt(file, { timeZone: 'America/Los_Angeles' });
    expect((await again.store.usage('subject', 's1', SATURDAY_NOON_UTC)).day.used_tokens).toBe(0);
    expect((await again.store.usage('subject', 's1', SATURDAY_NOON_UTC)).week.used_tokens).toBe(70);
    again.db.close();
    const meta = new Database(file, { readonly: true });
    expect(meta.prepare(`SELECT value FROM usage_meta WHERE key = 'time_zone'`).get()).toEqual({ value: 'America/Los_Angeles' });
    meta.close();
  });

  it('re-buckets in the new zone when asked to, and then starts in it without being asked again', async () => {
    const file = join(tempDir(), 'usage.db');
    const first = openAt(file, { timeZone: 'America/Los_Angeles' });
    await settledCharge(first, 'late', LATE_FRIDAY, 70);
    first.db.close();
    const rebuilt = openAt(file, { timeZone: 'UTC', rebuildTimeZone: true });
    // Saturday in UTC: today's usage now.
    expect((await rebuilt.store.usage('subject', 's1', SATURDAY_NOON_UTC)).day.used_tokens).toBe(70);
    rebuilt.db.close();
    const later = openAt(file, { timeZone: 'UTC' });
    expect((await later.store.usage('subject', 's1', SATURDAY_NOON_UTC)).day.used_tokens).toBe(70);
    later.db.close();
  });

  it('a store with nothing bucketed yet (only a live reservation) takes the new zone without a flag', async () => {
    const file = join(tempDir(), 'usage.db');
    const first = openAt(file, { timeZone: 'America/Los_Angeles' });
    const staged = first.store.stage({
      request: { decisionId: 'live', subject: who.subject, tool: '', decision: 'allow', atMs: LATE_FRIDAY },
      reservation: storeReservation('live', LATE_FRIDAY, who),
    });
    commitStaged(first.db, staged);
    first.db.close();
    const utc = openAt(file, { timeZone: 'UTC' });
    utc.db.close();
    // Recorded: a later start in the old zone is now the change.
    const meta = new Database(file, { readonly: true });
    expect(meta.prepare(`SELECT value FROM usage_meta WHERE key = 'time_zone'`).get()).toEqual({ value: 'UTC' });
    meta.close();
  });

  it('usage.rebuildTimeZone must be a boolean', () => {
    expect(() => usageConfig({ rebuildTimeZone: 'yes' as unknown as boolean })).toThrow(/usage\.rebuildTimeZone must be true or false/);
  });

  it('a file whose usage predates the zone row takes the configured zone as it is, without re-bucketing', async () => {
    const file = join(tempDir(), 'usage.db');
    const first = openAt(file, { timeZone: 'America/Los_Angeles' });
    await settledCharge(first, 'late', LATE_FRIDAY, 70);
    first.db.prepare(`DELETE FROM usage_meta WHERE key = 'time_zone'`).run();
    first.db.close();
    const later = openAt(file, { timeZone: 'UTC' });
    // Still on Friday's bucket, as written: not re-bucketed into UTC's Saturday.
    expect((await later.store.usage('subject', 's1', SATURDAY_NOON_UTC)).day.used_tokens).toBe(0);
    expect((await later.store.usage('subject', 's1', SATURDAY_NOON_UTC)).week.used_tokens).toBe(70);
    expect(later.db.prepare(`SELECT value FROM usage_meta WHERE key = 'time_zone'`).get()).toEqual({ value: 'UTC' });
    later.db.close();
  });

  it('a week that began last month counts its days from last month, and the month does not', async () => {
    const store = openAt(join(tempDir(), 'usage.db'), { timeZone: 'UTC' });
    // Monday 30 November 2026 starts the ISO week of Wednesday 2 December.
    await settledCharge(store, 'monday', Date.parse('2026-11-30T10:00:00Z'), 40);
    await settledCharge(store, 'tuesday', Date.parse('2026-12-01T10:00:00Z'), 2);
    const usage = await store.store.usage('subject', 's1', Date.parse('2026-12-02T12:00:00Z'));
    expect(usage.week.used_tokens).toBe(42);
    expect(usage.month.used_tokens).toBe(2);
    expect(usage.day.used_tokens).toBe(0);
    store.db.close();
  });
});
