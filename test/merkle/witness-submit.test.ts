import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cosign } from '../../src/ledger/cosignature.js';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/ledger/checkpoint.js';
import { COSIGNATURE_ALG, ephemeralKey, formatVerifierKey, parseVerifierKey, verifierOf } from '../../src/ledger/keys.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { WITNESS_HEALTH } from '../../src/transport/server.js';
import { startWitnessHttp } from '../../src/witness/http.js';
import { Witness } from '../../src/witness/witness.js';
import { eventually, healthClient } from '../helpers/health.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, servingLine, startChild, type ChildServer } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';

/**
 * The log's side of witnessing: `gavel serve --witness URL` sends each checkpoint it signs to the
 * witness (C2SP tlog-witness add-checkpoint, with the consistency proof from the size the witness
 * names), keeps the cosignature beside the checkpoint, and `gavel audit verify --witness-key K
 * --min-witnesses N` requires it. A restored older copy of the ledger is refused by the witness,
 * and the server says why: its health (gavel.witness) and its log.
 */
const QUIET = { checkpointEvery: 1_000_000, checkpointSeconds: 3600 };
const witnessKey = ephemeralKey('witness.test/submit');
const witnessVkey = formatVerifierKey(witnessKey, COSIGNATURE_ALG);
const otherVkey = formatVerifierKey(ephemeralKey('witness.test/other'), COSIGNATURE_ALG);

let dir: string;
let ledger: string;
let witness: Witness;
let http: { server: Server; address: string };

async function decideAndCheckpoint(c: Runtime, n: number, prefix: string): Promise<number> {
  for (let i = 0; i < n; i++) await decideVia(c, echoInput({ subject: `${prefix}-${i}` }));
  return parseCheckpoint((await c.parts.ledger.checkpoint())!).checkpoint.size;
}
const start = (path = ledger) =>
  startRuntime(coreOptions(path, { ledgerOptions: QUIET, witnesses: { witnesses: [{ url: `http://${http.address}`, key: witnessVkey }] } }));
const cosignedBy = async (c: Runtime, size: number) => eventually(() => c.health.witnesses[0]!.cosignedSize === size, 10_000);

beforeAll(async () => {
  dir = tempDir();
  ledger = join(dir, 'ledger.db');
  // The ledger's key exists once it was opened: the witness is configured with it, as an operator would.
  const first = await startRuntime(coreOptions(ledger, { ledgerOptions: QUIET }));
  const logKey = verifierOf(first.parts.ledger.key);
  await first.stop();
  witness = new Witness(new Database(join(dir, 'witness.db')), witnessKey, [logKey]);
  http = await startWitnessHttp(witness, witnessVkey, '127.0.0.1', 0);
});
afterAll(async () => {
  await new Promise((r) => http?.server.close(r));
});

describe('gavel serve --witness', () => {
  it('sends each new checkpoint, keeps the cosignature, and `audit checkpoint` prints the note with it', async () => {
    const core = await start();
    try {
      const size = await decideAndCheckpoint(core, 4, 'a');
      expect(await cosignedBy(core, size)).toBe(true);
      expect(core.health.witnesses).toEqual([{ url: `http://${http.address}`, name: 'witness.test/submit', cosignedSize: size }]);
      expect(witness.latest(core.parts.ledger.origin).size).toBe(size);
      const grown = await decideAndCheckpoint(core, 3, 'b');
      expect(await cosignedBy(core, grown)).toBe(true);
    } finally {
      await core.stop();
    }
    const printed = await runCli(['audit', 'checkpoint', '--ledger', ledger]);
    expect(printed.code).toBe(0);
    const { signatures, checkpoint } = parseCheckpoint(printed.stdout);
    // The ledger's final checkpoint at stop may come after; the one printed is the latest, with what was kept for it.
    const db = new Database(ledger, { readonly: true });
    const kept = db.prepare('SELECT size, witness FROM checkpoint_cosignatures ORDER BY size').all();
    db.close();
    const id = `witness.test/submit+${parseVerifierKey(witnessVkey, COSIGNATURE_ALG).keyId.toString('hex')}`;
    expect(kept).toEqual([
      { size: 4, witness: id },
      { size: 7, witness: id },
    ]);
    expect(checkpoint.size).toBe(7);
    expect(signatures.map((s) => s.name)).toEqual([checkpoint.origin, 'witness.test/submit']);
  });

  it('learns the size the witness holds from its 409 after a restart, and sends the proof from there', async () => {
    const core = await start();
    try {
      // At start the submitter believes 0; the witness answers 409 with 7, and the request is sent again from 7.
      const size = await decideAndCheckpoint(core, 2, 'c');
      expect(await cosignedBy(core, size)).toBe(true);
      expect(core.health.witnesses[0]!.refused).toBeUndefined();
      expect(witness.latest(core.parts.ledger.origin).size).toBe(size);
    } finally {
      await core.stop();
    }
  });

  it('`audit verify --witness-key K --min-witnesses N` requires that many cosignatures, and says whose', async () => {
    const vkeyFile = join(dir, 'witness.vkey');
    writeFileSync(vkeyFile, `${witnessVkey}\n`);
    const ok = await runCli(['audit', 'verify', '--ledger', ledger, '--witness-key', vkeyFile, '--min-witnesses', '1']);
    expect(ok.stdout).toMatch(/^ok: .* cosigned up to 9 of 9 entries by witness\.test\/submit;/);
    expect(ok.code).toBe(0);
    const two = await runCli([
      'audit',
      'verify',
      '--ledger',
      ledger,
      '--witness-key',
      witnessVkey,
      '--witness-key',
      otherVkey,
      '--min-witnesses',
      '2',
      '--json',
    ]);
    expect(two.code).toBe(1);
    expect(JSON.parse(two.stdout)).toMatchObject({ ok: false, failure_kind: 'witnesses_missing', witnessed_size: 0 });
    const tooMany = await runCli(['audit', 'verify', '--ledger', ledger, '--witness-key', witnessVkey, '--min-witnesses', '2']);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toContain('min witnesses must be between 1 and the 1 witness keys given, not 2');
    // A line of the known witness that does not verify fails the file: a forged cosignature is no cosignature.
    const forged = join(tempDir(), 'forged.db');
    for (const s of ['', '.key']) copyFileSync(`${ledger}${s}`, `${forged}${s}`);
    const db = new Database(forged);
    db.exec('DROP TRIGGER checkpoint_cosignatures_no_update');
    const line = db.prepare('SELECT line FROM checkpoint_cosignatures WHERE size = 9').pluck().get() as string;
    const blob = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    blob[75] = (blob[75] ?? 0) ^ 1;
    db.prepare('UPDATE checkpoint_cosignatures SET line = ? WHERE size = 9').run(`\u2014 witness.test/submit ${blob.toString('base64')}\n`);
    db.close();
    const bad = await runCli(['audit', 'verify', '--ledger', forged, '--witness-key', witnessVkey, '--json']);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      failure_kind: 'checkpoint_invalid',
      message: expect.stringContaining('the cosignature of witness.test/submit does not verify'),
    });
  });

  it('the same requirement through AuditService.Verify: witnessed size and names, or INVALID_ARGUMENT for a key it cannot read', async () => {
    const core = await startRuntime(coreOptions(ledger, { ledgerOptions: QUIET }));
    try {
      const report = await core.audit.verify(undefined, { keys: [witnessVkey], min: 1 });
      expect(report).toMatchObject({ ok: true, witnessed_size: 9, witnessed_by: ['witness.test/submit'] });
      await expect(core.audit.verify(undefined, { keys: ['not a key'], min: 1 })).rejects.toMatchObject({ code: 'invalid_witness_requirement' });
      expect(await core.audit.verify()).toMatchObject({ ok: true, witnessed_size: 0, witnessed_by: [] });
    } finally {
      await core.stop();
    }
  });
});

describe('what a witness answers is checked', () => {
  it('a cosignature under the witness name but another key, one of its key whose signature fails, or a reply of megabytes, is not kept: the status says why', async () => {
    const impostor = ephemeralKey('witness.test/submit');
    let mode: 'impostor' | 'corrupt' | 'flood' = 'impostor';
    // The witness's own key and key id, with one bit of the signature flipped.
    const corrupt = (body: string) => {
      const line = cosign(body, witnessKey, 1_796_000_000).trim();
      const blob = Buffer.from(line.split(' ')[2]!, 'base64');
      blob[75] = (blob[75] ?? 0) ^ 1;
      return `${line.split(' ').slice(0, 2).join(' ')} ${blob.toString('base64')}\n`;
    };
    const fake = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const note = body.slice(body.indexOf('\n\n') + 2);
        res.writeHead(200, { 'content-type': 'text/plain' });
        const signed = parseCheckpoint(note).body;
        res.end(mode === 'impostor' ? cosign(signed, impostor, 1_796_000_000) : mode === 'corrupt' ? corrupt(signed) : `${'x'.repeat(4 * 1024 * 1024)}\n`);
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const path = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(path, { ledgerOptions: QUIET, witnesses: { witnesses: [{ url, key: witnessVkey }] } }));
    try {
      await decideAndCheckpoint(core, 2, 'i');
      expect(await eventually(() => core.health.witnesses[0]!.error !== undefined, 10_000)).toBe(true);
      expect(core.health.witnesses[0]!.error).toBe('the witness answered 200 with no cosignature that verifies with the key of witness.test/submit');
      mode = 'corrupt';
      delete core.health.witnesses[0]!.error;
      await decideAndCheckpoint(core, 1, 'k');
      expect(await eventually(() => core.health.witnesses[0]!.error !== undefined, 10_000)).toBe(true);
      mode = 'flood';
      await decideAndCheckpoint(core, 1, 'j');
      expect(await eventually(() => core.health.witnesses[0]!.error?.includes('no cosignature') === true && mode === 'flood', 10_000)).toBe(true);
      expect(core.parts.ledger.db.prepare('SELECT COUNT(*) FROM checkpoint_cosignatures').pluck().get()).toBe(0);
      expect(core.health.witnesses[0]!.cosignedSize).toBe(0);
    } finally {
      await core.stop();
      await new Promise((r) => fake.close(r));
    }
  });
});

describe('a restored older copy of the ledger, served with --witness', () => {
  let srv: ChildServer | undefined;
  afterAll(() => {
    srv?.child.kill('SIGKILL');
  });

  it('is refused by the witness, and the server says why: health (gavel.witness) and the log', async () => {
    // The copy: the file as it stands (size 9, cosigned, closed cleanly: no WAL left).
    const copy = join(tempDir(), 'ledger.db');
    for (const s of ['', '.key']) copyFileSync(`${ledger}${s}`, `${copy}${s}`);
    expect(existsSync(`${ledger}-wal`) && existsSync(`${copy}-wal`)).toBe(false);
    // The real one goes on, and the witness cosigns it.
    const core = await start();
    const size = await decideAndCheckpoint(core, 5, 'd');
    expect(await cosignedBy(core, size)).toBe(true);
    await core.stop();

    // The older copy is put back (file and key) and served: at start its latest checkpoint goes to the witness.
    for (const s of ['', '.key']) copyFileSync(`${copy}${s}`, `${ledger}${s}`);
    srv = await startChild([
      '--bundles',
      FIXTURE_BUNDLES,
      '--ledger',
      ledger,
      '--workers',
      '0',
      '--witness',
      `http://${http.address}`,
      '--witness-key',
      witnessVkey,
      '--checkpoint-every',
      '3',
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    const health = healthClient(srv.address);
    try {
      expect(await eventually(async () => (await health.check(WITNESS_HEALTH)) === 'NOT_SERVING', 10_000)).toBe(true);
      // Deciding goes on: a witness's refusal is an alarm, not a reason to stop answering.
      expect(await health.check('')).toBe('SERVING');
      const refusal = () => srv!.lines.map((l) => JSON.parse(l) as { msg: string; reason?: string }).filter((l) => l.msg.startsWith('a witness refused'));
      expect(await eventually(() => refusal().length > 0, 10_000)).toBe(true);
      expect(refusal()[0]!.reason).toBe(
        `the witness has cosigned a tree of ${size} entries, past this ledger's 9: this file is an older copy of the ledger the witness saw`,
      );
      expect(witness.latest(parseCheckpoint(refusalNote(ledger)).checkpoint.origin).size).toBe(size);
      // And Prometheus sees it.
      const metricsPort = servingLine<{ metrics_port: number }>(srv).metrics_port;
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain(`gavel_witness_refused{witness="http://${http.address}"} 1`);
      expect(metrics).toContain(`gavel_witness_cosigned_size{witness="http://${http.address}"} 0`);
    } finally {
      health.close();
      srv.child.kill('SIGTERM');
      await srv.exited;
    }

    // Written on past the size the witness holds, the fork's checkpoints fail the consistency proof (422).
    const fork = await start();
    try {
      const forked = await decideAndCheckpoint(fork, size - 9 + 3, 'forked');
      expect(forked).toBeGreaterThan(size);
      expect(await eventually(() => fork.health.witnesses[0]!.refused?.includes('not consistent') === true, 10_000)).toBe(true);
      expect(fork.health.witnesses[0]!.refused).toBe(
        `the witness refused the checkpoint at size ${forked}: the checkpoint at size ${forked} is not consistent with the one cosigned at size ${size}`,
      );
      expect(fork.health.witnesses[0]!.cosignedSize).toBe(size);
    } finally {
      await fork.stop();
    }
    expect(witness.latest(parseCheckpoint(refusalNote(ledger)).checkpoint.origin).size).toBe(size);
  });
});

/** The restored file's latest checkpoint note (read-only). */
function refusalNote(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1').pluck().get() as string;
  } finally {
    db.close();
  }
}
