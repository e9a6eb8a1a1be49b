import { commitStaged, recordingLedger } from './helpers.js';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import type { PolicyOutcome } from '../../src/engine/result.js';
import type { JsonObject } from '../../src/lib/json.js';
import { usageConfig, type UsageConfig } from '../../src/usage/config.js';
import { Meter } from '../../src/usage/meter.js';
import { usageFactsOf } from '../../src/engine/usage-facts.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';

/**
 * The meter between the engine and the usage store: the usage context a policy
 * sees, the estimate of a model call, and the rows a decision stages (its
 * request, and a reservation priced at the model that will run). Prices are
 * this test's own table, so every expected number is worked out here: "std"
 * costs 2 per 1k input tokens and 10 per 1k output tokens (2,000 and 10,000
 * micro-units a token), "cheap" 1 micro-unit a token, "tiny" 1 micro-unit per 1k.
 */

const NOW = new Date('2026-11-18T12:00:00Z');

function bundle(pricing: JsonObject | undefined = PRICING): Bundle {
  return {
    name: 'prices',
    revision: 'r1',
    digest: 'sha256:prices',
    manifest: { revision: 'r1', roots: [], wasm: [] } as unknown as Bundle['manifest'],
    wasm: new Uint8Array(),
    data: pricing ? { gavel: { pricing } } : {},
    entrypoints: [],
  };
}

const PRICING: JsonObject = {
  currency: 'EUR',
  models: {
    std: { tier: 'standard', input_per_1k: '2', output_per_1k: '10' },
    cheap: { tier: 'economy', input_per_1k: '0.001', output_per_1k: '0.001' },
    tiny: { tier: 'economy', input_per_1k: '0.000001', output_per_1k: '0' },
  },
};

function meter(config: Partial<UsageConfig> = {}) {
  const db = new Database(':memory:');
  const store = new SqliteUsageStore(db, usageConfig({ defaultMaxTokens: 500, reservationTtlSeconds: 90, ...config }));
  const ledger = recordingLedger(db);
  return { db, store, ledger, meter: new Meter(store, ledger) };
}

function call(over: { model?: string; params?: JsonObject; content?: JsonObject; type?: string; subject?: JsonObject } = {}): JsonObject {
  return {
    subject: over.subject ?? { id: 'alice', team: 'platform', cost_center: 'cc-1' },
    action: { type: over.type ?? 'model.invoke', model: over.model ?? 'std', params: over.params ?? { max_tokens: 100 } },
    content: over.content ?? { prompt: 'x'.repeat(40) },
  };
}

function outcome(decision: PolicyOutcome['decision'], obligations: JsonObject = {}): PolicyOutcome {
  return { decision, reasons: [], redactions: [], obligations, sensitivePaths: [] };
}

/** Runs context then stage, as the engine does; returns the context and what was staged (undefined: nothing written). */
async function decide(m: ReturnType<typeof meter>, input: JsonObject, out: PolicyOutcome, id = 'd1') {
  const { context, snapshot } = await m.meter.context(usageFactsOf(input), bundle(), NOW);
  const staged = await m.meter.stage({ decisionId: id, facts: usageFactsOf(input), outcome: out, bundle: bundle(), now: NOW, caller: 'test' }, snapshot);
  if (staged) {
    commitStaged(m.db, staged);
  }
  return { context, staged };
}

describe('the estimate a policy sees', () => {
  it('prompt characters / 4 (rounded up) plus max_tokens, priced from the table', async () => {
    const m = meter();
    const { context } = await m.meter.context(usageFactsOf(call({ content: { prompt: 'x'.repeat(41) } })), bundle(), NOW);
    // 11 input tokens x 2,000 + 100 output x 10,000 = 1,022,000 micro-units.
    expect(context.estimate).toEqual({ model: 'std', tier: 'standard', tokens: 111, cost: 1.022 });
  });

  it('a cost below one micro-unit is rounded up, never down to nothing', async () => {
    const m = meter();
    const { context } = await m.meter.context(usageFactsOf(call({ model: 'tiny', content: { prompt: 'x'.repeat(44) } })), bundle(), NOW);
    expect(context.estimate).toEqual({ model: 'tiny', tier: 'economy', tokens: 111, cost: 0.000001 });
  });

  it('every string of the content counts, at any depth', async () => {
    const m = meter();
    const content: JsonObject = { messages: [{ role: 'user', text: 'abcd' }, { parts: ['efgh', 3, null] }], system: 'ij' };
    const { context } = await m.meter.context(usageFactsOf(call({ content })), bundle(), NOW);
    // 'user' + 'abcd' + 'efgh' + 'ij' = 14 characters -> 4 tokens.
    expect((context.estimate as JsonObject).tokens).toBe(104);
  });

  it('no content: output tokens only', async () => {
    const m = meter();
    const input = call();
    delete input.content;
    expect(((await m.meter.context(usageFactsOf(input), bundle(), NOW)).context.estimate as JsonObject).tokens).toBe(100);
  });

  it.each([
    ['absent', 500, {}],
    ['zero', 500, { max_tokens: 0 }],
    ['negative', 500, { max_tokens: -5 }],
    ['a string', 500, { max_tokens: '100' }],
    ['fractional (rounded up)', 11, { max_tokens: 10.2 }],
    ['a billion and more (capped)', 1_000_000_000, { max_tokens: 5e12 }],
  ] as const)('max_tokens %s -> %d output tokens', async (_name, output, params) => {
    const m = meter();
    const { context } = await m.meter.context(usageFactsOf(call({ params: params as JsonObject, content: { prompt: '' } })), bundle(), NOW);
    expect((context.estimate as JsonObject).tokens).toBe(output);
  });

  it('params that are not an object: the default max_tokens', async () => {
    const m = meter();
    const input = call({ content: { prompt: '' } });
    (input.action as JsonObject).params = [100];
    expect(((await m.meter.context(usageFactsOf(input), bundle(), NOW)).context.estimate as JsonObject).tokens).toBe(500);
  });

  it('no estimate for a model without a price, a call without a model, or an action that is not a model call', async () => {
    const m = meter();
    for (const input of [call({ model: 'unpriced' }), call({ model: '' }), call({ type: 'tool.call' })]) {
      expect((await m.meter.context(usageFactsOf(input), bundle(), NOW)).context).not.toHaveProperty('estimate');
    }
  });

  it('usage of all three scopes and the history, in the table’s currency or else the configured one', async () => {
    const m = meter({ currency: 'CHF' });
    await decide(m, call(), outcome('allow'), 'earlier');
    const { context } = await m.meter.context(usageFactsOf(call()), bundle(), NOW);
    const usage = context.usage as JsonObject;
    expect(usage.currency).toBe('EUR');
    for (const scope of ['subject', 'team', 'cost_center']) expect(((usage[scope] as JsonObject).day as JsonObject).reserved_tokens).toBe(110);
    expect(context.history).toEqual({ requests_last_minute: 1, denials_last_hour: 0, tool_calls_last_minute: {} });
    expect(((await m.meter.context(usageFactsOf(call()), bundle(null as unknown as undefined), NOW)).context.usage as JsonObject).currency).toBe('CHF');
  });

  it('the scopes are read for the caller’s own subject, team and cost center', async () => {
    const m = meter();
    await decide(m, call({ subject: { id: 'bob', team: 'research', cost_center: 'cc-2' } }), outcome('allow'), 'bob-1');
    const usage = (await m.meter.context(usageFactsOf(call()), bundle(), NOW)).context.usage as JsonObject;
    for (const scope of ['subject', 'team', 'cost_center']) expect(((usage[scope] as JsonObject).day as JsonObject).tokens).toBe(0);
    const bobs = (await m.meter.context(usageFactsOf(call({ subject: { id: 'bob', team: 'research', cost_center: 'cc-2' } })), bundle(), NOW)).context
      .usage as JsonObject;
    for (const scope of ['subject', 'team', 'cost_center']) expect(((bobs[scope] as JsonObject).day as JsonObject).tokens).toBe(110);
  });
});

describe('what a decision stages', () => {
  it('an allowed model call reserves its estimate against every budget, until the TTL', async () => {
    const m = meter();
    await decide(m, call(), outcome('allow'));
    expect(await m.store.charge('d1')).toEqual({
      decisionId: 'd1',
      subject: 'alice',
      team: 'platform',
      costCenter: 'cc-1',
      model: 'std',
      tier: 'standard',
      state: 'reserved',
      tokens: 110,
      costMicros: 1_020_000,
      inputTokens: null,
      outputTokens: null,
      atMs: NOW.getTime(),
      maxOutputTokens: 100,
      estimatedInputTokens: 10,
      caller: 'test',
      askedModel: 'std',
    });
    expect((await m.store.usage('team', 'platform', NOW.getTime() + 89_999)).day.reserved_tokens).toBe(110);
    expect((await m.store.usage('team', 'platform', NOW.getTime() + 90_000)).day.reserved_tokens).toBe(0);
  });

  it('a call that stated no max_tokens is reserved at the default, with no output limit recorded', async () => {
    const m = meter();
    await decide(m, call({ params: {} }), outcome('allow'));
    expect(await m.store.charge('d1')).toMatchObject({ tokens: 510, maxOutputTokens: null, estimatedInputTokens: 10 });
  });

  it('a fractional max_tokens is recorded as the limit it was rounded up to', async () => {
    const m = meter();
    await decide(m, call({ params: { max_tokens: 7.5 } }), outcome('allow'));
    expect(await m.store.charge('d1')).toMatchObject({ tokens: 18, maxOutputTokens: 8 });
  });

  it('redact and require_approval reserve too; deny does not', async () => {
    const m = meter();
    await decide(m, call(), outcome('redact'), 'red');
    await decide(m, call(), outcome('require_approval'), 'appr');
    await decide(m, call(), outcome('deny'), 'deny');
    expect((await m.store.charge('red'))?.state).toBe('reserved');
    expect((await m.store.charge('appr'))?.state).toBe('reserved');
    expect(await m.store.charge('deny')).toBeUndefined();
  });

  it('a tier-down obligation reserves at the routed model’s price', async () => {
    const m = meter();
    await decide(m, call(), outcome('allow', { route: { model: 'cheap' } }));
    // cheap: 10 x 1 + 100 x 1 = 110 micro-units.
    expect(await m.store.charge('d1')).toMatchObject({ model: 'cheap', tier: 'economy', tokens: 110, costMicros: 110 });
  });

  it('a route without a model, or to a model without a price, falls back or reserves nothing', async () => {
    const m = meter();
    await decide(m, call(), outcome('allow', { route: { tier: 'economy' } }), 'no-model');
    await decide(m, call(), outcome('allow', { route: { model: 'unpriced' } }), 'unpriced');
    expect(await m.store.charge('no-model')).toMatchObject({ model: 'std' });
    expect(await m.store.charge('unpriced')).toBeUndefined();
  });

  it('a route whose model is not a string is ignored: the call is reserved at the model it asked for', async () => {
    for (const model of [5, { name: 'cheap' }, ['cheap'], true]) {
      const m = meter();
      await decide(m, call(), outcome('allow', { route: { model } }));
      expect(await m.store.charge('d1')).toMatchObject({ model: 'std', tier: 'standard', costMicros: 1_020_000 });
    }
  });

  it('calls that are not priced model calls record the request only', async () => {
    const m = meter();
    const tool: JsonObject = { subject: { id: 'alice', team: 'platform', cost_center: 'cc-1' }, action: { type: 'tool.call', tool: 'search', model: 'std' } };
    await decide(m, tool, outcome('allow'), 'tool');
    await decide(m, call({ model: 'unpriced' }), outcome('allow'), 'unpriced');
    expect(await m.store.charge('tool')).toBeUndefined();
    expect(await m.store.charge('unpriced')).toBeUndefined();
    expect(await m.store.history('alice', NOW.getTime())).toEqual({ requests_last_minute: 2, denials_last_hour: 0, tool_calls_last_minute: { search: 1 } });
  });

  it('the request records the decision and the capability (the tool for a tool call)', async () => {
    const m = meter();
    const tool: JsonObject = { subject: { id: 'alice' }, action: { type: 'tool.call', tool: 'mail.send' } };
    await decide(m, tool, outcome('deny'), 't1');
    expect(await m.store.history('alice', NOW.getTime())).toEqual({
      requests_last_minute: 1,
      denials_last_hour: 1,
      tool_calls_last_minute: { 'mail.send': 1 },
    });
  });

  it('a snapshot that went stale stages nothing: the engine must decide again', async () => {
    const m = meter();
    const input = call();
    const { snapshot } = await m.meter.context(usageFactsOf(input), bundle(), NOW);
    await decide(m, call(), outcome('allow'), 'concurrent');
    expect(
      await m.meter.stage({ decisionId: 'late', facts: usageFactsOf(input), outcome: outcome('allow'), bundle: bundle(), now: NOW, caller: 'test' }, snapshot),
    ).toBeUndefined();
    expect(await m.store.charge('late')).toBeUndefined();
  });

  it('a snapshot covers the subject’s history too: another decision of the same subject makes it stale', async () => {
    const m = meter();
    const input = call();
    const { snapshot } = await m.meter.context(usageFactsOf(input), bundle(), NOW);
    // A denied tool call: no reservation, only the subject's request history moves.
    await decide(m, { subject: { id: 'alice' }, action: { type: 'tool.call', tool: 'x' } }, outcome('deny'), 'other');
    expect(
      await m.meter.stage({ decisionId: 'late', facts: usageFactsOf(input), outcome: outcome('allow'), bundle: bundle(), now: NOW, caller: 'test' }, snapshot),
    ).toBeUndefined();
  });

  it('a snapshot is stale after a reservation of the same team or cost center by another subject', async () => {
    for (const subject of [
      { id: 'bob', team: 'platform', cost_center: 'other' },
      { id: 'bob', team: 'other', cost_center: 'cc-1' },
    ]) {
      const m = meter();
      const input = call();
      const { snapshot } = await m.meter.context(usageFactsOf(input), bundle(), NOW);
      await decide(m, call({ subject }), outcome('allow'), 'bob');
      expect(
        await m.meter.stage(
          { decisionId: 'late', facts: usageFactsOf(input), outcome: outcome('allow'), bundle: bundle(), now: NOW, caller: 'test' },
          snapshot,
        ),
      ).toBeUndefined();
    }
  });

  it('release drops the decision’s live reservation', async () => {
    const m = meter();
    await decide(m, call(), outcome('allow'));
    await m.meter.release('d1', 'gateway');
    expect(await m.store.charge('d1')).toBeUndefined();
    // The release is an entry of its own: the chain still sums to the budgets.
    expect(m.ledger.records.map((r) => [r.kind, r.decision, r.requestId])).toEqual([['usage', 'released', 'd1']]);
  });

  it('release records nothing for a decision without a reservation, or one already settled or released', async () => {
    const m = meter();
    await m.meter.release('unknown', 'gateway');
    await decide(m, call(), outcome('allow'));
    await m.meter.release('d1', 'gateway');
    await m.meter.release('d1', 'gateway');
    expect(m.ledger.records.map((r) => [r.decision, r.requestId])).toEqual([['released', 'd1']]);
    await decide(m, call(), outcome('allow'), 'd2');
    await m.store.settle(
      {
        subject: 'alice',
        team: 'platform',
        costCenter: 'cc-1',
        decisionId: 'd2',
        model: 'std',
        tier: 'standard',
        inputTokens: 1,
        outputTokens: 1,
        costMicros: 12_000,
        atMs: NOW.getTime(),
      },
      (_charge, staged) => m.ledger.append({} as never, staged),
    );
    m.ledger.records.length = 0;
    await m.meter.release('d2', 'gateway');
    expect(m.ledger.records).toEqual([]);
    expect((await m.store.charge('d2'))?.state).toBe('settled');
  });
});
