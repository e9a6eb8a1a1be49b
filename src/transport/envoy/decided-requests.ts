import { createHash } from 'node:crypto';
import type { Decision } from '../../runtime/faces.js';

/** How long an ext_authz decision waits for its request's ext_proc call. */
const TTL_MS = 60_000;
/** At most this many wait at once; the oldest goes first (its ext_proc call then decides anew). */
const MAX_ENTRIES = 10_000;

/**
 * ext_authz decisions that its ext_proc filter will apply (a REDACT's redacted body), so the body
 * phase reuses the decision instead of recording a second one (and reserving budget twice). Keyed
 * by Envoy's request id AND the body's SHA-256: a request that names another's id, or whose body
 * differs from the one decided on, finds nothing and is decided anew.
 */
export class DecidedRequests {
  private readonly entries = new Map<string, { decision: Decision; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  put(requestId: string, body: Uint8Array, decision: Decision): void {
    if (!requestId) return;
    const key = keyOf(requestId, body);
    this.entries.delete(key);
    this.entries.set(key, { decision, expires: this.now() + TTL_MS });
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The decision for this request and body, once: taken, it is gone. */
  take(requestId: string, body: Uint8Array): Decision | undefined {
    if (!requestId) return undefined;
    const key = keyOf(requestId, body);
    const found = this.entries.get(key);
    this.entries.delete(key);
    return found && found.expires > this.now() ? found.decision : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyOf(requestId: string, body: Uint8Array): string {
  return `${requestId}\u0000${createHash('sha256').update(body).digest('hex')}`;
}
