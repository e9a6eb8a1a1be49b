import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, failClosed, GavelError } from '../lib/errors.js';
import { bundleNameFromPath, readBundle, type Bundle } from './bundle.js';
import type { BundleVerification } from './verification-keys.js';

export interface BundleUrlOptions {
  url: string;
  verification?: BundleVerification;
  /** Sent as `Authorization: Bearer …` (read from a file by the caller). */
  token?: string;
  /** Between polls (default 30 s), with ±10% jitter so replicas do not poll in step. */
  pollSeconds?: number;
  /** One request's limit (default 30 s): a slow server is an error, never a hang. */
  timeoutMs?: number;
  /** Where verified copies are kept, so a restart while the server is down still serves. */
  cacheDir?: string;
  /** Largest body accepted (default 64 MiB), counted while it is read. */
  maxBytes?: number;
  /** Set here or later with `attach`; until then a fetched bundle is taken and a failure ignored (start-up's `first()` reports its own). */
  onBundle?: BundleHandlers['onBundle'];
  onRefused?: BundleHandlers['onRefused'];
}

export interface BundleHandlers {
  /** Returns whether the bundle was taken (activated); one that was not is offered again at the next poll. */
  onBundle(bundle: Bundle): boolean;
  onRefused(err: unknown): void;
}

interface Fetched {
  bundle: Bundle;
  bytes: Buffer;
  etag: string | undefined;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** A bundle body larger than this is refused while it is read, whatever the server claims. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function readBounded(res: Response, max: number, refuse: (why: string) => GavelError): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body ?? []) {
      total += chunk.length;
      if (total > max) throw refuse(`body is larger than ${max} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    throw failClosed(err, 'bundle_invalid', refuse(`body could not be read: ${errorMessage(err)}`).message);
  }
  return Buffer.concat(chunks);
}

/** The wait before the next poll: the interval, or after `failures` failures in a row 1 s, 2 s, 4 s … 5 min; ±10% by `random` (0..1). */
export function nextPollMs(failures: number, pollSeconds: number, random: number): number {
  const base = failures > 0 ? Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF_MS) : pollSeconds * 1000;
  return base * (0.9 + random * 0.2);
}

/**
 * A bundle pulled from an HTTP(S) bundle server the way OPA's bundle plugin
 * does: GET with `If-None-Match` on the last ETag; 304 means unchanged; a 200
 * body is parsed and verified whole before it is handed over. Errors (status,
 * timeout, truncated or unverifiable body) are reported and retried with
 * exponential backoff (1 s, 2 s, … up to 5 min); the bundle already handed
 * over keeps serving meanwhile.
 */
export class BundleUrlSource {
  readonly name: string;
  private etag: string | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private handlers: BundleHandlers;

  constructor(private readonly o: BundleUrlOptions) {
    this.name = bundleNameFromPath(new URL(o.url).pathname) || new URL(o.url).hostname;
    this.handlers = { onBundle: o.onBundle ?? (() => true), onRefused: o.onRefused ?? (() => undefined) };
  }

  get url(): string {
    return this.o.url;
  }

  /** Who is told of what later polls bring (the live set, once the server runs). */
  attach(handlers: BundleHandlers): void {
    this.handlers = handlers;
  }

  /** One poll: resolves with what happened; never rejects. */
  async poll(): Promise<'changed' | 'unchanged' | 'failed'> {
    try {
      const got = await this.fetchBundle();
      this.failures = 0;
      if (!got) return 'unchanged';
      // Not taken (an entrypoint clash with another source): offered again at the next poll, when the clash may be gone.
      if (!this.handlers.onBundle(got.bundle)) return 'failed';
      // Only what was taken is remembered: the ETag (so 304 means "what is live") and the cached copy.
      this.taken(got);
      return 'changed';
    } catch (err) {
      this.failures++;
      this.handlers.onRefused(err);
      return 'failed';
    }
  }

  /** Fetches now and throws when no verified bundle can be had (for start-up); falls back to the cache. */
  async first(): Promise<{ bundle: Bundle; fromCache: boolean; error?: unknown }> {
    try {
      const got = await this.fetchBundle();
      if (got) {
        this.taken(got);
        return { bundle: got.bundle, fromCache: false };
      }
    } catch (err) {
      const cached = await this.cached();
      if (cached) return { bundle: cached, fromCache: true, error: err };
      throw err;
    }
    throw new GavelError('bundle_invalid', `bundle ${this.name}: ${this.o.url} answered 304 before any bundle was loaded`);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = nextPollMs(this.failures, this.o.pollSeconds ?? 30, Math.random());
    this.timer = setTimeout(() => void this.poll().then(() => this.schedule()), delay);
    this.timer.unref();
  }

  private taken(got: Fetched): void {
    this.etag = got.etag;
    try {
      this.store(got.bytes);
    } catch {
      // The cache is a fallback for the next start; a full disk must not stop the live bundle.
    }
  }

  private async fetchBundle(): Promise<Fetched | undefined> {
    // identity: the body is the archive as published, its length what Content-Length says.
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (this.etag) headers['if-none-match'] = this.etag;
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    const refuse = (why: string) => new GavelError('bundle_invalid', `bundle ${this.name}: ${this.o.url}: ${why}`);
    let res: Response;
    try {
      res = await fetch(this.o.url, { headers, signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000), redirect: 'follow' });
    } catch (err) {
      throw refuse(`request failed: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
    }
    if (res.status === 304) return undefined;
    if (res.status !== 200) {
      await res.body?.cancel();
      throw refuse(`HTTP ${res.status}`);
    }
    const length = Number(res.headers.get('content-length') ?? '0');
    const max = this.o.maxBytes ?? MAX_BODY_BYTES;
    if (length > max) throw refuse(`body of ${length} bytes is larger than ${max}`);
    const bytes = await readBounded(res, max, refuse);
    if (length > 0 && !res.headers.get('content-encoding') && bytes.length !== length) throw refuse(`body truncated (${bytes.length} of ${length} bytes)`);
    const bundle = await readBundle(this.name, bytes, this.o.verification);
    return { bundle, bytes, etag: res.headers.get('etag') ?? undefined };
  }

  /** One file per URL (two URLs may end in the same name). */
  private cachePath(): string | undefined {
    if (!this.o.cacheDir) return undefined;
    const id = createHash('sha256').update(this.o.url).digest('hex').slice(0, 16);
    return join(this.o.cacheDir, `${this.name}-${id}.tar.gz`);
  }

  /** Only verified bundles reach the cache; written aside and renamed, so it is never half a file. */
  private store(bytes: Buffer): void {
    const path = this.cachePath();
    if (!path) return;
    mkdirSync(this.o.cacheDir!, { recursive: true });
    writeFileSync(`${path}.partial`, bytes);
    renameSync(`${path}.partial`, path);
  }

  /** The cached copy, verified again (a cache file is as untrusted as the network). */
  private async cached(): Promise<Bundle | undefined> {
    const path = this.cachePath();
    if (!path || !existsSync(path)) return undefined;
    return readBundle(this.name, readFileSync(path), this.o.verification);
  }
}
