import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { transfer } from './helpers.js';

it('approval state that cannot be read fails the decision closed (UNAVAILABLE approvals_unavailable), with nothing recorded', async () => {
  const file = join(tempDir(), 'l.db');
  const core = await startRuntime({ bundles: BUNDLES, ledger: file });
  try {
    const decide = (input: unknown) => core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'test' });
    expect((await decide(transfer(25_000))).decision).toBe('require_approval');
    const before = core.parts.ledger.size;
    // A column gone: neither the store nor the state check (which would rebuild a dropped table from the chain) can read it.
    const shell = new Database(file);
    shell.exec('ALTER TABLE approvals RENAME COLUMN votes TO votes_gone');
    shell.close();
    const err = await decide(transfer(25_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('approvals_unavailable');
    expect((err as GavelError).status).toBe('UNAVAILABLE');
    expect(core.parts.ledger.size).toBe(before);
  } finally {
    await core.stop();
  }
});
