import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../security/roles.js';

/** Who is signed in to the console, and what they may do: all of it from gavel (access file, certificate or link), none from the page. */
export interface Session {
  id: string;
  /** The person (a login link's identity, or the client certificate's). */
  identity: string;
  via: 'link' | 'certificate';
  roles: ReadonlySet<Role>;
  /** Approver roles from the access file's `people:`. */
  approverRoles: readonly string[];
  /** Sent back with every state-changing request (a form field). */
  csrf: string;
  expiresMs: number;
}

export type NewSession = Omit<Session, 'id' | 'csrf' | 'expiresMs'>;

/**
 * Console sessions, in memory: a restart signs everyone out. Bounded: past `max`
 * sessions the one nearest its expiry goes first.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}

  open(fields: NewSession, nowMs: number): Session {
    this.prune(nowMs);
    if (this.byId.size >= this.max) {
      const oldest = [...this.byId.values()].reduce((a, b) => (a.expiresMs <= b.expiresMs ? a : b));
      this.byId.delete(oldest.id);
    }
    const session: Session = { ...fields, id: token(), csrf: token(), expiresMs: nowMs + this.ttlMs };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session with this id, or undefined (unknown, expired or ended). */
  get(id: string | undefined, nowMs: number): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expiresMs <= nowMs) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }

  private prune(nowMs: number): void {
    for (const [id, s] of this.byId) if (s.expiresMs <= nowMs) this.byId.delete(id);
  }
}

/** Compares a submitted CSRF token with the session's in constant time. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

function token(): string {
  return randomBytes(32).toString('base64url');
}
