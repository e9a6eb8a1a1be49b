import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  CHARGE_COLUMNS,
  chargeColumnDdl,
  chargeColumns,
  chargeParams,
  chargeRowOf,
  chargeValues,
  embeddedChargeOf,
  insertChargeSql,
  sharedChargeOf,
  type StoredCharge,
} from '../../src/usage/charge-columns.js';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { chargeForm } from '../../src/state/compare.js';
import { commitStaged, storeReservation } from './helpers.js';

/**
 * The usage charge column list (usage/charge-columns.ts) is the one place a charge's columns are
 * named, for both stores: checked here from the list itself (a column added to it is checked with
 * no edit here), and against the tables as deployed files and databases have them.
 */

const T0 = Date.parse('2026-11-18T12:00:00Z');

const SETTLED: StoredCharge = {
  decisionId: 'd-1',
  ledgerId: 'ledger-a',
  subject: 'sam',
  team: 'platform',
  costCenter: 'cc-1',
  model: 'standard-m',
  tier: 'standard',
  atMs: T0,
  state: 'settled',
  tokens: 70,
  costMicros: 140,
  inputTokens: 20,
  outputTokens: 50,
  expiresMs: null,
  maxOutputTokens: 256,
  estimatedInputTokens: 44,
  caller: 'gateway',
  askedModel: 'premium-m',
};

const { ledgerId: _ledger, ...EMBEDDED } = SETTLED;

describe('the usage charge column list', () => {
  it("makes the ledger file's table: its columns in the order deployed files have them", () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, usageConfig());
    const info = db.prepare('PRAGMA table_info(usage_charges)').all() as Array<{ name: string; notnull: number; pk: number }>;
    expect(info.map((c) => c.name)).toEqual(chargeColumns('embedded').map((c) => c.column));
    // Positional INSERTs and SELECT * of files made before the list depend on this order.
    expect(info.slice(0, 17).map((c) => c.name)).toEqual([
      'decision_id',
      'subject',
      'team',
      'cost_center',
      'model',
      'tier',
      'at_ms',
      'state',
      'tokens',
      'cost_micros',
      'input_tokens',
      'output_tokens',
      'expires_ms',
      'max_output_tokens',
      'estimated_input_tokens',
      'caller',
      'asked_model',
    ]);
    for (const c of chargeColumns('embedded')) {
      const column = info.find((i) => i.name === c.column)!;
      if (!c.key) expect([c.column, column.notnull === 1]).toEqual([c.column, !c.nullable]);
    }
    expect(() => db.prepare(insertChargeSql()).run(chargeParams({ ...EMBEDDED, tokens: -1 }))).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare(insertChargeSql()).run(chargeParams({ ...EMBEDDED, state: 'open' as 'settled' }))).toThrow(/CHECK constraint failed/);
  });

  it("defines the shared store's columns as version 1 created them", () => {
    const shared = Object.fromEntries(chargeColumns('shared').map((c) => [c.column, chargeColumnDdl(c, 'shared')]));
    expect(shared).toEqual({
      decision_id: 'decision_id text PRIMARY KEY',
      ledger_id: 'ledger_id text NOT NULL',
      caller: 'caller text NOT NULL',
      asked_model: 'asked_model text NOT NULL',
      subject: 'subject text NOT NULL',
      team: 'team text NOT NULL',
      cost_center: 'cost_center text NOT NULL',
      model: 'model text NOT NULL',
      tier: 'tier text NOT NULL',
      at_ms: 'at_ms bigint NOT NULL',
      state: "state text NOT NULL CHECK (state IN ('reserved', 'settled'))",
      tokens: 'tokens bigint NOT NULL CHECK (tokens >= 0)',
      cost_micros: 'cost_micros bigint NOT NULL CHECK (cost_micros >= 0)',
      input_tokens: 'input_tokens bigint',
      output_tokens: 'output_tokens bigint',
      expires_ms: 'expires_ms bigint',
      max_output_tokens: 'max_output_tokens bigint',
      estimated_input_tokens: 'estimated_input_tokens bigint',
    });
  });

  it("defines the ledger file's columns: SQLite types, and the columns older files lack may be null there alone", () => {
    const embedded = Object.fromEntries(chargeColumns('embedded').map((c) => [c.column, chargeColumnDdl(c, 'embedded')]));
    expect(embedded).toEqual({
      decision_id: 'decision_id TEXT PRIMARY KEY',
      subject: 'subject TEXT NOT NULL',
      team: 'team TEXT NOT NULL',
      cost_center: 'cost_center TEXT NOT NULL',
      model: 'model TEXT NOT NULL',
      tier: 'tier TEXT NOT NULL',
      at_ms: 'at_ms INTEGER NOT NULL',
      state: "state TEXT NOT NULL CHECK (state IN ('reserved', 'settled'))",
      tokens: 'tokens INTEGER NOT NULL CHECK (tokens >= 0)',
      cost_micros: 'cost_micros INTEGER NOT NULL CHECK (cost_micros >= 0)',
      input_tokens: 'input_tokens INTEGER',
      output_tokens: 'output_tokens INTEGER',
      expires_ms: 'expires_ms INTEGER',
      max_output_tokens: 'max_output_tokens INTEGER',
      estimated_input_tokens: 'estimated_input_tokens INTEGER',
      caller: 'caller TEXT',
      asked_model: 'asked_model TEXT',
    });
  });

  it('reads a row as the stores may give it: a missing optional column as null, an unknown state as reserved', () => {
    const row = Object.fromEntries(chargeColumns('embedded').map((c) => [c.column, chargeParams(EMBEDDED)[c.column]]));
    for (const c of chargeColumns('embedded')) if (c.nullable) delete row[c.column];
    const read = embeddedChargeOf({ ...row, state: 'open' });
    for (const c of chargeColumns('embedded')) if (c.nullable) expect([c.column, read[c.field as keyof typeof read]]).toEqual([c.column, null]);
    // A state no gavel writes counts against the budget until settled, never as spent for good.
    expect(read.state).toBe('reserved');
    expect(embeddedChargeOf({ ...row, state: 'settled' }).state).toBe('settled');
  });

  it('writes and reads every column in both stores: the INSERT names each, and a charge comes back as it went in', async () => {
    const sql = insertChargeSql();
    for (const c of chargeColumns('embedded')) expect(sql).toMatch(new RegExp(`[(, ]${c.column}[,)].*@${c.column}\\b`));
    expect(Object.keys(chargeParams(EMBEDDED))).toEqual(chargeColumns('embedded').map((c) => c.column));
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, usageConfig());
    db.prepare(insertChargeSql()).run(chargeParams(EMBEDDED));
    const row = db.prepare('SELECT * FROM usage_charges').get() as Record<string, unknown>;
    expect(embeddedChargeOf(row)).toEqual(EMBEDDED);
    const { expiresMs: _e, ...charge } = EMBEDDED;
    expect(await store.charge('d-1')).toEqual(charge);
    expect(chargeRowOf(row)).toEqual(charge);

    // The shared store: its values in list order, integers as PostgreSQL's client may return them (text).
    const values = chargeValues(SETTLED, 'shared');
    expect(values).toHaveLength(CHARGE_COLUMNS.length);
    const pgRow = Object.fromEntries(chargeColumns('shared').map((c, i) => [c.column, typeof values[i] === 'number' ? String(values[i]) : values[i]]));
    expect(sharedChargeOf(pgRow)).toEqual(SETTLED);
  });

  it('reserves with every column, the settled ones null until a report', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, usageConfig());
    const reservation = storeReservation('d-2', T0, { subject: 'sam', team: 'platform', costCenter: 'cc-1' });
    const staged = store.stage({ request: { decisionId: 'd-2', subject: 'sam', tool: '', decision: 'allow', atMs: T0 }, reservation });
    commitStaged(db, staged);
    const row = db.prepare('SELECT * FROM usage_charges').get() as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(chargeColumns('embedded').map((c) => c.column));
    expect(embeddedChargeOf(row)).toEqual({ ...reservation, state: 'reserved', inputTokens: null, outputTokens: null });
  });

  it("is the state check's comparison form: every column, a change in any one shows", () => {
    const form = chargeForm(EMBEDDED);
    expect(JSON.parse(form)).toHaveLength(chargeColumns('embedded').length);
    for (const c of chargeColumns('embedded')) {
      const changed = { ...EMBEDDED, [c.field]: c.type === 'integer' ? 9_999 : 'changed' };
      expect([c.column, chargeForm(changed)]).not.toEqual([c.column, form]);
    }
  });
});
