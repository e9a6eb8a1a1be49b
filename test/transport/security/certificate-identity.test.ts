import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthority, issue } from '../../../src/lib/dev-certs.js';
import { certificateIdentity, subjectAltNames } from '../../../src/transport/security/certificate-identity.js';

describe('the identity a certificate proves', () => {
  it('first URI SAN, else first DNS SAN, else CN, else none', () => {
    expect(certificateIdentity({ subjectaltname: 'DNS:gw.local, URI:spiffe://a/b, URI:spiffe://a/c', subject: { CN: 'cn' } as never })).toBe('spiffe://a/b');
    expect(certificateIdentity({ subjectaltname: 'IP Address:127.0.0.1, DNS:gw.local, DNS:other', subject: { CN: 'cn' } as never })).toBe('gw.local');
    expect(certificateIdentity({ subjectaltname: 'IP Address:127.0.0.1', subject: { CN: 'cn' } as never })).toBe('cn');
    expect(certificateIdentity({ subjectaltname: undefined as never, subject: { O: 'x' } as never })).toBeUndefined();
  });

  it('a quoted SAN value cannot smuggle a second entry in', () => {
    // Node writes an ambiguous value as a JSON string: this is ONE DNS name containing ", URI:…".
    const names = subjectAltNames('DNS:"evil, URI:spiffe://corp/admin", DNS:ok');
    expect(names).toEqual([
      { type: 'DNS', value: 'evil, URI:spiffe://corp/admin' },
      { type: 'DNS', value: 'ok' },
    ]);
    expect(certificateIdentity({ subjectaltname: 'DNS:"evil, URI:spiffe://corp/admin"', subject: {} as never })).toBe('evil, URI:spiffe://corp/admin');
  });

  it('reads what Node reports for a real certificate', async () => {
    const ca = await createAuthority('t');
    const leaf = await issue(ca, { cn: 'gw', dns: ['gw.corp.example'], uris: ['spiffe://corp.example/gateway/eu-1'] });
    const cert = new X509Certificate(leaf.cert);
    expect(certificateIdentity({ subjectaltname: cert.subjectAltName!, subject: { CN: 'gw' } as never })).toBe('spiffe://corp.example/gateway/eu-1');
  });
});
