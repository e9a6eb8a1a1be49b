import type { Database, Statement } from 'better-sqlite3';
import { entryLeafHash } from './hash.js';
import { type EntryRow, headerOfRow } from './header.js';
import { appendLeaf, consistencyProof, frontierNodes, inclusionProof, rootOf, type Hash, type NodeReader, type StoredNode } from './merkle.js';

/**
 * The ledger's Merkle tree in its own table (merkle.ts for the arithmetic): every perfect node above
 * the leaves, written in the transaction of the entry that completes it (about one row per entry),
 * never changed after (append-only triggers, schema.ts). An append touches only the table's last
 * page, and half of them (each even leaf) write nothing; a root or a proof at any size up to the
 * ledger's reads O(log n) rows.
 *
 * Leaves are not stored: leaf i is the hash of entry i + 1's header (hash.ts, `entryLeafHash`), read
 * from its row when a proof or a frontier needs it, so a stored leaf would only repeat the entry.
 *
 * Rows are keyed by the order appends write them (`storedIndex`): the nodes a leaf completes,
 * lowest first (the post-order layout of Go's checksum database, golang.org/x/mod/sumdb/tlog,
 * without its leaves). A walk over the entries meets the nodes in key order (verify.ts reads them
 * with one cursor).
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

/** Nodes above the leaves in a tree of `size` leaves: size/2 + size/4 + … = size − popcount(size). */
export function storedCount(size: number): number {
  return size - popcount(size);
}

/**
 * Where node (level ≥ 1, index) is stored: its last leaf is L = (index + 1)·2^level − 1; the trees
 * before L store storedCount(L) nodes, and the append of L writes levels 1, 2, … in that order.
 */
export function storedIndex(level: number, index: number): number {
  if (level < 1) throw new RangeError(`leaves are not stored (level ${level}, index ${index})`);
  const lastLeaf = (index + 1) * 2 ** level - 1;
  return storedCount(lastLeaf) + level - 1;
}

/**
 * The smallest size whose tree stores exactly `count` nodes (an even leaf adds none, so a count
 * fits one size or two); undefined when none does (a changed table).
 */
export function sizeOfStored(count: number): number | undefined {
  // A key an attacker wrote past 2^52 (or below 0) is no tree at all; the search below needs exact halves.
  if (!Number.isSafeInteger(2 * count + 1) || count < 0) return undefined;
  // storedCount never decreases and lies in [size/2, size]: search [count, 2·count + 1].
  let lo = count;
  let hi = 2 * count + 1;
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

/** Where the tree's leaves come from: the ledger's entries (`entryLeaves`), or any list of leaf hashes. */
export interface LeafSource {
  /** Leaves there are. */
  count(): number;
  /** Leaf `index`'s hash. */
  leaf(index: number): Hash;
}

/** Leaf i is the hash of entry i + 1's header, from its row. */
export function entryLeaves(db: Database): LeafSource {
  const entry = db.prepare<[number], EntryRow>('SELECT * FROM entries WHERE seq = ?');
  const last = db.prepare<[], number | null>('SELECT MAX(seq) FROM entries').pluck();
  return {
    count: () => last.get() ?? 0,
    leaf: (index) => {
      const row = entry.get(index + 1);
      if (!row) throw new MerkleNodeMissing(`the Merkle tree has no leaf ${index}: the ledger has no entry ${index + 1}`);
      return entryLeafHash(headerOfRow(row));
    },
  };
}

export class MerkleStore {
  private readonly get: Statement<[number], Buffer>;
  private readonly put: Statement<[number, Buffer]>;
  private readonly last: Statement<[], number | null>;

  constructor(
    db: Database,
    private readonly leaves: LeafSource = entryLeaves(db),
  ) {
    this.get = db.prepare<[number], Buffer>(`SELECT hash FROM ${MERKLE_TABLE} WHERE id = ?`).pluck();
    this.put = db.prepare<[number, Buffer]>(`INSERT INTO ${MERKLE_TABLE}(id, hash) VALUES (?, ?)`);
    this.last = db.prepare<[], number | null>(`SELECT MAX(id) FROM ${MERKLE_TABLE}`).pluck();
  }

  /** Nodes stored. */
  stored(): number {
    return (this.last.get() ?? -1) + 1;
  }

  /** Where growing the tree starts again: the smallest size whose tree is what the table holds. */
  grownTo(): number {
    const size = sizeOfStored(this.stored());
    if (size === undefined) {
      throw new Error(`the ledger's Merkle tree holds ${this.stored()} nodes, which no tree of whole entries holds; run gavel audit verify on the file`);
    }
    return size;
  }

  /** The tree's size: its leaves', when the table holds their whole tree (undefined: not built yet, or changed). */
  size(): number | undefined {
    const leaves = this.leaves.count();
    return this.stored() === storedCount(leaves) ? leaves : undefined;
  }

  readonly node: NodeReader = (level, index) => {
    if (level === 0) return this.leaves.leaf(index);
    const hash = this.get.get(storedIndex(level, index));
    if (!hash) throw new MerkleNodeMissing(`the Merkle tree has no node at level ${level}, index ${index}`);
    return hash;
  };

  /** The frontier of the tree at `size` leaves (the perfect subtrees that tile it, largest first). */
  frontier(size: number): Hash[] {
    return frontierNodes(size).map(({ level, index }) => this.node(level, index));
  }

  /** Writes the nodes leaf `size` completes on a tree of `size` leaves with `frontier`; returns the frontier after it. Call inside the entry's transaction. */
  append(frontier: readonly Hash[], size: number, leaf: Hash): Hash[] {
    const next = appendLeaf(frontier, size, leaf);
    for (const n of next.nodes) if (n.level > 0) this.write(n);
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
 * Moves a tree stored in the first layout ((level, idx) keys, leaves too) into MERKLE_TABLE: every
 * node above the leaves as it is (a changed node stays changed, for `audit verify` to find); the
 * leaves are dropped, as each repeats its entry. Then drops the old table.
 */
export function moveLegacyTree(db: Database): void {
  db.exec(MERKLE_DDL);
  db.function('gavel_stored_index', { deterministic: true }, (level, idx) => storedIndex(Number(level), Number(idx)));
  db.exec(`INSERT INTO ${MERKLE_TABLE}(id, hash) SELECT gavel_stored_index(level, idx), hash FROM ${LEGACY_MERKLE_TABLE} WHERE level > 0`);
  db.exec(`DROP TABLE ${LEGACY_MERKLE_TABLE}`);
}
