import pg, { type Pool } from 'pg';
import { GavelError } from '../../lib/errors.js';

/**
 * The shared usage store's schema, created and migrated by gavel itself. Each
 * migration runs once, in order, recorded in gavel_schema_version; all of them
 * run in one transaction under an advisory lock, so replicas starting at once
 * (or `gavel usage migrate` beside a rollout) apply each exactly once.
 */
const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE gavel_usage_keys (key text PRIMARY KEY);
CREATE TABLE gavel_usage_charges (
  decision_id text PRIMARY KEY,
  ledger_id text NOT NULL,
  caller text NOT NULL,
  asked_model text NOT NULL,
  subject text NOT NULL,
  team text NOT NULL,
  cost_center text NOT NULL,
  model text NOT NULL,
  tier text NOT NULL,
  at_ms bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('reserved', 'settled')),
  tokens bigint NOT NULL CHECK (tokens >= 0),
  cost_micros bigint NOT NULL CHECK (cost_micros >= 0),
  input_tokens bigint,
  output_tokens bigint,
  expires_ms bigint,
  max_output_tokens bigint,
  estimated_input_tokens bigint
);
CREATE INDEX gavel_usage_reserved_subject ON gavel_usage_charges (subject, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_team ON gavel_usage_charges (team, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_cost_center ON gavel_usage_charges (cost_center, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_ledger ON gavel_usage_charges (ledger_id) WHERE state = 'reserved';
CREATE TABLE gavel_usage_requests (
  decision_id text PRIMARY KEY,
  subject text NOT NULL,
  tool text NOT NULL,
  decision text NOT NULL,
  at_ms bigint NOT NULL
);
CREATE INDEX gavel_usage_requests_subject ON gavel_usage_requests (subject, at_ms);
CREATE INDEX gavel_usage_requests_time ON gavel_usage_requests (at_ms);
CREATE TABLE gavel_usage_daily (
  scope text NOT NULL, key text NOT NULL, tier text NOT NULL, day text NOT NULL,
  tokens bigint NOT NULL, cost_micros bigint NOT NULL,
  PRIMARY KEY (scope, key, day, tier)
);
CREATE TABLE gavel_usage_minute (
  scope text NOT NULL, key text NOT NULL, tier text NOT NULL, minute bigint NOT NULL,
  tokens bigint NOT NULL, cost_micros bigint NOT NULL,
  PRIMARY KEY (scope, key, minute, tier)
);
CREATE INDEX gavel_usage_minute_age ON gavel_usage_minute (minute);
CREATE TABLE gavel_usage_meta (key text PRIMARY KEY, value text NOT NULL);
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** One constant advisory-lock key for gavel's schema changes ("gavel" in ASCII). */
const MIGRATION_LOCK = 0x676176656c;

export interface MigrationResult {
  /** The version found before (0: an empty database). */
  from: number;
  to: number;
  applied: number[];
}

export async function migrate(pool: Pool): Promise<MigrationResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS gavel_schema_version (
      version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const found = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM gavel_schema_version');
    const from = Number(found.rows[0]?.v ?? 0);
    if (from > SCHEMA_VERSION) {
      throw new GavelError(
        'config_invalid',
        `the usage store's schema is at version ${from}, newer than this gavel knows (${SCHEMA_VERSION}): upgrade gavel before pointing it at this database`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO gavel_schema_version (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION, applied };
  } catch (err) {
    broken = err as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Migrates the database a URL names, ahead of a rollout (`gavel usage migrate`); the same step every replica runs at start. */
export async function migrateDatabase(url: string, timeoutMs: number): Promise<MigrationResult> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: timeoutMs, application_name: 'gavel migrate' });
  pool.on('error', () => undefined);
  try {
    return await migrate(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
