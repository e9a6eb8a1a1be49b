/**
 * Runs every benchmark, each part in its own child process, one after the
 * other, prints the machine, and writes the results table into
 * bench/README.md between the results markers.
 *
 *   npm run bench                      # full run, ~15 minutes
 *   npm run bench -- --quick           # 3 s per measurement, one repetition of the service rows
 *   npm run bench -- --only service --no-readme
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { boolFlag, numberFlag, readFlags, stringFlag } from './lib/args.js';
import { runPart } from './lib/child.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BENCH, tempDir } from './lib/paths.js';
import { renderResults, spliceResults } from './lib/render.js';
import type { PartResult } from './lib/result.js';

const flags = readFlags({
  quick: { type: 'boolean' },
  seconds: { type: 'string' },
  concurrency: { type: 'string' },
  only: { type: 'string' },
  'no-readme': { type: 'boolean' },
});
const quick = boolFlag(flags, 'quick');
const concurrency = numberFlag(flags, 'concurrency', 32, { min: 1, integer: true });
const secondsOverride = flags.seconds === undefined ? undefined : numberFlag(flags, 'seconds', 0, { min: 0.1 });

interface Part {
  name: string;
  script: string;
  seconds: number;
  warmup: number;
  /** Measured windows in the part, to size its time limit. */
  windows: number;
  /** Time the part needs beyond its windows (the ledger part builds and verifies a 100k-entry ledger). */
  slack: number;
  extra: string[];
}

// Service rows get the longest windows (two processes, a network stack and a
// JIT on both sides to settle); in-process rows settle faster.
const PARTS: Part[] = [
  { name: 'wasm', script: 'bench/wasm.ts', seconds: 5, warmup: 1, windows: 1, slack: 0, extra: [] },
  { name: 'engine', script: 'bench/engine.ts', seconds: 5, warmup: 1, windows: 7, slack: 30, extra: [] },
  { name: 'ledger', script: 'bench/ledger.ts', seconds: 3, warmup: 1, windows: 5, slack: 90, extra: ['--verify-entries', quick ? '20000' : '100000'] },
  // 3 repetitions × (4 + 4 + 4 + 2 + 1 + 1 + 1 + 2 + 1 windows) + 9 open-loop windows (gavel, shadow, floor) + 4 large-input windows; servers start ~45 times.
  // Builds a ledger of 100k real records, then replays it six ways and reads it twice.
  { name: 'replay', script: 'bench/replay.ts', seconds: 0, warmup: 0, windows: 0, slack: 420, extra: ['--entries', quick ? '20000' : '100000'] },
  { name: 'service', script: 'bench/service.ts', seconds: 10, warmup: 2, windows: 3 * 20 + 9 + 4, slack: 300, extra: quick ? ['--reps', '1'] : [] },
];

const only = stringFlag(flags, 'only')
  ?.split(',')
  .map((s) => s.trim());
const unknown = only?.filter((name) => !PARTS.some((p) => p.name === name)) ?? [];
if (unknown.length > 0) throw new Error(`--only: unknown part(s) ${unknown.join(', ')}; known: ${PARTS.map((p) => p.name).join(', ')}`);

const machine = describeMachine();
const load = loadavg()
  .map((n) => n.toFixed(2))
  .join(' / ');
process.stdout.write(`machine: ${machineLine(machine)}\nload average before the run (1/5/15 min): ${load}\n\n`);

const tmp = tempDir('gavel-bench-run-');
const results: PartResult[] = [];
const startedAt = Date.now();
try {
  for (const part of PARTS) {
    if (only && !only.includes(part.name)) continue;
    const seconds = secondsOverride ?? (quick ? 3 : part.seconds);
    const warmup = quick ? 1 : part.warmup;
    const args = ['--seconds', String(seconds), '--warmup', String(warmup), '--concurrency', String(concurrency), ...part.extra];
    process.stdout.write(`== ${part.name} (${part.script} ${args.join(' ')})\n`);
    // Generous: start-up, windows, and the 100k-entry ledger build/verify; only a hang should reach it.
    const limit = 60 + part.slack + part.windows * (seconds + warmup) * 2;
    results.push(await runPart(part.script, args, join(tmp.path, `${part.name}.json`), limit));
  }
} finally {
  tmp.remove();
}

const elapsed = Math.round((Date.now() - startedAt) / 1000);
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
const header = [
  `Measured with \`${command}\` (${elapsed} s in all).`,
  '',
  `- Machine: ${machineLine(machine)}`,
  `- Load average before the run (1/5/15 min): ${load}`,
  `- Input: \`policies/ai/samples/employee-standard-allowed.json\` (employee, standard-m, one-line prompt; allowed), spread over 1024 subject ids, 64 teams and 64 cost centers`,
  `- Closed loop: each of "In flight" workers sends its next call when the previous one answers; latency is per call (per commit for the ledger rows). "Per core" = throughput ÷ cores used by the process that answers. "Cores used" counts user+system CPU over the measured window.`,
];
const markdown = renderResults(header, results);
process.stdout.write(`\n${markdown}\n`);

if (!boolFlag(flags, 'no-readme')) {
  const path = join(BENCH, 'README.md');
  let readme = '';
  try {
    readme = readFileSync(path, 'utf8');
  } catch {
    readme = '# gavel benchmarks\n';
  }
  writeFileSync(path, spliceResults(readme, markdown));
  process.stdout.write(`results written to ${path}\n`);
}
