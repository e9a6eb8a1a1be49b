import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { entryHash, GENESIS_HASH } from '../../src/ledger/hash.js';
import { headerOfRow, type EntryRow } from '../../src/ledger/header.js';
import { ephemeralKey, verifierOf } from '../../src/ledger/keys.js';
import { erasureRecord } from '../../src/ledger/erasure.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { verifyLedger, verifyLedgerAsync, type VerifyOptions, type VerifyReport } from '../../src/ledger/verify.js';
import { TRIGGERS } from './fixtures.js';

/**
 * The verifier's report, field by field, on small in-memory ledgers built in each
 * test (records appended straight to SqliteLedger, no engine): what it counts,
 * where it stops, how it names a broken link, and that it leaves the connection
 * usable. The file-level attacks through `gavel audit verify` are in tamper.test.ts.
 */

const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

function record(i: number, over: Partial<EntryRecord> = {}): EntryRecord {
  return {
    decisionId: `decision-${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    subjectId: `subject-${i % 3}`,
    subjectType: 'user',
    team: 'payments',
    costCenter: 'cc-1',
    actionType: 'model.invoke',
    resource: 'standard-m',
    decision: 'allow',
    reasonCodes: ['allowed', `r${i}`],
    bundle: 'fixtures',
    revision: 'rev-1',
    digest: 'sha256:00',
    entrypoint: 'fixtures/echo',
    requestId: `req-${i}`,
    caller: 'test',
    payload: { input: { n: i }, result: { decision: 'allow' } },
    salt: randomBytes(16),
    ...over,
  };
}

/** A fresh in-memory ledger with `n` entries appended one by one (a checkpoint every `every`). */
async function ledgerWith(n: number, every = 1000): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(ledgerConfig(':memory:', { checkpointEvery: every }));
  open.push(ledger);
  for (let i = 1; i <= n; i++) await ledger.append(record(i));
  return ledger;
}

/** Drops the append-only triggers, as someone with write access to the file would. */
function asAttacker(ledger: SqliteLedger): SqliteLedger {
  for (const t of TRIGGERS) ledger.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  return ledger;
}

function verify(ledger: SqliteLedger, extra: Partial<VerifyOptions> = {}): VerifyReport {
  return verifyLedger(ledger.db, { key: verifierOf(ledger.key), ...extra });
}

function row(ledger: SqliteLedger, seq: number): EntryRow {
  return ledger.db.prepare('SELECT * FROM entries WHERE seq = ?').get(seq) as EntryRow;
}

/** Rewrites entry `seq` with fields changed and its entry_hash recomputed to match (a consistent forgery of that row alone). */
function forgeRow(ledger: SqliteLedger, seq: number, change: Partial<EntryRow>): string {
  const r = { ...row(ledger, seq), ...change };
  const hash = entryHash(headerOfRow(r));
  const sets = Object.keys(change).map((k) => `${k} = @${k}`);
  ledger.db.prepare(`UPDATE entries SET ${[...sets, 'entry_hash = @entry_hash'].join(', ')} WHERE seq = @seq`).run({ ...change, entry_hash: hash, seq });
  return hash;
}

describe('an intact ledger', () => {
  it('reports its size, head, stored checkpoints and nothing erased', async () => {
    const ledger = await ledgerWith(7, 3);
    expect(ledger.db.prepare('SELECT size FROM checkpoints ORDER BY size').all()).toEqual([{ size: 3 }, { size: 6 }]);
    expect(verify(ledger)).toEqual({
      ok: true,
      entries: 7,
      headHash: ledger.headHash,
      checkpointsChecked: 2,
      payloadsErased: 0,
      erasures: [],
      treeChecked: true,
    });
  });

  it('an empty ledger verifies with the genesis hash as its head', async () => {
    const ledger = await ledgerWith(0);
    expect(verify(ledger)).toEqual({ ok: true, entries: 0, headHash: GENESIS_HASH, checkpointsChecked: 0, payloadsErased: 0, erasures: [], treeChecked: true });
  });

  it('an exported checkpoint it still extends counts as one more checkpoint checked', async () => {
    const ledger = await ledgerWith(4, 2);
    const exported = ledger.latestCheckpoint()!;
    expect(exported).toContain('\n4\n');
    await ledger.append(record(5));
    expect(verify(ledger, { externalCheckpoint: exported })).toEqual({
      ok: true,
      entries: 5,
      headHash: ledger.headHash,
      checkpointsChecked: 3,
      payloadsErased: 0,
      erasures: [],
      treeChecked: true,
    });
  });

  it('an erased payload is counted, with the erasure entry that erased it, and its header still verifies', async () => {
    const ledger = await ledgerWith(4);
    const r = await ledger.erase({ criteria: { before: '2026-01-01T00:00:04Z' }, reason: 'test', basis: 'retention', by: 'test' });
    expect(r.seqs).toEqual([[1, 3]]);
    expect(verify(ledger)).toEqual({
      ok: true,
      entries: 5,
      headHash: ledger.headHash,
      checkpointsChecked: 0,
      payloadsErased: 3,
      erasures: [5],
      treeChecked: true,
    });
  });

  it("an erasure entry not signed by the ledger's key (written by someone else, chain and all) is erasure_invalid", async () => {
    const ledger = await ledgerWith(3);
    const other = ephemeralKey('someone-else');
    const request = { criteria: { subject: 'subject-1' }, reason: 'forged', basis: 'other' as const, by: 'mallory' };
    await ledger.append(erasureRecord(request, [1], new Date(), (m) => sign(null, m, other.privateKey)));
    expect(verify(ledger).failure).toEqual({
      seq: 4,
      kind: 'erasure_invalid',
      message: "seq 4: the erasure entry is not signed by the ledger's key: gavel did not write it",
    });
  });

  it('a payload gone without an erasure entry naming it is payload_missing, at its seq', async () => {
    const ledger = asAttacker(await ledgerWith(4));
    ledger.db.prepare('DELETE FROM payloads WHERE seq IN (2, 3)').run();
    expect(verify(ledger).failure).toEqual({ seq: 2, kind: 'payload_missing', message: expect.stringContaining('no erasure entry names it') });
  });

  it('progress is reported once at the end for a small ledger, with the count from the same snapshot', async () => {
    const ledger = await ledgerWith(3);
    const calls: Array<[number, number]> = [];
    expect(verify(ledger, { onProgress: (done, total) => calls.push([done, total]) }).ok).toBe(true);
    expect(calls).toEqual([[3, 3]]);
  });

  it('the connection is left usable: no transaction stays open, and appends carry on', async () => {
    const ledger = await ledgerWith(2);
    verify(ledger);
    expect(ledger.db.inTransaction).toBe(false);
    expect((await ledger.append(record(3))).seq).toBe(3);
    expect(verify(ledger).entries).toBe(3);
  });

  it('the asynchronous walk gives the same report', async () => {
    const ledger = await ledgerWith(5, 2);
    expect(await verifyLedgerAsync(ledger.db, { key: verifierOf(ledger.key) })).toEqual(verify(ledger));
    expect(ledger.db.inTransaction).toBe(false);
  });
});

describe('a large ledger is walked in slices of 5000 rows', () => {
  it('progress after every 5000 rows and at the end; the asynchronous walk yields between slices', async () => {
    const ledger = new SqliteLedger(ledgerConfig(':memory:'));
    open.push(ledger);
    await Promise.all(Array.from({ length: 10_001 }, (_, i) => ledger.append(record(i + 1, { payload: { n: i }, reasonCodes: [] }))));
    const calls: Array<[number, number]> = [];
    expect(verify(ledger, { onProgress: (done, total) => calls.push([done, total]) }).entries).toBe(10_001);
    expect(calls).toEqual([
      [5000, 10_001],
      [10_000, 10_001],
      [10_001, 10_001],
    ]);

    // While the asynchronous walk yields, the event loop runs: a timer set before it fires before it ends.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const asyncCalls: number[] = [];
      const report = await verifyLedgerAsync(ledger.db, { key: verifierOf(ledger.key), onProgress: (done) => asyncCalls.push(done) });
      expect(report.ok).toBe(true);
      expect(asyncCalls).toEqual([5000, 10_000, 10_001]);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  }, 60_000);
});

describe('where a broken ledger stops, and what the report says', () => {
  it('time_ms edited alone (not hashed, but derived from time) -> header_changed', async () => {
    const ledger = asAttacker(await ledgerWith(4));
    ledger.db.prepare('UPDATE entries SET time_ms = time_ms + 1 WHERE seq = 3').run();
    const report = verify(ledger);
    expect(report).toMatchObject({ ok: false, entries: 2, headHash: row(ledger, 2).entry_hash, checkpointsChecked: 0, payloadsErased: 0 });
    expect(report.failure).toMatchObject({ seq: 3, kind: 'header_changed' });
    expect(report.failure!.message).toBe(`seq 3: header changed: entry_hash recorded ${row(ledger, 3).entry_hash}, recomputed ${row(ledger, 3).entry_hash}`);
  });

  it('an entry_hash edited on the last entry -> header_changed, naming both hashes', async () => {
    const ledger = asAttacker(await ledgerWith(3));
    const real = row(ledger, 3).entry_hash;
    const fake = 'f'.repeat(64);
    ledger.db.prepare('UPDATE entries SET entry_hash = ? WHERE seq = 3').run(fake);
    const report = verify(ledger);
    expect(report.failure).toEqual({ seq: 3, kind: 'header_changed', message: `seq 3: header changed: entry_hash recorded ${fake}, recomputed ${real}` });
  });

  it('a payload edited -> payload_changed, naming the recorded and recomputed hashes; erased entries before it are counted', async () => {
    const ledger = asAttacker(await ledgerWith(4));
    ledger.db.prepare('DELETE FROM payloads WHERE seq = 1').run();
    ledger.db.prepare(`UPDATE payloads SET body = '{"input":{"n":0}}' WHERE seq = 3`).run();
    const report = verify(ledger);
    expect(report).toMatchObject({ ok: false, entries: 2, payloadsErased: 1 });
    expect(report.failure!.seq).toBe(3);
    expect(report.failure!.kind).toBe('payload_changed');
    expect(report.failure!.message).toMatch(
      new RegExp(`^seq 3: payload changed: payload_hash recorded ${row(ledger, 3).payload_hash}, recomputed [0-9a-f]{64}$`),
    );
  });

  it('the first entry missing -> entry_missing at seq 1, naming the next present', async () => {
    const ledger = asAttacker(await ledgerWith(3));
    ledger.db.prepare('DELETE FROM entries WHERE seq = 1').run();
    const report = verify(ledger);
    expect(report).toMatchObject({ ok: false, entries: 0, headHash: GENESIS_HASH });
    expect(report.failure).toEqual({ seq: 1, kind: 'entry_missing', message: 'seq 1: entry is missing (the next entry present is seq 2)' });
  });

  it('a prev_hash that links nowhere -> chain_broken at that seq, naming both hashes', async () => {
    const ledger = asAttacker(await ledgerWith(4));
    const bogus = '1'.repeat(64);
    forgeRow(ledger, 3, { prev_hash: bogus });
    const report = verify(ledger);
    expect(report).toMatchObject({ ok: false, entries: 2 });
    expect(report.failure).toEqual({ seq: 3, kind: 'chain_broken', message: `seq 3: prev_hash recorded ${bogus}, expected ${row(ledger, 2).entry_hash}` });
  });

  it('a broken link on the last entry is chain_broken too (no next entry to compare)', async () => {
    const ledger = asAttacker(await ledgerWith(3));
    forgeRow(ledger, 3, { prev_hash: '2'.repeat(64) });
    expect(verify(ledger).failure).toMatchObject({ seq: 3, kind: 'chain_broken' });
  });

  it('an entry that links past its predecessor -> the predecessor was inserted (seq - 1)', async () => {
    // Entry 3 links to entry 1: entry 2 sits between them without belonging to the chain.
    const ledger = asAttacker(await ledgerWith(4));
    forgeRow(ledger, 3, { prev_hash: row(ledger, 1).entry_hash });
    const report = verify(ledger);
    expect(report.failure).toEqual({ seq: 2, kind: 'entry_inserted', message: 'seq 2: entry was inserted: entry 3 links past it to entry 1' });
    expect(report.entries).toBe(2);
  });

  it('an entry whose successor links past it to the head -> that entry was inserted', async () => {
    // Entry 2 is replaced by a forgery that links nowhere; entry 3 still links to entry 1.
    const ledger = asAttacker(await ledgerWith(4));
    const one = row(ledger, 1).entry_hash;
    forgeRow(ledger, 3, { prev_hash: one });
    forgeRow(ledger, 2, { prev_hash: '3'.repeat(64), subject_id: 'mallory' });
    const report = verify(ledger);
    expect(report.failure).toEqual({ seq: 2, kind: 'entry_inserted', message: 'seq 2: entry was inserted: entry 3 links past it' });
    expect(report).toMatchObject({ entries: 1, headHash: one });
  });

  it('two entries swapped -> order_changed at the first, naming both', async () => {
    const ledger = asAttacker(await ledgerWith(5));
    for (const t of ['entries', 'payloads']) {
      ledger.db.prepare(`UPDATE ${t} SET seq = -1 WHERE seq = 3`).run();
      ledger.db.prepare(`UPDATE ${t} SET seq = 3 WHERE seq = 4`).run();
      ledger.db.prepare(`UPDATE ${t} SET seq = 4 WHERE seq = -1`).run();
    }
    expect(verify(ledger).failure).toEqual({ seq: 3, kind: 'order_changed', message: 'seq 3: entries 3 and 4 are in swapped order' });
  });

  it('the first entry not linking to genesis -> chain_broken at seq 1 (there is no entry before it)', async () => {
    const ledger = asAttacker(await ledgerWith(2));
    forgeRow(ledger, 1, { prev_hash: '4'.repeat(64) });
    const report = verify(ledger);
    expect(report.failure).toMatchObject({ seq: 1, kind: 'chain_broken' });
    expect(report.entries).toBe(0);
  });
});

describe('a header column an attacker filled with garbage', () => {
  // reason_codes is parsed with JSON.parse to rebuild the hashed header: text that is not JSON once made
  // verifyLedger throw (and `gavel audit verify` fail as an internal error) instead of naming the seq.
  it('reason_codes that is not JSON -> header_changed at its seq, not an exception', async () => {
    const ledger = asAttacker(await ledgerWith(3));
    ledger.db.prepare(`UPDATE entries SET reason_codes = 'not json' WHERE seq = 2`).run();
    expect(verify(ledger).failure).toEqual({
      seq: 2,
      kind: 'header_changed',
      message: 'seq 2: header changed: reason_codes is not the JSON array that was hashed',
    });
  });

  it('reason_codes that is JSON but not the recorded array -> header_changed at its seq', async () => {
    const ledger = asAttacker(await ledgerWith(3));
    ledger.db.prepare(`UPDATE entries SET reason_codes = '"allowed"' WHERE seq = 2`).run();
    expect(verify(ledger).failure).toMatchObject({ seq: 2, kind: 'header_changed' });
  });
});

describe('checkpoints against the chain', () => {
  it('a stored checkpoint row holding the note of another size -> checkpoint_invalid at that row', async () => {
    const ledger = asAttacker(await ledgerWith(4, 2));
    const note2 = (ledger.db.prepare('SELECT note FROM checkpoints WHERE size = 2').get() as { note: string }).note;
    ledger.db.prepare('UPDATE checkpoints SET note = ? WHERE size = 4').run(note2);
    const report = verify(ledger);
    expect(report).toMatchObject({ ok: false, entries: 4, checkpointsChecked: 0 });
    expect(report.failure).toEqual({ seq: 4, kind: 'checkpoint_invalid', message: 'seq 4: checkpoint row 4 holds a note for size 2' });
  });

  it('a stored checkpoint with a bad signature -> checkpoint_invalid at its size', async () => {
    const ledger = asAttacker(await ledgerWith(4, 2));
    const forged = signCheckpoint({ origin: ledger.origin, size: 4, headHash: ledger.headHash, time: '2026-01-01T00:00:00.000Z' }, ephemeralKey(ledger.origin));
    ledger.db.prepare('UPDATE checkpoints SET note = ? WHERE size = 4').run(forged);
    const report = verify(ledger);
    expect(report.failure).toMatchObject({ seq: 4, kind: 'checkpoint_invalid' });
    expect(report.failure!.message).toMatch(/^seq 4: checkpoint at size 4 has no signature by /);
  });

  it('an exported checkpoint that does not verify -> checkpoint_invalid at seq 0, before any walking', async () => {
    const ledger = await ledgerWith(3);
    const forged = signCheckpoint({ origin: ledger.origin, size: 3, headHash: ledger.headHash, time: '2026-01-01T00:00:00.000Z' }, ephemeralKey(ledger.origin));
    const report = verify(ledger, { externalCheckpoint: forged });
    expect(report).toMatchObject({ ok: false, entries: 0, headHash: GENESIS_HASH, checkpointsChecked: 0 });
    expect(report.failure).toMatchObject({ seq: 0, kind: 'checkpoint_invalid' });
  });

  it('a stored checkpoint past the end -> tail_truncated, naming the missing range', async () => {
    const ledger = asAttacker(await ledgerWith(6, 3));
    ledger.db.prepare('DELETE FROM entries WHERE seq > 4').run();
    ledger.db.prepare('DELETE FROM payloads WHERE seq > 4').run();
    const report = verify(ledger);
    expect(report.failure).toEqual({
      seq: 5,
      kind: 'tail_truncated',
      message: 'seq 5: ledger ends at 4 entries but a signed checkpoint commits to 6; entries 5..6 are missing',
    });
    expect(report).toMatchObject({ entries: 4, checkpointsChecked: 0 });
  });

  it('an exported checkpoint at the very head verifies (not truncated)', async () => {
    const ledger = await ledgerWith(3);
    const exported = signCheckpoint({ origin: ledger.origin, size: 3, headHash: ledger.headHash, time: 't' }, ledger.key);
    expect(verify(ledger, { externalCheckpoint: exported })).toMatchObject({ ok: true, entries: 3, checkpointsChecked: 1 });
  });

  it("a checkpoint names the entries' Merkle root too: the right head with another root -> history_rewritten naming the root; a checkpoint from before the tree (no root) still verifies", async () => {
    const ledger = await ledgerWith(5);
    const note = ledger.checkpoint()!;
    expect(note.split('\n')[3]).toMatch(/^chain /);
    expect(verify(ledger, { externalCheckpoint: note })).toMatchObject({ ok: true, checkpointsChecked: 2 });
    const root = Buffer.from(note.split('\n')[2]!, 'base64').toString('hex');
    const forged = signCheckpoint({ origin: ledger.origin, size: 5, headHash: ledger.headHash, rootHash: 'b'.repeat(64), time: 't' }, ledger.key);
    const report = verify(ledger, { externalCheckpoint: forged });
    expect(report.failure).toEqual({
      seq: 5,
      kind: 'history_rewritten',
      message: `seq 5: the entries' Merkle root at size 5 is ${root} but the signed checkpoint says ${'b'.repeat(64)}; history was rewritten between seq 1 and 5`,
    });
    const beforeTree = signCheckpoint({ origin: ledger.origin, size: 5, headHash: ledger.headHash, time: 't' }, ledger.key);
    expect(beforeTree.split('\n')[2]).toBe(Buffer.from(ledger.headHash, 'hex').toString('base64'));
    expect(verify(ledger, { externalCheckpoint: beforeTree })).toMatchObject({ ok: true, checkpointsChecked: 2 });
  });

  it('an exported checkpoint that disagrees with a stored one of the same size -> history_rewritten after the last stored one below it', async () => {
    // The file was rolled back and regrown under the same key: the stored checkpoint at 4 matches the new chain,
    // the one exported before the rollback does not.
    const ledger = await ledgerWith(6, 2);
    const before = signCheckpoint({ origin: ledger.origin, size: 4, headHash: 'a'.repeat(64), time: 't' }, ledger.key);
    const report = verify(ledger, { externalCheckpoint: before });
    expect(report).toMatchObject({ ok: false, entries: 6, checkpointsChecked: 3 });
    expect(report.failure).toEqual({
      seq: 4,
      kind: 'history_rewritten',
      message: `seq 4: entry 4 has hash ${row(ledger, 4).entry_hash} but the signed checkpoint says ${'a'.repeat(64)}; history was rewritten between seq 3 and 4`,
    });
  });

  it('an exported checkpoint below every stored one blames history from seq 1', async () => {
    const ledger = await ledgerWith(6, 4);
    const before = signCheckpoint({ origin: ledger.origin, size: 2, headHash: 'b'.repeat(64), time: 't' }, ledger.key);
    expect(verify(ledger, { externalCheckpoint: before }).failure!.message).toMatch(/history was rewritten between seq 1 and 2$/);
  });

  it('an exported checkpoint between stored ones blames history after the stored one below it', async () => {
    const ledger = await ledgerWith(9, 3);
    const between = signCheckpoint({ origin: ledger.origin, size: 5, headHash: 'c'.repeat(64), time: 't' }, ledger.key);
    expect(verify(ledger, { externalCheckpoint: between }).failure!.message).toMatch(/history was rewritten between seq 4 and 5$/);
  });
});

describe('more ways a link breaks', () => {
  it('an entry deleted and the two after it swapped -> chain_broken where the first of them now sits, not order_changed', async () => {
    // 1, 2, 3, 4 -> 1, 4, 3: entry 4 links to 3 (its new successor), but 3 links to the deleted 2, not to 1.
    const ledger = asAttacker(await ledgerWith(4));
    const one = row(ledger, 1).entry_hash;
    const three = row(ledger, 3).entry_hash;
    for (const t of ['entries', 'payloads']) {
      ledger.db.prepare(`DELETE FROM ${t} WHERE seq = 2`).run();
      ledger.db.prepare(`UPDATE ${t} SET seq = 2 WHERE seq = 4`).run();
    }
    const report = verify(ledger);
    expect(report.failure).toEqual({ seq: 2, kind: 'chain_broken', message: `seq 2: prev_hash recorded ${three}, expected ${one}` });
  });
});

describe('checkpoints at size 0', () => {
  it('an exported checkpoint of the empty ledger (size 0, the genesis hash) is extended by the ledger', async () => {
    const ledger = await ledgerWith(3);
    const empty = signCheckpoint({ origin: ledger.origin, size: 0, headHash: GENESIS_HASH, time: 't' }, ledger.key);
    expect(verify(ledger, { externalCheckpoint: empty })).toMatchObject({ ok: true, entries: 3, checkpointsChecked: 1 });
  });

  it('a size-0 checkpoint with another head hash -> history_rewritten at 0', async () => {
    const ledger = await ledgerWith(1);
    const wrong = signCheckpoint({ origin: ledger.origin, size: 0, headHash: 'd'.repeat(64), time: 't' }, ledger.key);
    expect(verify(ledger, { externalCheckpoint: wrong }).failure).toMatchObject({ seq: 0, kind: 'history_rewritten' });
  });
});

describe('errors that are not about the ledger', () => {
  it('a database that refuses the walk (payloads table gone) throws; no ok:false report without a failure', async () => {
    const ledger = asAttacker(await ledgerWith(2));
    ledger.db.exec('DROP TABLE payloads');
    expect(() => verify(ledger)).toThrow(/no such table: payloads/);
    expect(ledger.db.inTransaction).toBe(false);
  });

  it('a note the key cannot check at all (a key of another type) is checkpoint_invalid naming why, not a crash', async () => {
    const ledger = await ledgerWith(2, 1);
    const { publicKey } = generateKeyPairSync('x25519');
    const report = verifyLedger(ledger.db, { key: { ...verifierOf(ledger.key), publicKey } });
    expect(report).toMatchObject({ ok: false, entries: 2, checkpointsChecked: 0 });
    expect(report.failure).toMatchObject({ seq: 1, kind: 'checkpoint_invalid' });
    expect(report.failure!.message).toMatch(/^seq 1: checkpoint note is malformed: .*operation not supported for this keytype/);
  });
});
