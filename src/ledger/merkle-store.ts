import type { Database, Statement } from 'better-sqlite3';
import { appendLeaf, consistencyProof, frontierNodes, inclusionProof, rootOf, type Hash, type NodeReader, type StoredNode } from './merkle.js';

/**
 * The ledger's Merkle tree in its own file (merkle.ts for the arithmetic): every perfect node,
 * (level, index) → hash, written in the transaction of the entry that completes it (about two
 * rows per entry), never changed after (append-only triggers, schema.ts). An append touches
 * only the tail of each level; a root or a proof at any size up to the ledger's reads
 * O(log n) rows.
 */
export const MERKLE_DDL = `CREATE TABLE IF NOT EXISTS merkle_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;`;

export class MerkleNodeMissing extends Error {
  override readonly name = 'MerkleNodeMissing';
}

export class MerkleStore {
  private readonly get: Statement<[number, number], Buffer>;
  private readonly put: Statement<[number, number, Buffer]>;
  private readonly leaves: Statement<[], number | null>;

  constructor(db: Database) {
    this.get = db.prepare<[number, number], Buffer>('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?').pluck();
    this.put = db.prepare<[number, number, Buffer]>('INSERT INTO merkle_nodes(level, idx, hash) VALUES (?, ?, ?)');
    this.leaves = db.prepare<[], number | null>('SELECT MAX(idx) + 1 FROM merkle_nodes WHERE level = 0').pluck();
  }

  /** Leaves stored (the tree's size as the file holds it). */
  size(): number {
    return this.leaves.get() ?? 0;
  }

  readonly node: NodeReader = (level, index) => {
    const hash = this.get.get(level, index);
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
    this.put.run(n.level, n.index, n.hash);
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
