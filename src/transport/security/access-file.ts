import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { GavelError } from '../../lib/errors.js';
import { AccessPolicy, type AccessRule } from './access-policy.js';
import { patternProblem } from './identity-pattern.js';
import { isRole, ROLES } from './roles.js';

/**
 * The access file (`--access`, YAML; JSON is valid YAML):
 *
 *   identities:
 *     - match: "spiffe://corp.example/gateway/*"
 *       roles: [decide, report]
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
  return AccessPolicy.of(accessRules(doc, `access file ${path}`));
}

export function accessRules(doc: unknown, where: string): AccessRule[] {
  const bad = (at: string, what: string) => new GavelError('config_invalid', `${where}: ${at} ${what}`);
  if (!isObject(doc)) throw bad('top level', 'must be a mapping with "identities"');
  for (const key of Object.keys(doc)) if (key !== 'identities') throw bad(key, 'is not a known key (known: identities)');
  const list = doc.identities;
  if (!Array.isArray(list)) throw bad('identities', 'must be a list');
  return list.map((item, i): AccessRule => {
    const at = `identities[${i}]`;
    if (!isObject(item)) throw bad(at, 'must be a mapping with "match" and "roles"');
    for (const key of Object.keys(item)) if (key !== 'match' && key !== 'roles') throw bad(`${at}.${key}`, 'is not a known key (known: match, roles)');
    if (typeof item.match !== 'string') throw bad(`${at}.match`, 'must be a string');
    const problem = patternProblem(item.match);
    if (problem) throw bad(`${at}.match`, problem);
    if (!Array.isArray(item.roles) || item.roles.length === 0) throw bad(`${at}.roles`, 'must be a non-empty list of roles');
    for (const [j, role] of item.roles.entries()) {
      if (!isRole(role)) throw bad(`${at}.roles[${j}]`, `is ${JSON.stringify(role)}, not a role (known: ${ROLES.join(', ')})`);
    }
    return { match: item.match, roles: [...new Set(item.roles as AccessRule['roles'])] };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
