import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { headerOfRow, type EntryRow } from '../../src/ledger/header.js';
import { MerkleStore, storedCount, storedIndex } from '../../src/ledger/merkle-store.js';
import { inclusionProofOf } from '../../src/ledger/proofs.js';
import { verifyCommand } from '../../src/cli/audit.js';
import { verifyConsistency, verifyInclusion } from '../../src/ledger/merkle.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, openAsAttacker, sampleRecord } from '../ledger/fixtures.js';

/**
 * The Merkle tree the ledger keeps beside its chain (ledger/merkle-store.ts), checked against RFC
 * 9162's definition computed here from the rows alone: leaf i is SHA-256(0x00 || the canonical text of
 * entry i + 1's header), the same bytes its chain hash covers. Written in the entries' transaction
 * (a batch that fails leaves no node behind), built once for a ledger from before it.
 */
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
const mth = (leaves: Buffer[]): Buffer =>
  leaves.length === 0
    ? sha()
    : leaves.length === 1
      ? leaves[0]!
      : sha(Buffer.from([1]), mth(leaves.slice(0, split(leaves.length))), mth(leaves.slice(split(leaves.length))));

/** Leaf hashes from the file's rows, as an auditor with the rows alone would compute them. */
function leavesOf(path: string): Buffer[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM entries ORDER BY seq').all() as EntryRow[];
    return rows.map((row) => {
      const text = canonicalJson(headerOfRow(row));
      // The tree commits to what the chain does: the entry's hash covers the same text.
      expect(sha(Buffer.from(row.prev_hash, 'hex'), Buffer.from(text)).toString('hex')).toBe(row.entry_hash);
      return sha(Buffer.from([0]), Buffer.from(text));
    });
  } finally {
    db.close();
  }
}

function treeOf(path: string): { store: MerkleStore; close: () => void } {
  const db = new Database(path, { readonly: true });
  return { store: new MerkleStore(db), close: () => db.close() };
}

/** Roots at every size, and a proof of every leaf and from every size, agree with the rows. */
function expectTreeOfRows(path: string): void {
  const leaves = leavesOf(path);
  const { store, close } = treeOf(path);
  try {
    expect(store.size()).toBe(leaves.length);
    for (let n = 0; n <= leaves.length; n++) expect(store.root(n).toString('hex'), `root at ${n}`).toBe(mth(leaves.slice(0, n)).toString('hex'));
    const n = leaves.length;
    for (let i = 0; i < n; i++) expect(verifyInclusion(i, n, leaves[i]!, store.inclusion(i, n), store.root(n))).toBe(true);
    for (let m = 1; m < n; m++) expect(verifyConsistency(m, n, store.root(m), store.root(n), store.consistency(m, n))).toBe(true);
  } finally {
    close();
  }
}

const records = (prefix: string, n: number): EntryRecord[] =>
  Array.from({ length: n }, (_, i) => sampleRecord({ decisionId: `${prefix}-${i}`, subjectId: `user-${i % 3}` }));

async function withLedger(path: string, body: (core: Runtime) => Promise<void>, extra = {}): Promise<void> {
  const core = await startRuntime({ ...coreOptions(path), ...extra });
  try {
    await body(core);
  } finally {
    await core.stop();
  }
}

/** `gavel audit verify --json` in-process: ok, where it failed, and whether the tree was checked. */
function verified(path: string): { ok: boolean; tree_checked: boolean; failed_seq: number; failure_kind: string } {
  return JSON.parse(verifyCommand({ ledger: path, json: true }).stdout);
}

/**
 * Rewrites the file's tree as the first tree layout kept it (one row per (level, idx), schema
 * version 2): a file written by the gavel of the session that added the tree.
 */
function toFirstLayout(path: string): void {
  const db = openAsAttacker(path);
  try {
    const store = new MerkleStore(db);
    const size = store.size()!;
    db.exec(`CREATE TABLE merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes BEGIN SELECT RAISE(ABORT, 'merkle_nodes are append-only'); END;
      CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes BEGIN SELECT RAISE(ABORT, 'merkle_nodes are append-only'); END;`);
    const put = db.prepare('INSERT INTO merkle_nodes(level, idx, hash) VALUES (?, ?, ?)');
    for (let level = 0; 2 ** level <= size; level++) {
      for (let idx = 0; idx < Math.floor(size / 2 ** level); idx++) put.run(level, idx, store.node(level, idx));
    }
    db.exec('DROP TABLE merkle_hashes');
    const version = db.pragma('user_version', { simple: true }) as number;
    db.pragma(`user_version = ${(version & ~0xffff) | 2}`);
  } finally {
    db.close();
  }
}

/** A closed ledger file of `n` entries, and its tree's root at n. */
async function oldLedger(n: number): Promise<{ path: string; root: Buffer }> {
  const path = join(tempDir(), 'ledger.db');
  await withLedger(path, async (core) => {
    await Promise.all(records('old', n).map((r) => core.parts.ledger.append(r)));
  });
  const tree = treeOf(path);
  const root = tree.store.root(n);
  tree.close();
  return { path, root };
}

describe("the ledger's Merkle tree", () => {
  it('is written with the entries, one batch or one at a time, and matches RFC 9162 over the rows', async () => {
    const path = join(tempDir(), 'ledger.db');
    await withLedger(path, async (core) => {
      for (const r of records('one', 5)) await core.parts.ledger.append(r);
      await Promise.all(records('batch', 27).map((r) => core.parts.ledger.append(r)));
    });
    expectTreeOfRows(path);
  });

  it('a failed COMMIT, and an entry refused inside its batch, leave no node behind: the tree still matches the rows', async () => {
    const path = join(tempDir(), 'ledger.db');
    let failCommits = 1;
    const faults = {
      beforeCommit: () => {
        if (failCommits > 0) {
          failCommits--;
          throw new Error('disk I/O error');
        }
      },
      beforeInsert: (r: EntryRecord) => {
        if (r.decisionId === 'bad-3') throw new Error('I/O error');
      },
    };
    await withLedger(
      path,
      async (core) => {
        const settled = await Promise.allSettled(records('bad', 9).map((r) => core.parts.ledger.append(r)));
        expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
        await Promise.all(records('after', 6).map((r) => core.parts.ledger.append(r)));
        expect(core.parts.ledger.size).toBe(14);
      },
      { ledgerFaults: faults },
    );
    expectTreeOfRows(path);
  });

  it('a ledger from before the tree gets it built at its next start, then grows it', async () => {
    const { path, root } = await oldLedger(21);
    // As the file of an earlier version: no tree at all.
    const old = openAsAttacker(path);
    old.exec('DROP TABLE merkle_hashes');
    old.close();
    await withLedger(path, async (core) => {
      await Promise.all(records('new', 10).map((r) => core.parts.ledger.append(r)));
    });
    const after = treeOf(path);
    expect(after.store.root(21)).toEqual(root);
    after.close();
    expectTreeOfRows(path);
  });

  it('in the first layout ((level, idx) keys) it verifies read-only as it is, and moves node for node at the next start', async () => {
    const { path, root } = await oldLedger(21);
    toFirstLayout(path);
    expect(verified(path)).toMatchObject({ ok: true, tree_checked: true });
    // Proofs need the current layout, and say how to get it.
    const db = new Database(path, { readonly: true });
    expect(() => inclusionProofOf(db, { seq: 3 })).toThrow("in an earlier gavel's layout: it is moved when gavel serve next opens the file");
    db.close();
    await withLedger(path, async (core) => {
      await Promise.all(records('new', 10).map((r) => core.parts.ledger.append(r)));
    });
    const after = new Database(path, { readonly: true });
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'merkle%'").pluck().all();
    after.close();
    expect(tables).toEqual(['merkle_hashes']);
    const moved = treeOf(path);
    expect(moved.store.root(21)).toEqual(root);
    moved.close();
    expectTreeOfRows(path);
    expect(verified(path)).toMatchObject({ ok: true, tree_checked: true });
  });

  it('a node changed in the first layout is found there, and still found after the move', async () => {
    const { path } = await oldLedger(21);
    toFirstLayout(path);
    const db = new Database(path);
    db.exec('DROP TRIGGER merkle_nodes_no_update');
    // Node (level 2, index 3) covers leaves 12..15: entry 16 completes it.
    db.prepare('UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 3').run();
    db.close();
    expect(verified(path)).toMatchObject({ ok: false, failed_seq: 16, failure_kind: 'tree_changed' });
    await withLedger(path, async () => {});
    expect(verified(path)).toMatchObject({ ok: false, failed_seq: 16, failure_kind: 'tree_changed' });
    const moved = new Database(path, { readonly: true });
    expect(moved.prepare('SELECT hash FROM merkle_hashes WHERE id = ?').pluck().get(storedIndex(2, 3))).toEqual(Buffer.alloc(32));
    moved.close();
  });

  it('a tree that does not match the entries refuses the start, naming both counts; a failed start holds no lock', async () => {
    const path = join(tempDir(), 'ledger.db');
    await withLedger(path, async (core) => {
      await Promise.all(records('s', 6).map((r) => core.parts.ledger.append(r)));
    });
    // A stray node past the last entry's (inserts are not blocked by the append-only triggers).
    const db = new Database(path);
    db.prepare('INSERT INTO merkle_hashes(id, hash) VALUES (?, zeroblob(32))').run(storedCount(6));
    db.close();
    const start = () => startRuntime(coreOptions(path));
    await expect(start()).rejects.toThrow("the ledger's Merkle tree holds 5 nodes but the tree of its 6 entries 4");
    // Not "already has a writer": the first failed start let go of the file.
    await expect(start()).rejects.toThrow("the ledger's Merkle tree holds 5 nodes but the tree of its 6 entries 4");
    // A node keyed far past any tree, or a tree cut below what the entries make: refused too, never a hang.
    const far = new Database(path);
    far.prepare('INSERT INTO merkle_hashes(id, hash) VALUES (?, zeroblob(32))').run(2 ** 60);
    far.close();
    await expect(start()).rejects.toThrow(`the ledger's Merkle tree holds ${2 ** 60 + 1} nodes but the tree of its 6 entries 4`);
    const cut = new Database(path);
    cut.exec('DROP TRIGGER merkle_hashes_no_delete');
    cut.prepare('DELETE FROM merkle_hashes WHERE id >= 2').run();
    cut.prepare('INSERT INTO merkle_hashes(id, hash) VALUES (-9, zeroblob(32))').run();
    cut.prepare('DELETE FROM merkle_hashes WHERE id >= 0').run();
    cut.close();
    await expect(start()).rejects.toThrow("the ledger's Merkle tree holds -8 nodes, which no tree of whole entries holds");
  });

  it('a ledger from before the tree with an entry missing refuses the start, and so does the next try', async () => {
    const path = join(tempDir(), 'ledger.db');
    await withLedger(path, async (core) => {
      await Promise.all(records('g', 5).map((r) => core.parts.ledger.append(r)));
    });
    const old = openAsAttacker(path);
    old.exec('DROP TABLE merkle_hashes; DELETE FROM entries WHERE seq = 2');
    old.close();
    const start = () => startRuntime(coreOptions(path));
    await expect(start()).rejects.toThrow('the ledger has no entry 2 to put in its Merkle tree (the next is 3)');
    await expect(start()).rejects.toThrow('the ledger has no entry 2 to put in its Merkle tree (the next is 3)');
  });

  it('its nodes are append-only, as the entries are', async () => {
    const path = join(tempDir(), 'ledger.db');
    await withLedger(path, async (core) => {
      await core.parts.ledger.append(sampleRecord({ decisionId: 'a' }));
      await core.parts.ledger.append(sampleRecord({ decisionId: 'b' }));
    });
    const db = new Database(path);
    try {
      expect(() => db.prepare('UPDATE merkle_hashes SET hash = zeroblob(32)').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM merkle_hashes').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });
});
