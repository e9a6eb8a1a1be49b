import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { readArchive } from '../../src/bundles/archive.js';
import { ROOT, tempDir } from './paths.js';
import { repack } from './repack.js';

/** The pinned opa (CI installs it to ~/go/bin), else the one on PATH. */
export const OPA = [process.env.OPA, join(homedir(), 'go/bin/opa')].find((p) => p !== undefined && existsSync(p)) ?? 'opa';

/** The test key pair the signed fixtures use (throwaway, test/fixtures/signing/). */
export const SIGNING_KEY = join(ROOT, 'test/fixtures/signing/rsa.key');
export const VERIFICATION_KEY = join(ROOT, 'test/fixtures/signing/rsa.pub');

/**
 * A built bundle (the shipped reference `ai` one by default) signed for real: its files written
 * out, `opa sign --bundle` run over them, and its `.signatures.json` added to the archive.
 */
export function signedBundle(archive: Buffer = readFileSync(join(ROOT, 'bundles/ai.tar.gz')), key = SIGNING_KEY): Buffer {
  const dir = tempDir('gavel-sign-');
  for (const [path, bytes] of readArchive(archive)) {
    const file = join(dir, path.replace(/^\/+/, ''));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }
  execFileSync(OPA, ['sign', '--signing-key', key, '--bundle', '.'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return repack(archive, { '.signatures.json': readFileSync(join(dir, '.signatures.json')) });
}
