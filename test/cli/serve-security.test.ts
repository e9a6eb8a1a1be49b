import { describe, expect, it } from 'vitest';
import { SecurityUsageError, serverSecurity } from '../../src/cli/serve-security.js';

/** The flag rules of `gavel serve` before anything listens (the CLI exits 2 on each refusal; serve-tls.test.ts runs it). */
describe('serverSecurity', () => {
  it('loopback without TLS: every caller every role, with the warning that says so', () => {
    const { security, warnings } = serverSecurity({ listen: '127.0.0.1:50051' });
    expect(security.tls).toBeUndefined();
    expect(security.policy.open).toBe(true);
    expect(warnings.join('\n')).toContain('callers are not authenticated');
  });

  it('a network address without TLS needs --insecure, and is then served with a warning', () => {
    expect(() => serverSecurity({ listen: '0.0.0.0:50051' })).toThrow(SecurityUsageError);
    expect(() => serverSecurity({ listen: '127.0.0.1:50051', metricsListen: '10.1.2.3:9464' })).toThrow(/--metrics-listen 10\.1\.2\.3:9464 without TLS/);
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
