/**
 * What moving the ledger's writes off the I/O thread takes off it (issue 30, goal 1): the same
 * decision entries, each with the staged rows a metered decision writes (its request and its
 * reservation, from the embedded usage store), appended --in-flight at a time, by the ledger on this
 * thread (SqliteLedger) and by the ledger's own writer thread (ThreadedLedger), in one process,
 * taking turns for --rounds windows of --seconds each. Per row: appends/s and the CPU this (main)
 * thread spent per append, read from /proc/<pid>/task/<pid>/stat (the writer thread not counted),
 * beside the whole process's.
 *
 *   npx tsx bench/ledger-thread.ts                  # 2 ledgers x 6 rounds x 2 s at 32 in flight
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntryRecord, Ledger } from '../src/engine/ledger.js';
import { ledgerConfig } from '../src/ledger/config.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { ThreadedLedger } from '../src/ledger/threaded.js';
import { usageConfig } from '../src/usage/config.js';
import { SqliteUsageStore } from '../src/usage/sqlite.js';
import Database from 'better-sqlite3';
import { numberFlag, readFlags } from './lib/args.js';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/cpu.js';
import { engineRecord, freshRecord } from './lib/ledger-record.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';

const flags = readFlags({ rounds: { type: 'string' }, seconds: { type: 'string' }, 'in-flight': { type: 'string' } });
const rounds = numberFlag(flags, 'rounds', 6, { min: 1, integer: true });
const seconds = numberFlag(flags, 'seconds', 2, { min: 0.1 });
const inFlight = numberFlag(flags, 'in-flight', 32, { min: 1, integer: true });
const dir = tempDir('gavel-bench-ledger-thread-');
watchdog(60 + rounds * 2 * (seconds + 1) * 2, 'bench/ledger-thread', () => dir.remove());

interface Side {
  name: string;
  ledger: Ledger;
  store: SqliteUsageStore;
  appends: number;
  windowSeconds: number;
  mainCpu: number;
  processCpu: number;
}

const config = (path: string) => ledgerConfig(path, { checkpointEvery: 1000, checkpointSeconds: 1 });

/** A ledger file whose usage tables exist, and the store that stages its rows on a connection of this thread. */
function usageOn(path: string, db?: Database.Database): SqliteUsageStore {
  return new SqliteUsageStore(db ?? new Database(path), usageConfig());
}

async function sides(): Promise<Side[]> {
  const inThreadPath = join(dir.path, 'in-thread.db');
  const inThread = new SqliteLedger(config(inThreadPath));
  const threadedPath = join(dir.path, 'threaded.db');
  // The tables first (a fresh file, before the writer protects them), then the writer thread.
  const threadedStore = usageOn(threadedPath);
  const threaded = await ThreadedLedger.open(config(threadedPath));
  const zero = { appends: 0, windowSeconds: 0, mainCpu: 0, processCpu: 0 };
  return [
    { name: 'ledger on the I/O thread (SqliteLedger)', ledger: inThread, store: usageOn(inThreadPath, inThread.db), ...zero },
    { name: 'ledger on its writer thread (ThreadedLedger)', ledger: threaded, store: threadedStore, ...zero },
  ];
}

/** One decision's entry with its staged request and reservation, as the meter stages them. */
function append(side: Side, base: EntryRecord): Promise<unknown> {
  const record = freshRecord(base);
  const atMs = Date.now();
  const who = { subject: `s${side.appends % 100}`, team: `t${side.appends % 10}`, costCenter: 'cc' };
  const staged = side.store.stage({
    request: { decisionId: record.decisionId, subject: who.subject, tool: '', decision: 'allow', atMs },
    reservation: {
      ...who,
      decisionId: record.decisionId,
      model: 'standard-m',
      tier: 'standard',
      tokens: 300,
      costMicros: 4_500,
      atMs,
      expiresMs: atMs + 60_000,
      maxOutputTokens: 256,
      estimatedInputTokens: 44,
      caller: 'bench',
      askedModel: 'standard-m',
    },
  });
  return side.ledger.append(record, staged);
}

async function window(side: Side, base: EntryRecord): Promise<void> {
  const until = Date.now() + seconds * 1000;
  const main0 = mainThreadCpuSeconds(process.pid) ?? 0;
  const proc0 = cpuSeconds() ?? 0;
  const t0 = performance.now();
  let done = 0;
  const lane = async () => {
    while (Date.now() < until) {
      await append(side, base);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  side.windowSeconds += (performance.now() - t0) / 1000;
  side.mainCpu += (mainThreadCpuSeconds(process.pid) ?? 0) - main0;
  side.processCpu += (cpuSeconds() ?? 0) - proc0;
  side.appends += done;
}

const base = await engineRecord();
const all = await sides();
for (const side of all) await window(side, base); // warm-up, not counted
for (const side of all) Object.assign(side, { appends: 0, windowSeconds: 0, mainCpu: 0, processCpu: 0 });
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 === 0 ? all : [...all].reverse()) {
    await window(side, base);
    await sleep(1000); // the WAL checkpointer copies this window's pages before the other side's starts
  }
}
for (const side of all) await side.ledger.close();
dir.remove();

console.log(`\n${machineLine(describeMachine())}; ${inFlight} in flight, ${rounds} rounds of ${seconds} s each, taking turns\n`);
console.log('| ledger | appends/s | main-thread CPU µs per append | process CPU µs per append |');
console.log('|---|--:|--:|--:|');
for (const s of all) {
  const perAppend = (cpu: number) => ((cpu / s.appends) * 1e6).toFixed(1);
  console.log(`| ${s.name} | ${Math.round(s.appends / s.windowSeconds).toLocaleString('en-US')} | ${perAppend(s.mainCpu)} | ${perAppend(s.processCpu)} |`);
}
