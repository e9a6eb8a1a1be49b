import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { gavelServices } from '../../src/transport/proto.js';
import { clients, jsonInput, unary, type Clients } from '../helpers/client.js';
import { watchedFolder } from '../helpers/live-bundles.js';
import { tempDir } from '../helpers/paths.js';
import { type ChildServer, failedStart, runCli, startChild, startInProcess, type InProcessServer } from '../helpers/server.js';
import { ECHO, echoInput } from '../ledger/fixtures.js';
import { dataBomb, FIXTURE_MANIFEST, fixtureWith, tarGz } from './hostile-archives.js';

/**
 * A refused bundle leaves the active set serving, whatever the refusal: each
 * hostile archive is dropped over the live bundle's file in the watched
 * folder of a real server on 127.0.0.1, and Decide goes on answering with the
 * revision that was live. The 120 MB data.json bomb goes to `gavel serve` as a
 * process of its own (before the limits it took the process down), through
 * the folder and as a PolicyService.Replay candidate.
 */
const revision = (rev: string) => tarGz(fixtureWith(rev));

function publish(dir: string, bytes: Buffer): void {
  writeFileSync(join(dir, '.fx.partial'), bytes);
  renameSync(join(dir, '.fx.partial'), join(dir, 'fx.tar.gz'));
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const decideRevision = async (c: Clients) => (await unary(c.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision as string;

let srv: InProcessServer | undefined;
let child: ChildServer | undefined;
let c: Clients | undefined;
const stops: Array<() => void> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  c?.close();
  c = undefined;
  await srv?.stop();
  srv = undefined;
  if (child && child.child.exitCode === null) {
    child.child.kill('SIGKILL');
    await child.exited;
  }
  child = undefined;
});

describe('each refusal leaves the live revision answering (in-process server, watched folder)', () => {
  const hostile: Array<[string, Buffer, string]> = [
    [
      'symlinked data.json',
      tarGz(fixtureWith('rev-x', [{ path: 'data.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }], ['data.json'])),
      '"data.json" is a symbolic link',
    ],
    ['hard link', tarGz(fixtureWith('rev-x', [{ path: 'copy.wasm', type: 'Link', linkpath: 'policy.wasm' }])), '"copy.wasm" is a hard link'],
    ['device', tarGz(fixtureWith('rev-x', [{ path: 'tty', type: 'CharacterDevice' }])), '"tty" is a character device'],
    ['second data.json as /./data.json', tarGz(fixtureWith('rev-x', [{ path: '/./data.json', body: '{}' }])), '"data.json" is in the archive twice'],
    ['second data.json as x/../data.json', tarGz(fixtureWith('rev-x', [{ path: 'x/../data.json', body: '{}' }])), '(as "data.json" and "x/../data.json")'],
    ['a path out of the root', tarGz(fixtureWith('rev-x', [{ path: '../../x', body: '' }])), '"../../x" leads out of the bundle root'],
    [
      '30 MB .manifest',
      tarGz(
        fixtureWith(
          'rev-x',
          [{ path: '.manifest', body: JSON.stringify({ ...FIXTURE_MANIFEST, revision: 'rev-x', metadata: { pad: 'm'.repeat(30_000_000) } }) }],
          ['.manifest'],
        ),
      ),
      'more than --bundle-max-manifest-bytes allows (1 MiB)',
    ],
    ['the 120 MB data.json', dataBomb('rev-x'), '"data.json" is 125829127 bytes, more than --bundle-max-data-bytes allows (32 MiB)'],
  ];

  it('every hostile archive is refused (recorded with its reason), and Decide answers with rev-a throughout', async () => {
    const dir = tempDir('gavel-hostile-');
    publish(dir, revision('rev-a'));
    srv = await startInProcess({ ...watchedFolder(dir, { intervalMs: 25 }), ledger: join(tempDir(), 'l.db'), engine: { defaultEntrypoint: ECHO, workers: 1 } });
    c = clients(srv.address);
    const refusals = () =>
      srv!.core.parts.ledger.db
        .prepare("SELECT p.body FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'policy' AND e.decision = 'refused'")
        .all().length;
    for (const [what, bytes, reason] of hostile) {
      const before = refusals();
      publish(dir, bytes);
      await until(() => refusals() > before, 20_000, `refusal of ${what}`);
      expect(
        srv.core.policies.bundles.map((b) => b.revision),
        what,
      ).toEqual(['rev-a']);
      expect(await decideRevision(c), what).toBe('rev-a');
      const status = srv.core.parts.ledger.policyStatus();
      expect(status.refusals[0]!.reason, what).toContain(reason); // newest first
    }
    // The watcher still takes a good bundle after all of them.
    publish(dir, revision('rev-b'));
    await until(() => srv!.core.policies.bundles[0]?.revision === 'rev-b');
    expect(await decideRevision(c)).toBe('rev-b');
  });
});

describe('the 120 MB data.json bomb against `gavel serve` (a process of its own)', () => {
  /** Resolves once a log line matches; rejects at once if the server exits meanwhile (as it did before the limits). */
  async function logged(s: ChildServer, match: (line: string) => boolean, ms = 60_000): Promise<string> {
    let exited: number | null | undefined;
    void s.exited.then((code) => {
      exited = code;
    });
    const end = Date.now() + ms;
    for (;;) {
      const line = s.lines.find(match);
      if (line) return line;
      if (exited !== undefined) throw new Error(`gavel serve exited (code ${exited}) instead of refusing the bundle`);
      if (Date.now() > end) throw new Error('no such log line in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function serveChild(extra: string[] = []): Promise<{ dir: string; ledger: string }> {
    const dir = tempDir('gavel-bomb-');
    publish(dir, revision('rev-a'));
    const ledger = join(tempDir(), 'l.db');
    child = await startChild(['--bundles', dir, '--ledger', ledger, '--workers', '1', ...extra]);
    c = clients(child.address);
    expect(await decideRevision(c)).toBe('rev-a');
    return { dir, ledger };
  }

  it('dropped in the watched folder (no verification key): refused at its tar header; the server keeps answering', async () => {
    const { dir } = await serveChild();
    publish(dir, dataBomb('rev-bomb'));
    const line = await logged(child!, (l) => l.includes('bundle refused'));
    expect(JSON.parse(line).err).toBe('bundle fx: "data.json" is 125829127 bytes, more than --bundle-max-data-bytes allows (32 MiB)');
    expect(await decideRevision(c!)).toBe('rev-a');
    expect(child!.child.exitCode).toBeNull();
    publish(dir, revision('rev-b'));
    await until(async () => (await decideRevision(c!)) === 'rev-b');
  });

  it('with the byte limits raised past it, the JSON parser runs out of its heap, not the server', async () => {
    const raised = ['--bundle-max-bytes', '256MiB', '--bundle-max-entry-bytes', '256MiB', '--bundle-max-data-bytes', '256MiB'];
    const { dir } = await serveChild([...raised, '--bundle-max-parse-heap', '64MiB']);
    publish(dir, dataBomb('rev-bomb'));
    const line = await logged(child!, (l) => l.includes('bundle refused'));
    expect(JSON.parse(line).err).toBe('bundle fx: its JSON documents need more memory to parse than --bundle-max-parse-heap allows (64 MiB)');
    expect(await decideRevision(c!)).toBe('rev-a');
    expect(child!.child.exitCode).toBeNull();
  });

  it('sent as a PolicyService.Replay candidate: bundle_invalid, and Decide and Replay still answer', async () => {
    await serveChild();
    const policy = new (gavelServices().PolicyService)(child!.address, grpc.credentials.createInsecure());
    stops.push(() => policy.close());
    const replay = (bundle: Buffer) =>
      new Promise<{ error?: grpc.ServiceError; events: unknown[] }>((resolve) => {
        const call = (policy as unknown as { Replay(r: unknown, o: grpc.CallOptions): grpc.ClientReadableStream<unknown> }).Replay(
          { bundle },
          { deadline: Date.now() + 60_000 },
        );
        const events: unknown[] = [];
        call.on('data', (e) => events.push(e));
        call.on('error', (error: grpc.ServiceError) => resolve({ error, events }));
        call.on('end', () => resolve({ events }));
      });
    const bombed = await replay(dataBomb('rev-bomb'));
    expect(bombed.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(bombed.error?.metadata.get('gavel-error-code')).toEqual(['bundle_invalid']);
    expect(bombed.error?.details).toContain('"data.json" is 125829127 bytes, more than --bundle-max-data-bytes allows (32 MiB)');
    expect(await decideRevision(c!)).toBe('rev-a');
    const ok = await replay(revision('rev-candidate'));
    expect(ok.error).toBeUndefined();
    expect(ok.events.length).toBeGreaterThan(0);
    expect(child!.child.exitCode).toBeNull();
  });
});

describe('the flags', () => {
  it('gavel serve refuses a limit that is not a size (usage) or does not fit the others (config, naming the key)', async () => {
    const base = ['--bundles', tempDir('gavel-flags-'), '--ledger', join(tempDir(), 'l.db')];
    expect(await failedStart([...base, '--bundle-max-bytes', 'lots'])).toContain('must be a size in bytes');
    const mismatch = await failedStart([...base, '--bundle-max-data-bytes', '100MiB']);
    expect(mismatch).toContain('exited with 3');
    expect(mismatch).toContain('bundle limit maxDataBytes (--bundle-max-data-bytes) (104857600) must not exceed bundle limit maxEntryBytes');
  });

  it('gavel replay reads its candidate within the same limits (exit 3, the reason)', async () => {
    const file = join(tempDir('gavel-replay-bomb-'), 'bomb.tar.gz');
    writeFileSync(file, dataBomb());
    const ledger = join(tempDir(), 'absent.db');
    const plain = await runCli(['replay', '--bundle', file, '--ledger', ledger]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain('bundle bomb: "data.json" is 125829127 bytes, more than --bundle-max-data-bytes allows (32 MiB)');
    const raised = ['--bundle-max-bytes', '256MiB', '--bundle-max-entry-bytes', '256MiB', '--bundle-max-data-bytes', '256MiB'];
    const heap = await runCli(['replay', '--bundle', file, '--ledger', ledger, ...raised, '--bundle-max-parse-heap', '48MiB']);
    expect(heap.code).toBe(3);
    expect(heap.stderr).toContain('bundle bomb: its JSON documents need more memory to parse than --bundle-max-parse-heap allows (48 MiB)');
  });
});
