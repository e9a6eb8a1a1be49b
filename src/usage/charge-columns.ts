import type { ChargeRow } from './store.js';

/**
 * A usage charge's columns, defined once for both stores, in the order of the embedded store's
 * `usage_charges` table (PostgreSQL's `gavel_usage_charges` keeps version 1's order, then new
 * columns in this order: postgres/schema.ts). Each names its column and the charge field it holds.
 * Both stores' DDL, their INSERTs and upserts, the row mapping (`chargeRowOf`) and the state
 * check's comparison form (state/compare.ts) are derived from this list, so a new column is one
 * entry here (with its ChargeRow field) plus the step that adds it to existing tables: in the
 * ledger file (usage/sqlite.ts USAGE_SCHEMA) and in the shared store (postgres/schema.ts MIGRATIONS).
 */
export interface ChargeColumn {
  column: string;
  field: keyof StoredCharge;
  type: 'text' | 'integer';
  /** The table's key. */
  key?: true;
  /** May be null: in both stores, or (`embedded`) only in the ledger file, whose rows from before the column was kept hold none. */
  nullable?: true | 'embedded';
  /** Its values, when it holds one of a few: a stored value that is none of them reads as the first. */
  values?: readonly string[];
  /** A CHECK on its value (both stores). */
  check?: string;
  /** Kept by the shared store alone (which replica's ledger reserved it). */
  sharedOnly?: true;
}

/** A charge as a store keeps it: the row a report meets, its expiry (null once settled), and the replica's ledger (shared store). */
export type StoredCharge = ChargeRow & { expiresMs: number | null; ledgerId: string };

/** A charge as the ledger file keeps it (and the chain adds it up: state/derive.ts). */
export type EmbeddedCharge = Omit<StoredCharge, 'ledgerId'>;

export const CHARGE_COLUMNS = [
  { column: 'decision_id', field: 'decisionId', type: 'text', key: true },
  { column: 'ledger_id', field: 'ledgerId', type: 'text', sharedOnly: true },
  { column: 'subject', field: 'subject', type: 'text' },
  { column: 'team', field: 'team', type: 'text' },
  { column: 'cost_center', field: 'costCenter', type: 'text' },
  { column: 'model', field: 'model', type: 'text' },
  { column: 'tier', field: 'tier', type: 'text' },
  { column: 'at_ms', field: 'atMs', type: 'integer' },
  { column: 'state', field: 'state', type: 'text', values: ['reserved', 'settled'] },
  { column: 'tokens', field: 'tokens', type: 'integer', check: 'tokens >= 0' },
  { column: 'cost_micros', field: 'costMicros', type: 'integer', check: 'cost_micros >= 0' },
  { column: 'input_tokens', field: 'inputTokens', type: 'integer', nullable: true },
  { column: 'output_tokens', field: 'outputTokens', type: 'integer', nullable: true },
  { column: 'expires_ms', field: 'expiresMs', type: 'integer', nullable: true },
  { column: 'max_output_tokens', field: 'maxOutputTokens', type: 'integer', nullable: true },
  { column: 'estimated_input_tokens', field: 'estimatedInputTokens', type: 'integer', nullable: true },
  { column: 'caller', field: 'caller', type: 'text', nullable: 'embedded' },
  { column: 'asked_model', field: 'askedModel', type: 'text', nullable: 'embedded' },
] as const satisfies readonly ChargeColumn[];

/** Fails to compile while a charge field has no column. */
type Unstored = Exclude<keyof StoredCharge, (typeof CHARGE_COLUMNS)[number]['field']>;
const everyFieldStored: [Unstored] extends [never] ? true : Unstored = true;
void everyFieldStored;

export type ChargeStore = 'embedded' | 'shared';

/** The columns a store keeps, in list order. */
export function chargeColumns(store: ChargeStore): readonly ChargeColumn[] {
  return (CHARGE_COLUMNS as readonly ChargeColumn[]).filter((c) => store === 'shared' || !c.sharedOnly);
}

const EMBEDDED = chargeColumns('embedded');
const SHARED = chargeColumns('shared');

/** A column's definition in a store's CREATE TABLE (SQLite: TEXT/INTEGER; PostgreSQL: text/bigint). */
export function chargeColumnDdl(c: ChargeColumn, store: ChargeStore): string {
  const type = store === 'embedded' ? c.type.toUpperCase() : c.type === 'integer' ? 'bigint' : 'text';
  const nullable = c.nullable === true || (c.nullable === 'embedded' && store === 'embedded');
  const constraint = c.key ? ' PRIMARY KEY' : nullable ? '' : ' NOT NULL';
  const check = c.values ? `${c.column} IN (${c.values.map((v) => `'${v}'`).join(', ')})` : c.check;
  return `${c.column} ${type}${constraint}${check ? ` CHECK (${check})` : ''}`;
}

/** A value as the stores give it (integers may arrive as text from PostgreSQL). */
function decode(c: ChargeColumn, v: unknown): unknown {
  if (c.nullable && (v === null || v === undefined)) return null;
  if (c.values) return c.values.includes(v as string) ? v : c.values[0];
  return c.type === 'integer' ? Number(v) : String(v);
}

function decodeAll(row: Record<string, unknown>, columns: readonly ChargeColumn[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c.field] = decode(c, row[c.column]);
  return out;
}

/** A row of either store (snake_case columns) as the charge a report meets. */
export function chargeRowOf(row: Record<string, unknown>): ChargeRow {
  const { expiresMs: _expires, ledgerId: _ledger, ...charge } = decodeAll(row, EMBEDDED) as unknown as StoredCharge;
  return charge;
}

/** A row of the ledger file's table, with its expiry. */
export function embeddedChargeOf(row: Record<string, unknown>): EmbeddedCharge {
  return decodeAll(row, EMBEDDED) as unknown as EmbeddedCharge;
}

/** A row of the shared store's table, with its expiry and ledger. */
export function sharedChargeOf(row: Record<string, unknown>): StoredCharge {
  return decodeAll(row, SHARED) as unknown as StoredCharge;
}

/** A charge's values in a store's column order (a field it lacks is null: a reservation has no settled tokens yet). */
export function chargeValues(c: Partial<StoredCharge>, store: ChargeStore): Array<string | number | null> {
  return chargeColumns(store).map((col) => (c[col.field] ?? null) as string | number | null);
}

/** The same, by column name (SQLite's named parameters). */
export function chargeParams(c: Partial<StoredCharge>): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const col of EMBEDDED) out[col.column] = (c[col.field] ?? null) as string | number | null;
  return out;
}

/** INSERT of every column of the ledger file's table, with named parameters (chargeParams). */
export function insertChargeSql(): string {
  const names = EMBEDDED.map((c) => c.column);
  return `INSERT INTO usage_charges(${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`;
}
