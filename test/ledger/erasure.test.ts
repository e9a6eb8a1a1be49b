import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteShadowSink } from '../../src/ledger/shadow-table.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { coreOptions, decideVia, echoInput, openAsAttacker } from './fixtures.js';

/**
 * Signed erasure: a payload leaves the ledger only with an `erasure` entry naming who, why, the
 * basis and the seqs; `audit verify` tells it from a payload gone without one (payload_missing),
 * the headers stay, and every inclusion proof still verifies.
 */
let ledger: string;
/** The ledger before any erasure: where an attacker finds a payload to put back. */
let pristine: string;
const ids: Record<string, string[]> = {};

async function decideAs(core: Runtime, subject: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const d = await decideVia(core, echoInput({ subject, extra: { n: i } }));
    ids[subject] = [...(ids[subject] ?? []), d.decisionId];
  }
}
const verify = (path: string, ...extra: string[]) => runCli(['audit', 'verify', '--ledger', path, ...extra]);
const copyOf = (path: string) => {
  const copy = join(tempDir(), 'copy.db');
  for (const s of ['', '.key']) copyFileSync(`${path}${s}`, `${copy}${s}`);
  return copy;
};

beforeAll(async () => {
  ledger = join(tempDir(), 'ledger.db');
  const core = await startRuntime(coreOptions(ledger));
  await decideAs(core, 'sam', 2); // seqs 1-2
  await decideAs(core, 'jane', 2); // 3-4
  await decideAs(core, 'sam', 1); // 5
  await decideAs(core, 'jane', 1); // 6
  await core.stop();
  pristine = copyOf(ledger);
});

describe('gavel audit erase', () => {
  it("erases one subject's payloads with an erasure entry; verify says which entry erased them", async () => {
    const res = await runCli([
      'audit',
      'erase',
      '--ledger',
      ledger,
      '--subject',
      'jane',
      '--basis',
      'gdpr-art17',
      '--reason',
      'request 2026-114',
      '--by',
      'dpo@corp',
    ]);
    expect([res.code, res.stdout]).toEqual([0, 'erased 3 payloads, recorded as erasure entry 7\n']);
    const ok = await verify(ledger);
    expect(ok.stdout).toMatch(/^ok: 7 entries, .*, 3 payloads erased by entry 7 \(their headers verified\)/);
    expect(ok.code).toBe(0);

    const db = new Database(ledger, { readonly: true });
    const left = db.prepare('SELECT seq FROM payloads ORDER BY seq').pluck().all();
    const erasure = db
      .prepare(`SELECT e.kind, e.caller, e.subject_id, e.reason_codes, p.body FROM entries e JOIN payloads p USING (seq) WHERE e.seq = 7`)
      .get() as Record<string, string>;
    // The headers stay: jane's decisions are still found, outcome and all.
    const jane = db.prepare(`SELECT seq, decision FROM entries WHERE subject_id = 'jane' ORDER BY seq`).all();
    db.close();
    expect(left).toEqual([1, 2, 5, 7]);
    expect({ ...erasure, body: JSON.parse(erasure.body!) }).toEqual({
      kind: 'erasure',
      caller: 'dpo@corp',
      subject_id: '',
      reason_codes: '["gdpr-art17"]',
      body: {
        erasure: {
          basis: 'gdpr-art17',
          by: 'dpo@corp',
          count: 3,
          criteria: { subject: 'jane' },
          reason: 'request 2026-114',
          seqs: [
            [3, 4],
            [6, 6],
          ],
          signature: expect.any(String),
        },
      },
    });
    expect(jane).toEqual([3, 4, 6].map((seq) => ({ seq, decision: 'allow' })));

    // Nothing left to erase: no entry.
    const again = await runCli(['audit', 'erase', '--ledger', ledger, '--subject', 'jane', '--basis', 'gdpr-art17', '--reason', 'again']);
    expect(again.stdout).toBe('nothing to erase: no payload matches (erased ones stay erased); no entry written\n');
  });

  it("an erased decision's inclusion proof still verifies, and the timeline says it was erased", async () => {
    const proof = join(tempDir(), 'proof.json');
    const proved = await runCli(['audit', 'prove', '--ledger', ledger, '--decision', ids.jane![0]!]);
    expect(proved.code).toBe(0);
    writeFileSync(proof, proved.stdout);
    const pubkey = (await runCli(['audit', 'pubkey', '--ledger', ledger])).stdout.trim();
    const checked = await runCli(['audit', 'verify-proof', proof, '--pubkey', pubkey]);
    expect(checked.stdout).toMatch(/^ok: decision .* is entry 3 of /);
    const timeline = await runCli(['audit', 'timeline', '--ledger', ledger, '--subject', 'jane']);
    expect(timeline.stdout.match(/payload erased by entry #7/g)).toHaveLength(3);
    const json = await runCli(['audit', 'timeline', '--ledger', ledger, '--subject', 'jane', '--json']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { erased_by_seq?: number }).erased_by_seq),
    ).toEqual([7, 7, 7]);
  });

  it('refuses what is not an erasure: no reason, an unknown basis, two criteria, an unknown decision', async () => {
    const run = (...args: string[]) => runCli(['audit', 'erase', '--ledger', ledger, ...args]);
    expect((await run('--subject', 'sam', '--basis', 'gdpr-art17', '--reason', ' ')).stderr).toContain('a reason is required');
    expect((await run('--subject', 'sam', '--basis', 'because', '--reason', 'x')).stderr).toContain(
      'Allowed choices are gdpr-art17, retention, legal-order, other',
    );
    expect((await run('--subject', 'sam', '--before', '1d', '--basis', 'other', '--reason', 'x')).stderr).toContain(
      'name exactly one of --subject, --decision and --before',
    );
    const unknown = await run('--decision', 'no-such-id', '--basis', 'other', '--reason', 'x');
    expect([unknown.code, unknown.stderr]).toEqual([expect.any(Number), expect.stringContaining('no ledger entry has decision id no-such-id')]);
    expect(unknown.code).not.toBe(0);
    expect((await verify(ledger)).code).toBe(0);
  });
});

describe('what verify finds', () => {
  it('a payload deleted without an erasure entry: payload_missing at its seq', async () => {
    const copy = copyOf(ledger);
    const db = openAsAttacker(copy);
    db.prepare('DELETE FROM payloads WHERE seq = 5').run();
    db.close();
    const res = await verify(copy, '--json');
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, failed_seq: 5, failure_kind: 'payload_missing' });
    expect(res.code).toBe(1);
  });

  it('a payload deleted from another program is refused by the ledger itself (the trigger asks for the writer)', () => {
    const db = new Database(copyOf(ledger));
    expect(() => db.prepare('DELETE FROM payloads WHERE seq = 1').run()).toThrow(/no such function: gavel_erasing/);
    db.close();
  });

  it('an erased payload put back, the erasure entry edited or its own payload removed: each is located', async () => {
    // Put back: the erasure entry says seq 3 is gone, and it is not.
    const restored = copyOf(ledger);
    let db = openAsAttacker(restored);
    db.prepare('ATTACH DATABASE ? AS pristine').run(pristine);
    db.prepare('INSERT INTO payloads SELECT * FROM pristine.payloads WHERE seq = 3').run();
    db.close();
    expect(JSON.parse((await verify(restored, '--json')).stdout)).toMatchObject({
      failed_seq: 7,
      failure_kind: 'erasure_invalid',
      message: 'seq 7: the erasure entry says it erased seq 3, whose payload is still stored',
    });
    // Edited: its payload no longer gives its payload_hash.
    const edited = copyOf(ledger);
    db = openAsAttacker(edited);
    db.prepare(`UPDATE payloads SET body = replace(body, '[6,6]', '[5,6]') WHERE seq = 7`).run();
    db.close();
    expect(JSON.parse((await verify(edited, '--json')).stdout)).toMatchObject({ failed_seq: 7, failure_kind: 'payload_changed' });
    // Its own payload removed: who erased what is gone.
    const gone = copyOf(ledger);
    db = openAsAttacker(gone);
    db.prepare('DELETE FROM payloads WHERE seq = 7').run();
    db.close();
    expect(JSON.parse((await verify(gone, '--json')).stdout)).toMatchObject({ failed_seq: 7, failure_kind: 'erasure_invalid' });
  });
});

describe('erasure through the runtime, and retention', () => {
  it('erases one decision (AuditFace.erase); its detail names the erasure entry', async () => {
    const core = await startRuntime(coreOptions(ledger));
    try {
      const r = await core.audit.erase({ criteria: { decision: ids.sam![2]! }, reason: 'legal order 7', basis: 'legal-order', by: 'counsel' });
      expect({ erased: r.erased, seqs: r.seqs, seq: r.entry?.seq }).toEqual({ erased: 1, seqs: [[5, 5]], seq: 8 });
      const detail = core.audit.get(ids.sam![2]!)!;
      expect(detail.payload).toBeNull();
      expect(detail.erasedBy).toEqual({
        seq: 8,
        decisionId: r.entry!.decisionId,
        time: expect.any(String),
        by: 'counsel',
        basis: 'legal-order',
        reason: 'legal order 7',
      });
      expect(core.audit.get(ids.sam![0]!)!.erasedBy).toBeUndefined();
      await expect(core.audit.erase({ criteria: { subject: 'sam' }, reason: 'x', basis: 'nope' as never, by: 'y' })).rejects.toMatchObject({
        code: 'invalid_erasure',
      });
      expect(await core.audit.verify()).toMatchObject({ ok: true, payloads_erased: 4, erasure_seqs: [7, 8] });
    } finally {
      await core.stop();
    }
  });

  it('--retain-payloads: the sweep at start erases what is older, as one retention entry, shadow results too', async () => {
    const path = join(tempDir(), 'ledger.db');
    const t0 = new Date('2026-01-10T12:00:00Z');
    let core = await startRuntime(coreOptions(path, { now: () => t0 }));
    await decideVia(core, echoInput({ subject: 'old' }));
    await decideVia(core, echoInput({ subject: 'old' }));
    await core.stop();
    // Shadow results as a server with shadow bundles leaves them (its sink makes the table).
    const file = new Database(path);
    const sink = new SqliteShadowSink(file);
    const shadowRow = (id: string, timeMs: number) =>
      file
        .prepare(`INSERT INTO shadow_decisions VALUES (?, ?, ?, 'e', 'b', 'r', 'd', 'allow', '[]', 'b', 'r2', 'd2', 'deny', '[]')`)
        .run(id, new Date(timeMs).toISOString(), timeMs);
    shadowRow('old-shadow', t0.getTime());
    shadowRow('new-shadow', t0.getTime() + 20 * 86_400_000);
    await sink.close();
    file.close();

    const later = new Date(t0.getTime() + 10 * 86_400_000);
    core = await startRuntime(coreOptions(path, { now: () => later, retention: { payloadsSeconds: 7 * 86_400 } }));
    try {
      await decideVia(core, echoInput({ subject: 'new' }));
      const db = core.parts.ledger.db;
      const waitFor = async () => {
        for (let i = 0; i < 100 && !db.prepare(`SELECT 1 FROM entries WHERE kind = 'erasure'`).get(); i++) await new Promise((r) => setTimeout(r, 20));
      };
      await waitFor();
      const erasures = db.prepare(`SELECT e.seq, e.caller, p.body FROM entries e JOIN payloads p USING (seq) WHERE e.kind = 'erasure'`).all() as Array<{
        seq: number;
        caller: string;
        body: string;
      }>;
      expect(erasures).toHaveLength(1);
      expect(JSON.parse(erasures[0]!.body)).toMatchObject({ erasure: { basis: 'retention', by: 'gavel', count: 2, seqs: [[1, 2]] } });
      expect(db.prepare('SELECT decision_id FROM shadow_decisions').pluck().all()).toEqual(['new-shadow']);
      expect(await core.audit.verify()).toMatchObject({ ok: true, payloads_erased: 2 });
      // The decision made now keeps its payload.
      expect(db.prepare('SELECT COUNT(*) FROM payloads').pluck().get()).toBe(2);
    } finally {
      await core.stop();
    }
  });
});
