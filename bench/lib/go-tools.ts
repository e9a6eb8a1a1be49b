import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { BENCH } from './paths.js';

/**
 * The Go load generators of the service benchmark: ghz for gavel's gRPC API
 * and bench/httpload (built here from its source) for OPA's REST API. Each runs
 * as its own process and uses about a tenth of a core at these rates, so the
 * server under test keeps the machine; no Node client shares its cores.
 */

/** An executable: $ENV, else the first on PATH, else ~/go/bin (where `go install` puts it). */
export function findTool(name: string, env: string): string | undefined {
  const candidates = [
    ...(process.env[env] ? [process.env[env]!] : []),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
    join(homedir(), 'go', 'bin', name),
  ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Builds bench/httpload into `dir` with the Go toolchain; undefined (with the reason) when Go is missing. */
export function buildHttpLoad(dir: string): { path?: string; error?: string } {
  const out = join(dir, 'httpload');
  try {
    execFileSync('go', ['build', '-o', out, '.'], { cwd: join(BENCH, 'httpload'), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GOFLAGS: '' } });
    return { path: out };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

export interface LoadRun {
  /** Calls answered OK (for a stream: messages answered). */
  ok: number;
  errors: number;
  /** Answers that were not the expected decision. */
  unexpected: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface GhzOptions {
  address: string;
  call: string;
  dataFile: string;
  concurrency: number;
  seconds: number;
  /** Open loop at this rate (ghz --rps), instead of closed loop. */
  rps?: number;
  /** The .proto of the call and its import paths (default: gavel's decision.proto under proto/). */
  proto?: string;
  importPaths?: string[];
}

/** One ghz run; resolves with its counts and latency percentiles (ms). */
export async function runGhz(ghz: string, o: GhzOptions): Promise<LoadRun> {
  const args = [
    '--insecure',
    '--proto',
    o.proto ?? 'proto/gavel/v1/decision.proto',
    '--import-paths',
    (o.importPaths ?? ['proto']).join(','),
    '--call',
    o.call,
    '--data-file',
    o.dataFile,
    '--concurrency',
    String(o.concurrency),
    '--duration',
    `${o.seconds}s`,
    '--duration-stop',
    'wait',
    '--timeout',
    '30s',
    '--format',
    'json',
    ...(o.rps ? ['--rps', String(o.rps)] : []),
    o.address,
  ];
  const out = await capture(ghz, args, (o.seconds + 60) * 1000);
  const r = JSON.parse(out) as {
    count: number;
    total: number;
    rps: number;
    latencyDistribution?: Array<{ percentage: number; latency: number }> | null;
    statusCodeDistribution?: Record<string, number>;
    errorDistribution?: Record<string, number>;
  };
  const at = (p: number) => (r.latencyDistribution?.find((l) => l.percentage === p)?.latency ?? Number.NaN) / 1e6;
  const ok = r.statusCodeDistribution?.OK ?? 0;
  const seconds = r.total / 1e9;
  const firstError = Object.keys(r.errorDistribution ?? {})[0];
  return { ok, errors: r.count - ok, unexpected: 0, ...(firstError ? { firstError } : {}), seconds, rps: ok / seconds, p50: at(50), p90: at(90), p99: at(99) };
}

export interface HttpLoadOptions {
  url: string;
  bodiesFile: string;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  expect: string;
  /** Open loop at this rate (httpload -rps), instead of closed loop. */
  rps?: number;
}

export async function runHttpLoad(httpload: string, o: HttpLoadOptions): Promise<LoadRun> {
  const args = [
    '-url',
    o.url,
    '-bodies',
    o.bodiesFile,
    '-c',
    String(o.concurrency),
    '-d',
    `${o.seconds}s`,
    '-warmup',
    `${o.warmupSeconds}s`,
    '-expect',
    o.expect,
    ...(o.rps ? ['-rps', String(o.rps)] : []),
  ];
  const r = JSON.parse(await capture(httpload, args, (o.seconds + o.warmupSeconds + 60) * 1000)) as {
    count: number;
    errors: number;
    unexpected: number;
    first_error?: string;
    seconds: number;
    rps: number;
    p50_ms: number;
    p90_ms: number;
    p99_ms: number;
  };
  return {
    ok: r.count,
    errors: r.errors,
    unexpected: r.unexpected,
    ...(r.first_error ? { firstError: r.first_error } : {}),
    seconds: r.seconds,
    rps: r.rps,
    p50: r.p50_ms,
    p90: r.p90_ms,
    p99: r.p99_ms,
  };
}

/** Runs a tool to completion within timeoutMs; resolves with its stdout, rejects with its stderr. */
function capture(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: join(BENCH, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && out.trim()) resolve(out);
      else reject(new Error(`${cmd} exited with ${String(code)}: ${err.trim().slice(0, 500)}`));
    });
  });
}

/** Resident memory of a process in MB (VmRSS), or undefined without /proc. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
