/**
 * Identity patterns of the access file: an exact identity, or one where `*`
 * stands for exactly one segment. Segments of a URI identity (a SPIFFE id such
 * as `spiffe://corp.example/gateway/eu-1`) are its `/`-separated parts; those
 * of any other identity (a DNS name, a common name) are its `.`-separated
 * labels. So `spiffe://corp.example/gateway/*` matches
 * `spiffe://corp.example/gateway/eu-1` but not `…/gateway/eu-1/extra`, and
 * `*.corp.example` matches `gw.corp.example` but not `a.gw.corp.example`.
 */
export type IdentityMatcher = (identity: string) => boolean;

/** Why a pattern is unusable, or undefined when it is fine. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty';
  if (pattern !== pattern.trim()) return 'has leading or trailing spaces';
  if (pattern.includes('**')) return 'has "**" (a "*" stands for exactly one segment)';
  const separator = pattern.includes('://') ? '/' : '.';
  for (const segment of pattern.split(separator)) {
    if (segment.includes('*') && segment !== '*') return `has "*" inside a segment ("${segment}"); "*" must be a whole segment`;
  }
  return undefined;
}

export function identityMatcher(pattern: string): IdentityMatcher {
  const problem = patternProblem(pattern);
  if (problem) throw new Error(`identity pattern ${JSON.stringify(pattern)} ${problem}`);
  if (!pattern.includes('*')) return (identity) => identity === pattern;
  const uri = pattern.includes('://');
  // A segment never spans a separator, a scheme or whitespace.
  const one = uri ? '[^/\\s]+' : '[^./:\\s]+';
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join(one)}$`);
  // A URI pattern never matches a non-URI identity and vice versa: the segment rule differs.
  return (identity) => identity.includes('://') === uri && re.test(identity);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
