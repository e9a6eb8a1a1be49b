import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthority, issue } from '../../../src/lib/dev-certs.js';
import { certificateIdentity, subjectAltNames } from '../../../src/transport/security/certificate-identity.js';

describe('the identity a certificate proves', () => {
  it('first URI SAN, else first DNS SAN, else (with no SAN at all) the CN, else none', () => {
    expect(certificateIdentity({ subjectaltname: 'DNS:gw.local, URI:spiffe://a/b, URI:spiffe://a/c', subject: { CN: 'cn' } as never })).toBe('spiffe://a/b');
    expect(certificateIdentity({ subjectaltname: 'IP Address:127.0.0.1, DNS:gw.local, DNS:other', subject: { CN: 'cn' } as never })).toBe('gw.local');
    expect(certificateIdentity({ subjectaltname: undefined as never, subject: { CN: 'cn' } as never })).toBe('cn');
    // A SAN extension without URI or DNS names: the CN does not stand in for it.
    expect(certificateIdentity({ subjectaltname: 'IP Address:127.0.0.1', subject: { CN: 'cn' } as never })).toBeUndefined();
    expect(certificateIdentity({ subjectaltname: undefined as never, subject: { O: 'x' } as never })).toBeUndefined();
  });

  it('a CN shaped like a URI is no identity, and a SAN list that does not parse names no one', () => {
    expect(certificateIdentity({ subjectaltname: undefined as never, subject: { CN: 'spiffe://corp.example/admin/x' } as never })).toBeUndefined();
    expect(subjectAltNames('DNS:"unterminated, URI:spiffe://corp/admin')).toBeUndefined();
    expect(certificateIdentity({ subjectaltname: 'DNS:"unterminated, URI:spiffe://corp/admin', subject: { CN: 'cn' } as never })).toBeUndefined();
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
