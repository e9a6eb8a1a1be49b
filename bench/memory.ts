/**
 * Where gavel serve's resident memory goes (issue 30, goal 5): the same server started as a checkout
 * runs it (bin/gavel.mjs: the TypeScript through tsx) and as the installed package runs it (compiled,
 * `node dist/cli/main.js`), with the default workers (one per core, each with a 4 MB young
 * generation) and with V8's own young generation for them, with no workers, and with the I/O
 * thread's semi-space capped, each driven by ghz at --in-flight (32) Decides over the bench workload
 * (every call its own request id) for --seconds. Per row: RSS idle (just after "gavel serving"), the highest RSS
 * sampled every 200 ms under load, and the rate reached (only comparable inside one run). Rows are
 * interleaved over --reps repetitions; medians.
 *
 *   npx tsx bench/memory.ts                     # 3 repetitions of 15 s, ~8 minutes
 *   npx tsx bench/memory.ts --reps 1 --seconds 5
 *   npx tsx bench/memory.ts --only 'young generation 4 MB,V8 --'   # some rows only
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { compiledCli } from './lib/compiled.js';
import { findTool, rssMb, runGhz } from './lib/go-tools.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload, ghzDecideData } from './lib/workload.js';

const flags = readFlags({ seconds: { type: 'string' }, reps: { type: 'string' }, 'in-flight': { type: 'string' }, only: { type: 'string' } });
/** Only the rows whose name contains one of these (comma separated), e.g. --only 'young generation 4 MB,V8 --'. */
const only = stringFlag(flags, 'only')?.split(',');
const seconds = numberFlag(flags, 'seconds', 15, { min: 1 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const inFlight = numberFlag(flags, 'in-flight', 32, { min: 1, integer: true });

const dir = tempDir('gavel-bench-memory-');
watchdog(30 * 60, 'bench/memory', () => dir.remove());
const ghz = findTool('ghz', 'GHZ');
if (!ghz) throw new Error('ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set GHZ)');
const workload = loadWorkload();
const dataFile = join(dir.path, 'decide.json');
writeFileSync(dataFile, ghzDecideData(workload, 'mem'));
const compiled = compiledCli();

interface Config {
  name: string;
  bin: string | undefined;
  args: string[];
  nodeOptions?: string;
  /** V8 flags set when the process starts (some are refused in NODE_OPTIONS). */
  v8Flags?: string;
}
const ALL_CONFIGS: Config[] = [
  { name: 'checkout (tsx), default workers', bin: undefined, args: [] },
  { name: 'compiled, default workers (young generation 4 MB each)', bin: compiled, args: [] },
  { name: "compiled, default workers, V8's own young generation (--worker-young-generation-mb 0)", bin: compiled, args: ['--worker-young-generation-mb', '0'] },
  { name: 'compiled, no workers', bin: compiled, args: ['--workers', '0'] },
  { name: 'compiled, default workers, and --max-semi-space-size=4 for the I/O thread', bin: compiled, args: [], nodeOptions: '--max-semi-space-size=4' },
  // V8's own memory-for-speed trades, set at start (bench/lib/v8-flags.mjs): every thread's heap grows less.
  { name: 'compiled, default workers, V8 --heap-growing-percent=10', bin: compiled, args: [], v8Flags: '--heap-growing-percent=10' },
  { name: 'compiled, default workers, V8 --optimize-for-size', bin: compiled, args: [], v8Flags: '--optimize-for-size' },
];
const V8_FLAGS = join(ROOT, 'bench/lib/v8-flags.mjs');
const CONFIGS = only ? ALL_CONFIGS.filter((c) => only.some((o) => c.name.includes(o))) : ALL_CONFIGS;

const rows = new Map<string, Array<{ idle: number; peak: number; rps: number; p50: number; p99: number; errors: number }>>();
for (let rep = 0; rep < reps; rep++) {
  for (const c of CONFIGS) {
    const env = {
      ...(c.nodeOptions || c.v8Flags ? { NODE_OPTIONS: [c.nodeOptions, c.v8Flags ? `--import ${V8_FLAGS}` : undefined].filter(Boolean).join(' ') } : {}),
      ...(c.v8Flags ? { GAVEL_BENCH_V8_FLAGS: c.v8Flags } : {}),
    };
    const s = await startChild(['--bundles', BUNDLES, '--ledger', join(dir.path, `l-${rep}-${rows.size}-${Date.now()}.db`), ...c.args], env, ROOT, c.bin);
    try {
      const idle = rssMb(s.child.pid) ?? Number.NaN;
      let peak = idle;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb(s.child.pid) ?? 0);
      }, 200);
      const run = await runGhz(ghz, { address: s.address, call: 'gavel.v1.DecisionService/Decide', dataFile, concurrency: inFlight, seconds });
      clearInterval(sampler);
      rows.set(c.name, [...(rows.get(c.name) ?? []), { idle, peak, rps: run.rps, p50: run.p50, p99: run.p99, errors: run.errors }]);
      process.stderr.write(`rep ${rep + 1}: ${c.name}: idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, ${run.rps.toFixed(0)}/s\n`);
    } finally {
      await stopProcess(s.child, s.exited);
    }
  }
}

const lines = [
  `Machine: ${machineLine(describeMachine())}. Median of ${reps} interleaved repetitions, ${inFlight} in flight for ${seconds} s; \`npx tsx bench/memory.ts\`.`,
  '',
  '| gavel serve | RSS idle MB | RSS peak under load MB | decisions/s | p50 ms | p99 ms | errors |',
  '|---|--:|--:|--:|--:|--:|--:|',
];
for (const c of CONFIGS) {
  const r = rows.get(c.name) ?? [];
  lines.push(
    `| ${c.name} | ${median(r.map((x) => x.idle)).toFixed(0)} | ${median(r.map((x) => x.peak)).toFixed(0)} | ${median(r.map((x) => x.rps)).toFixed(0)} | ${median(r.map((x) => x.p50)).toFixed(2)} | ${median(r.map((x) => x.p99)).toFixed(2)} | ${r.reduce((a, x) => a + x.errors, 0)} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
dir.remove();
