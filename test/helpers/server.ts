import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { startServer, type RunningServer, type ServerOptions, type ServerSecurity } from '../../src/transport/server.js';
import { GAVEL_BIN, ROOT } from './paths.js';

export interface InProcessServer {
  core: Runtime;
  server: RunningServer;
  address: string;
  stop(): Promise<void>;
}

/** The real gRPC server on an ephemeral loopback port, in this process. */
export async function startInProcess(
  options: RuntimeConfig,
  extra: { security?: ServerSecurity; metricsListen?: string; log?: pino.Logger } & Pick<
    ServerOptions,
    'extAuthz' | 'extAuthzListen' | 'console' | 'decisionLog'
  > = {},
): Promise<InProcessServer> {
  const log = extra.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' });
  const core = await startRuntime({ logger: log, ...options });
  const { log: _given, ...serverExtra } = extra;
  const server = await startServer(core, { listen: '127.0.0.1:0', log, ...serverExtra });
  return {
    core,
    server,
    address: `127.0.0.1:${server.port}`,
    stop: async () => {
      await server.shutdown(2000);
      await core.stop();
    },
  };
}

export interface ChildServer {
  child: ChildProcess;
  port: number;
  address: string;
  /** Every stdout line so far (pino JSON). */
  lines: string[];
  exited: Promise<number | null>;
}

/**
 * `gavel serve` as a separate process (for signals and crash tests); resolves once it logs "gavel serving".
 * `bin` is the CLI to run: the checkout's (its TypeScript through tsx), or the compiled `dist/cli/main.js`.
 */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT, bin = GAVEL_BIN): Promise<ChildServer> {
  const child = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 30s; stderr: ${stderr}`));
    }, 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving; stderr: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"gavel serving"')) {
        clearTimeout(timer);
        const port = (JSON.parse(line) as { port: number }).port;
        resolve({ child, port, address: `127.0.0.1:${port}`, lines, exited });
      }
    });
  });
}

/** Runs the CLI to completion; returns exit code, stdout, stderr. */
export function runCli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [GAVEL_BIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The child's "gavel serving" start-up line, parsed (warnings may come before it). */
export function servingLine<T = Record<string, unknown>>(srv: ChildServer): T {
  const line = srv.lines.find((l) => l.includes('"gavel serving"'));
  if (!line) throw new Error('no "gavel serving" line');
  return JSON.parse(line) as T;
}

/** Starts `gavel serve` expecting it to refuse: resolves with the rejection's text (exit code and stderr), or "started". */
export function failedStart(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<string> {
  return startChild(args, env, cwd).then(
    (srv) => {
      srv.child.kill('SIGKILL');
      return 'started';
    },
    (err: unknown) => String(err),
  );
}
