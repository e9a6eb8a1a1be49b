import { describe, expect, it } from 'vitest';
import { appendLeaf, type Hash } from '../../src/ledger/merkle.js';
import { sizeOfStored, storedCount, storedIndex } from '../../src/ledger/merkle-store.js';

/**
 * The order the ledger stores its tree's nodes in (ledger/merkle-store.ts): the nodes above the
 * leaves, each append's at the next keys, so one append writes one run at the end of the table (an
 * even leaf writes none), and the keys of a tree of n leaves are exactly 0 … storedCount(n) − 1.
 */
describe("the Merkle tree's storage order", () => {
  it('numbers the nodes appends complete 0, 1, 2, … in the order appendLeaf gives them, for every size to 2,048', () => {
    const leaf: Hash = Buffer.alloc(32);
    let frontier: Hash[] = [];
    let next = 0;
    for (let size = 0; size < 2048; size++) {
      expect(storedCount(size), `nodes stored for ${size} leaves`).toBe(next);
      const step = appendLeaf(frontier, size, leaf);
      expect(step.nodes[0]).toMatchObject({ level: 0, index: size });
      for (const n of step.nodes.slice(1)) expect(storedIndex(n.level, n.index), `node (${n.level}, ${n.index})`).toBe(next++);
      frontier = step.frontier;
    }
  });

  it('places the first nodes as a post-order walk without the leaves does, and refuses a leaf', () => {
    // Leaves 0-1's parent, 2-3's, the root of the four, 4-5's, 6-7's, their parent, the root of the eight.
    const order = [
      [1, 0],
      [1, 1],
      [2, 0],
      [1, 2],
      [1, 3],
      [2, 1],
      [3, 0],
    ];
    expect(order.map(([level, index]) => storedIndex(level!, index!))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => storedIndex(0, 4)).toThrow('leaves are not stored (level 0, index 4)');
  });

  it('gives back the smallest size that stores a count, and nothing for a count no tree stores', () => {
    for (let size = 0; size < 5000; size++) {
      // An even leaf completes nothing: sizes 2k and 2k + 1 store the same nodes; the smaller is the answer.
      expect(sizeOfStored(storedCount(size))).toBe(size % 2 === 1 ? size - 1 : size);
    }
    // 1,023 leaves store 1,013 nodes; the 1,024th completes ten levels (1,023): no tree stores a count between.
    for (let count = storedCount(1023) + 1; count < storedCount(1024); count++) expect(sizeOfStored(count)).toBeUndefined();
    // Ten million entries, and past 2^40: exact, with no 32-bit step anywhere.
    expect(sizeOfStored(storedCount(10_000_000))).toBe(10_000_000);
    expect(storedIndex(1, 2 ** 40)).toBe(storedCount(2 ** 41 + 1));
    expect(sizeOfStored(storedCount(2 ** 40 + 6))).toBe(2 ** 40 + 6);
    // A node key an attacker wrote far out, or below zero: no size, and no endless search.
    expect(sizeOfStored(2 ** 60)).toBeUndefined();
    expect(sizeOfStored(-4)).toBeUndefined();
  });
});
