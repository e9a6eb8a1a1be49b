import { X509Certificate } from 'node:crypto';
import { type StatsListener, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';
import { GavelError } from '../../lib/errors.js';

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate that chains to this CA (mutual TLS). */
  clientCaFile?: string;
}

/** What is being served: PEM bytes. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/**
 * The server's certificate, key and client CA, read from files and re-read
 * when they change (polled once a second, so an atomic rename is seen too) or
 * when `reload()` is called (on SIGHUP). A new set is checked whole — the
 * certificate parses and is valid now, the key matches it, the CA parses — before anything
 * switches: a half-written or mismatched pair never replaces a working one, it
 * is reported and the old one keeps serving. New connections get the new
 * certificate; connections already open keep theirs, so no call is dropped.
 *
 * One object serves grpc-js as both the CA and the identity provider
 * (`experimental.createCertificateProviderServerCredentials`).
 */
export class TlsFiles implements experimental.CertificateProvider {
  private material: TlsMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();
  private watching: StatsListener | undefined;

  /** Reads and checks the files now; throws config_invalid naming what is wrong. */
  constructor(readonly config: TlsConfig) {
    this.material = readMaterial(config);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  get mutual(): boolean {
    return this.config.clientCaFile !== undefined;
  }

  /**
   * Re-reads the files. Returns whether the served material changed; throws
   * (config_invalid) when the files on disk are not a usable set, in which
   * case what was served before stays.
   */
  reload(): boolean {
    const next = readMaterial(this.config);
    const same = next.cert.equals(this.material.cert) && next.key.equals(this.material.key) && sameBuffer(next.ca, this.material.ca);
    if (same) return false;
    this.material = next;
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    if (next.ca) for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.changeListeners) l(next);
    return true;
  }

  /** Calls `onChange` after every switch, `onError` when changed files are not usable. Polls every `intervalMs`. */
  watch(onError: (err: unknown) => void, intervalMs = 1000): void {
    if (this.watching) return;
    this.watching = () => {
      try {
        this.reload();
      } catch (err) {
        onError(err);
      }
    };
    for (const f of this.files()) watchFile(f, { interval: intervalMs, persistent: false }, this.watching);
  }

  onChange(listener: (m: TlsMaterial) => void): void {
    this.changeListeners.add(listener);
  }

  close(): void {
    if (this.watching) for (const f of this.files()) unwatchFile(f, this.watching);
    this.watching = undefined;
  }

  private files(): string[] {
    return [this.config.certFile, this.config.keyFile, ...(this.config.clientCaFile ? [this.config.clientCaFile] : [])];
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Delivered after the caller has finished registering (grpc-js adds its own watcher only afterwards).
    queueMicrotask(() => {
      if (this.caListeners.has(listener) && this.material.ca) listener({ caCertificate: this.material.ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener({ certificate: this.material.cert, privateKey: this.material.key });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

function readMaterial(c: TlsConfig): TlsMaterial {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new GavelError('config_invalid', `${what} ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  const cert = read('TLS certificate', c.certFile);
  const key = read('TLS key', c.keyFile);
  const ca = c.clientCaFile ? read('client CA', c.clientCaFile) : undefined;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new GavelError('config_invalid', `TLS certificate ${c.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  const outside = validityProblem(leaf, Date.now());
  if (outside) throw new GavelError('config_invalid', `TLS certificate ${c.certFile} ${outside}`);
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new GavelError('config_invalid', `client CA ${c.clientCaFile} is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  try {
    // Fails when the key is not a key, or not the certificate's.
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new GavelError('config_invalid', `TLS key ${c.keyFile} does not fit certificate ${c.certFile}: ${(err as Error).message}`);
  }
  return { cert, key, ...(ca ? { ca } : {}) };
}

/**
 * Why the server's own certificate cannot be served now: every client would
 * refuse the handshake, so an expired or not yet valid certificate must not
 * replace one that works (nor start a server).
 */
function validityProblem(leaf: X509Certificate, now: number): string | undefined {
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) return `has a validity period that cannot be read (${leaf.validFrom} to ${leaf.validTo})`;
  if (now < from) return `is not valid yet (valid from ${new Date(from).toISOString()})`;
  if (now > to) return `has expired (valid until ${new Date(to).toISOString()})`;
  return undefined;
}

function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
