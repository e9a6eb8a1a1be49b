import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCheckpoint, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { ephemeralKey, formatVerifierKey, keyFromPem, parseVerifierKey, verifierOf, type VerifierKey } from '../../src/ledger/keys.js';
import {
  consistencyProofOf,
  inclusionProofOf,
  type InclusionProofBundle,
  ProofError,
  verifyConsistencyBundle,
  verifyInclusionBundle,
} from '../../src/ledger/proofs.js';
import { GavelError } from '../../src/lib/errors.js';
import { startRuntime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { copyLedger, coreOptions, decideVia, echoInput, openAsAttacker } from '../ledger/fixtures.js';

/**
 * One decision proved to someone who holds no ledger: `inclusionProofOf` gives its header, the
 * hashes to the root and the signed checkpoint; `verifyInclusionBundle` (and `gavel audit
 * verify-proof`) checks it with the verifier key alone, and refuses it when anything in it was
 * changed. The payload stays out: the header holds its salted hash only.
 */
let ledger: string;
let key: VerifierKey;
let ids: string[];
const SECRET = 'quarterly numbers for carol';

beforeAll(async () => {
  ledger = join(tempDir(), 'ledger.db');
  // A checkpoint every 8 entries: 20 decisions leave checkpoints at 8 and 16, and 17..20 after the last.
  const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 8, checkpointSeconds: 3600 } }));
  ids = [];
  const last = () => (core.parts.ledger.db.prepare('SELECT MAX(size) AS s FROM checkpoints').get() as { s: number | null }).s;
  for (let i = 0; i < 20; i++) {
    ids.push((await decideVia(core, echoInput({ subject: `user-${i}`, extra: { content: { prompt: `${SECRET} ${i}` } } }))).decisionId);
    // A periodic checkpoint is signed once its WAL fsync returns: wait for it, so the next one starts from here.
    if ((i + 1) % 8 === 0) await vi.waitFor(() => expect(last()).toBe(i + 1));
  }
  const origin = core.parts.ledger.origin;
  key = verifierOf(keyFromPem(readFileSync(`${ledger}.key`, 'utf8'), origin));
  await core.stop();
  // As the file stood before the server's closing checkpoint at 20: the last one at 16, entries 17..20 after it.
  const db = openAsAttacker(ledger);
  db.prepare('DELETE FROM checkpoints WHERE size = 20').run();
  expect((db.prepare('SELECT MAX(size) AS s FROM checkpoints').get() as { s: number }).s).toBe(16);
  db.close();
});

function withDb<T>(body: (db: Database.Database) => T): T {
  const db = new Database(ledger, { readonly: true });
  try {
    return body(db);
  } finally {
    db.close();
  }
}

const latestNote = () => withDb((db) => (db.prepare('SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { note: string }).note);
const proofOf = (decisionId: string, checkpoint?: string) => withDb((db) => inclusionProofOf(db, { decisionId }, checkpoint));

describe('an inclusion proof', () => {
  it('of a decision covered by the latest checkpoint verifies with the verifier key alone, and carries no payload', () => {
    const proof = proofOf(ids[4]!);
    expect(proof).toMatchObject({ seq: 5, leaf_index: 4, decision_id: ids[4] });
    const { checkpoint, header } = verifyInclusionBundle(JSON.parse(JSON.stringify(proof)), key);
    expect(checkpoint.size).toBe(proof.tree_size);
    expect(checkpoint.rootHash).toBe(proof.root_hash);
    expect(header).toMatchObject({ seq: 5, decision_id: ids[4], subject_id: 'user-4', payload_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(proof)).not.toContain(SECRET);
    // Every entry up to the checkpoint, including its last, proves the same way.
    for (let i = 0; i < 16; i++) expect(verifyInclusionBundle(proofOf(ids[i]!), key).header.seq).toBe(i + 1);
  });

  it('is refused when its header, a hash, its size, its index or its checkpoint was changed', () => {
    const proof = proofOf(ids[9]!);
    const refuse = (changed: Partial<InclusionProofBundle> | Record<string, unknown>, why: RegExp) =>
      expect(() => verifyInclusionBundle({ ...proof, ...changed }, key)).toThrow(why);
    refuse({ header: proof.header.replace('"decision":"allow"', '"decision":"deny"') }, /does not lead to the checkpoint's root/);
    refuse({ hashes: proof.hashes.map((h, i) => (i === 1 ? `${h.slice(0, 63)}${h[63] === '0' ? '1' : '0'}` : h)) }, /does not lead/);
    refuse({ hashes: proof.hashes.slice(1) }, /does not lead/);
    refuse({ tree_size: proof.tree_size - 1 }, /the proof is for size 15, the checkpoint for size 16/);
    refuse({ leaf_index: 8 }, /the header is entry 10, the proof for leaf 8/);
    refuse({ checkpoint: proof.checkpoint.replace('\n16\n', '\n17\n') }, /invalid signature/);
    const other = ephemeralKey(key.name);
    refuse(
      { checkpoint: signCheckpoint({ origin: key.name, size: 16, headHash: 'a'.repeat(64), rootHash: proof.root_hash, time: 't' }, other) },
      /has no signature by/,
    );
    refuse({ format: 'something/v9' }, /not a gavel.inclusion-proof\/v1 document/);
    refuse({ header: 'null' }, /the header is not a JSON object/);
    refuse({ header: '[1]' }, /the header is not a JSON object/);
    refuse({ hashes: ['zz'] }, /malformed/);
  });

  it('refuses a document that is not a proof: null, not an object, a field of the wrong type, an index that is not an integer', () => {
    const proof = proofOf(ids[1]!);
    const malformed: unknown[] = [
      null,
      'a string',
      { ...proof, header: 7 },
      { ...proof, checkpoint: null },
      { ...proof, hashes: 'ab' },
      { ...proof, hashes: [...proof.hashes, 7] },
      { ...proof, hashes: [proof.hashes[0]!.toUpperCase()] },
      { ...proof, leaf_index: 1.5 },
      { ...proof, tree_size: '16' },
      { ...proof, header: '{not json' },
    ];
    for (const doc of malformed) expect(() => verifyInclusionBundle(doc, key), JSON.stringify(doc)?.slice(0, 40)).toThrow(ProofError);
    expect(() => verifyInclusionBundle({ ...proof, header: '{not json' }, key)).toThrow('the header is not JSON');
    expect(() => verifyInclusionBundle({ ...proof, leaf_index: 1.5 }, key)).toThrow('leaf_index and tree_size must be integers');
    expect(() => verifyInclusionBundle({ ...proof, checkpoint: 'garbage' }, key)).toThrow(ProofError);
  });

  it('is not made from a checkpoint another ledger signed, nor from a file without a tree', () => {
    const proof = proofOf(ids[1]!);
    const other = signCheckpoint({ ...parseCheckpoint(proof.checkpoint).checkpoint, rootHash: 'e'.repeat(64) }, ephemeralKey(key.name));
    expect(() => proofOf(ids[1]!, other)).toThrow(`the checkpoint at size 16 signs root ${'e'.repeat(64)}, but this ledger's tree there is ${proof.root_hash}`);
    const past = signCheckpoint({ ...parseCheckpoint(proof.checkpoint).checkpoint, size: 99 }, ephemeralKey(key.name));
    expect(() => proofOf(ids[1]!, past)).toThrow("the checkpoint is at size 99, but this ledger's tree holds 20 entries");
    expect(() => proofOf(ids[1]!, 'not a checkpoint')).toThrow('the checkpoint cannot be read');
    const bare = join(tempDir(), 'bare.db');
    const db = new Database(bare);
    db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, decision_id TEXT)');
    db.prepare("INSERT INTO entries VALUES (1, 'x')").run();
    db.exec('CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT)');
    db.prepare('INSERT INTO checkpoints VALUES (16, ?)').run(proof.checkpoint);
    expect(() => inclusionProofOf(db, { decisionId: 'x' })).toThrow('this ledger file has no Merkle tree yet');
    db.close();
    // A tree that lost its last node (grown only partly, or cut) proves nothing, at any size.
    const cut = copyLedger(ledger, 'gavel-cut-tree-');
    // The shared ledger was opened as an attacker already: its copy has no triggers left.
    const attacker = new Database(cut);
    attacker.prepare('DELETE FROM merkle_hashes WHERE id = (SELECT MAX(id) FROM merkle_hashes)').run();
    attacker.close();
    const partial = new Database(cut, { readonly: true });
    try {
      expect(() => inclusionProofOf(partial, { decisionId: ids[1]! })).toThrow("this ledger file's Merkle tree does not hold its entries' whole tree");
      expect(() => consistencyProofOf(partial, 1, 2)).toThrow("this ledger file's Merkle tree does not hold its entries' whole tree");
    } finally {
      partial.close();
    }
  });

  it('needs a checkpoint that signs a Merkle root: one from before the tree proves nothing', () => {
    const proof = proofOf(ids[2]!);
    const key2 = ephemeralKey(key.name);
    const old = signCheckpoint({ origin: key.name, size: 16, headHash: 'a'.repeat(64), time: 't' }, key2);
    expect(() => verifyInclusionBundle({ ...proof, checkpoint: old }, verifierOf(key2))).toThrow(/before the Merkle tree/);
  });

  it('of an entry after the latest checkpoint, or of no entry, is refused with the reason', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err instanceof GavelError ? [err.code, err.message] : ['thrown', String(err)];
      }
      return ['none', ''];
    };
    expect(code(() => proofOf(ids[18]!))).toEqual([
      'proof_unavailable',
      'entry 19 is after the checkpoint at size 16; a later checkpoint covers it once one is signed',
    ]);
    expect(code(() => proofOf('no-such-decision'))[0]).toBe('decision_not_found');
    expect(code(() => withDb((db) => inclusionProofOf(db, { seq: 99 })))[0]).toBe('decision_not_found');
    // Against an earlier checkpoint it was signed in, it proves again.
    const first = withDb((db) => (db.prepare('SELECT note FROM checkpoints WHERE size = 8').get() as { note: string }).note);
    expect(verifyInclusionBundle(proofOf(ids[3]!, first), key).checkpoint.size).toBe(8);
    // A checkpoint asked for that does not cover the entry is a bad request, not a wait.
    expect(code(() => proofOf(ids[9]!, first))[0]).toBe('invalid_proof_request');
  });
});

describe('a ledger upgraded from before the tree', () => {
  it('proves nothing against its old checkpoints; its next entry gets a checkpoint that signs a root', async () => {
    const path = join(tempDir(), 'ledger.db');
    const options = coreOptions(path, { ledgerOptions: { checkpointEvery: 1_000_000, checkpointSeconds: 3600 } });
    let core = await startRuntime(options);
    const first = (await decideVia(core, echoInput({ subject: 'before' }))).decisionId;
    await core.stop();
    // As an older gavel left it: its checkpoint at size 1 signs the head hash, no root (and no tree).
    const db = openAsAttacker(path);
    const row = db.prepare('SELECT note FROM checkpoints WHERE size = 1').get() as { note: string };
    const old = parseCheckpoint(row.note).checkpoint;
    const fileKey = keyFromPem(readFileSync(`${path}.key`, 'utf8'), old.origin);
    db.prepare('DELETE FROM checkpoints').run();
    db.prepare('INSERT INTO checkpoints(size, head_hash, time, note) VALUES (1, ?, ?, ?)').run(
      old.headHash,
      old.time,
      signCheckpoint({ ...old, rootHash: undefined }, fileKey),
    );
    db.exec('DROP TABLE merkle_hashes');
    db.close();
    core = await startRuntime(options);
    try {
      // The stored note at the head's size stands; it signs no root, so there is nothing to prove against yet.
      expect(parseCheckpoint((await core.parts.ledger.checkpoint())!).checkpoint.rootHash).toBeUndefined();
      await expect(core.audit.inclusionProof({ decisionId: first })).rejects.toThrow(/no checkpoint that signs a Merkle root yet/);
      await expect(core.audit.inclusionProof({ decisionId: first }, 1)).rejects.toThrow(/from before the Merkle tree/);
      await decideVia(core, echoInput({ subject: 'after' }));
      // The next scheduled checkpoint (asked for by proofs at most once a second) signs a root.
      await core.parts.ledger.checkpoint();
      const proof = await core.audit.inclusionProof({ decisionId: first });
      expect(verifyInclusionBundle(proof, verifierOf(fileKey)).checkpoint.size).toBe(2);
    } finally {
      await core.stop();
    }
  });
});

describe('a consistency proof', () => {
  it('shows each checkpoint to be a prefix of the later ones, and of the ledger now', () => {
    const sizes = [0, 8, 16, 20];
    for (const [i, from] of sizes.entries()) {
      for (const to of sizes.slice(i)) {
        const proof = withDb((db) => consistencyProofOf(db, from, to));
        expect(verifyConsistencyBundle(proof)).toBe(true);
        expect(verifyConsistencyBundle({ ...proof, from_root: proof.to_root })).toBe(from === to);
      }
    }
    const at16 = Buffer.from(latestNote().split('\n')[2]!, 'base64').toString('hex');
    expect(withDb((db) => consistencyProofOf(db, 16, 20)).from_root).toBe(at16);
    expect(() => withDb((db) => consistencyProofOf(db, 5, 21))).toThrow(/0 <= from <= to <= 20/);
    expect(() => withDb((db) => consistencyProofOf(db, 9, 8))).toThrow(GavelError);
  });
});

describe('gavel audit prove and verify-proof', () => {
  it('write a proof file and check it offline with the key `gavel audit pubkey` prints; a changed file exits 1', async () => {
    const [proved, pub] = await Promise.all([
      runCli(['audit', 'prove', '--ledger', ledger, '--decision', ids[6]!]),
      runCli(['audit', 'pubkey', '--ledger', ledger]),
    ]);
    expect(proved.stderr).toBe('');
    expect(proved.code).toBe(0);
    expect(parseVerifierKey(pub.stdout).keyId).toEqual(key.keyId);
    const file = join(tempDir(), 'proof.json');
    writeFileSync(file, proved.stdout);
    const dir = tempDir();
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, proved.stdout.replace('"subject_id\\":\\"user-6\\"', '"subject_id\\":\\"user-7\\"'));
    const [ok, bad, late] = await Promise.all([
      runCli(['audit', 'verify-proof', file, '--pubkey', formatVerifierKey(key)]),
      runCli(['audit', 'verify-proof', changed, '--pubkey', pub.stdout.trim()]),
      runCli(['audit', 'prove', '--ledger', ledger, '--seq', '19']),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^ok: decision ${ids[6]} is entry 7 of ${key.name}, within its 16 entries signed at .+: allow for user-6 \\(`));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAILED: the entry's leaf does not lead to the checkpoint's root at size 16/);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('entry 19 is after the checkpoint at size 16');
  });
});
