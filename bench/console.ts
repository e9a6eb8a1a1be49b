/**
 * The console on a large ledger, and its effect on Decide.
 *
 * 1. Pages of a 1,000,000-entry ledger (synthetic rows generated in SQLite: this measures the
 *    indexes, the keyset paging and the page code, not the chain), served by `gavel console`'s
 *    read-only view in this process: time to first byte and full load (body read) of the decisions
 *    page, of later pages by cursor, and of filtered queries; p50 and p95 over `--runs` requests each.
 * 2. Decide throughput and p99 against one `gavel serve` child with its console on, closed loops at
 *    8 in flight, with nobody on the console and with someone paging through decisions as fast as the
 *    pages come (a pessimistic auditor), interleaved round by round (the machine drifts).
 *
 *   npx tsx bench/console.ts [--entries 1000000] [--runs 50] [--seconds 5] [--rounds 3]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { ensureLedgerId } from '../src/ledger/meta.js';
import { migrate } from '../src/ledger/schema.js';
import { openLedgerFileView } from '../src/runtime/ledger-view.js';
import { mintLoginToken } from '../src/transport/console/login-link.js';
import { startConsole } from '../src/transport/console/server.js';
import { AccessPolicy } from '../src/transport/security/access-policy.js';
import { gavelServices } from '../src/transport/proto.js';
import { runCli, servingLine, startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags } from './lib/args.js';
import { closedLoop, type LoopResult } from './lib/closed-loop.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';

const flags = readFlags({ entries: { type: 'string' }, runs: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } });
const entries = numberFlag(flags, 'entries', 1_000_000, { min: 1000, integer: true });
const runs = numberFlag(flags, 'runs', 50, { min: 5, integer: true });
const seconds = numberFlag(flags, 'seconds', 5, { min: 0.5 });
const rounds = numberFlag(flags, 'rounds', 3, { min: 1, integer: true });
const dir = tempDir('gavel-bench-console-');

/** Synthetic entries (with payloads for the detail page): one a quarter second apart, 50,000 subjects, 200 teams. */
function build(path: string, n: number): number {
  const started = performance.now();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  migrate(db);
  ensureLedgerId(db);
  const t0 = Date.now() - n * 250;
  db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO entries(seq, v, kind, decision_id, time, time_ms, subject_id, subject_type, team, cost_center, action_type, resource, decision,
      reason_codes, bundle, revision, digest, entrypoint, request_id, caller, payload_hash, prev_hash, entry_hash)
    SELECT i, 2, 'decision', printf('d-%012d', i), strftime('%Y-%m-%dT%H:%M:%fZ', (? + i * 250) / 1000.0, 'unixepoch'), ? + i * 250,
      'user-' || (i % 50000), 'user', 'team-' || (i % 200), 'cc-' || (i % 40),
      CASE i % 3 WHEN 0 THEN 'model.invoke' WHEN 1 THEN 'tool.call' ELSE 'data.export' END, CASE i % 5 WHEN 0 THEN 'frontier-xl' ELSE 'standard-m' END,
      CASE WHEN i % 10 = 0 THEN 'deny' WHEN i % 97 = 0 THEN 'require_approval' ELSE 'allow' END,
      CASE WHEN i % 10 = 0 THEN '["model_not_permitted"]' WHEN i % 97 = 0 THEN '["approval_required"]' ELSE '["allowed"]' END,
      'ai', 'ai-' || (i / 250000), 'sha256:x', 'gavel/ai/decision', '', 'gw-' || (i % 4), printf('%064d', i), printf('%064d', i - 1), printf('%064d', i)
    FROM n`).run(n, t0, t0);
  db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO payloads(seq, salt, body) SELECT i, zeroblob(16),
      '{"input":{"subject":{"id":"user-' || (i % 50000) || '"},"action":{"type":"model.invoke"}},"result":{"decision":"allow","reasons":[{"code":"allowed","rule":"ai.main","effect":"allow"}],"redactions":[],"obligations":{}}}'
    FROM n`).run(n);
  db.exec('ANALYZE');
  db.close();
  return (performance.now() - started) / 1000;
}

interface Timing {
  ttfbP50: number;
  ttfbP95: number;
  fullP50: number;
  fullP95: number;
  bytes: number;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function timed(url: string, cookie: string, paths: (i: number) => string): Promise<Timing> {
  const ttfb: number[] = [];
  const full: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(`${url}${paths(i)}`, { headers: { cookie } });
    ttfb.push(performance.now() - t);
    const body = await res.text();
    full.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${paths(i)}: HTTP ${res.status}: ${body.slice(0, 300)}`);
    bytes = body.length;
  }
  return { ttfbP50: pct(ttfb, 0.5), ttfbP95: pct(ttfb, 0.95), fullP50: pct(full, 0.5), fullP95: pct(full, 0.95), bytes };
}

async function signIn(url: string, secret: Uint8Array): Promise<string> {
  const token = await mintLoginToken(secret, 'bench', 300);
  const res = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
  return `gavel_session=${/gavel_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]}`;
}

// ---- 1. pages of a large ledger
const ledger = join(dir.path, 'big.db');
const buildSeconds = build(ledger, entries);
const view = openLedgerFileView(ledger);
const secret = new Uint8Array(32).fill(3);
const web = await startConsole(
  { ledgers: [view], readOnly: true },
  { listen: '127.0.0.1:0', secret, access: AccessPolicy.everyone(), dev: true, log: pino({ level: 'silent' }) },
);
const cookie = await signIn(web.url, secret);
// Cursors to walk: the first 20 pages' next links, followed as a person would.
const cursors: string[] = [];
let next: string | undefined = '/decisions';
for (let i = 0; i < 20 && next; i++) {
  const body = await (await fetch(`${web.url}${next}`, { headers: { cookie } })).text();
  next = /href="(\/decisions\?[^"]*)" rel="next"/.exec(body)?.[1]?.replace(/&amp;/g, '&');
  if (next) cursors.push(next);
}
const deep = `0:${Math.floor(entries / 2)}:0`;
const pages: Array<[string, (i: number) => string]> = [
  ['decisions, first page', () => '/decisions'],
  ['decisions, pages 2-21 by cursor', (i) => cursors[i % cursors.length]!],
  ['decisions, a page in the middle (cursor at seq n/2)', () => `/decisions?cursor=${deep}`],
  ['filter: one subject', (i) => `/decisions?subject=user-${(i * 7919) % 50000}`],
  ['filter: team + outcome deny', (i) => `/decisions?team=team-${i % 200}&decision=deny`],
  ['filter: reason code model_not_permitted', () => '/decisions?reason=model_not_permitted'],
  ['filter: last 24h', () => '/decisions?since=24h'],
  ['filter: model + cost center', (i) => `/decisions?resource=frontier-xl&cost_center=cc-${i % 40}`],
  ['filter: policy revision (oldest)', () => '/decisions?revision=ai-0'],
  ['entry detail', (i) => `/entries/d-${String(1 + ((i * 104729) % entries)).padStart(12, '0')}`],
];
const pageRows: Array<[string, Timing]> = [];
for (const [name, path] of pages) pageRows.push([name, await timed(web.url, cookie, path)]);
await web.close();
view.close();

// ---- 2. Decide with and without someone paging
const live = join(dir.path, 'live.db');
const srv = await startChild(['--ledger', live, '--console-listen', '127.0.0.1:0']);
const liveUrl = servingLine<{ console: string }>(srv).console;
const login = await runCli(['console', 'login', '--identity', 'bench', '--ledger', live, '--url', liveUrl]);
const liveCookie = await (async () => {
  const token = new URL(login.stdout.trim()).searchParams.get('token')!;
  const res = await fetch(`${liveUrl}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
  return `gavel_session=${/gavel_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]}`;
})();
const client = new (gavelServices().DecisionService)(srv.address, grpc.credentials.createInsecure());
const md = new grpc.Metadata();
md.set('x-gavel-caller', 'bench');
const input = (n: number) =>
  Buffer.from(
    JSON.stringify({
      subject: { id: `u-${n % 256}`, type: 'user', roles: ['employee'], team: `t-${n % 16}`, cost_center: 'cc-100' },
      action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 64 } },
      content: { prompt: 'Summarise this' },
    }),
  );
const decide = (n: number) =>
  new Promise((resolve, reject) =>
    (client as unknown as Record<string, Function>).Decide!({ input_json: input(n) }, md, (err: Error | null, res: unknown) =>
      err ? reject(err) : resolve(res),
    ),
  );
// Fill the ledger a little so pages have something to page through.
await closedLoop(decide, 8, 2);
let paging = false;
let pagesServed = 0;
const pager = async () => {
  let path: string | undefined = '/decisions';
  while (paging) {
    const body = await (await fetch(`${liveUrl}${path}`, { headers: { cookie: liveCookie } })).text();
    pagesServed++;
    path =
      /href="(\/decisions\?[^"]*)" rel="next"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ??
      (pagesServed % 3 === 0 ? '/decisions?decision=allow&team=t-3' : '/decisions');
  }
};
const alone: LoopResult[] = [];
const withPager: LoopResult[] = [];
for (let r = 0; r < rounds; r++) {
  alone.push(await closedLoop(decide, 8, seconds));
  paging = true;
  const p = pager();
  withPager.push(await closedLoop(decide, 8, seconds));
  paging = false;
  await p;
}
const pagesPerSecond = pagesServed / (rounds * seconds);
client.close();
srv.child.kill('SIGTERM');
await srv.exited;
dir.remove();

// ---- report
const median = (xs: number[]) => pct(xs, 0.5);
const f = (n: number) => n.toFixed(1);
const machine = describeMachine();
const lines = [
  `Console on a ${entries.toLocaleString('en')}-entry ledger (built in ${buildSeconds.toFixed(0)} s), ${runs} requests per row, this process as the browser; ${machineLine(machine)}`,
  '',
  '| page | TTFB p50 (ms) | TTFB p95 (ms) | full load p50 (ms) | full load p95 (ms) | bytes |',
  '|---|---:|---:|---:|---:|---:|',
  ...pageRows.map(([name, t]) => `| ${name} | ${f(t.ttfbP50)} | ${f(t.ttfbP95)} | ${f(t.fullP50)} | ${f(t.fullP95)} | ${t.bytes.toLocaleString('en')} |`),
  '',
  `Decide against gavel serve with its console on (8 in flight, ${rounds} rounds of ${seconds} s, interleaved; medians of the rounds):`,
  '',
  '| run | decisions/s | p50 (ms) | p99 (ms) |',
  '|---|---:|---:|---:|',
  `| nobody on the console | ${median(alone.map((r) => r.perSecond)).toFixed(0)} | ${f(median(alone.map((r) => r.p50)))} | ${f(median(alone.map((r) => r.p99)))} |`,
  `| someone paging decisions as fast as pages come (${pagesPerSecond.toFixed(0)} pages/s) | ${median(withPager.map((r) => r.perSecond)).toFixed(0)} | ${f(median(withPager.map((r) => r.p50)))} | ${f(median(withPager.map((r) => r.p99)))} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
