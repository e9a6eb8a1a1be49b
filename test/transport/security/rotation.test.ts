import { renameSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../../src/transport/security/access-policy.js';
import { TlsFiles } from '../../../src/transport/security/tls-files.js';
import { jsonInput, unary, type Clients } from '../../helpers/client.js';
import { BUNDLES, tempDir } from '../../helpers/paths.js';
import { buildPki, EXPIRED, NOT_YET_VALID, tlsClients, type Pki } from '../../helpers/pki.js';
import { startInProcess, type InProcessServer } from '../../helpers/server.js';
import { modelCall } from '../../usage/helpers.js';

/** Certificate rotation without a restart, over real TLS on loopback. */
let pki: Pki;
let srv: InProcessServer;
let tls: TlsFiles;
const reloadErrors: unknown[] = [];
const open: Clients[] = [];
const who = { subject: 'rot', team: 'platform', costCenter: 'cc-100' };

beforeAll(async () => {
  pki = await buildPki({ gateway: { cn: 'gw', uris: ['spiffe://corp.example/gateway/eu-1'] } });
  tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
  tls.watch((err) => reloadErrors.push(err), 100);
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, { security: { tls, policy: AccessPolicy.everyone() } });
});
afterAll(async () => {
  tls.close();
  for (const c of open) c.close();
  await srv?.stop();
});

/** The serial number of the certificate a new connection is served. */
function servedSerial(): Promise<string> {
  const port = Number(srv.address.split(':')[1]);
  const me = pki.clients.gateway!;
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: pki.caPem, cert: me.cert, key: me.key, servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

/** Replaces a file the way a deployment tool does: write aside, then rename over it. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('certificate rotation', () => {
  it('new connections get the new certificate; calls on a connection opened before keep going, none fails', async () => {
    const before = await servedSerial();
    const old = tlsClients(srv.address, pki.caPem, pki.clients.gateway);
    open.push(old);
    await unary(old.decision, 'Decide', jsonInput(modelCall(who)));
    let calls = 0;
    let failures = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        await unary(old.decision, 'Decide', jsonInput(modelCall(who))).then(
          () => calls++,
          () => failures++,
        );
      }
    })();

    const next = await pki.newServerPair();
    replace(pki.serverKey, next.key);
    replace(pki.serverCert, next.cert);
    const switched = await until(async () => (await servedSerial()) === serialOf(next.cert), 5000);
    const callsAtSwitch = calls;
    await until(async () => calls >= callsAtSwitch + 20, 5000);
    running = false;
    await load;

    expect(before).not.toBe(serialOf(next.cert));
    expect(switched).toBe(true);
    expect(failures).toBe(0);
    expect(calls).toBeGreaterThan(callsAtSwitch);
    const fresh = tlsClients(srv.address, pki.caPem, pki.clients.gateway);
    open.push(fresh);
    expect((await unary(fresh.decision, 'Decide', jsonInput(modelCall(who)))).decision).toBe('DECISION_ALLOW');
  });

  it('a key that does not fit the new certificate is refused whole: the previous certificate keeps serving', async () => {
    const serving = await servedSerial();
    const a = await pki.newServerPair();
    const b = await pki.newServerPair();
    reloadErrors.length = 0;
    // Written directly (not a rename pair): the files on disk stay mismatched.
    writeFileSync(pki.serverCert, a.cert);
    writeFileSync(pki.serverKey, b.key);
    expect(() => tls.reload()).toThrow(/does not fit/);
    expect(await until(async () => reloadErrors.length > 0, 3000)).toBe(true);
    expect(await servedSerial()).toBe(serving);
    const c = tlsClients(srv.address, pki.caPem, pki.clients.gateway);
    open.push(c);
    expect((await unary(c.decision, 'Decide', jsonInput(modelCall(who)))).decision).toBe('DECISION_ALLOW');
  });

  it.each([
    ['expired', EXPIRED, /has expired \(valid until /],
    ['not valid yet', NOT_YET_VALID, /is not valid yet \(valid from /],
  ] as const)(
    'a new server certificate that is %s is refused: the previous one keeps serving, and a start on it is refused',
    async (_what, validity, message) => {
      const good = await pki.newServerPair();
      replace(pki.serverKey, good.key);
      replace(pki.serverCert, good.cert);
      expect(await until(async () => (await servedSerial()) === serialOf(good.cert), 5000)).toBe(true);
      const outside = await pki.newServerPair(validity);
      reloadErrors.length = 0;
      // A matching pair, so it is the validity alone that is refused.
      replace(pki.serverKey, outside.key);
      replace(pki.serverCert, outside.cert);
      expect(() => tls.reload()).toThrow(message);
      // The watcher reports it too (serve logs it as an error); it may first have seen the new key beside the old certificate.
      expect(await until(async () => reloadErrors.some((e) => message.test(String(e))), 3000)).toBe(true);
      expect(await servedSerial()).toBe(serialOf(good.cert));
      const c = tlsClients(srv.address, pki.caPem, pki.clients.gateway);
      open.push(c);
      expect((await unary(c.decision, 'Decide', jsonInput(modelCall(who)))).decision).toBe('DECISION_ALLOW');
      expect(() => new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey })).toThrow(message);
    },
  );

  it('a start on unusable files is refused naming them; unchanged files are not re-applied', async () => {
    // Mismatched again, as a deployment might leave them.
    writeFileSync(pki.serverCert, (await pki.newServerPair()).cert);
    writeFileSync(pki.serverKey, (await pki.newServerPair()).key);
    expect(() => new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey })).toThrow(/does not fit certificate/);
    expect(() => new TlsFiles({ certFile: join(pki.dir, 'missing.pem'), keyFile: pki.serverKey })).toThrow(/missing\.pem cannot be read/);
    const good = await pki.newServerPair();
    writeFileSync(pki.serverCert, good.cert);
    writeFileSync(pki.serverKey, good.key);
    const t = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey });
    let changes = 0;
    t.onChange(() => changes++);
    expect(t.reload()).toBe(false);
    expect(changes).toBe(0);
  });
});
