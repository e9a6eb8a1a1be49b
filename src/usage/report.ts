import { GavelError } from '../lib/errors.js';
import type { Bundle } from '../bundles/bundle.js';
import { formatMicros, parseMicros } from './money.js';
import { costMicros, priceTable } from './pricing.js';
import type { UsageStore } from './store.js';

export interface UsageReportInput {
  decisionId: string;
  subject: string;
  team: string;
  costCenter: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Decimal string; "" = derive from the price table. */
  cost: string;
}

export interface UsageReceipt {
  decisionId: string;
  duplicate: boolean;
  cost: string;
  currency: string;
  tokens: number;
}

export interface ReportContext {
  store: UsageStore;
  /** The bundles whose price tables may price the model (the active set). */
  bundles: readonly Bundle[];
  currency: string;
  /** Ledger lookup: the decision recorded under this id, if any. */
  findDecision: (decisionId: string) => { decision: string; actionType: string } | undefined;
}

/** Validates and applies one usage report; idempotent by decision id. */
export async function applyReport(ctx: ReportContext, r: UsageReportInput): Promise<UsageReceipt> {
  validate(r);
  const charge = await ctx.store.charge(r.decisionId);
  if (!charge) throw unknownDecision(ctx, r.decisionId);
  for (const [field, reported, decided] of [
    ['subject', r.subject, charge.subject],
    ['team', r.team, charge.team],
    ['cost_center', r.costCenter, charge.costCenter],
  ] as const) {
    if (reported !== decided)
      throw new GavelError('invalid_report', `${field} "${reported}" does not match decision ${r.decisionId} (decided for "${decided}")`);
  }
  const { price, currency } = findPrice(ctx, r.model);
  const micros = r.cost !== '' ? parseMicros(r.cost)! : price ? costMicros(price, r.inputTokens, r.outputTokens) : undefined;
  if (micros === undefined) throw new GavelError('invalid_report', `cost is empty and model "${r.model}" has no price in the active bundles`);
  const result = await ctx.store.settle({ ...r, tier: price?.tier ?? charge.tier, costMicros: micros, atMs: charge.atMs });
  if (result.kind === 'unknown') throw unknownDecision(ctx, r.decisionId);
  if (result.kind === 'conflict') throw new GavelError('report_conflict', result.message);
  const tokens = r.inputTokens + r.outputTokens;
  return { decisionId: r.decisionId, duplicate: result.kind === 'duplicate', cost: formatMicros(micros), currency, tokens };
}

function validate(r: UsageReportInput): void {
  const missing = (['decisionId', 'subject', 'team', 'costCenter', 'model'] as const).filter((k) => r[k].trim() === '');
  if (missing.length > 0) throw new GavelError('invalid_report', `usage report is missing ${missing.map(snake).join(', ')}`);
  for (const key of ['inputTokens', 'outputTokens'] as const) {
    if (!Number.isSafeInteger(r[key]) || r[key] < 0) throw new GavelError('invalid_report', `${snake(key)} must be a non-negative integer, got ${r[key]}`);
  }
  if (r.cost !== '' && parseMicros(r.cost) === undefined) {
    throw new GavelError('invalid_report', `cost must be a non-negative decimal string with at most 6 decimals, got "${r.cost}"`);
  }
}

function unknownDecision(ctx: ReportContext, decisionId: string): GavelError {
  const recorded = ctx.findDecision(decisionId);
  if (!recorded) return new GavelError('decision_not_found', `no decision ${decisionId} in the ledger`);
  return new GavelError(
    'invalid_report',
    `decision ${decisionId} was ${recorded.decision} for ${recorded.actionType || 'an action'}; only an allowed model call can be reported`,
  );
}

function findPrice(ctx: ReportContext, model: string) {
  for (const bundle of ctx.bundles) {
    const table = priceTable(bundle);
    const price = table.models.get(model);
    if (price) return { price, currency: table.currency ?? ctx.currency };
  }
  return { price: undefined, currency: ctx.currency };
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
