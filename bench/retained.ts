/**
 * What a decision leaves on the serving thread's heap while its usage is not reported yet: the
 * live reservation (held for exact budget reads until a report settles it or its TTL, 600 s by
 * default, runs out) and the subject's request history. A gateway that never reports holds
 * rate × TTL of them: at 1,000 decisions/s, 600,000.
 *
 * In-process (no gRPC): `startRuntime` on a ledger file, usage on, evaluation on this thread
 * (`--workers 0`, so the heap measured is the one that holds the state), 32 decisions in flight
 * over the bench workload, each with its own request id and nothing reported. The heap after a full
 * GC, before and after `--decisions` more, divided by them. This checkout against `--against`
 * (a git worktree of that commit), each in a process of its own, interleaved over `--reps`.
 *
 * Beside it, what the serving thread allocates per decision and how much of that its young
 * generation promotes to the old one (V8's GC profiler: the heap used before each GC less the heap
 * used after the one before; old space grown by each scavenge). Promoted bytes are what the old
 * space fills with until a full GC, so they size the heap's growth under load. `--workers 2` puts
 * evaluation on workers, so these count only the serving thread's share, as in `gavel serve`.
 *
 *   npx tsx bench/retained.ts --against HEAD --decisions 20000 --reps 3
 *   npx tsx bench/retained.ts --against HEAD --decisions 20000 --reps 3 --workers 2
 *
 * `--v8='<flags>'` starts both children with these V8 flags too (e.g. '--max-semi-space-size=64', to see what
 * the young generation's size does to promotion); `--no-usage` decides with metering off (`usage: false`), to
 * see the usage context's share.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { GCProfiler, type GCProfilerResult } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { boolFlag, numberFlag, readFlags, stringFlag } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload } from './lib/workload.js';
import { BaselineCheckout } from './lib/worktree.js';

const flags = readFlags({
  against: { type: 'string' },
  decisions: { type: 'string' },
  reps: { type: 'string' },
  child: { type: 'string' },
  workers: { type: 'string' },
  v8: { type: 'string' },
  'no-usage': { type: 'boolean' },
});
const decisions = numberFlag(flags, 'decisions', 20_000, { min: 1000, integer: true });
const workers = numberFlag(flags, 'workers', 0, { min: 0, integer: true });
const child = stringFlag(flags, 'child');
const v8Flags = (stringFlag(flags, 'v8') ?? '').split(' ').filter((f) => f !== '');
const noUsage = boolFlag(flags, 'no-usage');

interface Measured {
  bytesPerDecision: number;
  /** Bytes the serving thread allocated, and those of them its scavenges promoted, per decision. */
  allocatedPerDecision: number;
  promotedPerDecision: number;
  heapMb: number;
  allowed: number;
}

if (child !== undefined) {
  const result = await measure(child);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** In a child process started with --expose-gc: the runtime of the checkout at `root`. */
async function measure(root: string): Promise<Measured> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench/retained: the measuring child needs --expose-gc');
  const { startRuntime } = (await import(pathToFileURL(join(root, 'src/runtime.ts')).href)) as typeof import('../src/runtime.js');
  const workload = loadWorkload();
  const dir = tempDir('gavel-bench-retained-');
  const runtime = await startRuntime({
    bundles: BUNDLES,
    ledger: join(dir.path, 'ledger.db'),
    engine: { workers },
    ...(noUsage ? { usage: false as const } : {}),
  });
  let next = 0;
  let allowed = 0;
  const run = async (n: number) => {
    for (let done = 0; done < n; done += 32) {
      const answers = await Promise.all(
        Array.from({ length: 32 }, () => {
          const i = next++;
          return runtime.decide({
            policy: workload.entrypoint,
            requestId: `retained-${i}`,
            caller: 'bench',
            input: { json: workload.json[i % workload.json.length]! },
          });
        }),
      );
      allowed += answers.filter((a) => a.decision !== 'deny').length;
    }
  };
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  try {
    await run(2000);
    const before = heap();
    allowed = 0;
    const first = next;
    const profiler = new GCProfiler();
    profiler.start();
    const usedAtStart = process.memoryUsage().heapUsed;
    await run(decisions);
    const usedAtEnd = process.memoryUsage().heapUsed;
    const gcs = profiler.stop();
    // run() goes in rounds of 32: count what it decided.
    const decided = next - first;
    const after = heap();
    const { allocated, promoted } = allocation(gcs, usedAtStart, usedAtEnd);
    return {
      bytesPerDecision: (after - before) / decided,
      allocatedPerDecision: allocated / decided,
      promotedPerDecision: promoted / decided,
      heapMb: after / 1e6,
      allowed: allowed / decided,
    };
  } finally {
    await runtime.stop();
    dir.remove();
  }
}

/** Allocated: what each GC found used less what the GC before left; promoted: old space grown by each scavenge. */
function allocation(gcs: GCProfilerResult, usedAtStart: number, usedAtEnd: number): { allocated: number; promoted: number } {
  let allocated = 0;
  let promoted = 0;
  let left = usedAtStart;
  const oldUsed = (stats: GCProfilerResult['statistics'][number]['beforeGC']) =>
    stats.heapSpaceStatistics.find((s) => s.spaceName === 'old_space')?.spaceUsedSize ?? 0;
  for (const gc of gcs.statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - left;
    left = gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge') promoted += oldUsed(gc.afterGC) - oldUsed(gc.beforeGC);
  }
  return { allocated: allocated + usedAtEnd - left, promoted };
}

const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const against = stringFlag(flags, 'against') ?? 'HEAD';
const dir = tempDir('gavel-bench-retained-');
const checkout = new BaselineCheckout(against, join(dir.path, 'baseline'));
watchdog(60 + reps * 2 * (30 + decisions / 200), 'bench/retained', () => {
  checkout.remove();
  dir.remove();
});
checkout.add();
const trees = [
  { name: `baseline ${checkout.commit}`, root: checkout.path, runs: [] as Measured[] },
  { name: 'this checkout', root: ROOT, runs: [] as Measured[] },
];
try {
  for (let rep = 0; rep < reps; rep++) {
    for (const tree of trees) {
      const out = execFileSync(
        process.execPath,
        [
          '--expose-gc',
          ...v8Flags,
          '--import',
          'tsx',
          join(ROOT, 'bench/retained.ts'),
          '--child',
          tree.root,
          '--decisions',
          String(decisions),
          '--workers',
          String(workers),
          ...(noUsage ? ['--no-usage'] : []),
        ],
        // Bounded here: the watchdog's timer cannot fire while execFileSync holds this thread.
        { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: (30 + decisions / 200) * 1000, killSignal: 'SIGKILL' },
      );
      tree.runs.push(JSON.parse(out.trim().split('\n').at(-1)!) as Measured);
    }
  }
} finally {
  checkout.remove();
  dir.remove();
}

/** The settings beside the defaults, each as the summary says it and as its flag. */
const settings = [
  ...(noUsage ? [{ said: 'metering off', flag: '--no-usage' }] : []),
  ...(v8Flags.length > 0 ? [{ said: `V8 flags ${v8Flags.join(' ')}`, flag: `--v8='${v8Flags.join(' ')}'` }] : []),
];
console.log(
  `Machine: ${machineLine(describeMachine())}. ${decisions} decisions after 2,000, 32 in flight, nothing reported, ${workers === 0 ? 'evaluation on the serving thread' : `${workers} evaluation workers`}${settings.map((o) => `, ${o.said}`).join('')}; median of ${reps} interleaved repetitions; \`npx tsx bench/retained.ts --against ${against} --decisions ${decisions} --reps ${reps} --workers ${workers}${settings.map((o) => ` ${o.flag}`).join('')}\`.\n`,
);
console.log(
  '| gavel | heap retained per decision, bytes | each repetition | allocated per decision, KB | promoted per decision, KB | heap after, MB | allowed (each reserves its estimate) |',
);
console.log('|---|--:|---|--:|--:|--:|--:|');
for (const { name, runs } of trees) {
  const bytes = runs.map((r) => r.bytesPerDecision);
  const kb = (f: (r: Measured) => number) => (median(runs.map(f)) / 1024).toFixed(1);
  console.log(
    `| ${name} | ${median(bytes).toFixed(0)} | ${bytes.map((b) => b.toFixed(0)).join(', ')} | ${kb((r) => r.allocatedPerDecision)} | ${kb((r) => r.promotedPerDecision)} | ${median(runs.map((r) => r.heapMb)).toFixed(1)} | ${(100 * median(runs.map((r) => r.allowed))).toFixed(0)}% |`,
  );
}
