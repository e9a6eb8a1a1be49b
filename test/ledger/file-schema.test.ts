import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteApprovalStore } from '../../src/ledger/approval-table.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { LEDGER_SCHEMA } from '../../src/ledger/schema.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import type { GavelError } from '../../src/lib/errors.js';
import { addColumns, fileVersion, latestVersion, migrateFile, type FileSchema } from '../../src/lib/sqlite-schema.js';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore, USAGE_SCHEMA } from '../../src/usage/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';

/**
 * One mechanism for the schema of the ledger file (lib/sqlite-schema.ts): ordered steps counted in
 * PRAGMA user_version, one half per owner of tables in it. A file an older gavel wrote (no version,
 * columns missing) is brought up to date on open; opening it again changes nothing.
 */

const T0 = Date.parse('2026-11-18T12:00:00Z');

/** The tables as gavel wrote them before header version 2 and before usage kept report limits and who asked. */
const OLDER_GAVEL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL, time TEXT NOT NULL, time_ms INTEGER NOT NULL, subject_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, team TEXT NOT NULL, cost_center TEXT NOT NULL, action_type TEXT NOT NULL, resource TEXT NOT NULL,
  decision TEXT NOT NULL, reason_codes TEXT NOT NULL, bundle TEXT NOT NULL, revision TEXT NOT NULL, digest TEXT NOT NULL,
  entrypoint TEXT NOT NULL, request_id TEXT NOT NULL, caller TEXT NOT NULL, payload_hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
  entry_hash TEXT NOT NULL);
CREATE TABLE payloads (seq INTEGER PRIMARY KEY, salt BLOB NOT NULL, body TEXT NOT NULL);
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, head_hash TEXT NOT NULL, time TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE usage_charges (
  decision_id TEXT PRIMARY KEY, subject TEXT NOT NULL, team TEXT NOT NULL, cost_center TEXT NOT NULL, model TEXT NOT NULL,
  tier TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT NOT NULL, tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
  input_tokens INTEGER, output_tokens INTEGER, expires_ms INTEGER);
INSERT INTO entries VALUES (1, 'old-1', '2026-11-18T11:00:00.000Z', ${T0 - 3_600_000}, 'alice', 'user', 'platform', 'cc-1', 'model.invoke',
  'standard-m', 'allow', '[]', 'ai', 'rev-1', 'sha256:abc', 'gavel/ai/decision', '', 'gw', 'p', '${'0'.repeat(64)}', 'h1');
INSERT INTO payloads VALUES (1, x'00', '{}');
INSERT INTO usage_charges VALUES ('old-1', 'alice', 'platform', 'cc-1', 'standard-m', 'standard', ${T0}, 'reserved', 10, 20, NULL, NULL, ${T0 + 600_000});
`;

function olderGavelFile(): string {
  const path = join(tempDir(), 'older.db');
  const db = new Database(path);
  db.exec(OLDER_GAVEL);
  db.close();
  return path;
}

const columnsOf = (db: Database.Database, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
const pragma = (db: Database.Database, name: string) => db.pragma(name, { simple: true }) as number;

function pragmaOf(path: string, name: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return pragma(db, name);
  } finally {
    db.close();
  }
}
const config = (path: string) => ledgerConfig(path, { checkpointEvery: 1_000_000, checkpointSeconds: 3600 });

describe('the schema steps of the ledger file', () => {
  it('a file from before schema versions gets its columns and its version on open; its old rows read as they were', async () => {
    const path = olderGavelFile();
    expect(pragmaOf(path, 'user_version')).toBe(0);

    const ledger = new SqliteLedger(config(path));
    const usage = new SqliteUsageStore(ledger.db, usageConfig());
    new SqliteApprovalStore(ledger.db);
    const db = ledger.db;
    expect(columnsOf(db, 'entries')).toEqual(expect.arrayContaining(['v', 'kind']));
    const added = ['max_output_tokens', 'estimated_input_tokens', 'caller', 'asked_model'];
    expect(columnsOf(db, 'usage_charges').slice(-4)).toEqual(added);
    // Added with the types a new file declares them with (nullable: their old rows have none).
    const fresh = new Database(':memory:');
    new SqliteUsageStore(fresh, usageConfig());
    const typesOf = (d: Database.Database) =>
      (d.prepare('PRAGMA table_info(usage_charges)').all() as Array<{ name: string; type: string }>)
        .filter((c) => added.includes(c.name))
        .map((c) => [c.name, c.type]);
    expect(typesOf(db)).toEqual(typesOf(fresh));
    expect(typesOf(db).map(([, type]) => type)).toEqual(['INTEGER', 'INTEGER', 'TEXT', 'TEXT']);
    fresh.close();
    expect(fileVersion(db, 0)).toBe(latestVersion(LEDGER_SCHEMA));
    expect(fileVersion(db, 1)).toBe(latestVersion(USAGE_SCHEMA));
    expect(pragma(db, 'user_version')).toBe(latestVersion(LEDGER_SCHEMA) + latestVersion(USAGE_SCHEMA) * 65_536);

    // The old rows: a version-1 decision, a charge without the limits it predates.
    expect(db.prepare('SELECT v, kind FROM entries WHERE seq = 1').get()).toEqual({ v: 1, kind: 'decision' });
    expect(await usage.charge('old-1')).toMatchObject({ state: 'reserved', tokens: 10, maxOutputTokens: null, caller: null, askedModel: null });
    // New rows are written whole.
    await ledger.append(sampleRecord({ decisionId: 'new-1' }));
    expect(db.prepare('SELECT v, kind FROM entries WHERE seq = 2').get()).toEqual({ v: 2, kind: 'decision' });
    await ledger.close();

    // Opened again, nothing is left to do: no step runs, and the schema and its version stay as they are.
    const raw = new Database(path);
    const version = pragma(raw, 'user_version');
    expect(migrateFile(raw, LEDGER_SCHEMA)).toEqual({ from: latestVersion(LEDGER_SCHEMA), to: latestVersion(LEDGER_SCHEMA), applied: [] });
    expect(migrateFile(raw, USAGE_SCHEMA)).toEqual({ from: latestVersion(USAGE_SCHEMA), to: latestVersion(USAGE_SCHEMA), applied: [] });
    const schemaOf = (d: Database.Database) => d.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name").all();
    const shape = schemaOf(raw);
    raw.close();
    const again = new SqliteLedger(config(path));
    new SqliteUsageStore(again.db, usageConfig());
    new SqliteApprovalStore(again.db);
    expect(schemaOf(again.db)).toEqual(shape);
    expect(pragma(again.db, 'user_version')).toBe(version);
    await again.close();
  });

  it('a file from before erasures keeps its payloads append-only and lets a signed erasure delete them (step 2)', async () => {
    const path = olderGavelFile();
    const older = new Database(path);
    // The delete trigger as gavel made it before erasures: unconditional (a trigger made IF NOT EXISTS is never replaced).
    older.exec("CREATE TRIGGER payloads_no_delete BEFORE DELETE ON payloads BEGIN SELECT RAISE(ABORT, 'payloads are append-only'); END;");
    older.close();

    const ledger = new SqliteLedger(config(path));
    const trigger = ledger.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'payloads_no_delete'").pluck().get() as string;
    expect(trigger).toContain('WHEN gavel_erasing() = 0');
    expect(() => ledger.db.prepare('DELETE FROM payloads WHERE seq = 1').run()).toThrow('payloads are append-only');
    const erased = await ledger.erase({ criteria: { decision: 'old-1' }, reason: 'legal order 1', basis: 'legal-order', by: 'counsel' });
    expect(erased).toMatchObject({ erased: 1, seqs: [[1, 1]] });
    expect(ledger.db.prepare('SELECT count(*) FROM payloads WHERE seq = 1').pluck().get()).toBe(0);
    // The erasure over, payloads are append-only again on this connection too (the erasure entry's own, seq 2).
    expect(() => ledger.db.prepare('DELETE FROM payloads WHERE seq = 2').run()).toThrow('payloads are append-only');
    await ledger.close();
  });

  it('a file whose reserved charges had an index per scope has them dropped for one; its reservations count from the first read (usage step 2)', async () => {
    const path = olderGavelFile();
    const older = new Database(path);
    for (const scope of ['subject', 'team', 'cost_center'])
      older.exec(`CREATE INDEX usage_reserved_${scope} ON usage_charges(${scope}, expires_ms) WHERE state = 'reserved'`);
    older.close();

    const ledger = new SqliteLedger(config(path));
    const usage = new SqliteUsageStore(ledger.db, usageConfig());
    const indexes = ledger.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_charges' AND sql IS NOT NULL").pluck().all();
    expect(indexes).toEqual(['usage_reserved']);
    expect(fileVersion(ledger.db, 1)).toBe(2);
    // old-1 (10 tokens, reserved until T0 + 10 min) is held under each of its three keys, with no read of the table per key.
    for (const [scope, key] of [
      ['subject', 'alice'],
      ['team', 'platform'],
      ['cost_center', 'cc-1'],
    ] as const) {
      expect((await usage.usage(scope, key, T0 + 1000)).day).toMatchObject({ reserved_tokens: 10 });
      expect((await usage.usage(scope, key, T0 + 700_000)).day).toMatchObject({ reserved_tokens: 0 });
    }
    expect((await usage.usage('team', 'another', T0 + 1000)).day).toMatchObject({ reserved_tokens: 0 });
    await ledger.close();
  });

  it('a new file is made at the current shape and recorded at the last version, without running the steps', () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, usageConfig());
    expect(store).toBeDefined();
    expect(fileVersion(db, 1)).toBe(latestVersion(USAGE_SCHEMA));
    expect(fileVersion(db, 0)).toBe(0);
    expect(columnsOf(db, 'usage_charges')).toContain('asked_model');
    db.close();
  });

  it('a file a newer gavel versioned is refused, and its version is left as it is', async () => {
    const path = join(tempDir(), 'newer.db');
    const newer = new Database(path);
    newer.pragma(`user_version = ${latestVersion(LEDGER_SCHEMA) + 1}`);
    newer.close();
    const latest = latestVersion(LEDGER_SCHEMA);
    expect(() => new SqliteLedger(config(path))).toThrow(
      new RegExp(`ledger tables of .*newer\\.db are at schema version ${latest + 1}, newer than this gavel knows \\(${latest}\\)`),
    );
    const err = (() => {
      try {
        new SqliteLedger(config(path));
      } catch (e) {
        return e as GavelError;
      }
    })();
    expect(err?.code).toBe('config_invalid');
    expect(pragmaOf(path, 'user_version')).toBe(latestVersion(LEDGER_SCHEMA) + 1);
    // A refused start keeps nothing of the file open (a supervisor may retry it many times).
    const named = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(named.filter((file) => file.startsWith(path))).toEqual([]);

    const db = new Database(':memory:');
    db.pragma(`user_version = ${(latestVersion(USAGE_SCHEMA) + 1) * 65_536}`);
    expect(() => new SqliteUsageStore(db, usageConfig())).toThrow(new RegExp(`usage tables of .* are at schema version ${latestVersion(USAGE_SCHEMA) + 1}\\b`));
  });
});

describe('the steps', () => {
  const schema = (steps: FileSchema['steps'], slot: 0 | 1 = 0): FileSchema => ({ owner: 'test', slot, steps });
  const addNote = { version: 2, what: 'note', up: (db: Database.Database) => addColumns(db, 't', [['note', 'TEXT']]) };
  const base = { version: 1, what: 'a', up: (db: Database.Database) => addColumns(db, 't', [['a', 'TEXT']]) };

  it('run once each, in order, above the version the file is at; a table not made yet is left to be made whole', () => {
    const db = new Database(':memory:');
    expect(migrateFile(db, schema([base]))).toEqual({ from: 0, to: 1, applied: [1] });
    db.exec('CREATE TABLE t (id TEXT)');
    // At version 1: step 1 does not run again (it would have added column a).
    expect(migrateFile(db, schema([base, addNote]))).toEqual({ from: 1, to: 2, applied: [2] });
    expect(columnsOf(db, 't')).toEqual(['id', 'note']);
    expect(migrateFile(db, schema([base, addNote]))).toEqual({ from: 2, to: 2, applied: [] });
    // The other owner's half is its own.
    expect(migrateFile(db, schema([base], 1))).toEqual({ from: 0, to: 1, applied: [1] });
    expect([fileVersion(db, 0), fileVersion(db, 1)]).toEqual([2, 1]);
  });

  it('a step that fails undoes the steps before it and leaves the version where it was', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT)');
    const failing = {
      version: 2,
      what: 'fails',
      up: () => {
        throw new Error('step 2 failed');
      },
    };
    expect(() => migrateFile(db, schema([base, failing]))).toThrow('step 2 failed');
    expect(fileVersion(db, 0)).toBe(0);
    expect(columnsOf(db, 't')).toEqual(['id']);
  });

  it('are numbered 1, 2, 3… in order', () => {
    const db = new Database(':memory:');
    expect(() => migrateFile(db, schema([base, { ...addNote, version: 3 }]))).toThrow('test schema step 2 is numbered 3');
    expect(() => migrateFile(db, schema([addNote]))).toThrow('test schema step 1 is numbered 2');
    // A version is 16 bits of the file header: no more steps than it can count.
    const tooMany = Array.from({ length: 65_536 }, (_, i) => ({ version: i + 1, what: `step ${i + 1}`, up: () => {} }));
    expect(() => migrateFile(db, schema(tooMany))).toThrow('test schema has more than 65535 steps');
    expect(fileVersion(db, 0)).toBe(0);
  });

  it('add only the columns a table lacks, so a step run on a file that has some of them does not fail', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT, a TEXT)');
    addColumns(db, 't', [
      ['a', 'TEXT'],
      ['note', "TEXT NOT NULL DEFAULT ''"],
    ]);
    expect(columnsOf(db, 't')).toEqual(['id', 'a', 'note']);
    addColumns(db, 't', [['note', 'TEXT']]);
    expect(columnsOf(db, 't')).toEqual(['id', 'a', 'note']);
  });
});
