import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients } from '../helpers/client.js';
import { BUNDLES, FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { recordWorkload, type RecordedCase } from '../helpers/recorded-workload.js';
import { runCli, startInProcess } from '../helpers/server.js';
import { decide } from '../usage/helpers.js';

const LIVE = join(BUNDLES, 'ai.tar.gz');
const KEYWORD = join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz');

let ledger: string;
let cases: RecordedCase[];

beforeAll(async () => {
  ledger = join(tempDir(), 'recorded.db');
  cases = await recordWorkload(ledger);
}, 60_000);

describe('gavel replay', () => {
  it('--json prints one object with the totals and transitions; an identical candidate passes --fail-on-change', async () => {
    const r = await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--json', '--fail-on-change']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const redacted = cases.filter((c) => c.approximate).length;
    expect(report).toMatchObject({ replayed: cases.length, unchanged: cases.length - redacted, changed: 0, approximate: redacted, transitions: [] });
  });

  it('--fail-on-change exits 1 when a decision changed, and the report names the transition, its reasons and examples', async () => {
    const failing = await runCli(['replay', '--ledger', ledger, '--bundle', KEYWORD, '--fail-on-change']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/allow → deny {2}\d+\n {6}\+ keyword_blocked \(\d+\)/);
    expect(failing.stdout).toMatch(/e\.g\. [0-9a-f-]{36}/);
    const json = await runCli(['replay', '--ledger', ledger, '--bundle', KEYWORD, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    const t = report.transitions.find((x: { from: string; to: string }) => x.from === 'allow' && x.to === 'deny');
    expect(t.reasons_added.keyword_blocked).toBe(t.count);
    expect(t.examples.length).toBe(Math.min(5, t.count));
    for (const id of t.examples) expect(cases.map((c) => c.decisionId)).toContain(id);
  });

  it('--fail-on-change also fails a candidate that lacks a recorded entrypoint; --strict counts approximate changes too', async () => {
    const other = await runCli(['replay', '--ledger', ledger, '--bundle', join(FIXTURE_BUNDLES, 'fixtures.tar.gz'), '--json', '--fail-on-change']);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({ replayed: 0, changed: 0, skipped: cases.length, skipped_detail: { entrypoint_missing: cases.length } });
    // The live bundle changes no exact decision; redacted ones, replayed on their redacted input, do change.
    expect((await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--fail-on-change'])).code).toBe(0);
    expect((await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--fail-on-change', '--strict'])).code).toBe(1);
    expect((await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--since', '99999999999999d'])).code).toBe(3);
  });

  it('bad flags are usage errors (exit 2); what cannot be read exits 3 and says why', async () => {
    expect((await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--since', 'last tuesday'])).code).toBe(2);
    expect((await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--workers', 'many'])).code).toBe(2);
    expect((await runCli(['replay', '--ledger', ledger])).code).toBe(2);
    const noLedger = await runCli(['replay', '--ledger', join(tempDir(), 'absent.db'), '--bundle', LIVE]);
    expect(noLedger.code).toBe(3);
    expect(noLedger.stderr).toContain('does not exist');
    const noBundle = await runCli(['replay', '--ledger', ledger, '--bundle', join(tempDir(), 'absent.tar.gz')]);
    expect(noBundle.code).toBe(3);
    expect(noBundle.stderr).toContain('cannot be read');
    const entrypoint = await runCli(['replay', '--ledger', ledger, '--bundle', LIVE, '--policy', 'gavel/nope']);
    expect(entrypoint.code).toBe(3);
    expect(entrypoint.stderr).toContain('no entrypoint "gavel/nope"');
  });

  it('runs against a live ledger without writing to it', async () => {
    const live = join(tempDir(), 'live.db');
    copyFileSync(ledger, live);
    copyFileSync(`${ledger}.key`, `${live}.key`);
    const srv = await startInProcess({ bundles: BUNDLES, ledger: live, engine: { workers: 0 } });
    const c = clients(srv.address);
    try {
      const count = () => (srv.core.parts.ledger.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
      const before = count();
      const r = await runCli(['replay', '--ledger', live, '--bundle', KEYWORD, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).replayed).toBe(cases.length);
      expect(count()).toBe(before);
      // The writer kept its file: decisions still land.
      const res = await decide(c, cases[0]!.input);
      expect(Number(res.receipt.seq)).toBe(before + 1);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
