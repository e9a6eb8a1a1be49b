import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { startRuntime } from '../../src/runtime.js';
import { eventually } from '../helpers/health.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, decideVia, echoInput, sampleRecord, walGeneration } from './fixtures.js';

/** COMMITs never checkpoint the WAL themselves; a background thread moves it into the database file. */
it('the writer never auto-checkpoints, and the WAL still reaches the database file within seconds', async () => {
  const file = join(tempDir(), 'ledger.db');
  const core = await startRuntime(coreOptions(file, { ledgerOptions: { walCheckpointMs: 200 } }));
  try {
    expect(core.parts.ledger.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(file).size;
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 100 }, (_, j) => decideVia(core, echoInput({ subject: `w-${i}-${j}` }))));
    expect(await eventually(() => statSync(file).size > before + 100_000, 5000)).toBe(true);
    expect((await core.parts.ledger.verify()).ok).toBe(true);
  } finally {
    await core.stop();
  }
});

/**
 * Under steady appends a PASSIVE checkpoint never copies every frame (a commit lands while it runs),
 * so without the RESTART the WAL never started over and grew by every commit's pages for as long as
 * the load lasted (bench/README: 1.9 GB after 40 s of a served load).
 */
it('under steady appends the WAL starts over again and again, and once quiet the file is cut back to the limit', async () => {
  const file = join(tempDir(), 'ledger.db');
  const wal = `${file}-wal`;
  const limit = 1024 * 1024;
  const ledger = new SqliteLedger(ledgerConfig(file, { maxBatch: 1, walCheckpointMs: 20, walLimitBytes: limit }));
  try {
    await ledger.append(sampleRecord({ decisionId: 'first' }));
    const generations = new Set([walGeneration(wal)]);
    let largest = 0;
    const started = Date.now();
    // The appends never pause for more than a turn of the event loop.
    for (let n = 0; n < 2000 || Date.now() - started < 1500; n++) {
      await ledger.append(sampleRecord({ decisionId: `steady-${n}` }));
      if (n % 10 === 0) {
        generations.add(walGeneration(wal));
        largest = Math.max(largest, statSync(wal).size);
      }
    }
    expect(generations.size).toBeGreaterThanOrEqual(3);
    expect(largest).toBeGreaterThan(limit);
    // Quiet: the next round copies the rest and restarts; the next COMMIT writes from the WAL's start and trims the file.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ledger.append(sampleRecord({ decisionId: 'after-quiet' }));
    expect(statSync(wal).size).toBeLessThanOrEqual(limit);
    expect((await ledger.verify()).ok).toBe(true);
  } finally {
    await ledger.close();
  }
});

it('refuses a WAL limit that is not a positive whole number of bytes', () => {
  expect(() => ledgerConfig('x.db', { walLimitBytes: 0 })).toThrow(/ledger\.walLimitBytes/);
});
