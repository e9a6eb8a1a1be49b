import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { GavelError } from '../../lib/errors.js';
import { AccessPolicy, type AccessRule, type PersonRule } from './access-policy.js';
import { patternProblem } from './identity-pattern.js';
import { isRole, ROLES } from './roles.js';

/**
 * The access file (`--access`, YAML; JSON is valid YAML):
 *
 *   identities:
 *     - match: "spiffe://corp.example/gateway/*"
 *       roles: [decide, report]
 *   people:                      # optional: the approver roles of people (the console's signed-in approvers)
 *     - match: "alice@corp.example"
 *       roles: [finance-manager]   # what a policy's "role:finance-manager" names
 *
 * Read all or nothing: a file that does not parse, has an unknown key, an
 * unknown role or a bad pattern is refused as a whole, naming the place.
 */
export function loadAccessFile(path: string): AccessPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GavelError('config_invalid', `access file ${path} cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new GavelError('config_invalid', `access file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return AccessPolicy.of(accessRules(doc, `access file ${path}`), peopleRules(doc, `access file ${path}`));
}

export function accessRules(doc: unknown, where: string): AccessRule[] {
  const bad = problemAt(where);
  if (!isObject(doc)) throw bad('top level', 'must be a mapping with "identities"');
  for (const key of Object.keys(doc)) if (key !== 'identities' && key !== 'people') throw bad(key, 'is not a known key (known: identities, people)');
  if (!Array.isArray(doc.identities)) throw bad('identities', 'must be a list');
  return matchRules(doc.identities, 'identities', bad, 'roles', (role) =>
    isRole(role) ? undefined : `not a role (known: ${ROLES.join(', ')})`,
  ) as AccessRule[];
}

/**
 * `people:`: approver roles (free names, as policies write them after `role:`) of the people who sign in to
 * the console, matched by the same patterns as identities. Roles of people come from here, never from a request.
 */
export function peopleRules(doc: unknown, where: string): PersonRule[] {
  const bad = problemAt(where);
  if (!isObject(doc) || doc.people === undefined) return [];
  if (!Array.isArray(doc.people)) throw bad('people', 'must be a list');
  return matchRules(doc.people, 'people', bad, 'approver role names', (role) =>
    typeof role === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(role) ? undefined : 'a role name is 1-64 letters, digits, ".", "_" or "-"',
  );
}

type Problem = (at: string, what: string) => GavelError;

function problemAt(where: string): Problem {
  return (at, what) => new GavelError('config_invalid', `${where}: ${at} ${what}`);
}

/** A list of `{match, roles}`: each pattern usable, each role accepted by `roleProblem`, no other key; duplicate roles dropped. */
function matchRules(list: unknown[], section: string, bad: Problem, rolesAre: string, roleProblem: (role: unknown) => string | undefined): PersonRule[] {
  return list.map((item, i) => {
    const at = `${section}[${i}]`;
    if (!isObject(item)) throw bad(at, 'must be a mapping with "match" and "roles"');
    for (const key of Object.keys(item)) if (key !== 'match' && key !== 'roles') throw bad(`${at}.${key}`, 'is not a known key (known: match, roles)');
    if (typeof item.match !== 'string') throw bad(`${at}.match`, 'must be a string');
    const problem = patternProblem(item.match);
    if (problem) throw bad(`${at}.match`, problem);
    if (!Array.isArray(item.roles) || item.roles.length === 0) throw bad(`${at}.roles`, `must be a non-empty list of ${rolesAre}`);
    for (const [j, role] of item.roles.entries()) {
      const why = roleProblem(role);
      if (why) throw bad(`${at}.roles[${j}]`, `is ${JSON.stringify(role)}, ${why}`);
    }
    return { match: item.match, roles: [...new Set(item.roles as string[])] };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
