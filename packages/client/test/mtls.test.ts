import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../../src/transport/security/access-policy.js';
import { TlsFiles } from '../../../src/transport/security/tls-files.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { buildPki, type Pki } from '../../../test/helpers/pki.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient } from '../src/index.js';
import { refusal } from './helpers.js';

/** The client over real mutual TLS: the certificate is the caller the ledger records; roles come from the access policy. */
const GATEWAY = 'spiffe://corp.example/gateway/eu-1';
const AUDITOR = 'spiffe://corp.example/auditor/a1';
const gw = { subject: 'sdk-mtls', team: 'platform', costCenter: 'cc-100' };
let pki: Pki;
let tls: TlsFiles;
let srv: InProcessServer;
const open: GavelClient[] = [];

function connect(name?: string, caller?: string): GavelClient {
  const pair = name ? pki.clients[name] : undefined;
  const c = createClient({
    target: srv.address,
    // The server certificate names localhost and 127.0.0.1: connect by address, check the name (a TLS server name may not be an IP).
    tls: { ca: pki.caPem, serverName: 'localhost', ...(pair ? { cert: pair.cert, key: pair.key } : {}) },
    ...(caller ? { caller } : {}),
    retry: false,
    breaker: false,
  });
  open.push(c);
  return c;
}

beforeAll(async () => {
  pki = await buildPki({ gateway: { cn: 'gw', uris: [GATEWAY] }, auditor: { cn: 'aud', uris: [AUDITOR] } });
  tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
  const policy = AccessPolicy.of([
    { match: 'spiffe://corp.example/gateway/*', roles: ['decide', 'report'] },
    { match: 'spiffe://corp.example/auditor/*', roles: ['audit'] },
  ]);
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, { security: { tls, policy } });
});
afterAll(async () => {
  for (const c of open) await c.close();
  await srv?.stop();
  tls?.close();
});

describe('mutual TLS', () => {
  it("records the certificate's identity as the caller; an x-gavel-caller claim is ignored", async () => {
    const c = connect('gateway', 'someone-else');
    const d = await c.decide(modelCall(gw));
    expect(d.outcome).toBe('allow');
    expect(srv.core.audit.get(d.decisionId)?.caller).toBe(GATEWAY);
    const receipt = await c.report(d.decisionId, {
      subject: gw.subject,
      team: gw.team,
      costCenter: gw.costCenter,
      model: d.model!,
      inputTokens: 5,
      outputTokens: 5,
    });
    expect(receipt.duplicate).toBe(false);
    expect(await c.health()).toBe('SERVING');
  });

  it('an identity without the role: permission_denied, read from the status details', async () => {
    const err = await refusal(connect('auditor').decide(modelCall(gw)));
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['permission_denied', 'PERMISSION_DENIED', false]);
    expect(err.message).toContain(AUDITOR);
  });

  it('no client certificate: no connection at all (unavailable), nothing recorded', async () => {
    const before = srv.core.audit.size;
    const err = await refusal(connect().decide(modelCall(gw), { deadlineMs: 3_000 }));
    expect(err.code).toBe('unavailable');
    expect(srv.core.audit.size).toBe(before);
  });
});
