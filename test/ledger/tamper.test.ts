import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import { canonicalPayload, entryHash, payloadHash } from '../../src/ledger/hash.js';
import { insertEntrySql, type ChainHeader } from '../../src/ledger/header.js';
import { ephemeralKey } from '../../src/ledger/keys.js';
import { storedCount, storedIndex } from '../../src/ledger/merkle-store.js';
import { loadPackageDefinition } from '../../src/transport/proto.js';
import { clients, jsonInput, unary } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { verifyCommand } from '../../src/cli/audit.js';
import { runCli, startInProcess } from '../helpers/server.js';
import {
  allRows,
  copyLedger,
  coreOptions,
  decideVia,
  echoInput,
  headerOfRow,
  openAsAttacker,
  regrowTreeAsAttacker,
  TRIGGERS,
  type FullRow,
} from './fixtures.js';
import { editPayload } from '../helpers/payloads.js';

/**
 * A real 40-entry ledger built through the engine (checkpoints every 10), then
 * attacked the way someone with write access to the file would: drop the
 * append-only triggers, edit rows, recompute whatever hashes they can.
 * `gavel audit verify` must exit 1 and name the first bad seq and the kind of tampering.
 */
const SIZE = 40;
let pristine: string;
let exported: string;
let rows: FullRow[];
let origin: string;

const DECISIONS = ['allow', 'deny', 'require_approval', 'redact'] as const;

/** `gavel audit verify --json` prints gRPC VerifyResponse: its fields, in proto order. */
const VERIFY_RESPONSE_FIELDS = (loadPackageDefinition()['gavel.v1.VerifyResponse'] as unknown as { type: { field: Array<{ name: string }> } }).type.field.map(
  (f) => f.name,
);

beforeAll(async () => {
  pristine = join(tempDir('gavel-tamper-'), 'ledger.db');
  const core = await startRuntime(coreOptions(pristine, { ledgerOptions: { checkpointEvery: 10 } }));
  origin = core.parts.ledger.origin;
  for (let i = 0; i < SIZE; i++) {
    const decision = DECISIONS[i % 4]!;
    await decideVia(
      core,
      echoInput({
        subject: ['alice', 'bob', 'carol'][i % 3],
        team: i % 2 ? 'payments' : 'research',
        decision,
        reasons: [{ code: `code_${decision}`, rule: `r.${decision}`, effect: decision }],
        extra: { content: { prompt: `prompt number ${i}` } },
      }),
      `req-${i}`,
    );
    // A periodic checkpoint is signed once its WAL fsync returns: wait for it, so the next one starts from here.
    if ((i + 1) % 10 === 0) {
      const last = () => (core.parts.ledger.db.prepare('SELECT MAX(size) AS s FROM checkpoints').get() as { s: number | null }).s;
      await vi.waitFor(() => expect(last()).toBe(i + 1));
    }
  }
  await core.stop();
  const db = new Database(pristine, { readonly: true });
  rows = allRows(db);
  expect((db.prepare('SELECT size FROM checkpoints ORDER BY size').all() as Array<{ size: number }>).map((r) => r.size)).toEqual([10, 20, 30, 40]);
  db.close();
  const cp = await runCli(['audit', 'checkpoint', '--ledger', pristine]);
  expect(cp.code).toBe(0);
  exported = join(tempDir('gavel-cp-'), 'checkpoint.txt');
  writeFileSync(exported, cp.stdout);
});

/**
 * `gavel audit verify` run in-process through the CLI's own verifyCommand (same output and exit code as the
 * command; the end-to-end spawn is checked once below), so mutation testing sees the verifier at work.
 */
async function verify(ledger: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const flag = (name: string) => {
    const i = extra.indexOf(name);
    return i >= 0 ? extra[i + 1] : undefined;
  };
  const checkpoint = flag('--checkpoint');
  const pubkey = flag('--pubkey');
  const result = verifyCommand({ ledger, json: extra.includes('--json'), ...(checkpoint ? { checkpoint } : {}), ...(pubkey ? { pubkey } : {}) });
  return { ...result, stderr: '' };
}

/**
 * A fresh copy of the pristine ledger, opened without its triggers; `attack` edits it, then it is closed.
 * The attacker then grows the Merkle tree again over the entries as edited (regrowTreeAsAttacker), so
 * the tree agrees with them; `{ tree: 'as is' }` leaves it as the attack left it.
 */
function attacked(attack: (db: Database.Database, path: string) => void, o: { tree: 'regrown' | 'as is' } = { tree: 'regrown' }): string {
  const copy = copyLedger(pristine, 'gavel-attack-');
  const db = openAsAttacker(copy);
  try {
    db.transaction(() => {
      attack(db, copy);
      if (o.tree === 'regrown') regrowTreeAsAttacker(db);
    })();
  } finally {
    db.close();
  }
  return copy;
}

/** Moves rows of both tables from seq `from` on by `by`, through an offset so the primary key never collides. */
function shiftSeqs(db: Database.Database, from: number, by: number): void {
  for (const t of ['entries', 'payloads']) {
    db.prepare(`UPDATE ${t} SET seq = seq + 100000 WHERE seq >= ?`).run(from);
    db.prepare(`UPDATE ${t} SET seq = seq - 100000 + ? WHERE seq >= 100000`).run(by);
  }
}

/** Writes a row with correct hashes linking to `prev`; returns its entry_hash. */
function writeConsistent(
  db: Database.Database,
  header: Omit<ChainHeader, 'payload_hash' | 'prev_hash'>,
  payload: Record<string, any>,
  salt: Buffer,
  prev: string,
  time: string,
): string {
  const body = canonicalPayload(payload);
  const full: ChainHeader = { ...header, payload_hash: payloadHash(salt, body), prev_hash: prev };
  const hash = entryHash(full);
  db.prepare(insertEntrySql().replace('INSERT INTO', 'INSERT OR REPLACE INTO')).run({
    ...full,
    reason_codes: JSON.stringify(full.reason_codes),
    time_ms: Date.parse(time),
    entry_hash: hash,
  });
  db.prepare('INSERT OR REPLACE INTO payloads(seq, salt, body) VALUES (?, ?, ?)').run(full.seq, salt, body);
  return hash;
}

/** Rewrites entries after seq k (decisions flipped to allow) with fresh, internally consistent hashes. */
function rewriteAfter(db: Database.Database, k: number): void {
  let prev = rows[k - 1]!.entry_hash;
  for (const r of rows.slice(k)) {
    const payload = JSON.parse(r.body) as Record<string, any>;
    payload.result.decision = 'allow';
    payload.result.reasons = [{ code: 'allowed', message: '', rule: 'r.allow', effect: 'allow' }];
    const { payload_hash: _p, prev_hash: _h, ...header } = headerOfRow(r);
    prev = writeConsistent(db, { ...header, decision: 'allow', reason_codes: ['allowed'] }, payload, r.salt, prev, r.time);
  }
}

function expectFailure(result: { code: number | null; stdout: string; stderr: string }, seq: number, kind: string): void {
  expect(result.stdout, result.stderr).toMatch(new RegExp(`^FAILED at seq ${seq} \\(${kind}\\): seq ${seq}: `));
  expect(result.code).toBe(1);
}

describe('an untampered ledger', () => {
  it('verifies: exit 0, entry count, head hash, checkpoints', async () => {
    const head = rows[SIZE - 1]!.entry_hash;
    const plain = await verify(pristine);
    expect(plain.stdout).toBe(
      `ok: ${SIZE} entries, head ${head}, 4 checkpoints verified, the Merkle tree matches the entries; approval and usage tables agree with the chain\n`,
    );
    expect(plain.code).toBe(0);
    const withExported = await verify(pristine, '--checkpoint', exported);
    expect(withExported.stdout).toBe(
      `ok: ${SIZE} entries, head ${head}, 5 checkpoints verified, the Merkle tree matches the entries; approval and usage tables agree with the chain\n`,
    );
    expect(withExported.code).toBe(0);
  });

  it('--json prints a report that parses', async () => {
    const res = await verify(pristine, '--json', '--checkpoint', exported);
    expect(res.code).toBe(0);
    // The same fields, in the same order, as gRPC VerifyResponse.
    const report = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(report).toEqual({
      ok: true,
      entries: SIZE,
      head_hash: rows[SIZE - 1]!.entry_hash,
      checkpoints_checked: 5,
      failed_seq: 0,
      failure_kind: '',
      message: 'ledger verified',
      payloads_erased: 0,
      state_mismatches: [],
      tree_checked: true,
      witnessed_size: 0,
      witnessed_by: [],
      erasure_seqs: [],
    });
    expect(Object.keys(report)).toEqual(VERIFY_RESPONSE_FIELDS);
  });

  it('the attacker helpers alone change nothing: triggers dropped, file still verifies', async () => {
    const copy = attacked(() => undefined);
    const db = new Database(copy, { readonly: true });
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).all() as Array<{ name: string }>).map((r) => r.name);
    db.close();
    for (const t of TRIGGERS) expect(names).not.toContain(t);
    const res = await verify(copy, '--checkpoint', exported);
    expect(res.code).toBe(0);
  });
});

describe('each attack is caught and named', () => {
  it('a modified payload -> payload_changed at its seq', async () => {
    const copy = attacked((db) => {
      const payload = JSON.parse(rows[16]!.body) as Record<string, any>;
      payload.input.content.prompt = 'nothing to see here';
      db.prepare('UPDATE payloads SET body = ? WHERE seq = 17').run(canonicalPayload(payload));
    });
    expectFailure(await verify(copy), 17, 'payload_changed');
  });

  it('a modified decision in the header -> header_changed at its seq', async () => {
    expect(rows[22]!.decision).not.toBe('allow');
    const copy = attacked((db) => db.prepare(`UPDATE entries SET decision = 'allow' WHERE seq = 23`).run());
    expectFailure(await verify(copy), 23, 'header_changed');
  });

  it('a deleted middle entry -> entry_missing at its seq', async () => {
    const copy = attacked((db) => {
      db.prepare('DELETE FROM entries WHERE seq = 20').run();
      db.prepare('DELETE FROM payloads WHERE seq = 20').run();
    });
    expectFailure(await verify(copy), 20, 'entry_missing');
  });

  it('a deleted middle entry with the later seqs renumbered to close the gap -> caught at that seq', async () => {
    const copy = attacked((db) => {
      db.prepare('DELETE FROM entries WHERE seq = 20').run();
      db.prepare('DELETE FROM payloads WHERE seq = 20').run();
      shiftSeqs(db, 21, -1);
    });
    const res = await verify(copy);
    expect(res.stdout).toMatch(/^FAILED at seq 20 \((chain_broken|entry_missing)\)/);
    expect(res.code).toBe(1);
  });

  it('a forged entry inserted in the middle with correct hashes -> entry_inserted at its seq', async () => {
    const copy = attacked((db) => {
      shiftSeqs(db, 15, 1);
      const template = rows[13]!;
      const { payload_hash: _p, prev_hash: _h, ...header } = headerOfRow(template);
      const payload = JSON.parse(template.body) as Record<string, any>;
      payload.input.subject.id = 'mallory';
      writeConsistent(
        db,
        { ...header, seq: 15, decision_id: randomUUID(), subject_id: 'mallory', decision: 'allow', reason_codes: ['allowed'] },
        payload,
        randomBytes(16),
        template.entry_hash,
        template.time,
      );
    });
    const db = new Database(copy, { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n).toBe(SIZE + 1);
    expect(db.prepare('SELECT subject_id FROM entries WHERE seq = 15').get()).toEqual({ subject_id: 'mallory' });
    db.close();
    expectFailure(await verify(copy), 15, 'entry_inserted');
  });

  it('two entries swapped -> order_changed at the first of them', async () => {
    const copy = attacked((db) => {
      for (const t of ['entries', 'payloads']) {
        db.prepare(`UPDATE ${t} SET seq = -1 WHERE seq = 25`).run();
        db.prepare(`UPDATE ${t} SET seq = 25 WHERE seq = 26`).run();
        db.prepare(`UPDATE ${t} SET seq = 26 WHERE seq = -1`).run();
      }
    });
    const db = new Database(copy, { readonly: true });
    expect(db.prepare('SELECT decision_id FROM entries WHERE seq = 25').get()).toEqual({ decision_id: rows[25]!.decision_id });
    db.close();
    expectFailure(await verify(copy), 25, 'order_changed');
  });

  it('a truncated tail (entries and their checkpoints gone) passes alone but fails against the exported checkpoint -> tail_truncated', async () => {
    const copy = attacked((db) => {
      db.prepare('DELETE FROM entries WHERE seq > 35').run();
      db.prepare('DELETE FROM payloads WHERE seq > 35').run();
      db.prepare('DELETE FROM checkpoints WHERE size > 35').run();
    });
    const alone = await verify(copy);
    expect(alone.stdout).toMatch(/^ok: 35 entries/);
    expect(alone.code).toBe(0);
    const res = await verify(copy, '--checkpoint', exported);
    expectFailure(res, 36, 'tail_truncated');
    expect(res.stdout).toContain('entries 36..40 are missing');
  });

  it('a truncated tail whose stored checkpoint was left behind -> tail_truncated without an exported one', async () => {
    const copy = attacked((db) => {
      db.prepare('DELETE FROM entries WHERE seq > 35').run();
      db.prepare('DELETE FROM payloads WHERE seq > 35').run();
    });
    expectFailure(await verify(copy), 36, 'tail_truncated');
  });

  it('history rewritten after seq k with consistent hashes, later checkpoints deleted -> only the exported checkpoint catches it', async () => {
    const copy = attacked((db) => {
      rewriteAfter(db, 25);
      db.prepare('DELETE FROM checkpoints WHERE size > 25').run();
    });
    const alone = await verify(copy);
    expect(alone.stdout).toMatch(/^ok: 40 entries/);
    expect(alone.code).toBe(0);
    const res = await verify(copy, '--checkpoint', exported);
    expectFailure(res, 40, 'history_rewritten');
    // The stored checkpoints at 10 and 20 still match, so the rewrite lies after 20.
    expect(res.stdout).toContain('between seq 21 and 40');
  });

  it('history rewritten with the stored checkpoints kept -> history_rewritten at the first checkpoint after k', async () => {
    const copy = attacked((db) => rewriteAfter(db, 25));
    const res = await verify(copy);
    expectFailure(res, 30, 'history_rewritten');
    expect(res.stdout).toContain('between seq 21 and 30');
  });

  it('--json reports the failure', async () => {
    const copy = attacked((db) => db.prepare(`UPDATE entries SET team = 'nobody' WHERE seq = 5`).run());
    const res = await verify(copy, '--json');
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ ok: false, entries: 4, failed_seq: 5, failure_kind: 'header_changed' });
    expect(report.message).toMatch(/^seq 5: header changed/);
    expect(Object.keys(report)).toEqual(VERIFY_RESPONSE_FIELDS);
  });
});

describe('checkpoint signatures', () => {
  it('an exported checkpoint signed by a different key fails with checkpoint_invalid', async () => {
    const last = rows[SIZE - 1]!;
    const note = signCheckpoint({ origin, size: SIZE, headHash: last.entry_hash, time: new Date().toISOString() }, ephemeralKey(origin));
    const forged = join(tempDir(), 'forged.txt');
    writeFileSync(forged, note);
    expectFailure(await verify(pristine, '--checkpoint', forged), 0, 'checkpoint_invalid');
  });

  it('an exported checkpoint with an edited body fails its signature', async () => {
    const edited = join(tempDir(), 'edited.txt');
    writeFileSync(edited, readFileSync(exported, 'utf8').replace(/^(.*)\n40\n/, '$1\n39\n'));
    const res = await verify(pristine, '--checkpoint', edited);
    expectFailure(res, 0, 'checkpoint_invalid');
    expect(res.stdout).toContain('invalid signature');
  });

  it('a Merkle node changed -> tree_changed at the entry that completes it, naming the node', async () => {
    // Node (level 2, index 3) covers leaves 12..15: entries 13..16; entry 16 completes it.
    const copy = attacked((db) => db.prepare('UPDATE merkle_hashes SET hash = zeroblob(32) WHERE id = ?').run(storedIndex(2, 3)), { tree: 'as is' });
    const res = await verify(copy);
    expectFailure(res, 16, 'tree_changed');
    expect(res.stdout).toContain('node (level 2, index 3), completed by it, is stored as 0000');
  });

  it('a node deleted -> tree_changed at the entry that completes it; a node added past the entries -> tree_changed after the last', async () => {
    // Node (level 1, index 3) covers leaves 6 and 7: entry 8 completes it.
    const missing = attacked((db) => db.prepare('DELETE FROM merkle_hashes WHERE id = ?').run(storedIndex(1, 3)), { tree: 'as is' });
    const res = await verify(missing);
    expectFailure(res, 8, 'tree_changed');
    expect(res.stdout).toContain('node (level 1, index 3), completed by it, is missing');
    const extra = attacked((db) => db.prepare('INSERT INTO merkle_hashes(id, hash) VALUES (?, zeroblob(32))').run(storedCount(SIZE)), { tree: 'as is' });
    expectFailure(await verify(extra), SIZE + 1, 'tree_changed');
  });

  it('a node stored as text or a number, or a tree table rebuilt without its columns -> tree_changed, never a crash', async () => {
    const text = attacked((db) => db.prepare("UPDATE merkle_hashes SET hash = 'text' WHERE id = ?").run(storedIndex(1, 1)), { tree: 'as is' });
    expectFailure(await verify(text), 4, 'tree_changed');
    const number = attacked((db) => db.prepare('UPDATE merkle_hashes SET hash = 42 WHERE id = ?').run(storedIndex(1, 0)), { tree: 'as is' });
    expectFailure(await verify(number), 2, 'tree_changed');
    const rebuilt = attacked((db) => db.exec('DROP TABLE merkle_hashes; CREATE TABLE merkle_hashes (x INTEGER)'), { tree: 'as is' });
    const res = await verify(rebuilt);
    expectFailure(res, 1, 'tree_changed');
    expect(res.stdout).toContain('the Merkle tree cannot be read');
  });

  it('the tree removed while checkpoints sign its roots -> tree_changed at the first of them', async () => {
    const copy = attacked((db) => db.exec('DROP TABLE merkle_hashes'), { tree: 'as is' });
    const res = await verify(copy);
    expectFailure(res, 10, 'tree_changed');
    expect(res.stdout).toContain('the tree was removed');
  });

  it('an entry edited with its chain recomputed but the tree left alone -> tree_changed there, before any checkpoint', async () => {
    const copy = attacked((db) => rewriteAfter(db, 25), { tree: 'as is' });
    expectFailure(await verify(copy), 26, 'tree_changed');
  });

  it('a full rewrite re-signed with a swapped key file passes on its own key but fails against the published verifier key', async () => {
    const published = (await runCli(['audit', 'pubkey', '--ledger', pristine])).stdout.trim();
    const copy = attacked((db, path) => {
      rewriteAfter(db, 1);
      db.prepare('DELETE FROM checkpoints').run();
      const own = ephemeralKey(origin);
      writeFileSync(`${path}.key`, own.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      for (const size of [10, 20, 30, 40]) {
        const head = (db.prepare('SELECT entry_hash FROM entries WHERE seq = ?').get(size) as { entry_hash: string }).entry_hash;
        const cp = { origin, size, headHash: head, time: new Date().toISOString() };
        db.prepare('INSERT INTO checkpoints(size, head_hash, time, note) VALUES (?, ?, ?, ?)').run(size, head, cp.time, signCheckpoint(cp, own));
      }
    });
    const own = await verify(copy);
    expect(own.code).toBe(0);
    const res = await verify(copy, '--pubkey', published);
    expectFailure(res, 10, 'checkpoint_invalid');
    expect(res.stdout).toContain(`no signature by ${origin}`);
    expectFailure(await verify(copy, '--pubkey', published, '--checkpoint', exported), 10, 'checkpoint_invalid');
  });
});

describe('the gRPC Verify on a live ledger', () => {
  it('reports tampering done under a running server, which then keeps recording decisions', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess(coreOptions(ledger));
    const c = clients(srv.address);
    try {
      for (let i = 0; i < 5; i++) await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: `live-${i}` })));
      const attacker = openAsAttacker(ledger);
      editPayload(attacker, 3, (text) => text.replace('live-2', 'evil-2'));
      attacker.close();
      const report = await unary(c.audit, 'Verify', {});
      expect(report).toMatchObject({ ok: false, entries: 2, failed_seq: 3, failure_kind: 'payload_changed' });
      expect(report.message).toMatch(/^seq 3: payload changed/);
      // The walk stopped mid-statement; the connection must be free again for appends.
      const next = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'after' })));
      expect(Number(next.receipt.seq)).toBe(6);
      const again = await unary(c.audit, 'Verify', {});
      expect(again).toMatchObject({ ok: false, failed_seq: 3 });
      // The CLI's --json is the same message, field for field.
      const cli = await runCli(['audit', 'verify', '--ledger', ledger, '--json']);
      expect(cli.code).toBe(1);
      expect(JSON.parse(cli.stdout)).toEqual(again);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
