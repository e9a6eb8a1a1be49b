// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface Authority extends KeyPair {
  name: string;
  /** For signing leaves: the CA's own objects. */
  readonly signer: { cert: x509.X509Certificate; key: CryptoKey };
}

export interface Validity {
  /** Default now − 1 hour (clock skew). */
  notBefore?: Date;
  /** Default notBefore + `days`. */
  notAfter?: Date;
  /** Default 30. */
  days?: number;
}

export interface LeafOptions extends Validity {
  /** Subject common name. */
  cn: string;
  /** The whole subject name instead of `CN=<cn>`, e.g. "O=no one" for a certificate that names no holder. */
  subject?: string;
  uris?: string[];
  dns?: string[];
  ips?: string[];
  /** serverAuth, clientAuth or both (default both). */
  usage?: Array<'server' | 'client'>;
}

function window(v: Validity): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + (v.days ?? 30) * DAY_MS) };
}

function serial(): string {
  // Positive, 16 random bytes: RFC 5280 asks for unique, at most 20 octets.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString('hex');
}

async function pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** A self-signed ECDSA P-256 certificate authority, for development and tests only. */
export async function createAuthority(name: string, v: Validity = {}): Promise<Authority> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    ...window(v),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, cert: cert.toString('pem'), key: await pem(keys.privateKey), signer: { cert, key: keys.privateKey } };
}

/** A leaf certificate issued by `ca`, with the given names. */
export async function issue(ca: Authority, o: LeafOptions): Promise<KeyPair> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names: x509.JsonGeneralName[] = [
    ...(o.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(o.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usage = o.usage ?? ['server', 'client'];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: o.subject ?? `CN=${o.cn}`,
    issuer: ca.signer.cert.subject,
    ...window(o),
    publicKey: keys.publicKey,
    signingKey: ca.signer.key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        usage.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth)),
        false,
      ),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.signer.cert, false),
    ],
  });
  return { cert: cert.toString('pem'), key: await pem(keys.privateKey) };
}
