/**
 * Where a lone decision's time goes, in-process (no gRPC): `startRuntime` on a ledger file, usage
 * on, as `gavel serve` starts it; one `runtime.decide` at a time, --gap-ms apart (a lone caller),
 * and the wall time of each stage, timed by wrapping the engine's and the ledger's own methods. A
 * method that is not there any more stops the bench: it never reports a stage it did not time.
 * Medians over the last two thirds of --decisions (the first third warms up). Not part of `npm run
 * bench`; the table goes to stdout for bench/README.
 *
 *   npx tsx bench/lone.ts --decisions 3000 --gap-ms 1
 *   npx tsx bench/lone.ts --workers 0        (every evaluation on the serving thread)
 *   npx tsx bench/lone.ts --page-size 4096   (the ledger file's SQLite page size; default the ledger's own)
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { startRuntime } from '../src/runtime.js';
import { numberFlag, readFlags } from './lib/args.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ decisions: { type: 'string' }, 'gap-ms': { type: 'string' }, workers: { type: 'string' }, 'page-size': { type: 'string' } });
const decisions = numberFlag(flags, 'decisions', 3000, { min: 30, integer: true });
const gapMs = numberFlag(flags, 'gap-ms', 1, { min: 0 });
const workers = numberFlag(flags, 'workers', availableParallelism(), { min: 0, integer: true });
const pageSize = flags['page-size'] === undefined ? undefined : numberFlag(flags, 'page-size', 0, { min: 512, integer: true });
watchdog(60 + (decisions * (gapMs + 5)) / 1000, 'bench/lone');

const workload = loadWorkload();
const dir = tempDir('gavel-bench-lone-');
const runtime = await startRuntime({
  bundles: BUNDLES,
  ledger: join(dir.path, 'ledger.db'),
  engine: { workers },
  ...(pageSize ? { ledgerOptions: { pageSize } } : {}),
});

/** Wall times of one stage, in ms, one per call. */
const times = new Map<string, number[]>();
let counting = false;
/** This decision's time in the top-level stages (those not indented), which run one after another. */
let inStages = 0;

/** Times every call of `target[method]` (sync, or async until it settles) under `stage`. */
function timed(target: object, method: string, stage: string): void {
  const holder = target as Record<string, unknown>;
  const original = holder[method];
  if (typeof original !== 'function') throw new Error(`bench/lone: ${stage}: ${method} is not a method any more; update the bench`);
  times.set(stage, []);
  const topLevel = !stage.startsWith(' ');
  const record = (started: number) => {
    const ms = performance.now() - started;
    if (topLevel) inStages += ms;
    if (counting) times.get(stage)?.push(ms);
  };
  holder[method] = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const result = original.apply(this, args);
    if (result instanceof Promise) return result.finally(() => record(started));
    record(started);
    return result;
  };
}

// The engine's stages (engine.ts), then the ledger's parts of an append (ledger/sqlite.ts).
const engine = runtime.parts.engine as unknown as Record<string, object>;
const ledger = runtime.parts.ledger as unknown as Record<string, Record<string, object>>;
if (runtime.stats.ledgerThread) throw new Error('bench/lone times the ledger on the serving thread');
const STAGES: Array<[object | undefined, string, string]> = [
  [engine.runner, 'prepare', 'prepare: parse, bounds, scan, facts'],
  [engine, 'usageContext', 'usage context: reservations and totals'],
  [engine.runner, 'evaluate', 'evaluate: policy, result, redaction, record'],
  [engine.approvals, 'lookup', "approval lookup: a retry's approval, or an open request with this fingerprint"],
  [engine.approvals, 'plan', 'approval plan: what this decision does to a request'],
  [engine.meter, 'stage', "usage staging: the reservation's rows"],
  [engine, 'append', 'append: queued until its COMMIT returned'],
  [ledger, 'checkFile', '  the file is still the one opened (stat)'],
  [ledger, 'writeBatch', '  canonical header, hashes, transaction'],
  [ledger, 'transaction', '    BEGIN … COMMIT'],
  [ledger.tx?.begin, 'run', '      BEGIN IMMEDIATE'],
  [ledger.tx?.savepoint, 'run', '      SAVEPOINT (an entry alone in its batch)'],
  [ledger.rows, 'run', '      usage rows (staged writes)'],
  [ledger, 'writeEntry', '      the entry: header text, its two hashes, its rows, the tree'],
  [ledger.insertEntry, 'run', '        INSERT the entry (its 15 B-trees)'],
  [ledger.insertPayload, 'run', '        INSERT the payload'],
  [ledger.tree, 'append', '        Merkle tree nodes'],
  [ledger.tx?.release, 'run', '      RELEASE'],
  [ledger.tx?.commit, 'run', '      COMMIT'],
];
for (const [target, method, stage] of STAGES) {
  if (!target) throw new Error(`bench/lone: ${stage}: its object is not there any more; update the bench`);
  timed(target, method, stage);
}

const totals: number[] = [];
const between: number[] = [];
try {
  for (let i = 0; i < decisions; i++) {
    counting = i >= decisions / 3;
    const input = workload.inputs[i % workload.inputs.length];
    inStages = 0;
    const started = performance.now();
    await runtime.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'bench' });
    if (counting) {
      totals.push(performance.now() - started);
      between.push(performance.now() - started - inStages);
    }
    await new Promise((resolve) => (gapMs > 0 ? setTimeout(resolve, gapMs) : setImmediate(resolve)));
  }
} finally {
  await runtime.stop();
  dir.remove();
}

const whole = median(totals);
console.log(`| stage | calls per decision | median µs | of the decision |`);
console.log('|---|--:|--:|--:|');
console.log(`| **runtime.decide, whole** | 1 | **${(whole * 1000).toFixed(0)}** | 100% |`);
for (const [stage, xs] of times) {
  const perDecision = xs.length / totals.length;
  const us = median(xs) * 1000;
  console.log(
    `| ${stage.replace(/^ +/, (s) => '&nbsp;'.repeat(s.length))} | ${perDecision.toFixed(2)} | ${us.toFixed(0)} | ${((100 * us * perDecision) / (whole * 1000)).toFixed(0)}% |`,
  );
}
console.log(
  `| between the stages: locks, the decision's answer, turns of the event loop | | ${(median(between) * 1000).toFixed(0)} | ${((100 * median(between)) / whole).toFixed(0)}% |`,
);
console.log(
  `\n${totals.length} decisions counted of ${decisions}, ${gapMs} ms apart, workers ${workers}, page size ${pageSize ?? 'default'}, ${new Date().toISOString()}`,
);
