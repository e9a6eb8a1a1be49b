import type { EntryRecord, EntryKind } from '../engine/ledger.js';

/**
 * The ledger entry header, defined once. Each field names its column (which is
 * also its name in the hash input, the gRPC `Entry` message and the CLI's JSON)
 * and the EntryRecord key it comes from. The schema, the INSERT, the hash
 * input, the row-to-summary mapping and the wire form are all derived from this
 * list, so a new header field is one line here (plus a HEADER_VERSION bump).
 */
export const RECORD_FIELDS = [
  ['kind', 'kind'],
  ['decision_id', 'decisionId'],
  ['time', 'time'],
  ['subject_id', 'subjectId'],
  ['subject_type', 'subjectType'],
  ['team', 'team'],
  ['cost_center', 'costCenter'],
  ['action_type', 'actionType'],
  ['resource', 'resource'],
  ['decision', 'decision'],
  ['reason_codes', 'reasonCodes'],
  ['bundle', 'bundle'],
  ['revision', 'revision'],
  ['digest', 'digest'],
  ['entrypoint', 'entrypoint'],
  ['request_id', 'requestId'],
  ['caller', 'caller'],
] as const satisfies ReadonlyArray<readonly [string, Exclude<keyof EntryRecord, 'payload' | 'salt'>]>;

/** Fields the chain adds around the record's: its place, its payload's hash, its link and its own hash. */
export const CHAIN_FIELDS = [
  ['seq', 'seq'],
  ['payload_hash', 'payloadHash'],
  ['prev_hash', 'prevHash'],
  ['entry_hash', 'entryHash'],
] as const;

/**
 * Version 2 added `kind`. A row keeps the version it was written with (column `v`; rows of
 * files written before it have 1), and a version-1 header is hashed without `kind`, as it was.
 */
export const HEADER_VERSION = 2;

type RecordField = (typeof RECORD_FIELDS)[number];
type ChainField = (typeof CHAIN_FIELDS)[number];
export type RecordKey = RecordField[1];

/** The record's header fields under their column names. */
export type RecordColumns = { [F in RecordField as F[0]]: F[0] extends 'kind' ? EntryKind : EntryRecord[F[1]] };

/**
 * Exactly what entry_hash covers: the version, seq, every record column,
 * payload_hash and prev_hash (not entry_hash itself, nor the derived time_ms).
 */
export type ChainHeader = { v: number; seq: number } & Omit<RecordColumns, 'kind'> & { kind?: EntryKind; payload_hash: string; prev_hash: string };

/** An entry's header as the API returns it: the record the engine wrote, plus its place in the chain. */
export type EntrySummary = Omit<EntryRecord, 'payload' | 'salt' | 'payloadJcs' | 'kind'> & {
  kind: EntryKind;
  seq: number;
  payloadHash: string;
  prevHash: string;
  entryHash: string;
};

/** An `entries` row as SQLite returns it: reason codes as JSON text, plus the derived time_ms and entry_hash. */
export type EntryRow = Omit<ChainHeader, 'v' | 'reason_codes' | 'kind'> & {
  reason_codes: string;
  time_ms: number;
  entry_hash: string;
  /** Absent in a file written before version 2 and not yet opened by a writer (read-only audit). */
  v?: number;
  kind?: EntryKind;
};

/** The entry in wire form (gRPC `Entry`, CLI `--json`): snake_case column names, one vocabulary for both. */
export type WireEntry = {
  [F in RecordField | ChainField as F[0]]: F extends RecordField ? RecordColumns[F[0]] : F[0] extends 'seq' ? number : string;
};

/** Stored columns in file order: seq, the record's columns with time_ms after time, then the chain's hashes. */
function storedColumns(): string[] {
  return ['seq', 'v', ...RECORD_FIELDS.flatMap(([c]) => (c === 'time' ? [c, 'time_ms'] : [c])), 'payload_hash', 'prev_hash', 'entry_hash'];
}

/** `CREATE TABLE entries` column list. Every text column is NOT NULL; reason_codes holds a JSON array. */
export function entryColumnsDdl(): string {
  const type = (c: string) => (c === 'seq' ? 'INTEGER PRIMARY KEY' : c === 'time_ms' || c === 'v' ? 'INTEGER NOT NULL' : 'TEXT NOT NULL');
  return storedColumns()
    .map((c) => `  ${c} ${type(c)}`)
    .join(',\n');
}

/** INSERT with named parameters, so the statement is independent of a file's column order. */
export function insertEntrySql(): string {
  const columns = storedColumns();
  return `INSERT INTO entries(${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/** The record's header columns (what the chain hashes of the record). */
export function recordColumns(r: EntryRecord): RecordColumns {
  const out: Record<string, unknown> = {};
  for (const [column, key] of RECORD_FIELDS) out[column] = r[key];
  out.kind = r.kind ?? 'decision';
  return out as RecordColumns;
}

/**
 * Throws unless every field of the record is what the chain hashes: a string, and for
 * reason_codes an array of strings. Canonical JSON of such a header cannot fail, so a record
 * that passes is sure to hash inside the transaction; checked before it, a bad record fails
 * alone instead of costing its batch a retry (and it costs no canonical text or hash).
 */
export function checkRecordColumns(columns: RecordColumns): void {
  const values = columns as unknown as Record<string, unknown>;
  for (const [column] of RECORD_FIELDS) {
    const value = values[column];
    const ok = column === 'reason_codes' ? Array.isArray(value) && value.every((code) => typeof code === 'string') : typeof value === 'string';
    if (!ok) throw new Error(`record field ${column} is not ${column === 'reason_codes' ? 'a list of strings' : 'a string'}`);
  }
}

/** Rebuilds the hashed header from a stored row (for verification). */
export function headerOfRow(row: EntryRow): ChainHeader {
  const v = row.v ?? 1;
  // Not hashed before version 2, so a version-1 row's kind can only be what it was then: a decision.
  if (v !== 1 && v !== HEADER_VERSION) throw new Error(`header version ${v} is not one this ledger writes`);
  if (v === 1 && row.kind !== undefined && row.kind !== 'decision')
    throw new Error(`a version-1 entry has kind "${row.kind}", but only decisions were written before kinds were hashed`);
  const out: Record<string, unknown> = { v, seq: row.seq };
  for (const [column] of RECORD_FIELDS) {
    if (column === 'kind') {
      if (v >= 2) out.kind = row.kind;
      continue;
    }
    out[column] = column === 'reason_codes' ? JSON.parse(row.reason_codes) : row[column];
  }
  out.payload_hash = row.payload_hash;
  out.prev_hash = row.prev_hash;
  return out as ChainHeader;
}

/** A stored row as the engine-facing summary (camelCase keys). */
export function summaryOfRow(row: EntryRow): EntrySummary {
  const out: Record<string, unknown> = {};
  for (const [column, key] of [...RECORD_FIELDS, ...CHAIN_FIELDS]) out[key] = column === 'reason_codes' ? JSON.parse(row.reason_codes) : row[column];
  out.kind = (row.v ?? 1) >= 2 ? row.kind : 'decision';
  return out as EntrySummary;
}

/** A summary in wire form: the gRPC Entry message and the CLI's JSON lines. */
export function wireEntry(e: EntrySummary): WireEntry {
  const out: Record<string, unknown> = {};
  for (const [column, key] of [...RECORD_FIELDS, ...CHAIN_FIELDS]) out[column] = e[key];
  return out as WireEntry;
}
