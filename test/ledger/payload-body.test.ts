import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { keyFromPem, verifierOf } from '../../src/ledger/keys.js';
import { readOrigin } from '../../src/ledger/meta.js';
import { payloadHash } from '../../src/ledger/hash.js';
import { deflateHead, deflateText } from '../../src/lib/deflate-head.js';
import { bodyText, storeBody } from '../../src/ledger/payload-body.js';
import { findRequestEntry, getEntry } from '../../src/ledger/query.js';
import { openLedgerReadOnly } from '../../src/ledger/read-only.js';
import { LedgerRecordedDecisions } from '../../src/ledger/recorded-decisions.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { payloadTextOf } from '../helpers/payloads.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { FIONA, MANAGER, transfer } from '../approvals/helpers.js';
import { modelCall, TestClock, usageReport } from '../usage/helpers.js';
import { allRows, openAsAttacker } from './fixtures.js';

/**
 * A decision's payload is stored deflated (src/ledger/payload-body.ts); every other kind as text.
 * The chain hashes the text either way, so every reader (the audit API, idempotent Decide, replay,
 * verify, the state check at start) must see the same text as before, from either form.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

const ALICE = { subject: 'alice', team: 'platform', costCenter: 'cc-100' };

/** Random text that deflate cannot shrink much: a payload holding it stays over 16 KiB stored. */
const NOISE = randomBytes(30_000).toString('base64');

async function ledgerWithDecisions(n: number, prompt = (i: number) => `prompt ${i}`): Promise<{ file: string; ids: string[] }> {
  const file = join(tempDir(), 'ledger.db');
  const core = await startRuntime({ bundles: BUNDLES, ledger: file });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const input = modelCall(ALICE, 'standard-m', 100, prompt(i));
    const d = await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: `r-${i}`, caller: 'gw' });
    ids.push(d.decisionId);
  }
  // A report settles the first: its `usage` entry is the kind SQL reads where it lies (usage/spend.ts).
  await core.report!.report(usageReport(ids[0]!, ALICE, 50));
  await core.stop();
  return { file, ids };
}

function verifyFile(file: string) {
  const db = openLedgerReadOnly(file);
  try {
    return verifyLedger(db, { key: verifierOf(keyFromPem(readFileSync(`${file}.key`, 'utf8'), readOrigin(db))) });
  } finally {
    db.close();
  }
}

describe('payload bodies', () => {
  it("a decision's payload is stored deflated, much smaller than its text, whose hash the header holds; other kinds stay text", async () => {
    const { file } = await ledgerWithDecisions(3);
    const db = new Database(file, { readonly: true });
    try {
      const forms = db.prepare('SELECT e.kind, typeof(p.body) AS form FROM entries e JOIN payloads p USING (seq) ORDER BY e.seq').all();
      expect(forms).toContainEqual({ kind: 'usage', form: 'text' });
      expect(forms.filter((f: any) => f.kind === 'decision')).toEqual(Array(3).fill({ kind: 'decision', form: 'blob' }));
      for (const r of allRows(db).filter((x) => x.kind === 'decision')) {
        expect(Buffer.isBuffer(r.stored)).toBe(true);
        expect((r.stored as Buffer).length).toBeLessThan(Buffer.byteLength(r.body) / 2);
        expect(payloadHash(r.salt, r.body)).toBe(r.payload_hash);
        expect(JSON.parse(r.body).input.subject.id).toBe('alice');
      }
    } finally {
      db.close();
    }
  });

  it('the audit API, idempotent Decide and replay read the text; verify and the state check at start pass', async () => {
    // The last payload is stored in more than the 16 KiB the state check reads of a text payload's end.
    const { file, ids } = await ledgerWithDecisions(4, (i) => (i === 3 ? NOISE : `prompt ${i}`));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT length(body) FROM payloads p JOIN entries e USING (seq) WHERE e.decision_id = ?').pluck().get(ids[3])).toBeGreaterThan(16_384);
      const text = payloadTextOf(db, ids[1]!);
      expect(getEntry(db, ids[1]!)!.payload).toEqual(JSON.parse(text));
      expect(findRequestEntry(db, 'gw', 'r-1', 0)!.payload).toEqual(JSON.parse(text));
      const replayed = [...new LedgerRecordedDecisions(db).read({})];
      expect(replayed.map((r) => r.payload)).toEqual(ids.map((id) => payloadTextOf(db, id)));
    } finally {
      db.close();
    }
    expect(verifyFile(file)).toMatchObject({ ok: true });
    // The state check reads each decision's reservation from the end of its payload: with the three
    // reservations left in the usage table, a payload it could not read would be a mismatch.
    const again = await startRuntime({ bundles: BUNDLES, ledger: file });
    cores.push(again);
    expect(again.state.mismatches).toEqual([]);
    expect(again.parts.ledger.db.prepare("SELECT COUNT(*) FROM usage_charges WHERE state = 'reserved'").pluck().get()).toBe(3);
    const input = modelCall(ALICE, 'standard-m', 100, 'prompt 2');
    const d = await again.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: 'r-2', caller: 'gw' });
    expect(d).toMatchObject({ decisionId: ids[2], replayed: true });
  });

  it('a file whose decision payloads are text, as before schema step 4, reads and verifies the same', async () => {
    const { file, ids } = await ledgerWithDecisions(2);
    const before = new Database(file, { readonly: true });
    const texts = ids.map((id) => payloadTextOf(before, id));
    before.close();
    const db = openAsAttacker(file);
    db.prepare('UPDATE payloads SET body = ? WHERE seq = (SELECT seq FROM entries WHERE decision_id = ?)').run(texts[0], ids[0]);
    expect(db.prepare('SELECT typeof(body) FROM payloads p JOIN entries e USING (seq) WHERE e.decision_id = ?').pluck().get(ids[0])).toBe('text');
    db.close();
    expect(verifyFile(file)).toMatchObject({ ok: true });
    const again = await startRuntime({ bundles: BUNDLES, ledger: file });
    cores.push(again);
    expect(again.state.mismatches).toEqual([]);
    expect(getEntry(again.parts.ledger.db, ids[0]!)!.payload).toEqual(JSON.parse(texts[0]!));
  });

  it('a stored body that does not inflate fails verify as a changed payload, at its seq', async () => {
    const { file, ids } = await ledgerWithDecisions(2);
    const db = openAsAttacker(file);
    const seq = db.prepare('SELECT seq FROM entries WHERE decision_id = ?').pluck().get(ids[1]) as number;
    db.prepare('UPDATE payloads SET body = ? WHERE seq = ?').run(Buffer.from([0xff, 0x00, 0x12, 0x34]), seq);
    db.close();
    const report = verifyFile(file);
    expect(report).toMatchObject({ ok: false, failure: { seq, kind: 'payload_changed' } });
    expect(report.failure!.message).toMatch(new RegExp(`^seq ${seq}: payload changed: its stored body does not inflate`));
  });

  // The head crosses threads without its text (lib/deflate-head.ts HeadOnWire): from the worker, and to the writer thread.
  it.each([
    ["the engine's thread", false],
    ['its writer thread', true],
  ])("on evaluation workers, the worker deflates the payload's head: the ledger on %s appends the keys added since as stored bytes", async (_, thread) => {
    const file = join(tempDir(), 'ledger.db');
    const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
    // inlineMaxBytes 0: every decision is evaluated on a worker, none on the engine's own thread.
    const core = await startRuntime({
      bundles: BUNDLES,
      ledger: file,
      ledgerOptions: { thread },
      engine: { workers: 2, inlineMaxBytes: 0 },
      now: clock.now,
    });
    cores.push(core);
    await core.parts.engine.ready();
    const decide = (input: unknown, trace?: { traceId: string; parentSpanId: string }) => {
      clock.advance(61_000);
      return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw', ...(trace ? { trace } : {}) });
    };
    const plain = await decide(modelCall(ALICE, 'standard-m', 100, 'prompt'));
    const traced = await decide(modelCall(ALICE, 'standard-m', 100, 'prompt'), { traceId: 'a'.repeat(32), parentSpanId: 'b'.repeat(16) });
    // A payload that gains a first key (the approval it asks for) is no longer the head's text: deflated whole.
    const asked = await decide(transfer(60_000));
    expect(asked.decision).toBe('require_approval');
    await core.parts.approvals!.resolve({ approvalId: asked.approval!.id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'test' });
    const used = await decide(transfer(60_000, { approvalId: asked.approval!.id, subject: FIONA }));
    expect(used.decision).toBe('allow');
    const db = core.parts.ledger.db;
    const stored = (id: string) => db.prepare('SELECT p.body FROM payloads p JOIN entries e USING (seq) WHERE e.decision_id = ?').pluck().get(id) as Buffer;
    /** The body's last bytes as a final stored block holding `rest`: 0x01, LEN, NLEN, then rest's UTF-8. */
    const endsStored = (body: Buffer, rest: string) => {
      const bytes = Buffer.from(rest, 'utf8');
      const header = Buffer.from([1, bytes.length & 0xff, bytes.length >> 8, ~bytes.length & 0xff, (~bytes.length >> 8) & 0xff]);
      return body.subarray(body.length - bytes.length - 5).equals(Buffer.concat([header, bytes]));
    };
    for (const d of [plain, traced]) {
      const text = payloadTextOf(db, d.decisionId);
      const rest = text.slice(text.lastIndexOf(d === traced ? ',"trace":' : ',"usage":'));
      expect(JSON.parse(`{${rest.slice(1)}`)).toHaveProperty('usage');
      expect(endsStored(stored(d.decisionId), rest)).toBe(true);
    }
    for (const d of [asked, used]) {
      const text = payloadTextOf(db, d.decisionId);
      expect(JSON.parse(text).approval.approval_id).toBe(asked.approval!.id);
      expect(stored(d.decisionId).equals(deflateText(text))).toBe(true);
    }
    for (const r of allRows(db).filter((x) => x.kind === 'decision')) expect(payloadHash(r.salt, r.body)).toBe(r.payload_hash);
    await core.stop();
    cores.pop();
    expect(verifyFile(file)).toMatchObject({ ok: true });
  });

  it('a body that inflates past the bound is refused, not read', () => {
    const big = 'x'.repeat(100_000);
    const stored = deflateRawSync(big);
    expect(stored.length).toBeLessThan(1_000);
    expect(bodyText(stored, 200_000)).toBe(big);
    expect(() => bodyText(stored, 50_000)).toThrow(/buffer|length|size/i);
    expect(bodyText(storeBody('decision', '{"a":1}'))).toBe('{"a":1}');
    expect(storeBody('usage', '{"a":1}')).toBe('{"a":1}');
  });

  it("a decision's head is used only while the text starts with it", () => {
    const head = deflateHead('{"input":{"a":1},"result":{"b":2}');
    const grown = '{"input":{"a":1},"result":{"b":2},"usage":{"c":3}}';
    expect(bodyText(storeBody('decision', grown, head))).toBe(grown);
    expect(storeBody('decision', grown, head)).not.toEqual(deflateText(grown));
    const first = '{"approval":{"d":4},"input":{"a":1},"result":{"b":2}}';
    expect(storeBody('decision', first, head)).toEqual(deflateText(first));
    expect(storeBody('usage', grown, head)).toBe(grown);
  });
});
