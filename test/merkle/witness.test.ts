import type { SqliteLedger } from '../../src/ledger/sqlite.js';
import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { COSIGNATURE_ALG, ephemeralKey, formatVerifierKey, parseVerifierKey, verifierOf } from '../../src/ledger/keys.js';
import { consistencyProofOf } from '../../src/ledger/proofs.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { cosign, verifiedCosignatures } from '../../src/ledger/cosignature.js';
import { startWitnessHttp } from '../../src/witness/http.js';
import { Witness } from '../../src/witness/witness.js';
import { GAVEL_BIN, ROOT, tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';

/**
 * The witness (C2SP tlog-witness) against a real ledger's checkpoints: it cosigns a checkpoint only
 * when a consistency proof shows the tree it last cosigned to be a prefix of the new one, and
 * refuses a fork: an older copy of the ledger file, restored with its key and written on.
 */
const witnessKey = ephemeralKey('witness.test/w1');
const witnessVerifier = parseVerifierKey(formatVerifierKey(witnessKey, COSIGNATURE_ALG), COSIGNATURE_ALG);
let dir: string;
let ledger: string;
let core: Runtime;
let witness: Witness;

const request = (old: number, proof: string[], note: string) =>
  `old ${old}\n${proof.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('')}\n${note}`;
const proofBetween = (path: string, from: number, to: number) => {
  const db = new Database(path, { readonly: true });
  try {
    return consistencyProofOf(db, from, to).hashes;
  } finally {
    db.close();
  }
};
async function decideAndCheckpoint(c: Runtime, n: number, prefix: string): Promise<string> {
  for (let i = 0; i < n; i++) await decideVia(c, echoInput({ subject: `${prefix}-${i}` }));
  return (await c.parts.ledger.checkpoint())!;
}
const bodyOf = (note: string) => parseCheckpoint(note).body;

beforeAll(async () => {
  dir = tempDir();
  ledger = join(dir, 'ledger.db');
  core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 1_000_000, checkpointSeconds: 3600 } }));
  witness = new Witness(new Database(join(dir, 'witness.db')), witnessKey, [verifierOf(core.parts.ledger.key)], () => 1_796_000_000_000);
});
afterAll(async () => {
  await core?.stop();
});

describe('the witness', () => {
  it("cosigns a log's first checkpoint, then each one the consistency proof shows extends it; the cosignature verifies", async () => {
    const first = await decideAndCheckpoint(core, 5, 'a');
    const a = witness.addCheckpoint(request(0, [], first));
    expect(a.status).toBe(200);
    expect(verifiedCosignatures(bodyOf(first), a.body.trimEnd().split('\n'), [witnessVerifier])).toEqual([
      { witness: 'witness.test/w1', timeSeconds: 1_796_000_000 },
    ]);
    // The cosignature covers this checkpoint only.
    expect(() => verifiedCosignatures(bodyOf(first).replace('\n5\n', '\n6\n'), [a.body.trim()], [witnessVerifier])).toThrow(/does not verify/);

    const second = await decideAndCheckpoint(core, 7, 'b');
    const b = witness.addCheckpoint(request(5, proofBetween(ledger, 5, 12), second));
    expect(b.status).toBe(200);
    expect(witness.latest(core.parts.ledger.origin).size).toBe(12);
    // The same checkpoint again is cosigned again (nothing moves).
    expect(witness.addCheckpoint(request(12, [], second)).status).toBe(200);
  });

  it('answers a stale old size with its own (409, text/x.tlog.size), a bad proof with 422, and the rest with 400, 403, 404', async () => {
    const note = await decideAndCheckpoint(core, 3, 'c');
    const stale = witness.addCheckpoint(request(5, proofBetween(ledger, 5, 15), note));
    expect(stale).toEqual({ status: 409, body: '12\n', contentType: 'text/x.tlog.size' });
    const proof = proofBetween(ledger, 12, 15);
    const flipped = proof.map((h, i) => (i === 0 ? `${h.slice(0, 62)}${h.slice(62) === '00' ? '01' : '00'}` : h));
    expect(witness.addCheckpoint(request(12, flipped, note)).status).toBe(422);
    expect(witness.addCheckpoint(request(12, proof.slice(1), note)).status).toBe(422);
    expect(witness.addCheckpoint(request(16, [], note)).status).toBe(400);
    expect(witness.addCheckpoint('old 12\n').status).toBe(400);
    expect(witness.addCheckpoint(`old 012\n\n${note}`).status).toBe(400);
    const forger = ephemeralKey(core.parts.ledger.origin);
    const parsed = parseCheckpoint(note).checkpoint;
    expect(witness.addCheckpoint(request(12, proof, signCheckpoint(parsed, forger))).status).toBe(403);
    const stranger = ephemeralKey('gavel.ledger/someone-else');
    expect(witness.addCheckpoint(request(0, [], signCheckpoint({ ...parsed, origin: stranger.name }, stranger))).status).toBe(404);
    // Nothing refused moved it.
    expect(witness.latest(core.parts.ledger.origin).size).toBe(12);
    expect(witness.addCheckpoint(request(12, proof, note)).status).toBe(200);
  });

  it('refuses a fork: an older copy of the ledger, restored with its key and written on, gets no cosignature', async () => {
    // Copy the file as it stands (size 15, cosigned), then let the real one go on.
    await core.stop();
    const restored = join(tempDir(), 'ledger.db');
    for (const suffix of ['', '.key']) copyFileSync(`${ledger}${suffix}`, `${restored}${suffix}`);
    core = await startRuntime(coreOptions(ledger, { ledgerOptions: { checkpointEvery: 1_000_000, checkpointSeconds: 3600 } }));
    const honest = await decideAndCheckpoint(core, 4, 'd');
    const size = parseCheckpoint(honest).checkpoint.size;
    expect(witness.addCheckpoint(request(15, proofBetween(ledger, 15, size), honest)).status).toBe(200);

    // The restored copy stands at 15; written on with other decisions, it passes the size the witness cosigned.
    const fork = await startRuntime(coreOptions(restored, { ledgerOptions: { checkpointEvery: 1_000_000, checkpointSeconds: 3600 } }));
    try {
      const forked = await decideAndCheckpoint(fork, 8, 'forked');
      const forkedSize = parseCheckpoint(forked).checkpoint.size;
      expect(forkedSize).toBeGreaterThan(size);
      const answer = witness.addCheckpoint(request(size, proofBetween(restored, size, forkedSize), forked));
      expect(answer.status).toBe(422);
      expect(answer.body).toContain(`is not consistent with the one cosigned at size ${size}`);
    } finally {
      await fork.stop();
    }
    expect(witness.latest(core.parts.ledger.origin).size).toBe(size);
  });

  it('serves POST /add-checkpoint over HTTP on 127.0.0.1, and GET / answers its verifier key', async () => {
    const { server, address } = await startWitnessHttp(witness, formatVerifierKey(witnessKey, COSIGNATURE_ALG), '127.0.0.1', 0);
    try {
      const size = witness.latest(core.parts.ledger.origin).size;
      const note = await decideAndCheckpoint(core, 2, 'e');
      const to = parseCheckpoint(note).checkpoint.size;
      const ok = await fetch(`http://${address}/add-checkpoint`, { method: 'POST', body: request(size, proofBetween(ledger, size, to), note) });
      expect(ok.status).toBe(200);
      expect(verifiedCosignatures(bodyOf(note), (await ok.text()).trimEnd().split('\n'), [witnessVerifier])).toHaveLength(1);
      const conflict = await fetch(`http://${address}/add-checkpoint`, { method: 'POST', body: request(0, [], note) });
      expect([conflict.status, conflict.headers.get('content-type'), await conflict.text()]).toEqual([409, 'text/x.tlog.size', `${to}\n`]);
      expect((await fetch(`http://${address}/`)).status).toBe(200);
      expect((await fetch(`http://${address}/nothing`)).status).toBe(404);
      expect((await fetch(`http://${address}/add-checkpoint`, { method: 'POST', body: 'x'.repeat(70_000) })).status).toBe(400);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('gavel witness serve', () => {
  it('serves on 127.0.0.1 with the key `gavel witness pubkey` prints, and cosigns a ledger checkpoint', async () => {
    const wdir = tempDir();
    const pub = await runCli(['witness', 'pubkey', '--name', 'witness.test/cli', '--key', join(wdir, 'w.key')]);
    expect(pub.code).toBe(0);
    const verifier = parseVerifierKey(pub.stdout, COSIGNATURE_ALG);
    const logKey = formatVerifierKey(verifierOf(core.parts.ledger.key));
    const child = spawn(
      process.execPath,
      [
        GAVEL_BIN,
        'witness',
        'serve',
        '--name',
        'witness.test/cli',
        '--key',
        join(wdir, 'w.key'),
        '--state',
        join(wdir, 'w.db'),
        '--listen',
        '127.0.0.1:0',
        '--log-key',
        logKey,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('gavel witness serve did not start')), 20_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const m = /serving on http:\/\/(\S+) for /.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const note = (await core.parts.ledger.checkpoint()) ?? core.audit.latestCheckpoint().note;
      const res = await fetch(`http://${address}/add-checkpoint`, { method: 'POST', body: request(0, [], note) });
      expect(res.status).toBe(200);
      expect(verifiedCosignatures(bodyOf(note), [(await res.text()).trim()], [verifier])).toEqual([
        { witness: 'witness.test/cli', timeSeconds: expect.any(Number) },
      ]);
      expect(await (await fetch(`http://${address}/`)).text()).toBe(pub.stdout);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the witness, at the edges of C2SP tlog-witness', () => {
  it('refuses the same size with another root, a proof where none belongs, and an empty tree with a root', async () => {
    const origin = core.parts.ledger.origin;
    const size = witness.latest(origin).size;
    const note = core.audit.latestCheckpoint().note;
    expect(parseCheckpoint(note).checkpoint.size).toBe(size);
    const logKey = (core.parts.ledger as SqliteLedger).key;
    const parsed = parseCheckpoint(note).checkpoint;
    const otherRoot = signCheckpoint({ ...parsed, rootHash: 'c'.repeat(64) }, logKey);
    const forked = witness.addCheckpoint(request(size, [], otherRoot));
    expect([forked.status, forked.body]).toEqual([422, 'the same size with another root: the log forked\n']);
    expect(witness.addCheckpoint(request(size, ['ab'.repeat(32)], note)).status).toBe(422);
    expect(witness.addCheckpoint(request(size, [], note)).status).toBe(200);

    // A log it never saw: from size 0 the proof is empty, and a tree of size 0 has the empty root.
    const fresh = new Witness(new Database(':memory:'), witnessKey, [verifierOf(logKey)]);
    const fromZero = fresh.addCheckpoint(request(0, ['ab'.repeat(32)], note));
    expect([fromZero.status, fromZero.body]).toEqual([422, 'from size 0 the consistency proof is empty\n']);
    const empty = signCheckpoint({ ...parsed, size: 0, rootHash: 'd'.repeat(64) }, logKey);
    expect(fresh.addCheckpoint(request(0, [], empty)).body).toBe('an empty tree has the empty root\n');
    expect(fresh.addCheckpoint(request(0, [], note)).status).toBe(200);
    expect(fresh.latest(origin).size).toBe(size);
  });

  it('reads the request strictly: the old line, the blank line, at most 63 proof hashes, each a canonical base64 SHA-256', () => {
    const note = core.audit.latestCheckpoint().note;
    const size = witness.latest(core.parts.ledger.origin).size;
    const bad = [
      `old ${size}\n${note}`,
      ` old ${size}\n\n${note}`,
      `old ${size} \n\n${note}`,
      `old -1\n\n${note}`,
      `old ${size}\n${'AAAA\n'}\n${note}`,
      `old ${size}\n${`${Buffer.alloc(32).toString('base64').replace(/=$/, '')}\n`}\n${note}`,
      `old ${size}\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(64)}\n${note}`,
    ];
    for (const body of bad) expect([body.split('\n')[0], witness.addCheckpoint(body).status]).toEqual([body.split('\n')[0], 400]);
    // 63 hashes is the most a proof may have: read, then refused as a proof (422), not as a request.
    expect(witness.addCheckpoint(`old ${size}\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(63)}\n${note}`).status).toBe(422);
  });

  it("needs one valid signature of the log's key among the note's: another key of the same name, or a cut signature, is not one", () => {
    const note = core.audit.latestCheckpoint().note;
    const size = witness.latest(core.parts.ledger.origin).size;
    const [body, sigs] = [note.slice(0, note.indexOf('\n\n') + 1), note.slice(note.indexOf('\n\n') + 2)];
    const impostor = signCheckpoint(parseCheckpoint(note).checkpoint, ephemeralKey(core.parts.ledger.origin));
    const impostorLine = impostor.slice(impostor.indexOf('\n\n') + 2);
    // The valid line after a foreign one still counts; alone, the foreign one does not.
    expect(witness.addCheckpoint(request(size, [], `${body}\n${impostorLine}${sigs}`)).status).toBe(200);
    expect(witness.addCheckpoint(request(size, [], `${body}\n${impostorLine}`)).status).toBe(403);
    const [name, blob] = sigs.trim().slice(2).split(' ');
    const cut = Buffer.from(blob!, 'base64').subarray(0, 67).toString('base64');
    expect(witness.addCheckpoint(request(size, [], `${body}\n\u2014 ${name} ${cut}\n`)).status).toBe(403);
    const renamed = `${body}\n\u2014 someone.else ${blob}\n`;
    expect(witness.addCheckpoint(request(size, [], renamed)).status).toBe(403);
  });
});

describe('cosignatures (C2SP tlog-cosignature v1)', () => {
  it('sign exactly "cosignature/v1\\ntime <t>\\n" and the note text, and carry key id, time and signature', async () => {
    const body = 'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
    const line = cosign(body, witnessKey, 1_700_000_000);
    const [dash, name, b64] = line.trimEnd().split(' ');
    expect([dash, name]).toEqual(['\u2014', 'witness.test/w1']);
    const blob = Buffer.from(b64!, 'base64');
    expect(blob).toHaveLength(76);
    expect(blob.subarray(0, 4)).toEqual(witnessVerifier.keyId);
    expect(blob.readBigUInt64BE(4)).toBe(1_700_000_000n);
    // Ed25519 is deterministic: the signature is the one over the C2SP message, computed here on its own.
    expect(blob.subarray(12)).toEqual(sign(null, Buffer.from(`cosignature/v1\ntime 1700000000\n${body}`), witnessKey.privateKey));
  });

  it('are counted once per known witness; lines of others, of the wrong length, or not signature lines are passed over', () => {
    const body = 'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
    const line = cosign(body, witnessKey, 1_700_000_000).trimEnd();
    const stranger = cosign(body, ephemeralKey('witness.test/other'), 1_700_000_000).trimEnd();
    const logLine = signCheckpoint({ origin: 'witness.test/w1', size: 3, headHash: '0'.repeat(64), rootHash: '0'.repeat(64), time: 't' }, witnessKey)
      .trimEnd()
      .split('\n')
      .at(-1)!;
    const lines = ['not a signature line', stranger, logLine, line, line];
    expect(verifiedCosignatures(body, lines, [witnessVerifier])).toEqual([{ witness: 'witness.test/w1', timeSeconds: 1_700_000_000 }]);
    expect(verifiedCosignatures(body, [stranger, logLine, 'x'], [witnessVerifier])).toEqual([]);
  });
});
