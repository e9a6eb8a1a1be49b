import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { CheckpointError, signCheckpoint, verifyCheckpoint } from '../../src/ledger/checkpoint.js';
import { ephemeralKey, formatVerifierKey, parseVerifierKey } from '../../src/ledger/keys.js';
import { syncWal } from '../../src/ledger/wal-sync.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { allRows, coreOptions, decideVia, echoInput, recomputeRoot } from './fixtures.js';

const checkpointRows = (path: string) => {
  const db = new Database(path, { readonly: true });
  const cps = db.prepare('SELECT size, head_hash, note FROM checkpoints ORDER BY size').all() as Array<{ size: number; head_hash: string; note: string }>;
  const hashes = new Map(
    (db.prepare('SELECT seq, entry_hash FROM entries').all() as Array<{ seq: number; entry_hash: string }>).map((r) => [r.seq, r.entry_hash]),
  );
  const ledgerId = (db.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string }).value;
  db.close();
  return { cps, hashes, ledgerId };
};

describe('checkpoints are signed every N entries and on close', () => {
  it('checkpointEvery 5: sizes 5 and 10 while running, 12 at close, each committing to that entry', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 5 } }));
    const key = parseVerifierKey(formatVerifierKey(core.parts.ledger.key));
    const sizes = () => (core.parts.ledger.db.prepare('SELECT size FROM checkpoints ORDER BY size').all() as Array<{ size: number }>).map((r) => r.size);
    for (let i = 0; i < 12; i++) {
      await decideVia(core, echoInput({ subject: `s-${i}` }));
      // Signed once the WAL's fsync returns (off the event loop), at the size the fsync began with.
      await vi.waitFor(() => expect(sizes()).toEqual([5, 10].filter((s) => s <= i + 1)));
    }
    expect(core.parts.ledger.latestCheckpoint()).toContain('\n10\n');
    await core.stop();
    const { cps, hashes } = checkpointRows(ledger);
    expect(cps.map((c) => c.size)).toEqual([5, 10, 12]);
    for (const c of cps) {
      const parsed = verifyCheckpoint(c.note, key);
      expect(parsed.size).toBe(c.size);
      expect(parsed.headHash).toBe(hashes.get(c.size));
      expect(c.head_hash).toBe(hashes.get(c.size));
    }
  });

  it('a group commit crossing the threshold checkpoints the whole batch', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 5 } }));
    await Promise.all(Array.from({ length: 7 }, (_, i) => decideVia(core, echoInput({ subject: `b-${i}` }))));
    await vi.waitFor(() => expect(core.parts.ledger.db.prepare('SELECT size FROM checkpoints').all()).toEqual([{ size: 7 }]));
    await core.stop();
  });

  it('a checkpoint that fails does not take the ledger down: the decisions are answered and the next flush retries', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const syncs: string[] = [];
    const faults = {
      // The first periodic checkpoint's WAL fsync fails: its own commit syncs instead, and that fails too.
      syncWal: (path: string) => {
        syncs.push(path);
        return syncs.length === 1 ? Promise.reject(new Error('EIO')) : syncWal(path);
      },
    };
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 3 }, ledgerFaults: faults }));
    const insert = vi.spyOn(core.parts.ledger.db, 'pragma');
    const real = core.parts.ledger.db.prepare.bind(core.parts.ledger.db);
    let failInsert = true;
    vi.spyOn(core.parts.ledger.db, 'prepare').mockImplementation((sql: string) => {
      if (failInsert && sql.startsWith('INSERT INTO checkpoints')) {
        failInsert = false;
        throw new Error('database is locked');
      }
      return real(sql);
    });
    try {
      const first = await Promise.all(Array.from({ length: 3 }, () => decideVia(core, echoInput())));
      expect(first.map((d) => d.receipt.seq).sort()).toEqual([1, 2, 3]);
      await vi.waitFor(() => expect(failInsert).toBe(false));
      expect(syncs).toEqual([ledger]);
      // The fallback commit asked for an fsync of its own (synchronous = FULL), and set it back.
      expect(insert.mock.calls.map((c) => c[0])).toEqual(['synchronous = FULL', 'synchronous = NORMAL']);
      expect(core.parts.ledger.latestCheckpoint()).toBeUndefined();
      await decideVia(core, echoInput());
      await vi.waitFor(() => expect(core.parts.ledger.db.prepare('SELECT size FROM checkpoints').all()).toEqual([{ size: 4 }]));
      // The retry's WAL was synced off the event loop: its commit asked for no fsync.
      expect(syncs).toEqual([ledger, ledger]);
      expect(insert.mock.calls.map((c) => c[0])).toEqual(['synchronous = FULL', 'synchronous = NORMAL']);
    } finally {
      vi.restoreAllMocks();
      await core.stop();
    }
  });

  it('a periodic checkpoint signs the head its WAL fsync began with, and none a later checkpoint overtook', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const held: Array<() => Promise<void>> = [];
    // Each WAL fsync returns only when the test lets it (after a real fsync).
    const faults = { syncWal: (path: string) => new Promise<void>((done) => held.push(() => syncWal(path).then(done))) };
    /** Lets the oldest held fsync return, and the ledger act on it. */
    const release = async () => {
      await held.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    };
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 3 }, ledgerFaults: faults }));
    const heard: number[] = [];
    core.parts.ledger.onCheckpoint((_note, size) => heard.push(size));
    const sizes = () => (core.parts.ledger.db.prepare('SELECT size FROM checkpoints ORDER BY size').all() as Array<{ size: number }>).map((r) => r.size);
    try {
      for (let i = 0; i < 3; i++) await decideVia(core, echoInput());
      expect(held).toHaveLength(1);
      // Two more entries while the fsync runs: the checkpoint is still of the 3 it covers.
      for (let i = 0; i < 2; i++) await decideVia(core, echoInput());
      await release();
      expect(sizes()).toEqual([3]);
      expect(heard).toEqual([3]);
      // The next one is overtaken: a checkpoint signed meanwhile (a proof asks for one) covers more.
      await decideVia(core, echoInput());
      expect(held).toHaveLength(1);
      await decideVia(core, echoInput());
      await core.parts.ledger.checkpoint();
      // The held one, of 6 entries, comes back after the checkpoint of 7: it is not stored, nor told to a witness.
      await release();
      expect(sizes()).toEqual([3, 7]);
      expect(heard).toEqual([3, 7]);
    } finally {
      while (held.length > 0) await release();
      await core.stop();
    }
  });

  it('with the default interval only close signs one, and an empty ledger gets none', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(ledger));
    for (let i = 0; i < 3; i++) await decideVia(core, echoInput());
    expect(core.parts.ledger.latestCheckpoint()).toBeUndefined();
    await core.stop();
    expect(checkpointRows(ledger).cps.map((c) => c.size)).toEqual([3]);

    const empty = join(tempDir(), 'ledger.db');
    await (await startRuntime(coreOptions(empty))).stop();
    expect(checkpointRows(empty).cps).toEqual([]);
    const res = await runCli(['audit', 'checkpoint', '--ledger', empty]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('no checkpoint yet');
  });
});

describe('gavel audit checkpoint and pubkey', () => {
  it('prints the latest note in the C2SP-like layout; it verifies with the key from `gavel audit pubkey`', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 4 } }));
    for (let i = 0; i < 9; i++) await decideVia(core, echoInput({ subject: `n-${i}` }));
    await core.stop();
    const { hashes, ledgerId } = checkpointRows(ledger);

    const [cp, pk] = await Promise.all([runCli(['audit', 'checkpoint', '--ledger', ledger]), runCli(['audit', 'pubkey', '--ledger', ledger])]);
    expect(cp.code).toBe(0);
    expect(pk.code).toBe(0);
    const origin = `gavel.ledger/${ledgerId}`;
    expect(pk.stdout).toMatch(new RegExp(`^${origin}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*\\n$`));

    const lines = cp.stdout.split('\n');
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe(origin);
    expect(lines[1]).toBe('9');
    // C2SP tlog-checkpoint: line 3 is the Merkle root (RFC 9162) of the 9 entries, the chain head an extension line.
    const root = recomputeRoot(allRows(new Database(ledger, { readonly: true })));
    expect(Buffer.from(lines[2]!, 'base64').toString('hex')).toBe(root);
    expect(lines[3]).toBe(`chain ${Buffer.from(hashes.get(9)!, 'hex').toString('base64')}`);
    expect(lines[4]).toMatch(/^time \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(Number.isNaN(Date.parse(lines[4]!.slice(5)))).toBe(false);
    expect(lines[5]).toBe('');
    const sig = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(lines[6]!);
    expect(sig).not.toBeNull();
    expect(sig![1]).toBe(origin);
    expect(Buffer.from(sig![2]!, 'base64')).toHaveLength(68);
    expect(lines[7]).toBe('');

    const key = parseVerifierKey(pk.stdout);
    // The signature's key id is the verifier key's.
    expect(Buffer.from(sig![2]!, 'base64').subarray(0, 4).toString('hex')).toBe(pk.stdout.split('+')[1]);
    expect(verifyCheckpoint(cp.stdout, key)).toEqual({ origin, size: 9, headHash: hashes.get(9), rootHash: root, time: lines[4]!.slice(5) });

    // Any edit to the body breaks the signature.
    expect(() => verifyCheckpoint(cp.stdout.replace('\n9\n', '\n8\n'), key)).toThrow(CheckpointError);
    expect(() => verifyCheckpoint(cp.stdout.replace(lines[3]!, 'time 2020-01-01T00:00:00.000Z'), key)).toThrow(/invalid signature/);
  });

  it('pubkey --key reads another key file; verify --pubkey accepts the key text or a file holding it', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const keyPath = join(tempDir(), 'signing.pem');
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: { keyPath } }));
    await decideVia(core, echoInput());
    const expected = formatVerifierKey(core.parts.ledger.key);
    await core.stop();

    const noKey = await runCli(['audit', 'pubkey', '--ledger', ledger]);
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toContain('no verifier key');
    const pk = await runCli(['audit', 'pubkey', '--ledger', ledger, '--key', keyPath]);
    expect(pk.stdout).toBe(`${expected}\n`);

    const byText = await runCli(['audit', 'verify', '--ledger', ledger, '--pubkey', expected]);
    expect(byText.stdout).toMatch(/^ok: 1 entries/);
    const pubFile = join(tempDir(), 'ledger.pub');
    writeFileSync(pubFile, pk.stdout);
    const byFile = await runCli(['audit', 'verify', '--ledger', ledger, '--pubkey', pubFile]);
    expect(byFile.code).toBe(0);
    const byKey = await runCli(['audit', 'verify', '--ledger', ledger, '--key', keyPath]);
    expect(byKey.code).toBe(0);
  });
});

describe('the signing key', () => {
  it('is created on first start with mode 0600 and reused on restart; the chain continues', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const keyPath = `${ledger}.key`;
    const first = await startRuntime(coreOptions(ledger));
    const firstKey = formatVerifierKey(first.parts.ledger.key);
    const firstOrigin = first.parts.ledger.origin;
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keyPath, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const a = await decideVia(first, echoInput());
    await first.stop();

    const second = await startRuntime(coreOptions(ledger));
    expect(formatVerifierKey(second.parts.ledger.key)).toBe(firstKey);
    expect(second.parts.ledger.origin).toBe(firstOrigin);
    expect(readFileSync(keyPath, 'utf8')).toBe(pem);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const b = await decideVia(second, echoInput());
    expect(b.receipt.seq).toBe(2);
    const row = second.parts.ledger.db.prepare('SELECT prev_hash FROM entries WHERE seq = 2').get() as { prev_hash: string };
    expect(row.prev_hash).toBe(a.receipt.entryHash);
    // The checkpoint signed before the restart verifies with the key after it.
    const before = (second.parts.ledger.db.prepare('SELECT note FROM checkpoints WHERE size = 1').get() as { note: string }).note;
    expect(verifyCheckpoint(before, parseVerifierKey(firstKey)).headHash).toBe(a.receipt.entryHash);
    await second.stop();

    const pk = await runCli(['audit', 'pubkey', '--ledger', ledger]);
    expect(pk.stdout.trim()).toBe(firstKey);
    const verified = await runCli(['audit', 'verify', '--ledger', ledger]);
    expect(verified.stdout).toBe(
      `ok: 2 entries, head ${b.receipt.entryHash}, 2 checkpoints verified, the Merkle tree matches the entries; approval and usage tables agree with the chain\n`,
    );
    expect(verified.code).toBe(0);
  });

  it('verifier keys round-trip even when their base64 holds "+" (and checkpoints verify with them)', () => {
    const origin = 'gavel.ledger/00000000-0000-0000-0000-000000000000';
    let plus: ReturnType<typeof ephemeralKey> | undefined;
    let plain: ReturnType<typeof ephemeralKey> | undefined;
    for (let i = 0; i < 500 && !(plus && plain); i++) {
      const k = ephemeralKey(origin);
      if (formatVerifierKey(k).split('+').length > 3) plus ??= k;
      else plain ??= k;
    }
    for (const k of [plus!, plain!]) {
      const text = formatVerifierKey(k);
      const parsed = parseVerifierKey(`${text}\n`);
      expect(parsed.name).toBe(origin);
      expect(formatVerifierKey(parsed)).toBe(text);
      const note = signCheckpoint({ origin, size: 1, headHash: 'ab'.repeat(32), time: '2025-01-01T00:00:00.000Z' }, k);
      expect(verifyCheckpoint(note, parsed).size).toBe(1);
    }
    expect(() => parseVerifierKey('no-plus-signs')).toThrow(/must look like/);
    expect(() => parseVerifierKey(formatVerifierKey(plain!).replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow(/id does not match/);
  });

  it('each ledger gets its own key and origin', async () => {
    const one = await startRuntime(coreOptions(join(tempDir(), 'ledger.db')));
    const two = await startRuntime(coreOptions(join(tempDir(), 'ledger.db')));
    try {
      expect(one.parts.ledger.origin).toMatch(/^gavel\.ledger\/[0-9a-f-]{36}$/);
      expect(one.parts.ledger.origin).not.toBe(two.parts.ledger.origin);
      expect(formatVerifierKey(one.parts.ledger.key)).not.toBe(formatVerifierKey(two.parts.ledger.key));
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});
