import { GavelError } from '../lib/errors.js';
import { sameIdentity } from '../lib/identity-form.js';
import type { Bundle } from '../bundles/bundle.js';
import type { Ledger } from '../engine/ledger.js';
import { settlementRecord } from './usage-entries.js';
import { formatMicros, parseMicros } from './money.js';
import { costMicros, priceTable } from './pricing.js';
import type { ChargeRow, UsageStore } from './store.js';

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
  /** Who reports (the transport's caller identity): it must be the caller recorded for the decision. */
  reporter: string;
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
  /**
   * Ledger lookup: the decision recorded under this id, if any (resource: the model it asked for).
   * Only this replica's ledger: a charge names its caller and model itself, for reports to any replica.
   */
  findDecision: (decisionId: string) => { decision: string; actionType: string; resource: string; caller: string } | undefined;
  /** See UsageConfig.reportFactor. */
  reportFactor: number;
  /** Where a settlement is recorded: it is an entry of kind `usage` (usage-entries.ts). */
  ledger: Ledger;
  now: () => Date;
}

/** Reported text echoed in an error is cut here: a megabyte model name is not sent back whole. */
const ECHO_LIMIT = 64;

/** Validates and applies one usage report; idempotent by decision id. */
export async function applyReport(ctx: ReportContext, r: UsageReportInput): Promise<UsageReceipt> {
  validate(r);
  const charge = await ctx.store.charge(r.decisionId);
  if (!charge) throw unknownDecision(ctx, r.decisionId);
  // Only who asked may settle: another caller's report would spend (or free) budget on a decision it never made.
  // The charge names who asked (so any replica can check); older rows leave it to the ledger entry.
  const asker = charge.caller ?? ctx.findDecision(r.decisionId)?.caller;
  if (asker !== r.reporter) {
    throw new GavelError('permission_denied', `decision ${r.decisionId} was asked for by another caller; only the caller that asked may report its usage`);
  }
  for (const [field, reported, decided] of [
    ['subject', r.subject, charge.subject],
    ['team', r.team, charge.team],
    ['cost_center', r.costCenter, charge.costCenter],
  ] as const) {
    // Compared as people are: a charge is kept under the comparison form (`Fiona` reports `fiona`'s charge).
    if (!sameIdentity(reported, decided))
      throw new GavelError('invalid_report', `${field} "${reported}" does not match decision ${r.decisionId} (decided for "${decided}")`);
  }
  checkModel(ctx, r, charge);
  checkTokens(ctx, r, charge);
  const { price, currency } = findPrice(ctx, r.model);
  if (!price) throw new GavelError('invalid_report', `model "${echo(r.model)}" has no price in the active bundles, so no report for it can be checked`);
  const priced = costMicros(price, r.inputTokens, r.outputTokens);
  const micros = r.cost !== '' ? parseMicros(r.cost)! : priced;
  const bound = priced * ctx.reportFactor;
  if (micros > bound) {
    throw new GavelError(
      'invalid_report',
      `cost ${r.cost} is more than ${ctx.reportFactor}x the price table's ${formatMicros(priced)} for ${r.inputTokens}+${r.outputTokens} tokens of ${echo(r.model)} (bound ${formatMicros(bound)})`,
    );
  }
  const settlement = { ...r, tier: price.tier, costMicros: micros, atMs: charge.atMs };
  const result = await ctx.store.settle(settlement, (settled, staged) =>
    ctx.ledger.append(settlementRecord(settled, settlement, r.reporter, ctx.now()), staged),
  );
  if (result.kind === 'unknown') throw unknownDecision(ctx, r.decisionId);
  if (result.kind === 'conflict') throw new GavelError('report_conflict', result.message);
  const tokens = r.inputTokens + r.outputTokens;
  return { decisionId: r.decisionId, duplicate: result.kind === 'duplicate', cost: formatMicros(micros), currency, tokens };
}

/** The model that ran must be the one decided: the model asked for, or the model a tier-down routed to. */
function checkModel(ctx: ReportContext, r: UsageReportInput, charge: ChargeRow): void {
  const asked = charge.askedModel ?? ctx.findDecision(r.decisionId)?.resource;
  const allowed = new Set([charge.model, ...(asked ? [asked] : [])]);
  if (allowed.has(r.model)) return;
  throw new GavelError('invalid_report', `model "${echo(r.model)}" is not the model decision ${r.decisionId} allowed (${[...allowed].join(' or ')})`);
}

/** Tokens within the decision's limits: max_tokens where the request stated it, and a prompt no larger than reportFactor x its estimate. */
function checkTokens(ctx: ReportContext, r: UsageReportInput, charge: ChargeRow): void {
  if (charge.maxOutputTokens !== null && r.outputTokens > charge.maxOutputTokens) {
    throw new GavelError('invalid_report', `output_tokens ${r.outputTokens} exceeds the max_tokens ${charge.maxOutputTokens} decision ${r.decisionId} allowed`);
  }
  if (charge.estimatedInputTokens !== null) {
    const bound = ctx.reportFactor * Math.max(charge.estimatedInputTokens, MIN_INPUT_BOUND);
    if (r.inputTokens > bound) {
      throw new GavelError(
        'invalid_report',
        `input_tokens ${r.inputTokens} is more than the bound ${bound} (${ctx.reportFactor}x the decision's estimate, at least ${ctx.reportFactor}x${MIN_INPUT_BOUND})`,
      );
    }
  }
}

/** Prompt tokens below this are never held against a report: system prompts and tool schemas are sent to the model, not to gavel. */
const MIN_INPUT_BOUND = 4096;

function echo(text: string): string {
  return text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}… (${text.length} characters)` : text;
}

function validate(r: UsageReportInput): void {
  const missing = (['decisionId', 'subject', 'team', 'costCenter', 'model'] as const).filter((k) => r[k].trim() === '');
  if (missing.length > 0) throw new GavelError('invalid_report', `usage report is missing ${missing.map(snake).join(', ')}`);
  for (const key of ['inputTokens', 'outputTokens'] as const) {
    if (!Number.isSafeInteger(r[key]) || r[key] < 0) throw new GavelError('invalid_report', `${snake(key)} must be a non-negative integer, got ${r[key]}`);
  }
  if (r.cost !== '' && parseMicros(r.cost) === undefined) {
    throw new GavelError('invalid_report', `cost must be a non-negative decimal string with at most 6 decimals and no spaces, got "${echo(r.cost)}"`);
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
