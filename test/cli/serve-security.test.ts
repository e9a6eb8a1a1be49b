import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecurityUsageError, serverSecurity } from '../../src/cli/serve-security.js';
import type { PeerIdentity } from '../../src/transport/security/certificate-identity.js';
import { buildPki } from '../helpers/pki.js';

/** The flag rules of `gavel serve` before anything listens (the CLI exits 2 on each refusal; serve-tls.test.ts runs it). */
describe('serverSecurity', () => {
  it('loopback without TLS: every caller every role, with the warning that says so', () => {
    const { security, warnings } = serverSecurity({ listen: '127.0.0.1:50051' });
    expect(security.tls).toBeUndefined();
    expect(security.policy.open).toBe(true);
    expect(security.policy.label).toBe('everyone');
    expect(warnings.join('\n')).toContain('callers are not authenticated; every caller holds every role');
  });

  it('mutual TLS without --access: a certificate holds "decide" only, with the warning that says so; an access file grants the rest', async () => {
    const pki = await buildPki({});
    const mutual = { listen: '0.0.0.0:50051', tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caFile };
    const gateway: PeerIdentity = { kind: 'uri', name: 'spiffe://gavel.dev/gateway/dev' };
    const { security, warnings } = serverSecurity(mutual);
    expect(security.policy.open).toBe(false);
    expect([...security.policy.rolesOf(gateway)]).toEqual(['decide']);
    expect([...security.policy.rolesOf({ kind: 'dns', name: 'anything.example' })]).toEqual(['decide']);
    expect(security.policy.label).toBe('decide only');
    expect(warnings).toEqual([
      'no --access file: a certificate from the client CA holds the "decide" role only; report, audit, audit-payloads, approve, approve-on-behalf and admin must be granted in an access file',
    ]);
    const access = join(pki.dir, 'access.yaml');
    writeFileSync(access, 'identities:\n  - match: "spiffe://gavel.dev/gateway/*"\n    roles: [report]\n');
    const granted = serverSecurity({ ...mutual, access });
    expect([...granted.security.policy.rolesOf(gateway)]).toEqual(['report']);
    expect(granted.warnings).toEqual([]);
  });

  it('a network address without TLS needs --insecure, and is then served with a warning', () => {
    expect(() => serverSecurity({ listen: '0.0.0.0:50051' })).toThrow(SecurityUsageError);
    expect(() => serverSecurity({ listen: '127.0.0.1:50051', metricsListen: '10.1.2.3:9464' })).toThrow(/--metrics-listen 10\.1\.2\.3:9464 without TLS/);
    expect(() => serverSecurity({ listen: '127.0.0.1:50051', extAuthzListen: '0.0.0.0:9191' })).toThrow(/--ext-authz-listen 0\.0\.0\.0:9191 without TLS/);
    const { warnings } = serverSecurity({ listen: '0.0.0.0:50051', insecure: true });
    expect(warnings).toContain('--insecure: serving a network address without TLS');
  });

  it('server-only TLS authenticates no caller: a network address needs mutual TLS or --insecure', () => {
    expect(() => serverSecurity({ listen: '0.0.0.0:50051', tlsCert: 'server.pem', tlsKey: 'server.key' })).toThrow(/without mutual TLS/);
  });

  it('--insecure on loopback adds no network warning', () => {
    expect(serverSecurity({ listen: '127.0.0.1:1', insecure: true }).warnings.some((w) => w.startsWith('--insecure'))).toBe(false);
  });
});
