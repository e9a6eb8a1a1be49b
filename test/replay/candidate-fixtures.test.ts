import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchiveFile } from '../../src/bundles/archive.js';
import { FIXTURE_BUNDLES, ROOT } from '../helpers/paths.js';

/**
 * The candidate bundles are the reference policy plus one rule each
 * (scripts/build-candidate-fixtures.sh). Built from an older policies/ai, a
 * candidate would "change" decisions the reference policy changed since, and
 * replay tests would blame the extra rule: rebuild with `npm run fixtures:candidates`.
 */
describe('candidate fixtures', () => {
  const dir = join(FIXTURE_BUNDLES, 'candidates');
  const sources = readdirSync(join(ROOT, 'policies/ai')).filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'));

  it.each(readdirSync(dir).filter((f) => f.endsWith('.tar.gz')))('%s holds the current policies/ai data and every module', (file) => {
    const files = readArchiveFile(join(dir, file));
    const data = [...files].find(([name]) => name.replace(/^\/+/, '').endsWith('data.json'))?.[1];
    expect(JSON.parse(data!.toString())).toEqual(JSON.parse(readFileSync(join(ROOT, 'policies/ai/data.json'), 'utf8')));
    // opa build rewrites each module's text, so the check is that every module is there (a module added since is missing).
    const modules = [...files.keys()].filter((name) => name.endsWith('.rego')).map((name) => name.split('/').pop());
    for (const rego of sources) expect(modules, `${file} lacks ${rego}: npm run fixtures:candidates`).toContain(rego);
  });
});
