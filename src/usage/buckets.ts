import type { Database, Statement } from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';
import type { RowWrite } from '../engine/ledger.js';
import type { UsageConfig } from './config.js';
import { scopesOf, type Scope } from './store.js';
import { localDay, type WindowStarts } from './windows.js';

/**
 * Settled usage, pre-totalled so that a decision reads a bounded number of rows
 * however much history there is: one row per (scope, key, tier, local day) for
 * the calendar windows — a month is at most 31 rows — and one per minute for
 * the rolling window (kept for a few rolling windows, then pruned).
 * Days are local dates in the configured time zone, recorded in usage_meta. A start in another
 * zone is refused while there is usage (its days, and so its budgets, would shift), unless
 * `rebuildTimeZone` asks for the daily rows to be rebuilt from the settled charges in the new zone.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS usage_daily (
  scope TEXT NOT NULL, key TEXT NOT NULL, tier TEXT NOT NULL, day TEXT NOT NULL,
  tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
  PRIMARY KEY (scope, key, day, tier)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_minute (
  scope TEXT NOT NULL, key TEXT NOT NULL, tier TEXT NOT NULL, minute INTEGER NOT NULL,
  tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
  PRIMARY KEY (scope, key, minute, tier)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_minute_age ON usage_minute(minute);
CREATE TABLE IF NOT EXISTS usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** A settled charge added to a bucket row (made when missing). */
const upsert = (table: string, column: string) =>
  `INSERT INTO ${table}(scope, key, tier, ${column}, tokens, cost_micros) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, cost_micros = cost_micros + excluded.cost_micros`;
const ADD_DAILY = upsert('usage_daily', 'day');
const ADD_MINUTE = upsert('usage_minute', 'minute');
const PRUNE_MINUTES = 'DELETE FROM usage_minute WHERE minute < ?';

/** Creates the bucket tables where missing (a rebuild from the chain after they were dropped: state/rebuild.ts). */
export function createBucketTables(db: Database): void {
  db.exec(DDL);
}

/** Tokens and micro-unit cost per window for one tier (settled buckets or live reservations). */
export interface WindowSums {
  tier: string;
  day_tokens: number;
  day_cost: number;
  week_tokens: number;
  week_cost: number;
  month_tokens: number;
  month_cost: number;
  rolling_tokens: number;
  rolling_cost: number;
}

/** Local-date keys of the calendar windows and the first minute of the rolling one. */
export interface BucketKeys {
  day: string;
  week: string;
  month: string;
  lower: string;
  today: string;
  rolling: number;
}

export interface BucketCharge {
  subject: string;
  team: string;
  costCenter: string;
  tier: string;
  atMs: number;
  tokens: number;
  costMicros: number;
}

/** The bucket keys of one instant's windows in a time zone (any store's buckets are keyed so). */
export function bucketKeysAt(starts: WindowStarts, nowMs: number, timeZone: string): BucketKeys {
  const day = localDay(starts.day, timeZone);
  const week = localDay(starts.week, timeZone);
  const month = localDay(starts.month, timeZone);
  return { day, week, month, lower: week < month ? week : month, today: localDay(nowMs, timeZone), rolling: Math.floor(starts.rolling / 60_000) };
}

export class UsageBuckets {
  private readonly db: Database;
  private readonly timeZone: string;
  private readonly rebuildTimeZone: boolean;
  private readonly addDaily: Statement;
  private readonly read: Statement;

  constructor(db: Database, config: Pick<UsageConfig, 'timeZone' | 'rebuildTimeZone'>) {
    this.db = db;
    this.timeZone = config.timeZone;
    this.rebuildTimeZone = config.rebuildTimeZone;
    db.exec(DDL);
    this.addDaily = db.prepare(ADD_DAILY);
    // Daily rows for day/week/month, minute rows for the rolling window, in one pass per scope key.
    this.read = db.prepare(`
      SELECT tier,
        SUM(CASE WHEN day >= @day THEN tokens ELSE 0 END) AS day_tokens, SUM(CASE WHEN day >= @day THEN cost_micros ELSE 0 END) AS day_cost,
        SUM(CASE WHEN day >= @week THEN tokens ELSE 0 END) AS week_tokens, SUM(CASE WHEN day >= @week THEN cost_micros ELSE 0 END) AS week_cost,
        SUM(CASE WHEN day >= @month THEN tokens ELSE 0 END) AS month_tokens, SUM(CASE WHEN day >= @month THEN cost_micros ELSE 0 END) AS month_cost,
        0 AS rolling_tokens, 0 AS rolling_cost
      FROM usage_daily WHERE scope = @scope AND key = @key AND day >= @lower AND day <= @today GROUP BY tier
      UNION ALL
      SELECT tier, 0, 0, 0, 0, 0, 0, SUM(tokens), SUM(cost_micros)
      FROM usage_minute WHERE scope = @scope AND key = @key AND minute >= @rolling GROUP BY tier`);
    this.rebuildIfZoneChanged();
  }

  /** The rows that add a settled charge to every scope it touches (written in its entry's transaction). */
  additions(c: BucketCharge): RowWrite[] {
    const day = localDay(c.atMs, this.timeZone);
    const minute = Math.floor(c.atMs / 60_000);
    return scopesOf(c).flatMap(([scope, key]) => [
      { sql: ADD_DAILY, params: [scope, key, c.tier, day, c.tokens, c.costMicros] },
      { sql: ADD_MINUTE, params: [scope, key, c.tier, minute, c.tokens, c.costMicros] },
    ]);
  }

  /** The bucket keys of one instant's windows; the same for every scope a decision reads. */
  keysAt(starts: WindowStarts, nowMs: number): BucketKeys {
    return bucketKeysAt(starts, nowMs, this.timeZone);
  }

  /** Settled totals per tier in the windows `keys` names. */
  settled(scope: Scope, key: string, keys: BucketKeys): WindowSums[] {
    return this.read.all({ scope, key, ...keys }) as WindowSums[];
  }

  /** The row write that drops minute buckets before this instant (the rolling window looks back no further). */
  pruning(beforeMs: number): RowWrite {
    return { sql: PRUNE_MINUTES, params: [Math.floor(beforeMs / 60_000)] };
  }

  private rebuildIfZoneChanged(): void {
    const row = this.db.prepare(`SELECT value FROM usage_meta WHERE key = 'time_zone'`).get() as { value: string } | undefined;
    if (row?.value === this.timeZone) return;
    const bucketed = row !== undefined && this.hasUsage();
    if (bucketed && !this.rebuildTimeZone) {
      throw new GavelError(
        'config_invalid',
        `the usage state in ${this.db.name} keeps its days in time zone ${row.value}, and this start is configured for ${this.timeZone}: ` +
          `start with --time-zone ${row.value}, or add --rebuild-usage-time-zone to re-bucket its daily usage in ${this.timeZone} on purpose ` +
          '(days, and so day, week and month budgets, move with the zone)',
      );
    }
    this.db.transaction(() => {
      if (bucketed) {
        this.db.exec('DELETE FROM usage_daily');
        const settled = this.db.prepare(`SELECT subject, team, cost_center AS costCenter, tier, at_ms AS atMs, tokens, cost_micros AS costMicros
          FROM usage_charges WHERE state = 'settled'`);
        // all(), not iterate(): the connection cannot write while a read statement is open.
        for (const c of settled.all() as BucketCharge[]) {
          for (const [scope, key] of scopesOf(c)) this.addDaily.run(scope, key, c.tier, localDay(c.atMs, this.timeZone), c.tokens, c.costMicros);
        }
      }
      this.db.prepare(`INSERT OR REPLACE INTO usage_meta(key, value) VALUES ('time_zone', ?)`).run(this.timeZone);
    })();
  }

  /** Whether any usage was bucketed by day (a settled charge, a daily row). */
  private hasUsage(): boolean {
    const found = this.db
      .prepare(`SELECT EXISTS (SELECT 1 FROM usage_daily) OR EXISTS (SELECT 1 FROM usage_charges WHERE state = 'settled') AS found`)
      .get() as { found: number };
    return found.found === 1;
  }
}
