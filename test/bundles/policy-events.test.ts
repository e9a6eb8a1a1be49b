import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readArchive } from '../../src/bundles/archive.js';
import { watchedFolder } from '../helpers/live-bundles.js';
import * as grpc from '@grpc/grpc-js';
import { timeline } from '../../src/ledger/timeline.js';
import { gavelServices } from '../../src/transport/proto.js';
import { unary } from '../helpers/client.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { repack } from '../helpers/repack.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { decideVia, ECHO, echoInput } from '../ledger/fixtures.js';

/** Every activation, deactivation and refusal is an entry of kind "policy" in the same verified chain as the decisions. */
const FIXTURE = readFileSync(join(FIXTURE_BUNDLES, 'fixtures.tar.gz'));
const manifest = JSON.parse(readArchive(FIXTURE).get('.manifest')!.toString()) as Record<string, unknown>;
const revisionOf = (revision: string) => repack(FIXTURE, { '.manifest': JSON.stringify({ ...manifest, revision }) });
const publish = (dir: string, bytes: Buffer) => {
  writeFileSync(join(dir, '.fx.partial'), bytes);
  renameSync(join(dir, '.fx.partial'), join(dir, 'fx.tar.gz'));
};

let srv: InProcessServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('activated, refused and deactivated are chained, queried by kind, verified, and interleaved in the timeline', async () => {
  const dir = tempDir('gavel-events-');
  publish(dir, revisionOf('rev-1'));
  const ledgerPath = join(tempDir(), 'l.db');
  srv = await startInProcess({ ...watchedFolder(dir, { intervalMs: 20 }), ledger: ledgerPath, engine: { defaultEntrypoint: ECHO }, usage: false });
  const policyRows = () =>
    srv!.core.parts.ledger.db.prepare("SELECT seq, decision, revision, reason_codes, caller FROM entries WHERE kind = 'policy' ORDER BY seq").all() as Array<{
      seq: number;
      decision: string;
      revision: string;
      reason_codes: string;
      caller: string;
    }>;
  await decideVia(srv.core, echoInput({ subject: 'ann' }));
  publish(dir, revisionOf('rev-2'));
  await until(() => policyRows().length === 1);
  await decideVia(srv.core, echoInput({ subject: 'ann' }));
  publish(dir, Buffer.from('garbage'));
  await until(() => policyRows().length === 2);
  rmSync(join(dir, 'fx.tar.gz'));
  await until(() => policyRows().length === 3);
  const rows = policyRows();
  expect(rows.map((r) => [r.decision, r.revision])).toEqual([
    ['activated', 'rev-2'],
    ['refused', ''],
    ['deactivated', 'rev-2'],
  ]);
  expect(JSON.parse(rows[1]!.reason_codes)).toEqual(['bundle_invalid']);
  expect(rows.every((r) => r.caller === 'gavel')).toBe(true);
  const refused = srv.core.parts.ledger.get(
    srv.core.parts.ledger.db.prepare('SELECT decision_id FROM entries WHERE seq = ?').pluck().get(rows[1]!.seq) as string,
  )!;
  expect(JSON.stringify(refused.payload)).toContain('unreadable archive');

  // PolicyService.ListBundles, before the removal was seen: checked below on the ledger alone.
  // The timeline of ann's decisions shows the swap between them.
  const events = timeline(srv.core.parts.ledger.db, { subject: 'ann' });
  expect(events.map((e) => [e.kind, e.kind === 'policy' ? `${e.decision} ${e.revision}` : e.subjectId])).toEqual([
    ['decision', 'ann'],
    ['policy', 'activated rev-2'],
    ['decision', 'ann'],
  ]);
  await srv.stop();
  srv = undefined;

  const listed = await runCli(['audit', 'query', '--ledger', ledgerPath, '--kind', 'policy', '--json']);
  expect(listed.code).toBe(0);
  expect(
    listed.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { kind: string; decision: string }).decision),
  ).toEqual(['deactivated', 'refused', 'activated']);
  const decisions = await runCli(['audit', 'query', '--ledger', ledgerPath, '--kind', 'decision', '--json']);
  expect(decisions.stdout.trim().split('\n')).toHaveLength(2);
  const verified = await runCli(['audit', 'verify', '--ledger', ledgerPath]);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain('ok: 5 entries');

  // The ledger alone tells what is live: nothing (fx was deactivated), and the refusal since.
  const status = await runCli(['policy', 'status', '--ledger', ledgerPath, '--json']);
  expect(status.code).toBe(0);
  const parsed = JSON.parse(status.stdout) as { active: unknown[]; refusals: Array<{ bundle: string; reason: string }> };
  expect(parsed.active).toEqual([]);
  expect(parsed.refusals.map((r) => r.bundle)).toEqual(['fx']);
  expect(parsed.refusals[0]!.reason).toContain('unreadable archive');
});

it('PolicyService.ListBundles names what evaluates now: revision, digest, source, since when, and refusals since', async () => {
  const dir = tempDir('gavel-events-');
  publish(dir, revisionOf('rev-1'));
  srv = await startInProcess({ ...watchedFolder(dir, { intervalMs: 20 }), ledger: join(tempDir(), 'l.db'), engine: { defaultEntrypoint: ECHO }, usage: false });
  const s = gavelServices();
  const client = new s.PolicyService(srv.address, grpc.credentials.createInsecure());
  try {
    publish(dir, revisionOf('rev-2'));
    await until(() => srv!.core.policies.bundles[0]!.revision === 'rev-2');
    publish(dir, Buffer.from('garbage'));
    await until(() => srv!.core.parts.ledger.db.prepare("SELECT COUNT(*) FROM entries WHERE decision = 'refused'").pluck().get() === 1);
    const listed = await unary(client, 'ListBundles', {});
    expect(listed.bundles).toHaveLength(1);
    expect(listed.bundles[0]).toMatchObject({ name: 'fx', revision: 'rev-2', source: `folder:${dir}`, entrypoints: expect.arrayContaining([ECHO]) });
    expect(listed.bundles[0].digest).toBe(srv.core.policies.bundles[0]!.digest);
    expect(Date.parse(listed.bundles[0].activated_at)).toBeGreaterThan(0);
    expect(listed.refusals).toHaveLength(1);
    expect(listed.refusals[0]).toMatchObject({ bundle: 'fx', source: `folder:${dir}` });
  } finally {
    client.close();
  }
});
