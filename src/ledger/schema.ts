import type { Database } from 'better-sqlite3';
import { addColumns, hasTable, migrateFile, type FileSchema } from '../lib/sqlite-schema.js';
import { entryColumnsDdl } from './header.js';
import { COSIGNATURE_DDL } from './cosignature-table.js';
import { LEGACY_MERKLE_TABLE, MERKLE_DDL, MERKLE_TABLE, moveLegacyTree } from './merkle-store.js';

/**
 * Tables: `entries` (the chain headers, indexed for audit queries), `payloads`
 * (salted, redacted content, one per entry), `checkpoints` (signed notes), `meta`,
 * `merkle_hashes` (the Merkle tree over the entries, merkle-store.ts),
 * `checkpoint_cosignatures` (witnesses' cosignatures, cosignature-table.ts).
 * Triggers abort UPDATE and DELETE. They stop mistakes, not attackers: someone
 * who can write the file can drop them, which is what the hash chain and the
 * signed checkpoints detect.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
${entryColumnsDdl()}
);
CREATE TABLE IF NOT EXISTS payloads (seq INTEGER PRIMARY KEY, salt BLOB NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, head_hash TEXT NOT NULL, time TEXT NOT NULL, note TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS entries_decision_id ON entries(decision_id);
CREATE INDEX IF NOT EXISTS entries_subject ON entries(subject_id, seq);
CREATE INDEX IF NOT EXISTS entries_team ON entries(team, seq);
CREATE INDEX IF NOT EXISTS entries_team_decision ON entries(team, decision, seq);
CREATE INDEX IF NOT EXISTS entries_action ON entries(action_type, seq);
CREATE INDEX IF NOT EXISTS entries_decision ON entries(decision, seq);
CREATE INDEX IF NOT EXISTS entries_revision ON entries(revision, seq);
CREATE INDEX IF NOT EXISTS entries_time ON entries(time_ms);
CREATE INDEX IF NOT EXISTS entries_subject_time ON entries(subject_id, time_ms);
CREATE INDEX IF NOT EXISTS entries_cost_center ON entries(cost_center, seq);
CREATE INDEX IF NOT EXISTS entries_caller ON entries(caller, seq);
CREATE INDEX IF NOT EXISTS entries_resource ON entries(resource, seq);
CREATE INDEX IF NOT EXISTS entries_request ON entries(request_id, seq);
${MERKLE_DDL}
${COSIGNATURE_DDL}
`;

const APPEND_ONLY_TABLES = ['entries', 'payloads', 'checkpoints', MERKLE_TABLE, 'checkpoint_cosignatures'];

/**
 * A payload is deleted only by an erasure (erasure.ts), on the writer's own connection while it
 * records the erasure entry: `gavel_erasing()` exists there alone, so anywhere else the delete fails.
 */
export const ERASING_FUNCTION = 'gavel_erasing';

export function appendOnlyTriggers(): string {
  return APPEND_ONLY_TABLES.map((t) => {
    const deleting = t === 'payloads' ? ` WHEN ${ERASING_FUNCTION}() = 0` : '';
    return `
CREATE TRIGGER IF NOT EXISTS ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ${t}_no_delete BEFORE DELETE ON ${t}${deleting} BEGIN SELECT RAISE(ABORT, '${t} are append-only'); END;`;
  }).join('\n');
}

/**
 * The ledger's tables' schema steps (lib/sqlite-schema.ts: PRAGMA user_version, slot 0): the
 * chain's own tables, approvals and shadow results. A new column of approvals is one entry in
 * engine/approvals/columns.ts and one step here that adds it (`addColumns(db, 'approvals', …)`).
 */
export const LEDGER_SCHEMA: FileSchema = {
  owner: 'ledger',
  slot: 0,
  steps: [
    {
      version: 1,
      what: 'a file from before schema versions: header version 2 columns (its rows keep v = 1, hashed without kind, and are decisions)',
      up: (db) =>
        addColumns(db, 'entries', [
          ['v', 'INTEGER NOT NULL DEFAULT 1'],
          ['kind', "TEXT NOT NULL DEFAULT 'decision'"],
        ]),
    },
    {
      version: 2,
      what: 'payloads may be deleted by a signed erasure: the delete trigger is made again with its condition',
      up: (db) => db.exec('DROP TRIGGER IF EXISTS payloads_no_delete'),
    },
    {
      version: 3,
      what: 'the Merkle tree keyed by the order appends write its nodes, leaves not stored: merkle_nodes above the leaves moved into merkle_hashes as it is',
      up: (db) => {
        if (hasTable(db, LEGACY_MERKLE_TABLE)) moveLegacyTree(db);
      },
    },
    {
      version: 4,
      what: "a decision's payload may be stored deflated, as a BLOB (payload-body.ts): nothing to change in the file; a gavel that would read such a body as text refuses it",
      up: () => undefined,
    },
  ],
};

/** Brings an existing file's tables up to date, then makes what is missing at the current shape. */
export function migrate(db: Database): void {
  migrateFile(db, LEDGER_SCHEMA);
  db.exec(DDL);
  db.exec('CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind, seq)');
  db.exec(appendOnlyTriggers());
}
