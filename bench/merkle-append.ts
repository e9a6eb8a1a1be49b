/**
 * What the Merkle tree alone costs an append (issue 31's goal: within 10%), in one process, so the
 * machine's drift between runs cannot tell the two apart: two ledgers side by side on files of
 * their own, the same engine record (fresh id and salt) appended at 1, 64 and 512 entries per
 * commit (durability normal), in --rounds alternating windows of --seconds each.
 *
 *   with the tree      SqliteLedger as it is: the leaf's nodes hashed and written in the entry's transaction;
 *   without the tree   the same ledger with its tree's append made a no-op (no node hashed, no row written).
 *
 * Everything else is the same code, so the difference is the tree's. `bench/merkle.ts` compares
 * whole checkouts (before and after issue 31) instead, where runs minutes apart differ by up to
 * 10% on this machine for the same code.
 *
 *   npx tsx bench/merkle-append.ts                  # 3 batch sizes x 2 ledgers x 8 rounds x 1 s, ~1 minute
 */
import { join } from 'node:path';
import { ledgerConfig } from '../src/ledger/config.js';
import type { Hash } from '../src/ledger/merkle.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { numberFlag, readFlags } from './lib/args.js';
import { engineRecord, freshRecord } from './lib/ledger-record.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';

const flags = readFlags({ rounds: { type: 'string' }, seconds: { type: 'string' } });
const rounds = numberFlag(flags, 'rounds', 8, { min: 1, integer: true });
const seconds = numberFlag(flags, 'seconds', 1, { min: 0.1 });
const BATCHES = [1, 64, 512];
const dir = tempDir('gavel-bench-merkle-append-');
watchdog(120 + BATCHES.length * 2 * (rounds + 1) * seconds * 2, 'bench/merkle-append', () => dir.remove());

const base = await engineRecord();

/** Appends batches of `batch` for `ms`; appends per second. */
async function window(ledger: SqliteLedger, batch: number, ms: number): Promise<number> {
  const started = performance.now();
  let appended = 0;
  while (performance.now() - started < ms) {
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < batch; i++) pending.push(ledger.append(freshRecord(base)));
    await Promise.all(pending);
    appended += batch;
  }
  return appended / ((performance.now() - started) / 1000);
}

function open(name: string, batch: number, tree: boolean): SqliteLedger {
  const ledger = new SqliteLedger(ledgerConfig(join(dir.path, `${name}-${batch}.db`), { durability: 'normal', maxBatch: batch }));
  if (!tree) {
    // The tree's append made a no-op: the frontier stays as it is, nothing is hashed or written.
    const store = (ledger as unknown as { tree: { append: (frontier: readonly Hash[]) => Hash[] } }).tree;
    store.append = (frontier) => [...frontier];
  }
  return ledger;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const batch of BATCHES) {
  const ledgers = { with: open('with', batch, true), without: open('without', batch, false) };
  const rates = { with: [] as number[], without: [] as number[] };
  await window(ledgers.with, batch, seconds * 500);
  await window(ledgers.without, batch, seconds * 500);
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always follows the other's WAL checkpoint.
    const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const name of order) rates[name].push(await window(ledgers[name], batch, seconds * 1000));
  }
  await ledgers.with.close();
  await ledgers.without.close();
  const without = median(rates.without);
  const withTree = median(rates.with);
  rows.push(
    `| ${batch} | ${Math.round(without).toLocaleString('en-US')} | ${Math.round(withTree).toLocaleString('en-US')} | ${(((withTree - without) / without) * 100).toFixed(1)}% |`,
  );
  process.stderr.write(`batch ${batch} done\n`);
}
dir.remove();
process.stdout.write(
  [
    `Machine: ${machineLine(describeMachine())}. \`npx tsx bench/merkle-append.ts --rounds ${rounds} --seconds ${seconds}\`; medians of ${rounds} alternating windows in one process.`,
    '',
    '| entries per commit | without the tree (appends/s) | with the tree (appends/s) | change |',
    '|--:|--:|--:|--:|',
    ...rows,
    '',
  ].join('\n'),
);
