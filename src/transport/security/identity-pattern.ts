import { identityForm, identityProblem } from '../../lib/identity-form.js';
import type { PeerIdentity } from './certificate-identity.js';

/**
 * Identity patterns of the access file: an exact identity, or one where `*`
 * stands for exactly one segment.
 *
 * A pattern holding `://` is a URI pattern: it matches only URI SANs, and its
 * segments are the `/`-separated parts (`spiffe://corp.example/gateway/*`
 * matches `spiffe://corp.example/gateway/eu-1`, not `…/gateway/eu-1/extra`).
 * Any other pattern is a name pattern: it matches only DNS SANs and CNs, and
 * its segments are the `.`-separated labels (`*.corp.example` matches
 * `gw.corp.example`, not `a.gw.corp.example`). A DNS SAN never matches a URI
 * pattern, whatever it spells.
 *
 * Patterns and identities are compared in their identity form (NFKC, case
 * folded: lib/identity-form.ts), as people read them: `spiffe://corp/Gateway/*`
 * and `spiffe://corp/gateway/*` are one pattern.
 */
export type IdentityMatcher = (identity: PeerIdentity) => boolean;

/** Why a pattern is unusable, or undefined when it is fine. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty';
  if (pattern !== pattern.trim()) return 'has leading or trailing spaces';
  const invisible = identityProblem(pattern);
  if (invisible) return invisible;
  const form = identityForm(pattern);
  if (form.includes('**')) return 'has "**" (a "*" stands for exactly one segment)';
  const separator = form.includes('://') ? '/' : '.';
  for (const segment of form.split(separator)) {
    if (segment.includes('*') && segment !== '*') return `has "*" inside a segment ("${segment}"); "*" must be a whole segment`;
  }
  return undefined;
}

export function identityMatcher(pattern: string): IdentityMatcher {
  const problem = patternProblem(pattern);
  if (problem) throw new Error(`identity pattern ${JSON.stringify(pattern)} ${problem}`);
  const form = identityForm(pattern);
  const uri = form.includes('://');
  const kindFits = (id: PeerIdentity) => (uri ? id.kind === 'uri' : id.kind === 'dns' || id.kind === 'cn');
  if (!form.includes('*')) return (id) => kindFits(id) && identityForm(id.name) === form;
  // A segment never spans a separator, a scheme or whitespace.
  const one = uri ? '[^/\\s]+' : '[^./:\\s]+';
  const re = new RegExp(`^${form.split('*').map(escapeRegExp).join(one)}$`, 'u');
  return (id) => kindFits(id) && re.test(identityForm(id.name));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
