import { afterEach, expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { wireEntry } from '../../src/ledger/header.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { sampleRecord } from './fixtures.js';

/**
 * The wire form of an entry (gRPC Entry, `gavel audit query --json`) names every
 * field by its column and carries the stored value: what a script reads is what
 * the chain hashed.
 */

const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

const record = sampleRecord();

it('every column of the stored row, under its column name, with reason_codes as the array', async () => {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  open.push(ledger);
  await ledger.append({ ...record, decisionId: 'first' });
  const receipt = await ledger.append(record);
  const stored = ledger.db.prepare('SELECT * FROM entries WHERE seq = ?').get(receipt.seq) as Record<string, unknown>;
  const { time_ms: _derived, v: _version, ...columns } = stored;
  const wire = wireEntry(ledger.get('decision-wire')!);
  expect(wire).toEqual({ ...columns, reason_codes: ['pii_email', 'allowed'] });
  expect(wire).toMatchObject({ seq: 2, decision_id: 'decision-wire', cost_center: 'cc-1', request_id: 'req-1', entry_hash: receipt.entryHash });
  expect(Object.keys(wire)).toHaveLength(21);
  expect(wire.kind).toBe('decision');
  // The queried summaries map the same way.
  const [latest] = [...ledger.query({ limit: 1 })];
  expect(wireEntry(latest!)).toEqual(wire);
});
