import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, startChild } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';

/** A signing key next to a missing or empty ledger refuses to start, unless a fresh ledger is intended. */
async function ledgerWithKey(): Promise<string> {
  const file = join(tempDir(), 'ledger.db');
  const core = await startRuntime(coreOptions(file));
  await decideVia(core, echoInput());
  await core.stop();
  expect(existsSync(`${file}.key`)).toBe(true);
  return file;
}

const removeLedger = (file: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
};

describe('a vanished ledger', () => {
  it('a missing ledger next to its key refuses to start, naming both files; --new-ledger starts a fresh one', async () => {
    const file = await ledgerWithKey();
    removeLedger(file);
    await expect(startRuntime(coreOptions(file))).rejects.toThrow(
      expect.objectContaining({ code: 'ledger_missing', message: expect.stringContaining(`${file}.key`) }),
    );
    expect(existsSync(file)).toBe(false);
    const fresh = await startRuntime(coreOptions(file, { ledgerOptions: { newLedger: true } }));
    try {
      expect((await decideVia(fresh, echoInput())).receipt.seq).toBe(1);
    } finally {
      await fresh.stop();
    }
    // From now on the fresh ledger is the key's ledger: a plain restart works.
    await (await startRuntime(coreOptions(file))).stop();
  });

  it('an emptied ledger file is refused too', async () => {
    const file = await ledgerWithKey();
    removeLedger(file);
    writeFileSync(file, '');
    await expect(startRuntime(coreOptions(file))).rejects.toThrow(/is empty/);
  });

  it('a restart of a ledger that has no entries yet is fine', async () => {
    const file = join(tempDir(), 'quiet.db');
    await (await startRuntime(coreOptions(file))).stop();
    const again = await startRuntime(coreOptions(file));
    await again.stop();
  });

  it('gavel serve exits 3 naming the ledger and the key', async () => {
    const file = await ledgerWithKey();
    removeLedger(file);
    const err = await startChild(['--bundles', FIXTURE_BUNDLES, '--ledger', file]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 3/);
    expect(err?.message).toContain(file);
    expect(err?.message).toContain(`${file}.key`);
    expect(err?.message).toContain('--new-ledger');
    const verify = await runCli(['audit', 'verify', '--ledger', file]);
    expect(verify.code).toBe(3);
  });
});
