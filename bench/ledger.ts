/**
 * The ledger alone: SqliteLedger on a temp file, fed realistic records (one
 * real record captured from the engine for the main input, given a fresh
 * decision id and salt per append).
 *
 * Batch size is forced by the caller, not guessed: each op issues exactly B
 * appends in one event-loop turn and awaits them all. SqliteLedger writes
 * everything queued in a turn in one transaction (maxBatch is also set to B),
 * so every commit holds exactly B entries. Latency is that of one batch commit.
 *
 * Then verifyLedger over a ledger of --verify-entries entries (default 100k).
 *
 *   npx tsx bench/ledger.ts --seconds 3 --verify-entries 100000
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ledgerConfig, type Durability } from '../src/ledger/config.js';
import { formatVerifierKey, parseVerifierKey } from '../src/ledger/keys.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import type { EntryRecord } from '../src/engine/ledger.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { COMMON_FLAGS, commonOptions, numberFlag, readFlags } from './lib/args.js';
import { CpuWindow } from './lib/cpu.js';
import { closedLoop } from './lib/load.js';
import { watchdog } from './lib/process.js';
import { engineRecord, freshRecord } from './lib/ledger-record.js';
import { tempDir } from './lib/paths.js';
import { cpuFields, fromLoad, report, type Measurement } from './lib/result.js';
import { nowNs } from './lib/stats.js';

const flags = readFlags({ ...COMMON_FLAGS, 'verify-entries': { type: 'string' } });
const options = commonOptions(flags, { seconds: 3, warmup: 1 });
const verifyEntries = numberFlag(flags, 'verify-entries', 100_000, { min: 1, integer: true });
// Five append windows, then building and verifying the big ledger (~8k appends/s, ~40k verified/s on a slow box).
watchdog(120 + 5 * (options.seconds + options.warmupSeconds) * 3 + verifyEntries / 1000, 'bench/ledger');

const base = await engineRecord();
const fresh = (): EntryRecord => freshRecord(base);

function appendBatch(ledger: SqliteLedger, size: number): Promise<unknown> {
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < size; i++) pending.push(ledger.append(fresh()));
  return Promise.all(pending);
}

async function appendRate(durability: Durability, batch: number): Promise<Measurement> {
  const dir = tempDir('gavel-bench-ledger-');
  const ledger = new SqliteLedger(ledgerConfig(join(dir.path, 'ledger.db'), { durability, maxBatch: batch }));
  try {
    const cpu = new CpuWindow([undefined]);
    const result = await closedLoop(
      async () => {
        await appendBatch(ledger, batch);
        return true;
      },
      {
        ...options,
        concurrency: 1,
        onWindow: (edge) => (edge === 'start' ? cpu.start() : undefined),
      },
    );
    const [cores] = cpu.stop();
    // closedLoop counted batches; the report is in appends.
    return fromLoad(
      'ledger',
      `append, durability ${durability}, batch ${batch}`,
      'appends/s',
      { ...result, throughput: result.throughput * batch },
      {
        concurrency: batch,
        ...cpuFields(['process', cores]),
        note: `${Math.round(result.throughput).toLocaleString('en-US')} commits/s; latency is per batch commit`,
      },
    );
  } finally {
    await ledger.close();
    dir.remove();
  }
}

async function verifyRate(entries: number): Promise<Measurement[]> {
  const dir = tempDir('gavel-bench-verify-');
  const path = join(dir.path, 'ledger.db');
  try {
    const ledger = new SqliteLedger(ledgerConfig(path, { durability: 'normal', maxBatch: 512 }));
    const key = parseVerifierKey(formatVerifierKey(ledger.key));
    const built = nowNs();
    for (let done = 0; done < entries; done += 512) await appendBatch(ledger, Math.min(512, entries - done));
    const buildSeconds = (nowNs() - built) / 1e9;
    await ledger.close();
    const bytes = statSync(path).size;
    // Read-only, as `gavel audit verify` opens it.
    const db = new Database(path, { readonly: true, fileMustExist: true });
    const started = nowNs();
    const verdict = verifyLedger(db, { key });
    const seconds = (nowNs() - started) / 1e9;
    db.close();
    if (!verdict.ok) throw new Error(`verify failed on a fresh ledger: ${verdict.failure?.message ?? '?'}`);
    const common = { table: 'verify' as const, seconds, ops: verdict.entries, errors: 0, unexpected: 0 };
    return [
      {
        ...common,
        scenario: `build: ${entries.toLocaleString('en-US')} appends at batch 512`,
        unit: 'appends/s',
        throughput: entries / buildSeconds,
        seconds: buildSeconds,
        note: `${Math.round(bytes / entries)} bytes/entry on disk`,
      },
      {
        ...common,
        scenario: `verifyLedger over ${verdict.entries.toLocaleString('en-US')} entries`,
        unit: 'entries/s',
        throughput: verdict.entries / seconds,
        note: `${seconds.toFixed(2)} s total, ${verdict.checkpointsChecked} signed checkpoints checked`,
      },
    ];
  } finally {
    dir.remove();
  }
}

const measurements: Measurement[] = [];
for (const batch of [1, 64, 512]) measurements.push(await appendRate('normal', batch));
// fsync per commit: batch 64 is the comparison asked for; batch 1 shows what group commit saves.
for (const batch of [1, 64]) measurements.push(await appendRate('full', batch));
measurements.push(...(await verifyRate(verifyEntries)));

report(
  {
    part: 'ledger',
    measurements,
    notes: [`record payload: ${(base.payloadJcs ?? JSON.stringify(base.payload)).length} bytes of canonical JSON (the engine's record for the main input)`],
  },
  options.out,
);
