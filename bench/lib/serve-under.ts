import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FlagSpec, type FlagValues, numberFlag, stringFlag } from './args.js';
import { findTool, type LoadRun, runGhz } from './go-tools.js';
import { freePort } from './opa.js';
import { ROOT, tempDir } from './paths.js';
import { stopProcess, watchdog } from './process.js';
import { ghzDecideData, loadWorkload } from './workload.js';

/** The flags both profilers take (bench/profile.ts, bench/perf-stages.ts). */
export const SERVE_UNDER_FLAGS: FlagSpec = {
  root: { type: 'string' },
  'in-flight': { type: 'string' },
  seconds: { type: 'string' },
  args: { type: 'string' },
  top: { type: 'string' },
  rps: { type: 'string' },
};

/** What those flags say, and ghz found: the checkout, the load, more `gavel serve` arguments, how many frames to list. */
export function serveUnderFlags(
  flags: FlagValues,
  defaultSeconds: number,
): { ghz: string; root: string; inFlight: number; seconds: number; extra: string[]; top: number; rps: number | undefined } {
  const ghz = findTool('ghz', 'GHZ');
  if (!ghz) throw new Error('ghz not found (go install github.com/bojand/ghz/cmd/ghz@latest)');
  return {
    ghz,
    root: stringFlag(flags, 'root') ?? ROOT,
    inFlight: numberFlag(flags, 'in-flight', 32, { min: 1, integer: true }),
    seconds: numberFlag(flags, 'seconds', defaultSeconds, { min: 1 }),
    extra: (stringFlag(flags, 'args') ?? '').split(' ').filter(Boolean),
    top: numberFlag(flags, 'top', 0, { min: 0, integer: true }),
    // Open loop: ghz sends this many calls a second, up to --in-flight at once (0 or absent: closed loop).
    rps: numberFlag(flags, 'rps', 0, { min: 0, integer: true }) || undefined,
  };
}

export interface ServeUnderOptions {
  /** The checkout whose bundles are served. */
  root: string;
  /** The CLI to start (a checkout's compiled dist/cli/main.js, or bin/gavel.mjs). */
  cli: string;
  /** Node's own flags (the profiler's), given the run's temporary folder. */
  nodeArgs: (dir: string) => string[];
  /** More `gavel serve` arguments. */
  extra: string[];
  /** The working directory: the checkout (default) or the temporary folder (where a profiler writes its files). */
  cwdInDir?: boolean;
  /** For the watchdog's message, and how long it allows besides start-up and shut-down. */
  name: string;
  seconds: number;
}

/** `gavel serve` on a fresh ledger, started under a profiler, and ghz with the bench workload to drive it. */
export interface ServedUnder {
  dir: { path: string; remove(): void };
  child: ChildProcess;
  /** ghz over Decide for `seconds` at `concurrency` in flight; with `rps`, open loop at that rate. */
  drive(concurrency: number, seconds: number, rps?: number): Promise<LoadRun>;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it. */
  stop(): Promise<void>;
}

export async function serveUnder(ghz: string, o: ServeUnderOptions): Promise<ServedUnder> {
  const dir = tempDir(`gavel-${o.name.replace(/^bench\//, '')}-`);
  const port = await freePort();
  const dataFile = join(dir.path, 'decide.json');
  writeFileSync(dataFile, ghzDecideData(loadWorkload(), 'p'));
  const child = spawn(
    process.execPath,
    [
      ...o.nodeArgs(dir.path),
      o.cli,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--ledger',
      join(dir.path, 'l.db'),
      '--bundles',
      join(o.root, 'bundles'),
      ...o.extra,
    ],
    { cwd: o.cwdInDir ? dir.path : o.root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  watchdog(o.seconds + 180, o.name, () => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('gavel serving') && resolve()));
  return {
    dir,
    child,
    drive: (concurrency, seconds, rps) =>
      runGhz(ghz, { address: `127.0.0.1:${port}`, call: 'gavel.v1.DecisionService/Decide', dataFile, concurrency, seconds, ...(rps ? { rps } : {}) }),
    stop: async () => {
      await stopProcess(child, exited);
    },
  };
}
