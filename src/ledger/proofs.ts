import type { Database } from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';
import { CheckpointError, parseCheckpoint, verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import { headerText } from './hash.js';
import { headerOfRow, type EntryRow } from './header.js';
import type { VerifierKey } from './keys.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { LEGACY_MERKLE_TABLE, MERKLE_TABLE, MerkleStore } from './merkle-store.js';
import { hasTable } from '../lib/sqlite-schema.js';

/**
 * Proofs over the ledger's Merkle tree (merkle.ts), made from a connection to the file and
 * checked with nothing but the ledger's verifier key.
 *
 * An inclusion proof is self-contained: the entry's header as the chain hashes it (its
 * canonical text, which holds its payload's salted hash, not the payload), the sibling hashes
 * from its leaf to the root, and the signed checkpoint whose root they lead to. The person a
 * decision concerns, or a regulator, can be shown that one decision, and only it.
 */
export const INCLUSION_PROOF_FORMAT = 'gavel.inclusion-proof/v1';

export interface InclusionProofBundle {
  format: typeof INCLUSION_PROOF_FORMAT;
  /** The entry: its seq (leaf index + 1) and decision id, for reading; what is proved is `header`. */
  seq: number;
  decision_id: string;
  leaf_index: number;
  tree_size: number;
  /** The entry's header, canonical JSON (RFC 8785): its leaf hash is SHA-256(0x00 || these UTF-8 bytes). */
  header: string;
  /** Sibling hashes from the leaf up (hex). */
  hashes: string[];
  /** The Merkle root at tree_size (hex): the one `checkpoint` signs. */
  root_hash: string;
  /** The signed checkpoint (a C2SP tlog-checkpoint note) at tree_size. */
  checkpoint: string;
}

export interface ConsistencyProofBundle {
  from_size: number;
  to_size: number;
  from_root: string;
  to_root: string;
  hashes: string[];
}

/** Which entry: by decision id, or by seq. */
export interface EntryRef {
  decisionId?: string;
  seq?: number;
}

/** The file's tree and its size, when it holds the whole tree of its entries. */
function treeOf(db: Database): { tree: MerkleStore; size: number } {
  if (!hasTable(db, MERKLE_TABLE)) {
    const why = hasTable(db, LEGACY_MERKLE_TABLE)
      ? "this ledger file's Merkle tree is in an earlier gavel's layout: it is moved when gavel serve next opens the file"
      : 'this ledger file has no Merkle tree yet: it is built when gavel serve next opens the file';
    throw new GavelError('proof_unavailable', why);
  }
  const tree = new MerkleStore(db);
  const size = tree.size();
  if (size === undefined) {
    throw new GavelError(
      'proof_unavailable',
      "this ledger file's Merkle tree does not hold its entries' whole tree: gavel serve grows it when it next opens the file",
    );
  }
  return { tree, size };
}

function entryOf(db: Database, ref: EntryRef): EntryRow {
  const row = (
    ref.decisionId !== undefined
      ? db.prepare('SELECT * FROM entries WHERE decision_id = ?').get(ref.decisionId)
      : db.prepare('SELECT * FROM entries WHERE seq = ?').get(ref.seq ?? 0)
  ) as EntryRow | undefined;
  if (!row)
    throw new GavelError('decision_not_found', ref.decisionId !== undefined ? `no entry has decision id ${ref.decisionId}` : `no entry has seq ${ref.seq}`);
  return row;
}

/**
 * The inclusion proof of one entry against a signed checkpoint: `checkpoint` when given (it must
 * cover the entry), else the latest stored one, which must cover it.
 */
export function inclusionProofOf(db: Database, ref: EntryRef, checkpoint?: string): InclusionProofBundle {
  const row = entryOf(db, ref);
  const note = checkpoint ?? latestRootNote(db);
  if (note === undefined) throw new GavelError('proof_unavailable', 'the ledger has no checkpoint that signs a Merkle root yet');
  const parsed = checkpointOf(note);
  if (parsed.rootHash === undefined) {
    throw new GavelError('invalid_proof_request', `the checkpoint at size ${parsed.size} is from before the Merkle tree: it signs no root to prove against`);
  }
  const size = parsed.size;
  if (row.seq > size) {
    if (checkpoint !== undefined) throw new GavelError('invalid_proof_request', `entry ${row.seq} is after the checkpoint at size ${size} asked for`);
    throw new GavelError('proof_unavailable', `entry ${row.seq} is after the checkpoint at size ${size}; a later checkpoint covers it once one is signed`);
  }
  const { tree, size: held } = treeOf(db);
  if (size > held) throw new GavelError('invalid_proof_request', `the checkpoint is at size ${size}, but this ledger's tree holds ${held} entries`);
  const root = tree.root(size).toString('hex');
  // A proof that would fail offline is refused here: the checkpoint is another ledger's, or the tree no longer matches it.
  if (root !== parsed.rootHash) {
    throw new GavelError('invalid_proof_request', `the checkpoint at size ${size} signs root ${parsed.rootHash}, but this ledger's tree there is ${root}`);
  }
  return {
    format: INCLUSION_PROOF_FORMAT,
    seq: row.seq,
    decision_id: row.decision_id,
    leaf_index: row.seq - 1,
    tree_size: size,
    header: headerText(headerOfRow(row)),
    hashes: tree.inclusion(row.seq - 1, size).map((h) => h.toString('hex')),
    root_hash: root,
    checkpoint: note,
  };
}

/** The consistency proof between two sizes of the ledger's tree (RFC 9162 §2.1.4). */
export function consistencyProofOf(db: Database, from: number, to: number): ConsistencyProofBundle {
  const { tree, size } = treeOf(db);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > size) {
    throw new GavelError('invalid_proof_request', `no consistency proof from size ${from} to ${to}: sizes must satisfy 0 <= from <= to <= ${size}`);
  }
  return {
    from_size: from,
    to_size: to,
    from_root: tree.root(from).toString('hex'),
    to_root: tree.root(to).toString('hex'),
    hashes: tree.consistency(from, to).map((h) => h.toString('hex')),
  };
}

/** The checkpoint the ledger stored at exactly this size. */
export function checkpointAt(db: Database, size: number): string {
  const note = db.prepare('SELECT note FROM checkpoints WHERE size = ?').pluck().get(size) as string | undefined;
  if (note === undefined) throw new GavelError('invalid_proof_request', `the ledger stored no checkpoint at size ${size}`);
  return note;
}

/** The latest checkpoint that signs a Merkle root (one from before the tree signs none, nor do those before it). */
function latestRootNote(db: Database): string | undefined {
  for (const note of db.prepare('SELECT note FROM checkpoints ORDER BY size DESC').pluck().iterate() as IterableIterator<string>) {
    let parsed: Checkpoint;
    try {
      parsed = parseCheckpoint(note).checkpoint;
    } catch {
      continue; // An unreadable note proves nothing; look at the one before it.
    }
    return parsed.rootHash !== undefined ? note : undefined;
  }
  return undefined;
}

function checkpointOf(note: string): Checkpoint {
  try {
    return parseCheckpoint(note).checkpoint;
  } catch (err) {
    throw new GavelError('invalid_proof_request', `the checkpoint cannot be read: ${(err as Error).message}`);
  }
}

export class ProofError extends Error {
  override readonly name = 'ProofError';
}

const HEX32 = /^[0-9a-f]{64}$/;

/**
 * Checks an inclusion proof with the ledger's verifier key alone: the checkpoint's signature, that it
 * signs a Merkle root at the proof's size, and that the header's leaf leads to that root. Returns
 * the checkpoint and the header; throws ProofError saying what does not hold.
 */
export function verifyInclusionBundle(bundle: unknown, key: VerifierKey): { checkpoint: Checkpoint; header: Record<string, unknown> } {
  const b = bundle as Partial<InclusionProofBundle>;
  if (b === null || typeof b !== 'object' || b.format !== INCLUSION_PROOF_FORMAT) throw new ProofError(`not a ${INCLUSION_PROOF_FORMAT} document`);
  if (
    typeof b.header !== 'string' ||
    typeof b.checkpoint !== 'string' ||
    !Array.isArray(b.hashes) ||
    !b.hashes.every((h) => typeof h === 'string' && HEX32.test(h))
  ) {
    throw new ProofError('the proof is malformed: header, checkpoint and hashes (64 hex digits each) are required');
  }
  if (!Number.isSafeInteger(b.leaf_index) || !Number.isSafeInteger(b.tree_size))
    throw new ProofError('the proof is malformed: leaf_index and tree_size must be integers');
  let checkpoint: Checkpoint;
  try {
    checkpoint = verifyCheckpoint(b.checkpoint, key);
  } catch (err) {
    throw new ProofError(err instanceof CheckpointError ? err.message : `the checkpoint cannot be read: ${(err as Error).message}`);
  }
  if (checkpoint.rootHash === undefined) throw new ProofError('the checkpoint is from before the Merkle tree: it signs no root to prove against');
  if (checkpoint.size !== b.tree_size) throw new ProofError(`the proof is for size ${b.tree_size}, the checkpoint for size ${checkpoint.size}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(b.header) as Record<string, unknown>;
  } catch {
    throw new ProofError('the header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new ProofError('the header is not a JSON object');
  if (header.seq !== b.leaf_index! + 1)
    throw new ProofError(`the header is entry ${String(header.seq)}, the proof for leaf ${b.leaf_index} (entry ${b.leaf_index! + 1})`);
  const leaf = leafHash(Buffer.from(b.header, 'utf8'));
  const hashes = b.hashes.map((h) => Buffer.from(h, 'hex'));
  if (!verifyInclusion(b.leaf_index!, b.tree_size!, leaf, hashes, Buffer.from(checkpoint.rootHash, 'hex'))) {
    throw new ProofError(`the entry's leaf does not lead to the checkpoint's root at size ${checkpoint.size}: the header or the proof was changed`);
  }
  return { checkpoint, header };
}

/** Checks a consistency proof between two roots (hex). */
export function verifyConsistencyBundle(b: ConsistencyProofBundle): boolean {
  return verifyConsistency(
    b.from_size,
    b.to_size,
    Buffer.from(b.from_root, 'hex'),
    Buffer.from(b.to_root, 'hex'),
    b.hashes.map((h) => Buffer.from(h, 'hex')),
  );
}
