/**
 * What the Merkle tree costs an append (issue 31's goal: within 10% of the ledger before it), in
 * one process, so the machine's drift between runs cannot tell them apart: three ledgers side by
 * side on files of their own, the same engine record (fresh id and salt) appended at 1, 64 and 512
 * entries per commit (durability normal), in --rounds windows of --seconds each, taking turns.
 *
 *   before the tree    SqliteLedger of --against (default 7ef5e71, the last commit without the tree),
 *                      loaded from a git worktree into this process;
 *   tree switched off  this checkout's SqliteLedger with its tree's append made a no-op (no node
 *                      hashed, no row written): everything else the same code;
 *   with the tree      this checkout's SqliteLedger as it is.
 *
 * The first against the last is the goal; the second against the last is the tree's own cost.
 * Windows are --gap seconds apart (default 1.2): each ledger's WAL checkpointer, a worker thread
 * that runs once a second, copies a window's pages before the next ledger's window starts.
 * `bench/merkle.ts` compares whole checkouts in separate processes instead.
 *
 *   npx tsx bench/merkle-append.ts                  # 3 batch sizes x 3 ledgers x 8 rounds x (1 + 1.2) s, ~3 minutes
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { EntryRecord } from '../src/engine/ledger.js';
import { ledgerConfig, type LedgerConfig } from '../src/ledger/config.js';
import type { Hash } from '../src/ledger/merkle.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { engineRecord, freshRecord } from './lib/ledger-record.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';
import { BaselineCheckout } from './lib/worktree.js';
import { watchdog } from './lib/process.js';
import { int } from './lib/result.js';

const flags = readFlags({ rounds: { type: 'string' }, seconds: { type: 'string' }, gap: { type: 'string' }, against: { type: 'string' } });
const rounds = numberFlag(flags, 'rounds', 8, { min: 1, integer: true });
const seconds = numberFlag(flags, 'seconds', 1, { min: 0.1 });
const gap = numberFlag(flags, 'gap', 1.2, { min: 0 });
const against = stringFlag(flags, 'against') ?? '7ef5e71';
const BATCHES = [1, 64, 512];
const dir = tempDir('gavel-bench-merkle-append-');
const checkout = new BaselineCheckout(against, join(dir.path, 'baseline'));
const baseline = checkout.path;
const commit = checkout.commit;
watchdog(180 + BATCHES.length * 3 * (rounds + 1) * (seconds + gap), 'bench/merkle-append', () => {
  checkout.remove();
  dir.remove();
});

/** What the three ledgers share: appends and close. */
interface Appender {
  append(record: EntryRecord): Promise<unknown>;
  close(): Promise<void>;
}

checkout.add();
const before = (await import(pathToFileURL(join(baseline, 'src/ledger/sqlite.ts')).href)) as {
  SqliteLedger: new (config: LedgerConfig) => Appender;
};
const beforeConfig = (await import(pathToFileURL(join(baseline, 'src/ledger/config.ts')).href)) as { ledgerConfig: typeof ledgerConfig };

const base = await engineRecord();

/** Appends batches of `batch` for `ms`; appends per second. */
async function window(ledger: Appender, batch: number, ms: number): Promise<number> {
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

const NAMES = [`before the tree (${commit})`, 'tree switched off (this checkout)', 'with the tree (this checkout)'] as const;

function open(which: number, batch: number): Appender {
  const path = join(dir.path, `ledger-${which}-${batch}.db`);
  if (which === 0) return new before.SqliteLedger(beforeConfig.ledgerConfig(path, { durability: 'normal', maxBatch: batch }));
  const ledger = new SqliteLedger(ledgerConfig(path, { durability: 'normal', maxBatch: batch }));
  if (which === 1) {
    // The tree's append made a no-op: the frontier stays as it is, nothing is hashed or written.
    const store = (ledger as unknown as { tree: { append: (frontier: readonly Hash[]) => Hash[] } }).tree;
    store.append = (frontier) => [...frontier];
  }
  return ledger;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const change = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)}%`;
const rows: string[] = [];
for (const batch of BATCHES) {
  const ledgers = NAMES.map((_, i) => open(i, batch));
  const rates: number[][] = NAMES.map(() => []);
  for (const ledger of ledgers) await window(ledger, batch, seconds * 500);
  for (let round = 0; round < rounds; round++) {
    // Each round starts one ledger further on, so none always follows the same one.
    for (let k = 0; k < ledgers.length; k++) {
      const i = (round + k) % ledgers.length;
      rates[i]!.push(await window(ledgers[i]!, batch, seconds * 1000));
      await sleep(gap * 1000);
    }
  }
  for (const ledger of ledgers) await ledger.close();
  const [old, off, on] = rates.map(median) as [number, number, number];
  rows.push(`| ${batch} | ${int(old)} | ${int(off)} | ${int(on)} | ${change(old, on)} | ${change(off, on)} |`);
  process.stderr.write(`batch ${batch} done\n`);
}
checkout.remove();
dir.remove();
process.stdout.write(
  [
    `Machine: ${machineLine(describeMachine())}. \`npx tsx bench/merkle-append.ts --against ${against} --rounds ${rounds} --seconds ${seconds} --gap ${gap}\`; medians of ${rounds} windows per ledger in one process, taking turns, ${gap} s apart.`,
    '',
    `| entries per commit | ${NAMES.join(' | ')} (appends/s) | with the tree against before it | the tree's own cost |`,
    '|--:|--:|--:|--:|--:|--:|',
    ...rows,
    '',
  ].join('\n'),
);
