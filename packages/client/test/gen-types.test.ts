import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/paths.js';
import { PROTO_FILES } from '../src/proto.js';

/** The committed src/gen/ is what the generator makes from the protos now: it cannot drift from them. */
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const GEN = join(PACKAGE, 'src/gen');

function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; parentPath: string; name: string }>)
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('generated types', () => {
  it('re-generating into a fresh folder gives byte-identical files', () => {
    const out = join(tempDir('gavel-gen-'), 'gen');
    const run = spawnSync(process.execPath, [join(PACKAGE, 'scripts/gen-types.mjs'), out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const fresh = files(out);
    expect(fresh).toEqual(files(GEN));
    for (const f of fresh)
      expect(readFileSync(join(GEN, f), 'utf8'), `src/gen/${f} differs: run npm run gen:types -w packages/client`).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it('covers exactly the protos the client loads', () => {
    const roots = files(GEN).filter((f) => !f.includes('/'));
    expect(roots).toEqual(PROTO_FILES.map((p) => basename(p, '.proto') + '.ts').sort());
  });

  it('refuses to write into a folder that is not empty', () => {
    const out = tempDir('gavel-gen-');
    spawnSync('touch', [join(out, 'keep-me')]);
    const run = spawnSync(process.execPath, [join(PACKAGE, 'scripts/gen-types.mjs'), out], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(readdirSync(out)).toEqual(['keep-me']);
  });
});
