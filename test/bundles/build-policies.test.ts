import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../src/bundles/bundle.js';
import { bundleVerification } from '../../src/bundles/verification-keys.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { startChild } from '../helpers/server.js';

/**
 * `npm run policies:build` (scripts/build-policies.ts) run for real, with the
 * real opa, in a copy of the repository holding one small policy (the real
 * bundles/ of this checkout are never rewritten): a failing `opa test`
 * refuses the build unless --force, and the README's openssl key pair signs a
 * bundle that `gavel serve --bundle-verification-key` loads.
 */
const OPA = [process.env.OPA, join(homedir(), 'go/bin/opa')].find((p) => p !== undefined && existsSync(p)) ?? 'opa';
const hasOpa = spawnSync(OPA, ['version']).status === 0;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

const POLICY = `package tiny

# METADATA
# entrypoint: true
default allow := false

allow if input.user == "alice"
`;
const passing = 'package tiny_test\n\nimport data.tiny\n\ntest_alice if tiny.allow with input as {"user": "alice"}\n';
const failing = `${passing}\ntest_bob if tiny.allow with input as {"user": "bob"}\n`;

/** A repository of its own: the build script, this checkout's src/ and node_modules/, and policies/tiny/. */
function repo(test: string): string {
  const dir = tempDir('gavel-build-');
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'scripts/build-policies.ts'), join(dir, 'scripts/build-policies.ts'));
  copyFileSync(join(ROOT, '.opa-version'), join(dir, '.opa-version'));
  symlinkSync(join(ROOT, 'src'), join(dir, 'src'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'policies/tiny'), { recursive: true });
  writeFileSync(join(dir, 'policies/tiny/tiny.rego'), POLICY);
  writeFileSync(join(dir, 'policies/tiny/data.json'), '{"marker":"tiny"}');
  writeFileSync(join(dir, 'policies/tiny/tiny_test.rego'), test);
  return dir;
}

function build(dir: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(dir, 'scripts/build-policies.ts'), ...args], {
    cwd: dir,
    env: { ...process.env, OPA },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!hasOpa)('npm run policies:build', () => {
  it('a failing opa test refuses the build; --force builds anyway, with a warning; passing tests build', async () => {
    const dir = repo(failing);
    const bundle = join(dir, 'bundles/tiny.tar.gz');
    const refused = build(dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: opa test policies/tiny failed, so nothing was built (--force builds anyway)');
    expect(refused.stderr).toContain('test_bob');
    expect(existsSync(bundle)).toBe(false);

    const forced = build(dir, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('warning: opa test policies/tiny failed; building anyway (--force)');
    expect(forced.stdout).toContain('built bundles/tiny.tar.gz');
    expect((await readBundle('tiny', readFileSync(bundle))).entrypoints).toEqual(['tiny/allow']);

    writeFileSync(join(dir, 'policies/tiny/tiny_test.rego'), passing);
    const built = build(dir);
    expect(built.code).toBe(0);
    expect(built.stderr).not.toContain('opa test');
  });

  it.skipIf(!hasOpenssl)('the README key pair: openssl keys, a signed build, and gavel serve --bundle-verification-key loads it', async () => {
    const dir = repo(passing);
    const key = join(dir, 'release.pem');
    const pub = join(dir, 'release.pub');
    // The commands README "Signing key" gives, as written there.
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', key], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
    const signed = build(dir, '--signing-key', key);
    expect(signed.code, signed.stderr).toBe(0);
    const bundle = await readBundle('tiny', readFileSync(join(dir, 'bundles/tiny.tar.gz')), bundleVerification([{ file: pub }]));
    expect(bundle.signer).toBe('default');

    const srv = await startChild(['--bundles', join(dir, 'bundles'), '--ledger', join(tempDir(), 'l.db'), '--bundle-verification-key', pub]);
    try {
      const serving = JSON.parse(srv.lines.find((l) => l.includes('"gavel serving"'))!) as { bundles: Array<{ signer: string }> };
      expect(serving.bundles.map((b) => b.signer)).toEqual(['default']);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }

    // The EC pair (ES256) works the same way.
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
    expect(build(dir, '--signing-key', key, '--signing-alg', 'ES256').code).toBe(0);
    expect((await readBundle('tiny', readFileSync(join(dir, 'bundles/tiny.tar.gz')), bundleVerification([{ file: pub }]))).signer).toBe('default');
  });
});
