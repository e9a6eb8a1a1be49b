/**
 * Replay on a 100k-decision ledger: how fast `gavel replay` re-evaluates
 * recorded decisions, on this thread (the default, one core) and on 1 and 2
 * worker threads, with the bundle that recorded them and with a changed
 * candidate. Baselines in the same run, on the same file: reading the rows
 * and parsing their payloads without evaluating (the floor replay cannot go
 * under), and `verifyLedger` (which reads the same rows).
 *
 * The ledger: the engine (metering on) decides the 1,024 workload inputs
 * once; their records are appended 100k times over with fresh ids and salts,
 * as bench/ledger.ts builds its ledger, so every entry is a real record and
 * the chain verifies.
 *
 *   npx tsx bench/replay.ts --entries 100000
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseBundle } from '../src/bundles/bundle.js';
import { ENGINE_DEFAULTS } from '../src/engine/config.js';
import type { EntryRecord, Receipt } from '../src/engine/ledger.js';
import { replay } from '../src/engine/replay/replayer.js';
import { ledgerConfig } from '../src/ledger/config.js';
import { formatVerifierKey, parseVerifierKey } from '../src/ledger/keys.js';
import { LedgerRecordedDecisions } from '../src/ledger/recorded-decisions.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { numberFlag, readFlags } from './lib/args.js';
import { buildBaselineCore } from './lib/baseline-core.js';
import { cpuSeconds } from './lib/cpu.js';
import { NullLedger } from './lib/null-ledger.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { int, report, type PartResult } from './lib/result.js';
import { nowNs } from './lib/stats.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({
  entries: { type: 'string' },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  concurrency: { type: 'string' },
  out: { type: 'string' },
});
const entries = numberFlag(flags, 'entries', 100_000, { min: 1, integer: true });
const out = typeof flags.out === 'string' ? flags.out : undefined;
const LIMITS = { memoryInitialPages: ENGINE_DEFAULTS.memoryInitialPages, memoryMaxPages: ENGINE_DEFAULTS.memoryMaxPages };

class CaptureLedger extends NullLedger {
  readonly all: EntryRecord[] = [];
  override append(record: EntryRecord): Promise<Receipt> {
    this.all.push(record);
    return super.append(record);
  }
}

const dir = tempDir('gavel-bench-replay-');
const path = join(dir.path, 'ledger.db');

// Records of the workload, decided by the engine with metering on (context: now, usage, estimate, history).
const workload = loadWorkload();
const capture = new CaptureLedger();
const baseline = buildBaselineCore(BUNDLES, join(dir.path, 'usage.db'), capture);
const engine = baseline.engine;
for (const input of workload.json) await engine.decide({ policy: '', input: { json: input }, requestId: '', caller: 'bench' });
await engine.close();
baseline.close();
if (capture.all.length !== workload.json.length) throw new Error(`captured ${capture.all.length} records of ${workload.json.length}`);

const ledger = new SqliteLedger(ledgerConfig(path, { durability: 'normal', maxBatch: 512 }));
const key = parseVerifierKey(formatVerifierKey(ledger.key));
const built = nowNs();
for (let done = 0; done < entries; done += 512) {
  const batch: Promise<unknown>[] = [];
  for (let i = done; i < Math.min(entries, done + 512); i++) {
    const r = capture.all[i % capture.all.length]!;
    batch.push(ledger.append({ ...r, decisionId: randomUUID(), salt: randomBytes(16) }));
  }
  await Promise.all(batch);
}
const buildSeconds = (nowNs() - built) / 1e9;
await ledger.close();

const live = readFileSync(join(BUNDLES, 'ai.tar.gz'));
const keyword = readFileSync(join(ROOT, 'test/fixtures/bundles/candidates/keyword-deny.tar.gz'));

interface Row {
  scenario: string;
  decisions: number;
  seconds: number;
  cores: number;
  note: string;
}

async function timed(scenario: string, body: (db: Database.Database) => Promise<{ decisions: number; note: string }>): Promise<Row> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const cpu0 = cpuSeconds(process.pid) ?? 0;
    const t0 = nowNs();
    const r = await body(db);
    const seconds = (nowNs() - t0) / 1e9;
    const cpu = (cpuSeconds(process.pid) ?? 0) - cpu0;
    return { scenario, decisions: r.decisions, seconds, cores: cpu / seconds, note: r.note };
  } finally {
    db.close();
  }
}

const rows: Row[] = [];
rows.push(
  await timed('read rows and parse payloads, no evaluation (floor)', async (db) => {
    let n = 0;
    for (const r of new LedgerRecordedDecisions(db).read({})) {
      if (r.payload) JSON.parse(r.payload);
      n++;
    }
    return { decisions: n, note: '' };
  }),
);
rows.push(
  await timed('verifyLedger over the same file (reads every entry and payload)', async (db) => {
    const v = verifyLedger(db, { key });
    if (!v.ok) throw new Error(`verify failed: ${v.failure?.message}`);
    return { decisions: v.entries, note: 'entries/s, not decisions' };
  }),
);
for (const [label, archive] of [
  ['the bundle that recorded them', live],
  ['a candidate with one more rule (keyword deny)', keyword],
] as const) {
  for (const workers of [0, 1, 2]) {
    rows.push(
      await timed(`replay, ${label}, ${workers === 0 ? 'this thread (default)' : `--workers ${workers}`}`, async (db) => {
        const run = await replay(new LedgerRecordedDecisions(db), { candidate: parseBundle('ai', archive), filter: {}, workers, limits: LIMITS });
        return { decisions: run.replayed + run.skipped, note: `changed ${run.changed}, unchanged ${run.unchanged}, approximate ${run.approximate}` };
      }),
    );
  }
}

const markdown = [
  `### Replay (${int(entries)}-decision ledger, built at ${int(entries / buildSeconds)} appends/s)`,
  '',
  '| scenario | decisions/s | seconds | cores used | note |',
  '|---|--:|--:|--:|---|',
  ...rows.map((r) => `| ${r.scenario} | **${int(r.decisions / r.seconds)}** | ${r.seconds.toFixed(2)} | ${r.cores.toFixed(2)} | ${r.note} |`),
];
process.stdout.write(`${markdown.join('\n')}\n`);
const result: PartResult = { part: 'replay', measurements: [], notes: [], markdown };
if (out) report(result, out);
dir.remove();
process.exit(0);
