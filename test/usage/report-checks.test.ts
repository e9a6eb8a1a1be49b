import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import type { JsonObject } from '../../src/lib/json.js';
import { usageConfig } from '../../src/usage/config.js';
import { parsePriceTable } from '../../src/usage/pricing.js';
import { applyReport, type ReportContext, type UsageReportInput } from '../../src/usage/report.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { Reservation } from '../../src/usage/store.js';
import { releaseRecord, settlementRecord } from '../../src/usage/usage-entries.js';
import { sampleRecord } from '../ledger/fixtures.js';
import { storeReservation } from './helpers.js';

/**
 * A usage report's checks, each with the message a caller reads (usage/report.ts), on a real
 * embedded store and ledger: who may report, the model, the tokens, the price and the cost bound.
 */
const who = { subject: 's1', team: 't1', costCenter: 'c1' };
const T0 = Date.parse('2026-11-20T10:00:00Z');

function bundle(name: string, pricing: JsonObject): Bundle {
  return {
    name,
    revision: 'r1',
    digest: 'sha256:x',
    manifest: {} as Bundle['manifest'],
    wasm: new Uint8Array(),
    data: { gavel: { pricing } },
    entrypoints: [],
  };
}
const PRICED = bundle('ai', {
  currency: 'EUR',
  models: {
    'standard-m': { tier: 'standard', input_per_1k: '0.001', output_per_1k: '0.002' },
    'frontier-xl': { tier: 'premium', input_per_1k: '0.01', output_per_1k: '0.02' },
  },
});

type Recorded = ReturnType<ReportContext['findDecision']>;

async function setup(opts: { bundles?: Bundle[]; recorded?: Record<string, Recorded> } = {}) {
  const ledger = new SqliteLedger(ledgerConfig(':memory:', { checkpointEvery: 1_000_000, checkpointSeconds: 3600 }));
  const store = new SqliteUsageStore(ledger.db, usageConfig());
  const ctx: ReportContext = {
    store,
    bundles: opts.bundles ?? [PRICED],
    currency: 'USD',
    findDecision: (id) => opts.recorded?.[id],
    reportFactor: 2,
    ledger,
    now: () => new Date(T0 + 60_000),
  };
  const reserve = async (id: string, over: Partial<Reservation> = {}) => {
    const r = storeReservation(id, T0, who, over);
    await ledger.append(
      sampleRecord({ decisionId: id }),
      store.stage({ request: { decisionId: id, subject: who.subject, tool: '', decision: 'allow', atMs: T0 }, reservation: r }),
    );
  };
  /** A charge from before reservations named who asked, the model asked for or the report limits (those columns NULL). */
  const asOlderRow = (id: string, columns = ['caller', 'asked_model', 'estimated_input_tokens', 'max_output_tokens']) =>
    ledger.db.prepare(`UPDATE usage_charges SET ${columns.map((c) => `${c} = NULL`).join(', ')} WHERE decision_id = ?`).run(id);
  return { ledger, store, ctx, reserve, asOlderRow };
}

const report = (over: Partial<UsageReportInput> = {}): UsageReportInput => ({
  decisionId: 'd1',
  ...who,
  model: 'standard-m',
  inputTokens: 100,
  outputTokens: 200,
  cost: '',
  reporter: 'gateway',
  ...over,
});

const refusal = async (p: Promise<unknown>) => {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; message: string } | undefined;
  if (!err) throw new Error('the report was accepted');
  return { code: err.code, message: err.message };
};

describe('a usage report is refused', () => {
  it('for a decision the ledger does not hold, or one recorded without a charge (not an allowed model call)', async () => {
    const { ctx } = await setup({
      recorded: {
        denied: { decision: 'deny', actionType: 'model.invoke', resource: 'standard-m', caller: 'gateway' },
        odd: { decision: 'allow', actionType: '', resource: '', caller: 'gateway' },
      },
    });
    expect(await refusal(applyReport(ctx, report({ decisionId: 'nowhere' })))).toEqual({
      code: 'decision_not_found',
      message: 'no decision nowhere in the ledger',
    });
    expect(await refusal(applyReport(ctx, report({ decisionId: 'denied' })))).toEqual({
      code: 'invalid_report',
      message: 'decision denied was deny for model.invoke; only an allowed model call can be reported',
    });
    expect((await refusal(applyReport(ctx, report({ decisionId: 'odd' })))).message).toBe(
      'decision odd was allow for an action; only an allowed model call can be reported',
    );
  });

  it('from another caller, the charge naming who asked or, for an older row, the ledger entry', async () => {
    const { ctx, reserve, asOlderRow } = await setup({
      recorded: { d2: { decision: 'allow', actionType: 'model.invoke', resource: 'standard-m', caller: 'gateway' } },
    });
    await reserve('d1');
    expect(await refusal(applyReport(ctx, report({ reporter: 'intruder' })))).toEqual({
      code: 'permission_denied',
      message: 'decision d1 was asked for by another caller; only the caller that asked may report its usage',
    });
    await reserve('d2');
    asOlderRow('d2');
    expect((await refusal(applyReport(ctx, report({ decisionId: 'd2', reporter: 'intruder' })))).code).toBe('permission_denied');
    expect((await applyReport(ctx, report({ decisionId: 'd2' }))).duplicate).toBe(false);
    // An older row whose entry this replica does not hold: nobody can show they asked.
    await reserve('d3');
    asOlderRow('d3');
    expect((await refusal(applyReport(ctx, report({ decisionId: 'd3' })))).code).toBe('permission_denied');
  });

  it('for a model the decision did not allow; the model asked for and the one routed to are both allowed', async () => {
    const { ctx, reserve, asOlderRow } = await setup();
    await reserve('d1', { model: 'standard-m', askedModel: 'frontier-xl' }); // a tier-down
    expect(await refusal(applyReport(ctx, report({ model: 'other-model' })))).toEqual({
      code: 'invalid_report',
      message: 'model "other-model" is not the model decision d1 allowed (standard-m or frontier-xl)',
    });
    expect((await applyReport(ctx, report({ model: 'frontier-xl' }))).cost).toBe('0.005');
    // An older row without the model asked for, whose entry this replica does not hold: only the reserved model.
    await reserve('d2');
    asOlderRow('d2', ['asked_model']);
    expect((await refusal(applyReport(ctx, report({ decisionId: 'd2', model: 'frontier-xl' })))).message).toBe(
      'model "frontier-xl" is not the model decision d2 allowed (standard-m)',
    );
  });

  it('echoing a long model name cut at 64 characters, with its length', async () => {
    const { ctx, reserve } = await setup();
    await reserve('d1');
    const long = 'm'.repeat(100);
    expect((await refusal(applyReport(ctx, report({ model: long })))).message).toBe(
      `model "${'m'.repeat(64)}… (100 characters)" is not the model decision d1 allowed (standard-m)`,
    );
    const sixtyFour = 'n'.repeat(64);
    expect((await refusal(applyReport(ctx, report({ model: sixtyFour })))).message).toBe(
      `model "${sixtyFour}" is not the model decision d1 allowed (standard-m)`,
    );
  });

  it('for a model no active bundle prices; the first bundle that prices it gives its currency', async () => {
    const unpriced = bundle('other', { models: { 'frontier-xl': { tier: 'premium', input_per_1k: '0.01', output_per_1k: '0.02' } } });
    const { ctx, reserve } = await setup({ bundles: [unpriced] });
    await reserve('d1');
    expect(await refusal(applyReport(ctx, report()))).toEqual({
      code: 'invalid_report',
      message: 'model "standard-m" has no price in the active bundles, so no report for it can be checked',
    });
    // Priced in the second bundle only, in its currency; a table without one is in the server's.
    ctx.bundles = [unpriced, PRICED];
    expect(await applyReport(ctx, report())).toMatchObject({ cost: '0.0005', currency: 'EUR', tokens: 300 });
    const noCurrency = bundle('plain', { models: { 'standard-m': { tier: 'standard', input_per_1k: '0.001', output_per_1k: '0.002' } } });
    const other = await setup({ bundles: [noCurrency] });
    await other.reserve('d1');
    expect(await applyReport(other.ctx, report())).toMatchObject({ currency: 'USD' });
  });

  it('for tokens past the limits the decision set; at the limits, and without limits, it is taken', async () => {
    const { ctx, reserve, asOlderRow } = await setup();
    await reserve('d1', { maxOutputTokens: 256, estimatedInputTokens: 5_000 });
    expect(await refusal(applyReport(ctx, report({ outputTokens: 257 })))).toEqual({
      code: 'invalid_report',
      message: 'output_tokens 257 exceeds the max_tokens 256 decision d1 allowed',
    });
    expect(await refusal(applyReport(ctx, report({ inputTokens: 10_001 })))).toEqual({
      code: 'invalid_report',
      message: "input_tokens 10001 is more than the bound 10000 (2x the decision's estimate, at least 2x4096)",
    });
    expect(await applyReport(ctx, report({ inputTokens: 10_000, outputTokens: 256 }))).toMatchObject({ tokens: 10_256 });
    // An older row without limits: any count is taken.
    await reserve('d2');
    asOlderRow('d2', ['estimated_input_tokens', 'max_output_tokens']);
    expect(await applyReport(ctx, report({ decisionId: 'd2', inputTokens: 50_000, outputTokens: 9_000 }))).toMatchObject({ tokens: 59_000 });
  });

  it('for a cost over the bound; a cost at the bound is taken', async () => {
    const { ctx, reserve } = await setup();
    await reserve('d1');
    await reserve('d2');
    // 100 in + 200 out of standard-m: 0.0005; the bound is 2x.
    expect(await refusal(applyReport(ctx, report({ cost: '0.001001' })))).toEqual({
      code: 'invalid_report',
      message: "cost 0.001001 is more than 2x the price table's 0.0005 for 100+200 tokens of standard-m (bound 0.001)",
    });
    expect(await applyReport(ctx, report({ decisionId: 'd2', cost: '0.001' }))).toMatchObject({ cost: '0.001' });
  });

  it('with a field missing (blank counts as missing) or a token count that is not a non-negative integer; zero is one', async () => {
    const { ctx, reserve } = await setup();
    expect(await refusal(applyReport(ctx, report({ subject: '  ', model: '' })))).toEqual({
      code: 'invalid_report',
      message: 'usage report is missing subject, model',
    });
    expect((await refusal(applyReport(ctx, report({ outputTokens: -1 })))).message).toBe('output_tokens must be a non-negative integer, got -1');
    await reserve('d1');
    expect(await applyReport(ctx, report({ inputTokens: 0, outputTokens: 0 }))).toMatchObject({ cost: '0', tokens: 0 });
  });

  it('when its charge goes between the check and the settlement (released meanwhile): as an unknown decision', async () => {
    const { ctx, store, reserve } = await setup();
    await reserve('d1');
    ctx.store = Object.assign(Object.create(store) as SqliteUsageStore, {
      charge: async (id: string) => {
        const charge = await store.charge(id);
        await store.release(id);
        return charge;
      },
    });
    expect(await refusal(applyReport(ctx, report()))).toEqual({ code: 'decision_not_found', message: 'no decision d1 in the ledger' });
  });
});

describe('the entries a report and a release record', () => {
  it('say what happened in their header, with no policy and no subject type', async () => {
    const { store, reserve } = await setup();
    await reserve('d1');
    const charge = (await store.charge('d1'))!;
    const now = new Date(T0 + 60_000);
    const settled = settlementRecord(
      charge,
      { ...who, decisionId: 'd1', model: 'standard-m', tier: 'standard', inputTokens: 1, outputTokens: 2, costMicros: 3, atMs: T0 },
      'gateway',
      now,
    );
    const header = {
      kind: 'usage',
      time: now.toISOString(),
      subjectId: 's1',
      subjectType: '',
      team: 't1',
      costCenter: 'c1',
      resource: 'standard-m',
      reasonCodes: [],
      bundle: '',
      revision: '',
      digest: '',
      entrypoint: '',
      requestId: 'd1',
      caller: 'gateway',
    };
    expect(settled).toMatchObject({ ...header, actionType: 'usage.settled', decision: 'settled' });
    expect(releaseRecord(charge, 'gavel', now)).toMatchObject({ ...header, caller: 'gavel', actionType: 'usage.released', decision: 'released' });
  });
});

describe('a price table', () => {
  it('reads prices given as numbers or decimal strings, a model without a tier as unknown, and nothing from a table without models', () => {
    const table = parsePriceTable({ currency: 'EUR', models: { a: { input_per_1k: 0.5, output_per_1k: '0.25' }, b: 'not a price' } });
    expect(table.currency).toBe('EUR');
    expect([...table.models]).toEqual([['a', { tier: 'unknown', inputPer1kMicros: 500_000, outputPer1kMicros: 250_000 }]]);
    expect(parsePriceTable({ models: 'none' })).toEqual({ currency: undefined, models: new Map() });
  });
});

describe('usage config', () => {
  it('names the bad value and what it must be', () => {
    expect(() => usageConfig({ timeZone: 'Mars/Olympus' })).toThrow(
      'config usage.timeZone must be an IANA time zone such as UTC or Europe/Paris, got "Mars/Olympus"',
    );
    expect(() => usageConfig({ rebuildTimeZone: 'yes' as never })).toThrow('config usage.rebuildTimeZone must be true or false, got "yes"');
  });
});
