import { describe, expect, it } from 'vitest';
import { appendLeaf, type Hash } from '../../src/ledger/merkle.js';
import { sizeOfStored, storedCount, storedIndex } from '../../src/ledger/merkle-store.js';

/**
 * The order the ledger stores its tree's nodes in (ledger/merkle-store.ts): each append's nodes get
 * the next keys, so one append writes one run at the end of the table, and the keys of a tree of n
 * leaves are exactly 0 … storedCount(n) − 1.
 */
describe("the Merkle tree's storage order", () => {
  it('numbers the nodes of appends 0, 1, 2, … in the order appendLeaf gives them, for every size to 2,048', () => {
    const leaf: Hash = Buffer.alloc(32);
    let frontier: Hash[] = [];
    let next = 0;
    for (let size = 0; size < 2048; size++) {
      expect(storedCount(size), `nodes stored for ${size} leaves`).toBe(next);
      const step = appendLeaf(frontier, size, leaf);
      for (const n of step.nodes) expect(storedIndex(n.level, n.index), `node (${n.level}, ${n.index})`).toBe(next++);
      frontier = step.frontier;
    }
  });

  it('places the first nodes as a post-order walk does', () => {
    // Leaves 0 and 1, their parent, leaves 2 and 3, their parent, the root of the four, leaf 4.
    const order = [
      [0, 0],
      [0, 1],
      [1, 0],
      [0, 2],
      [0, 3],
      [1, 1],
      [2, 0],
      [0, 4],
    ];
    expect(order.map(([level, index]) => storedIndex(level!, index!))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives back the size from the node count, and nothing for a count no tree has', () => {
    for (let size = 0; size < 5000; size++) expect(sizeOfStored(storedCount(size))).toBe(size);
    // 1 leaf stores 1 node, 2 leaves 3: a table of 2 nodes is no whole tree.
    expect(sizeOfStored(2)).toBeUndefined();
    // 1,023 leaves store 2,036 nodes; the 1,024th leaf completes ten more levels (2,047): nothing between.
    for (let count = storedCount(1023) + 1; count < storedCount(1024); count++) expect(sizeOfStored(count)).toBeUndefined();
    // Ten million entries, and past 2^40: exact, with no 32-bit step anywhere.
    expect(sizeOfStored(storedCount(10_000_000))).toBe(10_000_000);
    expect(storedIndex(0, 2 ** 40)).toBe(2 ** 41 - 1);
    expect(sizeOfStored(storedCount(2 ** 40 + 5))).toBe(2 ** 40 + 5);
  });
});
