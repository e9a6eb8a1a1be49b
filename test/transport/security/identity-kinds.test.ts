import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccessFile } from '../../../src/transport/security/access-file.js';
import { TlsFiles } from '../../../src/transport/security/tls-files.js';
import { gavelServices } from '../../../src/transport/proto.js';
import { jsonInput, stream, unary, unaryError, type Clients } from '../../helpers/client.js';
import { BUNDLES, tempDir } from '../../helpers/paths.js';
import { buildPki, tlsClients, type Pki } from '../../helpers/pki.js';
import { startInProcess, type InProcessServer } from '../../helpers/server.js';
import { modelCall } from '../../usage/helpers.js';

/**
 * Certificate identities by the kind of name they are, over real mutual TLS:
 * a DNS SAN is a host name and never a URI, whatever it spells; identities and
 * the access file's patterns are compared as people read them; a name holding
 * an invisible character names no one.
 */
let pki: Pki;
let srv: InProcessServer;
const open: Array<{ close(): void }> = [];
const who = { subject: 'kinds-user', team: 'platform', costCenter: 'cc-100' };

beforeAll(async () => {
  pki = await buildPki({
    admin: { cn: 'admin', uris: ['spiffe://t/admin/x'] },
    dnsAsUri: { cn: 'admin', dns: ['spiffe://t/admin/x'] },
    dnsHost: { cn: 'ignored', dns: ['gw.corp.example'] },
    dnsWildcard: { cn: 'ignored', dns: ['*.corp.example'] },
    uriWithoutScheme: { cn: 'ignored', uris: ['gw.corp.example'] },
    upperCase: { cn: 'gw', uris: ['spiffe://t/GATEWAY/eu-1'] },
    controlInUri: { cn: 'gw', uris: ['spiffe://t/gateway/eu\u00071'] },
    invisibleInCn: { cn: 'ops\u200dbot' },
  });
  const access = join(pki.dir, 'access.yaml');
  writeFileSync(
    access,
    `identities:
  - match: "spiffe://t/admin/*"
    roles: [admin]
  - match: "spiffe://t/gateway/*"
    roles: [decide]
  - match: "*.corp.example"
    roles: [decide]
  - match: "opsbot"
    roles: [decide]
`,
  );
  const tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, { security: { tls, policy: loadAccessFile(access) } });
});
afterAll(async () => {
  for (const c of open) c.close();
  await srv?.stop();
});

const connect = (name: string): Clients => {
  const c = tlsClients(srv.address, pki.caPem, pki.clients[name]);
  open.push(c);
  return c;
};

async function replayAs(name: string): Promise<number> {
  const pair = pki.clients[name]!;
  const creds = grpc.credentials.createSsl(pki.caPem, Buffer.from(pair.key), Buffer.from(pair.cert));
  const policy = new (gavelServices().PolicyService)(srv.address, creds, { 'grpc.ssl_target_name_override': 'localhost' });
  open.push(policy);
  try {
    await stream(policy, 'Replay', { bundle: readFileSync(join(BUNDLES, 'ai.tar.gz')), limit: 1 });
    return grpc.status.OK;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  }
}

const callerOfEntry = (decisionId: string) =>
  (srv.core.parts.ledger.db.prepare('SELECT caller FROM entries WHERE decision_id = ?').get(decisionId) as { caller: string }).caller;

describe('a DNS name is never taken for a URI identity', () => {
  it('a certificate whose only SAN is the DNS name "spiffe://t/admin/x" is UNAUTHENTICATED, not admin; the URI SAN of that name is admin', async () => {
    expect(await replayAs('dnsAsUri')).toBe(grpc.status.UNAUTHENTICATED);
    const err = await unaryError(connect('dnsAsUri').decision, 'Decide', jsonInput(modelCall(who)));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain('DNS SAN "spiffe://t/admin/x" is not a host name');
    expect(await replayAs('admin')).toBe(grpc.status.OK);
  });

  it('a host name DNS SAN is a DNS identity and matches name patterns; a wildcard DNS SAN or a URI SAN without a scheme names no one', async () => {
    const d = await unary(connect('dnsHost').decision, 'Decide', jsonInput(modelCall(who)));
    expect(callerOfEntry(d.decision_id)).toBe('gw.corp.example');
    for (const name of ['dnsWildcard', 'uriWithoutScheme']) {
      const before = srv.core.parts.ledger.size;
      expect((await unaryError(connect(name).decision, 'Decide', jsonInput(modelCall(who)))).code, name).toBe(grpc.status.UNAUTHENTICATED);
      expect(srv.core.parts.ledger.size).toBe(before);
    }
  });
});

describe('identities compared as people read them', () => {
  it('an identity in other letter case matches the pattern; the ledger keeps the name as the certificate holds it', async () => {
    const d = await unary(connect('upperCase').decision, 'Decide', jsonInput(modelCall(who)));
    expect(callerOfEntry(d.decision_id)).toBe('spiffe://t/GATEWAY/eu-1');
  });

  it('an identity holding a control or invisible character is UNAUTHENTICATED, and nothing is recorded', async () => {
    for (const [name, cp] of [
      ['controlInUri', 'U+0007'],
      ['invisibleInCn', 'U+200D'],
    ] as const) {
      const before = srv.core.parts.ledger.size;
      const err = await unaryError(connect(name).decision, 'Decide', jsonInput(modelCall(who)));
      expect([err.code, err.metadata.get('gavel-error-code')[0]], name).toEqual([grpc.status.UNAUTHENTICATED, 'unauthenticated']);
      expect(err.details).toContain(cp);
      expect(srv.core.parts.ledger.size).toBe(before);
    }
  });
});
