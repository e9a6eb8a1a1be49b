/**
 * What one decision's commit writes to the ledger's WAL, B-tree by B-tree (issue 30: "fewer pages
 * per commit"). In-process (`startRuntime`, usage on, evaluation on this thread), on a ledger file
 * that already holds --before decisions (made 32 at a time, so its tables and indexes have grown
 * past a page or two each), then --lone decisions one at a time, each its own commit: the frames
 * each one adds to the WAL are read back from the file and named by `dbstat` (the page's table or
 * index; a page the file gained since the map was read is counted apart: payload overflow, a new leaf,
 * written again by the next decision while it fills). Also the frames per
 * decision of --batched decisions at 32 in flight, where a group commit shares its pages, by B-tree
 * too (named by a map read after them), and the file's bytes per decision after the first --before.
 * Page counts do not depend on the machine's speed or load: they compare across runs and commits.
 * Not part of `npm run bench`; the table goes to stdout for bench/README.
 *
 *   npx tsx bench/commit-pages.ts --before 20000 --lone 20
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
 *   npx tsx bench/commit-pages.ts --root /tmp/before      (another checkout's code, the same measure)
 *   npx tsx bench/commit-pages.ts --workers 2             (evaluation on worker threads, as `gavel serve` does)
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({
  root: { type: 'string' },
  before: { type: 'string' },
  lone: { type: 'string' },
  batched: { type: 'string' },
  workers: { type: 'string' },
});
const root = stringFlag(flags, 'root') ?? ROOT;
const before = numberFlag(flags, 'before', 20_000, { min: 0, integer: true });
const lone = numberFlag(flags, 'lone', 20, { min: 1, integer: true });
const batched = numberFlag(flags, 'batched', 3_000, { min: 0, integer: true });
/** Evaluation workers (0: this thread). With workers, a lone decision is still evaluated here (engine.inlineMaxBytes). */
const workers = numberFlag(flags, 'workers', 0, { min: 0, integer: true });
watchdog(120 + before / 200 + lone + batched / 200, 'bench/commit-pages');

/** A WAL frame: its 24-byte header (the page number first), then the page. */
const FRAME_HEADER = 24;

const { startRuntime } = (await import(pathToFileURL(join(root, 'src/runtime.ts')).href)) as typeof import('../src/runtime.js');
const workload = loadWorkload();
const dir = tempDir('gavel-bench-pages-');
const path = join(dir.path, 'ledger.db');
// The WAL is never copied back or started over while this runs: every frame a commit adds stays where it was written.
const runtime = await startRuntime({
  bundles: BUNDLES,
  ledger: path,
  engine: { workers },
  ledgerOptions: { walCheckpointMs: 1_000_000_000, walLimitBytes: 1_000_000_000_000 },
});
const db = (runtime.parts.ledger as unknown as { db: import('better-sqlite3').Database }).db;
const pageSize = db.pragma('page_size', { simple: true }) as number;

let made = 0;
const decide = (id: string) =>
  runtime.decide({
    policy: '',
    input: { json: Buffer.from(JSON.stringify(workload.inputs[made++ % workload.inputs.length])) },
    requestId: id,
    caller: 'bench',
  });
async function inFlight(n: number, count: number, prefix: string): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await decide(`${prefix}${next++}`);
  };
  await Promise.all(Array.from({ length: n }, lane));
}
const walBytes = () => statSync(`${path}-wal`).size;

try {
  await inFlight(32, before, 'before-');
  // What the file holds per decision: every table and index, payloads included (the WAL's pages counted where they belong).
  const fileBytes = (db.pragma('page_count', { simple: true }) as number) * pageSize;
  // Which table or index owns each page now; a page a commit adds to the file is not in it yet.
  const owner = new Map<number, string>();
  for (const row of db.prepare('SELECT name, pageno FROM dbstat').iterate() as IterableIterator<{ name: string; pageno: number }>)
    owner.set(row.pageno, row.name);
  const pages = new Map<string, number>();
  const fd = openSync(`${path}-wal`, 'r');
  const pageNumber = Buffer.alloc(4);
  for (let k = 0; k < lone; k++) {
    const from = walBytes();
    await decide(`lone-${k}`);
    for (let at = from; at + FRAME_HEADER + pageSize <= walBytes(); at += FRAME_HEADER + pageSize) {
      readSync(fd, pageNumber, 0, 4, at);
      const name = owner.get(pageNumber.readUInt32BE(0)) ?? 'pages the file gained after the map was read (new leaves, payload overflow)';
      pages.set(name, (pages.get(name) ?? 0) + 1);
    }
  }
  closeSync(fd);
  const batchFrom = walBytes();
  await inFlight(32, batched, 'batched-');
  const perBatched = (walBytes() - batchFrom) / (FRAME_HEADER + pageSize) / Math.max(batched, 1);
  // The batched frames by B-tree, named by a map read after them (a page they added is in it by then).
  const after = new Map<number, string>();
  for (const row of db.prepare('SELECT name, pageno FROM dbstat').iterate() as IterableIterator<{ name: string; pageno: number }>)
    after.set(row.pageno, row.name);
  const batchedPages = new Map<string, number>();
  const wal = openSync(`${path}-wal`, 'r');
  for (let at = batchFrom; at + FRAME_HEADER + pageSize <= walBytes(); at += FRAME_HEADER + pageSize) {
    readSync(wal, pageNumber, 0, 4, at);
    const name = after.get(pageNumber.readUInt32BE(0)) ?? 'pages freed since';
    batchedPages.set(name, (batchedPages.get(name) ?? 0) + 1);
  }
  closeSync(wal);

  const total = [...pages.values()].reduce((a, b) => a + b, 0);
  console.log(`| B-tree (table or index) | pages per lone decision |`);
  console.log('|---|--:|');
  for (const [name, n] of [...pages].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) console.log(`| ${name} | ${(n / lone).toFixed(2)} |`);
  console.log(`| **all** | **${(total / lone).toFixed(1)}** (${((total * (pageSize + FRAME_HEADER)) / lone / 1024).toFixed(1)} KB) |`);
  console.log(`\n| B-tree (table or index) | pages per decision at 32 in flight |`);
  console.log('|---|--:|');
  for (const [name, n] of [...batchedPages].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).filter(([, n]) => n / Math.max(batched, 1) >= 0.05))
    console.log(`| ${name} | ${(n / Math.max(batched, 1)).toFixed(2)} |`);
  console.log(
    `| every other B-tree, under 0.05 each | ${([...batchedPages.values()].filter((n) => n / Math.max(batched, 1) < 0.05).reduce((a, b) => a + b, 0) / Math.max(batched, 1)).toFixed(2)} |`,
  );
  console.log(
    `\n${root}: ${lone} lone decisions after ${before} made 32 at a time, page size ${pageSize}; ${batched} more at 32 in flight: ${perBatched.toFixed(1)} pages per decision (${((perBatched * (pageSize + FRAME_HEADER)) / 1024).toFixed(1)} KB). The file after the first ${before}: ${(fileBytes / Math.max(before, 1)).toFixed(0)} bytes per decision. ${new Date().toISOString()}`,
  );
} finally {
  await runtime.stop();
  dir.remove();
}
