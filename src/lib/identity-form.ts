/**
 * How gavel compares identities that separate people or key budgets (subject,
 * on_behalf_of, team, cost center, approver, earlier voters, caller patterns):
 * as people read them, not byte for byte. `Fiona`, `fiona` and full-width
 * `ｆｉｏｎａ` are one person; `mia` followed by an invisible U+200D is refused,
 * never a second `mia`.
 *
 * The comparison form is Unicode NFKC with full case folding (upper then lower
 * case, so `ß` folds to `ss` and a final `ς` to `σ`), normalised again after the
 * folding. A name holding a control, format (`\p{Cf}`) or default-ignorable code
 * point has no comparison form: callers refuse it. Stored values stay as
 * received; where the form differs, it is recorded beside them.
 */

/** Code points that change nothing a reader sees: two names differing only by them must not be two people. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/** Why this name cannot be compared (undefined when it can): it holds a control, format or default-ignorable character. */
export function identityProblem(name: string): string | undefined {
  const m = INVISIBLE.exec(name);
  if (!m) return undefined;
  const cp = m[0].codePointAt(0)!;
  return `holds the invisible or control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The comparison form of a name: NFKC, case-folded, NFKC again. Names with an
 * identityProblem still get a form (the characters are kept), so a caller that
 * forgot to refuse them cannot make two of them compare equal by accident.
 */
export function identityForm(name: string): string {
  // ASCII is its own NFKC form, and its case folding is toLowerCase: every decision folds three names, most of them ASCII.
  if (ASCII.test(name)) return name.toLowerCase();
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

const ASCII = /^[\x00-\x7f]*$/;

/** True when two names are the same identity. */
export function sameIdentity(a: string, b: string): boolean {
  return identityForm(a) === identityForm(b);
}
