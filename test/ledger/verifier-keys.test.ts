import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COSIGNATURE_ALG,
  ephemeralKey,
  formatVerifierKey,
  keyFromPem,
  keyId,
  loadOrCreateKey,
  parseVerifierKey,
  rawPublicKey,
  verifierOf,
} from '../../src/ledger/keys.js';
import { tempDir } from '../helpers/paths.js';

/**
 * Signing keys and their verifier text form (C2SP signed-note conventions):
 * <name>+<hex key id>+<base64(0x01 || raw Ed25519 public key)>. An auditor pastes
 * this text, so every malformed variant must be refused with the reason.
 */

const NAME = 'gavel.ledger/00000000-0000-0000-0000-000000000001';

describe('the verifier text form', () => {
  it('is name, key id (4 bytes of SHA-256(name, newline, 0x01, key)) and 0x01 followed by the raw key', () => {
    const key = ephemeralKey(NAME);
    const text = formatVerifierKey(key);
    const [name, id, body] = [text.slice(0, text.indexOf('+')), text.split('+')[1]!, text.slice(text.indexOf('+', text.indexOf('+') + 1) + 1)];
    expect(name).toBe(NAME);
    expect(id).toBe(keyId(NAME, key.publicKey).toString('hex'));
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    const raw = Buffer.from(body, 'base64');
    expect(raw).toHaveLength(33);
    expect(raw[0]).toBe(1);
    expect(raw.subarray(1)).toEqual(rawPublicKey(key.publicKey));
  });

  it('parses back to the same key, id and name, around surrounding whitespace', () => {
    const key = ephemeralKey(NAME);
    const parsed = parseVerifierKey(`  ${formatVerifierKey(key)}\n`);
    expect(parsed.name).toBe(NAME);
    expect(parsed.keyId).toEqual(verifierOf(key).keyId);
    expect(rawPublicKey(parsed.publicKey)).toEqual(rawPublicKey(key.publicKey));
  });

  it.each([
    ['no plus at all', () => 'just-a-name', /must look like <name>\+<hex id>\+<base64 key>/],
    ['only one plus', () => `${NAME}+abcdef01`, /must look like/],
    ['an empty name', (t: string) => t.slice(t.indexOf('+')), /must look like/],
    [
      'a key of 31 bytes',
      // Everything after the second '+' is the key: a random key's base64 may hold '+' itself (this flaked in CI when it did).
      (t: string) => t.slice(0, t.indexOf('+', t.indexOf('+') + 1) + 1) + Buffer.concat([Buffer.from([1]), Buffer.alloc(31, 7)]).toString('base64'),
      /is not an Ed25519 key/,
    ],
    [
      'a key of 33 bytes',
      // Everything after the second '+' is the key (its base64 may hold '+' itself).
      (t: string) => t.slice(0, t.indexOf('+', t.indexOf('+') + 1) + 1) + Buffer.concat([Buffer.from([1]), Buffer.alloc(33, 7)]).toString('base64'),
      /is not an Ed25519 key/,
    ],
    [
      'another algorithm byte',
      (t: string) => {
        const body = Buffer.from(t.slice(t.indexOf('+', t.indexOf('+') + 1) + 1), 'base64');
        body[0] = 2;
        return t.slice(0, t.indexOf('+', t.indexOf('+') + 1) + 1) + body.toString('base64');
      },
      /is not an Ed25519 key/,
    ],
    ['a key id that is not the key’s', (t: string) => t.replace(/\+[0-9a-f]{8}\+/, '+00000000+'), /key id does not match its name and key/],
    ['a name that is not the key’s', (t: string) => `other-name${t.slice(t.indexOf('+'))}`, /key id does not match its name and key/],
  ])('%s is refused', (_name, edit, reason) => {
    const text = formatVerifierKey(ephemeralKey(NAME));
    expect(() => parseVerifierKey((edit as (t: string) => string)(text))).toThrow(reason);
  });

  it('a log key given where a witness key is asked for is refused as not a cosignature key, and the other way round', () => {
    const log = formatVerifierKey(ephemeralKey(NAME));
    const witness = formatVerifierKey(ephemeralKey('witness.example/w1'), COSIGNATURE_ALG);
    expect(() => parseVerifierKey(log, COSIGNATURE_ALG)).toThrow('verifier key is not an Ed25519 cosignature (witness) key');
    expect(() => parseVerifierKey(witness)).toThrow(/^verifier key is not an Ed25519 key$/);
    expect(parseVerifierKey(witness, COSIGNATURE_ALG).name).toBe('witness.example/w1');
  });

  it('a public key that is not Ed25519 has no raw form', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => rawPublicKey(publicKey)).toThrow('not an Ed25519 public key');
  });
});

describe('the key file', () => {
  it('is created once as a PKCS#8 PEM, mode 0600, and read back as the same key', () => {
    const path = join(tempDir('gavel-key-'), 'nested', 'ledger.key');
    const created = loadOrCreateKey(path, NAME);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const pem = readFileSync(path, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const again = loadOrCreateKey(path, NAME);
    expect(readFileSync(path, 'utf8')).toBe(pem);
    expect(formatVerifierKey(again)).toBe(formatVerifierKey(created));
    expect(formatVerifierKey(keyFromPem(pem, NAME))).toBe(formatVerifierKey(created));
  });

  it('an existing file is used, never overwritten', () => {
    const path = join(tempDir('gavel-key-'), 'ledger.key');
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(path, pem, { mode: 0o600 });
    loadOrCreateKey(path, NAME);
    expect(readFileSync(path, 'utf8')).toBe(pem);
  });
});
