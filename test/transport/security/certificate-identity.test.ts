import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthority, issue, type LeafOptions } from '../../../src/lib/dev-certs.js';
import { certificateIdentity, hostnameProblem, subjectAltNames } from '../../../src/transport/security/certificate-identity.js';

const ca = await createAuthority('t');

/** What the guard reads from a real certificate with these names: Node's SAN text and subject. */
async function identityOf(o: Omit<LeafOptions, 'usage'>) {
  const cert = new X509Certificate((await issue(ca, o)).cert);
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  return certificateIdentity({ subjectaltname: cert.subjectAltName as string, subject: (cn === undefined ? {} : { CN: cn }) as never });
}

describe('the identity a certificate proves, by the kind of name it is', () => {
  it('first URI SAN (as a URI), else first DNS SAN (as a DNS name), else (with no SAN at all) the CN', async () => {
    expect(await identityOf({ cn: 'cn', dns: ['gw.local'], uris: ['spiffe://a/b', 'spiffe://a/c'] })).toEqual({ kind: 'uri', name: 'spiffe://a/b' });
    expect(await identityOf({ cn: 'cn', ips: ['127.0.0.1'], dns: ['gw.local', 'other'] })).toEqual({ kind: 'dns', name: 'gw.local' });
    expect(await identityOf({ cn: 'cn' })).toEqual({ kind: 'cn', name: 'cn' });
    // A SAN extension without URI or DNS names: the CN does not stand in for it.
    expect(await identityOf({ cn: 'cn', ips: ['127.0.0.1'] })).toMatchObject({ problem: expect.stringContaining('no URI or DNS name') });
    expect(await identityOf({ cn: '', subject: 'O=x' })).toMatchObject({ problem: expect.stringContaining('no subject CN') });
  });

  it('a DNS SAN spelled like a SPIFFE id is no identity at all (it is not a host name)', async () => {
    expect(await identityOf({ cn: 'x', dns: ['spiffe://t/admin/x'] })).toEqual({
      problem: 'its DNS SAN "spiffe://t/admin/x" is not a host name (RFC 1123 labels: letters, digits, inner hyphens)',
    });
  });

  it('a wildcard DNS SAN names no one holder; a URI SAN without a scheme is no URI', async () => {
    expect(await identityOf({ cn: 'x', dns: ['*.corp.example'] })).toMatchObject({ problem: expect.stringContaining('is a wildcard') });
    expect(await identityOf({ cn: 'x', uris: ['gw.corp.example'] })).toMatchObject({ problem: expect.stringContaining('is not a URI') });
  });

  it('the first name of the chosen kind decides: a bad one does not fall through to the next', async () => {
    expect(await identityOf({ cn: 'x', dns: ['bad_name.example', 'gw.corp.example'] })).toMatchObject({ problem: expect.stringContaining('bad_name') });
  });

  it('a name with a control or invisible character names no one', async () => {
    expect(await identityOf({ cn: 'x', uris: ['spiffe://t/gateway/a\u0007b'] })).toMatchObject({ problem: expect.stringContaining('U+0007') });
    expect(await identityOf({ cn: 'ops\u200dbot' })).toMatchObject({ problem: expect.stringContaining('U+200D') });
  });

  it('a CN that reads as a URI is no identity, and a SAN list that does not parse names no one', async () => {
    expect(await identityOf({ cn: 'spiffe://corp.example/admin/x' })).toMatchObject({ problem: expect.stringContaining('reads as a URI') });
    // Full-width colon and solidus: a person reads "://".
    expect(await identityOf({ cn: 'spiffe\uff1a\uff0f\uff0fcorp.example/admin/x' })).toMatchObject({ problem: expect.stringContaining('reads as a URI') });
    expect(subjectAltNames('DNS:"unterminated, URI:spiffe://corp/admin')).toBeUndefined();
    expect(certificateIdentity({ subjectaltname: 'DNS:"unterminated, URI:spiffe://corp/admin', subject: { CN: 'cn' } as never })).toMatchObject({
      problem: expect.stringContaining('do not parse'),
    });
  });

  it('a quoted SAN value cannot smuggle a second entry in', () => {
    // Node writes an ambiguous value as a JSON string: this is ONE DNS name containing ", URI:…".
    const names = subjectAltNames('DNS:"evil, URI:spiffe://corp/admin", DNS:ok');
    expect(names).toEqual([
      { type: 'DNS', value: 'evil, URI:spiffe://corp/admin' },
      { type: 'DNS', value: 'ok' },
    ]);
    expect(certificateIdentity({ subjectaltname: 'DNS:"evil, URI:spiffe://corp/admin"', subject: {} as never })).toMatchObject({
      problem: expect.stringContaining('is not a host name'),
    });
  });
});

describe('host name syntax of a DNS SAN (RFC 1123)', () => {
  it.each([
    ['gw.corp.example', true],
    ['localhost', true],
    ['1gw.corp-2.example', true],
    [`${'a'.repeat(63)}.example`, true],
    [`${'a'.repeat(64)}.example`, false],
    [Array.from({ length: 64 }, () => 'abc').join('.'), false],
    ['-gw.example', false],
    ['gw-.example', false],
    ['gw..example', false],
    ['gw.example.', false],
    ['gw_1.example', false],
    ['*.corp.example', false],
    ['gw.*.example', false],
    ['gw.example/admin', false],
    ['spiffe://t/admin/x', false],
    ['gw example', false],
    ['', false],
  ])('%j -> %s', (name, ok) => {
    expect(hostnameProblem(name) === undefined).toBe(ok);
  });
});
