/**
 * A child process for test/ledger/wal-crash.test.ts: a ledger on FILE with a tiny WAL limit and a
 * checkpointer round every 2 ms, so the WAL starts over (a RESTART) many times a second; eight loops
 * append until the process is killed, and each append's seq and entry hash is printed once its
 * COMMIT returned: what a client would have been answered.
 */
import { ledgerConfig } from '../../../src/ledger/config.js';
import { SqliteLedger } from '../../../src/ledger/sqlite.js';
import { sampleRecord } from '../fixtures.js';

const [file, round] = process.argv.slice(2) as [string, string];
const ledger = new SqliteLedger(ledgerConfig(file, { maxBatch: 8, walCheckpointMs: 2, walLimitBytes: 32 * 1024 }));
process.stdout.write('ready\n');
let n = 0;
const loop = async (w: number) => {
  for (;;) {
    const id = `r${round}-w${w}-${n++}`;
    const receipt = await ledger.append(sampleRecord({ decisionId: id }));
    process.stdout.write(`${id} ${receipt.seq} ${receipt.entryHash}\n`);
  }
};
await Promise.all(Array.from({ length: 8 }, (_, w) => loop(w)));
