/**
 * What a pause costs the next piece of work on this machine: the same small steps of a decision
 * timed back to back, after the thread slept 1 ms (a lone caller's gap: the thread blocks, as the
 * event loop does between calls), and after 1 ms of busy waiting (the thread never gave its CPU up).
 * A lone decision is the first case at every step; under load, the second. Not part of
 * `npm run bench`; the table goes to stdout for bench/README.
 *
 *   npx tsx bench/cold.ts --calls 2000
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ENGINE_DEFAULTS } from '../src/engine/config.js';
import { parseInputJson } from '../src/engine/input.js';
import { type ChainHeader, HEADER_VERSION, recordColumns } from '../src/ledger/header.js';
import { canonicalPayload, entryHashes, headerText, payloadHash } from '../src/ledger/hash.js';
import { canonicalJson } from '../src/lib/canonical.js';
import { numberFlag, readFlags } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { loadFloorPolicy } from './lib/floor-policy.js';
import { engineRecord } from './lib/ledger-record.js';
import { tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { median } from './lib/service-table.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ calls: { type: 'string' } });
const calls = numberFlag(flags, 'calls', 2000, { min: 100, integer: true });
watchdog(60 + (calls * 3 * 6 * 2) / 1000, 'bench/cold');

const workload = loadWorkload();
const policy = await loadFloorPolicy();

const dir = tempDir('gavel-bench-cold-');
const db = new Database(join(dir.path, 'cold.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');

// The header of the record the engine makes for the workload's main input, as the ledger chains it.
const record = await engineRecord();
const header: ChainHeader = {
  v: HEADER_VERSION,
  ...recordColumns(record),
  payload_hash: payloadHash(record.salt, record.payloadJcs ?? canonicalPayload(record.payload!)),
  seq: 1,
  prev_hash: 'ef'.repeat(32),
};

/** Each step as a decision runs it, on the bench workload's inputs. */
const STEPS: Array<[string, (i: number) => unknown]> = [
  ['parse and bound an input (parseInputJson)', (i) => parseInputJson(workload.json[i % workload.json.length]!, ENGINE_DEFAULTS)],
  ['evaluate the ai policy (opa-wasm)', (i) => policy.evaluate(workload.inputs[i % workload.inputs.length], workload.entrypoint)],
  ['canonical JSON of an input (RFC 8785)', (i) => canonicalJson(workload.inputs[i % workload.inputs.length])],
  ['header text and its two SHA-256', (i) => entryHashes({ ...header, seq: i }, headerText({ ...header, seq: i }))],
  [
    'SQLite: BEGIN, one INSERT, COMMIT (WAL)',
    (i) => {
      begin.run();
      insert.run(`row ${i}`);
      commit.run();
    },
  ],
];

const PAUSES: Array<[string, () => Promise<void> | void]> = [
  ['back to back', () => undefined],
  ['after a 1 ms sleep', () => new Promise((resolve) => setTimeout(resolve, 1))],
  [
    'after 1 ms of busy waiting',
    () => {
      const until = performance.now() + 1;
      while (performance.now() < until);
    },
  ],
];

const rows: string[] = [];
try {
  for (const [step, run] of STEPS) {
    for (let i = 0; i < 200; i++) run(i);
    const medians: number[] = [];
    for (const [, pause] of PAUSES) {
      const times: number[] = [];
      for (let i = 0; i < calls; i++) {
        await pause();
        const started = performance.now();
        run(i);
        times.push((performance.now() - started) * 1000);
      }
      medians.push(median(times));
    }
    rows.push(`| ${step} | ${medians.map((m) => m.toFixed(1)).join(' | ')} | ${(medians[1]! / medians[0]!).toFixed(1)}x |`);
  }
} finally {
  db.close();
  dir.remove();
}

console.log(`Machine: ${machineLine(describeMachine())}. Median of ${calls} calls each; \`npx tsx bench/cold.ts --calls ${calls}\`.\n`);
console.log(`| step | ${PAUSES.map(([p]) => `${p}, µs`).join(' | ')} | after a sleep / back to back |`);
console.log(`|---|${PAUSES.map(() => '--:').join('|')}|--:|`);
for (const row of rows) console.log(row);
