import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { leafHash, verifyConsistency, verifyInclusion, type Hash } from '../../src/ledger/merkle.js';
import { MERKLE_DDL, MerkleStore } from '../../src/ledger/merkle-store.js';
import { ciIsSet } from '../helpers/ci.js';
import { ROOT, tempDir } from '../helpers/paths.js';

/**
 * gavel's Merkle tree, as the ledger file stores it (merkle-store.ts on a real SQLite file),
 * against github.com/transparency-dev/merkle v0.0.2 driven by test/merkle/reference (Go): the
 * root of every size 0..1,000; every inclusion and consistency proof of every tree up to 64
 * leaves; four of each for every size up to 1,000; and 2,000 random (index, size) and
 * (from, to) pairs up to 100,000 leaves. Every line must be equal, and every proof gavel makes
 * must pass gavel's verifiers (the Go side verifies its own with proof.Verify*). Without Go it
 * is skipped, except under CI.
 */
const noGo = ciIsSet() || spawnSync('go', ['version']).status === 0 ? undefined : 'go is not on PATH';
if (noGo) console.warn(`skipping the Merkle reference check: ${noGo}`);

const LEAVES = 100_000;

describe.skipIf(noGo !== undefined)('the Merkle tree against transparency-dev/merkle', () => {
  it('roots and proofs agree line for line, with no difference, up to 100,000 leaves', () => {
    const go = spawnSync('go', ['run', '.', '-leaves', String(LEAVES), '-sizes', '1000', '-all', '64', '-pairs', '2000'], {
      cwd: join(ROOT, 'test/merkle/reference'),
      env: { ...process.env, GOFLAGS: '' },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    // On a machine whose module cache is empty, go first says what it downloads; anything else on stderr is a failure.
    const complaints = go.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('go: downloading '));
    expect(complaints, 'the Go reference failed').toEqual([]);
    expect(go.status, go.stderr).toBe(0);
    const lines = go.stdout.trim().split('\n');

    const db = new Database(join(tempDir(), 'tree.db'));
    db.exec(MERKLE_DDL);
    const leaves: Hash[] = [];
    const store = new MerkleStore(db, { count: () => leaves.length, leaf: (i) => leaves[i]! });
    db.transaction(() => {
      let frontier: Hash[] = [];
      for (let i = 0; i < LEAVES; i++) {
        leaves.push(leafHash(Buffer.from(`leaf-${i}`)));
        frontier = store.append(frontier, i, leaves[i]!);
      }
    })();
    expect(store.size()).toBe(LEAVES);

    const hex = (p: Hash[]) => p.map((h) => h.toString('hex')).join(',');
    const unhex = (s: string) => (s === '' ? [] : s.split(',').map((h) => Buffer.from(h, 'hex')));
    const roots = new Map<number, Hash>();
    const rootAt = (n: number) => roots.get(n) ?? roots.set(n, store.root(n)).get(n)!;
    const differences: string[] = [];
    const counts = { root: 0, incl: 0, cons: 0 };
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ') as [keyof typeof counts, string, string, string | undefined];
      counts[kind]++;
      if (kind === 'root') {
        if (rootAt(Number(a)).toString('hex') !== b) differences.push(line);
        continue;
      }
      const [x, n] = [Number(a), Number(b)];
      const ours = kind === 'incl' ? store.inclusion(x, n) : store.consistency(x, n);
      if (hex(ours) !== (c ?? '')) differences.push(line);
      const ok = kind === 'incl' ? verifyInclusion(x, n, leaves[x]!, unhex(c ?? ''), rootAt(n)) : verifyConsistency(x, n, rootAt(x), rootAt(n), unhex(c ?? ''));
      if (!ok) differences.push(`${line} (does not verify here)`);
    }
    db.close();
    expect(differences.slice(0, 5)).toEqual([]);
    // Every size 0..1,000 and the random pairs' sizes; all of each small tree's proofs; the rest four per size.
    expect(counts.root).toBe(1001 + 2000);
    expect(counts.incl).toBe((64 * 65) / 2 + (1000 - 64) * 4 + 2000);
    expect(counts.cons).toBe((64 * 67) / 2 + (1000 - 64) * 4 + 2000);
  }, 180_000);
});
