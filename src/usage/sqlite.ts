import type { Database, Statement } from 'better-sqlite3';
import type { UsageConfig } from './config.js';
import { isRowChanged, type RowWrite, type StagedWrite } from '../engine/ledger.js';
import { RowWriter } from '../ledger/row-writes.js';
import type { StateReadGuard } from './state-read-guard.js';
import {
  historyKey,
  scopeKeys,
  settlementOf,
  usageKey,
  type ChargeRow,
  type History,
  type RequestRow,
  type Scope,
  type ScopeUsage,
  type Settlement,
  type SettlementRecorder,
  type SettleResult,
  type StagedUsage,
  type UsageRead,
  type UsageStore,
} from './store.js';
import { KeyVersions, type KeySnapshot } from './versions.js';
import { scopeUsage } from './totals.js';
import { LiveReservations } from './live-reservations.js';
import { RequestHistory } from './request-history.js';
import { createBucketTables, UsageBuckets, type BucketKeys, type WindowSums } from './buckets.js';
import { windowStarts, type WindowStarts } from './windows.js';
import { chargeColumnDdl, chargeColumns, chargeParams, chargeRowOf, insertChargeSql } from './charge-columns.js';
import { addColumns, migrateFile, type FileSchema } from '../lib/sqlite-schema.js';

const DDL = `
CREATE TABLE IF NOT EXISTS usage_charges (
${chargeColumns('embedded')
  .map((c) => `  ${chargeColumnDdl(c, 'embedded')}`)
  .join(',\n')}
);
CREATE INDEX IF NOT EXISTS usage_reserved ON usage_charges(expires_ms) WHERE state = 'reserved';
CREATE TABLE IF NOT EXISTS usage_requests (
  decision_id TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  tool TEXT NOT NULL,
  decision TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_requests_subject ON usage_requests(subject, at_ms);
CREATE INDEX IF NOT EXISTS usage_requests_time ON usage_requests(at_ms);
`;

const HOUR = 3_600_000;

/**
 * Usage state in SQLite, in the ledger's database file: one `--ledger` setting
 * points a server at all of its state. Each decision has one charge row
 * (reserved, then settled by its report — idempotent by primary key). Settled
 * usage is also added to pre-totalled daily and per-minute buckets, so a
 * window read costs the same with a month of history as with none; a key's
 * settled totals are read once and kept until a report settles against the
 * key or the windows move on. Live reservations are few (they expire) and are
 * kept in memory (live-reservations.ts), read once at the start from a partial
 * index; each subject's recent request history is kept too (request-history.ts).
 *
 * A decision's rows are staged first: counted by every later read at once,
 * written by the ledger inside the transaction that records the decision, and
 * dropped from the stage when that transaction ends either way.
 */
export class SqliteUsageStore implements UsageStore {
  readonly config: UsageConfig;
  private readonly live: LiveReservations;
  private readonly requests: RequestHistory;
  /** Settled totals per scope key, for the bucket keys they were read at. */
  private readonly settledCache = new Map<string, { keys: BucketKeys; rows: WindowSums[] }>();
  private readonly chargeRow: Statement;
  /** Writes rows where no entry records them (`release` without the ledger: tests and tools). */
  private readonly rows: RowWriter;
  private readonly buckets: UsageBuckets;
  private requestsSincePrune = 0;
  private readonly versions = new KeyVersions();
  private readonly staged = new Map<string, StagedUsage>();
  private lastWindows: { nowMs: number; starts: WindowStarts; keys: BucketKeys } | undefined;

  /** Called before each read of a table (state/guard.ts): an edit by another process is checked against the chain first. */
  private readonly guard: StateReadGuard | undefined;

  /**
   * `startedAtMs`: when the server starts the store (its clock). Reservations that expired more than
   * EXPIRED_GRACE_MS before it are not read into memory: no read at or after the start counts them
   * (the grace covers a clock set back a little). Undefined: every reserved row is read.
   */
  constructor(db: Database, config: UsageConfig, guard?: StateReadGuard, startedAtMs?: number) {
    this.config = config;
    this.guard = guard;
    createUsageTables(db);
    this.buckets = new UsageBuckets(db, config);
    this.live = new LiveReservations(db, startedAtMs === undefined ? undefined : startedAtMs - EXPIRED_GRACE_MS);
    this.requests = new RequestHistory(db, undefined, guard);
    this.chargeRow = db.prepare('SELECT * FROM usage_charges WHERE decision_id = ?');
    this.rows = new RowWriter(db);
  }

  async usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage> {
    const { starts, keys } = this.windowsAt(nowMs);
    return scopeUsage(this.settled(scope, key, keys), this.live.sums(scope, key, nowMs, starts, excluding));
  }

  /** A key's settled totals at these bucket keys: read once, then kept until a settlement on the key or new windows. */
  private settled(scope: Scope, key: string, keys: BucketKeys): WindowSums[] {
    const k = usageKey(scope, key);
    const cached = this.settledCache.get(k);
    if (cached && sameBuckets(cached.keys, keys)) return cached.rows;
    this.guard?.check();
    const rows = this.buckets.settled(scope, key, keys);
    if (this.settledCache.size >= MAX_CACHED_KEYS) this.settledCache.clear();
    this.settledCache.set(k, { keys, rows });
    return rows;
  }

  /** Window bounds for an instant, computed once for the three scopes a decision reads (time-zone math is not free). */
  private windowsAt(nowMs: number): { starts: WindowStarts; keys: BucketKeys } {
    if (this.lastWindows?.nowMs !== nowMs) {
      const starts = windowStarts(new Date(nowMs), this.config.timeZone, this.config.rollingMinutes);
      // Day, week and month keys change with the local day; only the rolling key moves within it.
      const previous = this.lastWindows;
      const keys =
        previous && previous.starts.day === starts.day
          ? { ...previous.keys, rolling: Math.floor(starts.rolling / 60_000) }
          : this.buckets.keysAt(starts, nowMs);
      this.lastWindows = { nowMs, starts, keys };
    }
    return this.lastWindows;
  }

  async history(subject: string, nowMs: number): Promise<History> {
    return this.requests.read(subject, nowMs, stagedRequests(this.staged.values()));
  }

  /** Lock-free: the versions of the keys are noted now, and staging checks none has moved since. */
  async read(keys: string[]): Promise<UsageRead> {
    // Versions first: a write landing between this and the reads makes the snapshot stale, never wrongly current.
    const snapshot = this.snapshot(keys);
    return {
      usage: (scope, key, nowMs, excluding) => this.usage(scope, key, nowMs, excluding),
      history: (subject, nowMs) => this.history(subject, nowMs),
      stage: (rows) => (this.isCurrent(snapshot) ? this.stage(rows) : undefined),
      end: () => undefined,
    };
  }

  /** The current versions of these usage keys (see usageKey, historyKey). */
  snapshot(keys: string[]): KeySnapshot {
    return this.versions.snapshot(keys);
  }

  /** True when no key of the snapshot has moved since it was taken. */
  isCurrent(snapshot: KeySnapshot): boolean {
    return this.versions.isCurrent(snapshot);
  }

  /** Stages a decision's rows: counted by reads from now on, written in the ledger's transaction. */
  stage(rows: StagedUsage): StagedWrite {
    // Approvals shared by replicas live beside shared usage: never with this store (runtime.ts pairs them).
    if (rows.approval) throw new Error('a shared approval change reached the embedded usage store');
    const id = rows.request.decisionId;
    this.staged.set(id, rows);
    const { reservation } = rows;
    if (reservation) this.live.add(reservation);
    this.versions.bump(keysTouched(rows));
    const r = rows.request;
    // The request's row first: its result says whether it was new (a retry's is there already).
    const writes: RowWrite[] = [{ sql: INSERT_REQUEST, params: [r.decisionId, r.subject, r.tool, r.decision, r.atMs] }];
    if (reservation) writes.push({ sql: INSERT_CHARGE, params: chargeParams({ ...reservation, state: 'reserved' }) });
    // History only looks back an hour; prune now and then rather than on every request (again with the next
    // one until a prune commits: an entry given up takes its prune with it).
    const pruning = ++this.requestsSincePrune >= 1000;
    if (pruning) writes.push({ sql: PRUNE_REQUESTS, params: [r.atMs - 2 * HOUR] }, this.buckets.pruning(r.atMs - 2 * this.config.rollingMinutes * 60_000));
    return {
      writes,
      finish: (committed, results) => {
        this.staged.delete(id);
        if (pruning && committed) this.requestsSincePrune = 0;
        if (committed && results[0]?.changes === 1) this.requests.add(r);
        if (reservation && !committed) {
          this.live.remove(reservation);
          this.versions.bump(scopeKeys(reservation));
        }
      },
    };
  }

  async charge(decisionId: string): Promise<ChargeRow | undefined> {
    return this.chargeNow(decisionId);
  }

  private chargeNow(decisionId: string): ChargeRow | undefined {
    this.guard?.check();
    const row = this.chargeRow.get(decisionId) as Record<string, unknown> | undefined;
    return row ? chargeRowOf(row) : undefined;
  }

  async release(decisionId: string): Promise<void> {
    const release = this.stagedRelease(decisionId);
    release.finish(true, this.rows.run(release.writes));
  }

  stagedRelease(decisionId: string): StagedWrite {
    return {
      // In the transaction: a report that settled it meanwhile leaves nothing to release (no row returned).
      writes: [{ sql: RELEASE_CHARGE, params: [decisionId] }],
      finish: (committed, results) => {
        if (!committed) return;
        const row = results[0]?.rows[0];
        if (!row) return;
        const released = chargeRowOf(row);
        this.live.remove(released);
        this.versions.bump(scopeKeys(released));
      },
    };
  }

  /**
   * The charge is checked, then its settlement is staged into the entry that records it: the row and
   * the buckets are written in that entry's transaction. A report that settled (or a release that
   * dropped) the charge meanwhile makes the staged write fail alone; the charge is checked again.
   */
  async settle(s: Settlement, record: SettlementRecorder): Promise<SettleResult> {
    for (let attempt = 1; ; attempt++) {
      const existing = this.chargeNow(s.decisionId);
      const result = settlementOf(existing, s);
      if (result.kind !== 'settled' || !existing) return result;
      try {
        await record(existing, this.stagedSettlement(s, existing));
        return result;
      } catch (err) {
        // The charge changed between its check and the transaction (RowChanged): checked again.
        if (!(isRowChanged(err) && attempt < 3)) throw err;
      }
    }
  }

  private stagedSettlement(s: Settlement, existing: ChargeRow): StagedWrite {
    const tokens = s.inputTokens + s.outputTokens;
    const settle = {
      decisionId: s.decisionId,
      tokens,
      costMicros: s.costMicros,
      inputTokens: s.inputTokens,
      outputTokens: s.outputTokens,
      model: s.model,
      tier: s.tier,
    };
    return {
      // The charge must still be reserved: one row changed, or the settlement fails and is checked again.
      writes: [{ sql: SETTLE_CHARGE, params: settle, changes: 1 }, ...this.buckets.additions({ ...existing, tier: s.tier, tokens, costMicros: s.costMicros })],
      // Committed: memory follows the table, keyed by the charge's own attribution.
      finish: (committed) => {
        if (!committed) return;
        this.live.remove(existing);
        for (const k of scopeKeys(existing)) this.settledCache.delete(k);
        this.versions.bump(scopeKeys(existing));
      },
    };
  }
}

const INSERT_REQUEST = 'INSERT OR IGNORE INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES (?, ?, ?, ?, ?)';
const INSERT_CHARGE = insertChargeSql();
const PRUNE_REQUESTS = 'DELETE FROM usage_requests WHERE at_ms < ?';
const RELEASE_CHARGE = `DELETE FROM usage_charges WHERE decision_id = ? AND state = 'reserved' RETURNING *`;
const SETTLE_CHARGE = `UPDATE usage_charges SET state = 'settled', tokens = @tokens, cost_micros = @costMicros,
  input_tokens = @inputTokens, output_tokens = @outputTokens, model = @model, tier = @tier, expires_ms = NULL
  WHERE decision_id = @decisionId AND state = 'reserved'`;

const MAX_CACHED_KEYS = 100_000;

/**
 * How long before the store's start a reservation may have expired and still be read into memory. A
 * caller that never reports leaves its reservations reserved in the table for good; reading them all
 * would hold every one ever made until its keys are read again.
 */
export const EXPIRED_GRACE_MS = 10 * 60_000;

/**
 * The rolling window's first minute says whether the keys moved: the others (day, week, month, lower,
 * today) are all the local day's, and the day cannot change without the minute changing.
 */
function sameBuckets(a: BucketKeys, b: BucketKeys): boolean {
  return a.rolling === b.rolling;
}

/**
 * The embedded usage tables' schema steps (lib/sqlite-schema.ts: PRAGMA user_version, slot 1). A
 * new column of usage_charges is one entry in charge-columns.ts and one step here that adds it.
 */
export const USAGE_SCHEMA: FileSchema = {
  owner: 'usage',
  slot: 1,
  steps: [
    {
      version: 1,
      what: 'a file from before schema versions: the report limits and who asked (empty for old rows: their reports skip the token checks)',
      up: (db) =>
        addColumns(db, 'usage_charges', [
          ['max_output_tokens', 'INTEGER'],
          ['estimated_input_tokens', 'INTEGER'],
          ['caller', 'TEXT'],
          ['asked_model', 'TEXT'],
        ]),
    },
    {
      version: 2,
      what: 'reserved charges indexed once, not by subject, team and cost center: the store reads them at its start',
      up: (db) => {
        for (const scope of ['subject', 'team', 'cost_center']) db.exec(`DROP INDEX IF EXISTS usage_reserved_${scope}`);
      },
    },
  ],
};

/**
 * Brings the usage tables of an existing file up to date, then creates those missing at their
 * current shape: at the store's start, and in a rebuild from the chain after they were dropped (state/rebuild.ts).
 */
export function createUsageTables(db: Database): void {
  migrateFile(db, USAGE_SCHEMA);
  db.exec(DDL);
  createBucketTables(db);
}

function* stagedRequests(staged: Iterable<StagedUsage>): Iterable<RequestRow> {
  for (const rows of staged) yield rows.request;
}

/** The usage keys whose reads a decision's rows change: its subject's history, and its budgets if it reserves. */
function keysTouched(rows: StagedUsage): string[] {
  const keys = [historyKey(rows.request.subject)];
  if (rows.reservation) keys.push(...scopeKeys(rows.reservation));
  return keys;
}
