import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { clients } from '../helpers/client.js';
import { eventually } from '../helpers/health.js';
import { BUNDLES, FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, servingLine, startChild } from '../helpers/server.js';
import { decide } from '../usage/helpers.js';

const KEYWORD = join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz');
const quarterly = {
  subject: { id: 'ana', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 50 } },
  content: { prompt: 'draft the quarterly update' },
  context: { environment: 'prod' },
};

type Serving = { shadow_bundles: Array<{ name: string; revision: string }> | string };

it('gavel serve --shadow-bundles: the folder is shadowed and watched; gavel shadow report reads what it answered', async () => {
  const shadowDir = tempDir('gavel-shadow-');
  const ledger = join(tempDir(), 'ledger.db');
  const srv = await startChild(['--bundles', BUNDLES, '--ledger', ledger, '--shadow-bundles', shadowDir, '--workers', '1']);
  const c = clients(srv.address);
  try {
    expect(servingLine<Serving>(srv).shadow_bundles).toEqual([]);
    // Nothing to shadow yet: decisions are answered as usual.
    expect((await decide(c, quarterly)).decision).toBe('DECISION_ALLOW');
    // A candidate dropped into the folder is shadowed from then on (written aside, renamed into place).
    copyFileSync(KEYWORD, join(shadowDir, 'candidate.tar.gz.tmp'));
    renameSync(join(shadowDir, 'candidate.tar.gz.tmp'), join(shadowDir, 'candidate.tar.gz'));
    expect(await eventually(() => srv.lines.some((l) => l.includes('shadow bundles activated')), 10_000)).toBe(true);
    for (let i = 0; i < 3; i++) expect((await decide(c, quarterly)).decision).toBe('DECISION_ALLOW');
    // A broken file is refused; the shadow set stays.
    writeFileSync(join(shadowDir, 'broken.tar.gz'), 'not a bundle');
    expect(await eventually(() => srv.lines.some((l) => l.includes('shadow bundle refused')), 10_000)).toBe(true);
    expect((await decide(c, quarterly)).decision).toBe('DECISION_ALLOW');
    // Shadow work runs after the answer, when a worker is idle: on a loaded machine the last one may still be on its way.
    const stored = () => {
      const db = new Database(ledger, { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM shadow_decisions').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    expect(await eventually(() => stored() === 4, 10_000)).toBe(true);
  } finally {
    c.close();
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  }
  const report = await runCli(['shadow', 'report', '--ledger', ledger, '--json']);
  expect(report.code).toBe(0);
  const r = JSON.parse(report.stdout);
  expect(r).toMatchObject({ replayed: 4, changed: 4, unchanged: 0 });
  expect(r.transitions).toEqual([
    expect.objectContaining({ from: 'allow', to: 'deny', count: 4, reasons_added: { keyword_blocked: 4 }, reasons_removed: { allowed: 4 } }),
  ]);
  const text = await runCli(['shadow', 'report', '--ledger', ledger]);
  expect(text.stdout).toContain('shadowed     4');
  expect(text.stdout).toContain('every decision (exact), live → shadow:');
});

it('a shadow bundle URL is polled like a live one; a bad shadow bundle at start is refused (exit 3), a bad flag is a usage error', async () => {
  const body = readFileSync(KEYWORD);
  const http = createServer((_req, res) => res.writeHead(200, { etag: '"k1"' }).end(body));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/candidate.tar.gz`;
  try {
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--shadow-bundle-url', url, '--workers', '0']);
    try {
      expect((servingLine<Serving>(srv).shadow_bundles as Array<{ revision: string }>).map((b) => b.revision)).toEqual(['candidate-keyword-1']);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
  } finally {
    http.close();
  }
  const badDir = tempDir('gavel-shadow-bad-');
  writeFileSync(join(badDir, 'x.tar.gz'), 'garbage');
  const bad = await runCli(['serve', '--listen', '127.0.0.1:0', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--shadow-bundles', badDir]);
  expect(bad.code).toBe(3);
  expect(bad.stderr).toContain('bundle x');
  const flag = await runCli(['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--shadow-bundle-url', 'file:///etc/passwd']);
  expect(flag.code).toBe(2);
  const queue = await runCli(['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--shadow-bundles', badDir, '--shadow-queue', '0']);
  expect(queue.code).toBe(2);
});
