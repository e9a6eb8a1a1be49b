import { createHash, randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { allRows } from './fixtures.js';

/**
 * The chain exactly as hash.ts documents it, recomputed here by hand for entries
 * appended in this test: the first entry links to 32 zero bytes, payload_hash is
 * SHA-256(salt || JCS(payload)), entry_hash is SHA-256(prev_hash bytes || JCS(header))
 * over a header of v 1, seq and every indexed column. An auditor with only this
 * description must be able to check a ledger.
 */

const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

function record(i: number): EntryRecord {
  return {
    decisionId: `chain-${i}`,
    time: `2026-11-18T12:00:0${i}.000Z`,
    subjectId: `subject-${i}`,
    subjectType: 'agent',
    team: `team-${i}`,
    costCenter: `cc-${i}`,
    actionType: 'tool.call',
    resource: `tool-${i}`,
    decision: i % 2 ? 'deny' : 'allow',
    reasonCodes: [`code-${i}`, 'z', 'a'],
    bundle: `bundle-${i}`,
    revision: `rev-${i}`,
    digest: `sha256:${i}`,
    entrypoint: `gavel/e${i}`,
    requestId: `req-${i}`,
    caller: `caller-${i}`,
    // The third payload is long (over 1 KB): ledger/hash.ts hashes long and short payloads by different paths.
    payload: { input: { n: i, text: 'héllo ✓'.repeat(i === 3 ? 400 : 1) }, result: { decision: 'allow', reasons: [] } },
    salt: randomBytes(16),
  };
}

it('the first entry links to 32 zero bytes; every hash recomputes from the documented inputs', async () => {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  open.push(ledger);
  const records = [record(1), record(2), record(3)];
  for (const r of records) await ledger.append(r);
  const rows = allRows(ledger.db);
  expect(rows[0]!.prev_hash).toBe('0'.repeat(64));
  let prev = Buffer.alloc(32);
  rows.forEach((row, i) => {
    const r = records[i]!;
    expect(row.body).toBe(canonicalJson(r.payload));
    const payloadHash = createHash('sha256')
      .update(r.salt)
      .update(Buffer.from(canonicalJson(r.payload), 'utf8'))
      .digest('hex');
    expect(row.payload_hash).toBe(payloadHash);
    const header = {
      v: 2,
      seq: i + 1,
      kind: 'decision',
      decision_id: r.decisionId,
      time: r.time,
      subject_id: r.subjectId,
      subject_type: r.subjectType,
      team: r.team,
      cost_center: r.costCenter,
      action_type: r.actionType,
      resource: r.resource,
      decision: r.decision,
      reason_codes: r.reasonCodes,
      bundle: r.bundle,
      revision: r.revision,
      digest: r.digest,
      entrypoint: r.entrypoint,
      request_id: r.requestId,
      caller: r.caller,
      payload_hash: payloadHash,
      prev_hash: prev.toString('hex'),
    };
    const entryHash = createHash('sha256')
      .update(prev)
      .update(Buffer.from(canonicalJson(header), 'utf8'))
      .digest('hex');
    expect(row.prev_hash).toBe(prev.toString('hex'));
    expect(row.entry_hash).toBe(entryHash);
    expect(row.time_ms).toBe(Date.parse(r.time));
    prev = Buffer.from(entryHash, 'hex');
  });
  expect(ledger.headHash).toBe(prev.toString('hex'));
  expect(ledger.size).toBe(3);
});
