import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { eventually } from '../helpers/health.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, decideVia, echoInput } from './fixtures.js';

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
