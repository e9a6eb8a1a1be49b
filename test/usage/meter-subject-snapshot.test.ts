import { commitStaged, recordingLedger, withoutEntry } from './helpers.js';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import type { PolicyOutcome } from '../../src/engine/result.js';
import { usageConfig } from '../../src/usage/config.js';
import { Meter } from '../../src/usage/meter.js';
import { usageFactsOf } from '../../src/engine/usage-facts.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';

/**
 * A snapshot covers the subject's own budget, not only its history: a report that
 * settles an earlier call of the same subject, charged to another team and cost
 * center, moves nothing but the subject's budget, and must still make the snapshot stale.
 */
const NOW = new Date('2026-11-18T12:00:00Z');
const prices: Bundle = {
  name: 'prices',
  revision: 'r1',
  digest: 'sha256:prices',
  manifest: { revision: 'r1', roots: [], wasm: [] } as unknown as Bundle['manifest'],
  wasm: new Uint8Array(),
  data: { gavel: { pricing: { currency: 'EUR', models: { std: { tier: 'standard', input_per_1k: '2', output_per_1k: '10' } } } } },
  entrypoints: [],
};
const allow: PolicyOutcome = { decision: 'allow', reasons: [], redactions: [], obligations: {}, sensitivePaths: [] };
const facts = (team: string, costCenter: string) =>
  usageFactsOf({
    subject: { id: 'alice', team, cost_center: costCenter },
    action: { type: 'model.invoke', model: 'std', params: { max_tokens: 10 } },
    content: { prompt: 'hello' },
  });

it('a settlement of the same subject under another team and cost center makes the subject’s snapshot stale', async () => {
  const db = new Database(':memory:');
  const store = new SqliteUsageStore(db, usageConfig());
  const meter = new Meter(store, recordingLedger(db));
  // An earlier call of alice's, charged elsewhere (she moved teams), still unreported.
  const earlier = await meter.stage(
    { decisionId: 'earlier', facts: facts('old-team', 'old-cc'), outcome: allow, bundle: prices, now: NOW, caller: 'test' },
    (await meter.context(facts('old-team', 'old-cc'), prices, NOW)).snapshot,
  );
  commitStaged(db, earlier!);

  const { snapshot } = await meter.context(facts('platform', 'cc-1'), prices, NOW);
  const settled = await store.settle(
    {
      subject: 'alice',
      team: 'old-team',
      costCenter: 'old-cc',
      decisionId: 'earlier',
      model: 'std',
      tier: 'standard',
      inputTokens: 2,
      outputTokens: 10,
      costMicros: 104_000,
      atMs: NOW.getTime(),
    },
    withoutEntry(db),
  );
  expect(settled.kind).toBe('settled');
  expect(
    await meter.stage({ decisionId: 'late', facts: facts('platform', 'cc-1'), outcome: allow, bundle: prices, now: NOW, caller: 'test' }, snapshot),
  ).toBeUndefined();
});
