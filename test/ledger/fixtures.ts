import { closeSync, copyFileSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/lib/canonical.js';
import type { Runtime, RuntimeConfig } from '../../src/runtime.js';
import type { EntryRecord } from '../../src/engine/ledger.js';
import type { ChainHeader, EntryRow } from '../../src/ledger/header.js';
import type { Hash } from '../../src/ledger/merkle.js';
import { MerkleStore } from '../../src/ledger/merkle-store.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { bodyText, type StoredBody } from '../../src/ledger/payload-body.js';

/** Shared pieces of the ledger tests: echo-fixture inputs, core options, raw rows and file copies. */

export const ECHO = 'fixtures/echo';

export interface Reason {
  code: string;
  rule?: string;
  effect?: string;
  message?: string;
}

export interface EchoSpec {
  subject?: string;
  team?: string;
  type?: string;
  action?: string;
  model?: string;
  tool?: string;
  decision?: string;
  reasons?: Reason[];
  extra?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/** An input for fixtures/echo: the policy result is `input.result`. */
export function echoInput(s: EchoSpec = {}): Record<string, unknown> {
  const action: Record<string, unknown> = { type: s.action ?? 'model.invoke' };
  if (s.tool !== undefined) action.tool = s.tool;
  else action.model = s.model ?? 'standard-m';
  return {
    subject: { id: s.subject ?? 'alice', team: s.team ?? 'payments', type: s.type ?? 'user' },
    action,
    ...s.extra,
    result: s.result ?? { decision: s.decision ?? 'allow', reasons: s.reasons ?? [{ code: 'allowed', rule: 'r.default', effect: s.decision ?? 'allow' }] },
  };
}

/** One entry per decision here (approvals off: a REQUIRE_APPROVAL adds its request's entry; test/approvals covers those). */
export function coreOptions(ledger: string, extra: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return { bundles: FIXTURE_BUNDLES, ledger, engine: { defaultEntrypoint: ECHO }, usage: false, approvals: false, ...extra };
}

/** Decides through the engine (no transport): what gRPC Decide calls. */
export function decideVia(core: Runtime, input: unknown, requestId = '') {
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId, caller: 'test' });
}

export type { EntryRow };

export type FullRow = EntryRow & {
  salt: Buffer;
  /** The payload's canonical text (a decision's is stored deflated: src/ledger/payload-body.ts). */
  body: string;
  /** The payload as the file holds it. */
  stored: StoredBody;
};

export function allRows(db: Database.Database): FullRow[] {
  const rows = db.prepare('SELECT e.*, p.salt AS salt, p.body AS stored FROM entries e JOIN payloads p ON p.seq = e.seq ORDER BY e.seq').all() as FullRow[];
  for (const r of rows) r.body = bodyText(r.stored);
  return rows;
}

/** The chain header of a stored row, built field by field as hash.ts documents it. */
export function headerOfRow(r: EntryRow): ChainHeader {
  const v = r.v ?? 1;
  return {
    v,
    seq: r.seq,
    // Version 2 hashes the entry's kind; version-1 rows (files written before it) do not.
    ...(v >= 2 ? { kind: r.kind } : {}),
    decision_id: r.decision_id,
    time: r.time,
    subject_id: r.subject_id,
    subject_type: r.subject_type,
    team: r.team,
    cost_center: r.cost_center,
    action_type: r.action_type,
    resource: r.resource,
    decision: r.decision,
    reason_codes: JSON.parse(r.reason_codes) as string[],
    bundle: r.bundle,
    revision: r.revision,
    digest: r.digest,
    entrypoint: r.entrypoint,
    request_id: r.request_id,
    caller: r.caller,
    payload_hash: r.payload_hash,
    prev_hash: r.prev_hash,
  };
}

/** Independent recomputation (not through hash.ts): sha256(salt || JCS(payload)). */
export function recomputePayloadHash(salt: Buffer, body: string): string {
  return createHash('sha256')
    .update(salt)
    .update(canonicalJson(JSON.parse(body)), 'utf8')
    .digest('hex');
}

/** Independent recomputation (not through hash.ts): sha256(prev_hash raw || JCS(header)). */
export function recomputeEntryHash(r: EntryRow): string {
  return createHash('sha256')
    .update(Buffer.from(r.prev_hash, 'hex'))
    .update(canonicalJson(headerOfRow(r)), 'utf8')
    .digest('hex');
}

/** Independent recomputation (not through hash.ts): the entry's Merkle leaf, sha256(0x00 || JCS(header)). */
export function recomputeLeafHash(r: EntryRow): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(canonicalJson(headerOfRow(r)), 'utf8')
    .digest();
}

/** Independent recomputation (RFC 9162 §2.1, recursively): the Merkle root over these rows' leaves. */
export function recomputeRoot(rows: EntryRow[]): string {
  const sha = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
  const mth = (leaves: Buffer[]): Buffer => {
    if (leaves.length === 0) return sha();
    if (leaves.length === 1) return leaves[0]!;
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
  };
  return mth(rows.map(recomputeLeafHash)).toString('hex');
}

/** Copies a ledger (and its key, WAL and SHM when present) into a fresh folder; returns the new ledger path. */
export function copyLedger(path: string, prefix = 'gavel-ledger-copy-'): string {
  const target = join(tempDir(prefix), 'ledger.db');
  for (const suffix of ['', '.key', '-wal', '-shm']) {
    if (existsSync(path + suffix)) copyFileSync(path + suffix, target + suffix);
  }
  return target;
}

export const TRIGGERS = ['entries', 'payloads', 'checkpoints', 'merkle_hashes'].flatMap((t) => [`${t}_no_update`, `${t}_no_delete`]);

/** Opens a ledger file for writing as an attacker would: no triggers left. */
export function openAsAttacker(path: string): Database.Database {
  const db = new Database(path);
  for (const t of TRIGGERS) db.exec(`DROP TRIGGER ${t}`);
  return db;
}

/**
 * What a capable attacker does after editing entries: throws the Merkle tree away and grows it again
 * over the entries as they now are (ledger/merkle-store.ts), so it matches them and only the signed
 * checkpoints, or a witness, can tell.
 */
export function regrowTreeAsAttacker(db: Database.Database): void {
  db.prepare('DELETE FROM merkle_hashes').run();
  const tree = new MerkleStore(db);
  let frontier: Hash[] = [];
  const rows = db.prepare('SELECT * FROM entries ORDER BY seq').all() as EntryRow[];
  rows.forEach((row, i) => {
    frontier = tree.append(frontier, i, recomputeLeafHash(row));
  });
}

/** A complete decision record for appending to a ledger directly (fresh salt; override any field). */
export function sampleRecord(over: Partial<EntryRecord> = {}): EntryRecord {
  return {
    decisionId: 'decision-wire',
    time: '2026-11-18T12:00:00.000Z',
    subjectId: 'alice',
    subjectType: 'user',
    team: 'platform',
    costCenter: 'cc-1',
    actionType: 'model.invoke',
    resource: 'standard-m',
    decision: 'redact',
    reasonCodes: ['pii_email', 'allowed'],
    bundle: 'ai',
    revision: 'rev-7',
    digest: 'sha256:abc',
    entrypoint: 'gavel/ai/decision',
    requestId: 'req-1',
    caller: 'tester',
    payload: { input: {}, result: {} },
    salt: randomBytes(16),
    ...over,
  };
}

/** The WAL header's checkpoint sequence number (bytes 12-15): SQLite adds one each time the WAL starts over. */
export function walGeneration(wal: string): number {
  const fd = openSync(wal, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}
