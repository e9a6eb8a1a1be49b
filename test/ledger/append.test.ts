import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/lib/canonical.js';
import { startRuntime } from '../../src/runtime.js';
import { GENESIS_HASH } from '../../src/ledger/hash.js';
import { clients, jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { allRows, coreOptions, decideVia, echoInput, recomputeEntryHash, recomputePayloadHash, type EntryRow } from './fixtures.js';
import { payloadText } from '../helpers/payloads.js';

const count = (db: Database.Database) => (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
const rowById = (db: Database.Database, id: string) => db.prepare('SELECT * FROM entries WHERE decision_id = ?').get(id) as EntryRow | undefined;

describe('Decide over gRPC appends one ledger entry per decision', () => {
  let srv: InProcessServer;
  let c: Clients;
  /** Transactions committed (the ledger's own hook runs once per transaction, just before COMMIT). */
  let commits = 0;
  const decide = (input: unknown) => unary(c.decision, 'Decide', jsonInput(input));

  beforeAll(async () => {
    srv = await startInProcess(coreOptions(join(tempDir(), 'ledger.db'), { ledgerFaults: { beforeCommit: () => void commits++ } }));
    c = clients(srv.address);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
  });

  it('each Decide adds exactly one entry, seq contiguous from 1, and the receipt is the stored row', async () => {
    const db = srv.core.parts.ledger.db;
    expect(count(db)).toBe(0);
    const decisions = ['allow', 'deny', 'require_approval', 'redact', 'deny'];
    for (const [i, decision] of decisions.entries()) {
      const res = await decide(echoInput({ subject: `user-${i}`, decision, reasons: [{ code: `code_${i}`, rule: `r.${i}`, effect: decision }] }));
      expect(count(db)).toBe(i + 1);
      expect(Number(res.receipt.seq)).toBe(i + 1);
      const row = rowById(db, res.decision_id)!;
      expect(row).toMatchObject({
        seq: i + 1,
        entry_hash: res.receipt.entry_hash,
        subject_id: `user-${i}`,
        decision,
        reason_codes: JSON.stringify([`code_${i}`]),
      });
      expect(res.decision).toBe(`DECISION_${decision.toUpperCase()}`);
    }
    const seqs = (db.prepare('SELECT seq FROM entries ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(srv.core.parts.ledger.size).toBe(5);
  });

  it('300 concurrent Decides are all recorded, seqs unique and contiguous, in far fewer transactions than entries', async () => {
    const db = srv.core.parts.ledger.db;
    const before = count(db);
    const commitsBefore = commits;
    {
      const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => decide(echoInput({ subject: `burst-${i}` }))));
      expect(count(db)).toBe(before + 300);
      const seqs = responses.map((r) => Number(r.receipt.seq)).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => before + 1 + i));
      for (const r of responses) expect(rowById(db, r.decision_id)).toMatchObject({ seq: Number(r.receipt.seq), entry_hash: r.receipt.entry_hash });
      // One transaction per group commit: 300 calls in flight share a handful of them.
      expect(commits - commitsBefore).toBeGreaterThanOrEqual(1);
      expect(commits - commitsBefore).toBeLessThanOrEqual(60);
    }
  });

  it('payload_hash and entry_hash recompute as hash.ts documents, and each entry links to its predecessor', () => {
    const rows = allRows(srv.core.parts.ledger.db);
    expect(rows.length).toBeGreaterThan(300);
    let prev = GENESIS_HASH;
    for (const r of rows) {
      expect(r.salt).toHaveLength(16);
      // The stored body is already the JCS form, so the hash is over exactly these bytes.
      expect(canonicalJson(JSON.parse(r.body))).toBe(r.body);
      expect(recomputePayloadHash(r.salt, r.body)).toBe(r.payload_hash);
      expect(r.prev_hash).toBe(prev);
      expect(recomputeEntryHash(r)).toBe(r.entry_hash);
      expect(r.time_ms).toBe(Date.parse(r.time));
      prev = r.entry_hash;
    }
  });

  it('the payload holds the input and the result, with the service time in context.now', async () => {
    const res = await decide(echoInput({ subject: 'dora', decision: 'deny', reasons: [{ code: 'over_budget', rule: 'r.budget', effect: 'deny' }] }));
    const payload = JSON.parse(payloadText(srv.core.parts.ledger.db, Number(res.receipt.seq))) as { input: Record<string, any>; result: Record<string, any> };
    expect(payload.input.subject).toEqual({ id: 'dora', team: 'payments', type: 'user' });
    expect(payload.input.context.now).toBe(res.evaluated_at);
    expect(payload.result).toEqual({
      decision: 'deny',
      reasons: [{ code: 'over_budget', message: '', rule: 'r.budget', effect: 'deny' }],
      redactions: [],
      obligations: {},
    });
  });

  it('sensitive paths are stored as {"sha256": salted hash} only', async () => {
    const phone = '+1 555 0100 7788';
    const input = echoInput({
      subject: 'erin',
      extra: { content: { phone, note: 'keep me' } },
      result: { decision: 'allow', reasons: [{ code: 'allowed', effect: 'allow' }], sensitive_paths: ['/content/phone'] },
    });
    const res = await decide(input);
    const row = allRows(srv.core.parts.ledger.db).find((r) => r.seq === Number(res.receipt.seq))!;
    expect(row.body).not.toContain(phone);
    const stored = JSON.parse(row.body) as { input: { content: Record<string, unknown> } };
    const expected = createHash('sha256').update(row.salt).update(canonicalJson(phone)).digest('hex');
    expect(stored.input.content.phone).toEqual({ sha256: expected });
    expect(stored.input.content.note).toBe('keep me');
  });
});

describe('the stored payload is the redacted input', () => {
  it('the redacted value appears nowhere in the SQLite files, the marker does', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess(coreOptions(ledger));
    const c = clients(srv.address);
    const secret = 'bob@example.com';
    // The echo fixture takes its instructions from input.result, which would itself carry the match;
    // the policy marks /result sensitive so only its salted hash is stored.
    const input = echoInput({
      subject: 'frank',
      extra: { content: { prompt: `please email ${secret} the Q3 numbers, cc ${secret}` } },
      result: { redactions: [{ path: '/content/prompt', kind: 'email', match: secret }], sensitive_paths: ['/result'] },
    });
    const files = () => [ledger, `${ledger}-wal`].filter(existsSync).map((f) => readFileSync(f));
    try {
      const res = await unary(c.decision, 'Decide', jsonInput(input));
      expect(res.decision).toBe('DECISION_REDACT');
      for (let i = 0; i < 5; i++) await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: `filler-${i}` })));
      const body = payloadText(srv.core.parts.ledger.db, Number(res.receipt.seq));
      expect(JSON.parse(body).input.content.prompt).toBe('please email [REDACTED:email] the Q3 numbers, cc [REDACTED:email]');
      expect(JSON.parse(body).result.redactions).toEqual([{ path: '/content/prompt', kind: 'email' }]);
      // While open, the entry lives in the WAL; a decision's payload is stored deflated, so it is read back as text too.
      expect(Buffer.concat(files()).includes(secret)).toBe(false);
      expect(allRows(srv.core.parts.ledger.db).filter((r) => r.body.includes(secret))).toEqual([]);
    } finally {
      c.close();
      await srv.stop();
    }
    const closed = files();
    expect(closed.length).toBeGreaterThanOrEqual(1);
    const bytes = Buffer.concat(closed);
    expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
    const db = new Database(ledger, { readonly: true });
    try {
      const texts = allRows(db).map((r) => r.body);
      expect(texts.filter((t) => t.includes('[REDACTED:email]'))).toHaveLength(1);
      expect(texts.filter((t) => t.includes(secret))).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('append-only triggers', () => {
  it('UPDATE and DELETE abort on entries, payloads and checkpoints; the rows stay as they were', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const core = await startRuntime(coreOptions(ledger));
    for (let i = 0; i < 3; i++) await decideVia(core, echoInput({ subject: `t-${i}` }));
    await core.stop(); // signs a checkpoint at size 3
    const db = new Database(ledger);
    try {
      const snapshot = () => JSON.stringify([allRows(db), db.prepare('SELECT * FROM checkpoints').all()]);
      const before = snapshot();
      expect((db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n).toBe(1);
      const attempts = [
        `UPDATE entries SET decision = 'allow' WHERE seq = 2`,
        `UPDATE entries SET seq = 10 WHERE seq = 3`,
        `DELETE FROM entries WHERE seq = 3`,
        `DELETE FROM entries`,
        `UPDATE payloads SET body = '{}' WHERE seq = 1`,
        `UPDATE checkpoints SET head_hash = 'x'`,
        `DELETE FROM checkpoints`,
      ];
      for (const sql of attempts) expect(() => db.exec(sql), sql).toThrow(/append-only/);
      // A payload is deleted only by an erasure, on the writer's connection: elsewhere the trigger's condition cannot even be read.
      expect(() => db.exec('DELETE FROM payloads WHERE seq = 1')).toThrow(/no such function: gavel_erasing/);
      expect(snapshot()).toBe(before);
    } finally {
      db.close();
    }
  });
});

describe('a failed append gives no answer', () => {
  it('Decide fails UNAVAILABLE with nothing written, and the next Decide succeeds', async () => {
    const disk = diskFault();
    const srv = await startInProcess({ ...coreOptions(join(tempDir(), 'ledger.db')), ledgerFaults: disk.faults });
    const c = clients(srv.address);
    const db = srv.core.parts.ledger.db;
    try {
      const first = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'ok-1' })));
      disk.full = true;
      const err = await unaryError(c.decision, 'Decide', jsonInput(echoInput({ subject: 'lost', decision: 'deny', reasons: [{ code: 'x', effect: 'deny' }] })));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.metadata.get('gavel-error-code')).toEqual(['ledger_unavailable']);
      expect(err.details).not.toContain('disk full');
      expect(count(db)).toBe(1);
      expect(db.prepare(`SELECT COUNT(*) AS n FROM entries WHERE subject_id = 'lost'`).get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT COUNT(*) AS n FROM payloads').get()).toEqual({ n: 1 });
      expect(srv.core.parts.ledger.size).toBe(1);

      disk.full = false;
      const next = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'ok-2' })));
      expect(Number(next.receipt.seq)).toBe(2);
      const row = rowById(db, next.decision_id)!;
      expect(row.prev_hash).toBe(first.receipt.entry_hash);
      expect(row.entry_hash).toBe(next.receipt.entry_hash);
      const verified = await unary(c.audit, 'Verify', {});
      expect(verified).toMatchObject({ ok: true, entries: 2, head_hash: next.receipt.entry_hash });
    } finally {
      c.close();
      await srv.stop();
    }
  });

  it('a failed batch rejects every decision in it and leaves the chain head where it was', async () => {
    const disk = diskFault();
    const core = await startRuntime({ ...coreOptions(join(tempDir(), 'ledger.db')), ledgerFaults: disk.faults });
    try {
      await decideVia(core, echoInput());
      disk.full = true;
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => decideVia(core, echoInput())));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      expect(count(core.parts.ledger.db)).toBe(1);
      disk.full = false;
      const after = await Promise.all(Array.from({ length: 10 }, () => decideVia(core, echoInput())));
      expect(after.map((d) => d.receipt.seq).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    } finally {
      await core.stop();
    }
  });
});

describe('group commit', () => {
  it('appends queued in one turn share one transaction; maxBatch splits them', async () => {
    for (const [maxBatch, transactions] of [
      [1024, 1],
      [64, 5],
    ] as const) {
      let commits = 0;
      const core = await startRuntime(
        coreOptions(join(tempDir(), 'ledger.db'), { ledgerOptions: { maxBatch }, ledgerFaults: { beforeCommit: () => void commits++ } }),
      );
      try {
        const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => decideVia(core, echoInput({ subject: `g-${i}` }))));
        expect(commits).toBe(transactions);
        expect(new Set(decisions.map((d) => d.receipt.seq)).size).toBe(300);
        expect(count(core.parts.ledger.db)).toBe(300);
      } finally {
        await core.stop();
      }
    }
  });
});

describe('durability modes', () => {
  it.each([
    ['full', 2],
    ['normal', 1],
  ] as const)('%s sets PRAGMA synchronous=%i in WAL mode', async (durability, expected) => {
    const core = await startRuntime(coreOptions(join(tempDir(), 'ledger.db'), { ledgerOptions: { durability } }));
    try {
      expect(core.parts.ledger.db.pragma('synchronous', { simple: true })).toBe(expected);
      expect(core.parts.ledger.db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await core.stop();
    }
  });
});

/** A disk that fails every COMMIT while `full` is set (fault injected from outside the ledger). */
function diskFault() {
  const state = {
    full: false,
    faults: {
      beforeCommit: () => {
        if (state.full) throw new Error('disk full');
      },
    },
  };
  return state;
}
