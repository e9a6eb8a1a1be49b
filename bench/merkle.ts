/**
 * What the Merkle tree costs and gives (issue 31), in one run on this machine:
 *
 * 1. The ledger with the tree against the ledger before it, side by side: `bench/ledger.ts` of this
 *    checkout and of `--against` (default a299804^, the last commit without the tree), built in a
 *    git worktree, interleaved over --reps. Appends at 1, 64 and 512 entries per commit (durability
 *    normal), `audit verify` throughput over --verify-entries entries (read-only, one core), bytes
 *    per entry on disk.
 * 2. Proofs on a large tree: --tree-entries leaves (default 10 million) appended to a tree in a
 *    SQLite file as the ledger stores it (merkle-store.ts), then inclusion proofs of random leaves
 *    against the whole tree and consistency proofs between random sizes, in-process: p50, p99, max.
 *
 *   npx tsx bench/merkle.ts                                   # ~15 minutes
 *   npx tsx bench/merkle.ts --reps 1 --tree-entries 1000000   # a quick look
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { leafHash, verifyConsistency, verifyInclusion, type Hash } from '../src/ledger/merkle.js';
import { MERKLE_DDL, MerkleStore } from '../src/ledger/merkle-store.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { ROOT, tempDir } from './lib/paths.js';
import { BaselineCheckout } from './lib/worktree.js';
import { watchdog } from './lib/process.js';
import type { PartResult } from './lib/result.js';
import { median } from './lib/service-table.js';
import { nowNs } from './lib/stats.js';

const flags = readFlags({
  against: { type: 'string' },
  reps: { type: 'string' },
  seconds: { type: 'string' },
  'verify-entries': { type: 'string' },
  'tree-entries': { type: 'string' },
  proofs: { type: 'string' },
});
const against = stringFlag(flags, 'against') ?? 'a299804^';
const reps = numberFlag(flags, 'reps', 2, { min: 1, integer: true });
const seconds = numberFlag(flags, 'seconds', 3, { min: 1 });
const verifyEntries = numberFlag(flags, 'verify-entries', 200_000, { min: 1, integer: true });
const treeEntries = numberFlag(flags, 'tree-entries', 10_000_000, { min: 2, integer: true });
const proofs = numberFlag(flags, 'proofs', 10_000, { min: 1, integer: true });

const dir = tempDir('gavel-bench-merkle-');
const checkout = new BaselineCheckout(against, join(dir.path, 'baseline'));
const baseline = checkout.path;
const commit = checkout.commit;
watchdog(90 * 60, 'bench/merkle', () => {
  checkout.remove();
  dir.remove();
});
checkout.add();

// 1. The ledger bench of both checkouts, interleaved.
const runs = new Map<string, PartResult[]>();
for (let rep = 0; rep < reps; rep++) {
  for (const [name, root] of [
    [`before the tree (${commit})`, baseline],
    ['with the tree (this checkout)', ROOT],
  ] as const) {
    const out = join(dir.path, `ledger-${rep}-${runs.size}.json`);
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'bench/ledger.ts', '--seconds', String(seconds), '--verify-entries', String(verifyEntries), '--out', out],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    runs.set(name, [...(runs.get(name) ?? []), JSON.parse(readFileSync(out, 'utf8')) as PartResult]);
    process.stderr.write(`rep ${rep + 1}: ${name} done\n`);
  }
}
checkout.remove();

const lines = [
  `Machine: ${machineLine(describeMachine())}. \`npx tsx bench/merkle.ts --reps ${reps} --seconds ${seconds} --verify-entries ${verifyEntries} --tree-entries ${treeEntries}\`; medians of ${reps} interleaved runs of bench/ledger.ts in each checkout.`,
  '',
  `| ledger | ${[...runs.keys()].join(' | ')} | change |`,
  '|---|--:|--:|--:|',
];
const scenarios = runs
  .values()
  .next()
  .value!.at(0)!
  .measurements.map((m) => m.scenario);
for (const scenario of scenarios) {
  if (scenario.includes('durability full')) continue;
  const values = [...runs.values()].map((results) => median(results.map((r) => r.measurements.find((m) => m.scenario === scenario)!.throughput)));
  const unit = runs
    .values()
    .next()
    .value![0]!.measurements.find((m) => m.scenario === scenario)!.unit;
  lines.push(
    `| ${scenario} (${unit}) | ${values.map((v) => Math.round(v).toLocaleString('en-US')).join(' | ')} | ${(((values[1]! - values[0]!) / values[0]!) * 100).toFixed(1)}% |`,
  );
}
const bytesPerEntry = [...runs.values()].map((results) => {
  const note = results[0]!.measurements.find((m) => m.scenario.startsWith('build:'))?.note ?? '';
  return Number(/(\d+) bytes\/entry/.exec(note)?.[1] ?? Number.NaN);
});
lines.push(`| bytes per entry on disk | ${bytesPerEntry.join(' | ')} | ${(((bytesPerEntry[1]! - bytesPerEntry[0]!) / bytesPerEntry[0]!) * 100).toFixed(1)}% |`);

// 2. Proofs on a large tree.
const db = new Database(join(dir.path, 'tree.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(MERKLE_DDL);
// Leaves are not stored (merkle-store.ts): a proof reads its leaf's entry row and hashes its header.
// Rows of a header's size stand in for the entries here.
db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, header TEXT NOT NULL)');
const headerOf = (i: number) => `{"seq":${i + 1},"decision_id":"${randomUUID()}"${',"x":"header field"'.repeat(20)}}`;
const entryRow = db.prepare<[number], string>('SELECT header FROM entries WHERE seq = ?').pluck();
const tree = new MerkleStore(db, { count: () => treeEntries, leaf: (i) => leafHash(Buffer.from(entryRow.get(i + 1)!, 'utf8')) });
const insertEntry = db.prepare<[number, string]>('INSERT INTO entries(seq, header) VALUES (?, ?)');
const built = nowNs();
let frontier: Hash[] = [];
for (let start = 0; start < treeEntries; start += 100_000) {
  db.transaction(() => {
    for (let i = start; i < Math.min(start + 100_000, treeEntries); i++) {
      const header = headerOf(i);
      insertEntry.run(i + 1, header);
      frontier = tree.append(frontier, i, leafHash(Buffer.from(header, 'utf8')));
    }
  })();
}
const buildSeconds = (nowNs() - built) / 1e9;
db.pragma('wal_checkpoint(TRUNCATE)');
const treeBytes = (db.prepare("SELECT SUM(pgsize) FROM dbstat WHERE name = 'merkle_hashes'").pluck().get() as number) ?? 0;
const root = tree.root(treeEntries);

function timed(label: string, one: (i: number) => boolean): string {
  const samples: number[] = [];
  for (let k = 0; k < proofs; k++) {
    const t = nowNs();
    const ok = one(k);
    samples.push((nowNs() - t) / 1e6);
    if (!ok) throw new Error(`${label}: a proof did not verify`);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(3);
  return `| ${label} | ${proofs.toLocaleString('en-US')} | ${at(0.5)} | ${at(0.99)} | ${samples.at(-1)!.toFixed(3)} |`;
}
const random = (n: number) => Math.floor(Math.random() * n);
lines.push(
  '',
  `A tree of ${treeEntries.toLocaleString('en-US')} leaves, built in ${buildSeconds.toFixed(0)} s (${Math.round(treeEntries / buildSeconds).toLocaleString('en-US')} leaves/s, with a stand-in entry row each), ${Math.round(treeBytes / treeEntries)} bytes of tree per leaf in its SQLite file; each proof made from the file (the leaf's entry row read and its header hashed), then verified (the time is both):`,
  '',
  '| proof | count | p50 ms | p99 ms | max ms |',
  '|---|--:|--:|--:|--:|',
  timed('inclusion of a random leaf in the whole tree', () => {
    const i = random(treeEntries);
    return verifyInclusion(i, treeEntries, leafHash(Buffer.from(entryRow.get(i + 1)!, 'utf8')), tree.inclusion(i, treeEntries), root);
  }),
  timed('consistency between two random sizes', () => {
    const a = 1 + random(treeEntries - 1);
    const b = a + 1 + random(treeEntries - a);
    return verifyConsistency(a, b, tree.root(a), tree.root(b), tree.consistency(a, b));
  }),
);
db.close();
dir.remove();
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
