import Database from 'better-sqlite3';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput, openAsAttacker } from './fixtures.js';

/** A retention or erasure job may remove a payload; the chain still verifies and the count is reported. */
it('an erased payload leaves the chain verifiable; a changed one does not', async () => {
  const ledger = join(tempDir(), 'ledger.db');
  const core = await startRuntime(coreOptions(ledger));
  for (let i = 0; i < 5; i++) await decideVia(core, echoInput({ subject: `s${i}` }));
  await core.stop();

  const db = openAsAttacker(ledger);
  db.prepare('DELETE FROM payloads WHERE seq = 3').run();
  db.close();
  const ok = await runCli(['audit', 'verify', '--ledger', ledger]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('ok: 5 entries');
  expect(ok.stdout).toContain('1 payloads erased');
  const json = await runCli(['audit', 'verify', '--ledger', ledger, '--json']);
  const report = JSON.parse(json.stdout) as Record<string, unknown>;
  expect(report).toMatchObject({ ok: true, payloads_erased: 1 });
  expect(Object.keys(report).filter((k) => /[A-Z]/.test(k))).toEqual([]);

  const again = new Database(ledger); // the triggers are already gone
  again.prepare(`UPDATE payloads SET body = replace(body, 's1', 's9') WHERE seq = 2`).run();
  again.close();
  const bad = await runCli(['audit', 'verify', '--ledger', ledger]);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toContain('FAILED at seq 2 (payload_changed)');
});
