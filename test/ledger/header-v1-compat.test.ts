import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { formatVerifierKey, keyFromPem, parseVerifierKey, verifierOf } from '../../src/ledger/keys.js';
import { readOrigin } from '../../src/ledger/meta.js';
import { queryEntries } from '../../src/ledger/query.js';
import { openLedgerReadOnly } from '../../src/ledger/read-only.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { openAsAttacker, sampleRecord } from './fixtures.js';

const record = (decisionId: string) => sampleRecord({ decisionId });

/**
 * What `gavel audit verify --ledger FILE [--pubkey K]` does to the chain, in this process (the CLI runs
 * below check the command; these let coverage and Stryker see header.ts): the read-only open, the
 * verifier key from the pubkey text or else from FILE.key, and verifyLedger.
 */
function verifyHere(path: string, pubkey?: string) {
  const db = openLedgerReadOnly(path);
  try {
    const key = pubkey ? parseVerifierKey(pubkey) : verifierOf(keyFromPem(readFileSync(`${path}.key`, 'utf8'), readOrigin(db)));
    return verifyLedger(db, { key });
  } finally {
    db.close();
  }
}

/**
 * A ledger file written before header version 2 (no `v`, no `kind`: every entry a decision,
 * hashed without kind) still verifies read-only, and a writer opening it migrates the table,
 * appends version-2 entries after the old ones, and the whole chain verifies.
 */
it('an old-format ledger verifies as it is, and goes on under the new header after a writer opens it', async () => {
  const path = join(tempDir(), 'old.db');
  const ledger = new SqliteLedger(ledgerConfig(path, { checkpointEvery: 1_000_000, checkpointSeconds: 3600 }));
  for (let i = 0; i < 3; i++) await ledger.append(record(`old-${i}`));
  const origin = ledger.origin;
  await ledger.close();

  // Make it what an older gavel wrote: drop the columns, rehash the chain as version 1, re-sign the checkpoint.
  const db = openAsAttacker(path);
  db.exec(
    'DROP INDEX entries_kind; ALTER TABLE entries DROP COLUMN kind; ALTER TABLE entries DROP COLUMN v; DELETE FROM checkpoints; DROP TABLE merkle_hashes',
  );
  // Older gavels kept no schema version (lib/sqlite-schema.ts): the file reads as never versioned.
  db.pragma('user_version = 0');
  let prev = '0'.repeat(64);
  for (const row of db.prepare('SELECT * FROM entries ORDER BY seq').all() as Array<Record<string, unknown>>) {
    const { time_ms: _t, entry_hash: _e, ...columns } = row;
    const header = { ...columns, v: 1, reason_codes: JSON.parse(row.reason_codes as string), prev_hash: prev };
    const hash = createHash('sha256')
      .update(Buffer.from(prev, 'hex'))
      .update(canonicalJson(header as never), 'utf8')
      .digest('hex');
    db.prepare('UPDATE entries SET prev_hash = ?, entry_hash = ? WHERE seq = ?').run(prev, hash, row.seq);
    prev = hash;
  }
  const key = keyFromPem(readFileSync(`${path}.key`, 'utf8'), origin);
  db.prepare('INSERT INTO checkpoints(size, head_hash, time, note) VALUES (3, ?, ?, ?)').run(
    prev,
    new Date().toISOString(),
    signCheckpoint({ origin, size: 3, headHash: prev, time: new Date().toISOString() }, key),
  );
  db.close();
  const columns = (new Database(path, { readonly: true }).prepare('PRAGMA table_info(entries)').all() as Array<{ name: string }>).map((c) => c.name);
  expect(columns).not.toContain('kind');

  // No Merkle tree yet either: older gavels kept none; a writer builds it over the old entries too.
  expect(verifyHere(path)).toEqual({ ok: true, entries: 3, headHash: prev, checkpointsChecked: 1, payloadsErased: 0, erasures: [], treeChecked: false });
  // Read as it is (no kind column), every entry is a decision.
  const asRead = openLedgerReadOnly(path);
  expect([...queryEntries(asRead, { order: 'asc' })].map((e) => e.kind)).toEqual(['decision', 'decision', 'decision']);
  asRead.close();
  const asIs = await runCli(['audit', 'verify', '--ledger', path]);
  expect(asIs.stderr).toBe('');
  expect(asIs.code).toBe(0);

  const reopened = new SqliteLedger(ledgerConfig(path));
  await reopened.append(record('new-1'));
  expect([...reopened.query({ order: 'asc' })].map((e) => [e.decisionId, e.kind])).toEqual([
    ['old-0', 'decision'],
    ['old-1', 'decision'],
    ['old-2', 'decision'],
    ['new-1', 'decision'],
  ]);
  const versions = reopened.db.prepare('SELECT v FROM entries ORDER BY seq').all() as Array<{ v: number }>;
  expect(versions.map((r) => r.v)).toEqual([1, 1, 1, 2]);
  await reopened.close();
  expect(verifyHere(path)).toMatchObject({ ok: true, entries: 4, treeChecked: true });
  const after = await runCli(['audit', 'verify', '--ledger', path]);
  expect(after.code).toBe(0);
  expect(after.stdout).toContain('4 entries');

  // kind is not hashed in a version-1 row, so it can only be "decision"; v itself is hashed, and only 1 and 2 are known.
  const pubkey = formatVerifierKey(verifierOf(keyFromPem(readFileSync(`${path}.key`, 'utf8'), origin)));
  expect((await runCli(['audit', 'pubkey', '--ledger', path])).stdout.trim()).toBe(pubkey);
  for (const [column, value, why] of [
    ['kind', 'policy', 'header changed: a version-1 entry has kind "policy", but only decisions were written before kinds were hashed'],
    ['v', 3, 'header changed: header version 3 is not one this ledger writes'],
    ['v', 2, 'header changed: entry_hash recorded '],
  ] as const) {
    const copy = join(tempDir(), 'flipped.db');
    const src = new Database(path, { readonly: true });
    await src.backup(copy);
    src.close();
    const attacker = openAsAttacker(copy);
    attacker.prepare(`UPDATE entries SET ${column} = ? WHERE seq = 2`).run(value);
    attacker.close();
    const here = verifyHere(copy, pubkey);
    expect(here, `${column}=${value}`).toMatchObject({ ok: false, entries: 1, failure: { seq: 2, kind: 'header_changed' } });
    expect(here.failure?.message, `${column}=${value}`).toContain(`seq 2: ${why}`);
    const flipped = await runCli(['audit', 'verify', '--ledger', copy, '--pubkey', pubkey]);
    expect(flipped.code, `${column}=${value}`).toBe(1);
    expect(flipped.stdout).toContain('FAILED at seq 2 (header_changed)');
  }
});
