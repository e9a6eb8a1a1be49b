import type { Database } from 'better-sqlite3';
import { GavelError } from './errors.js';

/**
 * How gavel changes the schema of a SQLite file: ordered steps, each run once, counted in
 * `PRAGMA user_version`. The ledger file holds the tables of two owners that know nothing of each
 * other (the ledger's, usage's), each made only when its feature is on, so the header's 32 bits hold
 * one 16-bit version per owner: the ledger's in the low half (slot 0), the embedded usage store's in
 * the high half (slot 1). A file that no gavel versioned reads 0 in both.
 *
 * On open an owner runs the steps above its version, in order, then records the last, all in one
 * transaction, before it creates its tables: a step changes only tables that exist (one not yet made
 * is made later at the current shape, from its column list), so each step is written to be a no-op
 * where there is nothing to change. Step 1 of each owner brings a file made before versions were
 * kept up to date from whatever shape an older gavel left, idempotently.
 *
 * A file whose version is above the last step this gavel knows is refused (a newer gavel wrote it;
 * this one would write rows without columns it does not know), as the PostgreSQL store's schema is.
 */
export interface SchemaStep {
  version: number;
  /** What the step does, for the log and for errors. */
  what: string;
  up(db: Database): void;
}

export interface FileSchema {
  /** Whose tables: "ledger", "usage" (named in errors). */
  owner: string;
  slot: 0 | 1;
  /** Versions 1, 2, 3… in order; never edited once released, only appended to. */
  steps: readonly SchemaStep[];
}

export interface SchemaMigration {
  from: number;
  to: number;
  applied: number[];
}

const SLOT_BITS = 16;
const SLOT_MAX = (1 << SLOT_BITS) - 1;

/** The version an owner's tables are at in this file (0: never versioned). */
export function fileVersion(db: Database, slot: 0 | 1): number {
  const header = (db.pragma('user_version', { simple: true }) as number) >>> 0;
  return (header >>> (slot * SLOT_BITS)) & SLOT_MAX;
}

function setFileVersion(db: Database, slot: 0 | 1, version: number): void {
  const header = (db.pragma('user_version', { simple: true }) as number) >>> 0;
  const shift = slot * SLOT_BITS;
  const next = (header & ~(SLOT_MAX << shift)) | (version << shift) | 0;
  db.pragma(`user_version = ${next}`);
}

/** The last version of a schema (what a file is at once migrated). */
export function latestVersion(schema: FileSchema): number {
  return schema.steps.length === 0 ? 0 : schema.steps[schema.steps.length - 1]!.version;
}

/** Runs the owner's steps this file has not had, in one transaction (a savepoint inside the caller's). */
export function migrateFile(db: Database, schema: FileSchema): SchemaMigration {
  checkSteps(schema);
  const latest = latestVersion(schema);
  return db.transaction((): SchemaMigration => {
    const from = fileVersion(db, schema.slot);
    if (from > latest) {
      throw new GavelError(
        'config_invalid',
        `the ${schema.owner} tables of ${db.name} are at schema version ${from}, newer than this gavel knows (${latest}): upgrade gavel before opening this file`,
      );
    }
    const applied: number[] = [];
    for (const step of schema.steps) {
      if (step.version <= from) continue;
      step.up(db);
      applied.push(step.version);
    }
    if (from !== latest) setFileVersion(db, schema.slot, latest);
    return { from, to: latest, applied };
  })();
}

function checkSteps(schema: FileSchema): void {
  schema.steps.forEach((step, i) => {
    if (step.version !== i + 1) throw new Error(`${schema.owner} schema step ${i + 1} is numbered ${step.version}: steps are numbered 1, 2, 3… in order`);
  });
  if (latestVersion(schema) > SLOT_MAX) throw new Error(`${schema.owner} schema has more than ${SLOT_MAX} steps`);
}

export function hasTable(db: Database, table: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
}

export function columnNames(db: Database, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
}

/**
 * A step's usual body: the columns a table lacks are added (`[name, definition]`); nothing when the
 * table does not exist yet (it is made whole later) or already has them.
 */
export function addColumns(db: Database, table: string, columns: ReadonlyArray<readonly [name: string, definition: string]>): void {
  if (!hasTable(db, table)) return;
  const have = columnNames(db, table);
  for (const [name, definition] of columns) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${definition}`);
}
