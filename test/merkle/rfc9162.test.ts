import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendLeaf,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  rootOf,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../src/ledger/merkle.js';

/**
 * The tree's arithmetic against RFC 9162 §2.1 written as the RFC states it (recursion over the leaf
 * list, below), against the test vectors of transparency-dev/merkle (testonly/constants.go,
 * proof/verify_test.go, 0-based here), and its verifiers against every tampering of a proof. The
 * cross-check with transparency-dev/merkle itself, in Go, is test/merkle/reference.test.ts.
 */
const VECTOR_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const H = {
  a: '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  b: '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  c: '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  d: 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  e: 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  f: '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  g: 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
};
const INCLUSION: Array<[number, number, string[]]> = [
  [0, 8, [H.a, H.b, H.c]],
  [5, 8, [H.d, H.e, ROOTS[4]!]],
  [2, 3, [ROOTS[2]!]],
  [1, 5, [ROOTS[1]!, H.b, H.d]],
];
const CONSISTENCY: Array<[number, number, string[]]> = [
  [1, 8, [H.a, H.b, H.c]],
  [6, 8, [H.f, H.e, ROOTS[4]!]],
  [2, 5, [H.b, H.d]],
  [6, 7, [H.f, H.g, ROOTS[4]!]],
  [4, 8, [H.c]],
];

/** RFC 9162 §2.1 as written: MTH, PATH and SUBPROOF over the list of leaf inputs. */
const mth = (d: Buffer[]): Hash => {
  if (d.length === 0) return EMPTY_ROOT;
  if (d.length === 1) return leafHash(d[0]!);
  const k = splitPoint(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
};
const path = (m: number, d: Buffer[]): Hash[] => {
  if (d.length === 1) return [];
  const k = splitPoint(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
const subproof = (m: number, d: Buffer[], b: boolean): Hash[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = splitPoint(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};

/** A tree grown leaf by leaf with appendLeaf, its stored nodes in a map (as the ledger file keeps them). */
function grown(leaves: Buffer[]) {
  const nodes = new Map<string, Hash>();
  const frontiers: Hash[][] = [[]];
  let frontier: Hash[] = [];
  leaves.forEach((leaf, i) => {
    const next = appendLeaf(frontier, i, leafHash(leaf));
    for (const n of next.nodes) nodes.set(`${n.level}/${n.index}`, n.hash);
    frontier = next.frontier;
    frontiers.push(frontier);
  });
  const read = (level: number, index: number) => {
    const h = nodes.get(`${level}/${index}`);
    if (!h) throw new Error(`node ${level}/${index} not stored`);
    return h;
  };
  return { read, rootAt: (size: number) => rootOf(frontiers[size]!), nodes };
}

const hex = (hs: Hash[]) => hs.map((h) => h.toString('hex'));

describe('the Merkle tree (RFC 9162 §2.1)', () => {
  const tree = grown(VECTOR_LEAVES);

  it('roots at sizes 0 to 8 are the reference vectors', () => {
    for (let n = 0; n <= 8; n++) expect(tree.rootAt(n).toString('hex')).toBe(ROOTS[n]);
  });

  it('inclusion and consistency proofs are the reference vectors, and verify', () => {
    for (const [i, n, want] of INCLUSION) {
      const proof = inclusionProof(tree.read, i, n);
      expect(hex(proof)).toEqual(want);
      expect(verifyInclusion(i, n, leafHash(VECTOR_LEAVES[i]!), proof, tree.rootAt(n))).toBe(true);
    }
    for (const [m, n, want] of CONSISTENCY) {
      const proof = consistencyProof(tree.read, m, n);
      expect(hex(proof)).toEqual(want);
      expect(verifyConsistency(m, n, tree.rootAt(m), tree.rootAt(n), proof)).toBe(true);
    }
  });

  it('agrees with the RFC recursion for every size, leaf and pair up to 70 leaves, stores every perfect node once', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => randomBytes(i % 5));
    const t = grown(leaves);
    let stored = 0;
    for (let level = 0; 2 ** level <= leaves.length; level++) stored += Math.floor(leaves.length / 2 ** level);
    expect(t.nodes.size).toBe(stored);
    for (let n = 1; n <= leaves.length; n++) {
      const d = leaves.slice(0, n);
      expect(t.rootAt(n)).toEqual(mth(d));
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(t.read, i, n);
        expect(proof).toEqual(path(i, d));
        expect(verifyInclusion(i, n, leafHash(d[i]!), proof, t.rootAt(n))).toBe(true);
      }
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(t.read, m, n);
        expect(proof).toEqual(subproof(m, d, true));
        expect(verifyConsistency(m, n, t.rootAt(m), t.rootAt(n), proof)).toBe(true);
      }
    }
  });

  it('refuses every altered proof: a flipped bit, a dropped or added hash, another index or root', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => Buffer.from(`leaf-${i}`));
    const t = grown(leaves);
    const flip = (h: Hash) => {
      const c = Buffer.from(h);
      c[7] = c[7]! ^ 1;
      return c;
    };
    for (const [i, n] of [
      [0, 1],
      [3, 4],
      [5, 37],
      [36, 37],
      [16, 33],
    ] as const) {
      const leaf = leafHash(leaves[i]!);
      const root = t.rootAt(n);
      const proof = inclusionProof(t.read, i, n);
      expect(verifyInclusion(i, n, leaf, proof, root)).toBe(true);
      expect(verifyInclusion(i, n, leaf, proof, flip(root))).toBe(false);
      expect(verifyInclusion(i, n, flip(leaf), proof, root)).toBe(false);
      expect(verifyInclusion(i, n, leaf, [...proof, leaf], root)).toBe(false);
      if (proof.length > 0) {
        expect(verifyInclusion(i, n, leaf, proof.slice(1), root)).toBe(false);
        for (let p = 0; p < proof.length; p++)
          expect(
            verifyInclusion(
              i,
              n,
              leaf,
              proof.map((h, j) => (j === p ? flip(h) : h)),
              root,
            ),
          ).toBe(false);
      }
      if (n > 1) expect(verifyInclusion(i === 0 ? 1 : i - 1, n, leaf, proof, root)).toBe(false);
      // (Another size with the same path shape verifies as well: the size is bound by the signed checkpoint that names it with its root.)
      expect(verifyInclusion(n, n, leaf, proof, root)).toBe(false);
    }
    for (const [m, n] of [
      [1, 2],
      [3, 37],
      [4, 37],
      [16, 33],
      [36, 37],
    ] as const) {
      const proof = consistencyProof(t.read, m, n);
      const [a, b] = [t.rootAt(m), t.rootAt(n)];
      expect(verifyConsistency(m, n, a, b, proof)).toBe(true);
      expect(verifyConsistency(m, n, flip(a), b, proof)).toBe(false);
      expect(verifyConsistency(m, n, a, flip(b), proof)).toBe(false);
      expect(verifyConsistency(m, n, a, b, [])).toBe(false);
      expect(verifyConsistency(m, n, a, b, [...proof, a])).toBe(false);
      for (let p = 0; p < proof.length; p++)
        expect(
          verifyConsistency(
            m,
            n,
            a,
            b,
            proof.map((h, j) => (j === p ? flip(h) : h)),
          ),
        ).toBe(false);
      // A swapped pair of roots is refused; another size with the same proof shape is bound by the checkpoints, as for inclusion.
      expect(verifyConsistency(m, n, b, a, proof)).toBe(false);
    }
  });

  it('the edge cases: the empty tree, size 0 and equal sizes, out-of-range leaves and sizes', () => {
    expect(rootOf([]).toString('hex')).toBe(ROOTS[0]);
    expect(consistencyProof(tree.read, 0, 8)).toEqual([]);
    expect(consistencyProof(tree.read, 8, 8)).toEqual([]);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, tree.rootAt(8), [])).toBe(true);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, tree.rootAt(8), [tree.rootAt(8)])).toBe(false);
    expect(verifyConsistency(8, 8, tree.rootAt(8), tree.rootAt(8), [])).toBe(true);
    expect(verifyConsistency(8, 8, tree.rootAt(8), tree.rootAt(7), [])).toBe(false);
    expect(verifyConsistency(8, 7, tree.rootAt(8), tree.rootAt(7), [])).toBe(false);
    expect(() => inclusionProof(tree.read, 8, 8)).toThrow(RangeError);
    expect(() => inclusionProof(tree.read, -1, 8)).toThrow(RangeError);
    expect(() => consistencyProof(tree.read, 9, 8)).toThrow(RangeError);
    expect(verifyInclusion(0, 1, leafHash(VECTOR_LEAVES[0]!), [], tree.rootAt(1))).toBe(true);
    expect(verifyInclusion(0, 0, leafHash(VECTOR_LEAVES[0]!), [], EMPTY_ROOT)).toBe(false);
  });
});
