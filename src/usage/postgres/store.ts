import pg from 'pg';
import type { StagedWrite } from '../../engine/ledger.js';
import { GavelError } from '../../lib/errors.js';
import { bucketKeysAt, type WindowSums } from '../buckets.js';
import type { UsageConfig } from '../config.js';
import type { LiveReservation } from '../live-reservations.js';
import {
  scopeKeys,
  scopesOf,
  settlementOf,
  type ChargeRow,
  type History,
  type Scope,
  type ScopeUsage,
  type Settlement,
  type SettleResult,
  type StagedUsage,
  type UsageRead,
  type UsageStore,
} from '../store.js';
import { scopeUsage } from '../totals.js';
import { localDay, windowStarts } from '../windows.js';
import { redactUrl, type PostgresUsageConfig } from './config.js';
import { ProbedHealth } from './health.js';
import { migrate, type MigrationResult } from './schema.js';

const HOUR = 3_600_000;
/** Expired reservations are kept this long (a late report still settles), then pruned: they never count again. */
const EXPIRED_GRACE_MS = 24 * HOUR;

/** What a decision's read fetches once, for the keys it locked. */
interface Fetched {
  settled: Array<WindowSums & { scope: Scope; key: string }>;
  reserved: Array<LiveReservation & { excluded: boolean }>;
  history: History | undefined;
}

/**
 * Usage state shared by replicas in PostgreSQL. Exact budgets across replicas
 * come from row locks: every usage key (a scope's budget, a subject's history)
 * has a row in gavel_usage_keys, and a decision locks the rows of the keys it
 * touches (in key order, so no two transactions deadlock) before it reads, holds
 * them while its policy is evaluated, and commits its request and reservation
 * rows before its ledger entry is appended. A report locks the same rows to
 * settle, so no decision is evaluated on totals that change under it. If the
 * entry is then given up, the reservation is taken back; if this replica dies
 * first, its reservation expires, and the replica's next start deletes
 * reservations its own ledger never recorded.
 *
 * Settled usage goes into pre-totalled daily and per-minute buckets, so a read
 * costs the same with a year of history as with none.
 */
export class PostgresUsageStore implements UsageStore {
  readonly config: UsageConfig;
  readonly health: ProbedHealth;
  private readonly pool: pg.Pool;
  private readonly pg: PostgresUsageConfig;
  private ledgerId = '';
  /** Keys known to have their row (rows are never deleted). */
  private readonly known = new Set<string>();
  /**
   * Deletes that failed, retried until they succeed: the rows of a decision whose entry was given up
   * ('take back': reservation and request row), or a reservation released with another entry ('release').
   */
  private readonly pending = new Map<string, 'take back' | 'release'>();
  private readonly prune: NodeJS.Timeout;
  private readonly watched = new WeakSet<pg.PoolClient>();
  private closed = false;

  private constructor(pool: pg.Pool, pgConfig: PostgresUsageConfig, config: UsageConfig) {
    this.pool = pool;
    this.pg = pgConfig;
    this.config = config;
    this.health = new ProbedHealth(
      async () => {
        await this.pool.query('SELECT 1');
      },
      pgConfig.probeMs,
      () => void this.retryPending(),
    );
    // An idle connection that breaks is an event, not a crash.
    pool.on('error', (err) => this.failed(err));
    this.prune = setInterval(() => void this.pruneOld().catch((err) => this.failed(err)), pgConfig.pruneMs);
    this.prune.unref();
  }

  /** Connects, migrates the schema if needed and checks the time zone its buckets were kept in. */
  static async open(pgConfig: PostgresUsageConfig, config: UsageConfig): Promise<{ store: PostgresUsageStore; migration: MigrationResult }> {
    const pool = new pg.Pool(poolOptions(pgConfig));
    pool.on('error', () => undefined);
    try {
      const migration = await migrate(pool);
      await checkTimeZone(pool, config.timeZone);
      return { store: new PostgresUsageStore(pool, pgConfig, config), migration };
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof GavelError) throw err;
      throw new GavelError('usage_unavailable', `the usage store at ${redactUrl(pgConfig.url)} could not be opened: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The ledger whose decisions this replica reserves for (its reservations are reconciled against it). */
  attach(ledgerId: string): void {
    this.ledgerId = ledgerId;
  }

  /**
   * Deletes this replica's reservations that its ledger never recorded (it stopped between
   * reserving and appending). Run once at start, before any decision.
   */
  async reconcile(recorded: (decisionId: string) => boolean): Promise<number> {
    const rows = await this.pool.query<{ decision_id: string }>(`SELECT decision_id FROM gavel_usage_charges WHERE ledger_id = $1 AND state = 'reserved'`, [
      this.ledgerId,
    ]);
    const orphaned = rows.rows.map((r) => r.decision_id).filter((id) => !recorded(id));
    if (orphaned.length > 0) {
      await this.pool.query(`DELETE FROM gavel_usage_charges WHERE decision_id = ANY($1::text[]) AND state = 'reserved'`, [orphaned]);
      await this.pool.query(`DELETE FROM gavel_usage_requests WHERE decision_id = ANY($1::text[])`, [orphaned]);
    }
    return orphaned.length;
  }

  async usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage> {
    return this.guard(async () => {
      const fetched = await this.fetch(this.pool, [[scope, key]], undefined, nowMs, excluding);
      return this.scopeOf(fetched, scope, key, nowMs);
    });
  }

  async history(subject: string, nowMs: number): Promise<History> {
    return this.guard(async () => (await this.fetch(this.pool, [], subject, nowMs, undefined)).history!);
  }

  async read(keys: string[]): Promise<UsageRead> {
    this.available();
    const sorted = [...new Set(keys.map(rowKey))].sort();
    const scopes: Array<[Scope, string]> = [];
    let subject: string | undefined;
    for (const k of sorted) {
      const [kind, value] = splitKey(k);
      if (kind === 'history') subject = value;
      else scopes.push([kind, value]);
    }
    const client = await this.guard(async () => {
      await this.ensureKeys(sorted);
      return this.connect();
    });
    let open = true;
    const end = (err?: unknown) => {
      if (!open) return;
      open = false;
      if (err) {
        client.release(err as Error);
        return;
      }
      client.query('ROLLBACK').then(
        () => client.release(),
        (e: Error) => client.release(e),
      );
    };
    try {
      await this.guard(async () => {
        await client.query('BEGIN');
        const locked = await client.query('SELECT key FROM gavel_usage_keys WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE', [sorted]);
        if (locked.rowCount !== sorted.length) {
          this.known.clear();
          throw new GavelError('usage_unavailable', 'usage key rows are missing from the usage store (were its tables emptied?); failing closed');
        }
      });
    } catch (err) {
      end(err);
      throw err;
    }
    let fetched: Promise<Fetched> | undefined;
    let fetchedAt: { nowMs: number; excluding: string | undefined } | undefined;
    const fetchOnce = (nowMs: number, excluding: string | undefined) => {
      if (!fetched || fetchedAt?.nowMs !== nowMs || fetchedAt.excluding !== excluding) {
        fetchedAt = { nowMs, excluding };
        fetched = this.guard(() => this.fetch(client, scopes, subject, nowMs, excluding));
      }
      return fetched;
    };
    return {
      usage: async (scope, key, nowMs, excluding) => this.scopeOf(await fetchOnce(nowMs, excluding), scope, key, nowMs),
      history: async (who, nowMs) => {
        const f = await fetchOnce(nowMs, fetchedAt?.excluding);
        if (who !== subject || !f.history) throw new Error(`history of ${who} was not part of this read`);
        return f.history;
      },
      stage: async (rows) => {
        if (!open) throw new Error('this usage read has ended');
        try {
          await this.guard(() => this.writeRows(client, rows));
        } catch (err) {
          end(err);
          throw err;
        }
        open = false;
        client.release();
        return this.committed(rows);
      },
      end: () => end(),
    };
  }

  private async writeRows(client: pg.PoolClient, rows: StagedUsage): Promise<void> {
    const r = rows.request;
    await client.query('INSERT INTO gavel_usage_requests (decision_id, subject, tool, decision, at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
      r.decisionId,
      r.subject,
      r.tool,
      r.decision,
      r.atMs,
    ]);
    const c = rows.reservation;
    if (c) {
      await client.query(
        `INSERT INTO gavel_usage_charges (decision_id, ledger_id, caller, asked_model, subject, team, cost_center, model, tier, at_ms, state,
          tokens, cost_micros, expires_ms, max_output_tokens, estimated_input_tokens)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'reserved', $11, $12, $13, $14, $15)`,
        [
          c.decisionId,
          this.ledgerId,
          c.caller,
          c.askedModel,
          c.subject,
          c.team,
          c.costCenter,
          c.model,
          c.tier,
          c.atMs,
          c.tokens,
          c.costMicros,
          c.expiresMs,
          c.maxOutputTokens,
          c.estimatedInputTokens,
        ],
      );
    }
    await client.query('COMMIT');
  }

  /** Rows already committed: nothing to write with the entry, and taken back if the entry is given up. */
  private committed(rows: StagedUsage): StagedWrite {
    return {
      apply: () => undefined,
      finish: (recorded) => {
        if (!recorded) void this.takeBack(rows.request.decisionId);
      },
    };
  }

  private async takeBack(decisionId: string, what: 'take back' | 'release' = 'take back'): Promise<void> {
    try {
      await this.pool.query(`DELETE FROM gavel_usage_charges WHERE decision_id = $1 AND state = 'reserved'`, [decisionId]);
      if (what === 'take back') await this.pool.query('DELETE FROM gavel_usage_requests WHERE decision_id = $1', [decisionId]);
      this.pending.delete(decisionId);
    } catch (err) {
      // Kept until it goes; meanwhile it expires at its TTL like any unreported reservation.
      this.pending.set(decisionId, what);
      if (isDown(err)) this.failed(err);
    }
  }

  private async retryPending(): Promise<void> {
    for (const [id, what] of [...this.pending]) await this.takeBack(id, what);
  }

  async charge(decisionId: string): Promise<ChargeRow | undefined> {
    return this.guard(async () => {
      const res = await this.pool.query('SELECT * FROM gavel_usage_charges WHERE decision_id = $1', [decisionId]);
      return res.rows[0] ? chargeRow(res.rows[0]) : undefined;
    });
  }

  async release(decisionId: string): Promise<void> {
    await this.guard(async () => {
      await this.pool.query(`DELETE FROM gavel_usage_charges WHERE decision_id = $1 AND state = 'reserved'`, [decisionId]);
    });
  }

  /** After the entry commits: the database is not in the ledger's transaction (the reservation expires if this fails). */
  stagedRelease(decisionId: string): StagedWrite {
    return {
      apply: () => undefined,
      finish: (committed) => {
        if (committed) void this.takeBack(decisionId, 'release');
      },
    };
  }

  /** Locks the charge, then its budgets' key rows (as a decision does), so no decision reads totals mid-settlement. */
  async settle(s: Settlement): Promise<SettleResult> {
    this.available();
    const client = await this.guard(() => this.connect());
    let broken: unknown;
    try {
      return await this.guard(async () => {
        await client.query('BEGIN');
        const found = await client.query('SELECT * FROM gavel_usage_charges WHERE decision_id = $1 FOR UPDATE', [s.decisionId]);
        const existing = found.rows[0] ? chargeRow(found.rows[0]) : undefined;
        const result = settlementOf(existing, s);
        if (result.kind !== 'settled' || !existing) {
          await client.query('ROLLBACK');
          return result;
        }
        const keys = scopeKeys(existing).map(rowKey).sort();
        await client.query('SELECT key FROM gavel_usage_keys WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE', [keys]);
        const tokens = s.inputTokens + s.outputTokens;
        await client.query(
          `UPDATE gavel_usage_charges SET state = 'settled', tokens = $2, cost_micros = $3, input_tokens = $4, output_tokens = $5,
            model = $6, tier = $7, expires_ms = NULL WHERE decision_id = $1`,
          [s.decisionId, tokens, s.costMicros, s.inputTokens, s.outputTokens, s.model, s.tier],
        );
        await this.addToBuckets(client, { ...existing, tier: s.tier, tokens, costMicros: s.costMicros });
        await client.query('COMMIT');
        return result;
      });
    } catch (err) {
      broken = err;
      throw err;
    } finally {
      client.release(broken as Error | undefined);
    }
  }

  private async addToBuckets(client: pg.PoolClient, c: ChargeRow): Promise<void> {
    const day = localDay(c.atMs, this.config.timeZone);
    const minute = Math.floor(c.atMs / 60_000);
    for (const [table, column, at] of [
      ['gavel_usage_daily', 'day', day],
      ['gavel_usage_minute', 'minute', minute],
    ] as const) {
      const params: unknown[] = [];
      const values = scopesOf(c).map(([scope, key]) => {
        params.push(scope, key, c.tier, at, c.tokens, c.costMicros);
        const n = params.length;
        return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      });
      await client.query(
        `INSERT INTO ${table} (scope, key, tier, ${column}, tokens, cost_micros) VALUES ${values.join(', ')}
         ON CONFLICT (scope, key, ${column}, tier) DO UPDATE
         SET tokens = ${table}.tokens + excluded.tokens, cost_micros = ${table}.cost_micros + excluded.cost_micros`,
        params,
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.prune);
    this.health.stop();
    await this.retryPending().catch(() => undefined);
    await this.pool.end();
  }

  /** Settled buckets, live reservations and (for a subject) request history, in one round trip each. */
  private async fetch(
    q: pg.Pool | pg.PoolClient,
    scopes: Array<[Scope, string]>,
    subject: string | undefined,
    nowMs: number,
    excluding: string | undefined,
  ): Promise<Fetched> {
    const starts = windowStarts(new Date(nowMs), this.config.timeZone, this.config.rollingMinutes);
    const b = bucketKeysAt(starts, nowMs, this.config.timeZone);
    const kinds = scopes.map(([s]) => s);
    const keys = scopes.map(([, k]) => k);
    const of = (scope: Scope) => scopes.filter(([s]) => s === scope).map(([, k]) => k);
    const [settled, reserved, history] = await Promise.all([
      scopes.length === 0
        ? undefined
        : q.query(
            `WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(scope, key))
             SELECT d.scope, d.key, d.tier,
               sum(CASE WHEN day >= $3 THEN tokens ELSE 0 END) AS day_tokens, sum(CASE WHEN day >= $3 THEN cost_micros ELSE 0 END) AS day_cost,
               sum(CASE WHEN day >= $4 THEN tokens ELSE 0 END) AS week_tokens, sum(CASE WHEN day >= $4 THEN cost_micros ELSE 0 END) AS week_cost,
               sum(CASE WHEN day >= $5 THEN tokens ELSE 0 END) AS month_tokens, sum(CASE WHEN day >= $5 THEN cost_micros ELSE 0 END) AS month_cost,
               0 AS rolling_tokens, 0 AS rolling_cost
             FROM gavel_usage_daily d JOIN wanted USING (scope, key) WHERE day >= $6 AND day <= $7 GROUP BY d.scope, d.key, d.tier
             UNION ALL
             SELECT m.scope, m.key, m.tier, 0, 0, 0, 0, 0, 0, sum(tokens), sum(cost_micros)
             FROM gavel_usage_minute m JOIN wanted USING (scope, key) WHERE minute >= $8 GROUP BY m.scope, m.key, m.tier`,
            [kinds, keys, b.day, b.week, b.month, b.lower, b.today, b.rolling],
          ),
      scopes.length === 0
        ? undefined
        : q.query(
            `SELECT decision_id, subject, team, cost_center, tier, tokens, cost_micros, at_ms, expires_ms FROM gavel_usage_charges
             WHERE state = 'reserved' AND expires_ms > $1
               AND (subject = ANY($2::text[]) OR team = ANY($3::text[]) OR cost_center = ANY($4::text[]))`,
            [nowMs, of('subject'), of('team'), of('cost_center')],
          ),
      subject === undefined
        ? undefined
        : q.query(
            `SELECT count(*) FILTER (WHERE at_ms >= $2) AS requests, count(*) FILTER (WHERE decision = 'deny') AS denials,
               (SELECT coalesce(json_object_agg(tool, n), '{}') FROM
                 (SELECT tool, count(*) AS n FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $2 AND tool <> '' GROUP BY tool) t) AS tools
             FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $3`,
            [subject, nowMs - 60_000, nowMs - HOUR],
          ),
    ]);
    const h = history?.rows[0];
    return {
      settled: (settled?.rows ?? []) as Fetched['settled'],
      reserved: (reserved?.rows ?? []).map((r) => ({
        decisionId: String(r.decision_id),
        subject: String(r.subject),
        team: String(r.team),
        costCenter: String(r.cost_center),
        tier: String(r.tier),
        tokens: Number(r.tokens),
        costMicros: Number(r.cost_micros),
        atMs: Number(r.at_ms),
        expiresMs: Number(r.expires_ms),
        excluded: r.decision_id === excluding,
      })),
      history: h
        ? {
            requests_last_minute: Number(h.requests),
            denials_last_hour: Number(h.denials),
            tool_calls_last_minute: Object.fromEntries(Object.entries(h.tools as Record<string, unknown>).map(([t, n]) => [t, Number(n)])),
          }
        : undefined,
    };
  }

  private scopeOf(f: Fetched, scope: Scope, key: string, nowMs: number): ScopeUsage {
    const starts = windowStarts(new Date(nowMs), this.config.timeZone, this.config.rollingMinutes);
    const column = scope === 'cost_center' ? 'costCenter' : scope;
    const settled = f.settled.filter((r) => r.scope === scope && r.key === key);
    const live = f.reserved.filter((r) => !r.excluded && r[column] === key);
    return scopeUsage(settled, live, starts);
  }

  /** Rows for keys never seen, committed before any transaction locks them (a key row is never deleted). */
  private async ensureKeys(keys: string[]): Promise<void> {
    const missing = keys.filter((k) => !this.known.has(k));
    if (missing.length === 0) return;
    await this.pool.query('INSERT INTO gavel_usage_keys (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [missing]);
    for (const k of missing) this.known.add(k);
  }

  private async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!this.watched.has(client)) {
      this.watched.add(client);
      // A connection that breaks while checked out (mid-decision) must not crash the process.
      client.on('error', (err) => this.failed(err));
    }
    return client;
  }

  private async pruneOld(): Promise<void> {
    if (!this.health.ok) return;
    const nowMs = Date.now();
    await this.pool.query('DELETE FROM gavel_usage_requests WHERE at_ms < $1', [nowMs - 2 * HOUR]);
    await this.pool.query('DELETE FROM gavel_usage_minute WHERE minute < $1', [Math.floor((nowMs - 2 * this.config.rollingMinutes * 60_000) / 60_000)]);
    await this.pool.query(`DELETE FROM gavel_usage_charges WHERE state = 'reserved' AND expires_ms < $1`, [nowMs - EXPIRED_GRACE_MS]);
    await this.retryPending();
  }

  /** Fails closed at once while the database is known to be down (health probes it back). */
  private available(): void {
    if (this.closed) throw new GavelError('usage_unavailable', 'the usage store is closed; failing closed');
    if (!this.health.ok) throw new GavelError('usage_unavailable', `the usage store is unavailable (${this.health.reason}); failing closed`);
  }

  /** Runs a step; a database failure becomes usage_unavailable, and marks the store down when the database is gone. */
  private async guard<T>(step: () => Promise<T>): Promise<T> {
    this.available();
    try {
      return await step();
    } catch (err) {
      if (err instanceof GavelError) throw err;
      if (isDown(err)) this.failed(err);
      const what = isContention(err)
        ? 'a budget stayed locked past the deadline'
        : isDown(err)
          ? 'the usage store could not be reached in time'
          : 'the usage store refused a step';
      throw new GavelError('usage_unavailable', `${what} (${(err as Error).message}); failing closed`, { cause: err });
    }
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.health.failed(`usage store ${redactUrl(this.pg.url)}: ${(err as Error).message}`);
  }
}

function poolOptions(c: PostgresUsageConfig): pg.PoolConfig {
  return {
    connectionString: c.url,
    max: c.poolSize,
    connectionTimeoutMillis: c.timeoutMs,
    query_timeout: c.timeoutMs,
    statement_timeout: c.timeoutMs,
    lock_timeout: c.timeoutMs,
    idle_in_transaction_session_timeout: c.idleTransactionMs,
    application_name: 'gavel',
  };
}

/** All replicas must bucket days in one time zone: the first to start records it, the others must match. */
async function checkTimeZone(pool: pg.Pool, timeZone: string): Promise<void> {
  await pool.query(`INSERT INTO gavel_usage_meta (key, value) VALUES ('time_zone', $1) ON CONFLICT DO NOTHING`, [timeZone]);
  const res = await pool.query<{ value: string }>(`SELECT value FROM gavel_usage_meta WHERE key = 'time_zone'`);
  const recorded = res.rows[0]?.value;
  if (recorded !== timeZone) {
    throw new GavelError(
      'config_invalid',
      `the usage store keeps its days in time zone ${recorded}, this replica is configured for ${timeZone}: every replica must use the same --time-zone`,
    );
  }
}

/**
 * The database is gone or too slow (health goes down): a client-side failure with no SQLSTATE
 * (refused, reset, timed out), a connection exception (08), a shutdown (57P0x), a statement past
 * its deadline (57014) or exhausted resources (53). A refusal of one call's data (bad text, say)
 * is that call's failure alone: one bad request must not mark the store down for everyone.
 */
function isDown(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code === '57014' || code.startsWith('53');
}

/** Lock and serialization waits: the database is up, one budget was busy past the deadline. */
function isContention(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '55P03' || code === '40001' || code === '40P01';
}

/**
 * A usage key as a row key: PostgreSQL text holds no NUL, so the scope's separator becomes ':'
 * (still one key per scope and value: scopes are fixed names without ':').
 */
function rowKey(k: string): string {
  return k.replace('\u0000', ':');
}

function splitKey(k: string): ['history', string] | [Scope, string] {
  const at = k.indexOf(':');
  const kind = k.slice(0, at);
  const value = k.slice(at + 1);
  if (kind === 'history') return ['history', value];
  if (kind === 'subject' || kind === 'team' || kind === 'cost_center') return [kind, value];
  throw new Error(`not a usage key: ${JSON.stringify(k)}`);
}

function chargeRow(row: Record<string, unknown>): ChargeRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    decisionId: String(row.decision_id),
    subject: String(row.subject),
    team: String(row.team),
    costCenter: String(row.cost_center),
    model: String(row.model),
    tier: String(row.tier),
    state: row.state === 'settled' ? 'settled' : 'reserved',
    tokens: Number(row.tokens),
    costMicros: Number(row.cost_micros),
    inputTokens: num(row.input_tokens),
    outputTokens: num(row.output_tokens),
    atMs: Number(row.at_ms),
    maxOutputTokens: num(row.max_output_tokens),
    estimatedInputTokens: num(row.estimated_input_tokens),
    caller: String(row.caller),
    askedModel: String(row.asked_model),
  };
}
