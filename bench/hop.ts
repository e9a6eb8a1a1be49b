/**
 * What one Decide costs the server, this checkout against an earlier commit, side by side in the
 * same run (issue 30): both compiled (`npm run build`, as installed), the same shipped bundles and
 * workload (every call its own request id), each started afresh per repetition and driven by ghz
 * at each --in-flight count, interleaved over --reps. Per row (medians): decisions/s, CPU µs per
 * decision on the main thread alone (the serial I/O thread: gRPC, metering, the ledger's commit)
 * and on all threads, p50/p99, and the highest RSS sampled every 200 ms. CPU per decision is read
 * from /proc and holds up on a shared machine far better than rates and latencies do.
 *
 *   npx tsx bench/hop.ts --against HEAD            # working tree against the last commit
 *   npx tsx bench/hop.ts --against b474ee4 --reps 3 --seconds 10 --in-flight 1,32
 *   npx tsx bench/hop.ts --against HEAD --this-args='--ledger-thread'   # flags for this checkout's server alone
 *   npx tsx bench/hop.ts --against HEAD --rps 400 --in-flight 64   # open loop: 400 calls/s from up to 64 in flight (the tail)
 *   npx tsx bench/hop.ts --against HEAD --teams 1 --cost-centers 1   # every call on one team's and cost center's budgets
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { compiledCli } from './lib/compiled.js';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/cpu.js';
import { findTool, rssMb, runGhz } from './lib/go-tools.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { BaselineCheckout } from './lib/worktree.js';
import { stopProcess, watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload, ghzDecideData } from './lib/workload.js';

const flags = readFlags({
  against: { type: 'string' },
  seconds: { type: 'string' },
  reps: { type: 'string' },
  'in-flight': { type: 'string' },
  args: { type: 'string' },
  'this-args': { type: 'string' },
  rps: { type: 'string' },
  teams: { type: 'string' },
  'cost-centers': { type: 'string' },
});
const against = stringFlag(flags, 'against') ?? 'HEAD';
const seconds = numberFlag(flags, 'seconds', 8, { min: 1 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const inFlight = (stringFlag(flags, 'in-flight') ?? '1,32').split(',').map((n) => numberFlag({ n }, 'n', 1, { min: 1, integer: true }));
const extra = (stringFlag(flags, 'args') ?? '').split(' ').filter(Boolean);
const thisExtra = (stringFlag(flags, 'this-args') ?? '').split(' ').filter(Boolean);
/** Open loop: ghz starts this many calls a second (each --in-flight count is then its most in flight at once). */
const rps = stringFlag(flags, 'rps') === undefined ? undefined : numberFlag(flags, 'rps', 1, { min: 1 });
const load = rps ? { rps } : {};

const dir = tempDir('gavel-bench-hop-');
const checkout = new BaselineCheckout(against, join(dir.path, 'baseline'));
const baseline = checkout.path;
const commit = checkout.commit;
watchdog(60 * 60, 'bench/hop', () => {
  checkout.remove();
  dir.remove();
});
const ghz = findTool('ghz', 'GHZ');
if (!ghz) throw new Error('ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set GHZ)');
checkout.add();
const servers = [
  { name: `baseline ${commit}`, bin: compiledCli(baseline), args: [] as string[] },
  { name: thisExtra.length > 0 ? `this checkout ${thisExtra.join(' ')}` : 'this checkout', bin: compiledCli(), args: thisExtra },
];

/** How many teams and cost centers the calls spread over (the workload's 64 each by default; 1: all on one budget). */
const spread = {
  ...(stringFlag(flags, 'teams') ? { teams: numberFlag(flags, 'teams', 64, { min: 1, integer: true }) } : {}),
  ...(stringFlag(flags, 'cost-centers') ? { costCenters: numberFlag(flags, 'cost-centers', 64, { min: 1, integer: true }) } : {}),
};
const workload = loadWorkload(spread);
const dataFile = join(dir.path, 'decide.json');
writeFileSync(dataFile, ghzDecideData(workload, 'hop'));

interface Sample {
  rps: number;
  mainUs: number;
  allUs: number;
  p50: number;
  p99: number;
  peak: number;
  errors: number;
}
const samples = new Map<string, Sample[]>();
let n = 0;
for (let rep = 0; rep < reps; rep++) {
  for (const c of inFlight) {
    for (const s of servers) {
      const child = await startChild(['--bundles', BUNDLES, '--ledger', join(dir.path, `l-${n++}.db`), ...extra, ...s.args], {}, ROOT, s.bin);
      try {
        const pid = child.child.pid;
        await runGhz(ghz, { address: child.address, call: 'gavel.v1.DecisionService/Decide', dataFile, concurrency: c, seconds: 1, ...load });
        let peak = rssMb(pid) ?? 0;
        const sampler = setInterval(() => {
          peak = Math.max(peak, rssMb(pid) ?? 0);
        }, 200);
        const main0 = mainThreadCpuSeconds(pid);
        const all0 = cpuSeconds(pid);
        const run = await runGhz(ghz, { address: child.address, call: 'gavel.v1.DecisionService/Decide', dataFile, concurrency: c, seconds, ...load });
        const main1 = mainThreadCpuSeconds(pid);
        const all1 = cpuSeconds(pid);
        clearInterval(sampler);
        const per = (a?: number, b?: number) => (a === undefined || b === undefined || run.ok === 0 ? Number.NaN : ((b - a) * 1e6) / run.ok);
        const sample = { rps: run.rps, mainUs: per(main0, main1), allUs: per(all0, all1), p50: run.p50, p99: run.p99, peak, errors: run.errors };
        const key = `${s.name}|${c}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(
          `rep ${rep + 1}, ${c} in flight, ${s.name}: ${run.rps.toFixed(0)}/s, main ${sample.mainUs.toFixed(0)} µs, all ${sample.allUs.toFixed(0)} µs\n`,
        );
      } finally {
        await stopProcess(child.child, child.exited);
      }
    }
  }
}

const lines = [
  `Machine: ${machineLine(describeMachine())}. Median of ${reps} interleaved repetitions of ${seconds} s; \`npx tsx bench/hop.ts --against ${against}${extra.length ? ` --args='${extra.join(' ')}'` : ''}${thisExtra.length ? ` --this-args='${thisExtra.join(' ')}'` : ''}${rps ? ` --rps ${rps}` : ''}${spread.teams ? ` --teams ${spread.teams}` : ''}${spread.costCenters ? ` --cost-centers ${spread.costCenters}` : ''}\`.${rps ? ` Open loop at ${rps} calls/s; "in flight" is the most ghz keeps in flight at once.` : ''}`,
  '',
  '| gavel serve | in flight | decisions/s | main-thread CPU µs/decision | all threads CPU µs/decision | p50 ms | p99 ms | RSS peak MB | errors |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
];
for (const c of inFlight) {
  for (const s of servers) {
    const r = samples.get(`${s.name}|${c}`) ?? [];
    const m = (f: (x: Sample) => number, digits = 0) => median(r.map(f)).toFixed(digits);
    lines.push(
      `| ${s.name} | ${c} | ${m((x) => x.rps)} | ${m((x) => x.mainUs)} | ${m((x) => x.allUs)} | ${m((x) => x.p50, 2)} | ${m((x) => x.p99, 2)} | ${m((x) => x.peak)} | ${r.reduce((a, x) => a + x.errors, 0)} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
checkout.remove();
dir.remove();
process.exit(0);
