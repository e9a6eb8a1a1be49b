import type { PeerIdentity } from './certificate-identity.js';
import { identityMatcher, type IdentityMatcher } from './identity-pattern.js';
import { ROLES, type Role } from './roles.js';

export interface AccessRule {
  match: string;
  roles: Role[];
}

/** A person's approver roles (the access file's `people:`). */
export interface PersonRule {
  match: string;
  roles: string[];
}

/**
 * Which roles an identity holds: the union of the roles of every rule whose
 * pattern matches it, plus the roles every identity holds. An identity no rule
 * matches holds only those.
 *
 * - `of(rules)`: an access file; every identity holds nothing by itself.
 * - `decideOnly()`: mutual TLS without an access file. A certificate from the
 *   client CA proves who calls, not what it may do: it may ask for decisions,
 *   every other role must be granted by an access file.
 * - `everyone()`: no mutual TLS (loopback development): no caller is
 *   authenticated, so roles cannot be told apart; every caller holds every role.
 */
export class AccessPolicy {
  private readonly matchers: Array<{ matches: IdentityMatcher; roles: readonly Role[] }>;
  private readonly cache = new Map<string, ReadonlySet<Role>>();
  private readonly people: Array<{ matches: IdentityMatcher; roles: readonly string[] }>;

  private constructor(
    readonly rules: readonly AccessRule[],
    /** The roles every identity holds, matched or not. */
    private readonly base: readonly Role[],
    /** What gavel serve's start-up line says under `access` when there is no file. */
    readonly label: string,
    personRules: readonly PersonRule[] = [],
  ) {
    this.matchers = rules.map((r) => ({ matches: identityMatcher(r.match), roles: r.roles }));
    this.people = personRules.map((r) => ({ matches: identityMatcher(r.match), roles: r.roles }));
  }

  static everyone(): AccessPolicy {
    return new AccessPolicy([], ROLES, 'everyone');
  }

  static decideOnly(): AccessPolicy {
    return new AccessPolicy([], ['decide'], 'decide only');
  }

  static of(rules: AccessRule[], people: PersonRule[] = []): AccessPolicy {
    return new AccessPolicy(rules, [], 'file', people);
  }

  /** A person's approver roles: the union of the roles of every `people:` rule that matches (none without a file). */
  approverRolesOf(person: PeerIdentity): string[] {
    return [...new Set(this.people.filter((p) => p.matches(person)).flatMap((p) => p.roles))].sort();
  }

  /** True with an access file: callers are proven by certificates and people's approver roles come from its `people:`. */
  get authenticatesPeople(): boolean {
    return this.label === 'file';
  }

  /** True when every caller holds every role (no mutual TLS). */
  get open(): boolean {
    return this.base.length === ROLES.length;
  }

  rolesOf(identity: PeerIdentity): ReadonlySet<Role> {
    if (this.open) return ALL_ROLES;
    // The kind is part of the key: a DNS name and a URI that spell alike are different identities.
    const key = `${identity.kind}:${identity.name}`;
    let roles = this.cache.get(key);
    if (!roles) {
      roles = new Set([...this.base, ...this.matchers.filter((m) => m.matches(identity)).flatMap((m) => m.roles)]);
      // Bounded: identities come from certificates of one CA, but a cache must never grow without limit.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, roles);
    }
    return roles;
  }
}

const ALL_ROLES: ReadonlySet<Role> = new Set(ROLES);
