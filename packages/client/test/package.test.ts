import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES, ROOT, tempDir } from '../../../test/helpers/paths.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';

/**
 * `npm pack -w packages/client` makes a package that works as installed: plain JavaScript imports
 * it and decides against a real server (with the protos it ships, not the repository's), and
 * TypeScript checks code against its declarations. The project is unpacked under the repository's
 * .tmp/ (gitignored) so that its dependencies resolve from the repository's node_modules, as an
 * install would provide them, without a registry.
 */
/** Runs a command without blocking this process's event loop (the in-process server answers on it). */
function run(file: string, args: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let project: string;
let files: string[];
let srv: InProcessServer;

beforeAll(async () => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  project = mkdtempSync(join(ROOT, '.tmp', 'client-pack-'));
  const packDir = tempDir('gavel-pack-');
  // prepack copies the protos and compiles src/ to dist/; --json prints what went in.
  const out = execFileSync('npm', ['pack', '-w', 'packages/client', '--pack-destination', packDir, '--json'], { cwd: ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = info!.files.map((f) => f.path).sort();
  const installed = join(project, 'node_modules', '@gavel-pdp', 'client');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(packDir, info!.filename), '-C', installed, '--strip-components=1']);
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
}, 180_000);
afterAll(async () => {
  await srv?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed @gavel-pdp/client', () => {
  it('holds the compiled code, its declarations and the protos, and nothing of the sources or tests', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/gen/gavel/v1/DecideResponse.d.ts');
    expect(files).toContain('proto/gavel/v1/decision.proto');
    expect(files).toContain('proto/google/rpc/error_details.proto');
    expect(files).toContain('README.md');
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f) || f.endsWith('.test.js'))).toEqual([]);
  });

  it('works from plain JavaScript: import { createClient } and decide against a real server', async () => {
    const script = join(project, 'main.mjs');
    writeFileSync(
      script,
      `import { createClient, GavelError } from '@gavel-pdp/client';
const c = createClient({ target: process.argv[2], tls: 'insecure', caller: 'packed' });
const d = await c.decide(JSON.parse(process.argv[3]));
const err = await c.decide(Buffer.from('[1]')).catch((e) => e);
console.log(JSON.stringify({ health: await c.health(), outcome: d.outcome, allowed: d.isAllowed(), seq: d.receipt.seq, error: err instanceof GavelError && err.code }));
await c.close();
`,
    );
    const input = JSON.stringify(modelCall({ subject: 'packed', team: 'platform', costCenter: 'cc-100' }));
    const js = await run(process.execPath, [script, srv.address, input], project);
    expect(js.status, js.stderr).toBe(0);
    expect(JSON.parse(js.stdout)).toEqual({ health: 'SERVING', outcome: 'allow', allowed: true, seq: expect.any(Number), error: 'invalid_input' });
  });

  it('types work from TypeScript: good code compiles, and misuse is an error', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] },
        files: ['main.ts'],
      }),
    );
    writeFileSync(
      join(project, 'main.ts'),
      `import { createClient, type Decision, GavelError, type UsageReceipt } from '@gavel-pdp/client';
const c = createClient({ target: '127.0.0.1:1', tls: 'insecure', retry: { maxAttempts: 2 }, breaker: { failures: 5, halfOpenAfterMs: 1000 } });
export async function use(): Promise<string> {
  const d: Decision = await c.decide({ action: { type: 'model.invoke', model: 'standard-m' } }, { deadlineMs: 100, requestId: 'x' });
  const outcome: 'allow' | 'deny' | 'require_approval' | 'redact' = d.outcome;
  const seq: number = d.receipt.seq;
  const r: UsageReceipt = await c.report(d.decisionId, { subject: 's', team: 't', costCenter: 'c', model: d.model ?? '', inputTokens: 1, outputTokens: 2 });
  const s = c.decideStream();
  const more: Decision = await s.decide({ a: 1 });
  // @ts-expect-error: an outcome is not a number
  const n: number = d.outcome;
  // @ts-expect-error: a report needs its attribution
  await c.report(d.decisionId, { inputTokens: 1 });
  const e = new Error() as unknown;
  const code: string = e instanceof GavelError ? e.code + e.grpcStatus + String(e.retryable) : '';
  return outcome + seq + r.cost + more.requestId + n + code + (await c.health()) + (await c.waitForApproval('id')).state;
}
`,
    );
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], project);
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  });
});
