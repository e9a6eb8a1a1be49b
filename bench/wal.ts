/**
 * The WAL under steady load: SqliteLedger appends of the engine's record, in commits of --batch
 * entries, as fast as one writer can, for --seconds; every --slice seconds the appends/s, the
 * process's CPU per append (the checkpointer thread included) and the WAL file's size. Rows: the
 * default limit (64 MB: the checkpointer makes the writer start the WAL over past it) and the WAL
 * without a limit (PASSIVE copies alone, as before issue 30's session 12), interleaved over --reps.
 * Not part of `npm run bench`; the table goes to stdout for bench/README.
 *
 *   npx tsx bench/wal.ts --seconds 30 --slice 10 --batch 8 --reps 2
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ledgerConfig } from '../src/ledger/config.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { numberFlag, readFlags } from './lib/args.js';
import { engineRecord, freshRecord } from './lib/ledger-record.js';
import { tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';

const flags = readFlags({ seconds: { type: 'string' }, slice: { type: 'string' }, batch: { type: 'string' }, reps: { type: 'string' } });
const seconds = numberFlag(flags, 'seconds', 30, { min: 1 });
const slice = numberFlag(flags, 'slice', 10, { min: 1 });
const batch = numberFlag(flags, 'batch', 8, { min: 1, integer: true });
const reps = numberFlag(flags, 'reps', 2, { min: 1, integer: true });
watchdog(60 + 2 * reps * (seconds + 10), 'bench/wal');

const base = await engineRecord();
const MODES = [
  { label: 'default: RESTART past 64 MB', overrides: {} },
  { label: 'no limit: PASSIVE copies alone', overrides: { walLimitBytes: Number.MAX_SAFE_INTEGER } },
];

interface Slice {
  appendsPerSecond: number;
  cpuUsPerAppend: number;
  walMb: number;
}

async function run(overrides: object): Promise<Slice[]> {
  const dir = tempDir('gavel-bench-wal-');
  const path = join(dir.path, 'ledger.db');
  const ledger = new SqliteLedger(ledgerConfig(path, { maxBatch: batch, ...overrides }));
  const slices: Slice[] = [];
  try {
    for (let s = 0; s < seconds / slice; s++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      let appends = 0;
      while (performance.now() - started < slice * 1000) {
        await Promise.all(Array.from({ length: batch }, () => ledger.append(freshRecord(base))));
        appends += batch;
      }
      const used = process.cpuUsage(cpu);
      slices.push({
        appendsPerSecond: appends / ((performance.now() - started) / 1000),
        cpuUsPerAppend: (used.user + used.system) / appends,
        walMb: statSync(`${path}-wal`).size / 1e6,
      });
    }
    return slices;
  } finally {
    await ledger.close();
    dir.remove();
  }
}

const results = new Map<string, Slice[][]>(MODES.map((m) => [m.label, []]));
for (let r = 0; r < reps; r++) for (const m of MODES) results.get(m.label)?.push(await run(m.overrides));

console.log(`| ledger | seconds | appends/s | CPU µs per append | WAL MB at the end |`);
console.log('|---|--:|--:|--:|--:|');
for (const m of MODES) {
  const runs = results.get(m.label) ?? [];
  for (let s = 0; s < seconds / slice; s++) {
    const at = runs.map((slices) => slices[s]).filter((x): x is Slice => x !== undefined);
    const cells = [
      median(at.map((x) => x.appendsPerSecond)).toFixed(0),
      median(at.map((x) => x.cpuUsPerAppend)).toFixed(0),
      median(at.map((x) => x.walMb)).toFixed(0),
    ];
    console.log(`| ${m.label} | ${s * slice}-${(s + 1) * slice} | ${cells.join(' | ')} |`);
  }
}
console.log(`\nbatch ${batch}, medians of ${reps}, ${new Date().toISOString()}`);
