import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { findTool } from './go-tools.js';
import { createServer } from 'node:net';

/** The opa CLI: $OPA, else the first `opa` on PATH, else ~/go/bin/opa; undefined when there is none. */
export function findOpa(): string | undefined {
  return findTool('opa', 'OPA');
}

export function opaVersion(opa: string): string {
  const out = execFileSync(opa, ['version'], { encoding: 'utf8' });
  const field = (name: string) =>
    out
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim() ?? '?';
  return `OPA ${field('Version')} (WebAssembly: ${field('WebAssembly')})`;
}

/** A port that was free a moment ago (the kernel picks it; opa binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface OpaServer {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/**
 * `opa run --server` on loopback with the given bundle. Resolves once
 * /health?bundles answers 200 (bundle activated); rejects with OPA's stderr
 * if it exits first, e.g. when it cannot evaluate a wasm-only bundle.
 * Logging is at error level: OPA logs every request at info, which would
 * benchmark its logger.
 */
export async function startOpa(opa: string, bundle: string, timeoutMs = 20_000, options: { decisionLogFile?: string } = {}): Promise<OpaServer> {
  const port = await freePort();
  // With a decision log, every decision is written to stdout (console), which goes straight to the file.
  const log = options.decisionLogFile ? openSync(options.decisionLogFile, 'w') : undefined;
  const args = [
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${port}`,
    '--log-level',
    'error',
    ...(log !== undefined ? ['--set', 'decision_logs.console=true'] : []),
  ];
  const child = spawn(opa, [...args, '--bundle', bundle], { stdio: ['ignore', log ?? 'pipe', 'pipe'] });
  if (log !== undefined) closeSync(log);
  // OPA reports start-up errors on stdout or stderr depending on where they happen; keep the start of both.
  let stderr = '';
  const keep = (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr!.on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`opa exited with ${String(exitCode)}: ${stderr.trim()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health?bundles`);
      if (res.status === 200) return { child, port, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`opa did not become healthy in ${timeoutMs} ms: ${stderr.trim()}`);
}

/** `opa build` of the Rego sources into a plain (Rego, not wasm) bundle. */
export function buildRegoBundle(opa: string, policyDir: string, out: string): void {
  execFileSync(opa, ['build', '--bundle', policyDir, '--ignore', '*_test.rego', '--ignore', 'samples', '--output', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
