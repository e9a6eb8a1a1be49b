import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { openAsAttacker } from '../ledger/fixtures.js';
import { TestClock } from '../usage/helpers.js';

/**
 * One audit over several replicas' ledgers: two ledger files written by two
 * cores (each its own chain and signing key), their decisions interleaved in
 * time. verify checks each and sums up; query and timeline merge by time and
 * name the ledger of every entry.
 */
const dir = tempDir();
const ledgers = [join(dir, 'eu.db'), join(dir, 'us.db')];
const origins: string[] = [];

beforeAll(async () => {
  const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
  const cores = await Promise.all(ledgers.map((ledger) => startRuntime({ bundles: BUNDLES, ledger, now: clock.now, approvals: false })));
  for (const core of cores) origins.push(core.parts.ledger.origin);
  for (let i = 0; i < 6; i++) {
    clock.advance(60_000);
    const input = {
      subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
      action: { type: 'model.invoke', model: i % 3 === 2 ? 'frontier-xl' : 'standard-m', params: { max_tokens: 50 } },
      content: { prompt: `note ${i}` },
      context: { environment: 'prod' },
    };
    // Alternating replicas: eu, us, eu, us, …
    await cores[i % 2]!.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: `r${i}`, caller: 'test' });
  }
  for (const core of cores) await core.stop();
});

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('gavel audit over several ledgers', () => {
  it('verify checks each ledger with its own key and prints one summary; one tampered ledger fails the run and is named', async () => {
    const ok = await runCli(['audit', 'verify', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`${ledgers[0]}: ok: 3 entries`);
    expect(ok.stdout).toContain(`${ledgers[1]}: ok: 3 entries`);
    expect(ok.stdout).toContain('ok: all 2 ledgers verified');
    const json = JSON.parse((await runCli(['audit', 'verify', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--json'])).stdout);
    expect(json).toMatchObject({
      ok: true,
      ledgers: [
        { ledger: ledgers[0], ok: true, entries: 3 },
        { ledger: ledgers[1], ok: true, entries: 3 },
      ],
    });

    const copy = join(dir, 'us-tampered.db');
    const src = new Database(ledgers[1]!, { readonly: true });
    await src.backup(copy);
    src.close();
    const db = openAsAttacker(copy);
    db.prepare("UPDATE entries SET decision = 'require_approval' WHERE seq = 2").run();
    db.close();
    const bad = await runCli(['audit', 'verify', '--ledger', ledgers[0]!, '--ledger', copy, '--pubkey', 'x', '--pubkey', 'y', '--pubkey', 'z']);
    expect(bad.code).toBe(3);
    const failed = await runCli([
      'audit',
      'verify',
      '--ledger',
      ledgers[0]!,
      '--ledger',
      copy,
      '--pubkey',
      (await runCli(['audit', 'pubkey', '--ledger', ledgers[0]!])).stdout.trim(),
      '--pubkey',
      (await runCli(['audit', 'pubkey', '--ledger', ledgers[1]!])).stdout.trim(),
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`${ledgers[0]}: ok: 3 entries`);
    expect(failed.stdout).toMatch(new RegExp(`${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: FAILED at seq 2 \\(header_changed\\)`));
    expect(failed.stdout).toContain('FAILED: 1 of 2 ledgers did not verify');
  });

  it('query merges entries by time, newest first, each naming its ledger and origin; --limit applies to the merged list', async () => {
    const res = await runCli(['audit', 'query', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--kind', 'decision', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const entries = lines(res.stdout);
    expect(entries).toHaveLength(6);
    expect(entries.map((e) => e.request_id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
    expect(entries.map((e) => e.ledger)).toEqual([ledgers[1], ledgers[0], ledgers[1], ledgers[0], ledgers[1], ledgers[0]]);
    expect(entries.map((e) => e.origin)).toEqual([origins[1], origins[0], origins[1], origins[0], origins[1], origins[0]]);
    const limited = lines(
      (await runCli(['audit', 'query', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--kind', 'decision', '--limit', '2', '--json'])).stdout,
    );
    expect(limited.map((e) => e.request_id)).toEqual(['r5', 'r4']);
    const table = await runCli(['audit', 'query', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--kind', 'decision']);
    expect(table.stdout.split('\n')[0]).toMatch(/^LEDGER +SEQ +TIME/);
  });

  it('timeline tells one story across replicas, oldest first', async () => {
    const res = await runCli(['audit', 'timeline', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--subject', 'alice', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const decisions = lines(res.stdout).filter((e) => e.kind === 'decision');
    expect(decisions.map((e) => [e.ledger, e.decision])).toEqual([
      [ledgers[0], 'allow'],
      [ledgers[1], 'allow'],
      [ledgers[0], 'deny'],
      [ledgers[1], 'allow'],
      [ledgers[0], 'allow'],
      [ledgers[1], 'deny'],
    ]);
    const text = await runCli(['audit', 'timeline', '--ledger', ledgers[0]!, '--ledger', ledgers[1]!, '--subject', 'alice']);
    expect(text.stdout).toContain(`[${ledgers[1]}] `);
  });
});
