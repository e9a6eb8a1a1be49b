import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchive } from '../../src/bundles/archive.js';
import { readBundle } from '../../src/bundles/bundle.js';
import { bundleFileHash } from '../../src/bundles/file-hash.js';
import { checkBundleSet } from '../../src/bundles/loader.js';
import { bundleVerification } from '../../src/bundles/verification-keys.js';
import { FIXTURE_BUNDLES, ROOT } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';
import { repack } from '../helpers/repack.js';

/**
 * Bundles signed by the real `opa build --signing-key` (test/fixtures/bundles/signed/, rebuilt by
 * `npm run fixtures:signed`), verified the way OPA verifies them, and what a tamperer can do to one.
 */
const SIGNED = join(FIXTURE_BUNDLES, 'signed');
const KEYS = join(ROOT, 'test/fixtures/signing');
const bundle = (name: string) => readFileSync(join(SIGNED, `${name}.tar.gz`));
const key = (file: string, algorithm?: string, id?: string) => ({ file: join(KEYS, file), ...(algorithm ? { algorithm } : {}), ...(id ? { id } : {}) });
const rsa = bundleVerification([key('rsa.pub')]);

describe('OPA-signed bundles verify', () => {
  it.each([
    ['rs256', [key('rsa.pub')]],
    ['ps256', [key('rsa.pub', 'PS256')]],
    ['es256', [key('ec.pub')]],
    ['hs256', [key('hs.secret', 'HS256')]],
  ])('%s', async (name, keys) => {
    const b = await readBundle(name, bundle(name), bundleVerification(keys));
    expect(b.signer).toBe('default');
    expect(b.revision).toBe(`signed-${name}`);
    expect(b.entrypoints.length).toBeGreaterThan(0);
  });

  it('our file hashes are the ones opa signed (structured files canonically, others as bytes)', () => {
    const files = readArchive(bundle('rs256'));
    const token = JSON.parse(files.get('.signatures.json')!.toString()).signatures[0] as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { files: Array<{ name: string; hash: string }> };
    for (const f of claims.files) expect(bundleFileHash(f.name.replace(/^\//, ''), files.get(f.name.replace(/^\//, ''))!)).toBe(f.hash);
  });

  it('a scoped signature needs the configured scope, and a scope needs a scoped signature', async () => {
    expect((await readBundle('scoped', bundle('scoped'), bundleVerification([key('rsa.pub')], 'gavel-prod'))).signer).toBe('default');
    expect((await refusal(readBundle('scoped', bundle('scoped'), rsa))).message).toContain('signature scope "gavel-prod" is not the configured scope ""');
    expect((await refusal(readBundle('rs256', bundle('rs256'), bundleVerification([key('rsa.pub')], 'gavel-prod')))).message).toContain(
      'signature scope "" is not the configured scope "gavel-prod"',
    );
  });
});

describe('refused, naming what failed', () => {
  it.each([
    ['unsigned', () => bundle('unsigned'), rsa, 'unsigned (no .signatures.json)'],
    ['signed by another key', () => bundle('other'), rsa, 'the signature does not verify'],
    ['PS256 where the key is pinned to RS256', () => bundle('ps256'), rsa, "the JWT's alg is not RS256"],
    ['an EC signature against an RSA key', () => bundle('es256'), rsa, "the JWT's alg is not RS256"],
    [
      'data.json changed (frontier-xl for everyone)',
      () => repack(bundle('rs256'), { 'data.json': '{"granted":"everything"}' }),
      rsa,
      'data.json: digest mismatch',
    ],
    [
      'policy.wasm swapped',
      () => repack(bundle('rs256'), { 'policy.wasm': readArchive(bundle('es256')).get('policy.wasm')!.subarray(0, 100) }),
      rsa,
      'policy.wasm: digest mismatch',
    ],
    ['a file added', () => repack(bundle('rs256'), { 'extra.json': '{}' }), rsa, 'extra.json is in the bundle but not covered by its signature'],
    ['a signed file removed', () => repack(bundle('rs256'), { 'data.json': null }), rsa, 'signed file(s) missing from the bundle: data.json'],
    [
      'two signatures',
      () => {
        const sig = JSON.parse(readArchive(bundle('rs256')).get('.signatures.json')!.toString()) as { signatures: string[] };
        return repack(bundle('rs256'), { '.signatures.json': JSON.stringify({ signatures: [sig.signatures[0], sig.signatures[0]] }) });
      },
      rsa,
      'exactly one JWT',
    ],
    [
      'an unknown key id',
      () => bundle('rs256'),
      bundleVerification([key('rsa.pub', undefined, 'release-2026')]),
      'key id "default", which is not a configured verification key',
    ],
  ])('%s', async (_what, archive, verification, message) => {
    const err = await refusal(readBundle('b', archive(), verification));
    expect(err.code).toBe('bundle_invalid');
    expect(err.message).toContain(message);
  });

  it('reformatting a structured file (whitespace, key order) keeps the signature valid, as in OPA', async () => {
    const data = JSON.parse(readArchive(bundle('rs256')).get('data.json')!.toString()) as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(data).reverse());
    const b = await readBundle('b', repack(bundle('rs256'), { 'data.json': JSON.stringify(reordered, null, 4) }), rsa);
    expect(b.signer).toBe('default');
  });

  it('without a verification key the same tampered bundle loads: the key is what makes signatures count', async () => {
    const b = await readBundle('b', repack(bundle('rs256'), { 'data.json': '{"granted":"everything"}' }));
    expect(b.data).toEqual({ granted: 'everything' });
    expect(b.signer).toBeUndefined();
  });
});

describe('bundle sets', () => {
  it('two bundles of one name (a folder file and a bundle URL, say) are refused', async () => {
    const a = await readBundle('fx', bundle('unsigned'));
    expect(() => checkBundleSet([a, { ...a, entrypoints: ['other/entry'] }])).toThrow(/two bundles are named fx/);
  });
});

describe('verification keys', () => {
  it('refuses an algorithm that does not fit the key, an unknown algorithm, a duplicate id and an unreadable file', async () => {
    expect(() => bundleVerification([key('rsa.pub', 'ES256')])).toThrow(/is rsa; it cannot verify ES256/);
    expect(() => bundleVerification([key('rsa.pub', 'none')])).toThrow(/"none" is not one of/);
    expect(() => bundleVerification([key('rsa.pub'), key('ec.pub')])).toThrow(/"default" is given twice/);
    expect(() => bundleVerification([key('missing.pub')])).toThrow(/missing\.pub cannot be read/);
    expect(() => bundleVerification([key('hs.secret')])).toThrow(/not a PEM public key/);
    // A public key used as an HMAC secret would let anyone holding it sign bundles.
    expect(() => bundleVerification([key('rsa.pub', 'HS256')])).toThrow(/is a public key; HS256 needs a shared secret/);
  });
});
