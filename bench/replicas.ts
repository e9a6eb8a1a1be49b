/**
 * Decide with the usage store in the ledger file (SQLite, one replica) beside
 * the shared PostgreSQL store (one replica, then two), on the same machine,
 * workload and run: every configuration is started afresh in each repetition,
 * in turn, each on a fresh database, and driven by ghz (one ghz per replica,
 * the in-flight calls split between them). Metering is on in every row (that is
 * what the store serves); the PostgreSQL server is a throwaway one started here
 * on 127.0.0.1 (test/helpers/postgres.ts), with fsync off, so the rows compare
 * the stores' round trips and locking, not a disk. After each warmup the
 * database is ANALYZEd, as autovacuum does within a minute of a store's start.
 *
 *   npx tsx bench/replicas.ts                          # 3 repetitions of 10 s windows, ~6 minutes
 *   npx tsx bench/replicas.ts --seconds 3 --reps 1     # a quick look
 *   npx tsx bench/replicas.ts --only "one subject"     # the busy-subject rows alone
 *   npx tsx bench/replicas.ts --only approval          # the approval-loop rows alone
 *
 * The approval-loop rows drive the whole human-approval loop as a gateway, an approver and the
 * agent's retry do (a Node gRPC client, not ghz): a transfer that needs approval is asked on one
 * replica, approved on the next and used on the third (with one replica, all on it), each loop a new
 * action; the rate is loops a second and the latency that of the whole loop (three calls).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { FIONA, MANAGER, transfer } from '../test/approvals/helpers.js';
import { clients, jsonInput, unary, type Clients } from '../test/helpers/client.js';
import { verifierKeyOf } from '../test/helpers/ledger-keys.js';
import { startChild, type ChildServer } from '../test/helpers/server.js';
import { freshDatabase, queryAt, startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { findTool, runGhz, type LoadRun } from './lib/go-tools.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload, ghzDecideData } from './lib/workload.js';

const flags = readFlags({
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  reps: { type: 'string' },
  'in-flight': { type: 'string' },
  only: { type: 'string' },
});
const seconds = numberFlag(flags, 'seconds', 10, { min: 1 });
const warmup = numberFlag(flags, 'warmup', 2, { min: 0 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const inFlight = (stringFlag(flags, 'in-flight') ?? '1,32').split(',').map((n) => Number(n));
/** Only the configurations whose name contains this (e.g. "one subject"), for a look at a few rows. */
const only = stringFlag(flags, 'only');

const dir = tempDir('gavel-bench-replicas-');
const running = new Set<ChildServer>();
let db: TestPostgres | undefined;
watchdog(60 * 60, 'bench/replicas', () => {
  for (const s of running) s.child.kill('SIGKILL');
  dir.remove();
});

const ghz = findTool('ghz', 'GHZ');
if (!ghz) throw new Error('ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set GHZ)');
const workload = loadWorkload();
/** Every call by one subject (an agent), which the busy rows seed with an hour of requests. */
const oneSubject = loadWorkload({ subjects: 1 });
const BUSY_AGENT_REQUESTS = 36_000;
// Each call its own request id ({{.UUID}}, ghz's template): one id is one decision (idempotent Decide).
function dataFileOf(name: string, w: typeof workload): string {
  const file = join(dir.path, name);
  writeFileSync(file, ghzDecideData(w, 'bench'));
  return file;
}
const dataFiles = { all: dataFileOf('decide.json', workload), busy: dataFileOf('busy.json', oneSubject) };

interface Config {
  name: string;
  replicas: number;
  store: 'sqlite' | 'postgres';
  /** All calls by one subject that already made 36,000 requests in the last hour (the request history the policy sees). */
  busy?: boolean;
  /** The approval loop (ask, approve, use), spread over the replicas, instead of ghz's Decide. */
  approvals?: boolean;
}

const CONFIGS: Config[] = [
  { name: 'SQLite usage store (ledger file), 1 replica', replicas: 1, store: 'sqlite' },
  { name: 'PostgreSQL usage store, 1 replica', replicas: 1, store: 'postgres' },
  { name: 'PostgreSQL usage store, 2 replicas', replicas: 2, store: 'postgres' },
  {
    name: `PostgreSQL usage store, 1 replica, all calls by one subject that made ${BUSY_AGENT_REQUESTS.toLocaleString('en-US')} requests in the last hour`,
    replicas: 1,
    store: 'postgres',
    busy: true,
  },
  {
    name: `PostgreSQL usage store, 2 replicas, all calls by one subject that made ${BUSY_AGENT_REQUESTS.toLocaleString('en-US')} requests in the last hour`,
    replicas: 2,
    store: 'postgres',
    busy: true,
  },
  { name: 'approval loop, SQLite state (ledger file), 1 replica', replicas: 1, store: 'sqlite', approvals: true },
  { name: 'approval loop, approvals shared in PostgreSQL, 1 replica', replicas: 1, store: 'postgres', approvals: true },
  { name: 'approval loop, approvals shared in PostgreSQL, 3 replicas (ask, approve, use each on another)', replicas: 3, store: 'postgres', approvals: true },
];

/** An hour of one subject's requests, spread evenly (a tenth of them denied), as rows of the shared store. */
async function seedBusySubject(url: string): Promise<void> {
  const subject = oneSubject.inputs[0]?.subject as { id?: unknown } | undefined;
  if (typeof subject?.id !== 'string') throw new Error('workload input without subject');
  const now = Date.now();
  await queryAt(
    url,
    `INSERT INTO gavel_usage_requests (decision_id, subject, tool, decision, at_ms)
     SELECT 'seed-' || g, ${`'${subject.id.replace(/'/g, "''")}'`}, '', CASE WHEN g % 10 = 0 THEN 'deny' ELSE 'allow' END,
       ${now} - (g::bigint * 3600000 / ${BUSY_AGENT_REQUESTS + 1})
     FROM generate_series(1, ${BUSY_AGENT_REQUESTS}) AS g`,
  );
}

let databases = 0;
async function start(c: Config): Promise<{ servers: ChildServer[]; url: string | undefined }> {
  const args = ['--bundles', BUNDLES, '--workers', c.replicas === 1 ? '2' : '1'];
  const url = c.store === 'postgres' ? await freshDatabase(db!, 'bench') : undefined;
  databases++;
  if (url) args.push('--state-store', url);
  const ledgers = Array.from({ length: c.replicas }, (_, i) => join(dir.path, `ledger-${c.store}-${databases}-${i}-${Date.now()}.db`));
  // Each replica trusts the others' ledger keys: their shared rows (approvals, request ids) are honoured.
  const keys = url ? await Promise.all(ledgers.map(verifierKeyOf)) : [];
  const servers = await Promise.all(
    ledgers.map(async (ledger, i) => {
      const peers = keys.filter((_, j) => j !== i).flatMap((k) => ['--peer-key', k]);
      const s = await startChild([...args, ...peers, '--ledger', ledger]);
      running.add(s);
      return s;
    }),
  );
  return { servers, url };
}

/** One window over every replica at once; calls and rates add up, latency is the worse replica's. */
async function measure(servers: ChildServer[], total: number, windowSeconds: number, dataFile: string): Promise<LoadRun> {
  const each = Math.max(1, Math.round(total / servers.length));
  const runs = await Promise.all(
    servers.map((s) => runGhz(ghz!, { address: s.address, call: 'gavel.v1.DecisionService/Decide', dataFile, concurrency: each, seconds: windowSeconds })),
  );
  const sum = (k: 'ok' | 'errors' | 'rps') => runs.reduce((a, r) => a + r[k], 0);
  const worst = (k: 'p50' | 'p90' | 'p99') => Math.max(...runs.map((r) => r[k]));
  const firstError = runs.find((r) => r.firstError)?.firstError;
  return {
    ok: sum('ok'),
    errors: sum('errors'),
    unexpected: 0,
    ...(firstError ? { firstError } : {}),
    seconds: windowSeconds,
    rps: sum('rps'),
    p50: worst('p50'),
    p90: worst('p90'),
    p99: worst('p99'),
  };
}

let loopsStarted = 0;
/**
 * Approval loops for `windowSeconds`, `total` at a time over the replicas: each asks for a transfer
 * that needs approval on one replica, approves it on the next and uses it on the one after.
 */
async function approvalLoops(servers: ChildServer[], total: number, windowSeconds: number): Promise<LoadRun> {
  const cs: Clients[] = servers.map((s) => clients(s.address));
  const times: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const until = Date.now() + windowSeconds * 1000;
  const loop = async () => {
    while (Date.now() < until) {
      const k = loopsStarted++;
      const at = (step: number) => cs[(k + step) % cs.length]!;
      const to = `BENCH-${process.pid}-${k}`;
      // Each loop its own person: the policy's per-subject tool rate limit is not what this measures.
      const subject = { ...FIONA, id: `fiona-${process.pid}-${k}` };
      const t0 = performance.now();
      try {
        const asked = await unary(at(0).decision, 'Decide', jsonInput(transfer(50_000, { to, subject })));
        const id = asked.approval?.approval_id as string | undefined;
        if (asked.decision !== 'DECISION_REQUIRE_APPROVAL' || !id) throw new Error(`asked: ${asked.decision}`);
        await unary(at(1).approval, 'Resolve', { approval_id: id, verdict: 'VERDICT_APPROVE', approver: MANAGER, comment: '' });
        const used = await unary(at(2).decision, 'Decide', jsonInput(transfer(50_000, { to, subject, approvalId: id })));
        if (used.decision !== 'DECISION_ALLOW') throw new Error(`used: ${used.decision}`);
        times.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: total }, loop));
  } finally {
    for (const c of cs) c.close();
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? Number.NaN;
  return {
    ok: times.length,
    errors,
    unexpected: 0,
    ...(firstError ? { firstError } : {}),
    seconds: windowSeconds,
    rps: times.length / windowSeconds,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
  };
}

const results = new Map<string, LoadRun[]>();
try {
  db = await startPostgres();
  for (let rep = 0; rep < reps; rep++) {
    for (const c of CONFIGS.filter((x) => !only || x.name.includes(only))) {
      const { servers, url } = await start(c);
      const dataFile = c.busy ? dataFiles.busy : dataFiles.all;
      try {
        if (c.busy && url) await seedBusySubject(url);
        for (const n of inFlight) {
          const window = (w: number) => (c.approvals ? approvalLoops(servers, n, w) : measure(servers, n, w, dataFile));
          if (warmup > 0) await window(warmup);
          // Statistics as a store that has been running for a minute has them (autovacuum's ANALYZE): a fresh
          // database's planner knows no row counts, and its plans for the usage reads are slower until it does.
          if (url) await queryAt(url, 'ANALYZE');
          const run = await window(seconds);
          const key = `${c.name}\u0000${n}`;
          results.set(key, [...(results.get(key) ?? []), run]);
          process.stderr.write(
            `rep ${rep + 1}: ${c.name}, ${n} in flight: ${run.rps.toFixed(0)}/s p50 ${run.p50.toFixed(2)} ms p99 ${run.p99.toFixed(2)} ms${run.firstError ? ` (first error: ${run.firstError})` : ''}\n`,
          );
        }
      } finally {
        for (const s of servers) {
          running.delete(s);
          await stopProcess(s.child, s.exited);
        }
      }
    }
  }
} finally {
  await db?.close();
}

const lines = [
  `Machine: ${machineLine(describeMachine())}. Median of ${reps} interleaved repetitions of ${seconds} s windows after ${warmup} s of warmup; \`npx tsx bench/replicas.ts\`.`,
  '',
  '| usage store | in flight (total) | decisions/s (approval loops: loops/s) | p50 | p99 | errors |',
  '|---|---|---|---|---|---|',
];
for (const c of CONFIGS.filter((x) => !only || x.name.includes(only))) {
  for (const n of inFlight) {
    const runs = results.get(`${c.name}\u0000${n}`) ?? [];
    const m = (k: 'rps' | 'p50' | 'p99') => median(runs.map((r) => r[k]));
    const errors = runs.reduce((a, r) => a + r.errors, 0);
    const total = c.approvals ? n : c.replicas * Math.max(1, Math.round(n / c.replicas));
    lines.push(`| ${c.name} | ${total} | ${m('rps').toFixed(0)} | ${m('p50').toFixed(2)} ms | ${m('p99').toFixed(2)} ms | ${errors} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
dir.remove();
