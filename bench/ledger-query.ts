// Audit query latency on a large ledger (default 10 million entries).
//
// The rows are synthetic (generated inside SQLite with a recursive CTE, hashes
// are placeholders): this measures the indexes and the query code, not the
// chain. Usage: tsx bench/ledger-query.ts [--entries 10000000] [--keep FILE] [--page-size 4096]
// (--page-size: the file's SQLite page size; the ledger's own files use SQLite's default, 4096).
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { queryEntries, type QueryFilter } from '../src/ledger/query.js';
import { migrate } from '../src/ledger/schema.js';

const INDEXES = [
  'entries_decision_id',
  'entries_subject',
  'entries_team',
  'entries_team_decision',
  'entries_action',
  'entries_decision',
  'entries_revision',
  'entries_time',
  'entries_subject_time',
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

function build(path: string, entries: number): number {
  const started = performance.now();
  const db = new Database(path);
  db.pragma(`page_size = ${pageSize}`);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  migrate(db);
  for (const index of INDEXES) db.exec(`DROP INDEX IF EXISTS ${index}`);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO entries SELECT i, 2, 'decision', printf('d-%012d', i), strftime('%Y-%m-%dT%H:%M:%fZ', (? + i * 250) / 1000.0, 'unixepoch'), ? + i * 250,
      'user-' || (i % 50000), 'user', 'team-' || (i % 200), 'cc-' || (i % 40),
      CASE i % 3 WHEN 0 THEN 'model.invoke' WHEN 1 THEN 'tool.call' ELSE 'data.export' END, 'standard-m',
      CASE WHEN i % 10 = 0 THEN 'deny' WHEN i % 97 = 0 THEN 'require_approval' ELSE 'allow' END, '["allowed"]',
      'ai', 'ai-' || (i / 1000000), 'sha256:x', 'gavel/ai/decision', '', 'bench', printf('%064d', i), printf('%064d', i - 1), printf('%064d', i)
    FROM n`).run(entries, t0, t0);
  migrate(db); // recreate the indexes over the loaded rows
  // The planner needs statistics to pick the most selective index when filters combine;
  // the ledger keeps them current with PRAGMA optimize on open and close.
  db.exec('ANALYZE');
  db.close();
  return (performance.now() - started) / 1000;
}

function time(db: Database.Database, filter: QueryFilter, runs = 20): { p50: number; max: number; rows: number } {
  const samples: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    rows = [...queryEntries(db, filter, new Date('2026-03-01T00:00:00Z'))].length;
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(runs / 2)]!, max: samples[runs - 1]!, rows };
}

const entries = Number(arg('entries', '10000000'));
const pageSize = Number(arg('page-size', '4096'));
const keep = arg('keep', '');
const path = keep || join(tmpdir(), `gavel-query-bench-${process.pid}.db`);
const buildSeconds = existsSync(path) ? 0 : build(path, entries);
const db = new Database(path, { readonly: true });
const count = (db.prepare('SELECT MAX(seq) AS n FROM entries').get() as { n: number }).n;
const cases: Array<[string, QueryFilter]> = [
  ['--subject user-4242 --limit 100', { subject: 'user-4242', limit: 100 }],
  ['--team team-7 --decision deny --limit 100', { team: 'team-7', decision: 'deny', limit: 100 }],
  ['--team team-7 --decision allow --limit 100', { team: 'team-7', decision: 'allow', limit: 100 }],
  ['--subject user-4242 --decision deny (no match: worst case)', { subject: 'user-4242', decision: 'deny', limit: 100 }],
  ['--action tool.call --limit 100', { action: 'tool.call', limit: 100 }],
  ['--decision require_approval --limit 100', { decision: 'require_approval', limit: 100 }],
  ['--since 2026-01-10T00:00:00Z --until 2026-01-10T00:10:00Z', { since: '2026-01-10T00:00:00Z', until: '2026-01-10T00:10:00Z', limit: 10000 }],
  ['--until 2026-01-02T00:00:00Z --limit 100 (time only)', { until: '2026-01-02T00:00:00Z', limit: 100 }],
  ['--since 2026-01-20T00:00:00Z --limit 100 (time only)', { since: '2026-01-20T00:00:00Z', limit: 100 }],
  ['--decision-id d-000004242424', { decisionId: 'd-000004242424' }],
  ['--subject user-4242 --since 2026-01-20T00:00:00Z (timeline window)', { subject: 'user-4242', since: '2026-01-20T00:00:00Z', order: 'asc', limit: 1000 }],
];
console.log(
  `ledger: ${count.toLocaleString()} entries, page size ${db.pragma('page_size', { simple: true })}, ${(statSync(path).size / 2 ** 30).toFixed(2)} GiB${buildSeconds ? `, built in ${buildSeconds.toFixed(0)} s` : ''}`,
);
console.log('| query | rows | p50 ms | max ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, filter] of cases) {
  const r = time(db, filter);
  console.log(`| \`${name}\` | ${r.rows} | ${r.p50.toFixed(2)} | ${r.max.toFixed(2)} |`);
}
db.close();
if (!keep) rmSync(path, { force: true });
