import { describe, expect, it } from 'vitest';
import { policyEventRecord, type PolicyEvent } from '../../src/engine/policy-event.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { policyStatus } from '../../src/ledger/policy-status.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';

/**
 * The live policy as the ledger's policy events tell it (`gavel policy status`, PolicyService),
 * read in this process: which bundles are active (sorted, with source, signer and entrypoints),
 * and the refusals since each bundle's last activation, newest first, five kept per bundle.
 */
const T0 = Date.parse('2026-12-01T10:00:00Z');

async function ledgerOf(events: PolicyEvent[]): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  for (const [i, e] of events.entries()) await ledger.append(policyEventRecord(e, new Date(T0 + i * 1000)));
  return ledger;
}

describe('policy status from the chain', () => {
  it('lists the active bundles sorted by name, each as its last activation recorded it', async () => {
    const ledger = await ledgerOf([
      { result: 'activated', bundle: 'tools', revision: 't-1', digest: 'sha256:t1', entrypoints: ['gavel/tools/decision'], source: 'start', signer: 'k1' },
      {
        result: 'activated',
        bundle: 'ai',
        revision: 'a-1',
        digest: 'sha256:a1',
        entrypoints: ['gavel/ai/decision', 'gavel/ai/shadow'],
        source: 'folder:/srv/bundles',
      },
      {
        result: 'activated',
        bundle: 'ai',
        revision: 'a-2',
        digest: 'sha256:a2',
        entrypoints: ['gavel/ai/decision'],
        source: 'https://bundles.example/ai.tar.gz',
        signer: 'k2',
      },
    ]);
    expect(policyStatus(ledger.db).active).toEqual([
      {
        bundle: 'ai',
        revision: 'a-2',
        digest: 'sha256:a2',
        source: 'https://bundles.example/ai.tar.gz',
        signer: 'k2',
        entrypoints: ['gavel/ai/decision'],
        activatedAt: new Date(T0 + 2000).toISOString(),
        seq: 3,
      },
      {
        bundle: 'tools',
        revision: 't-1',
        digest: 'sha256:t1',
        source: 'start',
        signer: 'k1',
        entrypoints: ['gavel/tools/decision'],
        activatedAt: new Date(T0).toISOString(),
        seq: 1,
      },
    ]);
    await ledger.close();
  });

  it('drops a deactivated bundle; keeps refusals since the last activation, newest first, five per bundle', async () => {
    const refused = (bundle: string, n: number): PolicyEvent => ({ result: 'refused', bundle, source: `folder:/b/${n}`, reason: `bad ${n}` });
    const ledger = await ledgerOf([
      { result: 'activated', bundle: 'ai', revision: 'a-1', source: 'start' },
      { result: 'activated', bundle: 'old', revision: 'o-1', source: 'start' },
      refused('ai', 1), // forgotten: ai is activated again after it
      { result: 'activated', bundle: 'ai', revision: 'a-2', source: 'start' },
      { result: 'deactivated', bundle: 'old', revision: 'o-1', source: 'folder:/b', reason: 'removed' },
      ...[2, 3, 4, 5, 6, 7, 8].map((n) => refused('never', n)),
      refused('ai', 9),
    ]);
    const status = policyStatus(ledger.db);
    expect(status.active.map((b) => [b.bundle, b.revision])).toEqual([['ai', 'a-2']]);
    expect(status.refusals.map((r) => [r.bundle, r.reason, r.seq])).toEqual([
      ['ai', 'bad 9', 13],
      ['never', 'bad 8', 12],
      ['never', 'bad 7', 11],
      ['never', 'bad 6', 10],
      ['never', 'bad 5', 9],
      ['never', 'bad 4', 8],
    ]);
    expect(status.refusals[0]).toMatchObject({ source: 'folder:/b/9', time: new Date(T0 + 12_000).toISOString() });
    await ledger.close();
  });

  it('reads what a payload lacks or holds of another type as empty, never as the other type', async () => {
    const ledger = new SqliteLedger(ledgerConfig(':memory:'));
    const record = policyEventRecord({ result: 'activated', bundle: 'ai', revision: 'a-1', source: 'start' }, new Date(T0));
    const payloadJcs = JSON.stringify({ event: { entrypoints: ['gavel/ai/decision', 7, null], source: 42, signer: ['k'] } });
    await ledger.append({ ...record, payloadJcs });
    expect(policyStatus(ledger.db).active[0]).toMatchObject({ source: '', signer: '', entrypoints: ['gavel/ai/decision'] });
    const bare = new SqliteLedger(ledgerConfig(':memory:'));
    await bare.append({
      ...policyEventRecord({ result: 'activated', bundle: 'ai', source: 'start' }, new Date(T0)),
      payloadJcs: JSON.stringify({ event: 'activated' }),
    });
    expect(policyStatus(bare.db).active[0]).toMatchObject({ source: '', signer: '', entrypoints: [] });
    await ledger.close();
    await bare.close();
  });
});
