import BetterSqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { CheckpointError, verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import { entryHashes, GENESIS_HASH, headerText, payloadHash } from './hash.js';
import { bodyText, type StoredBody } from './payload-body.js';
import { appendLeaf, EMPTY_ROOT, rootOf, type Hash } from './merkle.js';
import { LEGACY_MERKLE_TABLE, MERKLE_TABLE, storedIndex } from './merkle-store.js';
import { hasTable } from '../lib/sqlite-schema.js';
import { newestWitnessed } from './cosignature-table.js';
import { erasureDetail, erasureSigned } from './erasure.js';
import { verify } from 'node:crypto';
import { type ChainHeader, headerOfRow, type EntryRow } from './header.js';
import { errorMessage } from '../lib/errors.js';
import type { VerifierKey } from './keys.js';

export type FailureKind =
  | 'entry_missing'
  | 'entry_inserted'
  | 'order_changed'
  | 'chain_broken'
  | 'payload_changed'
  | 'header_changed'
  | 'checkpoint_invalid'
  | 'tail_truncated'
  | 'history_rewritten'
  | 'tree_changed'
  | 'witnesses_missing'
  | 'payload_missing'
  | 'erasure_invalid';

export interface VerifyFailure {
  seq: number;
  kind: FailureKind;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  headHash: string;
  checkpointsChecked: number;
  /** Entries whose payload an erasure entry removed: their headers still verify. */
  payloadsErased: number;
  /** The erasure entries that removed them (seqs, ascending). */
  erasures: number[];
  /** The Merkle tree's nodes were checked against the entries (false: a file from before the tree, never opened by a writer since). */
  treeChecked: boolean;
  /** With `witnesses` asked for: the newest checkpoint size that enough of them cosigned, and their names. */
  witnessed?: { size: number; by: string[] };
  failure?: VerifyFailure;
}

export interface VerifyOptions {
  /** Key that must have signed every checkpoint. */
  key: VerifierKey;
  /** An exported checkpoint (signed note) the ledger must still extend. */
  externalCheckpoint?: string;
  onProgress?: (done: number, total: number) => void;
  /** Require a checkpoint (stored, or the exported one) cosigned by at least `min` of these witnesses (C2SP tlog-cosignature). */
  witnesses?: { keys: VerifierKey[]; min: number };
}

interface Row extends EntryRow {
  salt: Buffer | null;
  /** As stored (payload-body.ts): text, or a decision's deflated bytes. */
  body: StoredBody | null;
}

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.message);
  }
}

function fail(seq: number, kind: FailureKind, message: string): never {
  throw new Failed({ seq, kind, message: `seq ${seq}: ${message}` });
}

/** What the walk keeps: the last two hashes and the hashes at checkpointed sizes (not all of them: 10M entries must fit). */
interface ChainState {
  size: number;
  head: string;
  beforeHead: string | undefined;
  wanted: Set<number>;
  atSize: Map<number, string>;
  erased: number;
  /** Seqs whose payload is gone, as runs [from, to], ascending (an erasure entry after each must name it). */
  missing: Array<[number, number]>;
  /** The runs erasure entries name, each with the erasure entry's seq. */
  covered: Array<{ from: number; to: number; by: number }>;
  /** The Merkle tree recomputed from the entries walked so far, its roots at the checkpointed sizes, and its nodes counted. */
  frontier: Hash[];
  rootAt: Map<number, string>;
  nodes: number;
  /** The ledger's verifier key: erasure entries carry its signature. */
  key: VerifierKey;
  /** How the file's stored nodes are read (undefined: no tree in the file). */
  tree: StoredTree | undefined;
}

/** The file's stored nodes, as the walk completes them (in the order appends wrote them). */
interface StoredTree {
  /** The node's stored hash; undefined when it is missing or not a hash. */
  read(level: number, index: number): Buffer | undefined;
  /** Nodes stored in all. */
  count(): number;
  close(): void;
}

/**
 * Recomputes every payload hash and the whole chain, then checks every stored
 * checkpoint (and an optional exported one) against it. Stops at the first
 * problem and names its seq and kind.
 */
/** Rows checked between two yields of the asynchronous walk. */
const ROWS_PER_STEP = 5000;

/** Verifies in one synchronous run (the CLI). */
export function verifyLedger(db: Database, options: VerifyOptions): VerifyReport {
  const steps = verifySteps(db, options);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * Verifies in slices of ROWS_PER_STEP rows, giving the event loop back between
 * slices, so a server keeps answering while an auditor verifies a large ledger.
 * Use a connection of its own: the walk holds one read snapshot throughout.
 */
export async function verifyLedgerFile(path: string, options: VerifyOptions): Promise<VerifyReport> {
  const reader = new BetterSqlite(path, { readonly: true, fileMustExist: true });
  try {
    return await verifyLedgerAsync(reader, options);
  } finally {
    reader.close();
  }
}

export async function verifyLedgerAsync(db: Database, options: VerifyOptions): Promise<VerifyReport> {
  const steps = verifySteps(db, options);
  let step = steps.next();
  while (!step.done) {
    await new Promise((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  return step.value;
}

/** One read transaction, so the count, the checkpoints and the chain come from the same snapshot. */
function* verifySteps(db: Database, options: VerifyOptions): Generator<void, VerifyReport> {
  db.exec('BEGIN');
  try {
    return yield* verifyInSnapshot(db, options);
  } finally {
    db.exec('COMMIT');
  }
}

function* verifyInSnapshot(db: Database, options: VerifyOptions): Generator<void, VerifyReport> {
  const total = (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
  const notes = db.prepare('SELECT size, note FROM checkpoints ORDER BY size').all() as Array<{ size: number; note: string }>;
  const external = options.externalCheckpoint;
  const wanted = new Set(notes.map((n) => n.size));
  const state: ChainState = {
    size: 0,
    head: GENESIS_HASH,
    beforeHead: undefined,
    wanted,
    atSize: new Map([[0, GENESIS_HASH]]),
    erased: 0,
    missing: [],
    covered: [],
    frontier: [],
    rootAt: new Map([[0, EMPTY_ROOT.toString('hex')]]),
    nodes: 0,
    tree: treeOf(db),
    key: options.key,
  };
  let checkpointsChecked = 0;
  let witnessed: VerifyReport['witnessed'];
  try {
    // Parse the exported checkpoint first so its size is remembered during the walk.
    const externalCp = external === undefined ? undefined : verifiedCheckpoint(external, options.key, 0);
    if (externalCp) wanted.add(externalCp.size);
    yield* walkChain(db, total, state, options.onProgress);
    checkpointsChecked = checkStored(notes, state, options.key);
    if (externalCp) {
      // Every stored checkpoint matched the chain by now, so a mismatch lies after the last one below the exported size.
      const lastGood = notes.reduce((best, n) => (n.size < externalCp.size && n.size > best ? n.size : best), 0);
      checkAgainstChain(externalCp, state, lastGood);
      checkpointsChecked++;
    }
    // After the checkpoints: a tail cut off with its checkpoint left behind is tail_truncated, more telling than its leftover nodes.
    checkTreeSize(state);
    checkErased(state);
    if (options.witnesses)
      witnessed = checkWitnessed(db, external === undefined ? notes : [...notes, { size: externalCp!.size, note: external }], state, options.witnesses);
  } catch (err) {
    if (!(err instanceof Failed)) throw err;
    const treeChecked = state.tree !== undefined;
    const erasures = erasuresOf(state);
    return {
      ok: false,
      entries: state.size,
      headHash: state.head,
      checkpointsChecked,
      payloadsErased: state.erased,
      erasures,
      treeChecked,
      failure: err.failure,
    };
  }
  return {
    ok: true,
    entries: state.size,
    headHash: state.head,
    checkpointsChecked,
    payloadsErased: state.erased,
    erasures: erasuresOf(state),
    treeChecked: state.tree !== undefined,
    ...(witnessed ? { witnessed } : {}),
  };
}

/**
 * The newest checkpoint that enough witnesses cosigned (every note here already matched the
 * entries). None is a failure: the file's history was not seen by the witnesses the auditor trusts.
 */
function checkWitnessed(
  db: Database,
  notes: ReadonlyArray<{ size: number; note: string }>,
  state: ChainState,
  witnesses: NonNullable<VerifyOptions['witnesses']>,
): VerifyReport['witnessed'] {
  let found: ReturnType<typeof newestWitnessed>;
  try {
    found = newestWitnessed(
      db,
      notes.filter((n) => n.size <= state.size),
      witnesses.keys,
      witnesses.min,
    );
  } catch (err) {
    fail(state.size, 'checkpoint_invalid', errorMessage(err));
  }
  if (!found) {
    const names = witnesses.keys.map((k) => k.name).join(', ');
    fail(state.size, 'witnesses_missing', `no checkpoint of this ledger carries cosignatures of ${witnesses.min} of the witnesses given (${names})`);
  }
  return { size: found.size, by: found.cosignatures.map((c) => c.witness) };
}

function* walkChain(db: Database, total: number, state: ChainState, onProgress?: (done: number, total: number) => void): Generator<void, void> {
  const rows = db
    .prepare('SELECT e.*, p.salt AS salt, p.body AS body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ORDER BY e.seq')
    .iterate() as IterableIterator<Row>;
  try {
    let current = rows.next();
    while (!current.done) {
      const next = rows.next();
      checkRow(current.value, next.done ? undefined : next.value, state);
      state.beforeHead = state.head;
      state.head = current.value.entry_hash;
      state.size++;
      if (state.wanted.has(state.size)) {
        state.atSize.set(state.size, state.head);
        state.rootAt.set(state.size, rootOf(state.frontier).toString('hex'));
      }
      if (state.size % ROWS_PER_STEP === 0) {
        onProgress?.(state.size, total);
        yield;
      }
      current = next;
    }
  } finally {
    // A failure stops the walk mid-statement; until the iterator is closed the
    // connection is busy and refuses every other statement (close, appends).
    rows.return?.();
    state.tree?.close();
  }
  onProgress?.(state.size, total);
}

function checkRow(row: Row, next: Row | undefined, state: ChainState): void {
  const expectedSeq = state.size + 1;
  if (row.seq > expectedSeq) fail(expectedSeq, 'entry_missing', `entry is missing (the next entry present is seq ${row.seq})`);
  if (row.prev_hash !== state.head) classifyBrokenLink(row, next, state);
  let payloadText: string | null = null;
  if (row.body === null || row.salt === null) {
    // Gone: the header keeps payload_hash, so the chain still verifies; an erasure entry after it must name it (checkErased).
    if (row.kind === 'erasure') fail(row.seq, 'erasure_invalid', 'the erasure entry has lost its own payload: who erased what, and why, is gone');
    state.erased++;
    const last = state.missing[state.missing.length - 1];
    if (last && last[1] === row.seq - 1) last[1] = row.seq;
    else state.missing.push([row.seq, row.seq]);
  } else {
    payloadText = storedText(row.seq, row.body);
    const actualPayload = payloadHash(row.salt, payloadText);
    if (actualPayload !== row.payload_hash) {
      fail(row.seq, 'payload_changed', `payload changed: payload_hash recorded ${row.payload_hash}, recomputed ${actualPayload}`);
    }
  }
  const header = storedHeader(row);
  const text = headerText(header);
  const { entryHash: actualEntry, leaf } = entryHashes(header, text);
  if (actualEntry !== row.entry_hash || row.time_ms !== Date.parse(row.time)) {
    fail(row.seq, 'header_changed', `header changed: entry_hash recorded ${row.entry_hash}, recomputed ${actualEntry}`);
  }
  growTree(row.seq, leaf, state);
  if (row.kind === 'erasure') checkErasureEntry(row, payloadText, state);
}

/** A present payload's canonical text; a stored body that does not inflate fails the entry as changed. */
function storedText(seq: number, body: StoredBody): string {
  try {
    return bodyText(body);
  } catch (err) {
    return fail(seq, 'payload_changed', `payload changed: its stored body does not inflate (${errorMessage(err)})`);
  }
}

/** An erasure entry names only seqs before it, each of whose payload is gone by now (`text`: its payload, checked against its hash). */
function checkErasureEntry(row: Row, text: string | null, state: ChainState): void {
  const detail = erasureDetail(text);
  if (!detail) fail(row.seq, 'erasure_invalid', 'the erasure entry does not say which seqs it erased');
  const { signature, ...signed } = detail;
  if (typeof signature !== 'string' || !verify(null, erasureSigned(signed), state.key.publicKey, Buffer.from(signature, 'base64'))) {
    fail(row.seq, 'erasure_invalid', "the erasure entry is not signed by the ledger's key: gavel did not write it");
  }
  for (const [from, to] of detail.seqs) {
    if (from < 1 || to >= row.seq) fail(row.seq, 'erasure_invalid', `the erasure entry names seqs ${from}-${to}, not all before it`);
    const kept = firstNotIn(state.missing, from, to);
    if (kept !== undefined) fail(row.seq, 'erasure_invalid', `the erasure entry says it erased seq ${kept}, whose payload is still stored`);
    state.covered.push({ from, to, by: row.seq });
  }
}

/** The first seq in [from, to] that `runs` (ascending, disjoint) do not contain. */
function firstNotIn(runs: ReadonlyArray<[number, number]>, from: number, to: number): number | undefined {
  let lo = 0;
  let hi = runs.length - 1;
  // The last run starting at or before `from`.
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]![0] <= from) lo = mid + 1;
    else hi = mid - 1;
  }
  let at = from;
  for (let i = hi; i >= 0 && i < runs.length && at <= to; i++) {
    const [a, b] = runs[i]!;
    if (a > at) return at;
    if (b >= at) at = b + 1;
  }
  return at <= to ? at : undefined;
}

/** Every gone payload was named by an erasure entry after it; the first one none names fails. */
function checkErased(state: ChainState): void {
  const covered = [...state.covered].sort((a, b) => a.from - b.from);
  let i = 0;
  let reach = 0; // covered up to here (inclusive), by the runs starting at or before the current seq
  for (const [from, to] of state.missing) {
    let at = from;
    while (at <= to) {
      while (i < covered.length && covered[i]!.from <= at) reach = Math.max(reach, covered[i++]!.to);
      if (reach < at) fail(at, 'payload_missing', 'the payload is gone, and no erasure entry names it: erased outside gavel, or lost');
      at = reach + 1;
    }
  }
}

function erasuresOf(state: ChainState): number[] {
  return [...new Set(state.covered.map((c) => c.by))].sort((a, b) => a - b);
}

/** The stored tree, when the file has one. */
function treeOf(db: Database): StoredTree | undefined {
  const table = hasTable(db, MERKLE_TABLE) ? MERKLE_TABLE : hasTable(db, LEGACY_MERKLE_TABLE) ? LEGACY_MERKLE_TABLE : undefined;
  if (!table) return undefined;
  try {
    // The first layout stored the leaves too; they repeat the entries and are not compared.
    const above = table === LEGACY_MERKLE_TABLE ? ' WHERE level > 0' : '';
    const count = () => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}${above}`).get() as { n: number }).n;
    return table === MERKLE_TABLE ? inOrder(db, count) : byPlace(db, count);
  } catch (err) {
    // A table rebuilt without its columns: every node reads as missing, and the first entry names why.
    const why = errorMessage(err);
    return { read: () => fail(1, 'tree_changed', `the Merkle tree cannot be read: ${why}`), count: () => 0, close: () => {} };
  }
}

/** The tree keyed by the order appends write it: one cursor, read along with the entries. */
function inOrder(db: Database, count: () => number): StoredTree {
  const walk = db.prepare(`SELECT id, hash FROM ${MERKLE_TABLE} ORDER BY id`).raw();
  // Opened at the first read, so a verify that fails before the walk leaves no statement running.
  let rows: IterableIterator<[number, unknown]> | undefined;
  let current: IteratorResult<[number, unknown]> = { done: true, value: undefined };
  return {
    read: (level, index) => {
      if (!rows) {
        rows = walk.iterate() as IterableIterator<[number, unknown]>;
        current = rows.next();
      }
      const want = storedIndex(level, index);
      // Rows before the one wanted were read already, or are strays (a node count past the entries names them).
      while (!current.done && current.value[0] < want) current = rows.next();
      if (current.done || current.value[0] !== want) return undefined;
      const hash = current.value[1];
      current = rows.next();
      // A hash stored as text or a number is no node at all.
      return Buffer.isBuffer(hash) ? hash : undefined;
    },
    count,
    close: () => rows?.return?.(),
  };
}

/** A file whose tree is still in the first layout ((level, idx) keys; no writer has opened it since): read node by node. */
function byPlace(db: Database, count: () => number): StoredTree {
  const get = db.prepare<[number, number], unknown>(`SELECT hash FROM ${LEGACY_MERKLE_TABLE} WHERE level = ? AND idx = ?`).pluck();
  return {
    read: (level, index) => {
      const hash = get.get(level, index);
      return Buffer.isBuffer(hash) ? hash : undefined;
    },
    count,
    close: () => {},
  };
}

/**
 * Adds entry `seq`'s leaf to the recomputed tree; every node above the leaves it completes must be
 * stored as recomputed (the leaf itself is the entry's, not stored: merkle-store.ts).
 */
function growTree(seq: number, leaf: Hash, state: ChainState): void {
  const next = appendLeaf(state.frontier, state.size, leaf);
  for (let i = 1; state.tree && i < next.nodes.length; i++) {
    const n = next.nodes[i]!;
    const stored = state.tree.read(n.level, n.index);
    if (!stored?.equals(n.hash)) {
      fail(
        seq,
        'tree_changed',
        `the Merkle tree does not match the entries: node (level ${n.level}, index ${n.index}), completed by it, is ${stored ? `stored as ${stored.toString('hex')}` : 'missing'}, recomputed ${n.hash.toString('hex')}`,
      );
    }
  }
  state.frontier = next.frontier;
  state.nodes += next.nodes.length - 1;
}

/** Nodes past the entries (a tree grown for entries since removed, or rows added) are a changed tree too. */
function checkTreeSize(state: ChainState): void {
  if (!state.tree) return;
  let stored = 0;
  try {
    stored = state.tree.count();
  } catch (err) {
    fail(state.size + 1, 'tree_changed', `the Merkle tree cannot be read: ${errorMessage(err)}`);
  }
  if (stored !== state.nodes) {
    fail(
      state.size + 1,
      'tree_changed',
      `the Merkle tree holds ${stored} nodes where ${state.size} entries make ${state.nodes}: nodes past the last entry (entries removed from the end, or nodes added)`,
    );
  }
}

/** The hashed header of a row; a column an attacker filled with garbage (reason_codes that is not JSON) is a changed header, not a crash. */
function storedHeader(row: Row): ChainHeader {
  try {
    return headerOfRow(row);
  } catch (err) {
    const why = err instanceof SyntaxError ? 'reason_codes is not the JSON array that was hashed' : (err as Error).message;
    return fail(row.seq, 'header_changed', `header changed: ${why}`);
  }
}

/** The row does not link to its predecessor: say whether it was reordered, inserted, or simply broken. */
function classifyBrokenLink(row: Row, next: Row | undefined, state: ChainState): never {
  if (next && next.prev_hash === state.head && row.prev_hash === next.entry_hash) {
    fail(row.seq, 'order_changed', `entries ${row.seq} and ${next.seq} are in swapped order`);
  }
  if (state.beforeHead !== undefined && row.prev_hash === state.beforeHead) {
    fail(row.seq - 1, 'entry_inserted', `entry was inserted: entry ${row.seq} links past it to entry ${row.seq - 2}`);
  }
  if (next && next.prev_hash === state.head) fail(row.seq, 'entry_inserted', `entry was inserted: entry ${next.seq} links past it`);
  fail(row.seq, 'chain_broken', `prev_hash recorded ${row.prev_hash}, expected ${state.head}`);
}

function checkStored(notes: Array<{ size: number; note: string }>, state: ChainState, key: VerifierKey): number {
  let lastGood = 0;
  for (const { size, note } of notes) {
    const c = verifiedCheckpoint(note, key, size);
    if (c.size !== size) fail(size, 'checkpoint_invalid', `checkpoint row ${size} holds a note for size ${c.size}`);
    checkAgainstChain(c, state, lastGood);
    lastGood = c.size;
  }
  return notes.length;
}

function verifiedCheckpoint(note: string, key: VerifierKey, at: number): Checkpoint {
  try {
    return verifyCheckpoint(note, key);
  } catch (err) {
    // Whatever makes a note unreadable (not only a CheckpointError) makes it an invalid checkpoint, never a crash of the audit.
    return fail(at, 'checkpoint_invalid', err instanceof CheckpointError ? err.message : `checkpoint note is malformed: ${errorMessage(err)}`);
  }
}

function checkAgainstChain(c: Checkpoint, state: ChainState, lastGood: number): void {
  if (c.size > state.size) {
    fail(
      state.size + 1,
      'tail_truncated',
      `ledger ends at ${state.size} entries but a signed checkpoint commits to ${c.size}; entries ${state.size + 1}..${c.size} are missing`,
    );
  }
  if (c.rootHash !== undefined && !state.tree) {
    fail(c.size, 'tree_changed', `the ledger has no Merkle tree, but the checkpoint at size ${c.size} signs one's root: the tree was removed`);
  }
  const actual = state.atSize.get(c.size);
  const root = state.rootAt.get(c.size);
  if (c.rootHash !== undefined && root !== c.rootHash) {
    fail(
      c.size,
      'history_rewritten',
      `the entries' Merkle root at size ${c.size} is ${root} but the signed checkpoint says ${c.rootHash}; history was rewritten between seq ${lastGood + 1} and ${c.size}`,
    );
  }
  if (actual !== c.headHash) {
    fail(
      c.size,
      'history_rewritten',
      `entry ${c.size} has hash ${actual} but the signed checkpoint says ${c.headHash}; history was rewritten between seq ${lastGood + 1} and ${c.size}`,
    );
  }
}
