import { identityMatcher, type IdentityMatcher } from './identity-pattern.js';
import { ROLES, type Role } from './roles.js';

export interface AccessRule {
  match: string;
  roles: Role[];
}

/**
 * Which roles an identity holds: the union of the roles of every rule whose
 * pattern matches it. An identity no rule matches holds none. `everyone()` is
 * the development default without an access file: every caller holds every
 * role.
 */
export class AccessPolicy {
  private readonly matchers: Array<{ matches: IdentityMatcher; roles: readonly Role[] }>;
  private readonly cache = new Map<string, ReadonlySet<Role>>();

  private constructor(
    readonly rules: readonly AccessRule[],
    /** True when every caller holds every role (no access file). */
    readonly open: boolean,
  ) {
    this.matchers = rules.map((r) => ({ matches: identityMatcher(r.match), roles: r.roles }));
  }

  static everyone(): AccessPolicy {
    return new AccessPolicy([], true);
  }

  static of(rules: AccessRule[]): AccessPolicy {
    return new AccessPolicy(rules, false);
  }

  rolesOf(identity: string): ReadonlySet<Role> {
    if (this.open) return ALL_ROLES;
    let roles = this.cache.get(identity);
    if (!roles) {
      roles = new Set(this.matchers.filter((m) => m.matches(identity)).flatMap((m) => m.roles));
      // Bounded: identities come from certificates of one CA, but a cache must never grow without limit.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(identity, roles);
    }
    return roles;
  }
}

const ALL_ROLES: ReadonlySet<Role> = new Set(ROLES);
