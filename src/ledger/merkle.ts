import { createHash, hash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 §2.1 (the hashing of RFC 6962), over the ledger's entries in seq
 * order: leaf i is entry i + 1. What a leaf holds is defined beside the chain hash
 * (ledger/hash.ts, `entryLeafHash`); this file is the tree's arithmetic only.
 *
 *   MTH({})    = SHA-256()
 *   leaf hash  = SHA-256(0x00 || leaf bytes)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n
 *
 * A node (level, index) is the root of the perfect subtree over leaves [index·2^level,
 * (index+1)·2^level): it never changes once its last leaf is there, so the ledger stores it once
 * (merkle-store.ts). Every proof and every root, at any past size, is made of stored perfect
 * nodes: at most one proof element (the right border's) is folded from a few of them.
 *
 * Sizes and indexes are plain numbers (exact to 2^53), so bit steps are arithmetic, not `>>`.
 */
export type Hash = Buffer;

const LEAF = Buffer.from([0]);

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export function leafHash(leaf: Uint8Array): Hash {
  return createHash('sha256').update(LEAF).update(leaf).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  // One buffer and a one-shot digest: the verify walk and every append hash about one node per entry.
  const bytes = Buffer.allocUnsafe(1 + left.length + right.length);
  bytes[0] = 1;
  bytes.set(left, 1);
  bytes.set(right, 1 + left.length);
  return hash('sha256', bytes, 'buffer');
}

/** The split point k of RFC 9162: the largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

/** Reads a stored perfect node: the root of leaves [index·2^level, (index+1)·2^level). */
export type NodeReader = (level: number, index: number) => Hash;

/**
 * The perfect subtrees that tile leaves [0, size), largest first (one per set bit of size):
 * what a tree of that size keeps to grow and to give its root. `at` names each.
 */
export function frontierNodes(size: number): Array<{ level: number; index: number }> {
  const out: Array<{ level: number; index: number }> = [];
  let start = 0;
  for (let level = Math.floor(Math.log2(Math.max(size, 1))) + 1; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      out.push({ level, index: start / width });
      start += width;
    }
  }
  return out;
}

/** The root of a tree from its frontier (frontierNodes' hashes, largest first). */
export function rootOf(frontier: readonly Hash[]): Hash {
  if (frontier.length === 0) return EMPTY_ROOT;
  let h = frontier[frontier.length - 1]!;
  for (let j = frontier.length - 2; j >= 0; j--) h = nodeHash(frontier[j]!, h);
  return h;
}

/** A node the tree stores: its place and hash. */
export interface StoredNode {
  level: number;
  index: number;
  hash: Hash;
}

/**
 * Appends leaf `size` (0-based) to a tree of `size` leaves with this frontier: the new frontier and
 * the perfect nodes the leaf completes, the leaf itself first (what the store writes).
 */
export function appendLeaf(frontier: readonly Hash[], size: number, leaf: Hash): { frontier: Hash[]; nodes: StoredNode[] } {
  const next = [...frontier];
  const nodes: StoredNode[] = [{ level: 0, index: size, hash: leaf }];
  let h = leaf;
  let index = size;
  let level = 0;
  while (odd(index)) {
    h = nodeHash(next.pop()!, h);
    index = (index - 1) / 2;
    level++;
    nodes.push({ level, index, hash: h });
  }
  next.push(h);
  return { frontier: next, nodes };
}

/** MTH(D[begin:end]) from stored perfect nodes; begin is a multiple of the largest power of two in end - begin, as in every RFC 9162 split. */
export function rangeHash(read: NodeReader, begin: number, end: number): Hash {
  const n = end - begin;
  if (n <= 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n)) return read(Math.round(Math.log2(n)), begin / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(read, begin, begin + k), rangeHash(read, begin + k, end));
}

/** RFC 9162 §2.1.3.1 PATH(index, D[size]): sibling hashes from the leaf up. */
export function inclusionProof(read: NodeReader, index: number, size: number): Hash[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  }
  const path: Hash[] = [];
  let begin = 0;
  let end = size;
  // Walk down from the root, noting each sibling; the proof lists them leaf first.
  while (end - begin > 1) {
    const k = splitPoint(end - begin);
    if (index < begin + k) {
      path.push(rangeHash(read, begin + k, end));
      end = begin + k;
    } else {
      path.push(rangeHash(read, begin, begin + k));
      begin += k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(from, D[to]): empty when from is 0 or equals to. */
export function consistencyProof(read: NodeReader, from: number, to: number): Hash[] {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) {
    throw new RangeError(`no consistency proof from size ${from} to ${to}`);
  }
  if (from === 0 || from === to) return [];
  // SUBPROOF(m, D[begin:end], complete), unrolled from the root down; collected root first, returned leaf first.
  const path: Hash[] = [];
  let begin = 0;
  let end = to;
  let m = from;
  let complete = true;
  for (;;) {
    const n = end - begin;
    if (m === n) {
      if (!complete) path.push(rangeHash(read, begin, end));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      path.push(rangeHash(read, begin + k, end));
      end = begin + k;
    } else {
      path.push(rangeHash(read, begin, begin + k));
      begin += k;
      m -= k;
      complete = false;
    }
  }
  return path.reverse();
}

/** The RFC's step "if LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn) is set or fn is 0". */
function shiftToOdd(fn: number, sn: number): [number, number] {
  while (!(odd(fn) || fn === 0)) {
    fn = half(fn);
    sn = half(sn);
  }
  return [fn, sn];
}

/** RFC 9162 §2.1.3.2: does `proof` place `leaf` (a leaf hash) at `index` in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      [fn, sn] = shiftToOdd(fn, sn);
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree of `from` leaves with `fromRoot` to be a prefix of the
 * tree of `to` leaves with `toRoot`? From 0, or to the same size (with the same root), the proof is empty.
 */
export function verifyConsistency(from: number, to: number, fromRoot: Uint8Array, toRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) return false;
  // From the empty tree, any tree extends it; its root must be the empty tree's.
  if (from === 0) return proof.length === 0 && Buffer.from(fromRoot).equals(EMPTY_ROOT);
  if (from === to) return proof.length === 0 && Buffer.from(fromRoot).equals(toRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      [fn, sn] = shiftToOdd(fn, sn);
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return Buffer.from(fr).equals(fromRoot) && Buffer.from(sr).equals(toRoot) && sn === 0;
}
