import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GavelError } from '../../src/lib/errors.js';
import { usageConfig } from '../../src/usage/config.js';
import { postgresUsageConfig } from '../../src/usage/postgres/config.js';
import { migrateDatabase, SCHEMA_VERSION } from '../../src/usage/postgres/schema.js';
import { PostgresUsageStore } from '../../src/usage/postgres/store.js';
import { historyKey, scopeKeys } from '../../src/usage/store.js';
import { freshDatabase, postgresUnavailable, queryAt, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { storeReservation } from './helpers.js';

/**
 * The shared store's schema against a real PostgreSQL: what version 1 creates, what
 * `gavel usage migrate` creates again when a table or index was dropped, what a replica's
 * start refuses, and a store whose role loses a privilege or whose table is dropped under it
 * going unhealthy, then healthy again once it is fixed.
 */

/** Version 1 as gavel created it before its tables were described as data: deployed stores have exactly this. */
const V1_AS_DEPLOYED = `
CREATE TABLE gavel_usage_keys (key text PRIMARY KEY);
CREATE TABLE gavel_usage_charges (
  decision_id text PRIMARY KEY, ledger_id text NOT NULL, caller text NOT NULL, asked_model text NOT NULL, subject text NOT NULL,
  team text NOT NULL, cost_center text NOT NULL, model text NOT NULL, tier text NOT NULL, at_ms bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('reserved', 'settled')), tokens bigint NOT NULL CHECK (tokens >= 0),
  cost_micros bigint NOT NULL CHECK (cost_micros >= 0), input_tokens bigint, output_tokens bigint, expires_ms bigint,
  max_output_tokens bigint, estimated_input_tokens bigint
);
CREATE INDEX gavel_usage_reserved_subject ON gavel_usage_charges (subject, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_team ON gavel_usage_charges (team, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_cost_center ON gavel_usage_charges (cost_center, expires_ms) WHERE state = 'reserved';
CREATE INDEX gavel_usage_reserved_ledger ON gavel_usage_charges (ledger_id) WHERE state = 'reserved';
CREATE TABLE gavel_usage_requests (decision_id text PRIMARY KEY, subject text NOT NULL, tool text NOT NULL, decision text NOT NULL, at_ms bigint NOT NULL);
CREATE INDEX gavel_usage_requests_subject ON gavel_usage_requests (subject, at_ms);
CREATE INDEX gavel_usage_requests_time ON gavel_usage_requests (at_ms);
CREATE TABLE gavel_usage_daily (
  scope text NOT NULL, key text NOT NULL, tier text NOT NULL, day text NOT NULL, tokens bigint NOT NULL, cost_micros bigint NOT NULL,
  PRIMARY KEY (scope, key, day, tier)
);
CREATE TABLE gavel_usage_minute (
  scope text NOT NULL, key text NOT NULL, tier text NOT NULL, minute bigint NOT NULL, tokens bigint NOT NULL, cost_micros bigint NOT NULL,
  PRIMARY KEY (scope, key, minute, tier)
);
CREATE INDEX gavel_usage_minute_age ON gavel_usage_minute (minute);
CREATE TABLE gavel_usage_meta (key text PRIMARY KEY, value text NOT NULL);`;

/** Every column, constraint and index of the gavel_usage_* tables, as text to compare. */
async function shape(url: string): Promise<string[]> {
  const rows = await queryAt(
    url,
    `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || ordinal_position AS line
       FROM information_schema.columns WHERE table_name LIKE 'gavel\\_%'
     UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE conrelid::regclass::text LIKE 'gavel\\_%'
     UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE tablename LIKE 'gavel\\_%'`,
  );
  return rows.map((r) => String(r.line)).sort();
}

const T0 = Date.parse('2026-11-18T12:00:00Z');
const who = { subject: 'sam', team: 'schema-team', costCenter: 'cc-s' };

const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL schema tests: ${skip}`);

describe.skipIf(skip)('the shared usage store schema', () => {
  let db: TestPostgres;
  let roles = 0;
  const freshUrl = () => freshDatabase(db, 'schema');
  const open = async (url: string) => (await PostgresUsageStore.open(postgresUsageConfig(url, { probeMs: 100, timeoutMs: 1500 }), usageConfig())).store;

  /** A login role that owns nothing, granted what a replica needs on the (migrated) store: its URL. */
  async function replicaRole(url: string): Promise<{ url: string; role: string }> {
    const role = `replica_${process.pid}_${++roles}`;
    await queryAt(url, `CREATE ROLE ${role} LOGIN PASSWORD 'replica-secret'`);
    await queryAt(url, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    const u = new URL(url);
    u.username = role;
    u.password = 'replica-secret';
    return { url: u.toString(), role };
  }

  /** One decision's read and reservation, as the meter makes it (the read ended either way); resolves to the error when it fails. */
  async function reserve(store: PostgresUsageStore, id: string): Promise<unknown> {
    const r = storeReservation(id, T0, who);
    try {
      const read = await store.read([...scopeKeys(r), historyKey(r.subject)]);
      try {
        await read.usage('team', who.team, T0);
        const staged = await read.stage({ request: { decisionId: id, subject: who.subject, tool: '', decision: 'allow', atMs: T0 }, reservation: r });
        staged?.finish(true, []); // a shared store's rows are in PostgreSQL already
      } finally {
        read.end();
      }
      return undefined;
    } catch (err) {
      return err;
    }
  }

  async function healthBecomes(store: PostgresUsageStore, ok: boolean): Promise<void> {
    await expect.poll(() => store.health.ok, { timeout: 5000 }).toBe(ok);
  }

  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('version 1 is the schema deployed stores have; migrated from it and from nothing, and recreated after every table is dropped, the schema is the same', async () => {
    const deployed = await freshUrl();
    await queryAt(deployed, V1_AS_DEPLOYED);
    // A store deployed at version 1, upgraded as a rollout upgrades it.
    await queryAt(
      deployed,
      'CREATE TABLE gavel_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO gavel_schema_version (version) VALUES (1)',
    );
    expect(await migrateDatabase(deployed, 5000)).toMatchObject({ from: 1, to: SCHEMA_VERSION, applied: [2, 3] });
    const migrated = await freshUrl();
    await migrateDatabase(migrated, 5000);
    const expected = await shape(deployed);
    expect(expected.length).toBeGreaterThan(30);
    expect(await shape(migrated)).toEqual(expected);
    await queryAt(
      migrated,
      'DROP TABLE gavel_usage_keys, gavel_usage_charges, gavel_usage_requests, gavel_usage_daily, gavel_usage_minute, gavel_usage_meta, gavel_request_ids',
    );
    const repaired = await migrateDatabase(migrated, 5000);
    expect(repaired).toMatchObject({ from: SCHEMA_VERSION, applied: [] });
    expect(repaired.created).toContain('table gavel_usage_charges');
    expect(repaired.created).toContain('index gavel_usage_reserved_ledger');
    expect(await shape(migrated)).toEqual(expected);
  });

  it('gavel usage migrate creates again a dropped table and a dropped index, says which, and then finds nothing to do', async () => {
    const url = await freshUrl();
    await migrateDatabase(url, 5000);
    await queryAt(url, 'DROP TABLE gavel_usage_requests; DROP INDEX gavel_usage_minute_age');
    expect(await migrateDatabase(url, 5000)).toEqual({
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
      applied: [],
      created: [
        'table gavel_usage_requests',
        'index gavel_usage_requests_subject',
        'index gavel_usage_requests_time',
        'index gavel_usage_requests_subject_seq',
        'index gavel_usage_minute_age',
      ],
    });
    expect(await migrateDatabase(url, 5000)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [], created: [] });
    const store = await open(url);
    await store.close();
  });

  it('a store migrated by a newer gavel is refused, not migrated down, and left as it was', async () => {
    const url = await freshUrl();
    await migrateDatabase(url, 5000);
    await queryAt(url, `INSERT INTO gavel_schema_version (version) VALUES (${SCHEMA_VERSION + 1})`);
    const err = (await migrateDatabase(url, 5000).catch((e: unknown) => e)) as GavelError;
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe(
      `the usage store's schema is at version ${SCHEMA_VERSION + 1}, newer than this gavel knows (${SCHEMA_VERSION}): upgrade gavel before pointing it at this database`,
    );
    expect(await queryAt(url, 'SELECT max(version) AS v FROM gavel_schema_version')).toEqual([{ v: SCHEMA_VERSION + 1 }]);
  });

  it('a replica does not start on a store missing a table or column, or whose role lacks a privilege, and names each with the way out', async () => {
    const url = await freshUrl();
    await migrateDatabase(url, 5000);
    const replica = await replicaRole(url);
    (await open(replica.url)).close();
    await queryAt(url, `REVOKE DELETE, UPDATE ON gavel_usage_charges FROM ${replica.role}; REVOKE INSERT ON gavel_usage_keys FROM ${replica.role}`);
    const refused = (await open(replica.url).catch((e: unknown) => e)) as GavelError;
    expect(refused).toMatchObject({ code: 'usage_unavailable' });
    expect(refused.message).toContain(`role ${replica.role} lacks UPDATE, DELETE on gavel_usage_charges`);
    expect(refused.message).toContain(`role ${replica.role} lacks INSERT on gavel_usage_keys`);
    expect(refused.message).not.toContain('replica-secret');
    expect(refused.message).toMatch(/\(grant the replicas' role what it lacks, or restore what is missing\)$/);
    await queryAt(url, 'DROP TABLE gavel_usage_requests; ALTER TABLE gavel_usage_daily DROP COLUMN cost_micros');
    const broken = (await open(url).catch((e: unknown) => e)) as GavelError;
    expect(broken).toMatchObject({ code: 'usage_unavailable' });
    expect(broken.message).toMatch(/missing table gavel_usage_requests; missing column gavel_usage_daily\.cost_micros .*gavel usage migrate/);
    // migrate recreates the table, but cannot bring back a column without its rows.
    await expect(migrateDatabase(url, 5000)).rejects.toThrow(/missing column gavel_usage_daily\.cost_micros/);
    await expect(migrateDatabase(url, 5000)).rejects.toThrow(/\(a missing column cannot be recreated without its rows: restore it from a backup\)$/);
  });

  it('a role that loses a privilege takes the store down, with the reason; a grant brings it back without a restart', async () => {
    const url = await freshUrl();
    await migrateDatabase(url, 5000);
    const replica = await replicaRole(url);
    const store = await open(replica.url);
    store.attach('ledger-schema');
    try {
      expect(await reserve(store, 'before')).toBeUndefined();
      await queryAt(url, `REVOKE SELECT ON gavel_usage_charges FROM ${replica.role}`);
      const refused = await reserve(store, 'revoked');
      expect(refused).toMatchObject({ code: 'usage_unavailable' });
      expect(store.health.ok).toBe(false);
      expect(store.health.reason).toMatch(/gavel's role was refused \(permission denied for table gavel_usage_charges\): grant it back/);
      expect(store.health.reason).not.toContain('replica-secret');
      // Down: decisions fail closed at once, and the probe (not a bare SELECT 1) keeps it down, naming what is lacking.
      expect(await reserve(store, 'while-down')).toMatchObject({ code: 'usage_unavailable' });
      await expect.poll(() => store.health.reason, { timeout: 5000 }).toContain(`last probe: role ${replica.role} lacks SELECT on gavel_usage_charges`);
      await queryAt(url, `GRANT SELECT ON gavel_usage_charges TO ${replica.role}`);
      await healthBecomes(store, true);
      expect(await reserve(store, 'after')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a table dropped under a running store takes it down until migrate recreates it; a key row table dropped too comes back', async () => {
    const url = await freshUrl();
    const store = await open(url);
    store.attach('ledger-schema');
    try {
      expect(await reserve(store, 'before')).toBeUndefined();
      await queryAt(url, 'DROP TABLE gavel_usage_requests, gavel_usage_keys');
      expect(await reserve(store, 'dropped')).toMatchObject({ code: 'usage_unavailable' });
      expect(store.health.ok).toBe(false);
      expect(store.health.reason).toMatch(
        /a table of the usage store is missing \(relation "gavel_usage_\w+" does not exist\): `gavel usage migrate` recreates it/,
      );
      await expect
        .poll(() => store.health.reason, { timeout: 5000 })
        .toContain('last probe: missing table gavel_usage_keys; missing table gavel_usage_requests');
      expect((await migrateDatabase(url, 5000)).created).toEqual([
        'table gavel_usage_keys',
        'table gavel_usage_requests',
        'index gavel_usage_requests_subject',
        'index gavel_usage_requests_time',
        'index gavel_usage_requests_subject_seq',
      ]);
      await healthBecomes(store, true);
      // The key rows it knew are gone with their table: the first decision after recovery inserts them again.
      expect(await reserve(store, 'after')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
