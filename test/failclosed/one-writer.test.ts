import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { coreOptions, decideVia, echoInput } from '../ledger/fixtures.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, startChild } from '../helpers/server.js';
import { GavelError } from '../../src/lib/errors.js';

/** One ledger file, one writer: a second writer is refused at open time; the holder keeps working; readers still read. */
const ledger = join(tempDir(), 'live.db');
let core: Runtime;
beforeAll(async () => {
  core = await startRuntime(coreOptions(ledger));
  await decideVia(core, echoInput({ subject: 'first' }));
});
afterAll(async () => {
  await core.stop();
});

describe('a second writer', () => {
  it('in the same process is refused with ledger_in_use naming the file and the holder pid', async () => {
    let err: unknown;
    try {
      await (await startRuntime(coreOptions(ledger))).stop();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('ledger_in_use');
    expect((err as GavelError).message).toContain(ledger);
    expect((err as GavelError).message).toContain(`pid ${process.pid}`);
  });

  it('gavel eval --ledger <live ledger> exits 3 naming the file and pid, and the holder keeps answering', async () => {
    const res = await runCli(
      ['eval', '--input', '-', '--bundles', FIXTURE_BUNDLES, '--policy', 'fixtures/echo', '--ledger', ledger],
      JSON.stringify(echoInput()),
    );
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(ledger);
    expect(res.stderr).toContain(`pid ${process.pid}`);
    const d = await decideVia(core, echoInput({ subject: 'after-eval' }));
    expect(d.receipt.seq).toBe(core.parts.ledger.size);
    expect(core.parts.ledger.health.ok).toBe(true);
  });

  it('a second gavel serve on the same file exits 3 before serving', async () => {
    const err = await startChild(['--bundles', FIXTURE_BUNDLES, '--ledger', ledger]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 3/);
    expect(err?.message).toContain('already has a writer');
    expect((await decideVia(core, echoInput({ subject: 'after-serve' }))).decision).toBe('allow');
  });

  it('read-only audit commands work against the live ledger', async () => {
    const verify = await runCli(['audit', 'verify', '--ledger', ledger]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^ok: \d+ entries/);
    const query = await runCli(['audit', 'query', '--ledger', ledger, '--subject', 'after-eval', '--json']);
    expect(query.code).toBe(0);
    expect(query.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('once the holder closes, the next writer opens the file and continues the chain', async () => {
    const other = join(tempDir(), 'handover.db');
    const a = await startRuntime(coreOptions(other));
    await decideVia(a, echoInput());
    await a.stop();
    const b = await startRuntime(coreOptions(other));
    try {
      expect((await decideVia(b, echoInput())).receipt.seq).toBe(2);
    } finally {
      await b.stop();
    }
  });
});
