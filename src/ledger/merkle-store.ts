import type { Database, Statement } from 'better-sqlite3';
import { appendLeaf, consistencyProof, frontierNodes, inclusionProof, rootOf, type Hash, type NodeReader, type StoredNode } from './merkle.js';

/**
 * The ledger's Merkle tree in its own table (merkle.ts for the arithmetic): every perfect node,
 * written in the transaction of the entry that completes it (about two rows per entry), never
 * changed after (append-only triggers, schema.ts). An append touches only the table's last page;
 * a root or a proof at any size up to the ledger's reads O(log n) rows.
 *
 * Rows are keyed by the node's place in the order appends write them (`storedIndex`): the leaf,
 * then each node it completes, lowest first (the layout of Go's checksum database, golang.org/x/mod
 * sumdb/tlog). Every append's rows land at the end of one B-tree, on one page, and a walk over the
 * entries meets the nodes in key order (verify.ts reads them with one cursor).
 */
export const MERKLE_TABLE = 'merkle_hashes';

export const MERKLE_DDL = `CREATE TABLE IF NOT EXISTS ${MERKLE_TABLE} (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL
);`;

/** The table of the first tree layout, keyed (level, idx): moved into MERKLE_TABLE at a writer's open (schema.ts, step 3). */
export const LEGACY_MERKLE_TABLE = 'merkle_nodes';

const popcount = (n: number): number => {
  let bits = 0;
  for (; n > 0; n = Math.floor(n / 2)) bits += n % 2;
  return bits;
};

/** Nodes a tree of `size` leaves stores: size + size/2 + size/4 + … = 2·size − popcount(size). */
export function storedCount(size: number): number {
  return 2 * size - popcount(size);
}

/**
 * Where node (level, index) is stored: right after the last node the append of its last leaf
 * writes below it. Its last leaf is (index + 1)·2^level − 1; the nodes stored before that leaf are
 * storedCount(leaf); the leaf and the level − 1 nodes under ours that the same append completes
 * come before it.
 */
export function storedIndex(level: number, index: number): number {
  const lastLeaf = (index + 1) * 2 ** level - 1;
  return storedCount(lastLeaf) + level;
}

/** The size whose tree stores exactly `count` nodes; undefined when none does (a changed table). */
export function sizeOfStored(count: number): number | undefined {
  // storedCount grows with size and lies in [size, 2·size]: search [count/2, count].
  let lo = Math.ceil(count / 2);
  let hi = count;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (storedCount(mid) < count) lo = mid + 1;
    else hi = mid;
  }
  return storedCount(lo) === count ? lo : undefined;
}

export class MerkleNodeMissing extends Error {
  override readonly name = 'MerkleNodeMissing';
}

export class MerkleStore {
  private readonly get: Statement<[number], Buffer>;
  private readonly put: Statement<[number, Buffer]>;
  private readonly last: Statement<[], number | null>;

  constructor(db: Database) {
    this.get = db.prepare<[number], Buffer>(`SELECT hash FROM ${MERKLE_TABLE} WHERE id = ?`).pluck();
    this.put = db.prepare<[number, Buffer]>(`INSERT INTO ${MERKLE_TABLE}(id, hash) VALUES (?, ?)`);
    this.last = db.prepare<[], number | null>(`SELECT MAX(id) FROM ${MERKLE_TABLE}`).pluck();
  }

  /** Leaves stored (the tree's size as the file holds it). */
  size(): number {
    const count = (this.last.get() ?? -1) + 1;
    const size = sizeOfStored(count);
    if (size === undefined) {
      throw new Error(`the ledger's Merkle tree ends at node ${count - 1}, where no whole tree ends; run gavel audit verify on the file`);
    }
    return size;
  }

  readonly node: NodeReader = (level, index) => {
    const hash = this.get.get(storedIndex(level, index));
    if (!hash) throw new MerkleNodeMissing(`the Merkle tree has no node at level ${level}, index ${index}`);
    return hash;
  };

  /** The frontier of the tree at `size` leaves (the perfect subtrees that tile it, largest first). */
  frontier(size: number): Hash[] {
    return frontierNodes(size).map(({ level, index }) => this.node(level, index));
  }

  /** Writes leaf `size` onto a tree of `size` leaves with `frontier`; returns the frontier after it. Call inside the entry's transaction. */
  append(frontier: readonly Hash[], size: number, leaf: Hash): Hash[] {
    const next = appendLeaf(frontier, size, leaf);
    for (const n of next.nodes) this.write(n);
    return next.frontier;
  }

  private write(n: StoredNode): void {
    this.put.run(storedIndex(n.level, n.index), n.hash);
  }

  root(size: number): Hash {
    return rootOf(this.frontier(size));
  }

  inclusion(index: number, size: number): Hash[] {
    return inclusionProof(this.node, index, size);
  }

  consistency(from: number, to: number): Hash[] {
    return consistencyProof(this.node, from, to);
  }
}

/**
 * Moves a tree stored in the first layout ((level, idx) keys) into MERKLE_TABLE, row for row, as
 * it is (a changed node stays changed, for `audit verify` to find), and drops the old table.
 */
export function moveLegacyTree(db: Database): void {
  db.exec(MERKLE_DDL);
  db.function('gavel_stored_index', { deterministic: true }, (level, idx) => storedIndex(Number(level), Number(idx)));
  db.exec(`INSERT INTO ${MERKLE_TABLE}(id, hash) SELECT gavel_stored_index(level, idx), hash FROM ${LEGACY_MERKLE_TABLE}`);
  db.exec(`DROP TABLE ${LEGACY_MERKLE_TABLE}`);
}
