import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVerifierKey, verifierOf } from '../../src/ledger/keys.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { eventually } from '../helpers/health.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';

/**
 * gavel's checkpoints against a witness nobody here wrote: torchwood's litewitness v0.6.1
 * (filippo.io/torchwood, C2SP tlog-witness; .ci/run installs it with `go install`). Its key lives
 * in an ssh-agent, as litewitness requires; everything listens on 127.0.0.1 and stops with the file.
 */
const bin = (name: string) => [join(homedir(), 'go/bin', name), join(process.env.GOPATH ?? '', 'bin', name)].find((p) => existsSync(p));
const litewitness = bin('litewitness');
const witnessctl = bin('witnessctl');
const missing = !litewitness || !witnessctl ? 'litewitness and witnessctl are not installed (.ci/run installs them)' : undefined;

const QUIET = { checkpointEvery: 1_000_000, checkpointSeconds: 3600 };
let dir: string;
let ledger: string;
let agent: ChildProcess | undefined;
let witness: ChildProcess | undefined;
let url: string;
let vkey: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function decideAndCheckpoint(c: Runtime, n: number, prefix: string): Promise<number> {
  for (let i = 0; i < n; i++) await decideVia(c, echoInput({ subject: `${prefix}-${i}` }));
  return Number((await c.parts.ledger.checkpoint())!.split('\n')[1]);
}

beforeAll(async () => {
  if (missing) return;
  dir = tempDir();
  ledger = join(dir, 'ledger.db');
  const first = await startRuntime(coreOptions(ledger, { ledgerOptions: QUIET }));
  const logKey = formatVerifierKey(verifierOf(first.parts.ledger.key));
  const origin = first.parts.ledger.origin;
  await first.stop();

  // The witness's key, in an ssh-agent of its own (foreground: it stops with this file).
  const key = join(dir, 'wkey');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'litewitness', '-f', key]);
  const fingerprint = /SHA256:\S+/.exec(execFileSync('ssh-keygen', ['-lf', `${key}.pub`, '-E', 'sha256'], { encoding: 'utf8' }))![0];
  const sock = join(dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  await eventually(() => existsSync(sock), 5000);
  execFileSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });

  const db = join(dir, 'witness.db');
  execFileSync(witnessctl!, ['add-log', '-db', db, '-origin', origin], { stdio: 'ignore' });
  execFileSync(witnessctl!, ['add-key', '-db', db, '-origin', origin, '-key', logKey], { stdio: 'ignore' });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  witness = spawn(litewitness!, ['-db', db, '-name', 'witness.test/lite', '-key', fingerprint, '-ssh-agent', sock, '-listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  witness.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  witness.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const up = async () =>
    /vkey=\S+/.test(output) &&
    (await fetch(`${url}/`)
      .then((r) => r.status < 500)
      .catch(() => false));
  if (!(await eventually(up, 15_000))) throw new Error(`litewitness did not start: ${output}`);
  vkey = /vkey=(\S+)/.exec(output)![1]!;
}, 60_000);

afterAll(() => {
  witness?.kill('SIGKILL');
  agent?.kill('SIGKILL');
});

describe.skipIf(missing !== undefined)('gavel serve --witness against litewitness v0.6.1', () => {
  it('is cosigned from its first checkpoint on, through restarts (the 409 says where litewitness stands), and audit verify requires it', async () => {
    let core = await startRuntime(coreOptions(ledger, { ledgerOptions: QUIET, witnesses: { witnesses: [{ url, key: vkey }] } }));
    try {
      const first = await decideAndCheckpoint(core, 3, 'a');
      expect(await eventually(() => core.health.witnesses[0]!.cosignedSize === first, 10_000)).toBe(true);
      const second = await decideAndCheckpoint(core, 4, 'b');
      expect(await eventually(() => core.health.witnesses[0]!.cosignedSize === second, 10_000)).toBe(true);
      expect(core.health.witnesses[0]).toMatchObject({ name: 'witness.test/lite', cosignedSize: second });
    } finally {
      await core.stop();
    }
    core = await startRuntime(coreOptions(ledger, { ledgerOptions: QUIET, witnesses: { witnesses: [{ url, key: vkey }] } }));
    let third = 0;
    try {
      third = await decideAndCheckpoint(core, 2, 'c');
      expect(await eventually(() => core.health.witnesses[0]!.cosignedSize === third, 10_000)).toBe(true);
      expect(core.health.witnesses[0]!.refused).toBeUndefined();
    } finally {
      await core.stop();
    }
    const verified = await runCli(['audit', 'verify', '--ledger', ledger, '--witness-key', vkey]);
    expect(verified.stdout).toContain(`cosigned up to ${third} of ${third} entries by witness.test/lite`);
    expect(verified.code).toBe(0);
  });
});
