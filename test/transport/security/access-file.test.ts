import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAccessFile } from '../../../src/transport/security/access-file.js';
import type { PeerIdentity } from '../../../src/transport/security/certificate-identity.js';
import { identityMatcher, patternProblem } from '../../../src/transport/security/identity-pattern.js';
import { isLoopback } from '../../../src/transport/security/listen-rule.js';
import { tempDir } from '../../helpers/paths.js';
import { refusal } from '../../helpers/refusal.js';

const uri = (name: string): PeerIdentity => ({ kind: 'uri', name });
const dns = (name: string): PeerIdentity => ({ kind: 'dns', name });
/** What the guard would take the identity for: a URI when it has "://", else a DNS name. */
const typed = (name: string): PeerIdentity => (name.includes('://') ? uri(name) : dns(name));

const file = (text: string) => {
  const p = join(tempDir(), 'access.yaml');
  writeFileSync(p, text);
  return p;
};

describe('access file', () => {
  it('YAML grants the union of the roles of every matching rule; an unmatched identity holds none', () => {
    const policy = loadAccessFile(
      file(`identities:
  - match: "spiffe://corp.example/gateway/*"   # the fleet
    roles: [decide, report]
  - match: spiffe://corp.example/gateway/eu-1
    roles: [audit]
`),
    );
    expect([...policy.rolesOf(uri('spiffe://corp.example/gateway/eu-1'))].sort()).toEqual(['audit', 'decide', 'report']);
    expect([...policy.rolesOf(uri('spiffe://corp.example/gateway/us-1'))].sort()).toEqual(['decide', 'report']);
    expect(policy.rolesOf(uri('spiffe://corp.example/auditor/a')).size).toBe(0);
    expect(policy.open).toBe(false);
  });

  it('JSON is valid YAML', () => {
    const policy = loadAccessFile(file(JSON.stringify({ identities: [{ match: 'auditor.corp.example', roles: ['audit', 'audit-payloads'] }] })));
    expect([...policy.rolesOf(dns('auditor.corp.example'))]).toEqual(['audit', 'audit-payloads']);
  });

  it.each([
    ['identities: [{match: "a", roles: [aduit]}]', 'identities[0].roles[0] is "aduit", not a role'],
    ['identities: [{match: "a", roles: []}]', 'identities[0].roles must be a non-empty list'],
    ['identities: [{match: "a", role: [audit]}]', 'identities[0].role is not a known key'],
    ['identity: []', 'identity is not a known key'],
    ['identities: {match: a}', 'identities must be a list'],
    ['identities: [{match: "spiffe://x/gw*", roles: [decide]}]', '"*" must be a whole segment'],
    ['identities: [{match: "", roles: [decide]}]', 'identities[0].match is empty'],
    ['identities: [{match: 7, roles: [decide]}]', 'identities[0].match must be a string'],
    ['identities: [unclosed', 'is not valid YAML'],
    ['identities: [{match: "spiffe://corp.example/admin/\u200dx", roles: [admin]}]', 'identities[0].match holds the invisible or control character U+200D'],
    ['identities: [{match: "gw.corp.example\u0007", roles: [decide]}]', 'identities[0].match holds the invisible or control character U+0007'],
    ['- just a list', 'top level must be a mapping'],
  ])('refuses %j whole, naming the place', async (text, message) => {
    const err = await refusal(Promise.resolve().then(() => loadAccessFile(file(text))));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain(message);
  });

  it('a missing file is config_invalid naming it', async () => {
    const err = await refusal(Promise.resolve().then(() => loadAccessFile('/nonexistent/access.yaml')));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain('/nonexistent/access.yaml');
  });
});

describe('identity patterns: * is exactly one segment', () => {
  it.each([
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gateway/eu-1', true],
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gateway/eu-1.a', true],
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gateway/eu-1/extra', false],
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gateway/', false],
    ['spiffe://corp.example/*/eu-1', 'spiffe://corp.example/gateway/eu-1', true],
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gatewayX/eu-1', false],
    ['spiffe://corp.example/gateway/*', 'spiffe://corpXexample/gateway/eu-1', false],
    ['*.corp.example', 'gw.corp.example', true],
    ['*.corp.example', 'a.gw.corp.example', false],
    ['*.corp.example', 'spiffe://gw.corp.example', false],
    ['*.corp.example', 'evil/x.corp.example', false],
    ['*.corp.example', 'evil x.corp.example', false],
    ['spiffe://corp.example/gateway/*', 'spiffe://corp.example/gateway/a b', false],
    ['gw.corp.example', 'gw.corp.example', true],
    ['gw.corp.example', 'gwXcorp.example', false],
  ])('%s vs %s -> %s', (pattern, identity, matches) => {
    expect(identityMatcher(pattern)(typed(identity))).toBe(matches);
  });

  it('a DNS name never matches a URI pattern, nor a URI a name pattern, whatever they spell', () => {
    const policy = loadAccessFile(
      file(`identities:
  - match: "spiffe://t/admin/*"
    roles: [admin]
  - match: "gw.corp.example"
    roles: [decide]
`),
    );
    expect([...policy.rolesOf(uri('spiffe://t/admin/x'))]).toEqual(['admin']);
    expect(policy.rolesOf(dns('spiffe://t/admin/x')).size).toBe(0);
    expect(policy.rolesOf({ kind: 'cn', name: 'spiffe://t/admin/x' }).size).toBe(0);
    expect([...policy.rolesOf(dns('gw.corp.example'))]).toEqual(['decide']);
    expect(policy.rolesOf(uri('gw.corp.example')).size).toBe(0);
    // An unverified claim (no mutual TLS) matches no pattern at all.
    expect(policy.rolesOf({ kind: 'claim', name: 'spiffe://t/admin/x' }).size).toBe(0);
  });

  it('patterns and identities are compared as people read them (NFKC, case folded)', () => {
    const policy = loadAccessFile(
      file(`identities:
  - match: "spiffe://corp.example/Gateway/*"
    roles: [decide]
  - match: "spiffe://corp.example/\uff4f\uff50\uff53/*"
    roles: [audit]
  - match: "*.CORP.example"
    roles: [report]
  - match: "spiffe://corp.example/stra\u00dfe/1"
    roles: [approve]
`),
    );
    expect([...policy.rolesOf(uri('spiffe://corp.example/gateway/eu-1'))]).toEqual(['decide']);
    expect([...policy.rolesOf(uri('spiffe://CORP.example/GATEWAY/EU-1'))]).toEqual(['decide']);
    expect([...policy.rolesOf(uri('spiffe://corp.example/ops/1'))]).toEqual(['audit']);
    expect([...policy.rolesOf(dns('gw.corp.example'))]).toEqual(['report']);
    expect([...policy.rolesOf(uri('spiffe://corp.example/STRASSE/1'))]).toEqual(['approve']);
    // Still one segment per "*", in the compared form too.
    expect(policy.rolesOf(uri('spiffe://corp.example/gateway/eu-1/extra')).size).toBe(0);
  });

  it('refuses ** and partial-segment stars', () => {
    expect(patternProblem('spiffe://x/**')).toContain('**');
    expect(patternProblem('gw-*.corp.example')).toContain('whole segment');
    expect(() => identityMatcher('a*b')).toThrow(/whole segment/);
  });
});

describe('loopback rule', () => {
  it.each([
    ['127.0.0.1:50051', true],
    ['127.10.0.1:1', true],
    ['localhost:50051', true],
    ['[::1]:50051', true],
    ['0.0.0.0:50051', false],
    ['[::]:50051', false],
    ['10.0.0.5:50051', false],
    ['gavel.internal:50051', false],
  ])('%s -> %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});
